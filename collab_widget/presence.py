"""Presence coalescing with no I/O: the latest state per session, delivered as change batches.

Each room keeps one entry per session (latest state wins) stamped with a room-wide version
number, and remembers up to which version each recipient has been served. A tick hands each
recipient **one** batch with what changed since its previous batch, its own entry excluded.
A recipient that cannot take a batch now (a stalled connection) is skipped and later gets the
latest state, never a backlog: memory is one entry per session, whatever the update rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Entry:
    """The latest presence of one session; ``wire`` is None once it was removed.

    ``encoded`` is a cache for the encoder of batches (the entry's JSON, made once; see
    :func:`collab_widget.presence_frames.entry_json`).
    """

    session: str
    version: int
    wire: dict[str, Any] | None
    touched: float
    encoded: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One change list for a group of recipients; each gets it minus its own entry.

    Sending per group lets the caller encode each entry once for the whole room
    (:func:`collab_widget.presence_frames.presence_bodies` makes each recipient's event).
    """

    recipients: list[str]
    updates: list[Entry]  # live entries (``wire`` set), in version order
    removed: list[str]
    reset: bool = False


class PresenceRoom:
    """The presence of one room.

    :param max_tombstones: how many removals are kept for recipients that are behind;
        past that the oldest are dropped, and a recipient that missed them gets a full
        snapshot (``reset``) instead of a change list.
    """

    def __init__(self, max_tombstones: int = 1000) -> None:
        self.version = 0
        self.entries: dict[str, Entry] = {}
        self.delivered: dict[str, int] = {}
        self.floor = 0  # removals at or below this version may have been forgotten
        self.max_tombstones = max_tombstones

    # -- recipients --------------------------------------------------------------------------
    def add_recipient(self, session: str) -> None:
        """A session joined: it gets the current state in its join ack (:meth:`snapshot`)."""
        self.delivered[session] = self.version

    def snapshot(self, exclude: str | None = None) -> list[dict[str, Any]]:
        """Every live entry but ``exclude``'s, for a join acknowledgement."""
        return [e.wire for s, e in self.entries.items() if e.wire is not None and s != exclude]

    # -- updates -----------------------------------------------------------------------------
    def update(self, session: str, user: str, state: dict[str, Any], now: float, ts: int) -> None:
        """Set ``session``'s state; an identical state only refreshes its expiry."""
        entry = self.entries.get(session)
        if entry is not None and entry.wire is not None and entry.wire["state"] == state:
            entry.touched = now
            return
        self.version += 1
        wire = {"session": session, "user": user, "state": state, "ts": ts}
        self.entries[session] = Entry(session, self.version, wire, now)

    def remove(self, session: str) -> None:
        """Clear ``session``'s state (share switch off, leave, disconnect)."""
        entry = self.entries.get(session)
        if entry is not None and entry.wire is not None:
            self.version += 1
            self.entries[session] = Entry(session, self.version, None, entry.touched)

    def drop_recipient(self, session: str) -> None:
        """``session`` left the room: remove its state and stop serving it."""
        self.remove(session)
        self.delivered.pop(session, None)

    def expire(self, now: float, ttl: float) -> None:
        """Remove states not refreshed for ``ttl`` seconds."""
        stale = [s for s, e in self.entries.items() if e.wire is not None and now - e.touched > ttl]
        for session in stale:
            self.remove(session)

    # -- delivery ----------------------------------------------------------------------------
    def collect(self, can_send: Callable[[str], bool] = lambda _s: True) -> list[Delivery]:
        """The deliveries due now; recipients for which ``can_send`` is False are skipped."""
        if not self.entries:
            return []
        # Group recipients by how far they have been served: normally all in one group.
        groups: dict[int, list[str]] = {}
        for recipient, seen in self.delivered.items():
            if seen < self.version and can_send(recipient):
                groups.setdefault(seen, []).append(recipient)
        deliveries: list[Delivery] = []
        for seen, recipients in groups.items():
            if seen < self.floor:
                live = [e for e in self.entries.values() if e.wire is not None]
                deliveries.append(Delivery(recipients, live, [], reset=True))
            else:
                changed = sorted(
                    (e for e in self.entries.values() if e.version > seen),
                    key=lambda e: e.version,
                )
                deliveries.append(
                    Delivery(
                        recipients,
                        [e for e in changed if e.wire is not None],
                        [e.session for e in changed if e.wire is None],
                    )
                )
            for recipient in recipients:
                self.delivered[recipient] = self.version
        self._compact()
        return deliveries

    def _compact(self) -> None:
        """Forget removals every recipient has been told about (or the oldest, past the cap)."""
        served = min(self.delivered.values(), default=self.version)
        tombstones = sorted((e.version, s) for s, e in self.entries.items() if e.wire is None)
        excess = len(tombstones) - self.max_tombstones
        for index, (version, session) in enumerate(tombstones):
            if version <= served or index < excess:
                del self.entries[session]
                if version > served:
                    self.floor = max(self.floor, version)
            else:
                break

    @property
    def empty(self) -> bool:
        return not self.entries and not self.delivered


class PresenceHub:
    """Presence of every room on this server."""

    def __init__(self, max_tombstones: int = 1000) -> None:
        self.rooms: dict[str, PresenceRoom] = {}
        self.max_tombstones = max_tombstones

    def room(self, name: str) -> PresenceRoom:
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = PresenceRoom(self.max_tombstones)
        return room

    def leave(self, name: str, session: str) -> None:
        room = self.rooms.get(name)
        if room is not None:
            room.drop_recipient(session)

    def tick(
        self, now: float, ttl: float, can_send: Callable[[str], bool] = lambda _s: True
    ) -> list[tuple[str, Delivery]]:
        """Expire stale states and collect every room's due deliveries as ``(room, ...)``."""
        out: list[tuple[str, Delivery]] = []
        for name, room in list(self.rooms.items()):
            room.expire(now, ttl)
            out.extend((name, delivery) for delivery in room.collect(can_send))
            if room.empty:
                del self.rooms[name]
        return out
