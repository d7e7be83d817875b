"""The Python client recovers as the browser does (issue 16, item 2), against a real server:
a client whose connection is cut, or whose server restarts, reconnects by itself, re-joins
with ``since`` and hands every message it missed to its callbacks once, in order; a send whose
acknowledgement was lost is sent again with the same ``client_id`` and stored once, by the same
(anonymous) user; a send made while disconnected completes after the reconnect. And aiohttp's
silent retry of a broken GET, which loses long-poll answers, is off in the client's session."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import aiohttp
import pytest

from collab_widget.client import CollabClient, ConnectionCut

from .conftest import until
from .jupyter import SHARED_TOKEN, JupyterServer

SERVER_ARGS = ["--CollabApp.message_rate=1000", "--CollabApp.message_burst=1000"]
#: Quick reconnects, so that the tests take seconds.
FAST: dict[str, Any] = {
    "reconnection_delay": 0.1,
    "reconnection_delay_max": 0.5,
    "timeout": 5.0,
    "send_timeout": 30.0,
}
TRANSPORTS = ["websocket", "polling"]


class CutProxy:
    """A TCP proxy in front of the server that can hold what the server sends, cut every
    connection, and refuse new ones: a network the client does not control.

    :param target: the server's port on 127.0.0.1.
    """

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self.refusing = False
        self.accepted = 0
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> CutProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, server: JupyterServer) -> str:
        return f"http://127.0.0.1:{self.port}{server.base_url}"

    def hold(self) -> None:
        """Keep what the server sends from now on (the client hears nothing more)."""
        self._flowing.clear()

    def release(self) -> None:
        self._flowing.set()

    def cut(self) -> int:
        """Reset every connection (what was held is lost); returns how many."""
        pairs = list(self._pairs)
        for client, upstream in pairs:
            client.transport.abort()
            upstream.transport.abort()
        return len(pairs)

    async def close(self) -> None:
        self.cut()
        self.release()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refusing:
            writer.transport.abort()
            return
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, held=False),
                self._pump(up_reader, writer, held=True),
                return_exceptions=True,
            )
        finally:
            self._pairs.discard(pair)
            writer.transport.abort()
            up_writer.transport.abort()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, held: bool
    ) -> None:
        while data := await reader.read(65536):
            if held:
                await self._flowing.wait()
            if writer.transport.is_closing():
                return
            writer.write(data)
            await writer.drain()
        writer.transport.abort()


async def close(*clients: CollabClient) -> None:
    for client in clients:
        with contextlib.suppress(Exception):
            await client.disconnect()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_cut_client_reconnects_rejoins_and_gets_what_it_missed_once(server, transport):
    proxy = await CutProxy(server.port).start()
    alice = CollabClient(proxy.url(server), token="token-alice", transports=[transport], **FAST)
    bob = CollabClient(server.url, token="token-bob", transports=["websocket"])
    room = f"cut-{transport}"
    got: list[int] = []
    alice.on("message", lambda m: got.append(m["seq"]))
    disconnects: list[Any] = []
    alice.on("disconnect", disconnects.append)
    try:
        await alice.connect()
        await bob.connect()
        session = alice.sio.eio.http
        await alice.join(room)
        await bob.join(room)
        before = [(await bob.send(room, f"before {i}"))["seq"] for i in range(3)]
        await until(lambda: len(got) == 3)

        proxy.refusing = True  # the network is down: reconnection attempts fail meanwhile
        assert proxy.cut() >= 1
        await until(lambda: not alice.connected)
        # More than a page (50): the re-join pages forward with history {after}.
        missed = [(await bob.send(room, f"missed {i}"))["seq"] for i in range(70)]
        offline = asyncio.create_task(alice.send(room, "written offline", client_id="a-off-1"))
        await asyncio.sleep(0.5)
        assert not offline.done() and not alice.connected

        proxy.refusing = False
        await alice.wait_connected(15)
        mine = (await asyncio.wait_for(offline, 15))["seq"]
        after = [(await bob.send(room, f"after {i}"))["seq"] for i in range(2)]
        expected = before + missed + [mine] + after
        await until(lambda: len(got) >= len(expected))
        await asyncio.sleep(0.3)  # a repeat would have come by now
        assert got == expected
        assert alice.reconnects == 1 and len(disconnects) == 1
        assert alice.connected and alice.transport == transport
        assert alice.sio.eio.http is session and not session.closed  # one session throughout
        history = await bob.catch_up(room, 0)
        assert [m["client_id"] for m in history].count("a-off-1") == 1
    finally:
        await close(alice, bob)
        await proxy.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_lost_ack_is_resent_by_the_same_anonymous_user_and_stored_once(server, transport):
    proxy = await CutProxy(server.port).start()
    anon = CollabClient(proxy.url(server), token=SHARED_TOKEN, transports=[transport], **FAST)
    bob = CollabClient(server.url, token="token-bob", transports=["websocket"])
    room = f"lost-ack-{transport}"
    got: list[int] = []
    anon.on("message", lambda m: got.append(m["seq"]))
    heard: list[dict[str, Any]] = []
    bob.on("message", heard.append)
    try:
        await anon.connect()
        await bob.connect()
        me = (await anon.join(room))["you"]
        assert me["username"] != "bob" and me["display_name"].startswith("Anonymous ")
        await bob.join(room)

        proxy.hold()  # the server's answers stop reaching the client
        sending = asyncio.create_task(anon.send(room, "only once", client_id="lost-ack-1"))
        await until(lambda: any(m["client_id"] == "lost-ack-1" for m in heard))
        stored = next(m for m in heard if m["client_id"] == "lost-ack-1")
        assert stored["user"]["username"] == me["username"]
        await asyncio.sleep(0.2)
        assert not sending.done()  # stored, but the acknowledgement is held
        proxy.cut()  # ... and lost with the connection
        proxy.release()

        message = await asyncio.wait_for(sending, 20)
        assert message["seq"] == stored["seq"] and message["client_id"] == "lost-ack-1"
        assert anon.resent >= 1 and anon.reconnects == 1
        # The same user came back (one cookie jar for the client's life), so the re-sent
        # message was recognised as the stored one.
        rejoined = anon.join_ack(room)
        assert rejoined is not None and rejoined["you"]["username"] == me["username"]
        history = await bob.catch_up(room, 0)
        assert [m["client_id"] for m in history].count("lost-ack-1") == 1
        await asyncio.sleep(0.3)
        assert [h["client_id"] for h in heard].count("lost-ack-1") == 1  # broadcast once
        assert got == [stored["seq"]]  # the sender's callbacks: once (from the catch-up)
    finally:
        await close(anon, bob)
        await proxy.close()


async def test_a_server_restart_reconnects_and_a_send_made_meanwhile_completes(tmp_path):
    server = JupyterServer(tmp_path, args=SERVER_ARGS).start()
    alice = CollabClient(server.url, token="token-alice", transports=["websocket"], **FAST)
    room = "restart"
    got: list[str] = []
    alice.on("message", lambda m: got.append(m["text"]))
    rejoined: list[dict[str, Any]] = []
    alice.on("rejoin", rejoined.append)
    try:
        await alice.connect()
        await alice.join(room)
        await alice.send(room, "before")
        await until(lambda: got == ["before"])

        # A clean shutdown disconnects everyone from the server's side (python-socketio's
        # own reconnection would stop there; a browser, and this client, come back).
        await asyncio.to_thread(server.stop)
        await until(lambda: not alice.connected)
        pending = asyncio.create_task(alice.send(room, "while down", client_id="down-1"))
        await asyncio.sleep(0.5)
        assert not pending.done()
        await asyncio.to_thread(server.start)

        message = await asyncio.wait_for(pending, 30)
        assert message["text"] == "while down" and alice.reconnects >= 1
        await alice.wait_connected(10)
        assert [ack["room"] for ack in rejoined] == [room]
        async with CollabClient(server.url, token="token-bob", reconnection=False) as bob:
            await bob.join(room)
            await bob.send(room, "after")
            history = await bob.catch_up(room, 0)
        assert [m["text"] for m in history] == ["before", "while down", "after"]
        await until(lambda: len(got) == 3)
        await asyncio.sleep(0.2)
        assert got == ["before", "while down", "after"]
    finally:
        await close(alice)
        server.stop()


async def test_the_http_session_does_not_retry_a_broken_get():
    """A GET whose connection breaks before the answer fails at once (python-engineio then
    reconnects) instead of being sent again on a new connection, where a long-poll would
    silently skip what the broken one carried; one cut in the middle of the body fails inside
    the request too (python-engineio's read loop would not survive it)."""
    connections = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        if b"/half" in head:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"4" * 10)
            await writer.drain()
        writer.transport.abort()

    listener = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    client = CollabClient(base + "/jp/")
    try:
        session = client._http_session()
        assert client._http_session() is session  # one session for the client's life
        with pytest.raises(ConnectionCut):
            async with session.get(base + "/poll"):
                pass
        assert connections == 1
        with pytest.raises(aiohttp.ClientError):
            async with session.get(base + "/half"):
                pass
        assert connections == 2
        connections = 0
        async with aiohttp.ClientSession() as plain:  # what the middleware prevents
            with pytest.raises(aiohttp.ClientError):
                async with plain.get(base + "/poll"):
                    pass
        version = tuple(int(p) for p in aiohttp.__version__.split(".")[:2])
        assert connections == (2 if version >= (3, 10) else 1)
    finally:
        await client.disconnect()
        listener.close()
        await listener.wait_closed()
