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
