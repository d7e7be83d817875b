"""The class service killed (SIGKILL) mid-class and restarted by JupyterHub: every relay
reconnects by itself, clients re-join with ``since``, and every acknowledged message is
stored once and seen once by every member."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import Talker, inbox, until
from .hub import LocalHub
from .hub_fixtures import hub  # noqa: F401 (a fixture)


@pytest.mark.timeout(300)
async def test_the_service_is_killed_and_restarted(hub: LocalHub):  # noqa: F811
    room = "through-a-crash"
    # The Hub notices a dead managed service within ~33 s: sends keep trying that long.
    alice = hub.client("alice", send_timeout=120)
    bob = hub.client("bob")
    async with alice, bob:
        states: list[str] = []
        alice.on("service", lambda event: states.append(event["state"]))
        await until(lambda: alice.service_state == bob.service_state == "connected")
        at_bob = inbox(bob, "message")
        await alice.join(room)
        await bob.join(room)

        talker = Talker(alice, room, "m", pause=0.2)
        await until(lambda: len(talker.acked) >= 5, what="the first messages")
        old = hub.kill_service()
        await until(lambda: "reconnecting" in states, what="the relay to notice")
        assert bob.service_state == "reconnecting"
        await asyncio.to_thread(hub.wait_service, old, 60.0)
        await until(lambda: states[-1] == "connected", timeout=30, what="the relay to reconnect")
        acked = await talker.finish_after(5, timeout=120)

        got = await at_bob.wait(len(acked), timeout=30)
        await asyncio.sleep(1.0)  # anything doubled would arrive now
        texts = [m["text"] for m in at_bob.items]
        assert [m["seq"] for m in at_bob.items] == acked, "each acknowledged message once, in order"
        assert texts == [f"m{i}" for i in range(len(acked))]
        assert len(got) == len(acked)
        stored, _more = await alice.history(room, limit=min(len(acked) + 10, 200))
        assert [m["text"] for m in stored] == texts, "stored once each"

    log = hub.log()
    assert "lost the class service" in log
    assert "reconnected to the class service" in log
