"""Rooms shared by several service processes through Redis.

:class:`RedisBackend` is the class service's :class:`~.routes.RelayedBackend` (delivery to
this process's relays) with the room state in Redis instead of this process's memory and
SQLite file. Each change is one atomic Lua script (:mod:`.redis_scripts`):

- ``send``: ``seq`` from the room's counter, deduplication by ``client_id``, the message
  appended to the room's history stream, all at once; the acknowledgement comes after.
- Delivery of messages: every process reads the history streams of the rooms it has members
  in (``XREAD`` from the last ``seq`` it delivered), so each of its sessions gets every
  message once, in ``seq`` order, whichever process stored it, also after a Redis outage
  (a stream keeps what a pub/sub channel would have dropped).
- Membership by user with session counts per process; a user's first session anywhere is a
  ``joined``, their last a ``left``. Each process refreshes a heartbeat key; when one stops
  (killed), another takes its sessions out of their rooms within ``proc_ttl`` seconds.
- Presence is coalesced per process and tick and shared through a short stream per room;
  other processes merge it into their own presence hub. It keeps working within a process
  while Redis is away.

Redis needs persistence (``appendonly yes``) for the history to survive a Redis restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, WatchError

from ..backend import Joined, T, now_ms
from ..classroom import Classroom, apply_change
from ..colors import palette_order
from ..fanout import Frame, dumps, event_frame
from ..history import Message
from ..identity import UserInfo
from ..protocol import ProtocolError, SendRequest
from ..rooms import Member, Membership, Room, Session
from . import redis_scripts
from .routes import RelayedBackend

#: How long a ``client_id`` is remembered (s): a resend after that is a new message.
DEDUPE_TTL = 24 * 3600


def _unavailable(what: str) -> ProtocolError:
    return ProtocolError("unavailable", f"the room store is unavailable ({what}); retry")


@dataclass(eq=False)
class SharedMember(Member):
    """A member as Redis counts them: their sessions in every process."""

    count: int = 0

    def public(self) -> dict[str, Any]:
        return {**self.user.public(self.color), "sessions": self.count}


@dataclass
class _Cursor:
    """Where this process is in a room's three streams."""

    msg: str
    ev: str
    pr: str


class _RoomSummary(Room):
    """A room of the whole service, for ``rooms``: counts only."""

    def __init__(self, name: str, count: int, last_seq: int) -> None:
        super().__init__(name, last_seq)
        self.count = count

    def summary(self) -> dict[str, Any]:
        return {"room": self.name, "members": self.count, "last_seq": self.last_seq}


class RedisBackend(RelayedBackend):
    """The class service's rooms in Redis, shared by every process given the same URL.

    :param url: Redis's URL (``redis://[:password@]host:port/db``); only the service
        processes know it.
    :param history_limit: messages kept per room (about: the stream is trimmed with ``~``).
    :param max_rooms_per_session: how many rooms one session may be in at once.
    :param log: where Redis failures and reaped processes are logged.
    :param prefix: the keys' prefix (several services may share one Redis).
    :param heartbeat: seconds between this process's heartbeats (and checks of the others).
    :param proc_ttl: seconds after its last heartbeat a process counts as gone.
    :param presence_interval: seconds between flushes of this process's presence changes.
    """

    def __init__(
        self,
        url: str,
        history_limit: int,
        max_rooms_per_session: int,
        log: logging.Logger,
        prefix: str = "collab:",
        heartbeat: float = 1.0,
        proc_ttl: float = 4.0,
        presence_interval: float = 0.05,
        empty_room_grace: float = 30.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        super().__init__(None, history_limit, max_rooms_per_session, log, empty_room_grace, clock)
        self.url = url
        self.prefix = prefix
        self.heartbeat = heartbeat
        self.proc_ttl = proc_ttl
        self.presence_interval = presence_interval
        self.proc = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        opts: dict[str, Any] = {"decode_responses": True, "health_check_interval": 5}
        self.redis = aioredis.Redis.from_url(url, **opts)
        # The blocking stream reads get their own connection.
        self.reader = aioredis.Redis.from_url(url, **opts)
        self._post = self.redis.register_script(redis_scripts.POST)
        self._join_script = self.redis.register_script(redis_scripts.JOIN)
        self._leave_script = self.redis.register_script(redis_scripts.LEAVE)
        self._reap = self.redis.register_script(redis_scripts.REAP)
        self._cursors: dict[str, _Cursor] = {}  # rooms with sessions here
        self._colors: dict[tuple[str, str], str] = {}  # (room, user) -> colour
        # (room, the event stream entry's fields): "b" a frame's body; for a frame by role
        # (broadcast_roles) "tb" to teachers, "sb" to the others, "t" the teachers (other
        # names than "b", which a process of an older version sends to everyone).
        self._events: asyncio.Queue[tuple[str, dict[str, str]]] = asyncio.Queue()
        self._presence: dict[str, dict[str, tuple[str, dict[str, Any] | None]]] = {}
        self._remote: dict[str, set[tuple[str, str, str]]] = {}  # proc -> (room, id, user)
        self._summaries: list[Room] = []
        self._pending_leaves: list[tuple[str, str]] = []  # (room, user) to retry
        self._registered = False
        self._tasks: list[asyncio.Task[None]] = []
        self._failing = False
        self._waiters: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}
        #: Seconds a ``send`` waits for its own delivery here before it is acknowledged.
        self.delivery_wait = 2.0
        self.delivered = 0

    def set_server(self, sio: Any, fanout: Any) -> None:
        super().set_server(sio, fanout)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._read_loop()),
            loop.create_task(self._publish_loop()),
            loop.create_task(self._heartbeat_loop()),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.redis.delete(self._key("p", self.proc))  # others reap us at once
            await self._reap(
                keys=[
                    self._key("procs"),
                    self._key("p", self.proc, "rooms"),
                    self._key("p", self.proc),
                ],
                args=[self.proc, self.prefix, now_ms()],
            )
        await self.redis.aclose()
        await self.reader.aclose()

    # -- keys --------------------------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def _room_keys(self, room: str) -> list[str]:
        """users, n, p:<this process>, p:<this process>:rooms, rooms (the scripts' KEYS)."""
        return [
            self._key("r", room, "users"),
            self._key("r", room, "n"),
            self._key("r", room, "p", self.proc),
            self._key("p", self.proc, "rooms"),
            self._key("rooms"),
        ]

    # -- rooms -------------------------------------------------------------------------------
    async def _room(self, name: str) -> Room:
        room = self.registry.get(name)
        if room is not None:
            return room
        try:
            last_seq = int(await self.redis.get(self._key("r", name, "seq")) or 0)
        except RedisError as error:
            raise _unavailable("loading the room") from error
        return self.registry.create(name, last_seq)

    async def enter(self, session: Session, key: str) -> None:
        name = key.removeprefix("room:")
        if name not in self._cursors:
            # Before the history is read: whatever is stored after it comes as an event.
            try:
                seq, ev, pr = await self._positions(name)
            except RedisError as error:
                raise _unavailable("joining") from error
            self._cursors[name] = _Cursor(f"{seq}-0", ev, pr)
        await super().enter(session, key)

    async def _positions(self, name: str) -> tuple[int, str, str]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(self._key("r", name, "seq"))
            pipe.xrevrange(self._key("r", name, "ev"), count=1)
            pipe.xrevrange(self._key("r", name, "pr"), count=1)
            seq, ev, pr = await pipe.execute()
        return int(seq or 0), ev[0][0] if ev else "0-0", pr[0][0] if pr else "0-0"

    async def exit(self, session: Session, key: str) -> None:
        await super().exit(session, key)
        if key not in self.routes:
            self._cursors.pop(key.removeprefix("room:"), None)

    async def join(self, session: Session, name: str, since: int | None, page: int) -> Joined:
        local = await super().join(session, name, since, page)
        user = session.user
        try:
            if local.membership is None:  # already in: the room as it is
                members, counts = await self._members(name)
                first = False
            else:
                first, members, counts = await self._join_user(name, user)
        except RedisError as error:
            if local.membership is not None:
                await super().leave(session, name)
            raise _unavailable("joining") from error
        color = members[user.username]["color"]
        self._colors[(name, user.username)] = color
        listed = [{**m, "sessions": counts.get(u, 0)} for u, m in members.items()]
        membership = None
        if local.membership is not None:
            member = SharedMember(user, color, count=counts.get(user.username, 0))
            membership = Membership(local.room, member, first)
        cursor = self._cursors.get(name)
        seqs = [local.room.last_seq, *(m["seq"] for m in local.history[-1:])]
        if cursor is not None:
            seqs.append(_seq_of(cursor.msg))
        last_seq = max(seqs)
        return Joined(
            local.room, membership, local.history, local.has_more, listed, color, last_seq
        )

    async def _join_user(
        self, name: str, user: UserInfo
    ) -> tuple[bool, dict[str, dict[str, Any]], dict[str, int]]:
        """Count one more session of ``user`` in the room; a first one anywhere makes them a
        member, with a colour no other member has. Returns (first, members, sessions)."""
        public = user.public(None)
        public.pop("color", None)
        colors = [user.color or "", *palette_order(user.username)]
        first, users, counts = await self._join_script(
            keys=self._room_keys(name), args=[name, user.username, dumps(public), *colors]
        )
        return bool(first), _decode_members(users), _decode_counts(counts)

    async def _members(self, name: str) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(self._key("r", name, "users"))
            pipe.hgetall(self._key("r", name, "n"))
            users, counts = await pipe.execute()
        return (
            {u: json.loads(m) for u, m in users.items()},
            {u: int(n) for u, n in counts.items()},
        )

    async def leave(self, session: Session, name: str) -> Membership:
        local = await super().leave(session, name)
        return await self._leave_user(name, session, local)

    async def leave_all(self, session: Session) -> list[Membership]:
        return [
            await self._leave_user(membership.room.name, session, membership)
            for membership in await super().leave_all(session)
        ]

    async def _leave_user(self, name: str, session: Session, local: Membership) -> Membership:
        username = session.user.username
        color = self._colors.get((name, username), local.member.color)
        try:
            last, _member, count = await self._leave_script(
                keys=self._room_keys(name), args=[name, username]
            )
        except RedisError:
            self.log.warning("collab: leaving %r in Redis failed; will retry", name)
            self._pending_leaves.append((name, username))
            return Membership(local.room, SharedMember(session.user, color), False)
        if last:
            self._colors.pop((name, username), None)
        member = SharedMember(session.user, color, count=int(count))
        return Membership(local.room, member, bool(last))

    async def members(self, name: str) -> list[dict[str, Any]]:
        try:
            users, counts = await self._members(name)
        except RedisError as error:
            raise _unavailable("reading the members") from error
        return [{**m, "sessions": counts.get(u, 0)} for u, m in users.items()]

    def active(self) -> list[Room]:
        return list(self._summaries)

    # -- messages ----------------------------------------------------------------------------
    async def post(
        self, session: Session, room: Room, request: SendRequest
    ) -> tuple[Message, bool]:
        username = session.user.username
        color = self._colors.get((room.name, username)) or room.members[username].color
        draft = {
            "room": room.name,
            "client_id": request.client_id,
            "user": session.user.public(color),
            "text": request.text,
            "ts": self.clock(),
            **request.extra,
        }
        dedupe = self._key("r", room.name, "c", username, request.client_id)
        keys = [self._key("r", room.name, "seq"), self._key("r", room.name, "msg"), dedupe]
        try:
            duplicate, text = await self._post(
                keys=keys, args=[dumps(draft), self.history_limit, DEDUPE_TTL]
            )
        except RedisError as error:
            self.log.warning("collab: a message in %r was not stored: %r", room.name, error)
            raise _unavailable("the message was not stored") from error
        message: Message = json.loads(text)
        room.last_seq = max(room.last_seq, message["seq"])
        if not duplicate:
            await self._delivered_here(room.name, message["seq"])
        return message, bool(duplicate)

    async def _delivered_here(self, room: str, seq: int) -> None:
        """Wait (briefly) until the stream reader has delivered ``seq`` to this process's
        sessions: the sender's acknowledgement then comes after the message, and after every
        earlier one, as on one server (a client that went by the acknowledgement alone
        could otherwise see ``seq`` 5 before 4, and re-join past 4)."""
        cursor = self._cursors.get(room)
        if cursor is None or _seq_of(cursor.msg) >= seq:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(room, []).append((seq, waiter))
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(waiter, self.delivery_wait)

    def deliver_message(self, room: str, message: Message) -> int:
        return 0  # the stream reader delivers it, in seq order, in every process

    async def history_before(
        self, room: str, before: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        top = f"({before}-0" if before is not None else "+"
        try:
            entries = await self.redis.xrevrange(
                self._key("r", room, "msg"), top, "-", count=limit + 1
            )
        except RedisError as error:
            raise _unavailable("reading the history") from error
        messages = [json.loads(fields["m"]) for _id, fields in reversed(entries[:limit])]
        return messages, len(entries) > limit

    async def history_after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        try:
            entries = await self.redis.xrange(
                self._key("r", room, "msg"), f"({since}-0", "+", count=limit + 1
            )
        except RedisError as error:
            raise _unavailable("reading the history") from error
        messages = [json.loads(fields["m"]) for _id, fields in entries[:limit]]
        return messages, len(entries) > limit

    # -- delivery ----------------------------------------------------------------------------
    def broadcast(self, room: str, frame: Frame, skip_sid: str | None = None) -> int:
        """``joined``/``left``: to this process's sessions now, to the others' through the
        room's event stream."""
        self._events.put_nowait((room, {"b": frame.body}))
        return super().broadcast(room, frame, skip_sid)

    def broadcast_roles(
        self,
        room: str,
        teachers: frozenset[str],
        to_teachers: Frame | None,
        to_students: Frame | None,
    ) -> int:
        """To this process's sessions now, to the others' through the event stream."""
        fields = {"t": dumps(sorted(teachers))}
        if to_teachers is not None:
            fields["tb"] = to_teachers.body
        if to_students is not None:
            fields["sb"] = to_students.body
        self._events.put_nowait((room, fields))
        return super().broadcast_roles(room, teachers, to_teachers, to_students)

    # -- classroom state ---------------------------------------------------------------------
    async def classroom(self, room: str) -> Classroom:
        try:
            doc = await self.redis.get(self._key("r", room, "class"))
        except RedisError as error:
            raise _unavailable("reading the classroom state") from error
        return Classroom.from_json(json.loads(doc) if doc else None)

    #: Optimistic rounds a classroom change may take before it gives up (``unavailable``).
    classroom_rounds = 50

    async def update_classroom(self, room: str, change: Callable[[Classroom], T]) -> T:
        """Optimistically: read, change, write if nobody else wrote meanwhile (``WATCH``),
        else again from the newer state (a whole class answering a poll at once: a few
        rounds, each after a short random pause)."""
        key = self._key("r", room, "class")
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                for _ in range(self.classroom_rounds):
                    try:
                        await pipe.watch(key)
                        doc = await pipe.get(key)
                        after, result = apply_change(json.loads(doc) if doc else None, change)
                        if after is None:
                            await pipe.reset()
                            return result
                        pipe.multi()
                        pipe.set(key, dumps(after))
                        await pipe.execute()
                        return result
                    except WatchError:
                        await asyncio.sleep(random.uniform(0, 0.005))
        except RedisError as error:
            raise _unavailable("storing the classroom state") from error
        raise _unavailable("changing the classroom state (too busy)")

    def presence_changed(self, room: str, session: Session, state: dict[str, Any] | None) -> None:
        self._presence.setdefault(room, {})[session.public_id] = (session.user.username, state)

    async def _publish_loop(self) -> None:
        """Write this process's events and coalesced presence to Redis, in order."""
        while True:
            await asyncio.sleep(self.presence_interval)
            events = []
            while not self._events.empty():
                events.append(self._events.get_nowait())
            presence, self._presence = self._presence, {}
            if not events and not presence:
                continue
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for room, fields in events:
                        pipe.xadd(
                            self._key("r", room, "ev"),
                            {**fields, "o": self.proc},
                            maxlen=1000,
                            approximate=True,
                        )
                    for room, changes in presence.items():
                        updates = [[pid, user, state] for pid, (user, state) in changes.items()]
                        pipe.xadd(
                            self._key("r", room, "pr"),
                            {"u": dumps(updates), "o": self.proc},
                            maxlen=200,
                            approximate=True,
                        )
                    await pipe.execute()
                self._recovered()
            except RedisError as error:
                # Presence keeps working here; other processes get the next change.
                self._failed("publishing", error)

    async def _read_loop(self) -> None:
        """Deliver what other processes (and this one's stores) added to the rooms with
        sessions here: messages in ``seq`` order, events and presence."""
        kinds: dict[str, tuple[str, str]] = {}
        while True:
            streams: dict[str, str] = {}
            for name, cursor in self._cursors.items():
                for kind in ("msg", "ev", "pr"):
                    key = self._key("r", name, kind)
                    kinds[key] = (name, kind)
                    streams[key] = getattr(cursor, kind)
            if not streams:
                await asyncio.sleep(0.05)
                continue
            try:
                result = await self.reader.xread(streams, count=500, block=100)
                self._recovered()
            except RedisError as error:
                self._failed("reading", error)
                await asyncio.sleep(0.5)
                continue
            for key, entries in result or []:
                name, kind = kinds[key]
                cursor = self._cursors.get(name)
                if cursor is None:
                    continue  # nobody here any more
                for entry_id, fields in entries:
                    setattr(cursor, kind, entry_id)
                    self._deliver_entry(name, kind, fields)

    def _deliver_entry(self, room: str, kind: str, fields: dict[str, str]) -> None:
        if kind == "msg":
            self.delivered += RelayedBackend.broadcast(
                self, room, Frame('["message",' + fields["m"] + "]")
            )
            waiters = self._waiters.get(room)
            if waiters:
                seq = _seq_of(self._cursors[room].msg)
                for entry in [w for w in waiters if w[0] <= seq]:
                    waiters.remove(entry)
                    if not entry[1].done():
                        entry[1].set_result(None)
        elif fields.get("o") == self.proc:
            return  # this process's own: delivered (or applied) already
        elif kind == "ev" and "t" in fields:
            teachers = frozenset(json.loads(fields["t"]))
            to_teachers = Frame(fields["tb"]) if "tb" in fields else None
            to_students = Frame(fields["sb"]) if "sb" in fields else None
            RelayedBackend.broadcast_roles(self, room, teachers, to_teachers, to_students)
        elif kind == "ev":
            RelayedBackend.broadcast(self, room, Frame(fields["b"]))
        elif self.on_presence is not None:
            origin = fields.get("o", "")
            for public_id, user, state in json.loads(fields["u"]):
                self.on_presence(room, public_id, user, state)
                entry = (room, public_id, user)
                if state is None:
                    self._remote.get(origin, set()).discard(entry)
                else:
                    self._remote.setdefault(origin, set()).add(entry)

    # -- processes ---------------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        """Say this process lives; take gone ones out of their rooms; refresh ``rooms``."""
        while True:
            try:
                await self._beat()
                self._recovered()
            except RedisError as error:
                self._failed("heartbeat", error)
            await asyncio.sleep(self.heartbeat)

    async def _beat(self) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.set(self._key("p", self.proc), "1", px=int(self.proc_ttl * 1000))
            pipe.sadd(self._key("procs"), self.proc)
            pipe.smembers(self._key("procs"))
            _set, added, procs = await pipe.execute()
        if added and self._registered:
            # Another process took this one for dead (Redis was away longer than proc_ttl):
            # count this process's sessions again.
            self.log.warning("collab: this process was reaped; joining its sessions again")
            await self._register_again()
        self._registered = True
        for name, user in self._pending_leaves[:]:
            await self._leave_script(keys=self._room_keys(name), args=[name, user])
            self._pending_leaves.remove((name, user))
        for proc in procs | set(self._remote):
            if proc == self.proc or await self.redis.exists(self._key("p", proc)):
                continue
            reaped = await self._reap(
                keys=[self._key("procs"), self._key("p", proc, "rooms"), self._key("p", proc)],
                args=[proc, self.prefix, now_ms()],
            )
            if reaped:
                self.log.warning("collab: process %s stopped; its sessions left their rooms", proc)
            for room, public_id, user in self._remote.pop(proc, set()):
                if self.on_presence is not None:
                    self.on_presence(room, public_id, user, None)
        await self._refresh_summaries()

    async def _register_again(self) -> None:
        for room in list(self.registry.rooms.values()):
            for member in list(room.members.values()):
                for _sid in list(member.sessions):
                    first, members, counts = await self._join_user(room.name, member.user)
                    if first:  # the others were told this user left: back
                        user = member.user.username
                        public = {**members[user], "sessions": counts.get(user, 0)}
                        body = {"room": room.name, "user": public, "ts": now_ms()}
                        self.broadcast(room.name, event_frame("joined", body))

    async def _refresh_summaries(self) -> None:
        names = sorted(await self.redis.smembers(self._key("rooms")))
        if not names:
            self._summaries = []
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.hlen(self._key("r", name, "users"))
                pipe.get(self._key("r", name, "seq"))
            values = await pipe.execute()
        self._summaries = [
            _RoomSummary(name, int(values[2 * i]), int(values[2 * i + 1] or 0))
            for i, name in enumerate(names)
        ]

    def _failed(self, what: str, error: Exception) -> None:
        if not self._failing:
            self._failing = True
            self.log.warning("collab: Redis is unavailable (%s): %r", what, error)

    def _recovered(self) -> None:
        if self._failing:
            self._failing = False
            self.log.warning("collab: Redis is back")


def _decode_members(flat: list[str]) -> dict[str, dict[str, Any]]:
    return {flat[i]: json.loads(flat[i + 1]) for i in range(0, len(flat), 2)}


def _decode_counts(flat: list[str]) -> dict[str, int]:
    return {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}


def _seq_of(stream_id: str) -> int:
    """The ``seq`` of a history entry id (``<seq>-0``)."""
    return int(stream_id.partition("-")[0])
