"""The relay: a single-user server under a JupyterHub with the class service.

Browsers (and Python clients) keep speaking protocol v1 to this server, authenticated by
jupyter_server as always, through :class:`~collab_widget.sessions.SocketService` (the same
sessions, guard and limits). Their room events are not handled here but forwarded over one
:class:`~collab_widget.upstream.Upstream` connection to the class service, which owns the
rooms; the frames it sends back are written to the sessions as they are.

Only the server's owner is relayed: the service knows this server by its owner's token, so
it cannot vouch for a guest of a shared server (JupyterHub's sharing). A guest's room
events are answered ``forbidden``, with a message that says so.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

from .fanout import Frame, event_frame
from .identity import IdentityResolver
from .protocol import ProtocolError
from .rooms import Session
from .sessions import Ack, EventHandler, SocketService
from .settings import ServiceSettings
from .upstream import Upstream

#: The protocol v1 events a relay forwards.
FORWARDED = (
    "join",
    "leave",
    "send",
    "history",
    "presence",
    "rooms",
    # classroom mode (protocol 1.1)
    "hand",
    "role",
    "follow",
    "snippet",
    "poll",
    "poll_answer",
    "poll_close",
    "classroom",
)

GUEST_MESSAGE = (
    "class rooms are for the owner of this server: the class service knows each server by its "
    "owner, so it cannot vouch for a guest; open your own server to join"
)


class RelayService(SocketService):
    """This server's sessions, with their rooms at the class service.

    :param settings: limits and timings (applied here too, before anything is forwarded).
    :param identify: the user of a new connection (:func:`~.identity.jupyter_identity`).
    :param log: where connects, disconnects and failures are logged.
    :param upstream: the connection to the class service (started by :meth:`start`).
    :param owner: this server's owner (``JUPYTERHUB_USER``); other users are guests.
    :param on_activity: called on every client event.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        identify: IdentityResolver,
        log: logging.Logger,
        upstream: Upstream,
        owner: str,
        on_activity: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(settings, identify, log, on_activity)
        self.upstream = upstream
        self.owner = owner
        self.local_of: dict[str, str] = {}  # Socket.IO sid -> local id at the service
        self.sid_of: dict[str, str] = {}  # local id -> Socket.IO sid
        self.guests: set[str] = set()
        self._ids = itertools.count(1)
        upstream.on_frame = self._deliver
        upstream.on_state = self._upstream_state
        upstream.on_opened = self._opened
        self.register()

    def start(self) -> None:
        self.upstream.start()

    async def stop(self, timeout: float = 2.0) -> None:
        await super().stop(timeout)
        await self.upstream.close()

    def events(self) -> dict[str, EventHandler]:
        return {name: self._forwarder(name) for name in FORWARDED}

    def _forwarder(self, event: str) -> EventHandler:
        async def forward(session: Session, data: Any) -> Ack:
            local = self.local_of.get(session.sid)
            if local is None:
                raise ProtocolError("forbidden", GUEST_MESSAGE)
            return await self.upstream.forward(local, event, data)

        return forward

    # -- sessions ----------------------------------------------------------------------------
    async def session_opened(self, session: Session) -> None:
        if session.user.username != self.owner:
            self.guests.add(session.sid)
            self.log.info(
                "collab: %s is a guest of %s's server: not relayed",
                session.user.username,
                self.owner,
            )
            return
        local = str(next(self._ids))
        self.local_of[session.sid] = local
        self.sid_of[local] = session.sid
        await self.upstream.open(local)

    async def session_closed(self, session: Session) -> None:
        self.guests.discard(session.sid)
        local = self.local_of.pop(session.sid, None)
        if local is not None:
            self.sid_of.pop(local, None)
            await self.upstream.close_session(local)

    # -- from the service --------------------------------------------------------------------
    def _deliver(self, targets: list[str], body: str) -> None:
        """A frame for some of this server's sessions, written as it came."""
        sids = [sid for local in targets if (sid := self.sid_of.get(local)) is not None]
        self.fanout.send_to_sids(Frame(body), sids)

    def _upstream_state(self, state: str) -> None:
        """Tell every relayed session where its rooms stand (clients re-join on
        ``connected`` after ``reconnecting``)."""
        self.fanout.send_to_sids(event_frame("service", {"state": state}), self.sid_of.values())

    def _opened(self, local: str, ack: Ack) -> None:
        """A new session's ``open`` was answered: tell it it is connected, or why not."""
        sid = self.sid_of.get(local)
        if sid is None:
            return
        if ack.get("ok"):
            body: dict[str, Any] = {"state": "connected"}
        else:
            error = ack.get("error") or {}
            body = {"state": "refused", "message": str(error.get("message", "refused"))}
        self.fanout.send_to_sids(event_frame("service", body), [sid])

    def stats_summary(self) -> dict[str, Any]:
        return {**super().stats_summary(), "class_service": self.upstream.summary()}
