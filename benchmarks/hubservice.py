"""The class service for benchmarks, without a JupyterHub.

    python -m benchmarks.hubservice    # environment as JupyterHub gives it (see below)

Runs the real service (``collab_widget.hub.__main__``: ``build()`` and ``serve()``, the same
handler, token checks, service and relayed backend) with one thing replaced: the Hub's API.
``HubAuth`` is a stub that vouches for every token ``bench-<user>`` as the user ``<user>`` (no
groups) and for nothing else, so the service's own ``HubTokens.resolve`` runs as with a Hub.
This lives in ``benchmarks/`` only.

Environment, as JupyterHub sets it for a managed service: ``JUPYTERHUB_SERVICE_URL`` (where
to listen), ``JUPYTERHUB_SERVICE_PREFIX`` (``/services/collab/``), ``COLLAB_SERVICE_CONFIG``
(the options of ``configure_hub``: ``data_dir``, ``settings``, ...).

:class:`OwnerIdentityProvider` is for a benchmark Jupyter server in relay mode: every client
with the server's shared token is its owner (``BENCH_HUB_OWNER``, as ``JUPYTERHUB_USER``),
the only user a relay forwards.
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User

TOKEN_PREFIX = "bench-"
OWNER_ENV = "BENCH_HUB_OWNER"


def bench_token(user: str) -> str:
    """The token the stub Hub vouches for as ``user``."""
    return TOKEN_PREFIX + user


class BenchHubAuth:
    """What the service uses of ``jupyterhub.services.auth.HubAuth``: tokens ``bench-<user>``
    belong to the user ``<user>``, with the service's access scope."""

    access_scopes = frozenset({"access:services!service=collab"})

    async def user_for_token(
        self, token: str, use_cache: bool = True, sync: bool = True
    ) -> dict[str, Any] | None:
        if not token.startswith(TOKEN_PREFIX) or len(token) == len(TOKEN_PREFIX):
            return None
        name = token[len(TOKEN_PREFIX) :]
        return {"kind": "user", "name": name, "groups": [], "scopes": sorted(self.access_scopes)}

    def check_scopes(self, required: Any, model: dict[str, Any]) -> bool:
        return set(required) <= set(model.get("scopes", ()))


def _install_stub() -> None:
    """Make ``from jupyterhub.services.auth import HubAuth`` give :class:`BenchHubAuth`."""
    try:
        import jupyterhub.services.auth as auth
    except ImportError:  # no jupyterhub installed: a module holding only the stub
        auth = types.ModuleType("jupyterhub.services.auth")
        for name in ("jupyterhub", "jupyterhub.services"):
            sys.modules.setdefault(name, types.ModuleType(name))
        sys.modules["jupyterhub.services.auth"] = auth
    auth.HubAuth = BenchHubAuth  # type: ignore[attr-defined]


def main() -> None:
    _install_stub()
    from collab_widget.hub import __main__ as hub_main

    hub_main.main()


class OwnerIdentityProvider(IdentityProvider):
    """Every client with the shared token is the server's owner (``$BENCH_HUB_OWNER``),
    instead of an anonymous user of its own."""

    def generate_anonymous_user(self, handler: Any) -> User:
        owner = os.environ.get(OWNER_ENV, "owner")
        return User(owner, owner, owner, owner[:2].upper(), None, None)


if __name__ == "__main__":
    main()
