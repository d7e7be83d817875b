"""Tornado handlers: the Socket.IO endpoint behind Jupyter's authentication, and two JSON APIs.

The Socket.IO handler is python-engineio's tornado handler (which serves both the WebSocket
upgrade and HTTP long-polling) combined with ``JupyterHandler``, so every request of a session,
on either transport, goes through Jupyter's ``prepare``: identity from the IdentityProvider
(cookie or token), Host checks, XSRF on POST for cookie-authenticated requests, and origin
checks.
"""

from __future__ import annotations

import json
from typing import Any

import socketio
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.utils import ensure_async
from tornado import web

from .service import CollabService

AUTH_RESOURCE = "collab"


def socketio_handler(service: CollabService) -> type[web.RequestHandler]:
    """Build the handler class serving ``service``'s Socket.IO server."""
    engineio_handler: Any = socketio.get_tornado_handler(service.sio)

    class SocketIOHandler(engineio_handler, JupyterHandler):  # type: ignore[misc, valid-type]
        """Engine.IO on both transports, authenticated per request like any Jupyter API."""

        auth_resource = AUTH_RESOURCE

        def _is_upgrade(self) -> bool:
            return self.request.headers.get("Upgrade", "").lower() == "websocket"

        async def prepare(self) -> None:  # type: ignore[override]
            # Jupyter's prepare: resolves the user, checks Host, XSRF on POST (cookie auth),
            # and refuses unauthenticated requests with 403 instead of a login redirect.
            await JupyterHandler.prepare(self, _redirect_to_login=False)
            if self.current_user is None:
                raise web.HTTPError(403)
            # Polling requests get the origin check APIHandler applies; WebSocket upgrades
            # get it from tornado, through check_origin below.
            if not self._is_upgrade() and not JupyterHandler.check_origin(self):
                raise web.HTTPError(403)
            authorized = await ensure_async(
                self.authorizer.is_authorized(self, self.current_user, "execute", AUTH_RESOURCE)
            )
            if not authorized:
                raise web.HTTPError(403)
            # A session id is only good for the user who opened it.
            eio_sid = self.get_query_argument("sid", None)
            if eio_sid is not None:
                owner = service.owner(eio_sid)
                if owner is not None and owner != self.current_user.username:
                    self.log.warning("collab: refused a request for another user's session")
                    raise web.HTTPError(403)

        def check_origin(self, origin: str | None = None) -> bool:
            return JupyterHandler.check_origin(self)

        async def open(self, *args: Any, **kwargs: Any) -> None:
            # Small frames (chat, presence) must not wait for Nagle's algorithm (~40 ms).
            self.set_nodelay(True)
            # An upgrade names its Engine.IO session: remember whose socket this is, so the
            # service can see when the connection falls behind.
            self._eio_sid = self.get_query_argument("sid", None)
            if self._eio_sid is not None:
                service.websockets[self._eio_sid] = self
            await super().open(*args, **kwargs)

        def on_close(self) -> None:
            if getattr(self, "_eio_sid", None) is not None:
                service.websockets.pop(self._eio_sid, None)
            super().on_close()

        def get_compression_options(self) -> dict[str, Any] | None:
            # The engineio driver turns on permessage-deflate for every connection (about
            # +45 % CPU per delivery and ~300 KB of zlib state per connection). Off.
            return None

        @ws_authenticated
        async def get(self, *args: Any, **kwargs: Any) -> None:
            await super().get(*args, **kwargs)

        @ws_authenticated
        async def post(self, *args: Any, **kwargs: Any) -> None:
            await super().post(*args, **kwargs)

        @ws_authenticated
        async def options(self, *args: Any, **kwargs: Any) -> None:
            await super().options(*args, **kwargs)

    return SocketIOHandler


class _ServiceAPIHandler(APIHandler):
    """An authenticated JSON endpoint reading from the service."""

    auth_resource = AUTH_RESOURCE

    def initialize(self, service: CollabService) -> None:
        self.service = service

    def _json(self, data: dict[str, Any]) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class RoomsHandler(_ServiceAPIHandler):
    """``GET collab/api/rooms``: the active rooms, member counts and last seq."""

    @web.authenticated
    def get(self) -> None:
        self._json({"rooms": self.service.room_summaries()})


class StatsHandler(_ServiceAPIHandler):
    """``GET collab/api/stats``: connections, rooms, message counters."""

    @web.authenticated
    def get(self) -> None:
        self._json(self.service.stats_summary())
