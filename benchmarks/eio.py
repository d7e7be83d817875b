"""A minimal Engine.IO v4 / Socket.IO v5 client over a raw WebSocket, for the load generator.

One :class:`EioClient` is one asyncio ``Protocol`` on one TCP connection: it does the
WebSocket upgrade itself (``GET {path}?EIO=4&transport=websocket``, with an
``Authorization: token ...`` header when a token is given), parses frames by hand, answers
Engine.IO pings (``2`` -> ``3``), connects to the default namespace (``40``) and sends events
(``42[...]``) and calls with acknowledgements (``42<id>[...]`` -> ``43<id>[...]``).

It is written to be cheap, so that one process can drive thousands of connections:

* events are handed to a callback as raw bytes (``42[...]``) with the receive time; the
  callback decides whether to decode them;
* a client in ``drain`` mode only counts event frames, without copying or decoding them;
* the client offers ``permessage-deflate`` like a browser does, so servers that compress by
  default (python-engineio's tornado driver) are measured as browsers meet them; compressed
  frames are inflated (needed to keep the shared compression context), nothing is sent
  compressed;
* frames it sends are masked with one random key per connection (servers do not check).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

try:
    from websockets.speedups import apply_mask
except ImportError:  # pragma: no cover - the C speedups ship with the websockets wheel

    def apply_mask(data: bytes, mask: bytes) -> bytes:
        n = len(data)
        key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
        return (int.from_bytes(data, "big") ^ key).to_bytes(n, "big")


DEFLATE_TAIL = b"\x00\x00\xff\xff"
OPCODE_TEXT, OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 1, 2, 8, 9, 10
EventCallback = Callable[["EioClient", bytes, int], None]
# What the class service sends a relay: ``to [local ids, body]``.
TO_PREFIX = b'42["to",['


def to_targets(buf: bytes | bytearray, start: int, end: int) -> int:
    """How many local sessions a relay frame ``42["to",["1","2",...],...]`` in
    ``buf[start:end]`` is for (0: another packet). Local ids never hold a comma."""
    if not buf.startswith(TO_PREFIX, start):
        return 0
    first = start + len(TO_PREFIX)
    close = buf.find(b"]", first, end)
    return buf.count(b",", first, close) + 1 if close > first else 0


@dataclass(frozen=True)
class Target:
    """Where a server under test listens and how to authenticate to it."""

    name: str
    host: str
    port: int
    path: str
    pid: int
    token: str | None = None
    #: which variant of a scenario runs against it (e.g. a shape of simulated relays)
    variant: str = ""
    #: more processes of the system under test, whose CPU counts with ``pid``'s
    pids: tuple[int, ...] = ()
    #: every process's port when several serve the same rooms (``port`` is the first)
    ports: tuple[int, ...] = ()
    #: the Redis server the processes share (its CPU is reported apart), or 0
    redis_pid: int = 0
    redis_port: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "path": self.path,
            "pid": self.pid,
            "token": self.token,
            "variant": self.variant,
            "pids": list(self.pids),
            "ports": list(self.ports),
            "redis_pid": self.redis_pid,
            "redis_port": self.redis_port,
        }


class ConnectError(Exception):
    """The WebSocket upgrade or the Socket.IO connect was refused."""


def _frame(payload: bytes, mask: bytes, opcode: int = OPCODE_TEXT) -> bytes:
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        header = bytes((first, 0x80 | n))
    elif n < 65536:
        header = bytes((first, 0xFE)) + n.to_bytes(2, "big")
    else:
        header = bytes((first, 0xFF)) + n.to_bytes(8, "big")
    return header + mask + apply_mask(payload, mask)


class EioClient(asyncio.Protocol):
    """One Socket.IO client connection.

    :param target: the server.
    :param on_event: called with ``(client, packet, receive_time_ns)`` for each ``42`` packet
        (the raw bytes, starting with ``42``); not called in drain mode.
    :param deflate: offer permessage-deflate in the upgrade request (as browsers do).
    """

    def __init__(
        self, target: Target, on_event: EventCallback | None = None, deflate: bool = True
    ) -> None:
        self.target = target
        self.on_event = on_event
        self.deflate = deflate
        self.drain = False
        # A simulated relay: count the sessions each ``to`` frame is for (event_targets).
        self.count_targets = False
        self.raw_acks = False  # acks resolve to the raw JSON bytes of their arguments
        self.sock: socket.socket | None = None
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.upgraded = False
        self.inflater: Any = None
        self.mask = os.urandom(4)
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 0
        self.sid: str | None = None
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Counters and per-scenario state.
        self.frames = 0
        self.event_frames = 0
        self.event_bytes = 0
        self.to_frames = 0
        self.event_targets = 0
        self.pings = 0
        self.last_seen = -1
        self.tag: Any = None

    # -- connecting --------------------------------------------------------------------------
    async def connect(self, timeout: float = 20.0, rcvbuf: int | None = None) -> EioClient:
        """Open the TCP connection, upgrade, and connect to the default namespace."""
        loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        if rcvbuf is not None:  # a small receive window makes a stalled reader felt at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        try:
            await asyncio.wait_for(
                loop.sock_connect(sock, (self.target.host, self.target.port)), timeout
            )
            await loop.create_connection(lambda: self, sock=sock)
        except BaseException:
            sock.close()
            raise
        self.sock = sock
        assert self.transport is not None
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {self.target.path}?EIO=4&transport=websocket HTTP/1.1",
            f"Host: {self.target.host}:{self.target.port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if self.deflate:
            lines.append("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits")
        if self.target.token:
            lines.append(f"Authorization: token {self.target.token}")
        self.transport.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        try:
            await asyncio.wait_for(asyncio.shield(self.ready), timeout)
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    # -- asyncio.Protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectError(f"connection lost: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)
        for future in self.acks.values():
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
        self.acks.clear()

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        if not self.upgraded:
            self.buf += data
            if not self._upgrade():
                return
            data = bytes(self.buf)
            self.buf.clear()
        # Parse straight from what was read; only an incomplete tail is kept in self.buf.
        buf: bytes | bytearray
        if self.buf:
            self.buf += data
            buf = self.buf
        else:
            buf = data
        n = len(buf)
        pos = 0
        drain = self.drain
        targets = self.count_targets
        frames = drained = drained_bytes = to_frames = drained_targets = 0
        while n - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            end = pos + head + length
            if end > n:
                break
            frames += 1
            if drain and b0 == 0x81 and length > 2:
                # An uncompressed event frame of a draining client: count it, skip it.
                drained += 1
                drained_bytes += length
                if targets:
                    k = to_targets(buf, pos + head, end)
                    if k:
                        to_frames += 1
                        drained_targets += k
            else:
                self._frame(b0, bytes(buf[pos + head : end]), now)
            pos = end
        self.frames += frames
        if drained:
            self.event_frames += drained
            self.event_bytes += drained_bytes
            if to_frames:
                self.to_frames += to_frames
                self.event_targets += drained_targets
        if buf is self.buf:
            if pos:
                del self.buf[:pos]
        elif pos < n:
            self.buf += buf[pos:]

    # -- parsing -----------------------------------------------------------------------------
    def _upgrade(self) -> bool:
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buf[:end]).decode("latin-1")
        del self.buf[: end + 4]
        status, *headers = head.split("\r\n")
        if " 101 " not in status + " ":
            self.ready.set_exception(ConnectError(status))
            self.close()
            return False
        for line in headers:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-extensions" and "permessage-deflate" in value:
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        self.upgraded = True
        return True

    def _frame(self, b0: int, payload: bytes, now: int) -> None:
        opcode = b0 & 0x0F
        if opcode == OPCODE_TEXT or opcode == OPCODE_BINARY:
            if b0 & 0x40:
                payload = self.inflater.decompress(payload + DEFLATE_TAIL)
            if not b0 & 0x80:
                raise ConnectError("fragmented frames are not supported by this client")
            self._packet(payload, now)
        elif opcode == OPCODE_PING:
            self._write(_frame(payload, self.mask, OPCODE_PONG))
        elif opcode == OPCODE_CLOSE:
            self.close()

    def _packet(self, p: bytes, now: int) -> None:
        kind = p[:1]
        if kind == b"4":
            sub = p[1:2]
            if sub == b"2":
                self.event_frames += 1
                self.event_bytes += len(p)
                if self.count_targets:
                    k = to_targets(p, 0, len(p))
                    if k:
                        self.to_frames += 1
                        self.event_targets += k
                if self.on_event is not None and not self.drain:
                    self.on_event(self, p, now)
            elif sub == b"3":
                start = p.index(b"[")
                future = self.acks.pop(int(p[2:start]), None)
                if future is not None and not future.done():
                    if self.raw_acks:
                        future.set_result(p[start:])
                    else:
                        args = json.loads(p[start:])
                        future.set_result(args[0] if args else None)
            elif sub == b"0":
                self.sid = json.loads(p[2:]).get("sid") if len(p) > 2 else None
                if not self.ready.done():
                    self.ready.set_result(None)
            elif sub == b"4":
                if not self.ready.done():
                    self.ready.set_exception(ConnectError(p.decode(errors="replace")))
            elif sub == b"1":
                self.close()
        elif kind == b"2":
            self.pings += 1
            self._write(_frame(b"3", self.mask))
        elif kind == b"0":
            self._write(_frame(b"40", self.mask))
        elif kind == b"1":
            self.close()

    # -- sending -----------------------------------------------------------------------------
    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send_raw(self, packet: bytes) -> None:
        """Send one Engine.IO packet (already encoded)."""
        self._write(_frame(packet, self.mask))

    def emit(self, event: str, *args: Any) -> None:
        """Send an event without asking for an acknowledgement."""
        self.send_raw(b"42" + json.dumps([event, *args], separators=(",", ":")).encode())

    def call(self, event: str, *args: Any) -> asyncio.Future[Any]:
        """Send an event asking for an acknowledgement; the future gets its first argument."""
        ack_id = self.next_id
        self.next_id += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[ack_id] = future
        body = json.dumps([event, *args], separators=(",", ":")).encode()
        self.send_raw(b"42" + str(ack_id).encode() + body)
        return future

    def set_rcvlowat(self, size: int) -> None:
        """Be woken only when ``size`` bytes are waiting (``SO_RCVLOWAT``): a draining client
        then reads many frames per wake-up. Set it back to 1 before the connection idles,
        or pings would wait."""
        if self.sock is not None and self.sock.fileno() >= 0:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, size)

    def pause_reading(self) -> None:
        """Stop reading the socket (a stalled client): the kernel buffers fill, then the
        server's."""
        if self.transport is not None:
            self.transport.pause_reading()


def decode_event(packet: bytes) -> tuple[str, Any]:
    """``42["name", data]`` -> ``("name", data)``."""
    start = packet.index(b"[")
    name, *args = json.loads(packet[start:])
    return name, args[0] if args else None
