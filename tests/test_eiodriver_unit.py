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


class _Server:
    ping_interval = 25.0
    ping_timeout = 20.0

    def __init__(self) -> None:
        self.tasks: list[Any] = []

    def start_background_task(self, target: Any, *args: Any) -> None:
        self.tasks.append(target)


class _Session:
    """What a Carrier reads of python-engineio's AsyncSocket."""

    def __init__(self) -> None:
        self.sid = "e1"
        self.queue = LeanQueue()
        self.server = _Server()


class _WsHandler:
    """A tornado WebSocket handler as the carrier uses it: ``write_message`` frames a packet
    onto the connection's IOStream (as tornado does, uncompressed)."""

    def __init__(self, stream: Any) -> None:
        self.ws_connection = self
        self.stream = stream
        self.closed = False

    def write_message(self, message: str | bytes, binary: bool = False) -> None:
        from collab_widget.fanout import websocket_text_frame

        data = message.encode() if isinstance(message, str) else message
        self.stream.write(websocket_text_frame(data))

    def close(self) -> None:
        self.closed = True


async def _read_exactly(peer: Any, size: int) -> bytes:
    loop = asyncio.get_running_loop()
    got = b""
    while len(got) < size:
        got += await loop.sock_recv(peer, size - len(got))
    return got


async def test_a_carrier_writes_room_frames_in_order_with_its_own_packets_then_stops():
    import socket

    from engineio import packet
    from tornado.iostream import IOStream

    from collab_widget.eiodriver import Carrier
    from collab_widget.fanout import event_frame, websocket_text_frame

    ours, peer = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    peer.setblocking(False)
    stream = IOStream(ours)
    session, carriers = _Session(), {}
    carrier = Carrier(session, _WsHandler(stream), Inbox(), carriers)  # type: ignore[arg-type]
    session.queue.put_nowait(packet.Packet(packet.MESSAGE, data='2["queued"]'))
    carrier.start()
    assert carriers == {"e1": carrier}

    # A packet of the session, then room frames: big enough that the kernel does not take
    # them all and tornado holds the rest; a frame must then wait behind, never cut in.
    frames = [event_frame("message", {"text": str(i) * 3000}) for i in range(8)]
    session.queue.put_nowait(packet.Packet(packet.MESSAGE, data='2["own"]'))
    assert all(carrier.write_frame(f.ws) for f in frames[:-1])
    assert len(stream._write_buffer) > 0  # tornado holds part of it
    # The client reads some: the kernel has room again before tornado writes what it holds.
    head = peer.recv(4096)
    assert carrier.write_frame(frames[-1].ws)
    session.queue.put_nowait(packet.Packet(packet.MESSAGE, data='2["last"]'))
    expected = b"".join(
        [
            websocket_text_frame(b'42["queued"]'),
            websocket_text_frame(b'42["own"]'),
            *(f.ws for f in frames),
            websocket_text_frame(b'42["last"]'),
        ]
    )
    rest = await asyncio.wait_for(_read_exactly(peer, len(expected) - len(head)), 5)
    assert head + rest == expected

    # The session's CLOSE is its last packet: nothing of the room may follow it.
    session.queue.put_nowait(packet.Packet(packet.CLOSE))
    assert carriers == {} and carrier.write_frame(frames[0].ws) is False
    session.queue.put_nowait(None)  # python-engineio's end of the output
    assert carrier.handler.closed
    stream.close()
    peer.close()


async def test_a_carrier_leaves_the_list_when_its_session_ends():
    import socket

    from tornado.iostream import IOStream

    from collab_widget.eiodriver import Carrier

    ours, peer = socket.socketpair()
    stream = IOStream(ours)
    session, carriers = _Session(), {}
    carrier = Carrier(session, _WsHandler(stream), Inbox(), carriers)  # type: ignore[arg-type]
    carrier.start()
    assert carriers == {"e1": carrier}
    carrier.inbox.end()  # the client closed, or timed out
    assert carriers == {} and carrier.write_frame(b"\x81\x00") is False
    stream.close()
    assert Carrier(session, _WsHandler(stream), Inbox(), {}).write_frame(b"x") is False
    peer.close()
