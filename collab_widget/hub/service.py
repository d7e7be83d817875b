"""The class service: the rooms of a whole JupyterHub, reached through users' relays.

It is :class:`~collab_widget.service.CollabService` (the same handlers, presence hub, room
registry and history store) whose sessions are carried by relay connections instead of
browsers. A relay connects once (WebSocket only) with its server's token, the Hub says whose
it is (:mod:`.auth`), and then it speaks the upstream protocol (docs/protocol.md):

- ``open (local)``: a browser session of its server starts; acknowledged with its public id;
- ``close (local)``: it ended;
- ``ev (local, event, data)``: one protocol v1 event of that session, acknowledged with the
  event's acknowledgement;
- from the service, ``to (locals, body)``: a frame for some of its sessions (:mod:`.routes`).

Each session acts as the relay's user: the relay never says who anyone is. Rooms named
``group:<g>/...`` are for members of the Hub group ``<g>``. Each relay's token is checked
again every ``token_check_interval`` seconds; a revoked one (a stopped server) is
disconnected.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import socketio

from .. import protocol
from ..protocol import ProtocolError
from ..rooms import Session
from ..service import CollabService
from ..sessions import Ack
from ..settings import ServiceSettings
from .auth import HubTokens, HubUser, token_from_headers
from .routes import RelayedBackend, relayed_sid, split_sid

#: The longest local session id a relay may use.
MAX_LOCAL_ID = 32


@dataclass(eq=False)
class Relay:
    """One relay connection: a user's server.

    :param sid: its Socket.IO sid.
    :param user: its token's owner (the user of every session it carries).
    :param token: its token, for the periodic re-check.
    """

    sid: str
    user: HubUser
    token: str
    sessions: set[str] = field(default_factory=set)


def group_of(room: str) -> str | None:
    """The Hub group a room is reserved for (``group:<g>/...``), or None (open to all)."""
    if not room.startswith("group:"):
        return None
    return room[len("group:") :].partition("/")[0]


class ClassService(CollabService):
    """The rooms of a JupyterHub, with sessions carried by relays.

    :param settings: limits and timings (the ``CollabApp`` settings given to the service).
    :param backend: rooms and history, delivering through relays.
    :param tokens: resolves relay tokens with the Hub.
    :param log: where connects, refusals and failures are logged.
    :param token_check_interval: seconds between re-checks of each relay's token.
    :param max_relays_per_user: relay connections one user may hold at once.
    """

    def __init__(
        self,
        settings: ServiceSettings,
        backend: RelayedBackend,
        tokens: HubTokens,
        log: logging.Logger,
        token_check_interval: float = 60.0,
        max_relays_per_user: int = 4,
    ) -> None:
        self.tokens = tokens
        self.token_check_interval = token_check_interval
        self.max_relays_per_user = max_relays_per_user
        self.relays: dict[str, Relay] = {}
        self.relays_per_user: Counter[str] = Counter()
        self._checker: asyncio.Task[None] | None = None
        # Relays speak WebSocket only: one connection, no polling requests to authenticate.
        super().__init__(settings, backend, lambda _environ: None, log, transports=["websocket"])

    def register(self) -> None:
        super().register()
        self.sio.on("connect", self._on_relay_connect)
        self.sio.on("disconnect", self._on_relay_disconnect)
        self.sio.on("open", self._on_open)
        self.sio.on("close", self._on_close)
        self.sio.on("ev", self._on_ev)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        super().start()
        if self._checker is None:
            self._checker = asyncio.get_running_loop().create_task(self._check_tokens())

    async def stop(self, timeout: float = 2.0) -> None:
        if self._checker is not None:
            self._checker.cancel()
            await asyncio.gather(self._checker, return_exceptions=True)
            self._checker = None
        for sid in list(self.relays):
            try:
                await self.sio.disconnect(sid)
            except Exception as error:  # the others are still closed
                self.log.warning("collab: could not disconnect relay %s: %r", sid, error)
        await super().stop(timeout)

    # -- relay connections -------------------------------------------------------------------
    async def _on_relay_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        # The HTTP handler asked the Hub before any Engine.IO session (and refused unknown
        # tokens); this is the second lock: only a request it vouched for connects.
        token = token_from_headers(environ.get("HTTP_AUTHORIZATION"))
        user = getattr(environ.get("tornado.handler"), "hub_user", None)
        if token is None or user is None:
            raise socketio.exceptions.ConnectionRefusedError("not authenticated")
        name = user.info.username
        if self.relays_per_user[name] >= self.max_relays_per_user:
            self.log.warning(
                "collab: refused a relay of %s: already %d", name, self.relays_per_user[name]
            )
            raise socketio.exceptions.ConnectionRefusedError(
                f"too many relays: a user may hold at most {self.max_relays_per_user} at once"
            )
        self.relays[sid] = Relay(sid, user, token)
        self.relays_per_user[name] += 1
        self.log.info("collab: relay connected user=%s groups=%s", name, sorted(user.groups))
        return True

    async def _on_relay_disconnect(self, sid: str, reason: str = "unknown") -> None:
        relay = self.relays.pop(sid, None)
        if relay is None:
            return
        name = relay.user.info.username
        self.relays_per_user[name] -= 1
        if self.relays_per_user[name] <= 0:
            del self.relays_per_user[name]
        for local in list(relay.sessions):
            await self.close_session(relayed_sid(sid, local), f"relay gone ({reason})")
        self.log.info("collab: relay disconnected user=%s reason=%s", name, reason)

    async def _on_open(self, sid: str, local: Any = None, *_extra: Any) -> Ack:
        relay = self.relays.get(sid)
        if relay is None:
            return ProtocolError("not_connected", "this relay is not connected").ack()
        if not _valid_local(local):
            return _bad_local()
        key = relayed_sid(sid, local)
        existing = self.sessions.get(key)
        if existing is not None:
            return {"ok": True, "session": existing.public_id}
        try:
            session = self.open_session(key, relay.user.info, "relay")
        except socketio.exceptions.ConnectionRefusedError as error:
            return ProtocolError("too_many_connections", str(error.error_args["message"])).ack()
        relay.sessions.add(local)
        return {"ok": True, "session": session.public_id}

    async def _on_close(self, sid: str, local: Any = None, *_extra: Any) -> Ack:
        relay = self.relays.get(sid)
        if relay is None or not _valid_local(local):
            return _bad_local()
        if local in relay.sessions:
            relay.sessions.discard(local)
            await self.close_session(relayed_sid(sid, local), "closed")
        return {"ok": True}

    async def _on_ev(
        self, sid: str, local: Any = None, event: Any = None, data: Any = None, *_extra: Any
    ) -> Ack:
        if not _valid_local(local) or not isinstance(event, str):
            return _bad_local()
        key = relayed_sid(sid, local)  # the guard answers not_connected for a wrong one
        handler = self.handlers.get(event)
        if handler is None:
            return await self._guarded_unknown(key, event)
        return await handler(key, data)

    def carrier(self, session: Session) -> str:
        return split_sid(session.sid)[0]

    # -- rooms by group ----------------------------------------------------------------------
    knows_groups = True

    def groups_of(self, session: Session) -> frozenset[str]:
        """The Hub groups of the user behind a session's relay (as of its last token check)."""
        relay = self.relays.get(split_sid(session.sid)[0])
        return relay.user.groups if relay is not None else frozenset()

    def _may_enter(self, session: Session, room: str) -> bool:
        group = group_of(room)
        return group is None or group in self.groups_of(session)

    async def _join(self, session: Session, data: Any) -> Ack:
        request = protocol.parse_join(data)
        if not self._may_enter(session, request.room):
            raise ProtocolError(
                "forbidden",
                f"room '{request.room}' is for the Hub group '{group_of(request.room)}'",
            )
        return await super()._join(session, data)

    async def _rooms(self, session: Session, data: Any) -> Ack:
        ack = await super()._rooms(session, data)
        ack["rooms"] = [r for r in ack["rooms"] if self._may_enter(session, r["room"])]
        return ack

    # -- token re-checks ---------------------------------------------------------------------
    async def _check_tokens(self) -> None:
        while True:
            await asyncio.sleep(self.token_check_interval)
            for relay in list(self.relays.values()):
                try:
                    user = await self.tokens.resolve(relay.token, fresh=True)
                except Exception as error:  # the Hub did not answer: unknown, not revoked
                    self.log.warning("collab: could not re-check a relay token: %r", error)
                    continue
                if relay.sid not in self.relays:
                    continue
                if user is None or user.info.username != relay.user.info.username:
                    self.log.warning(
                        "collab: the token of %s's relay is no longer valid: disconnecting",
                        relay.user.info.username,
                    )
                    await self.sio.disconnect(relay.sid)
                else:
                    relay.user = user  # groups may have changed

    def stats_summary(self) -> dict[str, Any]:
        return {**super().stats_summary(), "relays": len(self.relays)}


def _valid_local(local: Any) -> bool:
    return isinstance(local, str) and 0 < len(local) <= MAX_LOCAL_ID and "/" not in local


def _bad_local() -> Ack:
    return ProtocolError(
        "invalid_payload", f"a relay names its sessions with 1-{MAX_LOCAL_ID} characters"
    ).ack()
