"""Protocol v1: payload validation and error codes, with no I/O.

Every client-to-server event payload goes through one ``parse_*`` function here. Each one
either returns a small typed request object or raises :class:`ProtocolError`, whose
:meth:`~ProtocolError.ack` is the error acknowledgement sent back to the client. See
``docs/protocol.md`` for the wire format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .limits import (
    DEFAULT_LANGUAGE,
    HISTORY_PAGE_SIZE,
    LANGUAGE_RE,
    MAX_CELL_ID,
    MAX_CLIENT_ID,
    MAX_HISTORY_LIMIT,
    MAX_PATH,
    MAX_POLL_OPTION,
    MAX_POLL_OPTIONS,
    MAX_POLL_QUESTION,
    MAX_SAFE_INTEGER,
    MAX_SELECTIONS,
    MAX_TEXT_LENGTH,
    MAX_USERNAME,
    MIN_POLL_OPTIONS,
    PRESENCE_ACTIVITY,
    PRESENCE_MODES,
    ROLES,
    ROOM_NAME_RULE,
    valid_room_name,
)


class ProtocolError(Exception):
    """A refused event: ``code`` is machine readable, ``message`` is for people."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def ack(self) -> dict[str, Any]:
        """The error acknowledgement for this refusal."""
        return {"ok": False, "error": {"code": self.code, "message": self.message, **self.extra}}


@dataclass(frozen=True)
class Limits:
    """Limits the validators enforce (set from the extension's traitlets)."""

    max_text_length: int = MAX_TEXT_LENGTH
    history_page_size: int = HISTORY_PAGE_SIZE


@dataclass(frozen=True)
class JoinRequest:
    room: str
    since: int | None
    #: The client speaks protocol 1.2 or later (compact presence batches).
    compact: bool = False


@dataclass(frozen=True)
class SendRequest:
    """A message to store: a chat message, or (protocol 1.1) a snippet or a poll, whose
    ``extra`` fields (``kind``, ``language`` / ``options``) are stored with it."""

    room: str
    text: str
    client_id: str
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str | None:
        return self.extra.get("kind")


@dataclass(frozen=True)
class HistoryRequest:
    room: str
    before: int | None
    after: int | None
    limit: int


@dataclass(frozen=True)
class PresenceRequest:
    room: str
    state: dict[str, Any] | None


def _object(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ProtocolError("invalid_payload", "the payload must be a JSON object")
    return payload


def _required(payload: dict[str, Any], field: str) -> Any:
    if field not in payload or payload[field] is None:
        raise ProtocolError("missing_field", f"'{field}' is required")
    return payload[field]


def _string(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError("invalid_type", f"'{field}' must be a string")
    return value


def _is_text(value: str) -> bool:
    """Whether ``value`` is valid Unicode text (JSON can carry lone surrogates, which no
    store or browser can hold)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _int(value: object, field: str, minimum: int = 0, maximum: int = MAX_SAFE_INTEGER) -> int:
    # bool is an int in Python but not in JSON: refuse it.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ProtocolError("invalid_type", f"'{field}' must be an integer")
    # Beyond 2**53 - 1 a JavaScript client cannot hold the number (and SQLite overflows).
    if not minimum <= value <= maximum:
        raise ProtocolError("invalid_value", f"'{field}' must be between {minimum} and {maximum}")
    return value


def _optional_int(
    payload: dict[str, Any], field: str, minimum: int = 0, maximum: int = MAX_SAFE_INTEGER
) -> int | None:
    value = payload.get(field)
    return None if value is None else _int(value, field, minimum, maximum)


def room_name(payload: dict[str, Any]) -> str:
    """The validated ``room`` field of an object payload."""
    name = _string(_required(payload, "room"), "room")
    if not valid_room_name(name):
        raise ProtocolError("invalid_room", f"room names are {ROOM_NAME_RULE}")
    return name


def parse_room(payload: object) -> str:
    """Validate a ``{room}`` payload (``leave``)."""
    return room_name(_object(payload))


def parse_join(payload: object) -> JoinRequest:
    """Validate a ``join`` payload: ``{room, since?, protocol?}``."""
    data = _object(payload)
    return JoinRequest(
        room=room_name(data),
        since=_optional_int(data, "since"),
        compact=client_version(data.get("protocol")) >= (1, 2),
    )


def client_version(value: object) -> tuple[int, int]:
    """The ``"major.minor"`` protocol version a client says it speaks (absent: 1.0)."""
    if value is None:
        return (1, 0)
    parts = value.split(".") if isinstance(value, str) and len(value) <= 16 else []
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts):
        raise ProtocolError("invalid_value", "'protocol' must be a version like \"1.2\"")
    return (int(parts[0]), int(parts[1]))


def _text(data: dict[str, Any], name: str, maximum: int) -> str:
    text = _string(_required(data, name), name)
    if not text.strip() or len(text) > maximum or not _is_text(text):
        raise ProtocolError(
            "invalid_text",
            f"{name} must be 1-{maximum} characters of Unicode text, not blank",
        )
    return text


def _client_id(data: dict[str, Any]) -> str:
    client_id = _string(_required(data, "client_id"), "client_id")
    if not 1 <= len(client_id) <= MAX_CLIENT_ID or not _is_text(client_id):
        raise ProtocolError("invalid_client_id", f"client_id must be 1-{MAX_CLIENT_ID} characters")
    return client_id


def parse_send(payload: object, limits: Limits) -> SendRequest:
    """Validate a ``send`` payload: ``{room, text, client_id}``."""
    data = _object(payload)
    room = room_name(data)
    text = _text(data, "text", limits.max_text_length)
    return SendRequest(room=room, text=text, client_id=_client_id(data))


def _bool(data: dict[str, Any], name: str) -> bool:
    value = _required(data, name)
    if not isinstance(value, bool):
        raise ProtocolError("invalid_type", f"'{name}' must be true or false")
    return value


def _username(value: object, name: str) -> str:
    text = _string(value, name)
    if not 1 <= len(text) <= MAX_USERNAME or not _is_text(text):
        raise ProtocolError("invalid_value", f"'{name}' must be a username")
    return text


# -- classroom mode (protocol 1.1) -------------------------------------------------------------


@dataclass(frozen=True)
class HandRequest:
    room: str
    raised: bool
    #: Whose hand (None: the caller's own).
    user: str | None


@dataclass(frozen=True)
class RoleRequest:
    room: str
    user: str
    role: str


@dataclass(frozen=True)
class PollAnswerRequest:
    room: str
    poll_id: int
    #: The option's index (for ``poll_close``: unused, 0).
    option: int


def parse_hand(payload: object) -> HandRequest:
    """Validate a ``hand`` payload: ``{room, raised, user?}``."""
    data = _object(payload)
    user = data.get("user")
    return HandRequest(
        room=room_name(data),
        raised=_bool(data, "raised"),
        user=None if user is None else _username(user, "user"),
    )


def parse_role(payload: object) -> RoleRequest:
    """Validate a ``role`` payload: ``{room, user, role}``."""
    data = _object(payload)
    room = room_name(data)
    user = _username(_required(data, "user"), "user")
    role = _required(data, "role")
    if role not in ROLES:
        raise ProtocolError("invalid_value", f"'role' must be one of {list(ROLES)}")
    return RoleRequest(room=room, user=user, role=role)


def parse_toggle(payload: object, name: str) -> tuple[str, bool]:
    """Validate ``{room, <name>: bool}`` (``follow`` with ``on``; ``classroom`` with
    ``student_snippets``)."""
    data = _object(payload)
    return room_name(data), _bool(data, name)


def parse_snippet(payload: object, limits: Limits) -> SendRequest:
    """Validate a ``snippet`` payload: ``{room, code, language?, client_id}``."""
    data = _object(payload)
    room = room_name(data)
    code = _text(data, "code", limits.max_text_length)
    language = data.get("language")
    if language is None:
        language = DEFAULT_LANGUAGE
    elif not isinstance(language, str) or LANGUAGE_RE.fullmatch(language) is None:
        raise ProtocolError(
            "invalid_value", "'language' must be 1-32 of a-z 0-9 + # . _ - (e.g. python)"
        )
    return SendRequest(
        room=room,
        text=code,
        client_id=_client_id(data),
        extra={"kind": "snippet", "language": language},
    )


def parse_poll(payload: object) -> SendRequest:
    """Validate a ``poll`` payload: ``{room, question, options, client_id}``."""
    data = _object(payload)
    room = room_name(data)
    question = _text(data, "question", MAX_POLL_QUESTION)
    options = _required(data, "options")
    rule = (
        f"'options' must be {MIN_POLL_OPTIONS}-{MAX_POLL_OPTIONS} different strings "
        f"of 1-{MAX_POLL_OPTION} characters"
    )
    if not isinstance(options, list) or not MIN_POLL_OPTIONS <= len(options) <= MAX_POLL_OPTIONS:
        raise ProtocolError("invalid_value", rule)
    cleaned = []
    for option in options:
        if (
            not isinstance(option, str)
            or not option.strip()
            or len(option) > MAX_POLL_OPTION
            or not _is_text(option)
        ):
            raise ProtocolError("invalid_value", rule)
        cleaned.append(option.strip())
    if len(set(cleaned)) != len(cleaned):
        raise ProtocolError("invalid_value", rule)
    return SendRequest(
        room=room,
        text=question,
        client_id=_client_id(data),
        extra={"kind": "poll", "options": cleaned},
    )


def parse_poll_answer(payload: object) -> PollAnswerRequest:
    """Validate a ``poll_answer`` payload: ``{room, poll_id, option}``."""
    data = _object(payload)
    return PollAnswerRequest(
        room=room_name(data),
        poll_id=_int(_required(data, "poll_id"), "poll_id", minimum=1),
        option=_int(_required(data, "option"), "option", maximum=MAX_POLL_OPTIONS - 1),
    )


def parse_poll_close(payload: object) -> PollAnswerRequest:
    """Validate a ``poll_close`` payload: ``{room, poll_id}``."""
    data = _object(payload)
    return PollAnswerRequest(
        room=room_name(data),
        poll_id=_int(_required(data, "poll_id"), "poll_id", minimum=1),
        option=0,
    )


def parse_history(payload: object, limits: Limits) -> HistoryRequest:
    """Validate a ``history`` payload: ``{room, before?, after?, limit?}`` (not both
    ``before`` and ``after``)."""
    data = _object(payload)
    room = room_name(data)
    before = _optional_int(data, "before", minimum=1)
    after = _optional_int(data, "after")
    if before is not None and after is not None:
        raise ProtocolError("invalid_value", "give 'before' or 'after', not both")
    limit = _optional_int(data, "limit", minimum=1, maximum=MAX_HISTORY_LIMIT)
    return HistoryRequest(
        room=room, before=before, after=after, limit=limit or limits.history_page_size
    )


def parse_presence(payload: object) -> PresenceRequest:
    """Validate a ``presence`` payload: ``{room, state}`` (``state`` may be null)."""
    data = _object(payload)
    room = room_name(data)
    if "state" not in data:
        raise ProtocolError("missing_field", "'state' is required (null clears it)")
    state = data["state"]
    return PresenceRequest(room=room, state=None if state is None else presence_state(state))


def _position(value: object, field: str) -> dict[str, int]:
    if not isinstance(value, dict) or set(value) != {"line", "column"}:
        raise ProtocolError("invalid_presence", f"'{field}' must be {{line, column}}")
    return {
        "line": _presence_int(value["line"], f"{field}.line"),
        "column": _presence_int(value["column"], f"{field}.column"),
    }


def _presence_int(value: object, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProtocolError("invalid_presence", f"'{field}' must be an integer >= 0")
    return value


def _presence_str(value: object, field: str, maximum: int) -> str:
    if not isinstance(value, str) or len(value) > maximum or not _is_text(value):
        raise ProtocolError("invalid_presence", f"'{field}' must be a string of <= {maximum}")
    return value


def _presence_choice(value: object, field: str, choices: frozenset[str]) -> str:
    if value not in choices:
        raise ProtocolError("invalid_presence", f"'{field}' must be one of {sorted(choices)}")
    return str(value)


def _selections(value: object) -> list[dict[str, dict[str, int]]]:
    if not isinstance(value, list) or len(value) > MAX_SELECTIONS:
        raise ProtocolError(
            "invalid_presence", f"'selections' must be a list of <= {MAX_SELECTIONS}"
        )
    result = []
    for item in value:
        if not isinstance(item, dict) or set(item) != {"anchor", "head"}:
            raise ProtocolError("invalid_presence", "each selection must be {anchor, head}")
        result.append(
            {"anchor": _position(item["anchor"], "anchor"), "head": _position(item["head"], "head")}
        )
    return result


_PRESENCE_FIELDS = {
    "path": lambda v: _presence_str(v, "path", MAX_PATH),
    "cell_id": lambda v: _presence_str(v, "cell_id", MAX_CELL_ID),
    "cell_index": lambda v: _presence_int(v, "cell_index"),
    "line": lambda v: _presence_int(v, "line"),
    "column": lambda v: _presence_int(v, "column"),
    "selections": _selections,
    "mode": lambda v: _presence_choice(v, "mode", PRESENCE_MODES),
    "activity": lambda v: _presence_choice(v, "activity", PRESENCE_ACTIVITY),
    "following": lambda v: _presence_str(v, "following", MAX_USERNAME),
}


def presence_state(state: object) -> dict[str, Any]:
    """Validate a presence state object and return a clean copy of it."""
    if not isinstance(state, dict):
        raise ProtocolError("invalid_presence", "'state' must be an object or null")
    unknown = set(state) - set(_PRESENCE_FIELDS)
    if unknown:
        raise ProtocolError("invalid_presence", f"unknown presence fields: {sorted(unknown)}")
    return {key: _PRESENCE_FIELDS[key](value) for key, value in state.items() if value is not None}
