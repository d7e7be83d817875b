"""Protocol 1.2, compact presence (issue 13), from the client's side.

The decoder (:class:`collab_widget.client.CompactPresence`) on hand-written batches, then
``CollabClient`` against a real server: it joins with ``protocol`` "1.2", keeps each room's
member numbers and hands its ``presence`` callbacks the same 1.1-form batches as before, while
bare Socket.IO clients show what goes over the wire (one batch for every 1.2 member, the old
``{updates, removed}`` for a client that did not ask for 1.2).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest_asyncio
import socketio

from collab_widget.client import CollabClient, CompactPresence, _Room, speaks_compact_presence

from .conftest import Connect, until
from .jupyter import JupyterServer
from .test_client_recovery import FAST, CutProxy

ROOM = "class-101"
ALICE = {"path": "a.ipynb", "cell_id": "c1", "line": 0, "column": 0, "mode": "edit"}


def ack(you: int, *entries: dict[str, Any], protocol: str = "1.2") -> dict[str, Any]:
    return {
        "ok": True,
        "room": ROOM,
        "protocol": protocol,
        "you": {"n": you},
        "presence": list(entries),
    }


def snapshot_entry(
    n: int, session: str, user: str, state: dict[str, Any], ts: int = 1
) -> dict[str, Any]:
    return {"session": session, "user": user, "state": state, "ts": ts, "n": n}


def batch(
    *items: list[Any], gone: list[int] | None = None, ts: int = 100, reset: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {"room": ROOM, "ts": ts, "set": list(items), "gone": gone or []}
    if reset:
        out["reset"] = True
    return out


def decoder() -> CompactPresence:
    """Session 1 (alice, n 3) and this client (n 5) in the room."""
    presence = CompactPresence.from_ack(ack(5, snapshot_entry(3, "s-a", "alice", dict(ALICE))))
    assert presence is not None
    return presence


# -- the decoder ------------------------------------------------------------------------------


def test_the_join_ack_gives_the_member_numbers():
    presence = decoder()
    assert presence.you == 5
    assert presence.entries == {3: {"session": "s-a", "user": "alice", "state": ALICE, "ts": 1}}


def test_an_ack_without_protocol_1_2_means_the_1_1_format():
    entry = snapshot_entry(3, "s-a", "alice", {})
    assert CompactPresence.from_ack(ack(5, entry, protocol="1.1")) is None
    assert CompactPresence.from_ack({**ack(5), "protocol": None}) is None
    assert CompactPresence.from_ack({**ack(5), "you": {"session": "s-me"}}) is None  # no n
    assert CompactPresence.from_ack({"ok": False, "error": {"code": "unavailable"}}) is None
    assert [speaks_compact_presence(v) for v in ("1.2", "1.10", "1.1", "2.0", "1", 1.2, None)] == [
        True, True, False, False, False, False, False,
    ]  # fmt: skip


def test_changed_fields_are_merged_and_null_removes_a_field():
    presence = decoder()
    presence.apply(
        batch(
            [
                3,
                {
                    "selections": [
                        {"anchor": {"line": 0, "column": 0}, "head": {"line": 0, "column": 4}}
                    ]
                },
            ]
        )
    )
    event = presence.apply(batch([3, {"line": 4, "column": 2, "selections": None}], ts=200))
    state = {**ALICE, "line": 4, "column": 2}
    assert event == {
        "room": ROOM,
        "updates": [{"session": "s-a", "user": "alice", "state": state, "ts": 200}],
        "removed": [],
    }
    assert presence.entries[3]["state"] == state  # the other fields kept their values


def test_a_whole_entry_adds_or_replaces_a_member():
    presence = decoder()
    bob = {"path": "b.ipynb", "line": 1}
    event = presence.apply(batch([7, bob, "s-b", "bob", 90], [3, {"line": 9}, "s-a", "alice", 95]))
    assert event is not None
    assert event["updates"] == [
        {"session": "s-b", "user": "bob", "state": bob, "ts": 90},
        {"session": "s-a", "user": "alice", "state": {"line": 9}, "ts": 95},
    ]
    assert presence.entries[3]["state"] == {"line": 9}  # replaced, not merged


def test_gone_members_are_removed_by_session():
    presence = decoder()
    event = presence.apply(batch(gone=[3, 42]))  # 42: never known, nothing to remove
    assert event == {"room": ROOM, "updates": [], "removed": ["s-a"]}
    assert presence.entries == {}
    assert presence.apply(batch([3, {"line": 1}])) is None  # gone: its changes are ignored
    assert presence.apply(batch(gone=[3])) is None


def test_reset_replaces_everything():
    presence = decoder()
    event = presence.apply(
        batch([8, {"line": 2}, "s-c", "carol", 50], [5, {}, "s-me", "me", 50], reset=True)
    )
    assert event == {
        "room": ROOM,
        "updates": [{"session": "s-c", "user": "carol", "state": {"line": 2}, "ts": 50}],
        "removed": [],
        "reset": True,
    }
    assert list(presence.entries) == [8]
    assert presence.apply(batch(reset=True)) == {
        "room": ROOM,
        "updates": [],
        "removed": [],
        "reset": True,
    }
    assert presence.entries == {}


def test_own_number_is_skipped_and_unknown_numbers_ignored():
    presence = decoder()
    own_only = batch([5, {"line": 3}], [5, {"line": 3}, "s-me", "me", 1], gone=[5])
    assert presence.apply(own_only) is None
    assert presence.apply(batch([9, {"line": 3}])) is None  # a diff for a number not known
    assert 5 not in presence.entries and 9 not in presence.entries
    event = presence.apply(batch([5, {"line": 1}], [3, {"line": 1}]))
    assert event is not None and [u["session"] for u in event["updates"]] == ["s-a"]


def test_malformed_items_are_skipped():
    presence = decoder()
    event = presence.apply(
        batch(
            [],  # type: ignore[arg-type]
            ["3", {"line": 1}],
            [True, {"line": 1}],
            [3, "line"],
            [3, {}, "s-x", 7, 1],  # user not a string
            [3, {"line": 1}, "s-a"],  # neither 2 nor 5 items
            [3, {"column": 6}],
        )
    )
    assert event is not None
    assert [u["state"] for u in event["updates"]] == [{**ALICE, "column": 6}]
    assert presence.apply({"room": ROOM, "ts": 1, "set": {"3": {}}, "gone": 3}) is None


def test_callbacks_get_copies_of_the_states():
    presence = decoder()
    event = presence.apply(batch([3, {"line": 1}]))
    assert event is not None
    event["updates"][0]["state"]["line"] = 99
    assert presence.entries[3]["state"]["line"] == 1


async def test_the_client_decodes_compact_batches_and_passes_old_ones_on():
    client = CollabClient("http://127.0.0.1:1/")
    got: list[Any] = []
    client.on("presence", got.append)
    old = {"room": ROOM, "updates": [], "removed": ["s-x"]}
    await client._on_presence(old)
    await client._on_presence(batch([3, {"line": 1}]))  # not a room of join(): dropped
    room = client._pending[ROOM] = _Room(ROOM)
    await client._on_presence(batch([3, {"line": 1}]))  # before the join ack: dropped
    room.answered(ack(5, snapshot_entry(3, "s-a", "alice", {})))
    await client._on_presence(batch([3, {"line": 1}], [5, {"line": 2}]))
    await client._on_presence(batch([5, {"line": 3}]))  # its own entry only: nothing
    assert got == [
        old,
        {
            "room": ROOM,
            "updates": [{"session": "s-a", "user": "alice", "state": {"line": 1}, "ts": 100}],
            "removed": [],
        },
    ]


# -- against a real server ----------------------------------------------------------------------


class View:
    """What a ``CollabClient``'s callbacks know of the others' presence, kept as a browser
    keeps it (from the join ack's snapshot, then the batches), and every session it saw."""

    def __init__(self, client: CollabClient) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.seen: set[str] = set()
        self.removed: list[str] = []
        self.batches: list[dict[str, Any]] = []
        client.on("presence", self._batch)

    def start(self, join_ack: dict[str, Any]) -> dict[str, Any]:
        for entry in join_ack["presence"]:
            self.entries[entry["session"]] = {
                k: entry[k] for k in ("session", "user", "state", "ts")
            }
        return join_ack

    def _batch(self, data: dict[str, Any]) -> None:
        assert set(data) <= {"room", "updates", "removed", "reset"}, data
        self.batches.append(data)
        if data.get("reset"):
            self.entries.clear()
        for entry in data["updates"]:
            assert set(entry) == {"session", "user", "state", "ts"}, entry
            self.entries[entry["session"]] = entry
            self.seen.add(entry["session"])
        for session in data["removed"]:
            self.entries.pop(session, None)
            self.removed.append(session)
            self.seen.add(session)

    @property
    def states(self) -> dict[str, dict[str, Any]]:
        return {session: entry["state"] for session, entry in self.entries.items()}


class Wire:
    """A bare python-socketio client: it sends exactly the payloads the test gives and keeps
    the ``presence`` batches as they came over the wire."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.batches: list[dict[str, Any]] = []
        self.sio.on("presence", self.batches.append)

    async def connect(self, server: JupyterServer, user: str) -> Wire:
        await self.sio.connect(
            f"http://127.0.0.1:{server.port}",
            socketio_path=f"{server.base_url}collab/socket.io",
            headers={"Authorization": f"token token-{user}"},
            transports=["websocket"],
            wait_timeout=5,
        )
        return self

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        answer = await self.sio.call(event, data, timeout=5)
        assert isinstance(answer, dict) and answer.get("ok"), answer
        return answer

    def compact(self) -> list[dict[str, Any]]:
        return [b for b in self.batches if "set" in b]


@pytest_asyncio.fixture
async def wire(server: JupyterServer) -> AsyncIterator[Callable[[str], Awaitable[Wire]]]:
    made: list[Wire] = []

    async def make(user: str) -> Wire:
        made.append(await Wire().connect(server, user))
        return made[-1]

    yield make
    for w in made:
        if w.sio.connected:
            await w.sio.disconnect()


async def settle() -> None:
    """A few presence ticks (presence_hz 20)."""
    await asyncio.sleep(0.3)


async def test_three_clients_moving_see_each_others_latest_state_never_their_own(connect: Connect):
    room = "moving"
    clients = [await connect(user) for user in ("alice", "bob", "carol")]
    views = [View(c) for c in clients]
    acks = [v.start(await c.join(room)) for c, v in zip(clients, views, strict=True)]
    assert [a["protocol"] for a in acks] == ["1.2"] * 3
    numbers = [a["you"]["n"] for a in acks]
    assert len(set(numbers)) == 3 and all(isinstance(n, int) for n in numbers)
    sessions = [a["you"]["session"] for a in acks]

    async def move(client: CollabClient, i: int) -> None:
        for line in range(25):
            state = {
                "path": "a.ipynb",
                "cell_id": f"c{i}",
                "line": line,
                "column": i,
                "mode": "edit",
            }
            await client.presence(room, state)
            await asyncio.sleep(0.01)

    await asyncio.gather(*(move(c, i) for i, c in enumerate(clients)))
    expected = [
        {
            s: {"path": "a.ipynb", "cell_id": f"c{j}", "line": 24, "column": j, "mode": "edit"}
            for j, s in enumerate(sessions)
            if j != i
        }
        for i in range(3)
    ]
    await until(lambda: [v.states for v in views] == expected, timeout=5, what="the latest states")
    await settle()
    for i, view in enumerate(views):
        assert view.states == expected[i]
        assert sessions[i] not in view.seen, f"client {i} got its own presence"
        users = {e["session"]: e["user"] for e in view.entries.values()}
        assert users == {
            s: u
            for s, u in zip(sessions, ("alice", "bob", "carol"), strict=True)
            if s != sessions[i]
        }


async def test_a_removed_field_disappears(connect: Connect, wire: Callable[[str], Awaitable[Wire]]):
    room = "fields"
    alice, bob = await connect("alice"), await connect("bob")
    raw = await wire("dave")
    n_alice = (await alice.join(room))["you"]["n"]
    view = View(bob)
    view.start(await bob.join(room))
    await raw.call("join", {"room": room, "protocol": "1.2"})
    selection = [{"anchor": {"line": 1, "column": 0}, "head": {"line": 1, "column": 5}}]
    await alice.presence(room, {**ALICE, "line": 1, "selections": selection})
    await until(lambda: any("selections" in s for s in view.states.values()), timeout=5)
    await settle()
    await alice.presence(room, {**ALICE, "line": 1})
    await until(lambda: not any("selections" in s for s in view.states.values()), timeout=5)
    assert list(view.states.values()) == [{**ALICE, "line": 1}]
    # on the wire: only the field that changed, as null
    await until(
        lambda: any([n_alice, {"selections": None}] in b["set"] for b in raw.compact()), timeout=5
    )


async def test_members_that_leave_or_disconnect_are_gone(
    connect: Connect, wire: Callable[[str], Awaitable[Wire]]
):
    room = "gone"
    alice, bob, carol = await connect("alice"), await connect("bob"), await connect("carol")
    raws = [await wire("dave"), await wire("dave")]  # two tabs of one user, both 1.2
    joined = {c: await c.join(room) for c in (alice, bob, carol)}
    view = View(bob)
    view.start(joined[bob])
    for raw in raws:
        await raw.call("join", {"room": room, "protocol": "1.2"})
    await alice.presence(room, {"line": 1})
    await carol.presence(room, {"line": 2})
    await until(lambda: len(view.entries) == 2, timeout=5)
    await alice.leave(room)
    await carol.disconnect()
    (n_alice, a_session), (n_carol, c_session) = (
        (joined[c]["you"]["n"], joined[c]["you"]["session"]) for c in (alice, carol)
    )
    await until(lambda: view.entries == {}, timeout=5, what="both removed")
    assert sorted(view.removed) == sorted([a_session, c_session])
    await until(lambda: {n_alice, n_carol} <= {n for b in raws[0].compact() for n in b["gone"]})
    await settle()
    # whole entries first (nobody held them), then ``gone``; the same batches for every member
    items = [item for b in raws[0].compact() for item in b["set"]]
    assert [item[:1] + item[2:4] for item in items] == [
        [n_alice, a_session, "alice"],
        [n_carol, c_session, "carol"],
    ]
    assert [item[1] for item in items] == [{"line": 1}, {"line": 2}]
    assert raws[0].compact() == raws[1].compact()


async def test_a_1_1_client_keeps_the_old_format_next_to_1_2_clients(
    connect: Connect, wire: Callable[[str], Awaitable[Wire]]
):
    room = "mixed"
    alice, bob = await connect("alice"), await connect("bob")
    old = await wire("carol")  # joins without ``protocol``: a 1.0 / 1.1 client
    new = await wire("dave")
    views = {c: View(c) for c in (alice, bob)}
    acks = {c: views[c].start(await c.join(room)) for c in (alice, bob)}
    old_ack = await old.call("join", {"room": room})
    new_ack = await new.call("join", {"room": room, "protocol": "1.2"})
    old_session = old_ack["you"]["session"]
    await old.call("presence", {"room": room, "state": {"path": "old.ipynb", "line": 1}})
    for line in range(5):
        await alice.presence(room, {"path": "a.ipynb", "line": line})
        await bob.presence(room, {"path": "b.ipynb", "line": line, "selections": []})
        await asyncio.sleep(0.03)
    await bob.presence(room, {"path": "b.ipynb", "line": 4})
    a_session, b_session = (acks[c]["you"]["session"] for c in (alice, bob))
    final = {
        a_session: {"path": "a.ipynb", "line": 4},
        b_session: {"path": "b.ipynb", "line": 4},
        old_session: {"path": "old.ipynb", "line": 1},
    }

    def old_states() -> dict[str, Any]:
        states: dict[str, Any] = {}
        for b in old.batches:
            for entry in b["updates"]:
                states[entry["session"]] = entry["state"]
            for session in b["removed"]:
                states.pop(session, None)
        return states

    await until(
        lambda: old_states() == {s: v for s, v in final.items() if s != old_session}, timeout=5
    )
    for c, other in ((alice, b_session), (bob, a_session)):
        await until(
            lambda c=c, other=other: (
                views[c].states == {other: final[other], old_session: final[old_session]}
            ),
            timeout=5,
        )
    # the old client got the 1.1 format only, never its own entry; the 1.2 one compact batches
    assert old.batches and all(
        set(b) <= {"room", "updates", "removed", "reset"} for b in old.batches
    )
    assert all(e["session"] != old_session for b in old.batches for e in b["updates"])
    assert new.batches and all("set" in b and "updates" not in b for b in new.batches)
    assert isinstance(new_ack["you"]["n"], int)
    # leaving shows on both sides, each in its own format
    await old.call("leave", {"room": room})
    for c in (alice, bob):
        await until(lambda c=c: old_session not in views[c].entries, timeout=5)
    await until(
        lambda: old_ack["you"]["n"] in {n for b in new.compact() for n in b["gone"]}, timeout=5
    )
    old.batches.clear()
    await old.call("join", {"room": room})
    await alice.leave(room)
    await until(lambda: any(a_session in b["removed"] for b in old.batches), timeout=5)


async def test_a_late_joiner_gets_the_snapshot_with_numbers_then_diffs(
    connect: Connect, wire: Callable[[str], Awaitable[Wire]]
):
    room = "late"
    alice, bob = await connect("alice"), await connect("bob")
    acks = {c: await c.join(room) for c in (alice, bob)}
    await alice.presence(room, {**ALICE, "line": 3})
    await bob.presence(room, {"path": "b.ipynb", "line": 8})
    await settle()
    raw = await wire("dave")
    late_ack = await raw.call("join", {"room": room, "protocol": "1.2"})
    numbers = {acks[c]["you"]["session"]: acks[c]["you"]["n"] for c in (alice, bob)}
    assert {e["session"]: e["n"] for e in late_ack["presence"]} == numbers
    assert late_ack["you"]["n"] not in numbers.values()
    carol = await connect("carol")
    view = View(carol)
    view.start(await carol.join(room))
    await settle()
    await alice.presence(room, {**ALICE, "line": 7})
    a_session = acks[alice]["you"]["session"]
    await until(lambda: view.states.get(a_session) == {**ALICE, "line": 7}, timeout=5)
    assert view.entries[a_session]["user"] == "alice"
    await until(lambda: any(b["set"] for b in raw.compact()), timeout=5)
    assert [b["set"] for b in raw.compact()] == [[[numbers[a_session], {"line": 7}]]]


async def test_a_rejoin_after_a_reconnect_takes_the_new_member_number(server: JupyterServer):
    room = "again"
    proxy = await CutProxy(server.port).start()
    alice = CollabClient(server.url, token="token-alice", transports=["websocket"])
    bob = CollabClient(proxy.url(server), token="token-bob", transports=["websocket"], **FAST)
    view = View(bob)
    rejoined: list[dict[str, Any]] = []
    bob.on("rejoin", rejoined.append)
    try:
        await alice.connect()
        await bob.connect()
        a_session = (await alice.join(room))["you"]["session"]
        first = view.start(await bob.join(room))
        await alice.presence(room, {"line": 1})
        await until(lambda: view.states == {a_session: {"line": 1}}, timeout=5)
        assert proxy.cut() > 0  # bob's connection breaks: he comes back by himself
        await until(lambda: bool(rejoined), timeout=15, what="the re-join")
        again = rejoined[0]
        assert again["you"]["n"] != first["you"]["n"]
        view.start(again)
        await alice.presence(room, {"line": 5})
        await until(lambda: view.states == {a_session: {"line": 5}}, timeout=5)
        await settle()
        assert not {first["you"]["session"], again["you"]["session"]} & view.seen
    finally:
        for client in (alice, bob):
            await client.disconnect()
        await proxy.close()
