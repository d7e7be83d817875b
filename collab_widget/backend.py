"""The room backend's interface: membership, sequence numbers, deduplication, history and
delivery to a room's sessions, behind one abstract class.

The service's event handlers validate, then call a :class:`RoomBackend` (and the presence
hub) and build the acknowledgement; they never touch the room registry, the history store or
Socket.IO rooms themselves. :class:`~collab_widget.local_backend.LocalBackend` is the
in-process one. Another (rooms relayed by a JupyterHub service, or shared by several
processes through Redis, as python-socketio's ``AsyncRedisManager`` shares Socket.IO rooms)
implements the same methods and is handed to :class:`~collab_widget.service.CollabService`
instead.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import socketio

from .classroom import Classroom
from .fanout import Fanout, Frame, event_frame
from .history import Message
from .protocol import SendRequest
from .rooms import Membership, Room, Session

T = TypeVar("T")


def now_ms() -> int:
    """The protocol's timestamps: Unix time in milliseconds."""
    return int(time.time() * 1000)


@dataclass(frozen=True)
class Joined:
    """What a join did.

    :param room: the room (loaded, with its members and ``last_seq``).
    :param membership: the change, or None when the session already was in the room.
    :param history: one page of messages, oldest first: the newest ones (no ``since``) or the
        oldest ones after ``since``.
    :param has_more: there are older messages (no ``since``) or newer ones past this page
        (with ``since``: page on with ``history {after}``).
    :param members: the room's members (``Member.public()``), the joining user among them.
    :param color: the joining user's colour in the room.
    :param last_seq: the room's highest ``seq`` when it was joined.
    """

    room: Room
    membership: Membership | None
    history: list[Message]
    has_more: bool
    members: list[dict[str, Any]]
    color: str
    last_seq: int


class RoomBackend(ABC):
    """Rooms, their members and messages, and delivery of frames to their sessions.

    Errors a client should see are raised as :class:`~collab_widget.protocol.ProtocolError`
    (``not_joined``, ``too_many_rooms``, ``unavailable``).
    """

    sio: socketio.AsyncServer
    fanout: Fanout

    def set_server(self, sio: socketio.AsyncServer, fanout: Fanout) -> None:
        """Called once by the service that owns the backend, before any other method.

        :param sio: the service's Socket.IO server (for its rooms).
        :param fanout: writes frames to this process's connections.
        """
        self.sio = sio
        self.fanout = fanout

    # -- membership --------------------------------------------------------------------------
    @abstractmethod
    async def join(self, session: Session, name: str, since: int | None, page: int) -> Joined:
        """Put a session in a room, with one page of its history.

        A refused join changes nothing: the room is loaded (once even when joins race) and
        the history read before the session becomes a member; it receives the room's frames
        from before the history read, so no message falls between the two. A second join of
        the same session only reads the history.

        :param session: the joining connection.
        :param name: the room name (already validated).
        :param since: the highest ``seq`` the client has (a re-join), or None.
        :param page: at most this many messages.
        :raises ProtocolError: ``too_many_rooms``; ``unavailable`` when the room or its
            history could not be read; ``not_connected`` when the session went away meanwhile.
        """

    @abstractmethod
    async def leave(self, session: Session, name: str) -> Membership:
        """Take a session out of a room; it receives no more of the room's frames.

        :param session: the leaving connection.
        :param name: the room name.
        :raises ProtocolError: ``not_joined``.
        """

    @abstractmethod
    async def leave_all(self, session: Session) -> list[Membership]:
        """Take a disconnected session out of every room it was in.

        :param session: the connection that is gone.
        """

    @abstractmethod
    def joined(self, session: Session, name: str) -> Room:
        """The room, when the session is in it.

        :param session: the asking connection.
        :param name: the room name.
        :raises ProtocolError: ``not_joined``.
        """

    @abstractmethod
    async def members(self, name: str) -> list[dict[str, Any]]:
        """A room's members (``Member.public()``), every process's (empty: no such room).

        :raises ProtocolError: ``unavailable``.
        """

    @abstractmethod
    def active(self) -> list[Room]:
        """The rooms with at least one member."""

    @abstractmethod
    def held(self) -> int:
        """How many rooms this backend holds in memory (members or not), for ``stats``."""

    # -- messages ----------------------------------------------------------------------------
    @abstractmethod
    async def post(
        self, session: Session, room: Room, request: SendRequest
    ) -> tuple[Message, bool]:
        """Number, store and remember a chat message (rate limits are the caller's).

        A message whose ``(username, client_id)`` is already stored, or being stored, is not
        stored again: a concurrent duplicate waits for the first.

        :param session: the sender (a member of ``room``).
        :param room: the room, from :meth:`joined`.
        :param request: the validated ``send`` payload.
        :returns: the stored message and whether it was stored before (a duplicate); it is
            stored durably when this returns, and not yet broadcast.
        :raises ProtocolError: ``unavailable`` when it could not be stored.
        """

    @abstractmethod
    async def history_before(
        self, room: str, before: int | None, limit: int
    ) -> tuple[list[Message], bool]:
        """A page of a room's history, going back in time.

        :param room: the room name.
        :param before: only messages with a smaller ``seq``; None for the newest ones.
        :param limit: at most this many, the newest of them.
        :returns: the messages, oldest first, and whether older ones exist.
        :raises ProtocolError: ``unavailable``.
        """

    @abstractmethod
    async def history_after(self, room: str, since: int, limit: int) -> tuple[list[Message], bool]:
        """A page of a room's history, going forward in time (catching up after a re-join).

        :param room: the room name.
        :param since: only messages with a greater ``seq``.
        :param limit: at most this many, the oldest of them.
        :returns: the messages, oldest first, and whether newer ones exist past them.
        :raises ProtocolError: ``unavailable``.
        """

    # -- classroom state (protocol 1.1) ------------------------------------------------------
    @abstractmethod
    async def classroom(self, room: str) -> Classroom:
        """A room's classroom state as stored (a copy: changing it changes nothing).

        :raises ProtocolError: ``unavailable`` when it could not be read.
        """

    @abstractmethod
    async def update_classroom(self, room: str, change: Callable[[Classroom], T]) -> T:
        """Apply ``change`` to a copy of a room's classroom state and store the copy, one
        change of a room at a time (and, shared by several processes, atomically).

        :param change: mutates the state it is given and returns what the caller needs; may
            raise :class:`~collab_widget.protocol.ProtocolError`, and then nothing is stored.
        :returns: what ``change`` returned.
        :raises ProtocolError: ``change``'s, or ``unavailable`` when it could not be stored.
        """

    # -- delivery ----------------------------------------------------------------------------
    def deliver_message(self, room: str, message: Message) -> int:
        """Send a just stored message to every session in its room (a backend shared by
        several processes delivers them in ``seq`` order itself); how many it was handed to."""
        return self.broadcast(room, event_frame("message", message))

    def presence_changed(self, room: str, session: Session, state: dict[str, Any] | None) -> None:
        """A session of this process set (or, with None, cleared) its presence in ``room``;
        a backend shared by several processes tells the others."""
        del room, session, state  # one process: nobody else to tell

    #: Deliveries of messages a shared backend made itself (its stream reader), for ``stats``.
    delivered = 0

    #: Called by a shared backend with ``(room, session public id, username, state or None)``
    #: for presence from other processes (set by the service).
    on_presence: Callable[[str, str, str, dict[str, Any] | None], None] | None = None

    @abstractmethod
    def broadcast(self, room: str, frame: Frame, skip_sid: str | None = None) -> int:
        """Send an encoded event to every session in a room.

        :param room: the room name.
        :param frame: the event, encoded once.
        :param skip_sid: a Socket.IO sid that does not get it (the sender), or None.
        :returns: how many sessions it was handed to.
        """

    @abstractmethod
    def broadcast_roles(
        self,
        room: str,
        teachers: frozenset[str],
        to_teachers: Frame | None,
        to_students: Frame | None,
    ) -> int:
        """Send one frame to a room's teachers and another to everyone else (a poll as each
        sees it); None sends nothing to that side.

        :param teachers: the usernames of the room's teachers.
        :returns: how many sessions got a frame.
        """

    @abstractmethod
    def send_to(self, sids: Iterable[str], frame: Frame) -> int:
        """Send an encoded event to the given sessions, not a whole room (a presence batch).

        :param sids: the sessions' Socket.IO sids.
        :param frame: the event, encoded once for all of them.
        :returns: how many sessions it was handed to (gone ones are skipped).
        """

    # -- lifecycle ---------------------------------------------------------------------------
    @abstractmethod
    async def close(self) -> None:
        """Release what the backend holds (the history store); called once, at shutdown."""
