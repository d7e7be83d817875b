"""The in-process room backend: rooms of this server in memory, their history in a store,
frames written to this process's connections.

:class:`LocalBackend` implements :class:`~collab_widget.backend.RoomBackend` with a
:class:`~collab_widget.rooms.RoomRegistry` (membership, seq, recent ``client_id``\\ s), a
:class:`~collab_widget.history.BaseHistoryStore`, Socket.IO rooms for who receives a room's
frames, and :class:`~collab_widget.fanout.Fanout` to write them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from .backend import Joined, RoomBackend, T, now_ms
from .classroom import Classroom, apply_change
from .fanout import Frame
from .history import BaseHistoryStore, Message, StoreBusy
from .protocol import ProtocolError, SendRequest
from .rooms import Membership, Room, RoomRegistry, Session


def room_key(name: str) -> str:
    """The Socket.IO room of a chat room (prefixed so it never meets a sid room)."""
    return f"room:{name}"


class LocalBackend(RoomBackend):
    """Rooms of this process: a :class:`RoomRegistry`, a history store, Socket.IO rooms.

    :param store: the history; opened by the caller, closed by :meth:`close`.
    :param history_limit: messages kept per room; also how many recent ``client_id``\\ s a
        room remembers, and the most a re-join with ``since`` returns.
    :param max_rooms_per_session: how many rooms one connection may be in at once.
    :param log: where store failures are logged.
    :param empty_room_grace: seconds an empty room is kept in memory before it is freed.
    :param clock: the messages' timestamps (:func:`now_ms`).
    """

    def __init__(
        self,
        store: BaseHistoryStore,
        history_limit: int,
        max_rooms_per_session: int,
        log: logging.Logger,
        empty_room_grace: float = 30.0,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.history_limit = history_limit
        self.log = log
        self.clock = clock
        self.registry = RoomRegistry(max_rooms_per_session, history_limit, empty_room_grace)
        self._loading: dict[str, asyncio.Future[Room | None]] = {}
        self._inflight: dict[tuple[str, str, str], asyncio.Future[Message | None]] = {}

    # -- membership --------------------------------------------------------------------------
    async def join(self, session: Session, name: str, since: int | None, page: int) -> Joined:
        self.registry.check_capacity(session, name)
        self.registry.hold(name)
        try:
            room = await self._room(name)
            if name in session.rooms:
                return self._joined(session, room, None, *await self._page(name, since, page))
            key = room_key(name)
            # Receive the room's frames from before the read: a message stored meanwhile
            # arrives as an event (the client keys messages by seq), none falls between.
            await self.enter(session, key)
            try:
                history, has_more = await self._page(name, since, page)
                if not session.connected:
                    raise ProtocolError("not_connected", "this session is not connected")
            except BaseException:
                await self.exit(session, key)
                raise
            membership = self.registry.join(session, name)
            return self._joined(session, room, membership, history, has_more)
        finally:
            self.registry.release(name)

    @staticmethod
    def _joined(
        session: Session,
        room: Room,
        membership: Membership | None,
        history: list[Message],
        has_more: bool,
    ) -> Joined:
        color = room.members[session.user.username].color
        return Joined(room, membership, history, has_more, room.member_list(), color, room.last_seq)

    async def _page(self, name: str, since: int | None, page: int) -> tuple[list[Message], bool]:
        if since is None:
            return await self.history_before(name, None, page)
        return await self.history_after(name, since, page)

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
            last_seq, recent = await self.store.load_room(name, self.history_limit)
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

    async def leave(self, session: Session, name: str) -> Membership:
        membership = self.registry.leave(session, name)
        await self.exit(session, room_key(name))
        self.registry.sweep()
        return membership

    async def leave_all(self, session: Session) -> list[Membership]:
        # python-socketio has already taken the disconnected sid out of its rooms.
        return self.registry.leave_all(session)

    def joined(self, session: Session, name: str) -> Room:
        return self.registry.joined(session, name)

    async def members(self, name: str) -> list[dict[str, Any]]:
        room = self.registry.get(name)
        return room.member_list() if room is not None else []

    def active(self) -> list[Room]:
        return self.registry.active()

    def held(self) -> int:
        self.registry.sweep()
        return len(self.registry.rooms)

    # -- messages ----------------------------------------------------------------------------
    async def post(
        self, session: Session, room: Room, request: SendRequest
    ) -> tuple[Message, bool]:
        username = session.user.username
        key = (room.name, username, request.client_id)
        earlier = await self._stored_duplicate(room, key)
        if earlier is not None:
            return earlier, True
        future: asyncio.Future[Message | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            member = room.members[username]
            draft: Message = {
                "room": room.name,
                "client_id": request.client_id,
                "user": member.user.public(member.color),
                "text": request.text,
                "ts": self.clock(),
                **request.extra,
            }
            # The store numbers it inside its write transaction (other processes may share
            # the store) and recognises a resend it holds that this room has not seen.
            try:
                message, duplicate = await self.store.append(draft)
            except StoreBusy as error:
                self.log.warning("collab: a message in %r was not stored: %s", room.name, error)
                raise ProtocolError(
                    "unavailable", "the history store is busy; the message was not stored; retry"
                ) from error
            except Exception as error:
                self.log.exception("collab: storing a message in %r failed", room.name)
                raise ProtocolError(
                    "unavailable", "the message could not be stored; retry"
                ) from error
            room.remember(username, request.client_id, message["seq"])
            future.set_result(message)
        finally:
            if not future.done():
                future.set_result(None)
            self._inflight.pop(key, None)
        return message, duplicate

    async def _stored_duplicate(self, room: Room, key: tuple[str, str, str]) -> Message | None:
        """The already stored (or being stored) message with the same client_id, if any."""
        inflight = self._inflight.get(key)
        if inflight is not None:
            message = await asyncio.shield(inflight)
            if message is None:
                raise ProtocolError("unavailable", "the message could not be stored; retry")
            return message
        seq = room.stored_seq(key[1], key[2])
        if seq is None:
            return None  # the store still recognises one it holds (another process's)
        try:
            # None: pruned by retention, treat as new.
            return await self.store.get(room.name, seq)
        except Exception as error:
            raise self._unreadable(room.name) from error

    async def history_before(
        self, room: str, before: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        try:
            messages, has_more = await self.store.before(room, before, limit)
        except Exception as error:
            raise self._unreadable(room) from error
        self._seen(room, messages)
        return messages, has_more

    async def history_after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        try:
            messages = await self.store.after(room, since, limit + 1)
        except Exception as error:
            raise self._unreadable(room) from error
        self._seen(room, messages)
        return messages[:limit], len(messages) > limit

    def _seen(self, name: str, messages: list[Message]) -> None:
        """Keep a loaded room's cached ``last_seq`` up with what the store returned (another
        process sharing the store may have numbered messages since the room was loaded).

        :param name: the room name.
        :param messages: messages just read from the store, oldest first.
        """
        room = self.registry.get(name)
        if room is not None and messages:
            room.last_seq = max(room.last_seq, messages[-1]["seq"])

    def _unreadable(self, room: str) -> ProtocolError:
        self.log.exception("collab: reading history of %r failed", room)
        return ProtocolError("unavailable", "the history store is unavailable")

    # -- classroom state ---------------------------------------------------------------------
    # Kept in the store, not cached: the store changes it atomically (several processes may
    # share it); reads go to its reader, which never waits for writes.

    async def classroom(self, room: str) -> Classroom:
        return Classroom.from_json(await self._classroom_doc(room))

    async def _classroom_doc(self, room: str) -> dict[str, Any] | None:
        try:
            return await self.store.load_classroom(room)
        except Exception as error:
            self.log.exception("collab: reading the classroom state of %r failed", room)
            raise ProtocolError("unavailable", "the history store is unavailable") from error

    async def update_classroom(self, room: str, change: Callable[[Classroom], T]) -> T:
        # A read first: a change that changes nothing (a check) never waits for the write lock.
        after, result = apply_change(await self._classroom_doc(room), change)
        if after is None:
            return result
        try:
            return await self.store.update_classroom(room, lambda doc: apply_change(doc, change))
        except ProtocolError:
            raise
        except StoreBusy as error:
            self.log.warning("collab: a classroom change in %r was not stored: %s", room, error)
            raise ProtocolError("unavailable", "the history store is busy; retry") from error
        except Exception as error:
            self.log.exception("collab: storing the classroom state of %r failed", room)
            raise ProtocolError("unavailable", "the change could not be stored") from error

    # -- delivery ----------------------------------------------------------------------------
    async def enter(self, session: Session, key: str) -> None:
        """Have ``session`` receive the frames of the room ``key`` (:func:`room_key`)."""
        await self.sio.enter_room(session.sid, key)

    async def exit(self, session: Session, key: str) -> None:
        """Stop sending ``session`` the frames of the room ``key``."""
        await self.sio.leave_room(session.sid, key)

    def broadcast(self, room: str, frame: Frame, skip_sid: str | None = None) -> int:
        return self.fanout.send(frame, self.fanout.room(room_key(room), skip_sid))

    def send_to(self, sids: Iterable[str], frame: Frame) -> int:
        return self.fanout.send_to_sids(frame, sids)

    def broadcast_roles(
        self,
        room: str,
        teachers: frozenset[str],
        to_teachers: Frame | None,
        to_students: Frame | None,
    ) -> int:
        loaded = self.registry.get(room)
        if loaded is None:
            return 0
        sids: dict[bool, list[str]] = {True: [], False: []}
        for username, member in loaded.members.items():
            sids[username in teachers].extend(member.sessions)
        sent = 0
        for frame, targets in ((to_teachers, sids[True]), (to_students, sids[False])):
            if frame is not None and targets:
                sent += self.send_to(targets, frame)
        return sent

    # -- lifecycle ---------------------------------------------------------------------------
    async def close(self) -> None:
        await self.store.close()
