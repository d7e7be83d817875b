from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from collab_widget.client import CollabClient

from .jupyter import JupyterServer

Connect = Callable[..., Awaitable[CollabClient]]


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServer]:
    """One real Jupyter server with collab-widget for the tests of a module, started with the
    module's ``SERVER_ARGS`` (if any)."""
    args = getattr(request.module, "SERVER_ARGS", [])
    jupyter = JupyterServer(tmp_path_factory.mktemp("jupyter"), args=args).start()
    yield jupyter
    jupyter.stop()


@pytest_asyncio.fixture
async def connect(server: JupyterServer) -> AsyncIterator[Connect]:
    """``await connect("alice")``: a connected client of a test user (see tests/support)."""
    clients: list[CollabClient] = []

    async def _connect(user: str, transports: list[str] | None = None, **kw: Any) -> CollabClient:
        target = kw.pop("target", server)
        client = CollabClient(target.url, token=f"token-{user}", transports=transports, **kw)
        await client.connect()
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        if client.connected:
            await client.disconnect()


class Inbox:
    """Collects one server event of a client; ``await inbox.wait(n)`` for the first n."""

    def __init__(self, client: CollabClient, event: str) -> None:
        self.items: list[Any] = []
        self._changed = asyncio.Event()
        client.on(event, self._add)

    def _add(self, data: Any) -> None:
        self.items.append(data)
        self._changed.set()

    async def wait(self, count: int = 1, timeout: float = 5.0) -> list[Any]:
        async def until() -> None:
            while len(self.items) < count:
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(until(), timeout)
        return self.items


def inbox(client: CollabClient, event: str) -> Inbox:
    return Inbox(client, event)


class Talker:
    r"""Sends numbered messages (``<prefix>0``, ``<prefix>1``, ...) to a room at a steady pace
    through whatever happens, and keeps their ``seq``\ s in order of acknowledgement; after
    :meth:`finish_after` it stops once ``more`` further messages are acknowledged."""

    def __init__(self, client: CollabClient, room: str, prefix: str, pause: float) -> None:
        self.acked: list[int] = []
        self._after = asyncio.Event()
        self._more = 0
        self._task = asyncio.create_task(self._talk(client, room, prefix, pause))

    async def _talk(self, client: CollabClient, room: str, prefix: str, pause: float) -> None:
        i = 0
        while not self._after.is_set() or self._more > 0:
            self.acked.append((await client.send(room, f"{prefix}{i}"))["seq"])
            i += 1
            if self._after.is_set():
                self._more -= 1
            await asyncio.sleep(pause)

    async def finish_after(self, more: int, timeout: float) -> list[int]:
        r"""Send ``more`` messages after now, then stop; the acknowledged ``seq``\ s."""
        self._more = more
        self._after.set()
        await asyncio.wait_for(self._task, timeout)
        return self.acked


async def until(check: Callable[[], bool], timeout: float = 15.0, what: str = "it") -> None:
    """Wait until ``check()`` holds (polling), or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def test_root() -> Path:
    return Path(__file__).parent
