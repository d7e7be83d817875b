"""The ``Room`` ipywidget: a live chat room shown in a notebook cell.

The front end (the ``collab-widget`` JupyterLab extension) does the talking to the
server over the browser tab's Socket.IO connection; this class mirrors the room's
state in traitlets and lets Python code send messages and react to events.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from ipywidgets import CallbackDispatcher, DOMWidget
from traitlets import Bool, Dict, Enum, List, Unicode

from .limits import (
    DEFAULT_LANGUAGE,
    LANGUAGE_RE,
    MAX_POLL_OPTION,
    MAX_POLL_OPTIONS,
    MAX_POLL_QUESTION,
    MAX_TEXT_LENGTH,
    MIN_POLL_OPTIONS,
    ROOM_NAME_RULE,
    valid_room_name,
)
from .poll import Poll

__all__ = ["Poll", "Room"]

#: npm package / widget module name registered by the lab extension.
MODULE_NAME = "collab-widget"
#: semver range of the front-end module this Python class works with.
MODULE_VERSION = "^0.1.0"

#: How many event keys are remembered to fire each callback once.
_SEEN_EVENTS = 2000

#: How many refusals of requests made from Python are remembered (``Poll.error``).
_REFUSALS = 200

#: The values of ``Room.transport``.
TRANSPORTS = ("websocket", "polling")


def _origin() -> str | None:
    """The session id of the kernel client whose request the kernel is handling (the browser
    tab that ran the cell, or whose widget message started a callback), if known."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent() if kernel is not None else None
    except Exception:  # not in a kernel, or an old one
        return None
    session = (parent or {}).get("header", {}).get("session")
    return session if isinstance(session, str) and session else None


def _request_id() -> str:
    """A fresh id for a request from Python: every view forwards it unchanged, so the server
    (``client_id``) and the callbacks (event keys) see one request, however many views."""
    return "py-" + secrets.token_hex(8)


class Room(DOMWidget):
    """A collaboration room: members, chat and an event log, live in the notebook.

    ``Room("class-101")`` joins the room ``class-101``; ``Room()`` joins a room
    named after the notebook's path (filled in by the front end once displayed).

    ``Room("class-101", transport="polling")`` switches the browser tab's connection to
    HTTP long-polling (for a demo of both transports; the widget's Network pane shows the
    packets); setting ``room.transport = "websocket"`` lets it upgrade to WebSocket again.
    The tab has one connection for all its widgets, so this applies to the whole tab.

    The browser tab that shows the widget is the one connected to the room: state
    such as ``members`` and ``messages`` is filled in once the widget is displayed.

    Several tabs on one kernel (a notebook shared in real time, or one notebook file that
    several people opened on one server): the kernel-side state (``you``, ``role``,
    ``connected``, ``members``, ``messages``, ...) is that of **one** tab, the one that
    created the widget or last displayed it (ran the cell showing it); only that tab reports
    the events behind ``on_message``, ``on_join``, ... A request from Python (``send``,
    ``raise_hand``, ``poll``, ...) is made by the tab that ran the code, as its user, once;
    a request from a callback, by the tab whose event started it (the widget's tab above).

    Classroom mode: ``role`` says whether the tab's user is a ``teacher`` or a ``student``
    here; ``hands`` is the queue of raised hands; ``raise_hand()``, ``lower_hand()``,
    ``share_code()`` and ``poll()`` act in the room; ``on_hand`` and ``on_poll_answer``
    report what happens. The server decides who may do what: a student's ``share_code`` or
    ``poll`` is refused (see ``on_error`` and ``Poll.error``).
    """

    _model_name = Unicode("RoomModel").tag(sync=True)
    _model_module = Unicode(MODULE_NAME).tag(sync=True)
    _model_module_version = Unicode(MODULE_VERSION).tag(sync=True)
    _view_name = Unicode("RoomView").tag(sync=True)
    _view_module = Unicode(MODULE_NAME).tag(sync=True)
    _view_module_version = Unicode(MODULE_VERSION).tag(sync=True)

    room = Unicode("", help="The room's name ('' until the front end resolves Room()).").tag(
        sync=True
    )
    connected = Bool(False, help="Whether the browser tab is connected and in the room.").tag(
        sync=True
    )
    transport = Enum(
        TRANSPORTS,
        default_value="websocket",
        help=(
            "The transports the browser tab may use: 'websocket' (the default: WebSocket, "
            "long-polling as the fallback; a Room with it leaves the tab as it is) or 'polling' "
            "(HTTP long-polling only). Setting it reconnects the tab's one connection, which all "
            "its Room widgets share; the Network pane's switch sets it too."
        ),
    ).tag(sync=True)
    current_transport = Unicode(
        "", help="The transport in use: 'websocket', 'polling' or '' when offline."
    ).tag(sync=True)
    members = List(
        Dict(),
        help=(
            "One dict per person in the room (not per tab): username, name, display_name, "
            "initials, avatar_url, color, sessions and role ('teacher' or 'student')."
        ),
    ).tag(sync=True)
    messages = List(
        Dict(),
        help=(
            "The most recent messages (up to 100), oldest first. A snippet has kind='snippet' "
            "and language (text is the code); a poll has kind='poll' and options (text is the "
            "question; its seq is the poll's id)."
        ),
    ).tag(sync=True)
    log = List(help="The event log shown in the widget, newest last.").tag(sync=True)
    you = Dict(
        allow_none=True,
        default_value=None,
        help="The identity in the room of the person whose tab this widget mirrors (see "
        "the class's docstring: who created or last displayed it).",
    ).tag(sync=True)
    _owner = Unicode(
        "",
        help="The kernel client (browser tab) that created or last displayed this widget: the "
        "only tab that writes the room's state here and reports its events ('' : every tab).",
    ).tag(sync=True)
    role = Unicode(
        "",
        read_only=True,
        help=(
            "Your role in the room, decided by the server: 'teacher' or 'student' ('' until the "
            "browser tab has joined, or against a server without classroom mode)."
        ),
    ).tag(sync=True)
    hands = List(
        Dict(),
        read_only=True,
        help="The raised hands, oldest first: one dict per hand, {user, display_name, ts}.",
    ).tag(sync=True)
    polls = List(
        Dict(),
        read_only=True,
        help=(
            "The room's polls (open ones and the recently closed), oldest first, as the server "
            "shows them to you: {id, question, options, by, ts, closed, your_answer, answered, "
            "counts, answers, client_id} (counts and answers: see docs/protocol.md)."
        ),
    ).tag(sync=True)

    def __init__(
        self, name: str | None = None, *, transport: str = "websocket", **kwargs: Any
    ) -> None:
        if name is not None:
            if not isinstance(name, str):
                raise TypeError(f"room name must be a string, not {type(name).__name__}")
            if not valid_room_name(name):
                raise ValueError(f"invalid room name {name!r}: use {ROOM_NAME_RULE}")
            kwargs["room"] = name
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be 'websocket' or 'polling', not {transport!r}")
        kwargs["transport"] = transport
        kwargs.setdefault("_owner", _origin() or "")
        super().__init__(**kwargs)
        #: The stable id (across page reloads) of the owner's browser tab, from its claim.
        self._owner_tab = ""
        self._message_handlers = CallbackDispatcher()
        self._join_handlers = CallbackDispatcher()
        self._leave_handlers = CallbackDispatcher()
        self._hand_handlers = CallbackDispatcher()
        self._poll_answer_handlers = CallbackDispatcher()
        self._error_handlers = CallbackDispatcher()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._refusals: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.on_msg(self._handle_frontend_msg)

    # -- actions ------------------------------------------------------------

    def send(self, text: str, buffers: Any = None) -> str | None:  # type: ignore[override]
        """Send a chat message to the room as the user of the browser tab that ran this code
        (that tab shows the widget, or has joined its room through another Room widget).

        Returns the message's ``client_id``. The tab's views forward the request with that
        same id, so the server stores the message once.
        (A dict is sent as a plain custom widget message, as ``Widget.send`` does.)
        """
        if isinstance(text, dict):  # never with an origin: that says which tab ran the code
            super().send({k: v for k, v in text.items() if k != "origin"}, buffers)
            return None
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        if not text.strip():
            raise ValueError("text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(f"text is longer than {MAX_TEXT_LENGTH} characters")
        client_id = _request_id()
        self._to_views({"type": "send", "text": text, "client_id": client_id})
        return client_id

    # -- classroom mode -----------------------------------------------------

    def raise_hand(self) -> None:
        """Raise your hand: the teacher sees it in the queue (``hands``), oldest first.

        It stays raised (also across reconnects) until you or a teacher lower it.
        """
        self._request({"type": "hand", "raised": True})

    def lower_hand(self, user: str | None = None) -> None:
        """Lower your own hand, or (teachers only) the hand of ``user``, a username as in
        ``hands`` and ``members``. The server refuses a student's ``lower_hand(other)``."""
        request: dict[str, Any] = {"type": "hand", "raised": False}
        if user is not None:
            if not isinstance(user, str):
                raise TypeError(f"user must be a username (a string), not {type(user).__name__}")
            if not user.strip():
                raise ValueError("user is empty: give a username, or None for your own hand")
            request["user"] = user
        self._request(request)

    def share_code(self, code: str, language: str = DEFAULT_LANGUAGE) -> str:
        """Share a code snippet in the room's chat (teachers; students when the teacher
        allows it): everyone sees it highlighted, with "Insert below my cell" and "Copy".
        It is never inserted or run by itself.

        Returns its ``client_id``: every view of this widget forwards the same id, so the
        server stores the snippet once.
        """
        if not isinstance(code, str):
            raise TypeError(f"code must be a string, not {type(code).__name__}")
        if not code.strip():
            raise ValueError("code is empty")
        if len(code) > MAX_TEXT_LENGTH:
            raise ValueError(f"code is longer than {MAX_TEXT_LENGTH} characters")
        if not isinstance(language, str):
            raise TypeError(f"language must be a string, not {type(language).__name__}")
        if LANGUAGE_RE.fullmatch(language) is None:
            raise ValueError(
                f"invalid language {language!r}: use 1-32 of a-z 0-9 + # . _ - (e.g. 'python')"
            )
        client_id = _request_id()
        self._to_views(
            {"type": "snippet", "code": code, "language": language, "client_id": client_id}
        )
        return client_id

    def poll(self, question: str, options: list[str] | tuple[str, ...]) -> Poll:
        """Ask the room a quick question (teachers only), e.g.
        ``p = room.poll("Done with exercise 3?", ["yes", "not yet"])``.

        Everyone answers once (and may change it until the poll is closed). Returns a live
        :class:`Poll`: ``p.counts``, ``p.answers`` and ``p.not_answered`` fill in as people
        answer; ``p.close()`` ends it and shows students the result.
        """
        if not isinstance(question, str):
            raise TypeError(f"question must be a string, not {type(question).__name__}")
        if not question.strip():
            raise ValueError("question is empty")
        if len(question) > MAX_POLL_QUESTION:
            raise ValueError(f"question is longer than {MAX_POLL_QUESTION} characters")
        if isinstance(options, str) or not isinstance(options, list | tuple):
            raise TypeError(
                f"options must be a list of strings, e.g. ['yes', 'not yet'], "
                f"not {type(options).__name__}"
            )
        if not MIN_POLL_OPTIONS <= len(options) <= MAX_POLL_OPTIONS:
            raise ValueError(
                f"a poll has {MIN_POLL_OPTIONS}-{MAX_POLL_OPTIONS} options, not {len(options)}"
            )
        cleaned: list[str] = []
        for option in options:
            if not isinstance(option, str):
                raise TypeError(f"each option must be a string, not {type(option).__name__}")
            text = option.strip()
            if not text:
                raise ValueError("an option is empty")
            if len(option) > MAX_POLL_OPTION:
                raise ValueError(
                    f"option {text[:20]!r}… is longer than {MAX_POLL_OPTION} characters"
                )
            if text in cleaned:
                raise ValueError(f"option {text!r} is given twice")
            cleaned.append(text)
        client_id = _request_id()
        self._to_views(
            {"type": "poll", "question": question, "options": cleaned, "client_id": client_id}
        )
        return Poll(self, client_id, question, cleaned)

    def _close_poll(self, poll_id: int | None, client_id: str) -> None:
        # Without an id (not stored yet, as far as Python knows), the browser tab finds the
        # poll by the client_id it was asked with.
        self._request({"type": "poll_close", "poll_id": poll_id, "client_id": client_id})

    def _request(self, request: dict[str, Any]) -> str:
        """Send a classroom request to the views, with an id for its refusal (``on_error``)."""
        request_id = _request_id()
        self._to_views({**request, "request_id": request_id})
        return request_id

    def _to_views(self, request: dict[str, Any]) -> None:
        """Hand a request to the browser tab that ran the code (``origin``: its kernel
        client's session id); the tabs of other people showing this widget on a shared
        kernel ignore it, so nobody acts on a request in someone else's name."""
        origin = _origin()
        super().send({**request, "origin": origin} if origin else request)

    def _refusal(self, request_id: str) -> dict[str, Any] | None:
        """The server's refusal of a request made from Python, if a view reported one."""
        return self._refusals.get(request_id)

    # -- callbacks ----------------------------------------------------------

    def on_message(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(message)`` for each new message (live, not the initial history).

        ``message`` is a dict: ``room``, ``seq``, ``client_id``, ``user``, ``text``, ``ts``;
        snippets and polls also have ``kind`` (``snippet``/``poll``) and ``language`` or
        ``options``.
        """
        self._message_handlers.register_callback(callback, remove=remove)

    def on_join(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(member)`` when a person joins the room."""
        self._join_handlers.register_callback(callback, remove=remove)

    def on_leave(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(user)`` when a person leaves the room."""
        self._leave_handlers.register_callback(callback, remove=remove)

    def on_hand(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(event)`` when someone's hand is raised or lowered (live).

        ``event`` is a dict: ``user`` (username), ``display_name``, ``raised`` (bool), ``by``
        (who did it: the user, or the teacher who lowered it) and ``ts`` (server time, ms).
        """
        self._hand_handlers.register_callback(callback, remove=remove)

    def on_poll_answer(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(answer)`` when someone answers a poll or changes their answer.

        Teachers only (the server shows nobody else who answered what). ``answer`` is a dict:
        ``poll_id``, ``question``, ``user`` (username), ``display_name``, ``option`` (the
        index into the poll's options) and ``option_text``.
        """
        self._poll_answer_handlers.register_callback(callback, remove=remove)

    def on_error(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(error)`` when the server refused a request made from Python
        (``raise_hand``, ``lower_hand``, ``share_code``, ``poll``, ``Poll.close``).

        ``error`` is a dict: ``action`` (``hand``, ``snippet``, ``poll``, ``poll_close``),
        ``request_id`` (for a snippet or poll: its ``client_id``), ``code`` (e.g.
        ``forbidden``) and ``message``.
        """
        self._error_handlers.register_callback(callback, remove=remove)

    def _claimed(self, tab: object) -> None:
        """A tab showing the widget says which tab it is (an id kept across page reloads): the
        owner's tab, known by its client id, names itself; after a reload it has a new client
        id and takes its ownership back. Nobody else takes it."""
        origin = _origin()
        if not isinstance(tab, str) or not tab or len(tab) > 64 or not origin:
            return
        if not self._owner or origin == self._owner:
            self._owner, self._owner_tab = origin, tab
        elif tab == self._owner_tab:
            self._owner = origin

    def _handle_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "claim":
            self._claimed(content.get("tab"))
            return
        if not isinstance(content, dict) or content.get("type") != "event":
            return
        key = content.get("key")
        data = content.get("data")
        if not isinstance(key, str) or not isinstance(data, dict):
            return
        # Several views (or browser tabs) may report the same event: fire once.
        if key in self._seen:
            return
        self._seen[key] = None
        while len(self._seen) > _SEEN_EVENTS:
            self._seen.popitem(last=False)
        event = content.get("event")
        if event == "message":
            self._message_handlers(data)
        elif event == "join":
            self._join_handlers(data)
        elif event == "leave":
            self._leave_handlers(data)
        elif event == "hand":
            self._hand_handlers(data)
        elif event == "poll_answer":
            self._poll_answer_handlers(data)
        elif event == "refused":
            request_id = data.get("request_id")
            if isinstance(request_id, str):
                self._refusals[request_id] = data
                while len(self._refusals) > _REFUSALS:
                    self._refusals.popitem(last=False)
            self._error_handlers(data)

    # -- display ------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any] | None:
        """The widget view, and for wherever it cannot be shown (a notebook not trusted, a
        viewer without the extension, a saved file) a text that says what to do, never a
        room state that would be stale there. Displaying the widget makes the tab that ran
        the cell the one whose state it mirrors."""
        origin = _origin()
        if origin and origin != self._owner:
            self._owner, self._owner_tab = origin, ""
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = self.fallback_text()
        return bundle

    def fallback_text(self) -> str:
        """What a notebook shows where the widget cannot be drawn."""
        where = f"room {self.room!r}" if self.room else "this notebook's room"
        return f"Run this cell, or trust the notebook, to join {where}."

    def __repr__(self) -> str:
        name = repr(self.room) if self.room else "<this notebook>"
        state = f"connected via {self.current_transport}" if self.connected else "not connected"
        if self.role:
            state += f" as {self.role}"
        n_members = len(self.members)
        n_messages = len(self.messages)
        extra = ""
        if self.hands:
            n_hands = len(self.hands)
            extra += f", {n_hands} raised hand{'' if n_hands == 1 else 's'}"
        n_open = sum(1 for p in self.polls if not p.get("closed"))
        if n_open:
            extra += f", {n_open} open poll{'' if n_open == 1 else 's'}"
        return (
            f"Room({name}, {state}, "
            f"{n_members} member{'' if n_members == 1 else 's'}, "
            f"{n_messages} message{'' if n_messages == 1 else 's'}{extra})"
        )
