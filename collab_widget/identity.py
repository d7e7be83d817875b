"""Who is connecting: the user of a Socket.IO connection, as the service is told it.

The service does not know where users come from. It is given an :data:`IdentityResolver`,
a function from the connection's WSGI-like ``environ`` (which python-engineio passes to the
``connect`` handler and keeps per Engine.IO session) to a :class:`UserInfo`, or None to refuse
the connection. :func:`jupyter_identity` is the one for a Jupyter server: the user Jupyter's
``IdentityProvider`` resolved for the HTTP request that opened the connection.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class UserInfo:
    """A user as the server's IdentityProvider describes it."""

    username: str
    name: str
    display_name: str
    initials: str | None = None
    avatar_url: str | None = None
    color: str | None = None

    @classmethod
    def from_identity(cls, model: dict[str, Any]) -> UserInfo:
        """Build from ``IdentityProvider.identity_model(user)``."""
        username = str(model["username"])
        name = str(model.get("name") or username)
        display_name = str(model.get("display_name") or name)
        initials = model.get("initials") or "".join(p[:1] for p in display_name.split()[:2])
        return cls(
            username=username,
            name=name,
            display_name=display_name,
            initials=str(initials).upper()[:3] or None,
            avatar_url=model.get("avatar_url") or None,
            color=model.get("color") or None,
        )

    def public(self, color: str | None = None) -> dict[str, Any]:
        """The User object of the protocol, with the colour this user has in a room."""
        return {
            "username": self.username,
            "name": self.name,
            "display_name": self.display_name,
            "initials": self.initials,
            "avatar_url": self.avatar_url,
            "color": color or self.color,
        }


#: ``resolve(environ)``: the user behind a connection, or None when it is not authenticated.
#: ``environ`` is the WSGI-like dict python-engineio passes to ``connect`` (for the tornado
#: driver it holds the request's handler under ``"tornado.handler"``).
IdentityResolver = Callable[[dict[str, Any]], "UserInfo | None"]


def jupyter_identity(environ: dict[str, Any]) -> UserInfo | None:
    """The user Jupyter authenticated for the connection's HTTP request (None: nobody).

    The request handler (``SocketIOHandler``) ran Jupyter's ``prepare``, which set
    ``current_user`` from the server's ``IdentityProvider``; the user's fields come from
    that provider's ``identity_model``.
    """
    handler = environ.get("tornado.handler")
    user = getattr(handler, "current_user", None)
    if handler is None or user is None:
        return None
    return UserInfo.from_identity(handler.identity_provider.identity_model(user))
