"""Who a relay is: its token's owner, as the JupyterHub vouches for it.

A relay (a user's single-user server) authenticates with its own ``JUPYTERHUB_API_TOKEN``.
The service asks the Hub who owns it (``HubAuth.user_for_token``) and accepts it only when
the owner is a **user** (not a service) and the token carries the service's access scope
(``access:services!service=<name>``). Whatever a relay says about itself is ignored: every
session it carries acts as that user, so a student who copies the token out of their kernel
can act only as themselves.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..identity import UserInfo


@dataclass(frozen=True)
class HubUser:
    """A Hub user, as the service knows them.

    :param info: the user (name from the Hub).
    :param groups: the Hub groups they belong to (visible through their token's
        ``read:users:groups`` scope; empty without it).
    """

    info: UserInfo
    groups: frozenset[str]


def token_from_headers(authorization: str | None) -> str | None:
    """The token of an ``Authorization: token <t>`` (or ``Bearer <t>``) header."""
    if not authorization:
        return None
    kind, _, token = authorization.strip().partition(" ")
    if kind.lower() not in ("token", "bearer") or not token.strip():
        return None
    return token.strip()


class HubTokens:
    """Resolves relay tokens with the Hub.

    :param auth: a ``jupyterhub.services.auth.HubAuth`` (from the service's environment:
        the Hub's API URL, the service's own token and name); its ``access_scopes`` are the
        scopes a token must carry.
    :param log: where refusals are logged.
    """

    def __init__(self, auth: Any, log: logging.Logger) -> None:
        self.auth = auth
        self.log = log

    async def resolve(self, token: str, fresh: bool = False) -> HubUser | None:
        """The user owning ``token``, or None when the Hub does not vouch for it here.

        :param token: a relay's token.
        :param fresh: ask the Hub now (a periodic re-check) instead of HubAuth's cache.
        :raises Exception: the Hub could not be asked (unreachable, failing): unknown, not
            refused; the caller decides.
        """
        model = await self.auth.user_for_token(token, use_cache=not fresh, sync=False)
        if not model:
            return None
        name = model.get("name")
        if model.get("kind") != "user" or not isinstance(name, str):
            self.log.warning(
                "collab: refused a token of %s %r: not a user", model.get("kind"), name
            )
            return None
        if not self.auth.check_scopes(self.auth.access_scopes, model):
            self.log.warning(
                "collab: refused a token of %s without %s", name, self.auth.access_scopes
            )
            return None
        groups = model.get("groups") or []
        info = UserInfo(username=name, name=name, display_name=name)
        return HubUser(info, frozenset(g for g in groups if isinstance(g, str)))
