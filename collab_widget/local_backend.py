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

from .backend import Joined, RoomBackend, now_ms
from .fanout import Frame
from .history import BaseHistoryStore, Message
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
    :param clock: the messages' timestamps (:func:`now_ms`).
    """

    def __init__(
        self,
        store: BaseHistoryStore,
        history_limit: int,
        max_rooms_per_session: int,
        log: logging.Logger,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self.store = store
        self.history_limit = history_limit
        self.log = log
        self.clock = clock
        self.registry = RoomRegistry(max_rooms_per_session, history_limit)
        self._loading: dict[str, asyncio.Future[Room | None]] = {}
        self._inflight: dict[tuple[str, str, str], asyncio.Future[Message | None]] = {}

    # -- membership --------------------------------------------------------------------------
    async def join(self, session: Session, name: str) -> Joined:
        room = await self._room(name)
        membership = self.registry.join(session, room.name)
        if membership is not None:
            await self.sio.enter_room(session.sid, room_key(room.name))
        return Joined(room, membership)

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
        await self.sio.leave_room(session.sid, room_key(name))
        return membership

    async def leave_all(self, session: Session) -> list[Membership]:
        # python-socketio has already taken the disconnected sid out of its rooms.
        return self.registry.leave_all(session)

    def joined(self, session: Session, name: str) -> Room:
        return self.registry.joined(session, name)

    def active(self) -> list[Room]:
        return self.registry.active()

    # -- messages ----------------------------------------------------------------------------
    async def post(
        self, session: Session, room: Room, request: SendRequest
    ) -> tuple[Message, bool]:
        username = session.user.username
        key = (room.name, username, request.client_id)
        duplicate = await self._stored_duplicate(room, key)
        if duplicate is not None:
            return duplicate, True
        future: asyncio.Future[Message | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            member = room.members[username]
            message: Message = {
                "room": room.name,
                "seq": room.next_seq(),
                "client_id": request.client_id,
                "user": member.user.public(member.color),
                "text": request.text,
                "ts": self.clock(),
            }
            try:
                await self.store.append(message)
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
        return message, False

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
            return None
        return await self.store.get(room.name, seq)  # None: pruned by retention, treat as new

    async def history_before(
        self, room: str, before: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        try:
            return await self.store.before(room, before, limit)
        except Exception as error:
            raise self._unreadable(room) from error

    async def history_after(self, room: str, since: int) -> list[Message]:
        try:
            return await self.store.after(room, since, self.history_limit)
        except Exception as error:
            raise self._unreadable(room) from error

    def _unreadable(self, room: str) -> ProtocolError:
        self.log.exception("collab: reading history of %r failed", room)
        return ProtocolError("unavailable", "the history store is unavailable")

    # -- delivery ----------------------------------------------------------------------------
    def broadcast(self, room: str, frame: Frame, skip_sid: str | None = None) -> int:
        return self.fanout.send(frame, self.fanout.room(room_key(room), skip_sid))

    def send_to(self, sids: Iterable[str], frame: Frame) -> int:
        eio_sid_from_sid = self.sio.manager.eio_sid_from_sid
        eio_sids = []
        for sid in sids:
            eio_sid = eio_sid_from_sid(sid, "/")
            if eio_sid is not None:
                eio_sids.append(eio_sid)
        return self.fanout.send(frame, eio_sids)

    # -- lifecycle ---------------------------------------------------------------------------
    async def close(self) -> None:
        await self.store.close()
