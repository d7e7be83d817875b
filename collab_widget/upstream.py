"""The relay's one WebSocket to the class service, shared by every session of this server.

:class:`Upstream` keeps the connection up (reconnecting with backoff, for ever, until
closed), opens the server's sessions on it (again after each reconnect), forwards their
events and hands their frames back. What cannot be forwarded while it is down:

- a ``send`` is **held** (bounded: ``max_held`` in all) and forwarded once the connection
  is back and the session has re-joined the room, with its ``client_id`` (the service
  stores a message once per ``client_id``, so one that was in flight when the connection
  went is never stored twice); its acknowledgement is then the service's. One that waits
  longer than ``hold_seconds`` is answered ``unavailable`` (the client retries it);
- a ``leave`` is answered ok (the service dropped the session with the connection);
- anything else is answered ``unavailable`` with ``retry_after``.

The relay tells its sessions about the connection (:attr:`on_state`): ``reconnecting``
when it went, ``connected`` when it is back and their sessions are open again; clients then
re-join their rooms with ``since``, which is how nothing acknowledged is lost or doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import socketio

from .protocol import ProtocolError

Ack = dict[str, Any]
#: An event forwarded when the connection went before its acknowledgement came.
LOST: Ack = {"ok": False, "error": {"code": "unavailable", "message": "lost"}}


def _unavailable(message: str, retry_after: float = 2.0) -> Ack:
    return ProtocolError("unavailable", message, retry_after=retry_after).ack()


@dataclass(eq=False)
class _Held:
    """A ``send`` waiting for the connection and its session's re-join."""

    local: str
    room: Any
    data: Any
    answer: asyncio.Future[Ack]


class Upstream:
    """One Socket.IO connection (WebSocket) to the class service.

    :param url: the service's URL, e.g. ``http://127.0.0.1:10111/services/collab/`` (its
        Socket.IO endpoint is ``socket.io/`` under it); with several processes, their URLs
        separated by commas.
    :param key: picks this server's process among several (its user name): servers spread
        evenly, each always starts with the same one; when that one cannot be reached, the
        next in the list is tried.
    :param token: this server's ``JUPYTERHUB_API_TOKEN`` (sent as ``Authorization``).
    :param log: where connects, disconnects and failures are logged.
    :param ack_timeout: seconds to wait for the service's acknowledgement.
    :param hold_seconds: how long a held ``send`` waits before it is answered
        ``unavailable``; below the clients' own acknowledgement timeout (15 s).
    :param max_held: how many ``send``\\ s may be held at once, in all.
    :param reconnect_delay: the first pause before reconnecting; doubled up to
        ``reconnect_delay_max``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        log: logging.Logger,
        key: str = "",
        ack_timeout: float = 10.0,
        hold_seconds: float = 10.0,
        max_held: int = 256,
        reconnect_delay: float = 0.5,
        reconnect_delay_max: float = 5.0,
    ) -> None:
        self.targets = [_target(u) for u in url.split(",") if u.strip()]
        digest = hashlib.sha256(key.encode("utf-8")).digest()
        #: The index in :attr:`targets` of the process this relay uses (or tries next).
        self.current = int.from_bytes(digest[:4], "big") % len(self.targets)
        self.token = token
        self.log = log
        self.ack_timeout = ack_timeout
        self.hold_seconds = hold_seconds
        self.max_held = max_held
        self.reconnect_delay = reconnect_delay
        self.reconnect_delay_max = reconnect_delay_max
        #: ``connecting`` (never connected yet), ``connected``, ``reconnecting`` or ``closed``.
        self.state = "connecting"
        #: Called with ``(local ids, body)`` for each frame the service sends.
        self.on_frame: Callable[[list[str], str], None] = lambda _targets, _body: None
        #: Called with ``"connected"`` or ``"reconnecting"`` when the connection changes.
        self.on_state: Callable[[str], None] = lambda _state: None
        #: Called with ``(local id, ack)`` when the service answered a first ``open``.
        self.on_opened: Callable[[str, Ack], None] = lambda _local, _ack: None
        #: Counters: connections made, and sends that were held.
        self.connects = 0
        self.held_total = 0
        self._locals: set[str] = set()  # the sessions to have open
        self._open: set[str] = set()  # open on the current connection
        self._refused: dict[str, Ack] = {}  # the service's answer to an open it refused
        self._joined: set[tuple[str, Any]] = set()  # (local, room) joined on it
        self._held: list[_Held] = []
        self._inflight: set[asyncio.Future[Ack]] = set()
        self._gone = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.client = socketio.AsyncClient(reconnection=False, logger=False, engineio_logger=False)
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_disconnect)
        self.client.on("to", self._on_to)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Connect, and stay connected, in the background (call with the loop running)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._supervise())

    async def close(self) -> None:
        """Disconnect for good; held sends are answered ``unavailable``."""
        self.state = "closed"
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.client.disconnect(), 2.0)
        self._fail_inflight()
        for held in self._held:
            if not held.answer.done():
                held.answer.set_result(_unavailable("the server is shutting down"))
        self._held.clear()

    async def _supervise(self) -> None:
        delay = self.reconnect_delay
        failures = 0
        while self.state != "closed":
            self._gone.clear()
            origin, path = self.targets[self.current]
            try:
                await self.client.connect(
                    origin,
                    headers={"Authorization": f"token {self.token}"},
                    transports=["websocket"],
                    socketio_path=path,
                    wait_timeout=self.ack_timeout,
                )
            except Exception as error:
                failures += 1
                if failures == 1 or failures % 60 == 0:
                    self.log.warning(
                        "collab: cannot reach the class service at %s%s (%s); retrying",
                        origin,
                        path,
                        error,
                    )
                # Fail over to the next process at once; pause once all were tried.
                self.current = (self.current + 1) % len(self.targets)
                if failures % len(self.targets):
                    continue
                await asyncio.sleep(delay * random.uniform(0.75, 1.25))
                delay = min(delay * 2, self.reconnect_delay_max)
                continue
            failures, delay = 0, self.reconnect_delay
            await self._gone.wait()
            with contextlib.suppress(Exception):
                await self.client.disconnect()  # release what is left of the old connection
            await asyncio.sleep(self.reconnect_delay * random.uniform(0.5, 1.0))

    async def _on_connect(self) -> None:
        self.connects += 1
        # Not here: the connect handler runs in the reader, which must go on to read acks.
        asyncio.get_running_loop().create_task(self._reopen())

    async def _reopen(self) -> None:
        """Open every session on the new connection, then say it is back."""
        again = self.connects > 1
        self._refused.clear()
        for local in list(self._locals):
            await self._emit_open(local, first=False)
        self.state = "connected"
        self.log.info(
            "collab: %s the class service (%d sessions)",
            "reconnected to" if again else "connected to",
            len(self._open),
        )
        self.on_state("connected")

    async def _on_disconnect(self, reason: Any = None) -> None:
        if self.state != "closed":
            self.state = "reconnecting"
            self.log.warning("collab: lost the class service (%s); reconnecting", reason)
        self._open.clear()
        self._joined.clear()
        self._fail_inflight()
        self._gone.set()
        if self.state != "closed":
            self.on_state("reconnecting")

    def _fail_inflight(self) -> None:
        for future in list(self._inflight):
            if not future.done():
                future.set_result(LOST)
        self._inflight.clear()

    # -- sessions ----------------------------------------------------------------------------
    async def open(self, local: str) -> None:
        """A session of this server starts; it is opened upstream now or after a reconnect.

        Its events are forwarded after the ``open`` on the same connection, so the service
        knows the session when they arrive.
        """
        self._locals.add(local)
        if self.state == "connected":
            await self._emit_open(local, first=True)

    async def _emit_open(self, local: str, first: bool) -> None:
        def answered(ack: Any = None, *_rest: Any) -> None:
            result = ack if isinstance(ack, dict) else LOST
            if not result.get("ok"):
                self._open.discard(local)
                if result is not LOST:
                    self._refused[local] = result
                self.log.warning("collab: the class service refused a session: %s", result)
            if first or not result.get("ok"):
                self.on_opened(local, result)

        try:
            await self.client.emit("open", local, callback=answered)
        except Exception:
            return  # the connection went: opened again after the reconnect
        self._open.add(local)

    async def close_session(self, local: str) -> None:
        """A session of this server ended."""
        self._locals.discard(local)
        self._refused.pop(local, None)
        self._joined = {(lo, room) for lo, room in self._joined if lo != local}
        for held in [h for h in self._held if h.local == local]:
            self._held.remove(held)
            if not held.answer.done():
                held.answer.set_result(_unavailable("the session ended"))
        if local in self._open:
            self._open.discard(local)
            with contextlib.suppress(Exception):
                await self.client.emit("close", local)

    # -- events ------------------------------------------------------------------------------
    async def forward(self, local: str, event: str, data: Any) -> Ack:
        """Forward one protocol event of a session; its acknowledgement (see the module)."""
        refused = self._refused.get(local)
        if refused is not None:
            return refused
        if self.state != "connected" or local not in self._open:
            return await self._offline(local, event, data)
        ack = await self._call(local, event, data)
        if ack is LOST:
            return await self._offline(local, event, data)
        if ack.get("ok") and isinstance(data, dict):
            room = data.get("room")
            if event == "join":
                self._joined.add((local, room))
                self._release(local, room)
            elif event == "leave":
                self._joined.discard((local, room))
        return ack

    async def _offline(self, local: str, event: str, data: Any) -> Ack:
        if event == "send":
            return await self._hold(local, data)
        if event == "leave":
            return {"ok": True}
        return _unavailable("the class service is unreachable; reconnecting")

    async def _call(self, local: str, event: str, data: Any) -> Ack:
        answer: asyncio.Future[Ack] = asyncio.get_running_loop().create_future()

        def answered(ack: Any = None, *_rest: Any) -> None:
            if not answer.done():
                answer.set_result(ack if isinstance(ack, dict) else LOST)

        self._inflight.add(answer)
        try:
            await self.client.emit("ev", (local, event, data), callback=answered)
            return await asyncio.wait_for(asyncio.shield(answer), self.ack_timeout)
        except Exception:  # not connected, or no answer in time
            return LOST
        finally:
            self._inflight.discard(answer)

    async def _hold(self, local: str, data: Any) -> Ack:
        if len(self._held) >= self.max_held:
            return _unavailable("the class service is unreachable and too much waits for it")
        room = data.get("room") if isinstance(data, dict) else None
        held = _Held(local, room, data, asyncio.get_running_loop().create_future())
        self._held.append(held)
        self.held_total += 1
        try:
            return await asyncio.wait_for(asyncio.shield(held.answer), self.hold_seconds)
        except asyncio.TimeoutError:
            return _unavailable("the class service is unreachable; the message was not sent")
        finally:
            if held in self._held:
                self._held.remove(held)

    def _release(self, local: str, room: Any) -> None:
        """The session re-joined ``room``: forward its held sends, in order."""
        ready = [h for h in self._held if h.local == local and h.room == room]
        if not ready:
            return
        for held in ready:
            self._held.remove(held)

        async def resend() -> None:
            for held in ready:
                if held.answer.done():
                    continue  # answered by the timeout meanwhile
                ack = await self.forward(held.local, "send", held.data)
                if not held.answer.done():
                    held.answer.set_result(ack)

        asyncio.get_running_loop().create_task(resend())

    async def _on_to(self, targets: Any = None, body: Any = None, *_rest: Any) -> None:
        if isinstance(targets, list) and isinstance(body, str):
            self.on_frame([t for t in targets if isinstance(t, str)], body)

    def summary(self) -> dict[str, Any]:
        """For ``GET collab/api/stats``."""
        origin, path = self.targets[self.current]
        return {
            "state": self.state,
            "service": origin + path.removesuffix("socket.io"),
            "connects": self.connects,
            "sessions": len(self._locals),
            "held": len(self._held),
            "held_total": self.held_total,
        }


def _target(url: str) -> tuple[str, str]:
    """``(origin, Socket.IO path)`` of a service URL."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}", parts.path.rstrip("/") + "/socket.io"
