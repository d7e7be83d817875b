"""Reading a tornado WebSocket's incoming frames in batches.

tornado's RFC 6455 protocol (``WebSocketProtocol13``) reads each frame with three or four
``IOStream.read_bytes`` calls (header, extended length, mask, payload): a Future each, and,
once the frame is read, the stream stops listening for input (its buffer is not empty yet)
and starts again when the next read finds nothing. That is two ``epoll_ctl`` calls and the
selector's Python bookkeeping per frame. With 300 members sending presence at 20 Hz
(6,000 small frames a second) it was about 40 % of the server's busy time.

:class:`BatchReadingProtocol` is tornado's protocol with one change: it reads what the
kernel has (``read_bytes(..., partial=True)``, one Future) and handles every whole frame in
it. A read that empties tornado's buffer leaves the stream listening, so nothing is
re-registered between frames. The checks are tornado's (reserved bits, control frames,
fragments, ``max_message_size``), and messages, pings, pongs and the close handshake go
through tornado's own ``_handle_message``. A connection that negotiated compression
(``permessage-deflate``) is read by tornado's own loop.
"""

from __future__ import annotations

import asyncio
import struct
from asyncio import Future
from typing import NamedTuple

from tornado.iostream import StreamClosedError
from tornado.util import _websocket_mask
from tornado.websocket import WebSocketProtocol, WebSocketProtocol13

#: The most one read takes from tornado's buffer (the kernel's receive buffer holds more).
READ_SIZE = 64 * 1024
#: As tornado's own loop does from 6.6 on: yield to other connections after this much work
#: in a row, counting each frame as :data:`FRAME_COST` bytes besides its own, so a client
#: that sends without pause cannot hold the event loop.
YIELD_AFTER = 256 * 1024
FRAME_COST = 1024

_FIN = 0x80
_RSV = 0x70
_OPCODE = 0x0F
_CONTROL = 0x08
_MASKED = 0x80
_LENGTH = 0x7F
_LENGTH_16 = struct.Struct("!H")
_LENGTH_64 = struct.Struct("!Q")


class Frame(NamedTuple):
    """A frame's header, as read from the start of its bytes."""

    first: int  #: the first byte: FIN, the reserved bits and the opcode
    start: int  #: where the payload starts, counted from the frame's first byte
    length: int  #: the payload's length
    mask: bytes | None  #: the 4-byte masking key (None: unmasked)


def read_header(data: bytes, pos: int) -> Frame | None:
    """The header of the frame that starts at ``data[pos]``; None while the header is not
    all there yet (its payload may not be either)."""
    available = len(data) - pos
    if available < 2:
        return None
    first = data[pos]
    second = data[pos + 1]
    length = second & _LENGTH
    start = 2
    if length == 126:
        if available < 4:
            return None
        length = _LENGTH_16.unpack_from(data, pos + 2)[0]
        start = 4
    elif length == 127:
        if available < 10:
            return None
        length = _LENGTH_64.unpack_from(data, pos + 2)[0]
        start = 10
    mask = None
    if second & _MASKED:
        if available < start + 4:
            return None
        mask = data[pos + start : pos + start + 4]
        start += 4
    return Frame(first, start, length, mask)


class BatchReadingProtocol(WebSocketProtocol13):
    """tornado's WebSocket protocol (version 13), reading frames in batches (see the module
    docstring). Build it with :func:`reading_in_batches`."""

    async def _receive_frame_loop(self) -> None:
        if self._decompressor is not None:  # compressed frames: tornado's own reading
            await super()._receive_frame_loop()
            return
        try:
            await self._read_batches()
        except StreamClosedError:
            self._abort()
        finally:
            self.handler.on_ws_connection_close(self.close_code, self.close_reason)

    async def _read_batches(self) -> None:
        """Read until the connection ends. Each read takes what has arrived; every whole
        frame in it is handled in order before the next. A frame whose header is in but not
        its payload waits for exactly the rest (one more read, however large the frame)."""
        stream = self.stream
        data = b""
        pos = 0  # where the next frame starts in data
        work = 0
        while not self.client_terminated:
            frame = read_header(data, pos)
            if frame is None:  # the next header is not all there: read what has arrived
                rest, data = data[pos:], b""  # what was handled is not kept while idle
                chunk = await stream.read_bytes(READ_SIZE, partial=True)
                self._wire_bytes_in += len(chunk)
                data = rest + chunk if rest else chunk
                pos = 0
                continue
            if not self._admissible(frame):
                return
            end = pos + frame.start + frame.length
            if end > len(data):  # the payload is on its way
                missing = end - len(data)
                data = data[pos:]
                rest = await stream.read_bytes(missing)
                self._wire_bytes_in += len(rest)
                data += rest
                pos = 0
                continue
            handled = self._frame(frame, data[pos + frame.start : end])
            pos = end
            if handled is not None:
                await handled
            work += FRAME_COST + frame.start + frame.length
            if work >= YIELD_AFTER:
                work = 0
                await asyncio.sleep(0)

    def _admissible(self, frame: Frame) -> bool:
        """tornado's checks of a frame's header, made before its payload is read: a frame
        with reserved bits (an extension nobody negotiated) or a long or fragmented control
        frame aborts the connection; one that makes a message longer than
        ``max_message_size`` closes it with 1009."""
        first = frame.first
        if first & _RSV or (first & _CONTROL and (frame.length >= 126 or not first & _FIN)):
            self._abort()
            return False
        fragments = self._fragmented_message_buffer
        size = frame.length + (len(fragments) if fragments is not None else 0)
        if size > self.params.max_message_size:
            self.close(1009, "message too big")
            self._abort()
            return False
        return True

    def _frame(self, frame: Frame, payload: bytes) -> Future[None] | None:
        """Handle one whole, admissible frame as tornado's ``_receive_frame`` does: unmask
        it, join a fragmented message (a continuation without a start, or a new message
        before the last one ended, aborts the connection), and hand a whole message to
        ``_handle_message``. Returns what the message's handler returned to wait for."""
        first = frame.first
        opcode = first & _OPCODE
        final = first & _FIN
        if frame.mask is not None:
            payload = _websocket_mask(frame.mask, payload)
        fragments = self._fragmented_message_buffer
        if opcode == 0:  # a continuation
            if fragments is None:
                self._abort()
                return None
            fragments.extend(payload)
            if not final:
                return None
            opcode = self._fragmented_message_opcode
            payload = bytes(fragments)
            self._fragmented_message_buffer = None
        elif not opcode & _CONTROL:  # a new message
            if fragments is not None:
                self._abort()
                return None
            if not final:
                self._fragmented_message_opcode = opcode
                self._fragmented_message_buffer = bytearray(payload)
                return None
        return self._handle_message(opcode, payload)


def reading_in_batches(protocol: WebSocketProtocol | None) -> WebSocketProtocol | None:
    """``protocol`` (what tornado's ``WebSocketHandler.get_websocket_protocol`` built) as a
    :class:`BatchReadingProtocol`, when it is tornado's version 13 protocol exactly (it is
    then the same object, state and all); anything else is returned as it is."""
    if type(protocol) is WebSocketProtocol13:
        protocol.__class__ = BatchReadingProtocol
    return protocol


class BatchReading:
    """Put first in the bases of a tornado ``WebSocketHandler``: its WebSockets read incoming
    frames in batches (:func:`reading_in_batches`)."""

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        return reading_in_batches(super().get_websocket_protocol())  # type: ignore[misc]
