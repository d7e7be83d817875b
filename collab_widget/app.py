"""The Jupyter server extension: configuration, routes and lifecycle."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, cast

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Float, Int, List, Type, Unicode, default

from .gcpolicy import freeze_startup_objects
from .handlers import RoomsHandler, StatsHandler, socketio_handler
from .history import BaseHistoryStore
from .hub.config import SERVICE_URL_ENV
from .identity import jupyter_identity
from .limits import HISTORY_PAGE_SIZE, MAX_TEXT_LENGTH
from .local_backend import LocalBackend
from .relay import RelayService
from .service import CollabService
from .sessions import SocketService
from .settings import ServiceSettings
from .store import SQLiteHistoryStore
from .upstream import Upstream


class CollabApp(ExtensionApp):
    """Hosts the collab-widget Socket.IO endpoint at ``{base_url}collab/socket.io/``.

    Every setting below can be set in ``jupyter_server_config.py`` (``c.CollabApp.history_limit
    = 500``) or on the command line (``jupyter lab --CollabApp.history_limit=500``).
    """

    name = "collab_widget"
    load_other_extensions = True

    history_path = Unicode(
        "",
        config=True,
        help="SQLite file holding the chat history. Default: collab_widget/history.sqlite3 in "
        "the Jupyter data directory.",
    )
    history_limit = Int(1000, config=True, help="How many newest messages are kept per room.")
    history_page_size = Int(
        HISTORY_PAGE_SIZE,
        config=True,
        help="Messages returned by a join without 'since', and per history page.",
    )
    history_fsync = Bool(
        False,
        config=True,
        help="fsync every message (survives power loss, slower: each write then runs on the "
        "store's writer thread). Without it a message survives a crash or restart of the "
        "server, and a write that needs no wait is done on the event loop.",
    )
    history_busy_timeout = Float(
        0.5,
        config=True,
        help="Seconds a chat message may wait to be stored while another process (e.g. a "
        "second server sharing history_path) holds the history's write lock; then the send "
        "is answered 'unavailable', nothing is stored, and the client may resend. Reads "
        "(joins, history pages) never wait for writes.",
    )
    max_text_length = Int(MAX_TEXT_LENGTH, config=True, help="Longest chat message, in characters.")
    max_payload_bytes = Int(
        65536, config=True, help="Largest event payload (JSON bytes) answered normally."
    )
    max_transport_bytes = Int(
        1_000_000,
        config=True,
        help="Largest Engine.IO packet or HTTP request body: a WebSocket client sending more "
        "is disconnected, a larger polling body is refused before it is read.",
    )
    message_rate = Float(10.0, config=True, help="Chat messages per second per session.")
    message_burst = Int(20, config=True, help="Chat messages a session may send at once.")
    event_rate = Float(50.0, config=True, help="Events of any kind per second per session.")
    event_burst = Int(100, config=True, help="Events of any kind a session may send at once.")
    presence_rate = Float(30.0, config=True, help="Presence updates per second per session.")
    presence_burst = Int(60, config=True, help="Presence updates a session may send at once.")
    max_rooms_per_session = Int(20, config=True, help="Rooms one connection may be in at once.")
    max_connections_per_user = Int(
        20,
        config=True,
        help="Socket.IO connections one user may hold at once (browser tabs, scripts); "
        "the next one is refused.",
    )
    max_output_bytes = Int(
        4 * 1024 * 1024,
        config=True,
        help="Output waiting to be sent to one connection (WebSocket buffer and Engine.IO "
        "queue), in bytes, past which the connection is closed: a client that does not read "
        "cannot make the server hold unbounded memory. It reconnects and resumes.",
    )
    empty_room_grace = Float(
        30.0,
        config=True,
        help="Seconds an empty room stays in memory (a re-run cell re-joins within that) "
        "before it is freed; it is loaded from the history again on next use.",
    )
    presence_hz = Float(
        30.0, config=True, help="Presence batches per second at most, per member of a room."
    )
    presence_room_batches = Float(
        12000.0,
        config=True,
        help="Presence batches per second one room sends at most, to all its members: a "
        "room of more than presence_room_batches / presence_hz members (400) gets its "
        "batches less often (each member of a 1,000-member room about 10 a second), so that "
        "one big room's fan-out stays within what a process can send.",
    )
    freeze_gc = Bool(
        True,
        config=True,
        help="Once the server has started, move the objects alive then (modules, classes, "
        "configuration) out of Python's cyclic garbage collector (gc.freeze): with 1,000 "
        "connections its full collections then pause the server about 3x shorter.",
    )
    presence_ttl = Float(
        45.0, config=True, help="Seconds after which a presence state without update expires."
    )
    ping_interval = Float(25.0, config=True, help="Seconds between Engine.IO pings to each client.")
    ping_timeout = Float(
        20.0,
        config=True,
        help="Seconds to wait for a pong before a client counts as disconnected.",
    )

    teachers = List(
        Unicode(),
        default_value=[],
        config=True,
        help="User names of the teachers (classroom mode): teachers in every room, and the "
        "only ones who may ask everyone to follow, open polls and hand on the role. Empty "
        "(and no teacher_groups): the first person to join a room is its teacher.",
    )
    teacher_groups = List(
        Unicode(),
        default_value=[],
        config=True,
        help="On a JupyterHub's class service: Hub groups whose members are teachers in every "
        "room (configure_hub(c, teacher_groups=[...])). Ignored by a single server, which "
        "knows no groups.",
    )

    class_service_url = Unicode(
        "",
        config=True,
        help="The JupyterHub class service this server relays its rooms to (e.g. "
        "http://127.0.0.1:10111/services/collab/), authenticated with the server's "
        "JUPYTERHUB_API_TOKEN. Default: $COLLAB_SERVICE_URL, which configure_hub(c) sets for "
        "every server of the Hub. Empty (no Hub, or no service): rooms live in this server.",
    )

    @default("class_service_url")
    def _default_class_service_url(self) -> str:
        return os.environ.get(SERVICE_URL_ENV, "")

    store_class = Type(
        default_value=SQLiteHistoryStore,
        klass=BaseHistoryStore,
        config=True,
        help="The chat history store: a subclass of collab_widget.history.BaseHistoryStore, "
        "built with history_path, history_limit, history_fsync and history_busy_timeout. "
        "Default: SQLite.",
    )

    @default("history_path")
    def _default_history_path(self) -> str:
        return os.path.join(jupyter_data_dir(), "collab_widget", "history.sqlite3")

    def build_backend(self, backend_class: type[LocalBackend] = LocalBackend) -> LocalBackend:
        """The room backend these settings describe, with its history store open.

        :param backend_class: :class:`LocalBackend` or a subclass (the class service's).
        """
        # A subclass of BaseHistoryStore (traitlets checked it), called like its constructor.
        build_store = cast("Callable[[str, int, bool, float], BaseHistoryStore]", self.store_class)
        store = build_store(
            self.history_path, self.history_limit, self.history_fsync, self.history_busy_timeout
        )
        store.open_now()
        return backend_class(
            store,
            self.history_limit,
            self.max_rooms_per_session,
            self.log,
            empty_room_grace=self.empty_room_grace,
        )

    def initialize_settings(self) -> None:
        self.service: SocketService
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "")
        if self.class_service_url and token:
            owner = os.environ.get("JUPYTERHUB_USER", "")
            self.service = RelayService(
                ServiceSettings.from_config(self),
                jupyter_identity,
                self.log,
                Upstream(self.class_service_url, token, self.log, key=owner),
                owner=owner,
                on_activity=self._touch_activity,
            )
            self.log.info(
                "collab: Socket.IO at collab/socket.io/, rooms at the class service %s",
                self.class_service_url,
            )
            return
        if self.class_service_url:
            self.log.warning("collab: class_service_url is set but not JUPYTERHUB_API_TOKEN")
        backend = self.build_backend()
        self.service = CollabService(
            ServiceSettings.from_config(self),
            backend,
            jupyter_identity,
            self.log,
            on_activity=self._touch_activity,
        )
        self.log.info("collab: Socket.IO at collab/socket.io/, history in %s", self.history_path)

    _last_touch = 0.0

    def _touch_activity(self) -> None:
        # Chat and presence count as activity for Jupyter's (and JupyterHub's) idle culling;
        # a second's precision is plenty, and this runs for every client event.
        now = time.monotonic()
        if now - self._last_touch >= 1.0:
            self._last_touch = now
            self.serverapp.web_app.settings["api_last_activity"] = datetime.now(timezone.utc)

    def initialize_handlers(self) -> None:
        api: dict[str, Any] = {"service": self.service}
        self.handlers.extend(
            [
                (r"/collab/socket.io/", socketio_handler(self.service)),
                (r"/collab/api/rooms", RoomsHandler, api),
                (r"/collab/api/stats", StatsHandler, api),
            ]
        )

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        self.service.start()
        if self.freeze_gc:
            frozen = freeze_startup_objects()
            self.log.debug("collab: %d start-up objects frozen out of the collector", frozen)

    async def stop_extension(self) -> None:
        self.log.info("collab: shutting down Socket.IO")
        await self.service.stop()
