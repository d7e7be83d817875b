"""The lean Engine.IO driver's queues: the session's packet queue (asyncio.Queue's interface
as python-engineio and the fan-out use it, then writing through to the WebSocket) and the
handler's inbox (messages handled where tornado hands them over, in order, one at a time)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collab_widget.eiodriver import Inbox, LeanQueue, slim_environ


class _Sink:
    def __init__(self) -> None:
        self.items: list[Any] = []

    def write(self, item: Any) -> None:
        self.items.append(item)


async def test_the_queue_is_fifo_and_wakes_a_waiting_getter():
    queue = LeanQueue()
    assert queue.empty() and not queue._queue and not queue._getters
    getter = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert queue._getters  # a consumer waits, as asyncio.Queue shows it
    queue.put_nowait(1)
    await queue.put(2)
    assert await getter == 1
    assert queue.get_nowait() == 2
    assert queue._queue == () and queue._getters == ()  # nothing kept while idle
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_a_cancelled_get_leaves_nothing_behind():
    queue = LeanQueue()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(queue.get(), 0.01)
    assert not queue._getters
    queue.put_nowait("x")
    assert await queue.get() == "x"


async def test_join_waits_for_task_done():
    queue = LeanQueue()
    await queue.join()  # nothing unfinished
    queue.put_nowait("a")
    joined = asyncio.ensure_future(queue.join())
    await asyncio.sleep(0)
    assert not joined.done()
    queue.get_nowait()
    queue.task_done()
    await asyncio.wait_for(joined, 1)
    with pytest.raises(ValueError):
        queue.task_done()


async def test_writing_through_hands_over_what_waits_then_each_item():
    queue = LeanQueue()
    queue.put_nowait(1)
    queue.put_nowait(2)
    joined = asyncio.ensure_future(queue.join())
    sink = _Sink()
    queue.write_through(sink)
    queue.put_nowait(3)
    assert sink.items == [1, 2, 3]
    assert queue.empty() and queue._getters  # the writer always waits: the fan-out may write
    await asyncio.wait_for(joined, 1)  # what was handed over counts as done
    await asyncio.wait_for(queue.join(), 1)
    queue.discard()
    queue.put_nowait(4)
    assert sink.items == [1, 2, 3] and queue.empty() and not queue._getters


class _Reader:
    def __init__(self) -> None:
        self.handled: list[Any] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.ends = 0

    async def read(self, message: Any) -> bool:
        await self.gate.wait()
        self.handled.append(message)
        return message != "bad"

    def ended(self) -> None:
        self.ends += 1


async def test_the_inbox_buffers_until_attached_then_handles_in_order():
    inbox = Inbox()
    await inbox.put("handshake")
    assert await inbox.get() == "handshake"
    await inbox.put("early")  # arrives before the session runs
    reader = _Reader()
    inbox.attach(reader)  # what waits is handled in a task, before anything put after
    await inbox.put("next")
    for _ in range(3):
        await asyncio.sleep(0)
    assert reader.handled == ["early", "next"]
    assert inbox._getters and not inbox.qsize()  # idle: the next message may be handled


async def test_a_message_put_while_another_is_handled_comes_right_after_it():
    inbox = Inbox()
    reader = _Reader()
    inbox.attach(reader)
    reader.gate.clear()
    first = asyncio.ensure_future(inbox.put("a"))
    await asyncio.sleep(0)
    assert inbox.busy and not inbox._getters
    inbox.put_nowait("b")
    inbox.put_nowait(None)  # the connection closed: after what came before it
    reader.gate.set()
    await first
    assert reader.handled == ["a", "b"] and reader.ends == 1
    await inbox.put("late")  # after the end: ignored
    assert reader.handled == ["a", "b"] and reader.ends == 1


async def test_the_reader_ends_the_session_once():
    inbox = Inbox()
    reader = _Reader()
    inbox.attach(reader)
    await inbox.put("bad")
    inbox.end()
    inbox.put_nowait(None)
    assert reader.ends == 1 and not inbox._getters


def test_a_slim_environ_keeps_the_handler():
    handler = object()
    environ = {"tornado.handler": handler, "HTTP_COOKIE": "x", "QUERY_STRING": "EIO=4"}
    slim_environ(environ)
    assert environ == {"tornado.handler": handler}
