"""B1: a bare python-socketio ``AsyncServer`` on tornado with defaults.

What an extension author writes first: ``join`` enters a Socket.IO room, ``send`` broadcasts
``message`` to the room, ``presence`` is relayed to the room (minus the sender). No
authentication, no storage. The driver's defaults stay: permessage-deflate is accepted when
the client offers it (browsers do), Nagle's algorithm stays on, ``async_handlers=True``.

    python -m benchmarks.baselines.b1_socketio --port 8001
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

import socketio
import tornado.web

PATH = "/socket.io/"
# The same shape and size as the user object in the collab server's messages.
USER = {
    "username": "5f3c0e7b9a2d4c6e8f1a3b5c7d9e0f12",
    "name": "Anonymous Io",
    "display_name": "Anonymous Io",
    "initials": "AI",
    "avatar_url": None,
    "color": "#1f77b4",
}


def chat_message(room: str, seq: int, data: dict[str, Any]) -> dict[str, Any]:
    """The ``message`` event of a ``send``, shaped and sized like collab-widget's."""
    return {
        "room": room,
        "seq": seq,
        "client_id": data["client_id"],
        "user": USER,
        "text": data["text"],
        "ts": int(time.time() * 1000),
    }


def build_server() -> socketio.AsyncServer:
    sio = socketio.AsyncServer(async_mode="tornado")
    seqs: dict[str, int] = {}

    @sio.on("join")
    async def join(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        await sio.enter_room(sid, data["room"])
        return {"ok": True, "room": data["room"], "session": sid}

    @sio.on("send")
    async def send(sid: str, data: dict[str, Any]) -> dict[str, Any]:
        room = data["room"]
        seq = seqs[room] = seqs.get(room, 0) + 1
        await sio.emit("message", chat_message(room, seq, data), to=room)
        return {"ok": True, "seq": seq}

    @sio.on("presence")
    async def presence(sid: str, data: dict[str, Any]) -> None:
        await sio.emit(
            "presence",
            {"room": data["room"], "session": sid, "state": data["state"]},
            to=data["room"],
            skip_sid=sid,
        )

    return sio


def handler_class(sio: socketio.AsyncServer) -> type[tornado.web.RequestHandler]:
    return socketio.get_tornado_handler(sio)  # type: ignore[no-any-return]


async def serve(port: int, handler: type[tornado.web.RequestHandler]) -> None:
    app = tornado.web.Application([(PATH, handler)])
    app.listen(port, address="127.0.0.1")
    await asyncio.Event().wait()


def parse_port() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    return int(parser.parse_args().port)


if __name__ == "__main__":
    asyncio.run(serve(parse_port(), handler_class(build_server())))
