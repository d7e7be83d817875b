"""A test IdentityProvider: each test token is one named user (jupyter_server's own mechanism).

Configured with ``c.ServerApp.identity_provider_class``; any other token is checked as usual
(the server's shared token gives anonymous users).
"""

from __future__ import annotations

import json
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from tornado import web
from traitlets import default

USERS = {
    f"token-{name}": User(
        name, name.title(), f"{name.title()} Tester", name[:2].upper(), None, None
    )
    for name in ("alice", "bob", "carol", "dave")
}
# A username longer than the service keeps as it is (it shortens it with a digest).
LONG_USERNAME = "long" + "g" * 196
USERS["token-long"] = User(LONG_USERNAME, "Long", "Long Name", "LN", None, None)


class TokenUsersIdentityProvider(IdentityProvider):
    async def get_user_token(self, handler: web.RequestHandler) -> User | None:
        user = USERS.get(self.get_token(handler) or "")
        if user is not None:
            return user
        return await super().get_user_token(handler)

    # PATCH /api/me: every user may change these fields of their own identity, as with
    # jupyter_server's default (PasswordIdentityProvider).
    @default("updatable_fields")
    def _default_updatable_fields(self) -> list[str]:
        return ["name", "display_name", "initials", "avatar_url", "color"]

    def update_user_model(self, current_user: User, user_data: dict[str, Any]) -> User:
        """Set the fields on the user, as jupyter_server's PasswordIdentityProvider does; a
        token user is the object in ``USERS``, so the change holds for this server process."""
        for field in self.updatable_fields:
            if field in user_data:
                setattr(current_user, field, user_data[field])
        return current_user

    def persist_user_model(self, handler: web.RequestHandler) -> None:
        """Token users are kept in ``USERS`` (changed in place); others in the login cookie."""
        user = handler.current_user
        if not _is_token_user(user):
            self.set_login_cookie(handler, user)

    def user_to_cookie(self, user: User) -> str:
        """A token user's login cookie only names them (their model is in ``USERS`` and may
        have grown past what fits in a cookie); other users' hold their model as usual."""
        if _is_token_user(user):
            return json.dumps({"token_user": user.username})
        return super().user_to_cookie(user)

    def user_from_cookie(self, cookie_value: str) -> User | None:
        """Inverse of :meth:`user_to_cookie`."""
        model = json.loads(cookie_value)
        if isinstance(model, dict) and "token_user" in model:
            return next((u for u in USERS.values() if u.username == model["token_user"]), None)
        return super().user_from_cookie(cookie_value)


def _is_token_user(user: object) -> bool:
    """Whether ``user`` is one of ``USERS`` (the object itself, which PATCH changes)."""
    return any(user is token_user for token_user in USERS.values())
