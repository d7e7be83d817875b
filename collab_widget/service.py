"""The Socket.IO service: protocol v1 events on top of a room backend and the presence hub.

Handlers here are thin: they validate with :mod:`.protocol`, call the room backend
(:mod:`.backend`: membership, seq, deduplication, history, delivery) and :mod:`.presence`,
and build the acknowledgement. Sessions, the identity of who connects and the guard every
event passes first (rate and size limits; any refusal becomes an error acknowledgement, so
one client's bad input never reaches another client or the server) are
:class:`~.sessions.SocketService`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from . import protocol
from .backend import RoomBackend, now_ms
from .classroom import TEACHER, Classroom, Poll, T, TeacherPolicy
from .fanout import Frame, event_frame
from .history import Message
from .identity import IdentityResolver
from .presence import Delivery, PresenceHub
from .presence_frames import compact_body, presence_bodies
from .protocol import ProtocolError, SendRequest
from .rooms import Membership, Room, Session
from .sessions import Ack, EventHandler, FastHandler, SocketService
from .settings import ServiceSettings

#: The protocol version the join acknowledgement names (1.1: classroom mode).
PROTOCOL_VERSION = "1.2"
#: Seconds a join waits for its role to be stored before it goes on without (see
#: ``CollabService._store_arrival``).
ARRIVAL_WAIT = 0.25


def _arrived(
    classroom: Classroom, username: str, teacher: bool, policy: TeacherPolicy
) -> Classroom:
    """Record a joining user's role (see :meth:`Classroom.arrive`); the state as it is then."""
    classroom.arrive(username, teacher, policy)
    return classroom


class CollabService(SocketService):
    """Protocol v1's rooms: membership, chat and presence on top of a room backend.

    :param backend: rooms, history and delivery (:class:`~.local_backend.LocalBackend` in one
        process); the service hands it its Socket.IO server and closes it on :meth:`stop`.

    The other parameters are :class:`~.sessions.SocketService`'s.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        backend: RoomBackend,
        identify: IdentityResolver,
        log: logging.Logger,
        on_activity: Callable[[], None] | None = None,
        transports: list[str] | None = None,
    ) -> None:
        super().__init__(settings, identify, log, on_activity, transports)
        self.backend = backend
        # Set by any presence change: wakes the ticker when it sleeps (nothing to send).
        self._presence_changed = asyncio.Event()
        self.presence = PresenceHub(
            room_batches=settings.presence_room_batches,
            tick=1.0 / settings.presence_hz,
            on_change=self._presence_changed.set,
        )
        # Groups count only where this service knows them (a JupyterHub's class service).
        groups = settings.teacher_groups if self.knows_groups else []
        self.policy = TeacherPolicy(frozenset(settings.teachers), frozenset(groups))
        self._ticker: asyncio.Task[None] | None = None
        backend.set_server(self.sio, self.fanout)
        backend.on_presence = self._set_presence
        self.register()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the presence ticker (call with the event loop running)."""
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().create_task(self._presence_loop())

    async def stop(self, timeout: float = 2.0) -> None:
        """Stop the presence ticker, close every connection (:meth:`SocketService.stop`),
        then close the backend (and so the store)."""
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        await super().stop(timeout)
        await self.backend.close()

    def events(self) -> dict[str, EventHandler]:
        return {
            "join": self._join,
            "leave": self._leave,
            "send": self._send,
            "history": self._history,
            "presence": self._presence,
            "rooms": self._rooms,
            **self.classroom_events(),
        }

    def classroom_events(self) -> dict[str, EventHandler]:
        """Protocol 1.1's classroom mode."""
        return {
            "hand": self._hand,
            "role": self._role,
            "follow": self._follow,
            "snippet": self._snippet,
            "poll": self._poll,
            "poll_answer": self._poll_answer,
            "poll_close": self._poll_close,
            "classroom": self._classroom_settings,
        }

    #: Whether :meth:`groups_of` knows users' groups (``teacher_groups`` applies).
    knows_groups = False

    def groups_of(self, session: Session) -> frozenset[str]:
        """The groups of a session's user (a JupyterHub's; none on one server)."""
        del session
        return frozenset()

    async def _store_arrival(self, session: Session, room: str, expected: Classroom) -> Classroom:
        """Store the role a join gives (a room's first person, a configured teacher): the
        stored state, or, when storing takes longer than :data:`ARRIVAL_WAIT` (another
        process holds the store's write lock), the ``expected`` one: the join goes on, the
        write finishes in the background, and if the stored role differs (another first
        person was quicker) the room is told with a ``role`` event."""
        stored = self.connections.start_background_task(
            self._classroom_change, session, room, lambda c: c
        )
        try:
            return await asyncio.wait_for(asyncio.shield(stored), ARRIVAL_WAIT)
        except asyncio.TimeoutError:
            role = expected.role_of(session.user.username)
            self.connections.start_background_task(self._announce_role, stored, session, room, role)
        except ProtocolError as error:  # stored with the user's next join or classroom event
            self._not_stored(session, room, error)
        return expected

    async def _announce_role(
        self, stored: asyncio.Future[Classroom], session: Session, room: str, announced: str
    ) -> None:
        username = session.user.username
        try:
            role = (await stored).role_of(username)
        except ProtocolError as error:
            self._not_stored(session, room, error)
            return
        if role != announced:
            members = {m["username"]: m for m in await self.backend.members(room)}
            if username in members:
                member = {**members[username], "role": role}
                event = {"room": room, "user": member, "by": username, "ts": now_ms()}
                self.backend.broadcast(room, event_frame("role", event))

    def _not_stored(self, session: Session, room: str, error: ProtocolError) -> None:
        self.log.warning(
            "collab: the role of %s in %r is not stored yet: %s",
            session.user.username,
            room,
            error.message,
        )

    async def _classroom_change(
        self, session: Session, room: str, change: Callable[[Classroom], T]
    ) -> T:
        """Change a room's classroom state on behalf of ``session``'s user, whose role is
        brought up to date with the configuration first (a teacher removed from
        ``teachers`` or from a teacher group acts as a student from then on)."""
        username = session.user.username
        teacher = self.policy.is_teacher(username, self.groups_of(session))

        def as_user(classroom: Classroom) -> T:
            classroom.arrive(username, teacher, self.policy)
            return change(classroom)

        return await self.backend.update_classroom(room, as_user)

    async def session_closed(self, session: Session) -> None:
        for membership in await self.backend.leave_all(session):
            await self._left(session, membership)

    # -- rooms -------------------------------------------------------------------------------
    async def _join(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_join(data)
        page = self.settings.limits.history_page_size
        joined = await self.backend.join(session, request.room, request.since, page)
        room, membership = joined.room, joined.membership
        username = session.user.username
        try:
            classroom = await self.backend.classroom(room.name)
        except Exception:
            if membership is not None:  # a refused join changes nothing
                await self._left(session, await self.backend.leave(session, room.name))
            raise
        teacher = self.policy.is_teacher(username, self.groups_of(session))
        if classroom.arrive(username, teacher, self.policy):
            classroom = await self._store_arrival(session, room.name, classroom)
        presence = self.presence.room(room.name)
        if membership is not None:
            presence.add_recipient(session.public_id, request.compact)
        you = {
            **session.user.public(joined.color),
            "session": session.public_id,
            "n": presence.number(session.public_id),
        }
        ack: Ack = {
            "ok": True,
            "room": room.name,
            "protocol": PROTOCOL_VERSION,
            "you": you,
            "members": classroom.with_roles(joined.members),
            "history": joined.history,
            "has_more": joined.has_more,
            "last_seq": joined.last_seq,
            "presence": presence.snapshot(exclude=session.public_id),
            "classroom": classroom.view(username, self.policy),
        }
        if membership is not None and membership.changed:
            member = {**membership.member.public(), "role": classroom.role_of(username)}
            self.backend.broadcast(
                room.name,
                event_frame("joined", {"room": room.name, "user": member, "ts": now_ms()}),
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
        self.backend.presence_changed(membership.room.name, session, None)
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
        return await self._post(session, self._room_to_post(session, request), request)

    def _room_to_post(self, session: Session, request: SendRequest) -> Room:
        """The room of a message (joined), within the sender's message rate."""
        room = self.backend.joined(session, request.room)
        wait = session.send_bucket.take(time.monotonic())
        if wait:
            raise ProtocolError(
                "rate_limited",
                f"at most {self.settings.message_rate:g} messages per second",
                retry_after=round(wait, 3),
            )
        return room

    async def _post(
        self,
        session: Session,
        room: Room,
        request: SendRequest,
        before_delivery: Callable[[Message], Awaitable[None]] | None = None,
    ) -> Ack:
        """Store a message (chat, snippet or poll) and deliver it; the ``send`` ack.

        :param before_delivery: awaited with the stored message before the room gets it (a
            poll is kept in the classroom state first, so an answer never finds it unknown).
        """
        message, duplicate = await self.backend.post(session, room, request)
        if duplicate:
            return {"ok": True, "message": message, "duplicate": True}
        if before_delivery is not None:
            await before_delivery(message)
        self.stats.messages_in += 1
        self.stats.messages_out += self.backend.deliver_message(room.name, message)
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

    # -- classroom mode (protocol 1.1) ---------------------------------------------------------
    async def _hand(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_hand(data)
        self.backend.joined(session, request.room)
        me = session.user.username
        target = request.user or me
        ts = now_ms()
        if request.raised and target != me:
            raise ProtocolError("forbidden", "a hand is raised by its owner only")

        def change(c: Classroom) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
            if request.raised:
                hand = None if target in c.hands else c.raise_hand(session.user, ts)
            else:
                hand = c.lower_hand(me, target)
            return hand, c.hand_list()

        hand, hands = await self._classroom_change(session, request.room, change)
        if hand is not None:  # something changed
            event = {"room": request.room, "hand": hand, "raised": request.raised, "by": me}
            self.backend.broadcast(request.room, event_frame("hand", {**event, "ts": ts}))
        return {"ok": True, "hands": hands}

    async def _role(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_role(data)
        self.backend.joined(session, request.room)
        members = {m["username"]: m for m in await self.backend.members(request.room)}
        if request.user not in members:
            raise ProtocolError("unknown_user", f"{request.user!r} is not in this room")
        me = session.user.username

        def change(c: Classroom) -> tuple[str, list[Poll]]:
            c.set_role(me, request.user, request.role, self.policy)
            return c.role_of(request.user), [p for p in c.polls.values() if not p.closed]

        role, polls = await self._classroom_change(session, request.room, change)
        member = {**members[request.user], "role": role}
        event = {"room": request.room, "user": member, "by": me, "ts": now_ms()}
        self.backend.broadcast(request.room, event_frame("role", event))
        if role == TEACHER:  # a new teacher sees the open polls' tallies at once
            for poll in polls:
                frame = event_frame("poll", {"room": request.room, "poll": poll.view(None, True)})
                self.backend.broadcast_roles(request.room, frozenset({request.user}), frame, None)
        return {"ok": True, "user": member}

    async def _follow(self, session: Session, data: Any) -> Ack:
        name, on = protocol.parse_toggle(data, "on")
        self.backend.joined(session, name)
        me, ts = session.user.username, now_ms()
        follow = await self._classroom_change(session, name, lambda c: c.ask_to_follow(me, on, ts))
        event = {"room": name, "follow": follow, "by": me, "ts": ts}
        self.backend.broadcast(name, event_frame("follow", event))
        return {"ok": True, "follow": follow}

    async def _classroom_settings(self, session: Session, data: Any) -> Ack:
        name, on = protocol.parse_toggle(data, "student_snippets")
        self.backend.joined(session, name)
        me = session.user.username
        await self._classroom_change(session, name, lambda c: c.set_student_snippets(me, on))
        event = {"room": name, "student_snippets": on, "by": me, "ts": now_ms()}
        self.backend.broadcast(name, event_frame("classroom", event))
        return {"ok": True}

    async def _snippet(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_snippet(data, self.settings.limits)
        self.backend.joined(session, request.room)
        me = session.user.username
        await self._classroom_change(session, request.room, lambda c: c.check_snippet(me))
        return await self._post(session, self._room_to_post(session, request), request)

    async def _poll(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_poll(data)
        self.backend.joined(session, request.room)
        me = session.user.username
        await self._classroom_change(session, request.room, lambda c: c.check_poll(me))
        room = self._room_to_post(session, request)

        kept: list[tuple[Poll | None, bool]] = []

        async def keep(message: Message) -> None:
            kept.append(await self._keep_poll(room.name, message, me))

        ack = await self._post(session, room, request, keep)
        # A resend (a duplicate, not delivered again) finds its poll kept, or keeps it now.
        poll, teacher = kept[0] if kept else await self._keep_poll(room.name, ack["message"], me)
        if poll is None:
            raise ProtocolError("poll_closed", "this poll is closed")
        return {**ack, "poll": poll.view(me, teacher)}

    async def _keep_poll(
        self, room: str, message: Message, username: str = ""
    ) -> tuple[Poll | None, bool]:
        """Keep the poll a stored message asks in the room's classroom state (it may be
        there already); the poll, and whether ``username`` is a teacher."""
        poll = Poll.from_message(message)
        return await self.backend.update_classroom(
            room, lambda c: (c.add_poll(poll), c.is_teacher(username))
        )

    async def _poll_change(
        self, session: Session, room: str, poll_id: int, change: Callable[[Classroom], T]
    ) -> T:
        """A change of a poll. A poll whose message is stored but not (yet) kept, e.g. one
        delivered by another process of a shared backend before its sender kept it, is kept
        from its message first."""
        try:
            return await self._classroom_change(session, room, change)
        except ProtocolError as error:
            if error.code != "unknown_poll":
                raise
            stored, _ = await self.backend.history_after(room, poll_id - 1, 1)
            if not stored or stored[0]["seq"] != poll_id or stored[0].get("kind") != "poll":
                raise
            await self._keep_poll(room, stored[0])
            return await self._classroom_change(session, room, change)

    async def _poll_answer(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_poll_answer(data)
        self.backend.joined(session, request.room)
        me = session.user.username

        def change(c: Classroom) -> tuple[Poll, frozenset[str]]:
            return c.answer(me, request.poll_id, request.option), c.teachers()

        poll, teachers = await self._poll_change(session, request.room, request.poll_id, change)
        teacher_view = event_frame("poll", {"room": request.room, "poll": poll.view(None, True)})
        self.backend.broadcast_roles(request.room, teachers, teacher_view, None)
        return {"ok": True, "poll": poll.view(me, me in teachers)}

    async def _poll_close(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_poll_close(data)
        self.backend.joined(session, request.room)
        me = session.user.username

        def change(c: Classroom) -> tuple[Poll, frozenset[str], bool]:
            was_closed = c.poll(request.poll_id).closed
            return c.close_poll(me, request.poll_id), c.teachers(), was_closed

        poll, teachers, was_closed = await self._poll_change(
            session, request.room, request.poll_id, change
        )
        if not was_closed:
            self.backend.broadcast_roles(
                request.room,
                teachers,
                event_frame("poll", {"room": request.room, "poll": poll.view(None, True)}),
                event_frame("poll", {"room": request.room, "poll": poll.view(None, False)}),
            )
        return {"ok": True, "poll": poll.view(me, True)}

    # -- presence ----------------------------------------------------------------------------
    def fast_events(self) -> dict[str, FastHandler]:
        # Presence is most of the traffic in a big room (300 members x 20 Hz).
        return {"presence": self._presence_now}

    async def _presence(self, session: Session, data: Any) -> Ack:
        return self._presence_now(session, data)

    def _presence_now(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_presence(data)
        self.backend.joined(session, request.room)
        wait = session.presence_bucket.take(time.monotonic())
        if wait:
            raise ProtocolError(
                "rate_limited", "too many presence updates", retry_after=round(wait, 3)
            )
        self._set_presence(request.room, session.public_id, session.user.username, request.state)
        self.backend.presence_changed(request.room, session, request.state)
        return {"ok": True}

    def _set_presence(
        self, room: str, public_id: str, username: str, state: dict[str, Any] | None
    ) -> None:
        """A session's presence in a room (None: cleared); also what another process of a
        shared backend reports (``backend.on_presence``)."""
        entries = self.presence.room(room)
        if state is None:
            entries.remove(public_id)
        else:
            entries.update(public_id, username, state, time.monotonic(), now_ms())

    async def _presence_loop(self) -> None:
        """Tick at most ``presence_hz`` times a second while presence has something to
        send; when every room is settled, sleep until a state changes (or the once-a-second
        check of slow connections and expired states is due): an idle server, or one busy
        with chat only, is not woken 30 times a second for nothing."""
        interval = 1.0 / self.settings.presence_hz
        changed = self._presence_changed
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
            if self.presence.settled:
                changed.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), next_check - time.monotonic())
            # Never sooner than one interval after the last tick: batches stay batches.
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def presence_tick(self, now: float) -> None:
        """Send every due presence batch (one per recipient and room)."""
        self.stats.presence_ticks += 1
        for room, delivery in self.presence.tick(now, self.settings.presence_ttl, self._can_send):
            self._deliver_presence(room, delivery)

    def _can_send(self, public_id: str) -> bool:
        """False while a session's connection still holds unsent output (a stalled client):
        it then gets the latest presence when it drains, not a backlog."""
        session = self.by_public_id.get(public_id)
        return session is not None and self.fanout.can_send(self.carrier(session))

    def _deliver_presence(self, room: str, delivery: Delivery) -> None:
        """Protocol 1.2 recipients share one frame. Older ones get the change list minus
        their own entry: one frame per distinct body (the recipients with nothing of their
        own share one, and come in one run)."""
        if delivery.compact:
            sids = [s.sid for r in delivery.recipients if (s := self.by_public_id.get(r))]
            frame = Frame(compact_body(room, delivery, now_ms()))
            self.stats.presence_batches += self.backend.send_to(sids, frame)
            return
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
            **super().stats_summary(),
            "rooms": len(self.backend.active()),
            "rooms_held": self.backend.held(),
            "messages_in": self.stats.messages_in,
            "messages_out": self.stats.messages_out + self.backend.delivered,
            "presence_batches": self.stats.presence_batches,
            "presence_ticks": self.stats.presence_ticks,
        }
