"""Who is connecting: the user of a Socket.IO connection, as the service is told it.

The service does not know where users come from. It is given an :data:`IdentityResolver`,
a function from the connection's WSGI-like ``environ`` (which python-engineio passes to the
``connect`` handler and keeps per Engine.IO session) to a :class:`UserInfo`, or None to refuse
the connection. :func:`jupyter_identity` is the one for a Jupyter server: the user Jupyter's
``IdentityProvider`` resolved for the HTTP request that opened the connection.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .limits import (
    COLOR_RE,
    MAX_AVATAR_URL,
    MAX_DISPLAY_NAME,
    MAX_INITIALS,
    MAX_USER_NAME,
    MAX_USERNAME,
)

_WHITESPACE = re.compile(r"\s+")
# What is never shown in a name: C0/C1 controls, lone surrogates (not encodable as UTF-8),
# and invisible or direction-changing marks that make one name look like another (zero-width
# space, LRM/RLM, the bidi embeddings, overrides and isolates, word joiners, the BOM).
# ZWJ/ZWNJ stay: emoji sequences and several scripts need them.
_INVISIBLE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b\u200e\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]"
)
# An avatar URL with any of these is dropped: browsers strip or reinterpret them.
_URL_REJECT = re.compile(r"[\s\\]")


def clean_text(value: Any, max_length: int) -> str:
    """A user-controlled text made safe to show and store.

    :param value: the text (anything else but None is converted with ``str``).
    :param max_length: the most characters (code points) kept.
    :returns: ``value`` with every run of whitespace made one space, control characters and
        invisible marks (see ``_INVISIBLE``) removed, trimmed, cut to ``max_length``.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    # Bound the work first: what is past this cannot survive the cut below unless nearly
    # all of it is invisible, and then the field falls back to its default.
    text = text[: max_length * 16]
    text = _INVISIBLE.sub("", _WHITESPACE.sub(" ", text))
    return " ".join(text.split())[:max_length].rstrip()


def clean_username(value: Any) -> str:
    """The ``username`` as given when it is 1-``MAX_USERNAME`` characters without control
    characters or whitespace other than spaces; else a readable prefix plus ``~`` and a hash
    of the whole value, so that different usernames stay different.

    :param value: the IdentityProvider's username (converted with ``str``).
    """
    raw = value if isinstance(value, str) else str(value)
    if (
        0 < len(raw) <= MAX_USERNAME
        and not _INVISIBLE.search(raw)
        and not _WHITESPACE.search(raw.replace(" ", ""))
    ):
        return raw
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return clean_text(raw, MAX_USERNAME - len(digest) - 1) + "~" + digest


def safe_color(value: Any) -> str | None:
    """A colour the user chose, as lowercase ``#rrggbb``, or None.

    :param value: accepted only as a string ``#rgb`` or ``#rrggbb`` (hex digits); anything else
        (names, ``rgb()``, alpha, CSS with ``;``) gives None, and the room's palette is used.
    """
    if not isinstance(value, str) or COLOR_RE.fullmatch(value) is None:
        return None
    hex_digits = value[1:].lower()
    if len(hex_digits) == 3:
        hex_digits = "".join(c * 2 for c in hex_digits)
    return "#" + hex_digits


def safe_avatar_url(value: Any) -> str | None:
    """An avatar URL the browser may load, or None.

    :param value: accepted only as an absolute ``http``/``https`` URL with a host, no user
        name or password, no whitespace, control characters or backslashes, at most
        ``MAX_AVATAR_URL`` characters. It is returned unchanged.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_AVATAR_URL:
        return None
    if _URL_REJECT.search(value) or _INVISIBLE.search(value):
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    return value


def initials_of(display_name: str) -> str:
    """The first letters of the first two words of ``display_name``.

    :param display_name: an already cleaned display name.
    """
    return "".join(word[:1] for word in display_name.split()[:2])


@dataclass(frozen=True)
class UserInfo:
    """A user as the server's IdentityProvider describes it, made safe to show and store.

    Every field but ``username`` can be changed by the user (jupyter_server's
    ``PATCH /api/me``), so each is checked when the object is made, however it is made:

    :param username: who the user is; kept as given when it is a sane identifier (see
        :func:`clean_username`), else shortened with a hash that keeps it unique.
    :param name: at most ``MAX_USER_NAME`` characters (see :func:`clean_text`); the
        username when empty.
    :param display_name: at most ``MAX_DISPLAY_NAME`` characters; ``name`` when empty.
    :param initials: at most ``MAX_INITIALS`` characters, upper case, no spaces; derived
        from ``display_name`` when empty.
    :param avatar_url: kept only when :func:`safe_avatar_url` accepts it.
    :param color: kept (as ``#rrggbb``) only when :func:`safe_color` accepts it; a room uses
        it only when no other member has it.
    """

    username: str
    name: str
    display_name: str
    initials: str | None = None
    avatar_url: str | None = None
    color: str | None = None

    def __post_init__(self) -> None:
        username = clean_username(self.username)
        name = clean_text(self.name, MAX_USER_NAME) or clean_text(username, MAX_USER_NAME)
        display_name = clean_text(self.display_name, MAX_DISPLAY_NAME) or clean_text(
            name, MAX_DISPLAY_NAME
        )
        initials = "".join(clean_text(self.initials, MAX_INITIALS * 4).split())
        initials = (initials or initials_of(display_name)).upper()[:MAX_INITIALS]
        fields = {
            "username": username,
            "name": name,
            "display_name": display_name,
            "initials": initials or None,
            "avatar_url": safe_avatar_url(self.avatar_url),
            "color": safe_color(self.color),
        }
        for key, value in fields.items():
            object.__setattr__(self, key, value)

    @classmethod
    def from_identity(cls, model: dict[str, Any]) -> UserInfo:
        """Build from ``IdentityProvider.identity_model(user)``.

        :param model: the identity model; ``username`` is required, the other fields are
            optional and checked as described in the class.
        """
        return cls(
            username=model["username"],
            name=model.get("name") or "",
            display_name=model.get("display_name") or "",
            initials=model.get("initials"),
            avatar_url=model.get("avatar_url"),
            color=model.get("color"),
        )

    def public(self, color: str | None = None) -> dict[str, Any]:
        """The User object of the protocol, with the colour this user has in a room.

        :param color: the colour the room assigned (see ``Room.add``); the user's own when None.
        """
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
