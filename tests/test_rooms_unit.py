"""Room logic, protocol validation, rate limiting and colours, tested directly."""

from __future__ import annotations

import pytest

from collab_widget import protocol
from collab_widget.colors import PALETTE, pick_color
from collab_widget.protocol import Limits, ProtocolError
from collab_widget.ratelimit import TokenBucket
from collab_widget.rooms import RoomRegistry, Session, UserInfo


def session(sid: str, username: str, color: str | None = None) -> Session:
    bucket = TokenBucket(10, 20, 0.0)
    user = UserInfo.from_identity(
        {"username": username, "name": username.title(), "display_name": "", "color": color}
    )
    return Session(sid, "s-" + sid, user, "websocket", bucket, bucket, bucket)


def test_membership_is_by_user_with_session_counts():
    rooms = RoomRegistry()
    rooms.create("r", last_seq=0)
    tab1, tab2, other = session("1", "ada"), session("2", "ada"), session("3", "bob")
    assert rooms.join(tab1, "r").changed is True
    assert rooms.join(tab2, "r").changed is False
    assert rooms.join(tab2, "r") is None  # already in
    assert rooms.join(other, "r").changed is True
    members = {m["username"]: m for m in rooms.rooms["r"].member_list()}
    assert members["ada"]["sessions"] == 2 and members["bob"]["sessions"] == 1
    assert rooms.leave(tab1, "r").changed is False
    assert [m.changed for m in rooms.leave_all(tab2)] == [True]
    assert list(rooms.rooms["r"].members) == ["bob"]
    with pytest.raises(ProtocolError) as error:
        rooms.leave(tab2, "r")
    assert error.value.code == "not_joined"


def test_room_limit_per_session():
    rooms = RoomRegistry(max_rooms_per_session=2)
    s = session("1", "ada")
    for name in ("a", "b", "c"):
        rooms.create(name, 0)
    rooms.join(s, "a")
    rooms.join(s, "b")
    with pytest.raises(ProtocolError) as error:
        rooms.join(s, "c")
    assert error.value.code == "too_many_rooms"


def test_seq_continues_from_the_store_and_client_ids_are_remembered():
    rooms = RoomRegistry(dedup_window=2)
    room = rooms.create("r", last_seq=41, recent=[("ada", "x", 40), ("ada", "y", 41)])
    assert room.stored_seq("ada", "x") == 40
    assert room.stored_seq("bob", "x") is None  # per user
    assert room.next_seq() == 42
    room.remember("ada", "z", 42)
    assert room.stored_seq("ada", "x") is None  # beyond the window


def test_identity_fields_and_server_colour():
    user = UserInfo.from_identity({"username": "u1", "name": "Grace Hopper", "display_name": ""})
    assert user.display_name == "Grace Hopper" and user.initials == "GH"
    rooms = RoomRegistry()
    rooms.create("r", 0)
    s = session("1", "ada", color="#123456")
    assert rooms.join(s, "r").member.color == "#123456"


def test_thirty_members_get_thirty_distinct_stable_colours():
    rooms = RoomRegistry()
    rooms.create("r", 0)
    colours = [rooms.join(session(str(i), f"student-{i}"), "r").member.color for i in range(30)]
    assert len(set(colours)) == 30 and set(colours) == set(PALETTE)
    assert pick_color("student-7", taken=()) == pick_color("student-7", taken=())


def test_token_bucket():
    bucket = TokenBucket(rate=10, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.1)
    assert bucket.take(0.1) == 0.0


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"room": "r", "text": "x", "client_id": "c"}, None),
        ({"room": "r", "text": "é" * 10, "client_id": "c" * 64}, None),
        ({"room": "r", "text": "x" * 11, "client_id": "c"}, "invalid_text"),
        ({"room": "r", "text": "\n\t ", "client_id": "c"}, "invalid_text"),
        ({"room": "r", "text": ["x"], "client_id": "c"}, "invalid_type"),
    ],
)
def test_send_validation_follows_limits(payload, code):
    limits = Limits(max_text_length=10)
    if code is None:
        assert protocol.parse_send(payload, limits).text == payload["text"]
    else:
        with pytest.raises(ProtocolError) as error:
            protocol.parse_send(payload, limits)
        assert error.value.code == code
        assert error.value.ack()["ok"] is False


def test_presence_state_is_cleaned():
    state = protocol.presence_state(
        {
            "path": "nb.ipynb",
            "cell_id": "abc",
            "cell_index": 2,
            "line": 1,
            "column": 4,
            "selections": [{"anchor": {"line": 0, "column": 0}, "head": {"line": 1, "column": 2}}],
            "mode": "edit",
            "activity": "idle",
        }
    )
    assert state["selections"][0]["head"] == {"line": 1, "column": 2}
    assert protocol.parse_presence({"room": "r", "state": None}).state is None
