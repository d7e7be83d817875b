"""Presence coalescing with no I/O: the latest state per session, delivered as change batches.

Each room keeps one entry per session (latest state wins) stamped with a room-wide version
number, and remembers up to which version each recipient has been served. A tick hands the
recipients **one** change list per group of recipients served up to the same version
(normally a single group: everyone). A recipient that cannot take a batch now (a stalled
connection) is skipped and later gets the latest state, never a backlog: memory is one entry
per session, whatever the update rate.

Each session present in a room gets a small **member number** (``n``), never reused while the
room is in memory. Protocol 1.2 recipients (``compact``) share one batch keyed by these
numbers: a session they already hold gets only the fields that changed since the previous
tick (:attr:`Delivery.fields`), and they skip their own entry themselves. Protocol 1.0/1.1
recipients get the entries whole, minus their own (:mod:`.presence_frames`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Entry:
    """The latest presence of one session; ``wire`` is None once it was removed.

    :param number: the session's member number in the room.
    :param base: the state compact recipients hold for this session: its state as of the
        previous tick (None: they hold none). Diffs are taken against it.
    :param encoded: a cache for the encoder of batches (the entry's JSON, made once; see
        :func:`collab_widget.presence_frames.entry_json`).
    """

    session: str
    number: int
    version: int
    wire: dict[str, Any] | None
    touched: float
    base: dict[str, Any] | None = None
    encoded: str | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """One change list for a group of recipients served up to the same version.

    Sending per group lets the caller encode each entry (or, for ``compact`` recipients, the
    whole batch) once for the whole room; see :mod:`collab_widget.presence_frames`.

    :param recipients: session public ids.
    :param updates: live entries (``wire`` set), in version order.
    :param removed: sessions whose presence went away.
    :param reset: ``updates`` is the room's whole presence (the group fell too far behind).
    :param compact: the recipients speak protocol 1.2 (batches keyed by member number).
    :param gone: the member numbers of ``removed`` (compact batches).
    :param fields: compact batches to recipients served up to the previous tick: per update,
        the fields that changed since then (a removed field as None), or None where the
        whole entry is sent (a session they do not hold yet). None: every entry whole.
    """

    recipients: list[str]
    updates: list[Entry]
    removed: list[str]
    reset: bool = False
    compact: bool = False
    gone: list[int] = field(default_factory=list)
    fields: list[dict[str, Any] | None] | None = None


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The fields of ``after`` that differ from ``before``; those ``after`` lacks, as None."""
    get = before.get
    diff = {key: value for key, value in after.items() if get(key, _ABSENT) != value}
    if len(before) > len(after) - len(diff):  # a field may have gone
        for key in before.keys() - after.keys():
            diff[key] = None
    return diff


_ABSENT = object()  # a field ``before`` lacks (None is a value there)


class PresenceRoom:
    """The presence of one room.

    :param max_tombstones: how many removals are kept for recipients that are behind;
        past that the oldest are dropped, and a recipient that missed them gets a full
        snapshot (``reset``) instead of a change list.
    :param on_change: called whenever a state is set or removed (something will be due).
    """

    def __init__(
        self, max_tombstones: int = 1000, on_change: Callable[[], None] = lambda: None
    ) -> None:
        self.on_change = on_change
        self.version = 0
        self.entries: dict[str, Entry] = {}
        self.delivered: dict[str, int] = {}
        self.compact: set[str] = set()  # recipients speaking protocol 1.2
        self.numbers: dict[str, int] = {}
        self.next_number = 1
        self.floor = 0  # removals at or below this version may have been forgotten
        self.ticked = 0  # the version served at the previous tick
        self.due = 0.0  # when the next batches may go (see :class:`PresenceHub`)
        self.skipped = 0  # recipients the last collect could not serve (``can_send``)
        self.max_tombstones = max_tombstones

    def number(self, session: str) -> int:
        """``session``'s member number in this room (given on first use)."""
        number = self.numbers.get(session)
        if number is None:
            number = self.numbers[session] = self.next_number
            self.next_number += 1
        return number

    # -- recipients --------------------------------------------------------------------------
    def add_recipient(self, session: str, compact: bool = False) -> int:
        """A session joined: it gets the current state in its join ack (:meth:`snapshot`),
        then batches (``compact``: protocol 1.2's). Returns its member number."""
        self.delivered[session] = self.version
        if compact:
            self.compact.add(session)
        else:
            self.compact.discard(session)
        return self.number(session)

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
        self.on_change()
        number = self.number(session)
        wire = {"session": session, "user": user, "state": state, "ts": ts, "n": number}
        if entry is None:
            self.entries[session] = Entry(session, number, self.version, wire, now)
        else:  # keeps ``base``: what compact recipients hold
            entry.version, entry.wire, entry.touched, entry.encoded = self.version, wire, now, None

    def remove(self, session: str) -> None:
        """Clear ``session``'s state (share switch off, leave, disconnect)."""
        entry = self.entries.get(session)
        if entry is not None and entry.wire is not None:
            self.version += 1
            self.on_change()
            entry.version, entry.wire, entry.encoded = self.version, None, None

    def drop_recipient(self, session: str) -> None:
        """``session`` left the room: remove its state and stop serving it."""
        self.remove(session)
        self.delivered.pop(session, None)
        self.compact.discard(session)
        if session not in self.entries:
            self.numbers.pop(session, None)

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
        # Group recipients by how far they have been served and by format: normally two
        # groups at most (everyone at the previous tick; 1.2 and older clients). Compact
        # recipients not served at the previous tick (they joined since, or were skipped)
        # form one group, served whole entries from the oldest version among them: whole
        # entries replace what a client holds, so what it already had does no harm, and
        # a big room never encodes a batch per lagging member.
        groups: dict[tuple[int, bool], list[str]] = {}
        compact, ticked = self.compact, self.ticked
        behind: list[str] = []
        oldest = self.version
        skipped = 0
        for recipient, seen in self.delivered.items():
            if seen < self.version:
                if not can_send(recipient):
                    skipped += 1
                elif recipient not in compact:
                    groups.setdefault((seen, False), []).append(recipient)
                elif seen == ticked:
                    groups.setdefault((seen, True), []).append(recipient)
                else:
                    behind.append(recipient)
                    oldest = min(oldest, seen)
        if behind:
            groups[(oldest, True)] = behind
        self.skipped = skipped
        deliveries = [
            self._delivery(seen, c, recipients) for (seen, c), recipients in groups.items()
        ]
        for recipients in groups.values():
            for recipient in recipients:
                self.delivered[recipient] = self.version
        # What compact recipients served now hold: the base of the next tick's diffs.
        for entry in self.entries.values():
            if entry.version > self.ticked:
                entry.base = entry.wire["state"] if entry.wire is not None else None
        self.ticked = self.version
        self._compact()
        return deliveries

    def _delivery(self, seen: int, compact: bool, recipients: list[str]) -> Delivery:
        """The change list for recipients served up to version ``seen``."""
        if seen < self.floor:
            live = [e for e in self.entries.values() if e.wire is not None]
            return Delivery(recipients, live, [], reset=True, compact=compact)
        changed = sorted((e for e in self.entries.values() if e.version > seen), key=_version)
        updates = [e for e in changed if e.wire is not None]
        removed = [e for e in changed if e.wire is None]
        fields: list[dict[str, Any] | None] | None = None
        if compact and seen == self.ticked:  # they hold every entry's ``base``
            fields = [_fields(e) for e in updates]
        return Delivery(
            recipients,
            updates,
            [e.session for e in removed],
            compact=compact,
            gone=[e.number for e in removed],
            fields=fields,
        )

    def _compact(self) -> None:
        """Forget removals every recipient has been told about (or the oldest, past the cap)."""
        served = min(self.delivered.values(), default=self.version)
        tombstones = sorted((e.version, s) for s, e in self.entries.items() if e.wire is None)
        excess = len(tombstones) - self.max_tombstones
        for index, (version, session) in enumerate(tombstones):
            if version <= served or index < excess:
                del self.entries[session]
                if session not in self.delivered:
                    self.numbers.pop(session, None)
                if version > served:
                    self.floor = max(self.floor, version)
            else:
                break

    @property
    def empty(self) -> bool:
        return not self.entries and not self.delivered

    @property
    def settled(self) -> bool:
        """Nothing to send until a state changes: every recipient was served the current
        version (or the room has no states)."""
        return not self.entries or (self.ticked == self.version and not self.skipped)


def _version(entry: Entry) -> int:
    return entry.version


def _fields(entry: Entry) -> dict[str, Any] | None:
    """A live entry's changes since its ``base`` (None: send it whole)."""
    if entry.base is None or entry.wire is None:
        return None
    return changed_fields(entry.base, entry.wire["state"])


class PresenceHub:
    """Presence of every room on this server.

    :param max_tombstones: see :class:`PresenceRoom`.
    :param room_batches: batches per second a room sends at most (None: no limit): after a
        tick that served ``k`` recipients, a room is next due ``k / room_batches`` seconds
        later, so a big room is served less often than every tick.
    :param tick: seconds between ticks (a room due within a tenth of it counts as due).
    :param on_change: called whenever a state in any room is set or removed: a ticker
        asleep because everything was :attr:`settled` has something to send again.
    """

    def __init__(
        self,
        max_tombstones: int = 1000,
        room_batches: float | None = None,
        tick: float = 0.0,
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.on_change = on_change
        self.rooms: dict[str, PresenceRoom] = {}
        self.max_tombstones = max_tombstones
        self.room_batches = room_batches
        self.slack = tick / 10

    def room(self, name: str) -> PresenceRoom:
        room = self.rooms.get(name)
        if room is None:
            room = self.rooms[name] = PresenceRoom(self.max_tombstones, self.on_change)
        return room

    def leave(self, name: str, session: str) -> None:
        room = self.rooms.get(name)
        if room is not None:
            room.drop_recipient(session)

    def tick(
        self, now: float, ttl: float, can_send: Callable[[str], bool] = lambda _s: True
    ) -> list[tuple[str, Delivery]]:
        """Expire stale states and collect every due room's deliveries as ``(room, ...)``."""
        out: list[tuple[str, Delivery]] = []
        for name, room in list(self.rooms.items()):
            room.expire(now, ttl)
            if now >= room.due:
                deliveries = room.collect(can_send)
                if deliveries and self.room_batches:
                    served = sum(len(d.recipients) for d in deliveries)
                    room.due = now + served / self.room_batches - self.slack
                out.extend((name, delivery) for delivery in deliveries)
            if room.empty:
                del self.rooms[name]
        return out

    @property
    def settled(self) -> bool:
        """No room has anything to send until a state changes (then :attr:`on_change` is
        called): a ticker may sleep, waking for a change or for expiry."""
        return all(room.settled for room in self.rooms.values())
