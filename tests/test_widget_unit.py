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


# -- classroom mode -----------------------------------------------------------------------


def contents(rec: Recorder) -> list[dict[str, Any]]:
    """The custom messages sent (set_state also sends echo updates)."""
    return [m["content"] for m in rec.sent if m.get("method") == "custom"]


def poll_view(**extra: Any) -> dict[str, Any]:
    """A poll as the front end writes it to the ``polls`` trait (a teacher's view)."""
    view: dict[str, Any] = {
        "id": 12,
        "question": "Done?",
        "options": ["yes", "not yet"],
        "by": "lee",
        "ts": 1764115200123,
        "closed": False,
        "your_answer": None,
        "answered": 0,
        "counts": [0, 0],
        "answers": {},
        "client_id": None,
    }
    view.update(extra)
    return view


def test_classroom_state_is_synced_and_set_by_the_front_end_only() -> None:
    room = Room("class-101")
    state = room.get_state()
    assert (state["role"], state["hands"], state["polls"]) == ("", [], [])
    hands = [{"user": "ana", "display_name": "Ana", "ts": 5}]
    room.set_state({"role": "teacher", "hands": hands, "polls": [poll_view()]})
    assert (room.role, room.hands, room.polls) == ("teacher", hands, [poll_view()])
    for name, value in (("role", "teacher"), ("hands", []), ("polls", [])):
        with pytest.raises(TraitError, match="read-only"):
            setattr(room, name, value)


def test_members_and_messages_carry_the_new_fields() -> None:
    room = Room("class-101")
    member = {"username": "lee", "display_name": "Ms Lee", "sessions": 1, "role": "teacher"}
    snippet = {"seq": 3, "kind": "snippet", "language": "python", "text": "x = 1"}
    room.set_state({"members": [member], "messages": [snippet]})
    assert room.members[0]["role"] == "teacher"
    assert room.messages[0]["kind"] == "snippet"


def test_hands_are_raised_and_lowered_through_the_front_end() -> None:
    room = Room("class-101")
    rec = Recorder(room)
    room.raise_hand()
    room.lower_hand()
    room.lower_hand("ana")
    sent = contents(rec)
    assert [{k: v for k, v in m.items() if k != "request_id"} for m in sent] == [
        {"type": "hand", "raised": True},
        {"type": "hand", "raised": False},
        {"type": "hand", "raised": False, "user": "ana"},
    ]
    ids = [m["request_id"] for m in sent]
    assert len(set(ids)) == 3 and all(1 <= len(i) <= 64 for i in ids)


@pytest.mark.parametrize(("user", "error"), [("", ValueError), ("  ", ValueError), (7, TypeError)])
def test_lower_hand_refuses_a_bad_user(user: Any, error: type[Exception]) -> None:
    room = Room("class-101")
    rec = Recorder(room)
    with pytest.raises(error):
        room.lower_hand(user)
    assert rec.sent == []


def test_share_code_carries_a_client_id_and_a_language() -> None:
    room = Room("class-101")
    rec = Recorder(room)
    first = room.share_code("print('hi')")
    second = room.share_code("SELECT 1;", language="sql")
    assert first != second
    assert contents(rec) == [
        {"type": "snippet", "code": "print('hi')", "language": "python", "client_id": first},
        {"type": "snippet", "code": "SELECT 1;", "language": "sql", "client_id": second},
    ]


@pytest.mark.parametrize(
    ("code", "language", "error"),
    [
        ("", "python", ValueError),
        (" \n ", "python", ValueError),
        ("x" * 4001, "python", ValueError),
        (b"x = 1", "python", TypeError),
        ("x = 1", "", ValueError),
        ("x = 1", "Python", ValueError),
        ("x = 1", "a" * 33, ValueError),
        ("x = 1", None, TypeError),
    ],
)
def test_share_code_refuses_what_the_server_would_refuse(
    code: Any, language: Any, error: type[Exception]
) -> None:
    room = Room("class-101")
    rec = Recorder(room)
    with pytest.raises(error):
        room.share_code(code, language=language)
    assert rec.sent == []


def test_poll_sends_the_question_and_returns_a_live_poll() -> None:
    room = Room("class-101")
    rec = Recorder(room)
    p = room.poll("Done with exercise 3?", [" yes", "not yet "])
    assert contents(rec) == [
        {
            "type": "poll",
            "question": "Done with exercise 3?",
            "options": ["yes", "not yet"],
            "client_id": p.client_id,
        }
    ]
    # Nothing known until the front end reports the stored poll.
    assert (p.id, p.counts, p.answers, p.closed) == (None, None, {}, False)
    assert (p.question, p.options) == ("Done with exercise 3?", ["yes", "not yet"])
    assert repr(p) == "<Poll (not stored yet) 'Done with exercise 3?', options ['yes', 'not yet']>"
    # Asked and closed in one cell: the browser tab closes it once the server numbered it.
    p.close()
    close = contents(rec)[1]
    assert close["type"] == "poll_close" and close["request_id"].startswith("py-")
    assert (close["poll_id"], close["client_id"]) == (None, p.client_id)


def test_a_poll_resolves_its_id_by_client_id_and_follows_the_polls_trait() -> None:
    room = Room("class-101")
    rec = Recorder(room)
    p = room.poll("Done?", ["yes", "not yet"])
    other = poll_view(id=11, question="Other?", client_id="c-else")
    room.set_state({"polls": [other, poll_view(client_id=p.client_id)]})
    assert p.id == 12
    assert p.counts == [0, 0]
    assert repr(p) == "<Poll #12 'Done?', open, 'yes': 0, 'not yet': 0; 0 answers>"

    room.set_state(
        {
            "members": [
                {"username": "lee", "display_name": "Ms Lee", "role": "teacher"},
                {"username": "ana", "display_name": "Ana", "role": "student"},
                {"username": "ben", "display_name": "Ben", "role": "student"},
                {"username": "cy", "display_name": "Cy", "role": "student"},
            ],
            "polls": [
                other,
                poll_view(answered=2, counts=[1, 1], answers={"ana": 0, "ben": 1}),
            ],
        }
    )
    assert p.counts == [1, 1]
    assert p.answers == {"ana": "yes", "ben": "not yet"}
    assert p.answered == 2
    assert p.not_answered == ["Cy"]
    assert not p.closed

    p.close()
    assert {k: v for k, v in contents(rec)[-1].items() if k != "request_id"} == {
        "type": "poll_close",
        "poll_id": 12,
        "client_id": p.client_id,
    }

    room.set_state({"polls": [poll_view(closed=True, answered=2, counts=[1, 1])]})
    assert p.closed
    assert repr(p) == "<Poll #12 'Done?', closed, 'yes': 1, 'not yet': 1; 2 answers>"
    # A closed poll that drops out of the room's list keeps its last result.
    room.set_state({"polls": []})
    assert (p.id, p.closed, p.counts) == (12, True, [1, 1])


def test_a_poll_finds_its_id_in_the_messages_too() -> None:
    room = Room("class-101")
    Recorder(room)
    p = room.poll("Done?", ["yes", "not yet"])
    room.set_state(
        {"messages": [{"seq": 7, "client_id": "c-1"}, {"seq": 12, "client_id": p.client_id}]}
    )
    assert p.id is None  # a chat message with that client id is not the poll
    room.set_state({"messages": [{"seq": 12, "client_id": p.client_id, "kind": "poll"}]})
    assert p.id == 12
    assert p.counts is None  # a student, or not reported yet: unknown


def test_a_student_sees_the_counts_once_the_poll_is_closed() -> None:
    room = Room("class-101")
    p = room.poll("Done?", ["yes", "not yet"])
    room.set_state({"polls": [poll_view(client_id=p.client_id, counts=None, answers=None)]})
    assert (p.counts, p.answers) == (None, {})
    room.set_state(
        {"polls": [poll_view(client_id=p.client_id, closed=True, your_answer=1, counts=[3, 1])]}
    )
    assert (p.counts, p.your_answer) == ([3, 1], "not yet")


@pytest.mark.parametrize(
    ("question", "options", "error", "match"),
    [
        ("", ["a", "b"], ValueError, "question is empty"),
        ("q" * 501, ["a", "b"], ValueError, "longer than 500"),
        (None, ["a", "b"], TypeError, "question must be a string"),
        ("Done?", "yes/no", TypeError, "list of strings"),
        ("Done?", {"yes", "no"}, TypeError, "list of strings"),
        ("Done?", ["yes"], ValueError, "2-8 options"),
        ("Done?", [str(i) for i in range(9)], ValueError, "2-8 options"),
        ("Done?", ["yes", " "], ValueError, "an option is empty"),
        ("Done?", ["yes", " yes"], ValueError, "given twice"),
        ("Done?", ["yes", "n" * 101], ValueError, "longer than 100"),
        ("Done?", ["yes", 1], TypeError, "each option must be a string"),
    ],
)
def test_poll_refuses_what_the_server_would_refuse(
    question: Any, options: Any, error: type[Exception], match: str
) -> None:
    room = Room("class-101")
    rec = Recorder(room)
    with pytest.raises(error, match=match):
        room.poll(question, options)
    assert rec.sent == []


def test_hand_and_poll_answer_callbacks_fire_once_per_event() -> None:
    room = Room("class-101")
    hands: list[dict[str, Any]] = []
    answers: list[dict[str, Any]] = []
    room.on_hand(hands.append)
    room.on_poll_answer(answers.append)
    hand = {"user": "ana", "display_name": "Ana", "raised": True, "by": "ana", "ts": 50}
    lowered = {**hand, "raised": False, "by": "lee", "ts": 90}
    answer = {
        "poll_id": 12,
        "question": "Done?",
        "user": "ana",
        "display_name": "Ana",
        "option": 1,
        "option_text": "not yet",
    }
    for _ in range(2):  # two browser tabs report the same events
        room._handle_frontend_msg(room, event("hand", "h:class-101:ana:1:50", hand), [])
        key = "pa:class-101:12:ana:1:ab"
        room._handle_frontend_msg(room, event("poll_answer", key, answer), [])
        room._handle_frontend_msg(room, event("hand", "h:class-101:ana:0:90", lowered), [])
    assert hands == [hand, lowered]
    assert answers == [answer]

    room.on_hand(hands.append, remove=True)
    room._handle_frontend_msg(room, event("hand", "h:class-101:ana:1:120", hand), [])
    assert len(hands) == 2


def test_a_refusal_reaches_on_error_once_and_explains_a_poll() -> None:
    room = Room("class-101")
    Recorder(room)
    errors: list[dict[str, Any]] = []
    room.on_error(errors.append)
    p = room.poll("Done?", ["yes", "not yet"])
    refusal = {
        "action": "poll",
        "request_id": p.client_id,
        "code": "forbidden",
        "message": "only a teacher may ask a poll",
    }
    for _ in range(2):
        room._handle_frontend_msg(room, event("refused", f"x:{p.client_id}", refusal), [])
    assert errors == [refusal]
    assert p.error == "forbidden: only a teacher may ask a poll"
    assert repr(p) == (
        "<Poll (not stored yet) 'Done?', refused: forbidden: only a teacher may ask a poll>"
    )
    # Another tab (a teacher's) got it stored: the poll is there after all.
    room.set_state({"polls": [poll_view(client_id=p.client_id)]})
    assert (p.id, p.error) == (12, None)


def test_repr_shows_the_role_the_hands_and_the_open_polls() -> None:
    room = Room("class-101")
    room.set_state(
        {
            "connected": True,
            "current_transport": "websocket",
            "role": "teacher",
            "members": [{"username": "a"}],
            "hands": [{"user": "a", "display_name": "A", "ts": 1}],
            "polls": [poll_view(), poll_view(id=13, closed=True)],
        }
    )
    assert repr(room) == (
        "Room('class-101', connected via websocket as teacher, 1 member, 0 messages, "
        "1 raised hand, 1 open poll)"
    )


class FakeKernel:
    """The running kernel as ``collab_widget.widget._origin`` sees it: ``client`` is the
    session id of the kernel client (browser tab) whose message it is handling."""

    def __init__(self, client: str) -> None:
        self.client = client
        self.kernel = self

    def get_parent(self) -> dict[str, Any]:
        return {"header": {"session": self.client, "msg_type": "execute_request"}}


@pytest.fixture
def kernel(monkeypatch) -> FakeKernel:
    """Run as in a kernel handling tab-a's request (set ``kernel.client`` to switch)."""
    fake = FakeKernel("tab-a")
    monkeypatch.setattr("IPython.get_ipython", lambda: fake)
    return fake


def test_requests_name_the_kernel_client_that_ran_the_code(kernel, monkeypatch) -> None:
    """On a kernel shared by several people's tabs, only the tab that ran the code acts."""
    room = Room("class-101")
    rec = Recorder(room)
    room.send("hi")
    room.raise_hand()
    room.share_code("x = 1")
    room.poll("Done?", ["yes", "no"])
    assert [m["content"]["origin"] for m in rec.sent] == ["tab-a"] * 4

    monkeypatch.setattr("IPython.get_ipython", lambda: None)  # not in a kernel: no origin
    room.send("hi")
    assert "origin" not in rec.sent[-1]["content"]


def test_the_widget_mirrors_the_tab_that_created_or_last_displayed_it(kernel) -> None:
    room = Room("class-101")
    assert room._owner == "tab-a"
    kernel.client = "tab-b"  # B's tab runs a cell that displays it
    bundle = room._repr_mimebundle_()
    assert room._owner == "tab-b"
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_where_the_widget_cannot_be_drawn_the_text_says_what_to_do() -> None:
    room = Room("rtc-room")
    room.set_state({"connected": True, "members": [{"username": "a"}]})
    text = room._repr_mimebundle_()["text/plain"]
    assert text == "Run this cell, or trust the notebook, to join room 'rtc-room'."
    assert "connected" not in text and "member" not in text  # never a stale live state
    assert Room()._repr_mimebundle_()["text/plain"].endswith("to join this notebook's room.")


def test_the_owner_tab_keeps_its_widget_after_a_page_reload(kernel) -> None:
    room = Room("class-101")
    claim = {"type": "claim", "tab": "browser-tab-1"}
    room._handle_frontend_msg(room, claim, None)  # A's view: A names its tab
    kernel.client = "tab-b"  # another person's tab claims: refused
    room._handle_frontend_msg(room, {"type": "claim", "tab": "browser-tab-2"}, None)
    assert room._owner == "tab-a"
    kernel.client = "tab-a-reloaded"  # A's tab after a reload: a new client id, same tab
    room._handle_frontend_msg(room, claim, None)
    assert room._owner == "tab-a-reloaded"
    # A dict sent as a custom message never says which tab ran the code.
    rec = Recorder(room)
    room.send({"type": "send", "text": "x", "client_id": "c", "origin": "tab-b"})
    assert "origin" not in rec.sent[-1]["content"]
