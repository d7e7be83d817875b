"""Room logic with no I/O: who is in which room, colours and message sequence numbers.

Membership is by **user** with a count of sessions: a user with two tabs is one member, who
joins with the first session and leaves with the last. The in-process room backend
(:class:`collab_widget.local_backend.LocalBackend`) calls into this module and does the I/O
around it.
"""

from __future__ import annotations

from collections import OrderedDict
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
    """One chat room: members, the sequence counter and recent ``client_id``\\ s.

    :param name: the room name (already validated).
    :param last_seq: the highest ``seq`` already used (from the history store).
    :param dedup_window: how many recent ``(username, client_id)`` pairs are remembered, so
        that a resent message is recognised; the history retention is a good value.
    """

    def __init__(self, name: str, last_seq: int = 0, dedup_window: int = 1000) -> None:
        self.name = name
        self.last_seq = last_seq
        self.members: dict[str, Member] = {}
        self._dedup_window = dedup_window
        self._client_ids: OrderedDict[tuple[str, str], int] = OrderedDict()

    def next_seq(self) -> int:
        """Take the next sequence number; it is never handed out again."""
        self.last_seq += 1
        return self.last_seq

    def remember(self, username: str, client_id: str, seq: int) -> None:
        """Record that ``client_id`` from ``username`` was stored as ``seq``."""
        self._client_ids[(username, client_id)] = seq
        while len(self._client_ids) > self._dedup_window:
            self._client_ids.popitem(last=False)

    def stored_seq(self, username: str, client_id: str) -> int | None:
        """The ``seq`` of an already stored message with this ``client_id``, if any."""
        return self._client_ids.get((username, client_id))

    def add(self, session: Session) -> Membership:
        member = self.members.get(session.user.username)
        first = member is None
        if member is None:
            taken = {m.color for m in self.members.values()}
            color = session.user.color or pick_color(session.user.username, taken)
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

    :param max_rooms_per_session: how many rooms one connection may be in at once.
    :param dedup_window: passed to each :class:`Room`.
    """

    def __init__(self, max_rooms_per_session: int = 20, dedup_window: int = 1000) -> None:
        self.rooms: dict[str, Room] = {}
        self.max_rooms_per_session = max_rooms_per_session
        self.dedup_window = dedup_window

    def get(self, name: str) -> Room | None:
        return self.rooms.get(name)

    def create(
        self, name: str, last_seq: int, recent: list[tuple[str, str, int]] | None = None
    ) -> Room:
        """Create a room known to the store (``recent``: ``(username, client_id, seq)``)."""
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = Room(name, last_seq, self.dedup_window)
            for username, client_id, seq in recent or ():
                room.remember(username, client_id, seq)
        return room

    def join(self, session: Session, name: str) -> Membership | None:
        """Add ``session`` to the (created) room; None when it already is in it."""
        if name in session.rooms:
            return None
        if len(session.rooms) >= self.max_rooms_per_session:
            raise ProtocolError(
                "too_many_rooms", f"a session may be in at most {self.max_rooms_per_session} rooms"
            )
        membership = self.rooms[name].add(session)
        session.rooms.add(name)
        return membership

    def joined(self, session: Session, name: str) -> Room:
        """The room, when ``session`` is in it; else a ``not_joined`` error."""
        if name not in session.rooms:
            raise ProtocolError("not_joined", f"join the room '{name}' first")
        return self.rooms[name]

    def leave(self, session: Session, name: str) -> Membership:
        room = self.joined(session, name)
        session.rooms.discard(name)
        return room.remove(session)

    def leave_all(self, session: Session) -> list[Membership]:
        """Remove a disconnected session from every room it was in."""
        return [self.leave(session, name) for name in sorted(session.rooms)]

    def active(self) -> list[Room]:
        """Rooms with at least one member."""
        return [room for room in self.rooms.values() if room.members]
