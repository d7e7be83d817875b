"""Without ``configure_hub``, a user's server under a JupyterHub is still a single-server
room world: clients of the same server share rooms, another user's server is separate."""

from __future__ import annotations

import pytest

from collab_widget.client import CollabClient

from .conftest import inbox
from .hub import LocalHub
from .hub_fixtures import plain_hub  # noqa: F401 (a fixture)


@pytest.mark.timeout(240)
async def test_user_server_under_the_hub_is_a_room_world_of_its_own(plain_hub: LocalHub):  # noqa: F811
    hub = plain_hub
    alice_url, alice_token = hub.server_url("alice"), hub.user_token("alice")
    async with (
        CollabClient(alice_url, token=alice_token) as one,
        CollabClient(alice_url, token=alice_token) as two,
    ):
        received = inbox(two, "message")
        first = await one.join("r1")
        assert first["you"]["username"] == "alice"
        await two.join("r1")
        for i in range(3):
            await one.send("r1", f"m{i}")
        got = await received.wait(3, timeout=10)
        assert [m["text"] for m in got] == ["m0", "m1", "m2"]
        assert [m["seq"] for m in got] == [1, 2, 3]
        assert {m["user"]["username"] for m in got} == {"alice"}

    async with CollabClient(hub.server_url("bob"), token=hub.user_token("bob")) as bob:
        joined = await bob.join("r1")
        assert joined["you"]["username"] == "bob"
        assert joined["history"] == [] and joined["last_seq"] == 0
        assert [m["username"] for m in joined["members"]] == ["bob"]
    # each server keeps its own history, in its own Jupyter data directory
    assert hub.history_path("alice").exists()
