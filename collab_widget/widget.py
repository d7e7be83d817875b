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

from .limits import MAX_TEXT_LENGTH, ROOM_NAME_RULE, valid_room_name

__all__ = ["Room"]

#: npm package / widget module name registered by the lab extension.
MODULE_NAME = "collab-widget"
#: semver range of the front-end module this Python class works with.
MODULE_VERSION = "^0.1.0"

#: How many event keys are remembered to fire each callback once.
_SEEN_EVENTS = 2000

#: The values of ``Room.transport``.
TRANSPORTS = ("websocket", "polling")


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
    members = List(Dict(), help="One dict per person in the room (not per tab).").tag(sync=True)
    messages = List(Dict(), help="The most recent messages (up to 100), oldest first.").tag(
        sync=True
    )
    log = List(help="The event log shown in the widget, newest last.").tag(sync=True)
    you = Dict(allow_none=True, default_value=None, help="Your own identity in the room.").tag(
        sync=True
    )

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
        super().__init__(**kwargs)
        self._message_handlers = CallbackDispatcher()
        self._join_handlers = CallbackDispatcher()
        self._leave_handlers = CallbackDispatcher()
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.on_msg(self._handle_frontend_msg)

    # -- actions ------------------------------------------------------------

    def send(self, text: str, buffers: Any = None) -> str | None:  # type: ignore[override]
        """Send a chat message to the room as the user of the browser tab showing it.

        Returns the message's ``client_id``. Every view of this widget forwards the
        request with that same id, so the server stores the message once.
        (A dict is sent as a plain custom widget message, as ``Widget.send`` does.)
        """
        if isinstance(text, dict):
            super().send(text, buffers)
            return None
        if not isinstance(text, str):
            raise TypeError(f"text must be a string, not {type(text).__name__}")
        if not text.strip():
            raise ValueError("text is empty")
        if len(text) > MAX_TEXT_LENGTH:
            raise ValueError(f"text is longer than {MAX_TEXT_LENGTH} characters")
        client_id = "py-" + secrets.token_hex(8)
        super().send({"type": "send", "text": text, "client_id": client_id})
        return client_id

    # -- callbacks ----------------------------------------------------------

    def on_message(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(message)`` for each new message (live, not the initial history).

        ``message`` is a dict: ``room``, ``seq``, ``client_id``, ``user``, ``text``, ``ts``.
        """
        self._message_handlers.register_callback(callback, remove=remove)

    def on_join(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(member)`` when a person joins the room."""
        self._join_handlers.register_callback(callback, remove=remove)

    def on_leave(self, callback: Callable[[dict], Any], remove: bool = False) -> None:
        """Call ``callback(user)`` when a person leaves the room."""
        self._leave_handlers.register_callback(callback, remove=remove)

    def _handle_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
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

    # -- display ------------------------------------------------------------

    def __repr__(self) -> str:
        name = repr(self.room) if self.room else "<this notebook>"
        state = f"connected via {self.current_transport}" if self.connected else "not connected"
        n_members = len(self.members)
        n_messages = len(self.messages)
        return (
            f"Room({name}, {state}, "
            f"{n_members} member{'' if n_members == 1 else 's'}, "
            f"{n_messages} message{'' if n_messages == 1 else 's'})"
        )
