"""Fanout's view of one connection: a WebSocket that holds more output than
``WRITE_BACKLOG`` is skipped by presence (``can_send``) whether it was upgraded from polling or
was WebSocket from the start (every relay's connection to the class service is), and polling
connections by their queue."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from collab_widget.fanout import POLL_BACKLOG, WRITE_BACKLOG, Fanout


@dataclass
class _Stream:
    pending: int = 0  # bytes in tornado's write buffer

    @property
    def _write_buffer(self) -> bytes:
        return b"x" * self.pending


@dataclass
class _Handler:
    stream: _Stream

    @property
    def ws_connection(self) -> Any:
        return self  # tornado's WebSocketProtocol has the stream; so does this stand-in


@dataclass
class _Socket:
    upgraded: bool
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)


class _Manager:
    def eio_sid_from_sid(self, sid: str, namespace: str) -> str | None:
        return {"s1": "e1"}.get(sid)


class _Eio:
    def __init__(self, socket: _Socket) -> None:
        self.sockets = {"e1": socket}


class _Sio:
    manager = _Manager()

    def __init__(self, socket: _Socket, environ: dict[str, Any]) -> None:
        self.eio = _Eio(socket)
        self.environ = {"e1": environ}


def fanout(upgraded: bool, handler: Any, registered: bool = False) -> Fanout:
    sio = _Sio(_Socket(upgraded), {"tornado.handler": handler})
    return Fanout(sio, {"e1": handler} if registered else {})  # type: ignore[arg-type]


def test_a_websocket_only_connection_that_holds_output_is_skipped():
    stream = _Stream(pending=WRITE_BACKLOG)
    out = fanout(upgraded=True, handler=_Handler(stream))  # WebSocket from the start
    assert out.can_send("s1") is False
    stream.pending = WRITE_BACKLOG // 2  # part of the last batch: a client keeping up
    assert out.can_send("s1") is True
    stream.pending = 0
    assert out.can_send("s1") is True


def test_an_upgraded_connection_is_found_where_the_handler_registered_it():
    stream = _Stream(pending=WRITE_BACKLOG + 1)
    out = fanout(upgraded=True, handler=_Handler(stream), registered=True)
    assert out.can_send("s1") is False


def test_a_polling_connection_is_judged_by_its_queue():
    out = fanout(upgraded=False, handler=object())
    assert out.can_send("s1") is True
    socket = out.sio.eio.sockets["e1"]
    for _ in range(POLL_BACKLOG):
        socket.queue.put_nowait(object())
    assert out.can_send("s1") is False
    assert out.can_send("gone") is False


class _Queue:
    """An Engine.IO queue whose writer waits (a parked getter) with nothing queued."""

    def __init__(self) -> None:
        self._queue: list[Any] = []
        self._getters = [object()]
        self.put: list[Any] = []

    def empty(self) -> bool:
        return not self._queue

    def put_nowait(self, item: Any) -> None:
        self.put.append(item)


class _Buffer:
    _size = 0


class _RawSocket:
    def __init__(self, reset: bool = False) -> None:
        self.sent: list[bytes] = []
        self.reset = reset

    def send(self, data: bytes) -> int:
        if self.reset:
            raise ConnectionResetError
        self.sent.append(data)
        return len(data)


class _LiveStream:
    def __init__(self, closed: bool = False, reset: bool = False) -> None:
        self._closed = closed
        # tornado drops the write buffer of a closed stream
        self._write_buffer = None if closed else _Buffer()
        self.socket = None if closed else _RawSocket(reset)

    def closed(self) -> bool:
        return self._closed

    def writing(self) -> bool:
        return bool(self._write_buffer and self._write_buffer._size)


@dataclass
class _EioSocket:
    queue: _Queue = field(default_factory=_Queue)
    upgraded: bool = True
    upgrading: bool = False
    closing: bool = False
    closed: bool = False


def websocket_fanout(streams: dict[str, _LiveStream]) -> tuple[Fanout, dict[str, _EioSocket]]:
    """A fan-out over upgraded sessions of python-engineio's own driver (no carriers), one
    per stream, and those sessions."""
    sockets = {eio_sid: _EioSocket() for eio_sid in streams}
    sio = _Sio(_Socket(True), {})
    sio.eio.sockets = sockets  # type: ignore[assignment]
    handlers = {eio_sid: _Handler(stream) for eio_sid, stream in streams.items()}
    return Fanout(sio, handlers), sockets  # type: ignore[arg-type]


def test_a_closing_connection_never_costs_the_others_their_frame():
    from collab_widget.fanout import event_frame

    gone, live = _LiveStream(closed=True), _LiveStream()
    out, sockets = websocket_fanout({"e1": gone, "e2": live})
    frame = event_frame("message", {"seq": 1})
    assert out.send(frame, ["e1", "e2"]) == 2
    assert live.socket.sent == [frame.ws]  # straight to the socket
    assert sockets["e1"].queue.put == [frame.packet]  # the closed one: its queue, as before


def test_a_connection_reset_under_the_write_is_not_counted_as_delivered():
    from collab_widget.fanout import event_frame

    reset, live = _LiveStream(reset=True), _LiveStream()
    out, sockets = websocket_fanout({"e1": reset, "e2": live})
    frame = event_frame("message", {"seq": 1})
    assert out.send(frame, ["e1", "e2"]) == 1  # as a carrier's write_frame counts it
    assert live.socket.sent == [frame.ws]
    assert sockets["e1"].queue.put == []  # not queued either: its reader ends the session


class _Carrier:
    def __init__(self, fails: bool = False) -> None:
        self.frames: list[bytes] = []
        self.fails = fails

    def write_frame(self, data: bytes) -> bool:
        if self.fails:
            raise RuntimeError("a broken connection")
        self.frames.append(data)
        return True


def test_sessions_with_a_carrier_get_the_frame_through_it_and_others_through_their_queue():
    from collab_widget.fanout import event_frame

    sockets = {"e2": _EioSocket(upgraded=False)}  # polling: no carrier
    sio = _Sio(_Socket(True), {})
    sio.eio.sockets = sockets  # type: ignore[assignment]
    broken, live = _Carrier(fails=True), _Carrier()
    out = Fanout(sio, {}, {"e1": broken, "e3": live})  # type: ignore[arg-type,dict-item]
    frame = event_frame("message", {"seq": 1})
    assert out.send(frame, ["e1", "e2", "e3", "gone"]) == 2
    assert live.frames == [frame.ws]
    assert sockets["e2"].queue.put == [frame.packet]
