"""Hand-made clients for tests that need what a real client library hides: WebSocket frames
built byte for byte (any opcode, fragment, reserved bit or length form), the upgrade request,
and a WebSocket session whose socket the test can stall or cut with a reset."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

from .jupyter import JupyterServer


def client_frame(
    payload: str | bytes, opcode: int = 0x1, fin: bool = True, rsv: int = 0, masked: bool = True
) -> bytes:
    """A WebSocket frame as a client sends it (a text frame by default; text is sent as
    UTF-8), masked with a random key unless ``masked`` is False.

    :param opcode: the frame's opcode (0 continues a fragmented message).
    :param fin: whether this is a message's last frame.
    :param rsv: reserved bits to set (``0x40``, ``0x20``, ``0x10``).
    """
    data = payload.encode() if isinstance(payload, str) else payload
    first = (0x80 if fin else 0) | rsv | opcode
    mask_bit = 0x80 if masked else 0
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", first, mask_bit | size)
    elif size < 2**16:
        header = struct.pack("!BBH", first, mask_bit | 126, size)
    else:
        header = struct.pack("!BBQ", first, mask_bit | 127, size)
    if not masked:
        return header + data
    mask = os.urandom(4)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


async def upgrade(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    path: str,
    headers: str = "",
) -> None:
    """Send a WebSocket upgrade request for ``path`` and read the server's 101 answer.

    :param host: the ``Host`` header.
    :param headers: more header lines, each ending in CRLF.
    """
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n{headers}\r\n"
        ).encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 101 " in head, head


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
        host = f"127.0.0.1:{server.port}"
        await upgrade(reader, writer, host, path, f"Authorization: token {token}\r\n")
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
