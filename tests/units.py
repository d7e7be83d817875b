"""Builders shared by the unit tests."""

from __future__ import annotations

from collab_widget.identity import UserInfo
from collab_widget.ratelimit import TokenBucket
from collab_widget.rooms import Session


def session(sid: str, username: str, color: str | None = None) -> Session:
    """A session of ``username`` (display name derived, colour as given), not connected."""
    bucket = TokenBucket(10, 20, 0.0)
    user = UserInfo.from_identity(
        {"username": username, "name": username.title(), "display_name": "", "color": color}
    )
    return Session(sid, "s-" + sid, user, "websocket", bucket, bucket, bucket)
