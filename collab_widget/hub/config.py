"""``configure_hub(c)``: the one call in ``jupyterhub_config.py`` that adds the class service.

It extends (never replaces) what the configuration already holds: the ``collab`` managed
service joins ``c.JupyterHub.services``; every user gets the scope to reach it
(``extra_user_scopes``); each single-user server's ``JUPYTERHUB_API_TOKEN`` carries that scope
(``Spawner.server_token_scopes``); and each server is told where the service is
(``COLLAB_SERVICE_URL`` in ``Spawner.environment``), which switches its extension to relaying.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

#: The scopes a single-user server's token holds by default (JupyterHub's ``server`` role).
SERVER_SCOPES = ["users:activity!user", "access:servers!server"]
#: The environment variable that tells a single-user server where the service is.
SERVICE_URL_ENV = "COLLAB_SERVICE_URL"
#: The service's options (a JSON object of ``CollabApp`` settings and its own).
SERVICE_CONFIG_ENV = "COLLAB_SERVICE_CONFIG"


def configure_hub(
    c: Any,
    *,
    name: str = "collab",
    url: str = "http://127.0.0.1:10111",
    data_dir: str | None = None,
    token_check_interval: float = 60.0,
    max_relays_per_user: int = 4,
    replicas: int = 1,
    redis_url: str | None = None,
    **settings: Any,
) -> None:
    """Add the class service to a JupyterHub configuration.

    Call it at the end of ``jupyterhub_config.py`` (after anything that assigns
    ``c.JupyterHub.services``, ``c.Spawner.environment`` or ``c.Spawner.server_token_scopes``
    outright), so it extends what is there.

    :param c: the configuration (``c`` in ``jupyterhub_config.py``).
    :param name: the service's name; it is served at ``/services/<name>/``.
    :param url: where the service listens, and where single-user servers reach it (their
        relays connect here directly, not through the proxy). With servers in containers or
        on other hosts, an address they can reach (e.g. ``http://hub:10111``).
    :param data_dir: the service's own directory (its history database); created with mode
        0700. Default: ``collab-service`` in the Hub's working directory.
    :param token_check_interval: seconds between re-checks of each relay's token with the
        Hub; a revoked token (a stopped server) is disconnected at the next check.
    :param max_relays_per_user: upstream connections one user may hold at once.
    :param replicas: how many service processes: ``<name>`` and ``<name>-1`` ... each a
        managed service on the next port after ``url``'s; each server's relay prefers one
        (by its user name) and fails over to the next. More than one needs ``redis_url``.
    :param redis_url: the Redis holding the rooms shared by the processes
        (``redis://[:password@]host:port/db``, with persistence: ``appendonly yes``); only
        the service processes get it. Without it, one process keeps the rooms itself (its
        SQLite file in ``data_dir``).
    :param settings: any ``CollabApp`` setting for the service (``history_limit``,
        ``message_rate``, ``max_connections_per_user``, ...), by its traitlet name.
    """
    from ..app import CollabApp

    unknown = sorted(key for key in settings if not CollabApp.class_traits(config=True).get(key))
    if unknown:
        raise TypeError(f"configure_hub: unknown settings {unknown}")
    if replicas < 1 or (replicas > 1 and not redis_url):
        raise ValueError("configure_hub: replicas > 1 share their rooms through redis_url")
    data_dir = os.path.abspath(data_dir or "collab-service")
    scope = f"access:services!service={name}"
    options = {
        "data_dir": data_dir,
        "token_check_interval": token_check_interval,
        "max_relays_per_user": max_relays_per_user,
        "access_scope": scope,
        "redis_url": redis_url,
        "settings": settings,
    }
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    services: list[dict[str, Any]] = []
    for index in range(replicas):
        replica = name if index == 0 else f"{name}-{index}"
        address = f"{parts.scheme}://{parts.hostname}:{port + index}"
        services.append(
            {
                "name": replica,
                "url": address,
                "command": [sys.executable, "-m", "collab_widget.hub"],
                "environment": {SERVICE_CONFIG_ENV: json.dumps(options)},
            }
        )
    hub = c.JupyterHub
    existing = list(hub.services) if "services" in hub else []
    names = {s["name"] for s in services}
    if any(s.get("name") in names for s in existing):
        raise ValueError(f"configure_hub: a service named {name!r} is configured already")
    hub.services = [*existing, *services]

    hub.extra_user_scopes = {*(hub.extra_user_scopes if "extra_user_scopes" in hub else ()), scope}

    spawner = c.Spawner
    scopes = spawner.server_token_scopes if "server_token_scopes" in spawner else None
    spawner.server_token_scopes = _with_scope(scopes, scope)

    # Every replica, in order; a relay picks one by its user and fails over along the list.
    service_urls = ",".join(s["url"] + f"/services/{s['name']}/" for s in services)
    env = spawner.environment if "environment" in spawner else {}
    spawner.environment = {**env, SERVICE_URL_ENV: service_urls}


def _with_scope(
    scopes: list[str] | Callable[[Any], list[str]] | None, scope: str
) -> list[str] | Callable[[Any], list[str]]:
    """``Spawner.server_token_scopes`` with ``scope`` added (a callable is wrapped)."""
    if scopes is None:
        return [*SERVER_SCOPES, scope]
    if callable(scopes):
        inner = scopes

        def with_scope(spawner: Any) -> list[str]:
            return [*inner(spawner), scope]

        return with_scope
    return [*scopes, scope] if scope not in scopes else list(scopes)
