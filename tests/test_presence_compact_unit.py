"""Protocol 1.2's compact presence batches, tested directly (plain Python, no I/O).

A small model of a 1.2 client (the join snapshot, then every batch it is sent) must always hold
exactly the room's live presence minus its own entry, whatever happens in between: updates,
removals, joins, leaves, recipients skipped while their connection is stalled, tombstones past
the cap.
"""

from __future__ import annotations

import json
import random
from typing import Any

from collab_widget.presence import PresenceRoom, changed_fields
from collab_widget.presence_frames import compact_body


class Client:
    """What a 1.2 client holds: member number -> (session, user, state, ts)."""

    def __init__(self, session: str, number: int, snapshot: list[dict[str, Any]]) -> None:
        self.session = session
        self.number = number
        self.held = {e["n"]: (e["session"], e["user"], e["state"], e["ts"]) for e in snapshot}
        self.seen = {"diff": 0, "whole": 0, "reset": 0}

    def apply(self, body: str) -> None:
        event, batch = json.loads(body)
        assert event == "presence" and set(batch) <= {"room", "ts", "set", "gone", "reset"}
        if batch.get("reset"):
            self.held = {}
            self.seen["reset"] += 1
        for item in batch["set"]:
            n = item[0]
            if n == self.number:
                continue  # its own entry
            if len(item) == 5:
                self.held[n] = (item[2], item[3], item[1], item[4])
                self.seen["whole"] += 1
            else:
                self.seen["diff"] += 1
                assert len(item) == 2 and item[1], "a diff item names what changed"
                assert n in self.held, "a diff for an entry the client does not hold"
                session, user, state, _ts = self.held[n]
                merged = {**state, **item[1]}
                self.held[n] = (session, user, {k: v for k, v in merged.items() if v is not None})
                self.held[n] += (batch["ts"],)
        for n in batch["gone"]:
            self.held.pop(n, None)

    def view(self) -> dict[str, dict[str, Any]]:
        return {session: state for session, _user, state, _ts in self.held.values()}


def truth(room: PresenceRoom, exclude: str) -> dict[str, dict[str, Any]]:
    return {s: e.wire["state"] for s, e in room.entries.items() if e.wire and s != exclude}


def deliver(room: PresenceRoom, clients: dict[str, Client], stalled: set[str] = frozenset()):
    for delivery in room.collect(lambda s: s not in stalled):
        assert delivery.compact
        body = compact_body("r", delivery, ts=123)
        for recipient in delivery.recipients:
            clients[recipient].apply(body)


def join(room: PresenceRoom, clients: dict[str, Client], session: str) -> None:
    number = room.add_recipient(session, compact=True)
    clients[session] = Client(session, number, room.snapshot(exclude=session))


def test_changed_fields_names_changes_and_removals():
    before = {"line": 1, "column": 2, "selections": [], "mode": "edit"}
    after = {"line": 1, "column": 3, "mode": "edit", "cell_id": "c"}
    assert changed_fields(before, after) == {"column": 3, "cell_id": "c", "selections": None}


def test_one_body_for_the_room_with_only_what_changed():
    room = PresenceRoom()
    clients: dict[str, Client] = {}
    for s in "abc":
        join(room, clients, s)
    for i, s in enumerate("abc"):
        room.update(s, f"user-{s}", {"path": "p.ipynb", "line": i, "column": 0}, 0.0, 1)
    first = room.collect()
    assert len(first) == 1 and first[0].recipients == ["a", "b", "c"]
    whole = json.loads(compact_body("r", first[0], 5))[1]
    assert whole["set"][0] == [1, {"path": "p.ipynb", "line": 0, "column": 0}, "a", "user-a", 1]
    room.update("b", "user-b", {"path": "p.ipynb", "line": 1, "column": 7}, 0.1, 2)
    (second,) = room.collect()
    body = compact_body("r", second, 6)
    assert json.loads(body)[1] == {"room": "r", "ts": 6, "set": [[2, {"column": 7}]], "gone": []}
    room.drop_recipient("c")
    (third,) = room.collect()
    assert json.loads(compact_body("r", third, 7))[1]["gone"] == [3]


def test_older_clients_in_the_same_room_keep_their_format():
    room = PresenceRoom()
    room.add_recipient("new", compact=True)
    room.add_recipient("old")
    room.update("x", "xavier", {"line": 1}, 0.0, 1)
    deliveries = {d.compact: d for d in room.collect()}
    assert set(deliveries) == {True, False}
    assert deliveries[False].recipients == ["old"] and deliveries[True].recipients == ["new"]
    assert deliveries[False].updates[0].wire["n"] == room.number("x")


def test_numbers_are_not_reused_while_the_room_is_in_memory():
    room = PresenceRoom()
    room.add_recipient("keeper", compact=True)
    a = room.add_recipient("a", compact=True)
    room.update("a", "alice", {"line": 1}, 0.0, 1)
    room.drop_recipient("a")
    room.collect()
    assert "a" not in room.numbers  # forgotten once everyone was told
    assert room.add_recipient("b", compact=True) != a
    assert room.add_recipient("a", compact=True) not in (a, room.number("b"))


def test_a_random_life_keeps_every_client_exact():
    rng = random.Random(13)
    room = PresenceRoom(max_tombstones=1)
    clients: dict[str, Client] = {}
    seen = {"diff": 0, "whole": 0, "reset": 0}
    sessions = [f"s{i}" for i in range(12)]
    for step in range(3000):
        action = rng.random()
        session = rng.choice(sessions)
        if action < 0.05:
            join(room, clients, session)
        elif action < 0.08 and session in clients:
            room.drop_recipient(session)
            for kind, count in clients.pop(session).seen.items():
                seen[kind] += count
        elif action < 0.75:
            state = {"line": rng.randrange(4), "column": rng.randrange(3)}
            if rng.random() < 0.3:
                state["selections"] = [{"anchor": {"line": 0, "column": 0}}]
            if rng.random() < 0.2:
                del state["column"]
            room.update(session, f"u-{session}", state, float(step), step)
        elif action < 0.82:
            room.remove(session)
        else:
            stalled = {s for s in clients if rng.random() < 0.5}
            deliver(room, clients, stalled)
            for s, client in clients.items():
                if s not in stalled:
                    assert client.view() == truth(room, s), f"step {step}: {s}"
    deliver(room, clients)
    for s, client in clients.items():
        assert client.view() == truth(room, s)
        for kind, count in client.seen.items():
            seen[kind] += count
    assert min(seen.values()) > 0, seen  # every kind of item was exercised
