"""A test IdentityProvider: each test token is one named user (jupyter_server's own mechanism).

Configured with ``c.ServerApp.identity_provider_class``; any other token is checked as usual
(the server's shared token gives anonymous users).
"""

from __future__ import annotations

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web

USERS = {
    f"token-{name}": User(
        name, name.title(), f"{name.title()} Tester", name[:2].upper(), None, None
    )
    for name in ("alice", "bob", "carol", "dave")
}


class TokenUsersIdentityProvider(IdentityProvider):
    async def get_user_token(self, handler: web.RequestHandler) -> User | None:
        user = USERS.get(self.get_token(handler) or "")
        if user is not None:
            return user
        return await super().get_user_token(handler)
