"""Broadcast one encoded Socket.IO event to many sessions, cheaply.

python-socketio's ``emit`` to a room encodes the packet once but then starts one asyncio task
per recipient, which then queues the packet for that connection's writer task. For a room of
300 that is most of the server's CPU per message. Here a frame is encoded once (text and
UTF-8 bytes) and, per recipient:

- a session carried by a WebSocket (listed in ``carriers`` by the lean Engine.IO driver,
  :mod:`.eiodriver`) gets the WebSocket frame, also built once, through its carrier: straight
  to the socket, or behind what tornado still holds for it. Per recipient that touches one
  small object and makes one ``send(2)``: with a few hundred recipients the objects of the
  old path (session, queue, handler, protocol, stream) were a cache miss each, and cost
  about a fifth of the server's CPU per delivery;
- on a WebSocket of python-engineio's own driver whose writer is idle (nothing queued,
  nothing in flight) the frame is written the same way, found through the session;
- otherwise (polling, an upgrade in progress, packets still queued) it is appended to the
  Engine.IO session's queue, after what is already there, so every connection still sees its
  packets in order.

:class:`Fanout` also answers the transport questions the service has about one connection:
whether it is still writing (a stalled client) and releasing a closed client's pending poll.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Iterable
from typing import Any

import engineio.packet
import socketio

from .eiodriver import Carriers, send_frame, websocket_stream

_dumps = json.JSONEncoder(separators=(",", ":")).encode
log = logging.getLogger(__name__)
# A polling client with more packets than this waiting for its next GET is behind.
POLL_BACKLOG = 8
# A WebSocket with more bytes than this in tornado's write buffer is behind. A batch of a big
# room (~25 KB for 1,000 members) often waits there in part while the client reads the one
# before it: that is a client keeping up, not a stalled one.
WRITE_BACKLOG = 64 * 1024


class Frame:
    """One Socket.IO event (or acknowledgement), encoded once for any number of recipients.

    :param body: the JSON array ``[event, data]`` as text (see :func:`event_frame`).
    :param head: what precedes ``body`` in the Socket.IO packet: ``"2"`` (an event), or
        ``"3<id>"`` (the acknowledgement ``id``; see :func:`ack_frame`).
    """

    __slots__ = ("body", "packet", "ws")

    def __init__(self, body: str, head: str = "2") -> None:
        self.body = body
        # "4" (Engine.IO message) + the Socket.IO packet, as python-socketio encodes it.
        self.packet = engineio.packet.Packet(engineio.packet.MESSAGE, data=head + body)
        self.ws = websocket_text_frame(self.packet.encode().encode("utf-8"))


def websocket_text_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed RFC 6455 text frame, as a server sends it."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x81, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x81, 126, size)
    else:
        header = struct.pack("!BBQ", 0x81, 127, size)
    return header + payload


def event_frame(event: str, data: Any) -> Frame:
    """Encode ``event`` with ``data`` once."""
    return Frame(_dumps([event, data]))


def ack_frame(ack_id: int, data: Any) -> Frame:
    """The acknowledgement ``ack_id`` (default namespace) carrying ``data``."""
    return Frame(_dumps([data]), head=f"3{ack_id}")


def dumps(data: Any) -> str:
    """Compact JSON, as in frames (for callers that assemble a body from pieces)."""
    return _dumps(data)


class Fanout:
    """Writes frames to Socket.IO sessions of one server.

    :param sio: the Socket.IO server.
    :param websockets: Engine.IO sid -> tornado handler of upgraded WebSocket connections
        (maintained by the HTTP handler); WebSocket-only connections are found through their
        environ.
    :param carriers: Engine.IO sid -> the :class:`~.eiodriver.Carrier` of each session a
        WebSocket carries (maintained by the lean driver; give it to
        :func:`~.eiodriver.install`). Empty by default: every frame then takes the session's
        way.
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        websockets: dict[str, Any],
        carriers: Carriers | None = None,
    ) -> None:
        self.sio = sio
        self.websockets = websockets
        self.carriers: Carriers = {} if carriers is None else carriers

    def room(self, room: str, skip_sid: str | None = None) -> list[str]:
        """The Engine.IO sids of a Socket.IO room (default namespace), minus ``skip_sid``."""
        members = self.sio.manager.rooms.get("/", {}).get(room)
        if not members:
            return []
        return [eio for sid, eio in members.items() if sid != skip_sid]

    def can_send(self, sid: str) -> bool:
        """False while a session's connection holds more unsent output than
        :data:`WRITE_BACKLOG` (a stalled or slow client), or is gone; a caller sending the
        latest state can then skip it until it drains."""
        try:
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
            socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
            if socket is None:
                return False
            stream = self._stream(eio_sid, socket)
            if stream is not None:  # upgraded, or WebSocket from the start (relays)
                return len(stream._write_buffer) < WRITE_BACKLOG
            return socket.queue.qsize() < POLL_BACKLOG
        except Exception:  # internals changed: send, as python-socketio would
            return True

    def _stream(self, eio_sid: str, socket: Any) -> Any:
        """The tornado IOStream of an upgraded (or WebSocket-only) connection, or None: the
        one place that finds a session's WebSocket handler (the HTTP handler registers
        upgraded connections; a WebSocket-only one is found through its environ)."""
        handler = self.websockets.get(eio_sid)
        if handler is None and socket.upgraded:
            environ = self.sio.environ.get(eio_sid)
            handler = environ.get("tornado.handler") if environ else None
        return websocket_stream(handler)

    def backlog(self, eio_sid: str) -> int:
        """Bytes of output waiting for a connection: tornado's WebSocket write buffer plus
        the packets in its Engine.IO queue (0 when it is gone or internals changed)."""
        socket = self.sio.eio.sockets.get(eio_sid)
        if socket is None:
            return 0
        try:
            waiting = 0
            stream = self._stream(eio_sid, socket)
            if stream is not None:
                waiting += len(stream._write_buffer)
            for packet in list(socket.queue._queue):
                data = getattr(packet, "data", None)
                waiting += len(data) if isinstance(data, (str, bytes)) else 16
            return waiting
        except Exception:  # internals changed: never close on a guess
            return 0

    async def drop(self, eio_sid: str) -> None:
        """Close a connection at once, abandoning the output it did not take.

        Engine.IO's own close waits for the queue to drain, which a stalled client never
        does; here the socket is aborted and forgotten, and its TCP connection closed, so the
        memory is freed now. The client sees the connection end and reconnects.
        """
        socket = self.sio.eio.sockets.get(eio_sid)
        if socket is None:
            return
        stream = self._stream(eio_sid, socket)
        await socket.close(wait=False, abort=True)
        self.sio.eio.sockets.pop(eio_sid, None)
        if stream is not None and not stream.closed():
            stream.close()
        socket.queue.put_nowait(None)  # releases a pending long-poll, if any

    def release_poll(self, sid: str) -> bool:
        """Answer a polling client's pending GET now that its session is closed.

        python-engineio leaves the long-poll of a client that closed (CLOSE packet) hanging
        until ping_interval + ping_timeout; the client's disconnect waits for it (45 s by
        default) and the server holds the request. An end-of-queue marker releases it.
        Returns False when python-engineio's internals did not look as expected (only the
        shortcut is lost).
        """
        try:
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
            socket = self.sio.eio.sockets.get(eio_sid) if eio_sid else None
            if socket is not None and not socket.upgraded:
                socket.queue.put_nowait(None)
            return True
        except Exception:
            return False

    def send_to_sids(self, frame: Frame, sids: Iterable[str]) -> int:
        """Deliver ``frame`` to Socket.IO sessions (default namespace) by their sids; gone
        ones are skipped. Returns how many it was handed to."""
        eio_sid_from_sid = self.sio.manager.eio_sid_from_sid
        eio_sids = [eio for sid in sids if (eio := eio_sid_from_sid(sid, "/")) is not None]
        return self.send(frame, eio_sids)

    def send(self, frame: Frame, eio_sids: Iterable[str]) -> int:
        """Deliver ``frame`` to each session; returns how many it was handed to. A
        connection whose state breaks the write is skipped (logged at debug level): it never
        costs the others their frame."""
        carriers = self.carriers
        data = frame.ws
        delivered = 0
        for eio_sid in eio_sids:  # run 300 times per chat message in a big room
            try:
                carrier = carriers.get(eio_sid)
                if carrier is not None:
                    delivered += carrier.write_frame(data)
                else:
                    delivered += self._send_other(eio_sid, frame)
            except Exception:
                log.debug("collab: could not write to %s", eio_sid, exc_info=True)
        return delivered

    def _send_other(self, eio_sid: str, frame: Frame) -> bool:
        """A session without a carrier: on an upgraded WebSocket whose writer is parked on
        an empty queue (nothing of this session is in flight, so writing now keeps its
        order; ``_getters``: the queue's waiting consumers) the frame is written now;
        anything else is queued behind what waits. False if the session is gone or
        closing, or its connection broke while written to (as :meth:`Carrier.write_frame
        <.eiodriver.Carrier.write_frame>`)."""
        socket = self.sio.eio.sockets.get(eio_sid)
        if socket is None or socket.closing or socket.closed:
            return False
        queue = socket.queue
        if socket.upgraded and not socket.upgrading and not queue._queue and queue._getters:
            stream = self._stream(eio_sid, socket)
            if stream is not None and not stream._closed:
                return send_frame(stream, stream._write_buffer, stream.socket.send, frame.ws)
        queue.put_nowait(frame.packet)
        return True
