"""Room logic with no I/O: who is in which room, colours and message sequence numbers.

Membership is by **user** with a count of sessions: a user with two tabs is one member, who
joins with the first session and leaves with the last. The in-process room backend
(:class:`collab_widget.local_backend.LocalBackend`) calls into this module and does the I/O
around it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .colors import pick_color
from .identity import UserInfo
from .protocol import ProtocolError
from .ratelimit import TokenBucket


@dataclass(eq=False)
class Session:
    """One Socket.IO connection of a user.

    :param sid: the Socket.IO session id; private, never shown to other users.
    :param public_id: the id other members see in presence entries.
    """

    sid: str
    public_id: str
    user: UserInfo
    transport: str
    send_bucket: TokenBucket
    event_bucket: TokenBucket
    presence_bucket: TokenBucket
    connected_at: float = 0.0
    rooms: set[str] = field(default_factory=set)
    #: False once disconnected (a join still reading its history must not add it).
    connected: bool = True
    #: Packets from this connection that could not be decoded (the first is logged).
    bad_packets: int = 0


@dataclass(eq=False)
class Member:
    """A user in a room, with the sessions through which they are there."""

    user: UserInfo
    color: str
    sessions: set[str] = field(default_factory=set)

    def public(self) -> dict[str, Any]:
        return {**self.user.public(self.color), "sessions": len(self.sessions)}


@dataclass(frozen=True)
class Membership:
    """What a join or leave changed: ``changed`` is True for a user's first join or last leave."""

    room: Room
    member: Member
    changed: bool


class Room:
    """One chat room: members, and caches of its highest ``seq`` and recent ``client_id``\\ s.

    :param name: the room name (already validated).
    :param last_seq: the highest ``seq`` already used (from the history store, which hands
        out the numbers; see :meth:`remember`).
    :param dedup_window: how many recent ``(username, client_id)`` pairs are remembered, so
        that a resent message is recognised; the history retention is a good value.
    """

    def __init__(self, name: str, last_seq: int = 0, dedup_window: int = 1000) -> None:
        self.name = name
        self.last_seq = last_seq
        self.members: dict[str, Member] = {}
        self._dedup_window = dedup_window
        self._client_ids: OrderedDict[tuple[str, str], int] = OrderedDict()

    def remember(self, username: str, client_id: str, seq: int) -> None:
        """Record that ``client_id`` from ``username`` was stored as ``seq``.

        The history store numbers messages (in its write transaction, so that processes
        sharing it never reuse a number); ``last_seq`` and the recent ``client_id``\\ s here
        are caches of what it returned: ``last_seq`` only grows.
        """
        self.last_seq = max(self.last_seq, seq)
        self._client_ids[(username, client_id)] = seq
        while len(self._client_ids) > self._dedup_window:
            self._client_ids.popitem(last=False)

    def stored_seq(self, username: str, client_id: str) -> int | None:
        """The ``seq`` of an already stored message with this ``client_id``, if any."""
        return self._client_ids.get((username, client_id))

    def add(self, session: Session) -> Membership:
        """Add a session; a user's first session makes them a member with a colour.

        The colour is the user's own (``UserInfo.color``, already a checked ``#rrggbb``) only
        when no other member has it, so nobody can take another member's colour; otherwise
        the palette's (:func:`pick_color`), distinct from every member's.

        :param session: the joining session; its user is the member.
        """
        member = self.members.get(session.user.username)
        first = member is None
        if member is None:
            taken = {m.color for m in self.members.values()}
            own = session.user.color
            if own is not None and own not in taken:
                color = own
            else:
                color = pick_color(session.user.username, taken)
            member = self.members[session.user.username] = Member(session.user, color)
        member.sessions.add(session.sid)
        return Membership(self, member, first)

    def remove(self, session: Session) -> Membership:
        member = self.members[session.user.username]
        member.sessions.discard(session.sid)
        last = not member.sessions
        if last:
            del self.members[session.user.username]
        return Membership(self, member, last)

    def member_list(self) -> list[dict[str, Any]]:
        return [m.public() for m in self.members.values()]

    def summary(self) -> dict[str, Any]:
        return {"room": self.name, "members": len(self.members), "last_seq": self.last_seq}


class RoomRegistry:
    """All rooms of one server, and which session is in which room.

    A room is held in memory while it has members or a join in progress; once empty it is
    freed after ``empty_grace`` seconds (a re-run cell re-joins within that), and loaded from
    the store again on next use.

    :param max_rooms_per_session: how many rooms one connection may be in at once.
    :param dedup_window: passed to each :class:`Room`.
    :param empty_grace: seconds an empty room is kept before it is freed.
    :param clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        max_rooms_per_session: int = 20,
        dedup_window: int = 1000,
        empty_grace: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rooms: dict[str, Room] = {}
        self.max_rooms_per_session = max_rooms_per_session
        self.dedup_window = dedup_window
        self.empty_grace = empty_grace
        self.clock = clock
        self._holds: dict[str, int] = {}  # room -> joins in progress
        self._empty: OrderedDict[str, float] = OrderedDict()  # room -> empty since

    def get(self, name: str) -> Room | None:
        return self.rooms.get(name)

    def create(
        self, name: str, last_seq: int, recent: list[tuple[str, str, int]] | None = None
    ) -> Room:
        """Create a room known to the store (``recent``: ``(username, client_id, seq)``).

        It counts as empty (and is freed after the grace period) until someone joins it.
        """
        self.sweep()
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = Room(name, last_seq, self.dedup_window)
            for username, client_id, seq in recent or ():
                room.remember(username, client_id, seq)
            self._empty[name] = self.clock()
        return room

    def check_capacity(self, session: Session, name: str) -> None:
        """Raise ``too_many_rooms`` if ``session`` may not join one more room."""
        if name not in session.rooms and len(session.rooms) >= self.max_rooms_per_session:
            raise ProtocolError(
                "too_many_rooms", f"a session may be in at most {self.max_rooms_per_session} rooms"
            )

    def hold(self, name: str) -> None:
        """A join of ``name`` is in progress: do not free the room meanwhile."""
        self._holds[name] = self._holds.get(name, 0) + 1

    def release(self, name: str) -> None:
        """The join of ``name`` ended (joined or refused)."""
        count = self._holds.pop(name, 1) - 1
        if count > 0:
            self._holds[name] = count

    def join(self, session: Session, name: str) -> Membership | None:
        """Add ``session`` to the (created) room; None when it already is in it."""
        if name in session.rooms:
            return None
        self.check_capacity(session, name)
        membership = self.rooms[name].add(session)
        session.rooms.add(name)
        self._empty.pop(name, None)
        return membership

    def joined(self, session: Session, name: str) -> Room:
        """The room, when ``session`` is in it; else a ``not_joined`` error."""
        if name not in session.rooms:
            raise ProtocolError("not_joined", f"join the room '{name}' first")
        return self.rooms[name]

    def leave(self, session: Session, name: str) -> Membership:
        room = self.joined(session, name)
        session.rooms.discard(name)
        membership = room.remove(session)
        if not room.members:
            self._empty[name] = self.clock()
            self._empty.move_to_end(name)
        return membership

    def leave_all(self, session: Session) -> list[Membership]:
        """Remove a disconnected session from every room it was in."""
        return [self.leave(session, name) for name in sorted(session.rooms)]

    def active(self) -> list[Room]:
        """Rooms with at least one member."""
        return [room for room in self.rooms.values() if room.members]

    def sweep(self) -> int:
        """Free the rooms empty for longer than the grace period; returns how many."""
        now = self.clock()
        freed = 0
        while self._empty:
            name, since = next(iter(self._empty.items()))
            if now - since < self.empty_grace:
                break
            del self._empty[name]
            room = self.rooms.get(name)
            if room is not None and not room.members and name not in self._holds:
                del self.rooms[name]
                freed += 1
            elif room is not None and not room.members:
                self._empty[name] = now  # a join is loading it: look again later
        return freed
