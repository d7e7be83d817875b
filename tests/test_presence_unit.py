"""The presence coalescer and the events it becomes, tested directly (plain Python, no I/O)."""

from __future__ import annotations

import json

from collab_widget.presence import Delivery, PresenceHub, PresenceRoom
from collab_widget.presence_frames import presence_bodies


def state(line: int) -> dict:
    return {"path": "a.ipynb", "cell_id": "c1", "line": line, "column": 0}


def room_with(*sessions: str) -> PresenceRoom:
    room = PresenceRoom()
    for s in sessions:
        room.add_recipient(s)
    return room


def events(delivery: Delivery, room: str = "r") -> list[tuple[str, dict]]:
    """``(recipient, payload)`` of each event the server sends for ``delivery``, decoded from
    the JSON body it ships."""
    out = []
    for recipient, body in presence_bodies(room, delivery):
        event, payload = json.loads(body)
        assert event == "presence" and payload["room"] == room
        out.append((recipient, payload))
    return out


def by_recipient(deliveries):
    return {r: payload for d in deliveries for r, payload in events(d)}


def test_many_updates_in_one_tick_give_one_entry_with_the_latest_state():
    room = room_with("a", "b", "c")
    for line in range(100):
        room.update("a", "alice", state(line), now=0.0, ts=line)
    batches = by_recipient(room.collect())
    assert set(batches) == {"b", "c"}  # a never receives its own state
    for batch in batches.values():
        assert len(batch["updates"]) == 1 and batch["removed"] == []
        assert batch["updates"][0]["state"]["line"] == 99
        assert batch["updates"][0]["session"] == "a" and batch["updates"][0]["user"] == "alice"


def test_no_batch_when_nothing_changed():
    room = room_with("a", "b")
    assert by_recipient(room.collect()) == {}
    room.update("a", "alice", state(1), 0.0, 1)
    assert len(by_recipient(room.collect())) == 1
    assert room.collect() == []
    room.update("a", "alice", state(1), 1.0, 2)  # same state: a heartbeat, nothing to send
    assert room.collect() == []


def test_a_member_never_receives_its_own_state():
    room = room_with("a", "b")
    room.update("a", "alice", state(1), 0.0, 1)
    room.update("b", "bob", state(2), 0.0, 1)
    batches = by_recipient(room.collect())
    assert [u["session"] for u in batches["a"]["updates"]] == ["b"]
    assert [u["session"] for u in batches["b"]["updates"]] == ["a"]


def test_removals_are_delivered_once_and_then_forgotten():
    room = room_with("a", "b", "c")
    room.update("a", "alice", state(1), 0.0, 1)
    room.collect()
    room.drop_recipient("a")  # a leaves or disconnects
    batches = by_recipient(room.collect())
    assert set(batches) == {"b", "c"}
    assert batches["b"]["removed"] == ["a"] and batches["b"]["updates"] == []
    assert room.collect() == []
    assert "a" not in room.entries  # tombstone compacted once everyone was told


def test_clearing_state_is_a_removal_for_others():
    room = room_with("a", "b")
    room.update("a", "alice", state(1), 0.0, 1)
    room.collect()
    room.remove("a")  # share switch off
    assert by_recipient(room.collect())["b"]["removed"] == ["a"]


def test_joiner_gets_the_snapshot_not_a_batch_of_old_changes():
    room = room_with("a")
    room.update("a", "alice", state(3), 0.0, 1)
    room.collect()
    room.add_recipient("b")
    assert [e["session"] for e in room.snapshot(exclude="b")] == ["a"]
    assert room.collect() == []


def test_a_stalled_recipient_gets_the_latest_state_not_a_backlog():
    room = room_with("a", "b", "slow")
    stalled = {"slow"}
    for line in range(50):
        room.update("a", "alice", state(line), 0.0, line)
        room.update("b", "bob", state(line), 0.0, line)
        batches = by_recipient(room.collect(lambda r: r not in stalled))
        assert "slow" not in batches
    assert len(room.entries) == 2  # memory: one entry per session, whatever the rate
    stalled.clear()
    batches = by_recipient(room.collect(lambda r: r not in stalled))
    slow = batches["slow"]
    assert sorted((u["session"], u["state"]["line"]) for u in slow["updates"]) == [
        ("a", 49),
        ("b", 49),
    ]


def test_a_recipient_behind_forgotten_removals_gets_a_reset():
    room = PresenceRoom(max_tombstones=2)
    for s in ("a", "slow", "x1", "x2", "x3", "x4"):
        room.add_recipient(s)
    for s in ("x1", "x2", "x3", "x4"):
        room.update(s, s, state(1), 0.0, 1)
    room.collect()
    room.update("a", "alice", state(2), 0.0, 2)
    for s in ("x1", "x2", "x3", "x4"):
        room.drop_recipient(s)
    room.collect(lambda r: r != "slow")  # slow misses the removals, and there are > 2
    batch = by_recipient(room.collect())["slow"]
    assert batch["reset"] is True
    assert [u["session"] for u in batch["updates"]] == ["a"]


def test_states_expire_without_heartbeat():
    hub = PresenceHub()
    room = hub.room("r")
    room.add_recipient("a")
    room.add_recipient("b")
    room.update("a", "alice", state(1), now=0.0, ts=1)
    hub.tick(now=1.0, ttl=45.0)
    room.update("a", "alice", state(1), now=30.0, ts=2)  # heartbeat refreshes
    assert hub.tick(now=60.0, ttl=45.0) == []
    ((name, delivery),) = hub.tick(now=80.0, ttl=45.0)
    ((recipient, batch),) = events(delivery, name)
    assert name == "r" and recipient == "b" and batch["removed"] == ["a"]


def test_hub_forgets_empty_rooms():
    hub = PresenceHub()
    hub.room("r").add_recipient("a")
    hub.leave("r", "a")
    hub.tick(0.0, 45.0)
    assert hub.rooms == {}


def test_recipients_with_nothing_of_their_own_share_one_body():
    room = room_with("a", "b", "c", "d", "gone")
    room.update("a", "alice", state(1), 0.0, 1)
    room.update("gone", "gus", state(1), 0.0, 1)
    room.collect()
    room.update("a", "alice", state(2), 0.0, 2)
    room.update("b", "bob", state(3), 0.0, 3)
    room.drop_recipient("gone")
    (delivery,) = room.collect()
    bodies = dict(presence_bodies("r", delivery))
    assert set(bodies) == {"a", "b", "c", "d"}
    assert bodies["c"] is bodies["d"]  # one str object: the caller encodes one frame for both
    assert bodies["a"] is not bodies["c"] and bodies["b"] is not bodies["c"]
    decoded = {r: json.loads(body)[1] for r, body in bodies.items()}
    assert [u["session"] for u in decoded["c"]["updates"]] == ["a", "b"]
    assert [u["session"] for u in decoded["a"]["updates"]] == ["b"]  # own entry left out
    assert [u["session"] for u in decoded["b"]["updates"]] == ["a"]
    assert all(d["removed"] == ["gone"] and "reset" not in d for d in decoded.values())


def test_own_removal_is_left_out_and_an_empty_event_is_not_sent():
    delivery = Delivery(["a", "b"], [], ["a"])
    assert [r for r, _ in presence_bodies("r", delivery)] == ["b"]  # a: nothing left for it
    ((_, body),) = presence_bodies("r", delivery)
    assert json.loads(body) == ["presence", {"room": "r", "updates": [], "removed": ["a"]}]


def test_a_hub_is_settled_until_a_change_and_again_once_everyone_is_served():
    changes: list[int] = []
    hub = PresenceHub(on_change=lambda: changes.append(1))
    room = hub.room("r")
    room.add_recipient("a")
    room.add_recipient("b")
    assert hub.settled  # no states: nothing to send
    room.update("a", "alice", state(1), now=0.0, ts=1)
    assert changes == [1] and not hub.settled
    room.update("a", "alice", state(1), now=1.0, ts=2)  # the same state: a refresh only
    assert changes == [1]
    hub.tick(now=1.0, ttl=60.0)
    assert hub.settled
    # A recipient that cannot be sent to stays owed: not settled until it is served.
    room.update("b", "bob", state(2), now=2.0, ts=3)
    hub.tick(now=2.0, ttl=60.0, can_send=lambda s: s != "a")
    assert not hub.settled
    hub.tick(now=2.1, ttl=60.0)
    assert hub.settled
    room.remove("b")
    assert len(changes) == 3 and not hub.settled
    hub.tick(now=3.0, ttl=60.0)
    assert hub.settled
