"""Delivery to sessions behind relays: one frame per relay, naming its sessions.

At the class service every session is carried by a relay connection (a user's server), so
a session's key is ``<relay sid>/<local id>`` (:func:`relayed_sid`). A room's frame goes to
each relay once, as ``to [local ids, body]``, where ``body`` is the protocol event's JSON
text as a browser receives it: the relay writes it to its local connections as it is,
without decoding it.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..fanout import Frame, dumps
from ..local_backend import LocalBackend, room_key
from ..rooms import Membership, Session


def relayed_sid(relay_sid: str, local: str) -> str:
    """The key of the session ``local`` of the relay connection ``relay_sid``."""
    return f"{relay_sid}/{local}"


def split_sid(sid: str) -> tuple[str, str]:
    """``(relay sid, local id)`` of a key made by :func:`relayed_sid`."""
    relay, _, local = sid.partition("/")
    return relay, local


class RelayedBackend(LocalBackend):
    """:class:`LocalBackend`'s rooms and history, delivering to sessions behind relays.

    Instead of Socket.IO rooms it keeps, per room, which local sessions of which relay are
    in it.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        #: room key -> relay sid -> the local ids of its sessions in the room
        self.routes: dict[str, dict[str, set[str]]] = {}

    async def enter(self, session: Session, key: str) -> None:
        relay, local = split_sid(session.sid)
        self.routes.setdefault(key, {}).setdefault(relay, set()).add(local)

    async def exit(self, session: Session, key: str) -> None:
        relay, local = split_sid(session.sid)
        relays = self.routes.get(key)
        if relays is None:
            return
        sessions = relays.get(relay)
        if sessions is not None:
            sessions.discard(local)
            if not sessions:
                del relays[relay]
        if not relays:
            del self.routes[key]

    async def leave_all(self, session: Session) -> list[Membership]:
        for name in list(session.rooms):
            await self.exit(session, room_key(name))
        return await super().leave_all(session)

    def broadcast(self, room: str, frame: Frame, skip_sid: str | None = None) -> int:
        relays = self.routes.get(room_key(room))
        if not relays:
            return 0
        skip_relay, skip_local = split_sid(skip_sid) if skip_sid else ("", "")
        body = dumps(frame.body)  # the event's JSON text as a JSON string, encoded once
        delivered = 0
        for relay, sessions in list(relays.items()):
            if relay == skip_relay:
                targets = [local for local in sessions if local != skip_local]
            else:
                targets = list(sessions)
            if targets:
                delivered += self._to(relay, targets, body)
        return delivered

    def send_to(self, sids: Iterable[str], frame: Frame) -> int:
        by_relay: dict[str, list[str]] = {}
        for sid in sids:
            relay, local = split_sid(sid)
            by_relay.setdefault(relay, []).append(local)
        if not by_relay:
            return 0
        body = dumps(frame.body)
        return sum(self._to(relay, targets, body) for relay, targets in by_relay.items())

    def _to(self, relay: str, targets: list[str], body: str) -> int:
        """Hand ``body`` to one relay for ``targets``; how many sessions that makes."""
        eio_sid = self.sio.manager.eio_sid_from_sid(relay, "/")
        if eio_sid is None:
            return 0
        frame = Frame('["to",' + dumps(targets) + "," + body + "]")
        return len(targets) if self.fanout.send(frame, [eio_sid]) else 0
