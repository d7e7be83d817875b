"""An asyncio Python client for protocol v1, over python-socketio's ``AsyncClient``.

Tests, benchmarks, scripts and classroom bots use it::

    from collab_widget.client import CollabClient

    async with CollabClient("http://127.0.0.1:8888/", token="...") as client:
        client.on("message", lambda m: print(m["user"]["display_name"], m["text"]))
        await client.join("class-101")
        await client.send("class-101", "hello")

Needs the ``client`` extra (``pip install collab-widget[client]``), which brings aiohttp.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio

SOCKETIO_PATH = "collab/socket.io"


class CollabError(Exception):
    """The server refused an event: ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = dict(detail or {})


class CollabClient:
    """One Socket.IO connection to a Jupyter server running collab-widget.

    :param url: the server URL with its base URL, e.g. ``http://127.0.0.1:8888/user/ada/``.
    :param token: a Jupyter API token, sent as ``Authorization: token ...``.
    :param headers: further HTTP headers (e.g. ``Cookie`` and ``X-XSRFToken`` for cookie auth).
    :param transports: ``["websocket"]``, ``["polling"]`` or both (the default: polling first,
        then upgrade, as browsers do).
    :param timeout: seconds to wait for each acknowledgement.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transports: list[str] | None = None,
        timeout: float = 10.0,
        reconnection: bool = False,
    ) -> None:
        parts = urlsplit(url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        base = parts.path if parts.path.endswith("/") else parts.path + "/"
        self.socketio_path = base + SOCKETIO_PATH
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = f"token {token}"
        self.transports = transports
        self.timeout = timeout
        self.sio = socketio.AsyncClient(
            reconnection=reconnection, handle_sigint=False, http_session=self._http_session
        )

    def _http_session(self) -> aiohttp.ClientSession:
        # python-engineio sends custom headers with the handshake only; a browser sends its
        # headers (token, X-XSRFToken) with every polling request, and so does this session.
        # Cookies are kept also for IP-address hosts (aiohttp drops them by default), so an
        # anonymous user stays the same user across requests, as in a browser.
        return aiohttp.ClientSession(
            headers=self.headers, cookie_jar=aiohttp.CookieJar(unsafe=True)
        )

    async def __aenter__(self) -> CollabClient:
        await self.connect()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.disconnect()

    # -- connection --------------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect; raises ``socketio.exceptions.ConnectionError`` when refused."""
        await self.sio.connect(
            self.origin,
            headers=self.headers,
            transports=self.transports,
            socketio_path=self.socketio_path,
            wait_timeout=self.timeout,
        )

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    @property
    def connected(self) -> bool:
        return bool(self.sio.connected)

    @property
    def transport(self) -> str | None:
        return self.sio.transport() if self.sio.connected else None

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Call ``handler`` for a server event (``message``, ``joined``, ``left``, ``presence``,
        ``connect``, ``disconnect``); it may be a coroutine function."""
        self.sio.on(event, handler)

    # -- protocol v1 -------------------------------------------------------------------------
    async def call(self, event: str, data: Any = None) -> Any:
        """Emit ``event`` and return the raw acknowledgement, whatever it says."""
        return await self.sio.call(event, data, timeout=self.timeout)

    async def request(self, event: str, data: Any) -> dict[str, Any]:
        """Emit ``event``; return the acknowledgement, or raise :class:`CollabError`."""
        ack = await self.call(event, data)
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = ack.get("error", {}) if isinstance(ack, dict) else {}
            raise CollabError(error.get("code", "bad_ack"), error.get("message", repr(ack)), error)
        return ack

    async def join(self, room: str, since: int | None = None) -> dict[str, Any]:
        """Join ``room``; returns ``{room, you, members, history, has_more, last_seq, ...}``.

        ``history`` is one page: the newest messages (``has_more``: older ones exist), or
        with ``since`` the oldest ones after it (``has_more``: page on with
        :meth:`catch_up`, or ``history(room, after=...)``).
        """
        data: dict[str, Any] = {"room": room}
        if since is not None:
            data["since"] = since
        return await self.request("join", data)

    async def catch_up(self, room: str, since: int) -> list[dict[str, Any]]:
        """Every message of ``room`` after ``since``, oldest first, page by page."""
        messages: list[dict[str, Any]] = []
        has_more = True
        while has_more:
            page, has_more = await self.history(room, after=since)
            messages.extend(page)
            if not page:
                break
            since = page[-1]["seq"]
        return messages

    async def leave(self, room: str) -> None:
        await self.request("leave", {"room": room})

    async def send(self, room: str, text: str, client_id: str | None = None) -> dict[str, Any]:
        """Send a chat message; returns the stored Message (with its ``seq``)."""
        client_id = client_id or uuid.uuid4().hex
        ack = await self.request("send", {"room": room, "text": text, "client_id": client_id})
        return ack["message"]

    async def history(
        self,
        room: str,
        before: int | None = None,
        limit: int | None = None,
        after: int | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of messages, oldest first, and whether there are more: the newest ones
        before ``before`` (older pages), or with ``after`` the oldest ones after it."""
        data: dict[str, Any] = {"room": room}
        if before is not None:
            data["before"] = before
        if after is not None:
            data["after"] = after
        if limit is not None:
            data["limit"] = limit
        ack = await self.request("history", data)
        return ack["messages"], ack["has_more"]

    async def presence(self, room: str, state: dict[str, Any] | None) -> None:
        """Set (or, with None, clear) this connection's presence in ``room``."""
        await self.request("presence", {"room": room, "state": state})

    async def rooms(self) -> list[dict[str, Any]]:
        return (await self.request("rooms", {}))["rooms"]
