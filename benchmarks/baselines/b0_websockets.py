"""B0: the pure-Python floor, the ``websockets`` library's ``broadcast()``.

Speaks just enough Engine.IO v4 / Socket.IO over a WebSocket for the benchmark clients: the
open packet, namespace connect (``40``), events and acknowledgements. One JSON encode per
broadcast, then ``broadcast()`` writes the same frame to every connection of the room.
Compression off, no pings (the clients do not need them).

    python -m benchmarks.baselines.b0_websockets --port 8000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from typing import Any

from websockets.asyncio.server import ServerConnection, broadcast, serve

from .b1_socketio import chat_message

rooms: dict[str, set[ServerConnection]] = {}
seqs: dict[str, int] = {}
ids = itertools.count()


def encode(event: str, data: Any) -> str:
    return "42" + json.dumps([event, data], separators=(",", ":"))


async def handle(ws: ServerConnection) -> None:
    sid = f"b0-{next(ids)}"
    joined: set[str] = set()
    await ws.send(
        "0"
        + json.dumps(
            {
                "sid": sid,
                "upgrades": [],
                "pingInterval": 25000,
                "pingTimeout": 20000,
                "maxPayload": 1000000,
            }
        )
    )
    try:
        async for raw in ws:
            packet = raw if isinstance(raw, str) else raw.decode()
            if packet.startswith("40"):
                await ws.send("40" + json.dumps({"sid": sid}))
            elif packet.startswith("42"):
                start = packet.index("[")
                ack_id = packet[2:start]
                event, data = json.loads(packet[start:])
                reply = on_event(ws, sid, joined, event, data)
                if ack_id and reply is not None:
                    await ws.send(f"43{ack_id}" + json.dumps([reply], separators=(",", ":")))
    finally:
        for room in joined:
            rooms[room].discard(ws)


def on_event(
    ws: ServerConnection, sid: str, joined: set[str], event: str, data: dict[str, Any]
) -> dict[str, Any] | None:
    room = data["room"]
    if event == "join":
        rooms.setdefault(room, set()).add(ws)
        joined.add(room)
        return {"ok": True, "room": room, "session": sid}
    if event == "send":
        seq = seqs[room] = seqs.get(room, 0) + 1
        broadcast(rooms.get(room, ()), encode("message", chat_message(room, seq, data)))
        return {"ok": True, "seq": seq}
    if event == "presence":
        frame = encode("presence", {"room": room, "session": sid, "state": data["state"]})
        broadcast((c for c in rooms.get(room, ()) if c is not ws), frame)
        return None
    return {"ok": False, "error": {"code": "unknown_event", "message": event}}


async def main(port: int) -> None:
    async with serve(
        handle, "127.0.0.1", port, compression=None, ping_interval=None, max_size=2**20
    ):
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
