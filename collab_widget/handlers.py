"""Tornado handlers: the Socket.IO endpoint behind Jupyter's authentication, and two JSON APIs.

The Socket.IO handler is python-engineio's tornado handler (which serves both the WebSocket
upgrade and HTTP long-polling) combined with ``JupyterHandler``, so every request of a session,
on either transport, goes through Jupyter's ``prepare``: identity from the IdentityProvider
(cookie or token), Host checks, XSRF on POST for cookie-authenticated requests, origin checks
and the authorizer. All of that happens after the headers and before the body is read: the
handler streams the body (``stream_request_body``) and takes at most ``max_transport_bytes``
of it, so a refused request never costs the server its body. A request naming a session
(``sid``, read as python-engineio reads it; two of them are refused) must come from the user
who opened it, or, for a session opened with a token and no login cookie, carry that token.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable
from typing import Any

import socketio
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import ensure_async
from tornado import httputil, web, websocket
from tornado.iostream import IOStream

from . import eiodriver, wsframes
from .sessions import SocketService
from .transport import (
    DuplicateSessionId,
    allow_payload_packets,
    credential_digest,
    requested_session,
    same_credential,
)

AUTH_RESOURCE = "collab"


def socketio_handler(service: SocketService) -> type[web.RequestHandler]:
    """Build the handler class serving ``service``'s Socket.IO server.

    :param service: the service whose Socket.IO server answers the requests; its
        ``settings.max_transport_bytes`` bounds every request body, and its ``websockets``
        map is kept up to date with the upgraded connections.
    """
    engineio_handler: Any = socketio.get_tornado_handler(service.sio)
    # A small fixed cost per connection: no task that merely waits, no queues kept empty.
    eiodriver.install(service.sio.eio, service.fanout.carriers)
    max_body = service.settings.max_transport_bytes
    allow_payload_packets(max_body)

    @web.stream_request_body
    class SocketIOHandler(  # type: ignore[misc, valid-type]
        wsframes.BatchReading, engineio_handler, JupyterHandler
    ):
        """Engine.IO on both transports, authenticated per request like any Jupyter API."""

        auth_resource = AUTH_RESOURCE

        #: A digest of the token this request was authenticated with, when it had no login
        #: cookie (None otherwise). The handshake's handler stays in the session's environ,
        #: so later requests of the session compare theirs with it (:meth:`_may_use`).
        token_digest: bytes | None = None
        #: The Engine.IO session id the request names, as python-engineio reads it.
        _eio_sid: str | None = None
        #: The session id this handler's WebSocket is registered under in the service.
        _ws_sid: str | None = None
        #: The environ python-engineio built for this request, while it is served (the lean
        #: driver sets it; see :meth:`_polled`).
        eio_environ: dict[str, Any] | None = None

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # python-engineio's driver made an asyncio.Queue (~3 KB); the lean driver hands
            # each message over where tornado delivers it.
            self.receive_queue = eiodriver.Inbox()

        def _is_upgrade(self) -> bool:
            return self.request.headers.get("Upgrade", "").lower() == "websocket"

        async def prepare(self) -> None:  # type: ignore[override]
            # Runs once the headers are in, before any of the body is read, in the task that
            # serves the whole request (a WebSocket's too): the service's stop waits for it.
            service.track(asyncio.current_task(), self.cut)
            # The TCP connection's stream (a WebSocket's too: the upgrade hands it over).
            self._tcp_stream: IOStream | None = getattr(self.request.connection, "stream", None)
            self._body: list[bytes] = []
            self._body_size = 0
            self._refusal: web.HTTPError | None = None
            try:
                await self._admit()
            except web.HTTPError as refusal:
                if self._body_over_limit():
                    raise  # answered now; tornado then closes the connection, body unread
                # Any body is within max_transport_bytes: the answer waits until it is in and
                # dropped (nothing of it is kept), so the client reads the refusal instead of
                # a reset while it is still sending, and the connection stays usable.
                self._refusal = refusal
                self._set_max_body_size()

        async def _admit(self) -> None:
            """Jupyter's checks, the session binding and the body limit; raises the refusal."""
            # Jupyter's prepare: resolves the user, checks Host, XSRF on POST (cookie auth),
            # and refuses unauthenticated requests with 403 instead of a login redirect.
            await JupyterHandler.prepare(self, _redirect_to_login=False)
            if self.current_user is None:
                raise web.HTTPError(403)
            if service.closing:
                # Not 503: Jupyter logs a 5xx as an error with the request's headers; a client
                # treats any refusal alike (it retries later).
                raise web.HTTPError(410, reason="Shutting down")
            # Polling requests get the origin check APIHandler applies; WebSocket upgrades
            # get it from tornado, through check_origin below.
            if not self._is_upgrade() and not JupyterHandler.check_origin(self):
                raise web.HTTPError(403)
            allowed = await ensure_async(
                self.authorizer.is_authorized(self, self.current_user, "execute", AUTH_RESOURCE)
            )
            if not allowed:
                raise web.HTTPError(403)
            await self._note_token()
            # The session is the one python-engineio will use: the first sid of the query;
            # a query with two cannot be read two ways.
            try:
                self._eio_sid = requested_session(self.request.query)
            except DuplicateSessionId:
                self.log.warning("collab: refused a request naming more than one session")
                raise web.HTTPError(400, reason="More than one sid") from None
            if self._eio_sid is not None and not self._may_use(self._eio_sid):
                self.log.warning("collab: refused a request for another user's session")
                raise web.HTTPError(403)
            if self._body_over_limit():
                raise web.HTTPError(413)
            self._set_max_body_size()

        async def _note_token(self) -> None:
            """Set :attr:`token_digest` when the request was authenticated by its token alone
            (no valid login cookie): such a client may have no cookie jar. A request with a
            login cookie is a cookie session, bound to its user only."""
            if not self.token_authenticated:
                return
            provider = self.identity_provider
            token = provider.get_token(self)
            if token and await ensure_async(provider.get_user_cookie(self)) is None:
                self.token_digest = credential_digest(token)

        def _may_use(self, eio_sid: str) -> bool:
            """Whether this request may act on session ``eio_sid``: the user who opened it, or,
            when the handshake was authenticated by a token alone (a client without a cookie
            jar, each of whose requests is a new anonymous user on a shared-token server), a
            request authenticated by that same token. Unknown sessions pass: python-engineio
            refuses them itself.

            :param eio_sid: the session the request names, as python-engineio reads it.
            """
            environ = service.sio.environ.get(eio_sid)
            if environ is None:
                return True
            # The handshake's own request: compare Jupyter's users as Jupyter resolved them
            # (not the service's cleaned copy), without resolving anyone again.
            handshake = environ.get("tornado.handler")
            owner = getattr(getattr(handshake, "current_user", None), "username", None)
            if owner is not None and owner == self.current_user.username:
                return True
            return same_credential(getattr(handshake, "token_digest", None), self.token_digest)

        def _declared_length(self) -> int | None:
            """The body length ``Content-Length`` declares (None: absent or unreadable, which
            tornado refuses or bounds itself)."""
            header = self.request.headers.get("Content-Length")
            if header is None:
                return None
            # Identical repeated values ("5, 5") are one length; tornado refuses the rest.
            values = {v.strip() for v in header.split(",")}
            value = values.pop() if len(values) == 1 else ""
            return int(value) if value.isdigit() else None

        def _body_over_limit(self) -> bool:
            """Whether ``Content-Length`` announces more than ``max_transport_bytes`` (a chunked
            body is cut off by tornado past the limit instead)."""
            declared = self._declared_length()
            return declared is not None and declared > max_body

        def _set_max_body_size(self) -> None:
            # A chunked body (or any other) is cut off by tornado past the limit.
            set_max_body_size = getattr(self.request.connection, "set_max_body_size", None)
            if set_max_body_size is not None:
                set_max_body_size(max_body)

        def data_received(self, chunk: bytes) -> None:
            if self._refusal is not None or self._finished:
                return  # refused: nothing of the body is kept
            if self._body_size + len(chunk) > max_body:
                return  # tornado's max body size ends the connection before this
            self._body.append(chunk)
            self._body_size += len(chunk)

        def _take_body(self) -> None:
            """Answer a deferred refusal, or hand the streamed body to python-engineio, which
            reads ``request.body`` and as many bytes of it as ``Content-Length`` says."""
            if self._refusal is not None:
                raise self._refusal
            self.request.body = b"".join(self._body)
            self._body = []
            if "Content-Length" not in self.request.headers:  # chunked
                self.request.headers["Content-Length"] = str(len(self.request.body))

        def check_origin(self, origin: str | None = None) -> bool:
            return JupyterHandler.check_origin(self)

        async def open(self, *args: Any, **kwargs: Any) -> None:
            # Small frames (chat, presence) must not wait for Nagle's algorithm (~40 ms).
            self.set_nodelay(True)
            # An upgrade names its Engine.IO session: remember whose socket this is, so the
            # service can see when the connection falls behind.
            if self._eio_sid is not None:
                self._ws_sid = self._eio_sid
                service.websockets[self._ws_sid] = self
            # What the driver's open does, but the task serving the WebSocket (which the
            # driver keeps nowhere) is the service's, for its stop to wait for.
            service.track(asyncio.ensure_future(service.sio.eio.handle_request(self)), self.cut)

        def bind(self, eio_sid: str) -> None:
            """A WebSocket-only connection (no upgrade) learns its Engine.IO session at the
            Socket.IO connect: registered as an upgraded one is (see :meth:`open`)."""
            self._ws_sid = eio_sid
            service.websockets[eio_sid] = self

        def on_message(self, message: str | bytes) -> Awaitable[None] | None:
            # Frequent events (presence) are handled here, in tornado's read loop, when the
            # Engine.IO reader is parked on an empty queue: nothing of this connection is
            # being handled, so the session's events keep their order. Anything else, or a
            # busy reader, goes the normal way (the driver queues it for python-engineio).
            queue = self.receive_queue
            if (
                self._ws_sid is not None
                and type(message) is str
                and len(message) <= service.settings.max_transport_bytes
                and not queue.qsize()
                and queue._getters  # the reader waits for the next message
                and service.fast_event(self._ws_sid, message)
            ):
                return None
            result: Awaitable[None] = super().on_message(message)
            return result

        def write_message(
            self, message: bytes | str | dict[str, Any], binary: bool = False
        ) -> asyncio.Future[None]:
            # python-engineio's driver does not await the future this returns; when the
            # connection is cut with the write still pending, the future fails with
            # WebSocketClosedError and asyncio logs "Task exception was never retrieved" and
            # a traceback. Nothing is lost by dropping it: the connection's reader sees the
            # close and ends the session. A done-callback that retrieves the error is the
            # cheapest fix (no await and wakeup per packet in the writer, whose writes also
            # keep not waiting for a slow client); the fan-out's direct writes go through
            # tornado's IOStream.write, whose futures tornado already retrieves.
            future: asyncio.Future[None] = super().write_message(message, binary=binary)
            future.add_done_callback(_retrieve)
            return future

        def finish(self, *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
            if service.closing and self.get_status() != 101:
                # Shutting down (Jupyter has closed the listening socket): the client drops
                # this keep-alive connection after the answer, so no more requests come.
                self.set_header("Connection", "close")
            result: asyncio.Future[Any] = super().finish(*args, **kwargs)
            return result

        def cut(self) -> None:
            """Close this request's TCP connection now (the service's stop does, for a client
            that does not finish closing in time)."""
            # Not through ws_connection: tornado forgets it as soon as a close begins, and
            # then waits 5 s for the client's close frame.
            if self._tcp_stream is not None and not self._tcp_stream.closed():
                self._tcp_stream.close()

        def on_connection_close(self) -> None:
            # A streamed body that never finishes must still end the request's wait for it
            # (tornado's WebSocketHandler does not, as RequestHandler does).
            web.RequestHandler.on_connection_close(self)
            super().on_connection_close()

        def on_close(self) -> None:
            if self._ws_sid is not None and service.websockets.get(self._ws_sid) is self:
                del service.websockets[self._ws_sid]
            super().on_close()

        def release_request(self) -> None:
            """The request is over but this handler stays for the session's life: its
            WebSocket carries the session now (the lean driver calls this once), or it was
            the session's polling handshake (whose environ keeps it). Drop what only the
            HTTP request needed, about 4 KB per connection. Gone:
            the request's headers, cookies, arguments and HTTP/1 connection objects (the
            stream was detached from them), the response's headers and login cookie (sent
            with the 101), the template namespace. Kept: what is read later: the user and
            :attr:`token_digest` (whose session this is, for the session's later requests
            and Socket.IO connects), the request line (logs), the body future (read by
            :meth:`on_connection_close`), the TCP stream (:meth:`cut`)."""
            self.eio_environ = None
            self.__dict__.pop("_new_cookie", None)
            self._headers = RELEASED_HEADERS
            self.ui = None  # type: ignore[assignment]  # tornado clears it at close too
            request = self.request
            request.__dict__.pop("_cookies", None)  # parsed again if ever read
            # Emptied in place too: tornado's WebSocketHandler.get keeps them in a local.
            request.headers.clear()
            request.headers = RELEASED_HEADERS
            request.arguments = request.query_arguments = request.body_arguments = {}
            request.connection = None
            request.server_connection = None

        def get_compression_options(self) -> dict[str, Any] | None:
            # The engineio driver turns on permessage-deflate for every connection (about
            # +45 % CPU per delivery and ~300 KB of zlib state per connection). Off.
            return None

        @ws_authenticated
        def get(self, *args: Any, **kwargs: Any) -> Awaitable[None]:
            self._take_body()
            if self._is_upgrade():
                # tornado's handshake, as python-engineio's get does for an upgrade, without
                # its coroutine in between (it would wait as long as the connection lasts).
                upgraded: Awaitable[None] = websocket.WebSocketHandler.get(self, *args, **kwargs)
                return upgraded
            return self._polled(super().get(*args, **kwargs))

        @ws_authenticated
        async def post(self, *args: Any, **kwargs: Any) -> None:
            self._take_body()
            await self._polled(super().post(*args, **kwargs))

        @ws_authenticated
        async def options(self, *args: Any, **kwargs: Any) -> None:
            self._take_body()
            await self._polled(super().options(*args, **kwargs))

        async def _polled(self, served: Awaitable[None]) -> None:
            """Serve an HTTP (polling) request. A handshake's environ and handler stay with
            the session for its life (python-socketio keeps the environ; it holds the
            handler): of them, only what is read later is kept."""
            try:
                await served
            finally:
                environ, self.eio_environ = self.eio_environ, None
            if environ is not None and self._eio_sid is None and self.request.method == "GET":
                eiodriver.slim_environ(environ)
                self.release_request()
                self._tcp_stream = None  # answered: nothing to cut, and the stream may go

    return SocketIOHandler


class _ReleasedHeaders(httputil.HTTPHeaders):
    """The headers of a request (or response) that is over: empty and read-only, so that
    one instance stands in for all of them (see ``release_request``)."""

    def add(self, name: str, value: str, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the HTTP request is over; its headers were released")

    def __setitem__(self, name: str, value: str) -> None:
        raise RuntimeError("the HTTP request is over; its headers were released")

    def __delitem__(self, name: str) -> None:
        raise RuntimeError("the HTTP request is over; its headers were released")


#: The headers of every request and response released after a WebSocket upgrade.
RELEASED_HEADERS = _ReleasedHeaders()


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark ``future``'s exception, if any, as retrieved (see ``write_message``)."""
    if not future.cancelled():
        future.exception()


class _ServiceAPIHandler(APIHandler):
    """An authenticated JSON endpoint reading from the service, authorized on resource
    ``collab`` like the Socket.IO endpoint."""

    auth_resource = AUTH_RESOURCE

    def initialize(self, service: SocketService) -> None:
        """:param service: the service the endpoint reports on."""
        self.service = service

    def _json(self, data: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class RoomsHandler(_ServiceAPIHandler):
    """``GET collab/api/rooms``: the active rooms, member counts and last seq."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self._json({"rooms": self.service.room_summaries()})


class StatsHandler(_ServiceAPIHandler):
    """``GET collab/api/stats``: connections, rooms, message counters."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        self._json(self.service.stats_summary())
