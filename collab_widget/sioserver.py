"""python-socketio's server with guards at the packet level, below the event handlers.

A client can send Socket.IO packets that python-socketio cannot decode (a truncated JSON
array, an unknown packet type, a number JSON cannot hold) or events named like its own
lifecycle hooks (``connect``, ``disconnect``) or its catch-all (``*``). Unguarded, the first
log a traceback and are never answered, and the second reach the connect/disconnect handlers
as if the transport had said so. Here both are handed to the service instead, which answers
(when the packet asked for an acknowledgement), counts them against the client's rate limit
and logs one line.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

import socketio
from socketio import packet

#: Event names a client may not use: python-socketio's hooks and its catch-all.
RESERVED_EVENTS = frozenset({"connect", "disconnect", "*"})
#: The acknowledgement id of an EVENT packet as sent: ``2`` (or a BINARY_EVENT's ``5<n>-``),
#: an optional ``/namespace,``, digits.
_ACK_ID = re.compile(r"(?:2|5\d{1,6}-)(?:/[^,]{0,256},)?(\d{1,15})")

#: The length of the Socket.IO packet (text) being handled, as it came: the guard measures
#: a payload by it instead of encoding the decoded payload again. Set per packet, in the task
#: python-engineio runs it in; None for a binary attachment.
packet_size: ContextVar[int | None] = ContextVar("packet_size", default=None)

#: (eio_sid, the undecodable packet, why) -> the acknowledgement to answer with, if any.
BadPacketHandler = Callable[[str, Any, Exception], Awaitable[dict[str, Any] | None]]
#: (eio_sid, namespace, the reserved or missing name) -> the acknowledgement to answer with.
ReservedEventHandler = Callable[[str, str, str], Awaitable[dict[str, Any]]]


class GuardedServer(socketio.AsyncServer):
    """A ``socketio.AsyncServer`` that hands bad packets and reserved event names over.

    :param on_bad_packet: called for a packet that could not be decoded or dispatched; what
        it returns is sent as the acknowledgement when the packet carried an ack id.
    :param on_reserved_event: called for an event whose name is reserved or not a string;
        what it returns is the acknowledgement.
    :param kwargs: passed to ``socketio.AsyncServer``.
    """

    def __init__(
        self,
        *,
        on_bad_packet: BadPacketHandler,
        on_reserved_event: ReservedEventHandler,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._on_bad_packet = on_bad_packet
        self._on_reserved_event = on_reserved_event

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        packet_size.set(len(data) if isinstance(data, str) else None)
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as error:
            self._binary_packet.pop(eio_sid, None)  # a half-received binary event is void
            ack = await self._on_bad_packet(eio_sid, data, error)
            match = _ACK_ID.match(data) if isinstance(data, str) else None
            if ack is not None and match is not None:
                await self._answer(eio_sid, "/", int(match.group(1)), ack)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        name = data[0] if isinstance(data, list) and data else None
        if isinstance(name, str) and name not in RESERVED_EVENTS:
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        shown = name if isinstance(name, str) else repr(name)[:64]
        ack = await self._on_reserved_event(eio_sid, namespace or "/", shown)
        if id is not None:
            await self._answer(eio_sid, namespace or "/", id, ack)

    async def _answer(self, eio_sid: str, namespace: str, id: int, ack: dict[str, Any]) -> None:
        """Send ``ack`` as the acknowledgement ``id`` of a connected session."""
        if self.manager.sid_from_eio_sid(eio_sid, namespace) is None:
            return
        await self._send_packet(
            eio_sid, self.packet_class(packet.ACK, namespace=namespace, data=[ack], id=id)
        )
