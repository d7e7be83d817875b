"""Protocol validation, tested directly."""

from __future__ import annotations

import pytest

from collab_widget import protocol
from collab_widget.limits import MAX_ROOM_NAME, ROOM_NAME_RULE, valid_room_name
from collab_widget.protocol import Limits, ProtocolError


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


ROOM_NAMES = [
    ("a", True),
    ("Class 101", True),
    ("notebooks/week-2/intro.ipynb", True),
    ("x:y", True),
    ("Z" * MAX_ROOM_NAME, True),
    ("", False),
    ("Z" * (MAX_ROOM_NAME + 1), False),
    ("<script>", False),
    ("a\nb", False),
    ("trailing-newline\n", False),  # Python's "$" would let this one through
    ("tab\there", False),
]


@pytest.mark.parametrize(("name", "valid"), ROOM_NAMES)
def test_room_names_follow_the_one_rule(name, valid):
    assert valid_room_name(name) is valid
    if valid:
        assert protocol.parse_room({"room": name}) == name
    else:
        with pytest.raises(ProtocolError) as error:
            protocol.parse_room({"room": name})
        assert error.value.code == "invalid_room"
        assert error.value.message == f"room names are {ROOM_NAME_RULE}"
