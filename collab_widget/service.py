"""The Socket.IO service: protocol v1 events on top of a room backend and the presence hub.

Handlers here are thin: they validate with :mod:`.protocol`, call the room backend
(:mod:`.backend`: membership, seq, deduplication, history, delivery) and :mod:`.presence`,
and build the acknowledgement. Who connects is the identity resolver's answer
(:mod:`.identity`). Every client event goes through one guard (:meth:`CollabService._guard`)
that applies the rate and size limits and turns any refusal into an error acknowledgement, so
one client's bad input never reaches another client or the server.
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

from . import protocol
from .backend import RoomBackend, now_ms
from .fanout import Fanout, Frame, event_frame
from .identity import IdentityResolver
from .presence import Delivery, PresenceHub
from .presence_frames import presence_bodies
from .protocol import ProtocolError
from .ratelimit import TokenBucket
from .rooms import Membership, Session
from .settings import ServiceSettings, Stats
from .shutdown import ConnectionTracker
from .sioserver import GuardedServer

Ack = dict[str, Any]
EventHandler = Callable[[Session, Any], Awaitable[Ack]]


class CollabService:
    """Owns the Socket.IO server and the state behind protocol v1.

    :param settings: limits and timings.
    :param backend: rooms, history and delivery (:class:`~.local_backend.LocalBackend` in one
        process); the service hands it its Socket.IO server and closes it on :meth:`stop`.
    :param identify: the user of a new connection from its ``environ``; None refuses it
        (:func:`~.identity.jupyter_identity` on a Jupyter server).
    :param log: where connects, disconnects and failures are logged.
    :param on_activity: called on every client event, so Jupyter's idle culling sees chat
        as activity.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        backend: RoomBackend,
        identify: IdentityResolver,
        log: logging.Logger,
        on_activity: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.backend = backend
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
        )
        self.presence = PresenceHub()
        self.sessions: dict[str, Session] = {}
        self.per_user: Counter[str] = Counter()  # username -> connections
        self.by_public_id: dict[str, Session] = {}
        self.stats = Stats()
        self.started = time.monotonic()
        self._ticker: asyncio.Task[None] | None = None
        # Engine.IO sid -> the tornado handler of its WebSocket (for upgraded connections).
        self.websockets: dict[str, Any] = {}
        self.fanout = Fanout(self.sio, self.websockets)
        #: Set by :meth:`stop`: the HTTP handler then refuses new requests.
        self.closing = False
        #: What :meth:`stop` waits for (requests, WebSockets, python-engineio's own tasks).
        self.connections = ConnectionTracker(self.sio, log)
        backend.set_server(self.sio, self.fanout)
        self._register()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the presence ticker (call with the event loop running)."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._presence_loop())

    async def stop(self, timeout: float = 2.0) -> None:
        """Close every connection, wait for what served them, then close the backend (and so
        the store).

        New requests are refused (410); the presence ticker stops; each Socket.IO session is
        disconnected (its rooms left, the client told); each Engine.IO connection is closed
        (a CLOSE packet; WebSockets closed; pending long-polls answered); the tasks serving
        the endpoint's requests and WebSockets are awaited; python-engineio's own tasks
        (pings, its service task) end. Jupyter closes the event loop after this, so nothing
        is left pending in it.

        :param timeout: seconds to wait for the connections to end by themselves (a WebSocket
            client answering the close frame); the ones still open then are cut, and what
            still serves them is cancelled.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.closing = True
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        for sid in list(self.sessions):
            try:
                await self.sio.disconnect(sid)
            except Exception as error:  # the others are still closed
                self.log.warning("collab: could not disconnect %s at shutdown: %r", sid, error)
        await self.connections.close_all()
        await self.sio.shutdown()
        await self.connections.finish(deadline)
        await self.connections.end_background()
        await self.backend.close()

    def track(self, task: asyncio.Task[Any] | None, cut: Callable[[], None] | None) -> None:
        """Have :meth:`stop` wait for ``task`` (see :meth:`ConnectionTracker.track`)."""
        self.connections.track(task, cut)

    # -- wiring ------------------------------------------------------------------------------
    def _register(self) -> None:
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        events: dict[str, EventHandler] = {
            "join": self._join,
            "leave": self._leave,
            "send": self._send,
            "history": self._history,
            "presence": self._presence,
            "rooms": self._rooms,
        }
        for name, handler in events.items():
            self.sio.on(name, self._guard(handler, name))
        # Any other name: answered, and counted against the rate limit like every event.
        self._guarded_unknown = self._guard(self._unknown, "unknown event")
        self.sio.on("*", self._on_unknown)

    def _guard(self, handler: EventHandler, name: str) -> Callable[..., Awaitable[Ack]]:
        async def guarded(sid: str, data: Any = None, *_extra: Any) -> Ack:
            session = self.sessions.get(sid)
            if session is None:
                return ProtocolError("not_connected", "this session is not connected").ack()
            self.stats.events_in += 1
            if await self._check_output(session):
                return ProtocolError("not_connected", "this session is not connected").ack()
            try:
                wait = session.event_bucket.take(time.monotonic())
                if wait:
                    raise ProtocolError(
                        "rate_limited", "too many events; slow down", retry_after=round(wait, 3)
                    )
                if data is not None and _json_size(data) > self.settings.max_payload_bytes:
                    raise ProtocolError(
                        "payload_too_large",
                        f"payloads are limited to {self.settings.max_payload_bytes} bytes",
                    )
                if self.on_activity is not None:
                    self.on_activity()
                return await handler(session, data)
            except ProtocolError as error:
                self.stats.errors += 1
                return error.ack()
            except Exception:
                self.stats.errors += 1
                self.log.exception("collab: %s from %s failed", name, session.user.username)
                return ProtocolError("internal_error", "the server failed; see its log").ack()

        return guarded

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
            transport=self.sio.transport(sid),
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
        return True

    async def _on_disconnect(self, sid: str, reason: str = "unknown") -> None:
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
        for membership in await self.backend.leave_all(session):
            await self._left(session, membership)
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

    # -- rooms -------------------------------------------------------------------------------
    async def _join(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_join(data)
        page = self.settings.limits.history_page_size
        joined = await self.backend.join(session, request.room, request.since, page)
        room, membership = joined.room, joined.membership
        presence = self.presence.room(room.name)
        if membership is not None:
            presence.add_recipient(session.public_id)
        you = {
            **session.user.public(room.members[session.user.username].color),
            "session": session.public_id,
        }
        history, has_more = joined.history, joined.has_more
        ack: Ack = {
            "ok": True,
            "room": room.name,
            "you": you,
            "members": room.member_list(),
            "history": history,
            "has_more": has_more,
            "last_seq": room.last_seq,
            "presence": presence.snapshot(exclude=session.public_id),
        }
        if membership is not None and membership.changed:
            self.backend.broadcast(
                room.name,
                event_frame(
                    "joined",
                    {"room": room.name, "user": membership.member.public(), "ts": now_ms()},
                ),
                skip_sid=session.sid,
            )
        return ack

    async def _leave(self, session: Session, data: Any) -> Ack:
        name = protocol.parse_room(data)
        membership = await self.backend.leave(session, name)
        await self._left(session, membership)
        return {"ok": True}

    async def _left(self, session: Session, membership: Membership) -> None:
        """After a session left a room: drop its presence, tell the room if the user left."""
        self.presence.leave(membership.room.name, session.public_id)
        if membership.changed:
            member = membership.member
            self.backend.broadcast(
                membership.room.name,
                event_frame(
                    "left",
                    {
                        "room": membership.room.name,
                        "user": member.user.public(member.color),
                        "ts": now_ms(),
                    },
                ),
                skip_sid=session.sid,
            )

    async def _rooms(self, session: Session, data: Any) -> Ack:
        return {
            "ok": True,
            "rooms": [
                {**room.summary(), "joined": room.name in session.rooms}
                for room in self.backend.active()
            ],
        }

    # -- chat --------------------------------------------------------------------------------
    async def _send(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_send(data, self.settings.limits)
        room = self.backend.joined(session, request.room)
        wait = session.send_bucket.take(time.monotonic())
        if wait:
            raise ProtocolError(
                "rate_limited",
                f"at most {self.settings.message_rate:g} messages per second",
                retry_after=round(wait, 3),
            )
        message, duplicate = await self.backend.post(session, room, request)
        if duplicate:
            return {"ok": True, "message": message, "duplicate": True}
        self.stats.messages_in += 1
        frame = event_frame("message", message)
        self.stats.messages_out += self.backend.broadcast(room.name, frame)
        return {"ok": True, "message": message}

    async def _history(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_history(data, self.settings.limits)
        self.backend.joined(session, request.room)
        if request.after is not None:
            messages, has_more = await self.backend.history_after(
                request.room, request.after, request.limit
            )
        else:
            messages, has_more = await self.backend.history_before(
                request.room, request.before, request.limit
            )
        return {"ok": True, "messages": messages, "has_more": has_more}

    # -- presence ----------------------------------------------------------------------------
    async def _presence(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_presence(data)
        self.backend.joined(session, request.room)
        wait = session.presence_bucket.take(time.monotonic())
        if wait:
            raise ProtocolError(
                "rate_limited", "too many presence updates", retry_after=round(wait, 3)
            )
        room = self.presence.room(request.room)
        if request.state is None:
            room.remove(session.public_id)
        else:
            room.update(
                session.public_id, session.user.username, request.state, time.monotonic(), now_ms()
            )
        return {"ok": True}

    async def _presence_loop(self) -> None:
        interval = 1.0 / self.settings.presence_hz
        next_check = 0.0
        while True:
            started = time.monotonic()
            try:
                await self.presence_tick(started)
                if started >= next_check:  # once a second: connections that fell behind
                    next_check = started + 1.0
                    for session in list(self.sessions.values()):
                        await self._check_output(session)
            except Exception:
                self.log.exception("collab: presence tick failed")
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def _check_output(self, session: Session) -> bool:
        """Close a connection holding more unsent output than ``max_output_bytes`` (a client
        that does not read); True when it was closed. It reconnects and resumes with
        ``since``: nothing is lost, and the server's memory stays bounded."""
        eio_sid = self.sio.manager.eio_sid_from_sid(session.sid, "/")
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

    async def presence_tick(self, now: float) -> None:
        """Send every due presence batch (one per recipient and room)."""
        for room, delivery in self.presence.tick(now, self.settings.presence_ttl, self._can_send):
            self._deliver_presence(room, delivery)

    def _can_send(self, public_id: str) -> bool:
        """False while a session's connection still holds unsent output (a stalled client):
        it then gets the latest presence when it drains, not a backlog."""
        session = self.by_public_id.get(public_id)
        return session is not None and self.fanout.can_send(session.sid)

    def _deliver_presence(self, room: str, delivery: Delivery) -> None:
        """Give each recipient the change list minus its own entry: one frame per distinct
        body (the recipients with nothing of their own share one, and come in one run)."""
        body: str | None = None
        sids: list[str] = []  # the sessions getting ``body``
        for recipient, text in presence_bodies(room, delivery):
            session = self.by_public_id.get(recipient)
            if session is None:
                continue
            if text is not body:
                if body is not None:
                    self.stats.presence_batches += self.backend.send_to(sids, Frame(body))
                body, sids = text, []
            sids.append(session.sid)
        if body is not None:
            self.stats.presence_batches += self.backend.send_to(sids, Frame(body))

    # -- introspection -----------------------------------------------------------------------
    def room_summaries(self) -> list[dict[str, Any]]:
        return [room.summary() for room in self.backend.active()]

    def stats_summary(self) -> dict[str, Any]:
        return {
            "connections": len(self.sessions),
            "rooms": len(self.backend.active()),
            "rooms_held": self.backend.held(),
            "messages_in": self.stats.messages_in,
            "messages_out": self.stats.messages_out,
            "presence_batches": self.stats.presence_batches,
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
