"""Rooms across a real JupyterHub: the ``collab`` service added by ``configure_hub(c)``, and
each user's own server relaying to it (tests/hub.py starts the Hub, its proxy and the
users' servers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio

from collab_widget.client import CollabClient

from .conftest import inbox, until
from .hub import LocalHub
from .hub_fixtures import hub  # noqa: F401 (a fixture)

pytestmark = pytest.mark.timeout(240)

COLLAB_SCOPE = "access:services!service=collab"


class Direct:
    """A Socket.IO client talking the upstream protocol to the service itself, as a student
    who took a token out of their kernel would."""

    def __init__(self, local_hub: LocalHub, token: str | None) -> None:
        self.hub = local_hub
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.frames: list[tuple[list[str], str]] = []
        self.sio.on("to", lambda targets, body: self.frames.append((targets, body)))

    async def connect(self) -> None:
        headers = {"Authorization": f"token {self.token}"} if self.token else {}
        await self.sio.connect(
            self.hub.service_url.split("/services/")[0],
            socketio_path="/services/collab/socket.io",
            headers=headers,
            transports=["websocket"],
            wait_timeout=5,
        )

    async def call(self, *args: Any) -> Any:
        return await self.sio.call(args[0], args[1:] if len(args) > 2 else args[1], timeout=5)


@pytest.fixture
async def direct(hub: LocalHub) -> AsyncIterator[Any]:  # noqa: F811
    made: list[Direct] = []

    def make(token: str | None) -> Direct:
        made.append(Direct(hub, token))
        return made[-1]

    yield make
    for d in made:
        if d.sio.connected:
            await d.sio.disconnect()


async def test_two_users_on_their_own_servers_meet_in_one_room(hub: LocalHub):  # noqa: F811
    room = "class-101"
    async with hub.client("alice") as alice, hub.client("bob") as bob:
        await until(lambda: alice.service_state == "connected", what="alice's relay")
        joined_events = inbox(alice, "joined")
        left_events = inbox(alice, "left")
        at_alice = inbox(alice, "message")
        at_bob = inbox(bob, "message")
        presence_at_bob = inbox(bob, "presence")
        first = await alice.join(room)
        assert first["you"]["username"] == "alice"
        second = await bob.join(room)
        assert sorted(m["username"] for m in second["members"]) == ["alice", "bob"]
        # bob's second session (another tab): still one member, no second "joined"
        async with hub.client("bob") as bob_tab:
            await until(lambda: bob_tab.service_state == "connected", what="bob's 2nd relay")
            await bob_tab.join(room)
            texts = [f"m{i}" for i in range(5)]
            for i, text in enumerate(texts):
                await (alice if i % 2 else bob).send(room, text)
            got_bob = await at_bob.wait(5, timeout=10)
            got_alice = await at_alice.wait(5, timeout=10)
            assert [m["text"] for m in got_bob] == texts == [m["text"] for m in got_alice]
            assert [m["seq"] for m in got_bob] == sorted(m["seq"] for m in got_bob)
            assert [m["user"]["username"] for m in got_bob] == ["bob", "alice"] * 2 + ["bob"]
            # presence: alice's location reaches bob, as alice
            await alice.presence(room, {"path": "lab.ipynb", "cell_id": "c2", "line": 3})
            batch = await presence_at_bob.wait(1, timeout=5)
            states = [s for b in batch for s in b["updates"] if s.get("user") == "alice"]
            assert states and states[-1]["state"]["path"] == "lab.ipynb"
        await asyncio.sleep(0.5)
        await bob.leave(room)
        events = await joined_events.wait(1, timeout=5)
        gone = await left_events.wait(1, timeout=5)
        await asyncio.sleep(0.5)
        assert [e["user"]["username"] for e in joined_events.items] == ["bob"]
        assert [e["user"]["username"] for e in left_events.items] == ["bob"]
        assert events and gone

    # history after a reconnect: bob comes back with since and gets only what he missed
    async with hub.client("alice") as alice:
        await until(lambda: alice.service_state == "connected", what="alice's relay")
        await alice.join(room)
        last = (await alice.send(room, "while bob was away"))["seq"]
    async with hub.client("bob") as bob:
        await until(lambda: bob.service_state == "connected", what="bob's relay")
        ack = await bob.join(room, since=last - 1)
        assert [m["text"] for m in ack["history"]] == ["while bob was away"]


async def test_tokens_the_service_refuses(hub: LocalHub, direct: Any):  # noqa: F811
    no_scope = hub.user_token("alice", scopes=["read:users:name!user"])
    service_token = hub.api_token  # the tester service's own token
    revoked = hub.user_token("alice", scopes=[COLLAB_SCOPE])
    hub.revoke_token("alice", revoked)
    for token in (None, "not-a-token", no_scope, service_token, revoked):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await direct(token).connect()
    ok = direct(hub.user_token("alice", scopes=[COLLAB_SCOPE]))
    await ok.connect()
    assert ok.sio.connected


async def test_a_students_own_token_acts_only_as_that_student(hub: LocalHub, direct: Any):  # noqa: F811
    room = "direct-room"
    async with hub.client("bob") as bob:
        await until(lambda: bob.service_state == "connected", what="bob's relay")
        at_bob = inbox(bob, "message")
        await bob.join(room)
        student = direct(hub.user_token("alice", scopes=[COLLAB_SCOPE]))
        await student.connect()
        opened = await student.sio.call("open", "x1", timeout=5)
        assert opened["ok"]
        joined = await student.sio.call("ev", ("x1", "join", {"room": room}), timeout=5)
        assert joined["ok"] and joined["you"]["username"] == "alice"
        # whatever it claims, it speaks as alice
        sent = await student.sio.call(
            "ev",
            ("x1", "send", {"room": room, "text": "hi", "client_id": "c-1", "user": "bob"}),
            timeout=5,
        )
        if sent["ok"]:
            got = await at_bob.wait(1, timeout=5)
            assert got[0]["user"]["username"] == "alice"
        else:
            assert sent["error"]["code"] == "invalid_payload"
        # a session it did not open is not there; a malformed envelope is refused
        other = await student.sio.call("ev", ("x2", "join", {"room": room}), timeout=5)
        assert other["error"]["code"] == "not_connected"
        bad = await student.sio.call("ev", (None, "join", {"room": room}), timeout=5)
        assert bad["error"]["code"] == "invalid_payload"


async def test_group_rooms_are_for_their_group(hub: LocalHub):  # noqa: F811
    room = "group:physics/lab-1"
    async with hub.client("alice") as alice, hub.client("carol") as carol:
        await until(lambda: alice.service_state == carol.service_state == "connected")
        assert (await alice.join(room))["ok"]
        refused = await carol.call("join", {"room": room})
        assert refused["error"]["code"] == "forbidden"
        listed = await carol.rooms()
        assert room not in [r["room"] for r in listed]
        assert room in [r["room"] for r in await alice.rooms()]


async def test_teachers_come_from_hub_groups_and_classroom_events_cross_the_relays(
    hub: LocalHub,  # noqa: F811
):
    room = "class-teachers"
    async with hub.client("carol") as carol, hub.client("alice") as alice:
        await until(lambda: alice.service_state == carol.service_state == "connected")
        await carol.join(room)
        ack = await alice.join(room)
        assert ack["protocol"] == "1.2" and ack["classroom"]["teachers_configured"] is True
        assert {m["username"]: m["role"] for m in ack["members"]} == {
            "carol": "teacher",
            "alice": "student",
        }
        question = {"room": room, "question": "Done?", "options": ["yes", "no"]}
        refused = await alice.call("poll", {**question, "client_id": "a1"})
        assert refused["error"]["code"] == "forbidden"
        tallies, hands = inbox(carol, "poll"), inbox(carol, "hand")
        created = await carol.request("poll", {**question, "client_id": "c1"})
        poll_id = created["poll"]["id"]
        answered = await alice.request(
            "poll_answer", {"room": room, "poll_id": poll_id, "option": 0}
        )
        assert answered["poll"]["counts"] is None  # a student's view
        (tally,) = await tallies.wait(1)
        assert tally["poll"]["answers"] == {"alice": 0}
        await alice.request("hand", {"room": room, "raised": True})
        (hand,) = await hands.wait(1)
        assert hand["hand"]["user"] == "alice"


async def test_a_revoked_token_is_disconnected(hub: LocalHub, direct: Any):  # noqa: F811
    token = hub.user_token("carol", scopes=[COLLAB_SCOPE])
    student = direct(token)
    await student.connect()
    hub.revoke_token("carol", token)
    # token_check_interval=2 in the fixture
    await until(lambda: not student.sio.connected, timeout=10, what="the disconnect")


async def test_a_guest_of_a_shared_server_is_refused_with_a_message(hub: LocalHub):  # noqa: F811
    hub.api("POST", "shares/alice/", {"user": "carol"})  # JupyterHub's sharing
    try:
        async with CollabClient(hub.server_url("alice"), token=hub.user_token("carol")) as guest:
            refused = await guest.call("join", {"room": "class-101"})
            assert refused["error"]["code"] == "forbidden"
            assert "owner of this server" in refused["error"]["message"]
            assert guest.service_state is None  # never relayed
        async with hub.client("alice") as alice:  # the owner is not affected
            await until(lambda: alice.service_state == "connected", what="alice's relay")
            assert (await alice.join("class-101"))["you"]["username"] == "alice"
    finally:
        hub.api("DELETE", "shares/alice/", {"user": "carol"})
