"""The Python side of the Room widget, without a browser: traitlets, send, callbacks, repr."""

from __future__ import annotations

from typing import Any

import pytest
from traitlets import TraitError

from collab_widget import Room
from collab_widget.widget import MODULE_NAME, MODULE_VERSION


class Recorder:
    def __init__(self, room: Room) -> None:
        self.sent: list[dict[str, Any]] = []
        room._send = self._send  # type: ignore[method-assign]

    def _send(self, msg: dict[str, Any], buffers: Any = None) -> None:
        self.sent.append(msg)


def event(kind: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "event", "event": kind, "key": key, "data": data}


def test_model_and_view_names_match_the_front_end() -> None:
    room = Room("class-101")
    state = room.get_state()
    assert state["_model_module"] == state["_view_module"] == MODULE_NAME == "collab-widget"
    assert state["_model_name"] == "RoomModel"
    assert state["_view_name"] == "RoomView"
    assert state["_model_module_version"] == MODULE_VERSION
    assert state["room"] == "class-101"
    assert {
        "connected",
        "transport",
        "current_transport",
        "members",
        "messages",
        "log",
        "you",
    } <= set(state)


def test_room_without_a_name_is_resolved_by_the_front_end() -> None:
    assert Room().room == ""
    assert repr(Room()) == "Room(<this notebook>, not connected, 0 members, 0 messages)"


@pytest.mark.parametrize("name", ["", "a" * 129, "bad<name>", "tab\there"])
def test_invalid_room_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid room name"):
        Room(name)


def test_send_carries_a_client_id_for_deduplication() -> None:
    room = Room("class-101")
    rec = Recorder(room)
    first = room.send("hello from Python")
    second = room.send("hello from Python")
    assert first != second
    assert [m["content"] for m in rec.sent] == [
        {"type": "send", "text": "hello from Python", "client_id": first},
        {"type": "send", "text": "hello from Python", "client_id": second},
    ]
    assert 1 <= len(first) <= 64


@pytest.mark.parametrize("text", ["", "   \n", "x" * 4001])
def test_send_refuses_what_the_server_would_refuse(text: str) -> None:
    with pytest.raises(ValueError):
        Room("class-101").send(text)


def test_plain_custom_messages_still_work() -> None:
    room = Room("class-101")
    rec = Recorder(room)
    room.focus()  # DOMWidget.focus sends {"do": "focus"} through send()
    assert rec.sent == [{"method": "custom", "content": {"do": "focus"}}]


def test_each_event_fires_its_callback_once_even_when_reported_twice() -> None:
    room = Room("class-101")
    got: dict[str, list[dict[str, Any]]] = {"message": [], "join": [], "leave": []}
    room.on_message(got["message"].append)
    room.on_join(got["join"].append)
    room.on_leave(got["leave"].append)
    msg = {"room": "class-101", "seq": 7, "text": "hi", "user": {"username": "u1"}}
    for _ in range(2):  # two views / two tabs report the same events
        room._handle_frontend_msg(room, event("message", "m:class-101:7", msg), [])
        room._handle_frontend_msg(room, event("join", "j:u2:100", {"username": "u2"}), [])
        room._handle_frontend_msg(room, event("leave", "l:u2:200", {"username": "u2"}), [])
    room._handle_frontend_msg(room, {"type": "something else"}, [])
    room._handle_frontend_msg(room, "not a dict", [])
    assert got == {"message": [msg], "join": [{"username": "u2"}], "leave": [{"username": "u2"}]}

    room.on_message(got["message"].append, remove=True)
    room._handle_frontend_msg(room, event("message", "m:class-101:8", {"seq": 8}), [])
    assert len(got["message"]) == 1


def test_repr_summarises_the_state() -> None:
    room = Room("class-101")
    room.set_state(
        {
            "connected": True,
            "current_transport": "websocket",
            "members": [{"username": "a"}, {"username": "b"}],
            "messages": [{"seq": i} for i in range(5)],
        }
    )
    assert repr(room) == "Room('class-101', connected via websocket, 2 members, 5 messages)"


def test_transport_is_websocket_unless_polling_is_asked_for() -> None:
    assert Room("class-101").transport == "websocket"
    room = Room("class-101", transport="polling")
    assert room.transport == "polling"
    assert room.get_state()["transport"] == "polling"
    assert room.current_transport == ""  # what the browser uses, filled in by the front end
    room.transport = "websocket"  # lets the tab upgrade again
    assert room.get_state()["transport"] == "websocket"


@pytest.mark.parametrize("value", ["", "ws", "WebSocket", "webtransport", None, 1])
def test_transport_refuses_anything_else(value: Any) -> None:
    with pytest.raises(ValueError, match="transport must be 'websocket' or 'polling'"):
        Room("class-101", transport=value)
    room = Room("class-101")
    with pytest.raises(TraitError):
        room.transport = value
    assert room.transport == "websocket"


def test_the_front_end_switch_reaches_python() -> None:
    room = Room("class-101")
    room.set_state({"transport": "polling", "current_transport": "polling"})
    assert (room.transport, room.current_transport) == ("polling", "polling")
