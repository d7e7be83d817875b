"""``python -m collab_widget.hub``: the class service, as JupyterHub runs it.

JupyterHub starts it (a managed service added by :func:`~collab_widget.hub.configure_hub`)
with its environment: ``JUPYTERHUB_SERVICE_URL`` (where to listen),
``JUPYTERHUB_SERVICE_PREFIX`` (``/services/collab/``), ``JUPYTERHUB_API_URL`` and
``JUPYTERHUB_API_TOKEN`` (to ask the Hub about tokens), and ``COLLAB_SERVICE_CONFIG`` (the
options given to ``configure_hub``). It serves Socket.IO for relays at
``<prefix>socket.io/`` until SIGTERM, then closes every connection and its history store.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
from typing import Any
from urllib.parse import urlsplit

import socketio
from tornado import web

from ..app import CollabApp
from ..gcpolicy import freeze_startup_objects
from ..settings import ServiceSettings
from ..wsframes import BatchReading
from .auth import HubTokens, token_from_headers
from .config import SERVICE_CONFIG_ENV
from .routes import RelayedBackend
from .service import ClassService

log = logging.getLogger("collab_widget.hub")


def relay_handler(service: ClassService, tokens: HubTokens) -> type[web.RequestHandler]:
    """python-engineio's tornado handler, behind the Hub's authentication: a request
    without a token the Hub vouches for is refused (403) before any Engine.IO session."""
    base: type[web.RequestHandler] = socketio.get_tornado_handler(service.sio)

    class RelayHandler(BatchReading, base):  # type: ignore[valid-type,misc]
        async def prepare(self) -> None:
            if service.closing:
                raise web.HTTPError(410)
            token = token_from_headers(self.request.headers.get("Authorization"))
            try:
                user = await tokens.resolve(token) if token else None
            except Exception as error:
                log.warning("collab: could not check a token with the Hub: %r", error)
                raise web.HTTPError(503) from error
            if user is None:
                raise web.HTTPError(403)
            #: The Hub's answer, read by the Socket.IO connect (no second question to the Hub).
            self.hub_user = user

        async def open(self, *args: Any, **kwargs: Any) -> None:
            # Small frames (acknowledgements) go out at once, not after a delayed TCP ACK.
            self.set_nodelay(True)
            await super().open(*args, **kwargs)

    return RelayHandler


class HealthHandler(web.RequestHandler):
    """``GET <prefix>``: the service is up (nothing more is said without a token)."""

    def get(self) -> None:
        self.write({"service": "collab", "ok": True})


def build(options: dict[str, Any]) -> tuple[ClassService, HubTokens]:
    """The service as ``options`` (``COLLAB_SERVICE_CONFIG``) describe it."""
    from jupyterhub.services.auth import HubAuth

    data_dir = options.get("data_dir") or os.path.abspath("collab-service")
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    settings = dict(options.get("settings") or {})
    settings.setdefault("history_path", os.path.join(data_dir, "history.sqlite3"))
    app = CollabApp(**settings)
    app.log = log
    backend: RelayedBackend
    redis_url = options.get("redis_url")
    if redis_url:
        from .redis_backend import RedisBackend

        backend = RedisBackend(
            redis_url,
            app.history_limit,
            app.max_rooms_per_session,
            log,
            empty_room_grace=app.empty_room_grace,
        )
    else:
        built = app.build_backend(RelayedBackend)
        assert isinstance(built, RelayedBackend)
        backend = built
    scope = options.get("access_scope")
    auth = HubAuth(access_scopes={scope}) if scope else HubAuth()
    tokens = HubTokens(auth, log)
    service = ClassService(
        ServiceSettings.from_config(app),
        backend,
        tokens,
        log,
        token_check_interval=float(options.get("token_check_interval", 60.0)),
        max_relays_per_user=int(options.get("max_relays_per_user", 4)),
    )
    if redis_url:
        log.info("collab: class service, rooms shared through Redis")
    else:
        log.info("collab: class service, history in %s", app.history_path)
    return service, tokens


async def serve(options: dict[str, Any]) -> None:
    """Run until SIGTERM or SIGINT."""
    service, tokens = build(options)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/collab/")
    bind = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10111"))
    application = web.Application(
        [(prefix + "socket.io/", relay_handler(service, tokens)), (prefix + "?", HealthHandler)]
    )
    server = application.listen(bind.port or 80, bind.hostname or "127.0.0.1", xheaders=True)
    service.start()
    freeze_startup_objects()
    log.info("collab: listening on %s%s", bind.geturl().rstrip("/"), prefix)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    log.info("collab: stopping")
    server.stop()
    await service.stop()
    await server.close_all_connections()


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="[collab-service %(levelname)1.1s %(asctime)s] %(message)s"
    )
    log.setLevel(logging.INFO)
    asyncio.run(serve(json.loads(os.environ.get(SERVICE_CONFIG_ENV) or "{}")))


if __name__ == "__main__":
    main()
