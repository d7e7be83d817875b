"""The Socket.IO service: protocol v1 events on top of the room logic and the history store.

Handlers here are thin: they validate with :mod:`.protocol`, change state through
:mod:`.rooms` and :mod:`.presence`, persist through :mod:`.store`, and emit. Every client event
goes through one guard (:meth:`CollabService._guard`) that applies the rate and size limits
and turns any refusal into an error acknowledgement, so one client's bad input never reaches
another client or the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from . import protocol
from .fanout import Fanout, Frame, dumps, event_frame
from .presence import Delivery, Entry, PresenceHub
from .protocol import Limits, ProtocolError
from .ratelimit import TokenBucket
from .rooms import Membership, Room, RoomRegistry, Session, UserInfo
from .store import HistoryStore

Ack = dict[str, Any]
# A polling client with more packets than this waiting for its next GET is behind.
POLL_BACKLOG = 8
EventHandler = Callable[[Session, Any], Awaitable[Ack]]


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the service is told by the extension's configuration."""

    limits: Limits = field(default_factory=Limits)
    max_payload_bytes: int = 65536
    max_transport_bytes: int = 1_000_000
    message_rate: float = 10.0
    message_burst: int = 20
    event_rate: float = 50.0
    event_burst: int = 100
    presence_rate: float = 30.0
    presence_burst: int = 60
    max_rooms_per_session: int = 20
    history_limit: int = 1000
    presence_hz: float = 20.0
    presence_ttl: float = 45.0
    ping_interval: float = 25.0
    ping_timeout: float = 20.0


@dataclass
class Stats:
    """Counters shown by ``GET collab/api/stats``."""

    messages_in: int = 0
    messages_out: int = 0
    presence_batches: int = 0
    events_in: int = 0
    errors: int = 0


def now_ms() -> int:
    return int(time.time() * 1000)


def room_key(name: str) -> str:
    """The Socket.IO room of a chat room (prefixed so it never meets a sid room)."""
    return f"room:{name}"


class CollabService:
    """Owns the Socket.IO server and the state behind protocol v1.

    :param settings: limits and timings.
    :param store: the chat history store; opened and closed by the caller.
    :param log: where connects, disconnects and failures are logged.
    :param on_activity: called on every client event, so Jupyter's idle culling sees chat
        as activity.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        store: HistoryStore,
        log: logging.Logger,
        on_activity: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.log = log
        self.on_activity = on_activity
        self.sio = socketio.AsyncServer(
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
        self.registry = RoomRegistry(settings.max_rooms_per_session, settings.history_limit)
        self.presence = PresenceHub()
        self.sessions: dict[str, Session] = {}
        self.by_public_id: dict[str, Session] = {}
        self.stats = Stats()
        self.started = time.monotonic()
        self._inflight: dict[tuple[str, str, str], asyncio.Future[Ack | None]] = {}
        self._loading: dict[str, asyncio.Future[Room | None]] = {}
        self._ticker: asyncio.Task[None] | None = None
        # Engine.IO sid -> the tornado handler of its WebSocket (for upgraded connections).
        self.websockets: dict[str, Any] = {}
        self.fanout = Fanout(self.sio, self.websockets)
        self._register()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the presence ticker (call with the event loop running)."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._presence_loop())

    async def stop(self) -> None:
        """Disconnect every client, stop background tasks and close the store."""
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None
        for sid in list(self.sessions):
            await self.sio.disconnect(sid)
        await self.sio.shutdown()
        await self.store.close()

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
        self.sio.on("*", self._on_unknown)

    def _guard(self, handler: EventHandler, name: str) -> Callable[..., Awaitable[Ack]]:
        async def guarded(sid: str, data: Any = None, *_extra: Any) -> Ack:
            session = self.sessions.get(sid)
            if session is None:
                return ProtocolError("not_connected", "this session is not connected").ack()
            self.stats.events_in += 1
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
        self.stats.errors += 1
        return ProtocolError("unknown_event", f"unknown event '{event[:64]}'").ack()

    # -- connections -------------------------------------------------------------------------
    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        handler = environ.get("tornado.handler")
        user = getattr(handler, "current_user", None)
        if handler is None or user is None:
            # The HTTP handler refuses these first; this is the second lock.
            raise socketio.exceptions.ConnectionRefusedError("not authenticated")
        info = UserInfo.from_identity(handler.identity_provider.identity_model(user))
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
        self.by_public_id.pop(session.public_id, None)
        transport = self._transport(sid, session.transport)
        self._release_poll(sid)
        for membership in self.registry.leave_all(session):
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

    def _release_poll(self, sid: str) -> None:
        """Answer a polling client's pending GET now that its session is closed.

        python-engineio leaves the long-poll of a client that closed (CLOSE packet) hanging
        until ping_interval + ping_timeout; the client's disconnect waits for it (45 s by
        default) and the server holds the request. An end-of-queue marker releases it.
        """
        try:
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
            socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
            if socket is not None and not socket.upgraded:
                socket.queue.put_nowait(None)
        except Exception:  # internals changed: only the shortcut is lost
            self.log.debug("collab: could not release the pending poll of %s", sid)

    def _can_send(self, public_id: str) -> bool:
        """False while a session's connection still holds unsent output (a stalled client):
        it then gets the latest presence when it drains, not a backlog."""
        session = self.by_public_id.get(public_id)
        if session is None:
            return False
        try:
            eio_sid = self.sio.manager.eio_sid_from_sid(session.sid, "/")
            socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
            if socket is None:
                return False
            handler = self.websockets.get(eio_sid)
            if handler is None and not socket.upgraded:
                environ = self.sio.environ.get(eio_sid) or {}
                handler = environ.get("tornado.handler")
            connection = getattr(handler, "ws_connection", None)
            if connection is not None and connection.stream is not None:
                return not connection.stream.writing()
            return socket.queue.qsize() < POLL_BACKLOG
        except Exception:  # internals changed: send, as python-socketio would
            return True

    def _transport(self, sid: str, default: str) -> str:
        try:
            return str(self.sio.transport(sid))
        except (KeyError, ValueError):
            return default

    def owner(self, eio_sid: str) -> str | None:
        """The username behind an Engine.IO session id, for the HTTP handler's check."""
        environ = self.sio.environ.get(eio_sid)
        user = getattr(environ.get("tornado.handler"), "current_user", None) if environ else None
        return getattr(user, "username", None)

    # -- rooms -------------------------------------------------------------------------------
    async def _room(self, name: str) -> Room:
        """The room, loaded from the store on first use (one load even when joins race)."""
        room = self.registry.get(name)
        if room is not None:
            return room
        unavailable = ProtocolError("unavailable", "the history store is unavailable")
        pending = self._loading.get(name)
        if pending is not None:
            loaded = await asyncio.shield(pending)
            if loaded is None:
                raise unavailable
            return loaded
        future: asyncio.Future[Room | None] = asyncio.get_running_loop().create_future()
        self._loading[name] = future
        try:
            last_seq, recent = await self.store.load_room(name, self.settings.history_limit)
            room = self.registry.create(name, last_seq, recent)
            future.set_result(room)
        except Exception as error:
            self.log.exception("collab: loading room %r failed", name)
            raise unavailable from error
        finally:
            self._loading.pop(name, None)
            if not future.done():
                future.set_result(None)
        return room

    async def _join(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_join(data)
        room = await self._room(request.room)
        membership = self.registry.join(session, room.name)
        presence = self.presence.room(room.name)
        if membership is not None:
            await self.sio.enter_room(session.sid, room_key(room.name))
            presence.add_recipient(session.public_id)
        you = {
            **session.user.public(room.members[session.user.username].color),
            "session": session.public_id,
        }
        # Entered before reading: a message stored meanwhile arrives as an event (keyed by seq).
        history, has_more = await self._history_for_join(room.name, request.since)
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
            self.broadcast(
                room.name,
                event_frame(
                    "joined",
                    {"room": room.name, "user": membership.member.public(), "ts": now_ms()},
                ),
                skip_sid=session.sid,
            )
        return ack

    async def _history_for_join(
        self, room: str, since: int | None
    ) -> tuple[list[dict[str, Any]], bool]:
        try:
            if since is None:
                return await self.store.before(room, None, self.settings.limits.history_page_size)
            return await self.store.after(room, since, self.settings.history_limit), False
        except Exception as error:
            self.log.exception("collab: reading history of %r failed", room)
            raise ProtocolError("unavailable", "the history store is unavailable") from error

    async def _leave(self, session: Session, data: Any) -> Ack:
        name = protocol.parse_room(data)
        membership = self.registry.leave(session, name)
        await self.sio.leave_room(session.sid, room_key(name))
        await self._left(session, membership)
        return {"ok": True}

    async def _left(self, session: Session, membership: Membership) -> None:
        """After a session left a room: drop its presence, tell the room if the user left."""
        self.presence.leave(membership.room.name, session.public_id)
        if membership.changed:
            member = membership.member
            self.broadcast(
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
                for room in self.registry.active()
            ],
        }

    # -- chat --------------------------------------------------------------------------------
    async def _send(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_send(data, self.settings.limits)
        room = self.registry.joined(session, request.room)
        wait = session.send_bucket.take(time.monotonic())
        if wait:
            raise ProtocolError(
                "rate_limited",
                f"at most {self.settings.message_rate:g} messages per second",
                retry_after=round(wait, 3),
            )
        username = session.user.username
        key = (room.name, username, request.client_id)
        duplicate = await self._stored_duplicate(room, key)
        if duplicate is not None:
            return duplicate
        future: asyncio.Future[Ack | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            member = room.members[username]
            message = {
                "room": room.name,
                "seq": room.next_seq(),
                "client_id": request.client_id,
                "user": member.user.public(member.color),
                "text": request.text,
                "ts": now_ms(),
            }
            try:
                await self.store.append(message)
            except Exception as error:
                self.log.exception("collab: storing a message in %r failed", room.name)
                raise ProtocolError(
                    "unavailable", "the message could not be stored; retry"
                ) from error
            room.remember(username, request.client_id, message["seq"])
            ack: Ack = {"ok": True, "message": message}
            future.set_result(ack)
        finally:
            if not future.done():
                future.set_result(None)
            self._inflight.pop(key, None)
        self.stats.messages_in += 1
        self.stats.messages_out += self.broadcast(room.name, event_frame("message", message))
        return ack

    async def _stored_duplicate(self, room: Room, key: tuple[str, str, str]) -> Ack | None:
        """The ack of an already stored (or being stored) message with the same client_id."""
        inflight = self._inflight.get(key)
        if inflight is not None:
            ack = await asyncio.shield(inflight)
            if ack is None:
                raise ProtocolError("unavailable", "the message could not be stored; retry")
            return {**ack, "duplicate": True}
        seq = room.stored_seq(key[1], key[2])
        if seq is None:
            return None
        message = await self.store.get(room.name, seq)
        if message is None:  # pruned by retention since: treat as new
            return None
        return {"ok": True, "message": message, "duplicate": True}

    async def _history(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_history(data, self.settings.limits)
        self.registry.joined(session, request.room)
        try:
            messages, has_more = await self.store.before(
                request.room, request.before, request.limit
            )
        except Exception as error:
            self.log.exception("collab: reading history of %r failed", request.room)
            raise ProtocolError("unavailable", "the history store is unavailable") from error
        return {"ok": True, "messages": messages, "has_more": has_more}

    # -- presence ----------------------------------------------------------------------------
    async def _presence(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_presence(data)
        self.registry.joined(session, request.room)
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
        while True:
            started = time.monotonic()
            try:
                await self.presence_tick(started)
            except Exception:
                self.log.exception("collab: presence tick failed")
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    def broadcast(self, room: str, frame: Frame, skip_sid: str | None = None) -> int:
        """Send an encoded event to every session in ``room``; returns the count."""
        return self.fanout.send(frame, self.fanout.room(room_key(room), skip_sid))

    async def presence_tick(self, now: float) -> None:
        """Send every due presence batch (one per recipient and room)."""
        for room, delivery in self.presence.tick(now, self.settings.presence_ttl, self._can_send):
            self._deliver_presence(room, delivery)

    def _deliver_presence(self, room: str, delivery: Delivery) -> None:
        """Encode each entry once, then give each recipient the list minus its own entry."""
        fragments = [_entry_json(e) for e in delivery.updates]
        position = {e.session: i for i, e in enumerate(delivery.updates)}
        head = '["presence",{"room":' + dumps(room) + ',"updates":['
        tail = "}]" if not delivery.reset else ',"reset":true}]'

        def frame_of(updates: list[str], removed: list[str]) -> Frame:
            return Frame(f'{head}{",".join(updates)}],"removed":{dumps(removed)}{tail}')

        shared: Frame | None = None  # the frame of recipients with no entry of their own
        for recipient in delivery.recipients:
            session = self.by_public_id.get(recipient)
            if session is None:
                continue
            own = position.get(recipient)
            removed = [s for s in delivery.removed if s != recipient]
            if own is None and len(removed) == len(delivery.removed):
                if not fragments and not removed and not delivery.reset:
                    continue
                if shared is None:
                    shared = frame_of(fragments, removed)
                frame = shared
            else:
                updates = fragments if own is None else fragments[:own] + fragments[own + 1 :]
                if not updates and not removed and not delivery.reset:
                    continue
                frame = frame_of(updates, removed)
            eio_sid = self.fanout.eio_sid(session.sid)
            if eio_sid is not None and self.fanout.send(frame, (eio_sid,)):
                self.stats.presence_batches += 1

    # -- introspection -----------------------------------------------------------------------
    def room_summaries(self) -> list[dict[str, Any]]:
        return [room.summary() for room in self.registry.active()]

    def stats_summary(self) -> dict[str, Any]:
        return {
            "connections": len(self.sessions),
            "rooms": len(self.registry.active()),
            "messages_in": self.stats.messages_in,
            "messages_out": self.stats.messages_out,
            "presence_batches": self.stats.presence_batches,
            "events_in": self.stats.events_in,
            "errors": self.stats.errors,
            "uptime": round(time.monotonic() - self.started, 3),
        }


def _entry_json(entry: Entry) -> str:
    if entry.encoded is None:
        entry.encoded = dumps(entry.wire)
    return entry.encoded


def _json_size(data: Any) -> int:
    """An upper bound of the payload's JSON size in bytes (ASCII-escaped JSON)."""
    try:
        return len(json.dumps(data, separators=(",", ":")))
    except (TypeError, ValueError):
        return 0
