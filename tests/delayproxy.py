"""A TCP proxy on loopback that adds latency, in a thread of its own (usable from sync tests,
fixtures and by other processes, e.g. the Hub's class service talking to Redis).

The delay is one-way: each chunk from a client to the server is written ``delay`` seconds
after the proxy read it; the server's answers go back at once (``reply_delay``, default 0, can
delay them too). So a request/answer round trip takes about ``delay`` longer, which is what
"Redis is ``delay`` seconds away" means in the tests. Each direction is a queue of
``(due time, chunk)``: the proxy keeps reading while earlier chunks wait, so a burst of
pipelined requests is delayed once, not once per request, and byte order is kept (a chunk is
never written before the ones read before it, even when ``delay`` shrinks meanwhile).

    proxy = DelayProxy("127.0.0.1", redis_server.port, delay=0.05).start()
    client = redis.Redis.from_url(proxy.url_for())
    proxy.delay = 0.2  # takes effect for the chunks read from now on
    proxy.cut_all()  # every relayed connection aborted (RST on both sides)
    proxy.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, TypeVar

CHUNK = 65536
T = TypeVar("T")


@dataclass(eq=False)
class Link:
    """One relayed connection: the client's side and the server's side."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    closed: bool = False
    pumps: list[asyncio.Task[None]] = field(default_factory=list)

    def cut(self) -> None:
        """Abort both sides at once (no FIN handshake, like a dropped network)."""
        if self.closed:
            return
        self.closed = True
        for writer in (self.client, self.server):
            with contextlib.suppress(Exception):
                writer.transport.abort()
        for task in self.pumps:
            task.cancel()


class DelayProxy:
    """Relays ``127.0.0.1:<port>`` to ``target_host:target_port``, ``delay`` seconds late.

    :param target_host: the server's host.
    :param target_port: the server's port.
    :param delay: seconds added to every client-to-server chunk; may be changed at any time.
    :param reply_delay: seconds added to every server-to-client chunk (default none).
    """

    def __init__(
        self, target_host: str, target_port: int, delay: float = 0.0, reply_delay: float = 0.0
    ) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.delay = delay
        self.reply_delay = reply_delay
        self.port = 0
        self.connections = 0  # accepted and relayed so far
        self.refused = 0  # accepted, but the server could not be reached
        self.links: set[Link] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[Any]] = set()

    def url_for(self, scheme: str = "redis", db: int = 0) -> str:
        """``<scheme>://127.0.0.1:<port>/<db>``: the server's URL through the proxy."""
        return f"{scheme}://127.0.0.1:{self.port}/{db}"

    # -- life cycle (from any thread but the proxy's) ----------------------------------------

    def start(self) -> DelayProxy:
        """Start the proxy's thread and loop; listening when this returns."""
        if self._thread is not None:
            return self
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(
            target=loop.run_forever, name=f"DelayProxy->{self.target_port}", daemon=True
        )
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._accept, "127.0.0.1", self.port))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Stop listening, abort every connection, end the thread."""
        if self._loop is None or self._thread is None:
            return
        self._call(self._close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
        self._loop = None
        self._thread = None
        self._server = None

    def cut_all(self) -> int:
        """Abort every relayed connection (both sides); returns how many were cut. The proxy
        keeps accepting new ones."""

        async def cut() -> int:
            live = [link for link in self.links if not link.closed]
            for link in live:
                link.cut()
            return len(live)

        return self._call(cut())

    def __enter__(self) -> DelayProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        """Run ``coro`` on the proxy's loop and wait for its result."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("the proxy is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    # -- on the proxy's loop -----------------------------------------------------------------

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in list(self.links):
            link.cut()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler = asyncio.current_task()
        assert handler is not None
        self._handlers.add(handler)
        try:
            await self._relay(reader, writer)
        finally:
            self._handlers.discard(handler)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:  # the server is down: the client sees its connection reset
            self.refused += 1
            writer.transport.abort()
            return
        self.connections += 1
        link = Link(writer, up_writer)
        self.links.add(link)
        link.pumps = [
            asyncio.create_task(self._pump(link, reader, up_writer, lambda: self.delay)),
            asyncio.create_task(self._pump(link, up_reader, writer, lambda: self.reply_delay)),
        ]
        await asyncio.gather(*link.pumps, return_exceptions=True)
        if not link.closed:  # both sides finished cleanly
            link.closed = True
            for side in (writer, up_writer):
                side.close()
        self.links.discard(link)

    async def _pump(
        self,
        link: Link,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        delay: Callable[[], float],
    ) -> None:
        """Relay one direction: read into a queue of ``(due, chunk)``, write each when due.
        At the source's end of file, pass the half-close on once everything is written."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def write() -> None:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:  # the end of file is delayed like the data before it
                    with contextlib.suppress(OSError, RuntimeError):
                        if sink.can_write_eof():
                            sink.write_eof()
                    return
                sink.write(data)
                await sink.drain()

        def written(task: asyncio.Task[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                link.cut()  # the sink's peer is gone: end the whole link

        writer = asyncio.create_task(write())
        writer.add_done_callback(written)
        try:
            while True:
                data = await source.read(CHUNK)
                queue.put_nowait((loop.time() + max(delay(), 0.0), data))
                if not data:
                    break
            await writer
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            link.cut()
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, OSError):
                await writer
