"""Socket.IO connections of authenticated users: sessions, the guard every event passes,
output limits and shutdown. What the events do is a subclass's
(:class:`~collab_widget.service.CollabService` runs rooms here;
:class:`~collab_widget.relay.RelayService` forwards them to a JupyterHub service).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from .fanout import Fanout, ack_frame
from .identity import IdentityResolver, UserInfo
from .protocol import ProtocolError
from .ratelimit import TokenBucket
from .rooms import Session
from .settings import ServiceSettings, Stats
from .shutdown import ConnectionTracker
from .sioserver import GuardedServer, packet_size

Ack = dict[str, Any]
EventHandler = Callable[[Session, Any], Awaitable[Ack]]
#: A handler run in the WebSocket's read callback (no I/O, no await).
FastHandler = Callable[[Session, Any], Ack]
_loads = json.JSONDecoder().decode


class SocketService:
    """Owns the Socket.IO server, its sessions and the guard in front of every event.

    :param settings: limits and timings.
    :param identify: the user of a new connection from its ``environ``; None refuses it
        (:func:`~.identity.jupyter_identity` on a Jupyter server).
    :param log: where connects, disconnects and failures are logged.
    :param on_activity: called on every client event, so Jupyter's idle culling sees chat
        as activity.
    :param transports: the Engine.IO transports accepted (default: polling and WebSocket).
    """

    def __init__(
        self,
        settings: ServiceSettings,
        identify: IdentityResolver,
        log: logging.Logger,
        on_activity: Callable[[], None] | None = None,
        transports: list[str] | None = None,
    ) -> None:
        self.settings = settings
        self.identify = identify
        self.log = log
        self.on_activity = on_activity
        self.sio = GuardedServer(
            on_bad_packet=self._on_bad_packet,
            on_reserved_event=self._on_reserved_event,
            # Say the driver: auto-detection picks aiohttp when it is installed.
            async_mode="tornado",
            # Origins are checked by Jupyter's handler, with Jupyter's rules.
            cors_allowed_origins=[],
            # Run each client's events in order, one at a time, in its read loop.
            async_handlers=False,
            ping_interval=settings.ping_interval,
            ping_timeout=settings.ping_timeout,
            max_http_buffer_size=settings.max_transport_bytes,
            logger=False,
            engineio_logger=False,
            **({"transports": transports} if transports else {}),
        )
        self.sessions: dict[str, Session] = {}
        self.per_user: Counter[str] = Counter()  # username -> connections
        self.by_public_id: dict[str, Session] = {}
        self.stats = Stats()
        self.started = time.monotonic()
        # Engine.IO sid -> the tornado handler of its WebSocket (for upgraded connections).
        self.websockets: dict[str, Any] = {}
        self.fanout = Fanout(self.sio, self.websockets)
        #: Set by :meth:`stop`: the HTTP handler then refuses new requests.
        self.closing = False
        #: What :meth:`stop` waits for (requests, WebSockets, python-engineio's own tasks).
        self.connections = ConnectionTracker(self.sio, log)
        self._fast: dict[str, FastHandler] = {}  # set by :meth:`register`
        self._fast_prefixes: tuple[str, ...] = ()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start what runs in the background (call with the event loop running)."""

    async def stop(self, timeout: float = 2.0) -> None:
        """Close every connection and wait for what served them.

        New requests are refused (410); each Socket.IO session is disconnected (its rooms
        left, the client told); each Engine.IO connection is closed (a CLOSE packet;
        WebSockets closed; pending long-polls answered); the tasks serving the endpoint's
        requests and WebSockets are awaited; python-engineio's own tasks (pings, its service
        task) end. Jupyter closes the event loop after this, so nothing is left pending in it.

        :param timeout: seconds to wait for the connections to end by themselves (a WebSocket
            client answering the close frame); the ones still open then are cut, and what
            still serves them is cancelled.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.closing = True
        for sid in list(self.sessions):
            try:
                await self.sio.disconnect(sid)
            except Exception as error:  # the others are still closed
                self.log.warning("collab: could not disconnect %s at shutdown: %r", sid, error)
        await self.connections.close_all()
        await self.sio.shutdown()
        await self.connections.finish(deadline)
        await self.connections.end_background()

    def track(self, task: asyncio.Task[Any] | None, cut: Callable[[], None] | None) -> None:
        """Have :meth:`stop` wait for ``task`` (see :meth:`ConnectionTracker.track`)."""
        self.connections.track(task, cut)

    # -- wiring ------------------------------------------------------------------------------
    def register(self) -> None:
        """Route the Socket.IO server's events here (a subclass calls it once, when ready)."""
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        #: Each protocol event's handler behind the guard, by event name.
        self.handlers = {
            name: self._guard(handler, name) for name, handler in self.events().items()
        }
        for name, handler in self.handlers.items():
            self.sio.on(name, handler)
        self._fast = self.fast_events()
        self._fast_prefixes = tuple(f"[{json.dumps(name)}," for name in self._fast)
        # Any other name: answered, and counted against the rate limit like every event.
        self._guarded_unknown = self._guard(self._unknown, "unknown event")
        self.sio.on("*", self._on_unknown)

    def events(self) -> dict[str, EventHandler]:
        """The protocol's events and their handlers, by name."""
        return {}

    def _guard(self, handler: EventHandler, name: str) -> Callable[..., Awaitable[Ack]]:
        async def guarded(sid: str, data: Any = None, *_extra: Any) -> Ack:
            session = self.sessions.get(sid)
            if session is None:
                return ProtocolError("not_connected", "this session is not connected").ack()
            self.stats.events_in += 1
            if await self._check_output(session):
                return ProtocolError("not_connected", "this session is not connected").ack()
            try:
                self._admit(session, data, packet_size.get())
                return await handler(session, data)
            except Exception as error:
                return self._refusal(error, name, session)

        return guarded

    def _refusal(self, error: Exception, name: str, session: Session) -> Ack:
        """The acknowledgement of an event whose handler raised ``error`` (call it in the
        ``except`` block): a :class:`ProtocolError` as it says; anything else logged with
        its traceback and answered ``internal_error``. Counted either way."""
        self.stats.errors += 1
        if isinstance(error, ProtocolError):
            return error.ack()
        self.log.exception("collab: %s from %s failed", name, session.user.username)
        return ProtocolError("internal_error", "the server failed; see its log").ack()

    def _admit(self, session: Session, data: Any, size: int | None) -> None:
        """The checks every event passes before its handler: the event rate and the payload
        size (``size``: the packet's length as it came; None: the payload's JSON measured);
        then it counts as activity. Raises :class:`ProtocolError`."""
        wait = session.event_bucket.take(time.monotonic())
        if wait:
            raise ProtocolError(
                "rate_limited", "too many events; slow down", retry_after=round(wait, 3)
            )
        if size is None:
            size = 0 if data is None else _json_size(data)
        if size > self.settings.max_payload_bytes:
            raise ProtocolError(
                "payload_too_large",
                f"payloads are limited to {self.settings.max_payload_bytes} bytes",
            )
        if self.on_activity is not None:
            self.on_activity()

    # -- the fast path -----------------------------------------------------------------------
    def fast_events(self) -> dict[str, FastHandler]:
        """Events handled in the WebSocket's read callback (:meth:`fast_event`), by name:
        frequent ones whose handler does no I/O."""
        return {}

    def fast_event(self, eio_sid: str, message: str) -> bool:
        """Handle an Engine.IO message of a WebSocket at once, if it is an event of
        :meth:`fast_events` (``42["name",...]`` or ``42<id>["name",...]``, default namespace).

        It passes the same guard as every event (:meth:`_admit`) and gets the same
        acknowledgement, without what python-engineio and python-socketio spend per packet
        (a task, a queue, two decodings, the dispatch). The caller calls it only when the
        connection's reader is idle, so that the session's events stay in order.

        :returns: False when the message takes the normal way: another event or packet, a
            namespace, a session not (or no longer) connected, a connection to close for
            its backlog, JSON that does not decode (answered there as usual).
        """
        start = 2
        while start < len(message) and message[start].isdigit() and start < 17:
            start += 1
        if not message.startswith(self._fast_prefixes, start) or not message.startswith("42"):
            return False
        try:
            packet = _loads(message[start:])
        except ValueError:
            return False
        handler = self._fast.get(packet[0]) if type(packet) is list else None
        sid = self.sio.manager.sid_from_eio_sid(eio_sid, "/")
        session = self.sessions.get(sid) if sid is not None else None
        if handler is None or session is None:
            return False
        # No backlog check per event here (it costs more than the presence handler): a
        # connection that does not read is closed by the once-a-second check, and presence is
        # not sent to it meanwhile.
        self.stats.events_in += 1
        data = packet[1] if len(packet) > 1 else None
        try:
            self._admit(session, data, len(message) - 1)
            ack = handler(session, data)
        except Exception as error:
            ack = self._refusal(error, packet[0], session)
        if start > 2:
            self.fanout.send(ack_frame(int(message[2:start]), ack), [eio_sid])
        return True

    async def _on_unknown(self, event: str, sid: str, *_args: Any) -> Ack:
        return await self._guarded_unknown(sid, event)

    async def _on_reserved_event(self, eio_sid: str, namespace: str, name: str) -> Ack:
        """An event named ``connect``, ``disconnect``, ``*`` (or not named): unknown."""
        sid = self.sio.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None:
            return ProtocolError("not_connected", "this session is not connected").ack()
        return await self._guarded_unknown(sid, name)

    async def _on_bad_packet(self, eio_sid: str, data: Any, error: Exception) -> Ack | None:
        """A packet python-socketio could not decode: counted like an event, logged in one
        line (the first per connection), answered ``invalid_payload`` when it asked; a
        connection that keeps sending them past its rate limit is closed."""
        self.stats.errors += 1
        sid = self.sio.manager.sid_from_eio_sid(eio_sid, "/")
        session = self.sessions.get(sid) if sid is not None else None
        if session is None:
            return None
        session.bad_packets += 1
        level = logging.WARNING if session.bad_packets == 1 else logging.DEBUG
        self.log.log(
            level,
            "collab: malformed packet from %s (session %s): %s",
            session.user.username,
            session.public_id,
            str(error)[:200] or type(error).__name__,
        )
        if session.event_bucket.take(time.monotonic()):
            self.log.warning(
                "collab: closing session %s of %s: malformed packets past its rate limit",
                session.public_id,
                session.user.username,
            )
            await self.fanout.drop(eio_sid)
            return None
        return ProtocolError("invalid_payload", "the packet could not be decoded").ack()

    async def _unknown(self, session: Session, event: str) -> Ack:
        raise ProtocolError("unknown_event", f"unknown event '{event[:64]}'")

    # -- connections -------------------------------------------------------------------------
    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        info = self.identify(environ)
        if info is None:
            # The HTTP handler refuses these first; this is the second lock.
            raise socketio.exceptions.ConnectionRefusedError("not authenticated")
        session = self.open_session(sid, info, self.sio.transport(sid))
        if session.transport == "websocket":  # WebSocket from the start: its handler learns
            handler = environ.get("tornado.handler")  # its session (the fast path needs it)
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
            # Only the handler that carries the WebSocket: a session upgraded from polling
            # (python-socketio's client connects after the upgrade) has its handshake's
            # finished polling handler here, which would replace the upgrade's in
            # ``websockets`` (registered by its open()) and never be removed.
            carries = getattr(handler, "ws_connection", None) is not None
            if eio_sid is not None and carries and hasattr(handler, "bind"):
                handler.bind(eio_sid)
        await self.session_opened(session)
        return True

    def open_session(self, sid: str, info: UserInfo, transport: str) -> Session:
        """Start a session of ``info`` under ``sid``.

        :param sid: the session's key (a Socket.IO sid, or a relayed session's key).
        :param info: its user, as authenticated.
        :param transport: shown in the log.
        :raises ConnectionRefusedError: the user holds ``max_connections_per_user`` already.
        """
        limit = self.settings.max_connections_per_user
        if self.per_user[info.username] >= limit:
            self.log.warning(
                "collab: refused a connection of %s: already %d open", info.username, limit
            )
            raise socketio.exceptions.ConnectionRefusedError(
                f"too many connections: a user may hold at most {limit} at once"
            )
        now = time.monotonic()
        s = self.settings
        session = Session(
            sid=sid,
            public_id="s-" + secrets.token_urlsafe(9),
            user=info,
            transport=transport,
            send_bucket=TokenBucket(s.message_rate, s.message_burst, now),
            event_bucket=TokenBucket(s.event_rate, s.event_burst, now),
            presence_bucket=TokenBucket(s.presence_rate, s.presence_burst, now),
            connected_at=now,
        )
        self.sessions[sid] = session
        self.per_user[info.username] += 1
        self.by_public_id[session.public_id] = session
        self.log.info(
            "collab: connect user=%s (%s) transport=%s session=%s",
            info.username,
            info.display_name,
            session.transport,
            session.public_id,
        )
        return session

    async def _on_disconnect(self, sid: str, reason: str = "unknown") -> None:
        await self.close_session(sid, reason)

    async def close_session(self, sid: str, reason: str) -> None:
        """End a session: out of its rooms (the rooms told), forgotten; logged with ``reason``."""
        session = self.sessions.pop(sid, None)
        if session is None:
            return
        session.connected = False
        self.per_user[session.user.username] -= 1
        if self.per_user[session.user.username] <= 0:
            del self.per_user[session.user.username]
        self.by_public_id.pop(session.public_id, None)
        transport = self._transport(sid, session.transport)
        if not self.fanout.release_poll(sid):
            self.log.debug("collab: could not release the pending poll of %s", sid)
        await self.session_closed(session)
        duration = time.monotonic() - session.connected_at
        self.log.info(
            "collab: disconnect user=%s (%s) transport=%s session=%s reason=%s after %.1fs",
            session.user.username,
            session.user.display_name,
            transport,
            session.public_id,
            reason,
            duration,
        )

    def _transport(self, sid: str, default: str) -> str:
        try:
            return str(self.sio.transport(sid))
        except (KeyError, ValueError):
            return default

    def carrier(self, session: Session) -> str:
        """The Socket.IO sid of the connection that carries ``session`` (its own, here)."""
        return session.sid

    async def session_opened(self, session: Session) -> None:
        """What a subclass does when a Socket.IO session started (before it is answered)."""

    async def session_closed(self, session: Session) -> None:
        """What a subclass does when a session ended (before it is logged)."""

    async def _check_output(self, session: Session) -> bool:
        """Close a connection holding more unsent output than ``max_output_bytes`` (a client
        that does not read); True when it was closed. It reconnects and resumes with
        ``since``: nothing is lost, and the server's memory stays bounded."""
        eio_sid = self.sio.manager.eio_sid_from_sid(self.carrier(session), "/")
        if eio_sid is None:
            return False
        waiting = self.fanout.backlog(eio_sid)
        if waiting <= self.settings.max_output_bytes:
            return False
        self.log.warning(
            "collab: closing session %s of %s: %d bytes wait to be sent (max_output_bytes=%d)",
            session.public_id,
            session.user.username,
            waiting,
            self.settings.max_output_bytes,
        )
        await self.fanout.drop(eio_sid)
        return True

    # -- introspection -----------------------------------------------------------------------
    def room_summaries(self) -> list[dict[str, Any]]:
        """The rooms with members, for ``GET collab/api/rooms``."""
        return []

    def stats_summary(self) -> dict[str, Any]:
        """The counters, for ``GET collab/api/stats``."""
        return {
            "connections": len(self.sessions),
            "events_in": self.stats.events_in,
            "errors": self.stats.errors,
            "uptime": round(time.monotonic() - self.started, 3),
        }


def _json_size(data: Any) -> int:
    """An upper bound of the payload's JSON size in bytes (ASCII-escaped JSON)."""
    try:
        return len(json.dumps(data, separators=(",", ":")))
    except (TypeError, ValueError):
        return 0
