"""Room logic (membership, seq, deduplication window, identity), tested directly."""

from __future__ import annotations

import pytest

from collab_widget.identity import UserInfo
from collab_widget.protocol import ProtocolError
from collab_widget.rooms import RoomRegistry

from .units import session


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
    assert room.last_seq == 41
    room.remember("ada", "z", 45)  # the store numbered it (another process took 42..44)
    assert room.last_seq == 45
    assert room.stored_seq("ada", "x") is None  # beyond the window
    room.remember("bob", "late", 43)  # an older number never lowers last_seq
    assert room.last_seq == 45


def test_identity_fields_and_server_colour():
    user = UserInfo.from_identity({"username": "u1", "name": "Grace Hopper", "display_name": ""})
    assert user.display_name == "Grace Hopper" and user.initials == "GH"
    rooms = RoomRegistry()
    rooms.create("r", 0)
    s = session("1", "ada", color="#123456")
    assert rooms.join(s, "r").member.color == "#123456"
