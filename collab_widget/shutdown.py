"""Everything a shutdown must end: the tasks serving the endpoint's requests and WebSockets,
and the tasks python-engineio starts and keeps nowhere (a ping task per connection, its
service task). Jupyter closes the event loop right after the extension stops; anything
still pending then logs "Task was destroyed" or "Event loop is closed".
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import socketio


class ConnectionTracker:
    """Tracks what serves the connections of one Socket.IO server, and ends it on shutdown.

    :param sio: the server; its Engine.IO ``start_background_task`` is replaced (on this
        instance) so that python-engineio's own tasks are kept here.
    :param log: where a failed connection task and the connections cut are logged (one line).
    """

    def __init__(self, sio: socketio.AsyncServer, log: logging.Logger) -> None:
        self.sio = sio
        self.log = log
        # Each task serving a request or WebSocket, with how to cut its connection.
        self._tasks: dict[asyncio.Task[Any], Callable[[], None] | None] = {}
        self._background: set[asyncio.Task[Any]] = set()
        sio.eio.start_background_task = self.start_background_task  # type: ignore[method-assign]

    def track(self, task: asyncio.Task[Any] | None, cut: Callable[[], None] | None) -> None:
        """Have the shutdown wait for ``task`` (a request of the endpoint, or the Engine.IO
        task serving a WebSocket).

        :param task: the task; None is ignored.
        :param cut: closes the task's connection at once, for the shutdown when it does not
            end in time (None: the task ends when another tracked one's connection does).
        """
        if task is None or task.done():
            return
        self._tasks[task] = cut
        task.add_done_callback(self._untrack)

    def _untrack(self, task: asyncio.Task[Any]) -> None:
        self._tasks.pop(task, None)
        # A task of python-engineio's that failed (tornado's own requests never do): one line,
        # not asyncio's "Task exception was never retrieved" and a traceback.
        if not task.cancelled() and task.exception() is not None:
            self.log.warning("collab: a connection ended with %r", task.exception())

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """python-engineio's ``start_background_task`` (its ping and service tasks), keeping
        the tasks so that the shutdown ends them."""
        task = asyncio.ensure_future(target(*args, **kwargs))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def close_all(self) -> None:
        """Close every Engine.IO connection: its session is closed (queueing a CLOSE packet),
        and an end-of-queue marker lets its WebSocket writer send what is queued and close
        the WebSocket, or answers its pending long-poll."""
        sockets = self.sio.eio.sockets
        for eio_sid, socket in list(sockets.items()):
            try:
                await socket.close(wait=False, abort=False)
            except Exception as error:
                self.log.warning("collab: closing connection %s failed: %r", eio_sid, error)
            socket.queue.put_nowait(None)
            sockets.pop(eio_sid, None)

    async def finish(self, deadline: float) -> None:
        """Wait until ``deadline`` (event loop time) for the tracked requests and WebSockets to
        end; then cut the connections still open, and cancel what still serves them."""
        loop = asyncio.get_running_loop()
        while self._tasks and (remaining := deadline - loop.time()) > 0:
            await asyncio.wait(list(self._tasks), timeout=min(remaining, 0.25))
            if self.sio.eio.sockets:  # handshakes that were under way when we closed
                await self.close_all()
        if not self._tasks:
            return
        cuts = {cut for cut in self._tasks.values() if cut is not None}
        self.log.warning("collab: cutting %d connections that did not close in time", len(cuts))
        for cut in cuts:
            cut()
        _, pending = await asyncio.wait(list(self._tasks), timeout=1.0)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)

    async def end_background(self) -> None:
        """Cancel python-engineio's remaining tasks and wait until they ended."""
        background = list(self._background)
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
