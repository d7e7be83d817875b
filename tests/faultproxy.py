"""A TCP proxy on loopback that injects network faults between clients and a server.

Each client connection is relayed to the server through two pumps (one per direction). The
test tells the proxy to cut connections (both sides aborted, as a lost Wi-Fi does), to stall
them (nothing relayed for a while, then everything at once), or to cut a connection right
when the server answers a chat ``send`` (so the client never sees that acknowledgement and
must retry with the same ``client_id``). Nothing is mocked: the bytes are the real protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field

#: What the acknowledgement of a stored chat message looks like on the wire (both transports).
ACK_OF_SEND = b'"ok":true,"message":{'
CHUNK = 65536


@dataclass
class Counters:
    """What the proxy did, for the test's figures."""

    connections: int = 0
    refused: int = 0
    cuts: int = 0
    ack_cuts: int = 0
    stalls: int = 0


@dataclass(eq=False)
class Link:
    """One relayed connection: the client's side and the server's side."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    open: asyncio.Event = field(default_factory=asyncio.Event)  # set: relaying (not stalled)
    closed: bool = False

    def cut(self) -> None:
        """Abort both sides at once (no FIN handshake, like a dropped network)."""
        if self.closed:
            return
        self.closed = True
        self.open.set()
        for writer in (self.client, self.server):
            with contextlib.suppress(Exception):
                writer.transport.abort()


class FaultProxy:
    """Relays ``127.0.0.1:<port>`` to ``127.0.0.1:<target_port>``, with faults on demand.

    :param target_port: the server's port.
    :param ack_cut_rate: the chance that a server chunk carrying a send's acknowledgement is
        dropped together with its connection.
    :param seed: the random generator's seed (a fault run can be replayed).
    """

    def __init__(self, target_port: int, ack_cut_rate: float = 0.0, seed: int = 1) -> None:
        self.target_port = target_port
        self.ack_cut_rate = ack_cut_rate
        self.random = random.Random(seed)
        self.links: set[Link] = set()
        self.counters = Counters()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.cut_all()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- faults ------------------------------------------------------------------------------
    def cut_random(self, count: int = 1) -> int:
        """Cut ``count`` random open connections; returns how many were cut."""
        live = [link for link in self.links if not link.closed]
        chosen = self.random.sample(live, min(count, len(live)))
        for link in chosen:
            link.cut()
        self.counters.cuts += len(chosen)
        return len(chosen)

    def cut_all(self) -> int:
        """Cut every open connection."""
        return self.cut_random(len(self.links))

    def stall_random(self, seconds: float) -> bool:
        """Relay nothing on one random connection for ``seconds`` (then all of it at once)."""
        live = [link for link in self.links if not link.closed and link.open.is_set()]
        if not live:
            return False
        link = self.random.choice(live)
        link.open.clear()
        self.counters.stalls += 1
        loop = asyncio.get_running_loop()
        loop.call_later(seconds, link.open.set)
        return True

    # -- relaying ----------------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:  # the server is down (a restart): the client sees a refused connect
            self.counters.refused += 1
            writer.transport.abort()
            return
        self.counters.connections += 1
        link = Link(writer, up_writer)
        link.open.set()
        self.links.add(link)
        pumps = [
            asyncio.create_task(self._pump(link, reader, up_writer, watch_acks=False)),
            asyncio.create_task(self._pump(link, up_reader, writer, watch_acks=True)),
        ]
        for task in pumps:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await asyncio.gather(*pumps, return_exceptions=True)
        link.cut()
        self.links.discard(link)

    async def _pump(
        self,
        link: Link,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        watch_acks: bool,
    ) -> None:
        try:
            while not link.closed:
                data = await source.read(CHUNK)
                if not data:
                    break
                await link.open.wait()  # a stall holds the data here
                if link.closed:
                    break
                if (
                    watch_acks
                    and self.ack_cut_rate
                    and ACK_OF_SEND in data
                    and self.random.random() < self.ack_cut_rate
                ):
                    self.counters.ack_cuts += 1
                    link.cut()  # the acknowledgement never reaches the client
                    break
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass
        finally:
            link.cut()
