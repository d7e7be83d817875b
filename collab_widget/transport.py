"""The HTTP side of Engine.IO: requests read the way python-engineio reads them.

The Socket.IO handler (:mod:`.handlers`) checks a request before python-engineio sees it. A
check is only sound if it looks at what python-engineio will use: the same session id (the
*first* ``sid`` of the query, as ``urllib.parse.parse_qs`` gives it), and a body python-engineio
will decode in full. This module holds those readings and the Engine.IO setting that goes with
them, with no tornado in it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qs, parse_qsl

from engineio.payload import Payload


class DuplicateSessionId(ValueError):
    """The query names more than one Engine.IO session (``sid``)."""


def requested_session(query: str) -> str | None:
    """The Engine.IO session id python-engineio will serve a request on.

    :param query: the request's raw query string (without ``?``).
    :returns: the ``sid`` exactly as python-engineio reads it
        (``urllib.parse.parse_qs(query)["sid"][0]``), or None for a handshake.
    :raises DuplicateSessionId: when the query carries ``sid`` more than once (blank values
        and percent-encoded names included), so no two readings of it can disagree.
    """
    names = [name for name, _ in parse_qsl(query, keep_blank_values=True) if name == "sid"]
    if len(names) > 1:
        raise DuplicateSessionId("more than one sid in the query")
    values = parse_qs(query).get("sid")
    return values[0] if values else None


# A per-process key: the digests below mean nothing outside this process.
_DIGEST_KEY = secrets.token_bytes(32)


def credential_digest(token: str) -> bytes:
    """A keyed digest of an authentication token, kept instead of the token itself.

    :param token: the token a request was authenticated with (``Authorization: token ...`` or
        ``?token=``).
    """
    return hmac.new(_DIGEST_KEY, token.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()


def same_credential(first: bytes | None, second: bytes | None) -> bool:
    """Whether two :func:`credential_digest` values are present and equal (constant time).

    :param first: one digest, or None when that request was not token-authenticated.
    :param second: the other digest, or None likewise.
    """
    return first is not None and second is not None and hmac.compare_digest(first, second)


def packets_in(body_bytes: int) -> int:
    """The most Engine.IO packets a polling payload of ``body_bytes`` bytes can carry.

    :param body_bytes: the largest body accepted (``max_transport_bytes``). Packets are at
        least one character and separated by one (``\\x1e``).
    """
    return body_bytes // 2 + 1


def allow_payload_packets(body_bytes: int) -> None:
    """Let python-engineio decode every packet a polling POST of ``body_bytes`` can hold.

    python-engineio refuses a payload of more than ``Payload.max_decode_packets`` (16) packets
    with a ``ValueError`` that its server catches and answers ``200 OK``: the whole POST is
    dropped and the client believes it was delivered. socket.io-client puts its whole send
    buffer in one POST (bounded in bytes by the handshake's ``maxPayload``, not in packets), so
    a reconnect with queued sends easily has more than 16. The body's size is what bounds the
    work (the handler refuses bodies over ``max_transport_bytes``; every event still counts
    against the session's rate limits), so the packet limit is raised to what that size holds.

    The limit is a class attribute read at decode time; python-engineio has no per-server
    setting and builds its sockets and payloads itself. So it is set here, on the class, and
    only ever raised (never lowered), so that another Engine.IO server in the process keeps at
    least the limit it had.

    :param body_bytes: the largest polling body accepted (``max_transport_bytes``).
    """
    needed = packets_in(body_bytes)
    if Payload.max_decode_packets < needed:
        Payload.max_decode_packets = needed
