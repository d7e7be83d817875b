"""Reading WebSocket frames in batches (collab_widget.wsframes) behaves as tornado's own
reading: every test runs against a real tornado server twice, once with tornado's protocol
and once with ours, and a raw TCP client sends hand-made frames."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from tornado import httpserver, web, websocket

from collab_widget.wsframes import (
    BatchReading,
    BatchReadingProtocol,
    read_header,
    reading_in_batches,
)

from .conftest import until
from .rawclients import client_frame, upgrade

BINARY, CLOSE, PING, PONG = 0x2, 0x8, 0x9, 0xA
MAX_MESSAGE = 100_000


@dataclass
class Seen:
    """What the server's handler saw."""

    messages: list[str | bytes] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    close_code: int | None = None
    close_reason: str | None = None
    protocols: list[type] = field(default_factory=list)
    #: How many messages had been handled when a callback scheduled at the first one ran.
    handled_when_others_ran: int | None = None


def handler_class(seen: Seen, batches: bool) -> type[websocket.WebSocketHandler]:
    bases = (BatchReading, websocket.WebSocketHandler) if batches else (websocket.WebSocketHandler,)

    class Handler(*bases):  # type: ignore[misc]
        def open(self) -> None:
            seen.protocols.append(type(self.ws_connection))

        def on_message(self, message: str | bytes) -> None:
            if not seen.messages:
                asyncio.get_running_loop().call_soon(self._others_ran)
            seen.messages.append(message)

        def _others_ran(self) -> None:
            seen.handled_when_others_ran = len(seen.messages)

        def on_close(self) -> None:
            seen.close_code = self.close_code
            seen.close_reason = self.close_reason
            seen.closed.set()

    return Handler


@dataclass
class Server:
    port: int
    seen: Seen
    batches: bool  #: whether the server reads with BatchReadingProtocol (else tornado's)


@pytest.fixture(params=["tornado", "batches"])
async def server(request: Any) -> AsyncIterator[Server]:
    seen = Seen()
    batches = request.param == "batches"
    app = web.Application(
        [("/ws", handler_class(seen, batches))],
        websocket_max_message_size=MAX_MESSAGE,
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    http = httpserver.HTTPServer(app)
    http.add_sockets([sock])
    yield Server(sock.getsockname()[1], seen, batches)
    http.stop()
    await http.close_all_connections()


class Client:
    """A raw WebSocket client: sends frames byte for byte as given."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await upgrade(reader, writer, "127.0.0.1", "/ws")
        return cls(reader, writer)

    async def send(self, data: bytes, piecewise: bool = False) -> None:
        if piecewise:  # one byte at a time, each on its own
            for i in range(len(data)):
                self.writer.write(data[i : i + 1])
                await self.writer.drain()
                await asyncio.sleep(0.001)
        else:
            self.writer.write(data)
            await self.writer.drain()

    async def frame(self) -> tuple[int, bytes]:
        """The next frame from the server (opcode, payload); (-1, b"") at the end."""
        try:
            first, second = await self.reader.readexactly(2)
            length = second & 0x7F
            if length == 126:
                length = struct.unpack("!H", await self.reader.readexactly(2))[0]
            elif length == 127:
                length = struct.unpack("!Q", await self.reader.readexactly(8))[0]
            return first & 0x0F, await self.reader.readexactly(length)
        except (asyncio.IncompleteReadError, ConnectionError):
            return -1, b""

    async def closed(self) -> bool:
        """Whether the server ends the connection (after any frames it still sends)."""
        while (await asyncio.wait_for(self.frame(), 5))[0] != -1:
            pass
        return True

    def close(self) -> None:
        self.writer.close()


# -- the protocol in use ---------------------------------------------------------------------
async def test_the_batch_reader_is_tornados_protocol_with_its_state(server: Server) -> None:
    client = await Client.connect(server.port)
    await client.send(client_frame(b"hi"))
    await until(lambda: server.seen.messages)
    expected = BatchReadingProtocol if server.batches else websocket.WebSocketProtocol13
    assert server.seen.protocols == [expected]
    client.close()


async def test_both_socket_io_handlers_read_in_batches(tmp_path: Any) -> None:
    import logging

    from collab_widget.app import CollabApp
    from collab_widget.handlers import socketio_handler
    from collab_widget.hub.__main__ import build, relay_handler
    from collab_widget.identity import jupyter_identity
    from collab_widget.service import CollabService
    from collab_widget.settings import ServiceSettings

    app = CollabApp(history_path=str(tmp_path / "server.sqlite3"))
    backend = app.build_backend()
    service = CollabService(
        ServiceSettings.from_config(app), backend, jupyter_identity, logging.getLogger()
    )
    hub_service, tokens = build({"data_dir": str(tmp_path / "hub")})
    try:
        for handler in (socketio_handler(service), relay_handler(hub_service, tokens)):
            assert handler.get_websocket_protocol is BatchReading.get_websocket_protocol
    finally:
        await backend.close()
        await hub_service.backend.close()


def test_only_tornados_own_protocol_is_changed() -> None:
    class Other(websocket.WebSocketProtocol13):
        pass

    other = Other.__new__(Other)
    assert reading_in_batches(other) is other and type(other) is Other
    assert reading_in_batches(None) is None


# -- messages --------------------------------------------------------------------------------
async def test_many_frames_sent_at_once_are_each_a_message_in_order(server: Server) -> None:
    client = await Client.connect(server.port)
    texts = [f"message {i} " + "x" * (i % 300) for i in range(200)]
    burst = b"".join(client_frame(t) for t in texts) + client_frame(b"\x00\xff", BINARY)
    await client.send(burst)
    await until(lambda: len(server.seen.messages) == 201)
    assert server.seen.messages == [*texts, b"\x00\xff"]
    client.close()


async def test_a_frame_arriving_byte_by_byte_is_one_message(server: Server) -> None:
    client = await Client.connect(server.port)
    await client.send(client_frame("héllo") + client_frame(b"z" * 130), piecewise=True)
    await until(lambda: len(server.seen.messages) == 2)
    assert server.seen.messages == ["héllo", "z" * 130]
    client.close()


async def test_16_and_64_bit_lengths_and_unmasked_frames(server: Server) -> None:
    client = await Client.connect(server.port)
    medium, large = "m" * 1000, "L" * 70_000
    await client.send(client_frame(medium) + client_frame(large))
    await client.send(client_frame(b"plain", masked=False))  # tornado accepts these
    await until(lambda: len(server.seen.messages) == 3)
    assert server.seen.messages == [medium, large, "plain"]
    client.close()


async def test_a_fragmented_message_with_a_ping_between_its_fragments(server: Server) -> None:
    client = await Client.connect(server.port)
    parts = [
        client_frame(b"one ", fin=False),
        client_frame(b"are you there", PING),
        client_frame(b"two ", 0, fin=False),
        client_frame(b"three", 0),
    ]
    await client.send(b"".join(parts))
    assert await asyncio.wait_for(client.frame(), 5) == (PONG, b"are you there")
    await until(lambda: server.seen.messages)
    assert server.seen.messages == ["one two three"]
    client.close()


async def test_a_close_frame_is_answered_and_ends_the_connection(server: Server) -> None:
    client = await Client.connect(server.port)
    await client.send(client_frame(b"last") + client_frame(struct.pack("!H", 1000) + b"bye", CLOSE))
    assert await asyncio.wait_for(client.frame(), 5) == (CLOSE, struct.pack("!H", 1000))
    await asyncio.wait_for(server.seen.closed.wait(), 5)
    assert (server.seen.close_code, server.seen.close_reason) == (1000, "bye")
    assert server.seen.messages == ["last"]
    client.close()


# -- what breaks the protocol ----------------------------------------------------------------
@pytest.mark.parametrize(
    "bad",
    [
        client_frame(b"nothing to continue", 0),
        client_frame(b"reserved bits", rsv=0x40),
        client_frame(b"p" * 126, PING),
        client_frame(b"fragmented", PING, fin=False),
        client_frame(b"a", fin=False) + client_frame(b"b"),
        client_frame(b"\xff\xfe not utf-8"),
        client_frame(b"unknown opcode", 0x3),
    ],
    ids=[
        "continuation-without-start",
        "reserved-bits",
        "long-control-frame",
        "fragmented-control-frame",
        "new-message-inside-another",
        "bad-utf-8",
        "unknown-opcode",
    ],
)
async def test_a_frame_that_breaks_the_protocol_aborts_the_connection(
    server: Server, bad: bytes
) -> None:
    client = await Client.connect(server.port)
    await client.send(client_frame(b"before") + bad + client_frame(b"after"))
    assert await client.closed()
    await asyncio.wait_for(server.seen.closed.wait(), 5)
    assert server.seen.messages == ["before"]


async def test_a_message_over_the_size_limit_is_refused_before_its_payload(server: Server) -> None:
    client = await Client.connect(server.port)
    # Only the header of a frame of 2**40 bytes: the server must not wait for the payload.
    await client.send(b"\x81" + bytes([0x80 | 127]) + struct.pack("!Q", 2**40) + os.urandom(4))
    assert await asyncio.wait_for(client.frame(), 5) == (
        CLOSE,
        struct.pack("!H", 1009) + b"message too big",
    )
    assert await client.closed()
    assert server.seen.messages == []


async def test_fragments_count_together_against_the_size_limit(server: Server) -> None:
    client = await Client.connect(server.port)
    half = b"h" * (MAX_MESSAGE // 2 + 1)
    await client.send(client_frame(half, fin=False) + client_frame(half, 0))
    opcode, payload = await asyncio.wait_for(client.frame(), 5)
    assert (opcode, payload[:2]) == (CLOSE, struct.pack("!H", 1009))
    assert await client.closed()
    assert server.seen.messages == []


# -- fairness --------------------------------------------------------------------------------
# Ours only: tornado's own reading yields like this from 6.6 on (6.4, the floor, does not).
@pytest.mark.parametrize("server", ["batches"], indirect=True)
async def test_a_client_sending_without_pause_does_not_hold_the_event_loop(
    server: Server,
) -> None:
    client = await Client.connect(server.port)
    count = 3000
    burst = b"".join(client_frame(b"%04d" % i + b"." * 100) for i in range(count))
    await client.send(burst)
    await until(lambda: len(server.seen.messages) == count)
    ran = server.seen.handled_when_others_ran
    assert ran is not None and ran < count  # others ran while the burst was read
    client.close()


# -- the header reader -----------------------------------------------------------------------
def test_read_header_waits_for_a_whole_header() -> None:
    whole = client_frame(b"x" * 300)
    for cut in range(8):  # 2 bytes + 2 of length + 4 of mask
        assert read_header(whole[:cut], 0) is None
    header = read_header(b"junk" + whole, 4)
    assert header is not None
    assert (header.first, header.start, header.length) == (0x81, 8, 300)
    assert header.mask == whole[4:8]
    unmasked = read_header(client_frame(b"y", BINARY, masked=False), 0)
    assert unmasked is not None and (unmasked.start, unmasked.length, unmasked.mask) == (2, 1, None)
