"""Hand-made clients for tests that need what a real client library hides: a WebSocket
session whose socket the test can stall or cut with a reset."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

from .jupyter import JupyterServer


def client_frame(text: str) -> bytes:
    """A masked WebSocket text frame, as a client sends it."""
    payload = text.encode()
    mask = os.urandom(4)
    size = len(payload)
    header = (
        struct.pack("!BB", 0x81, 0x80 | size)
        if size < 126
        else struct.pack("!BBH", 0x81, 0x80 | 126, size)
    )
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawWebSocket:
    """An Engine.IO WebSocket session by hand, on a socket the test can cut abruptly.

    :param reader: the connection's reader, past the HTTP 101 response.
    :param writer: the connection's writer.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(
        cls, server: JupyterServer, token: str, receive_buffer: int | None = None
    ) -> RawWebSocket:
        """Upgrade, connect to the default namespace, and return the session.

        :param server: the Jupyter server.
        :param token: the API token the upgrade is authenticated with.
        :param receive_buffer: ``SO_RCVBUF`` in bytes (small: the server's writes back up in
            its own buffers while this client reads nothing); None: the system's default.
        """
        sock = socket.socket()
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
        # The default limit: the client stops reading at 128 KB not read by the test.
        reader, writer = await asyncio.open_connection(sock=sock)
        path = f"{server.base_url}collab/socket.io/?EIO=4&transport=websocket"
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                f"Sec-WebSocket-Version: 13\r\nAuthorization: token {token}\r\n\r\n"
            ).encode()
        )
        assert b" 101 " in await reader.readuntil(b"\r\n\r\n")
        session = cls(reader, writer)
        await session.send("40")
        return session

    async def send(self, text: str) -> None:
        """Send one Engine.IO packet (e.g. ``42["join",...]``) as a text frame."""
        self.writer.write(client_frame(text))
        await self.writer.drain()

    def cut(self) -> None:
        """Close the TCP connection at once with a reset (SO_LINGER 0), as a network cut or a
        killed process does: whatever the server still had to write to it fails."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()

    async def frames(self, timeout: float) -> list[tuple[int, bytes]]:
        """Everything the server sends until it closes the connection, as ``(opcode,
        payload)`` frames (the connection must end within ``timeout`` seconds)."""
        data = await asyncio.wait_for(self.reader.read(-1), timeout)
        frames, i = [], 0
        while i + 2 <= len(data):
            opcode, size = data[i] & 0x0F, data[i + 1] & 0x7F
            i += 2
            if size == 126:
                (size,) = struct.unpack("!H", data[i : i + 2])
                i += 2
            elif size == 127:
                (size,) = struct.unpack("!Q", data[i : i + 8])
                i += 8
            frames.append((opcode, data[i : i + size]))
            i += size
        return frames
