"""A client that does not read cannot make the server hold unbounded output: past
``max_output_bytes`` its connection is closed (issue 9, flaw 2), on either transport."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from .conftest import inbox
from .rawclients import RawWebSocket, client_frame

CAP = 1_000_000
SERVER_ARGS = [
    f"--CollabApp.max_output_bytes={CAP}",
    "--CollabApp.event_rate=10000",
    "--CollabApp.event_burst=10000",
    "--CollabApp.message_rate=10000",
    "--CollabApp.message_burst=10000",
]
ROOM = "big-answers"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def fill_room(connect) -> None:
    writer = await connect("alice")
    await writer.join(ROOM)
    for i in range(60):
        await writer.send(ROOM, f"{i} " + "x" * 3000)


async def test_a_websocket_that_never_reads_is_closed_and_memory_stays_flat(server, connect):
    await fill_room(connect)
    bystander, other = await connect("carol"), await connect("dave")
    await bystander.join(ROOM)
    await other.join(ROOM)
    before = rss_mb(server.process.pid)

    # A raw WebSocket with a small receive window, which reads only the handshake.
    raw = await RawWebSocket.open(server, "token-bob", receive_buffer=4096)
    reader, writer = raw.reader, raw.writer
    writer.write(client_frame(f'420["join",{{"room":"{ROOM}"}}]'))
    await writer.drain()
    await asyncio.sleep(0.3)
    # 300 history pages of ~150 KB each: ~45 MB of answers it never reads.
    for i in range(300):
        writer.write(client_frame(f'42{i + 1}["join",{{"room":"{ROOM}","since":0}}]'))
        await writer.drain()
        if i % 20 == 0:
            await asyncio.sleep(0.05)
        if "closing session" in server.log():
            break
    for _ in range(50):
        if "closing session" in server.log():
            break
        await asyncio.sleep(0.1)
    assert "max_output_bytes=1000000" in server.log()
    grown = rss_mb(server.process.pid) - before
    assert grown < 30, f"the server grew by {grown:.0f} MB"
    # The connection is closed: what the kernel still held arrives, then the end.
    try:
        received = await asyncio.wait_for(reader.read(-1), 15)
    except ConnectionResetError:  # closed with output still unsent: a reset is the end too
        received = b""
    assert len(received) < 20_000_000
    writer.close()
    # Everyone else goes on.
    messages = inbox(other, "message")
    await bystander.send(ROOM, "still here")
    assert (await messages.wait(1))[0]["text"] == "still here"


async def test_a_polling_client_that_never_polls_is_closed(server, connect):
    await fill_room(connect)
    before = rss_mb(server.process.pid)
    base = f"{server.url}collab/socket.io/?EIO=4&transport=polling"
    headers = {"Authorization": "token token-bob"}
    async with aiohttp.ClientSession() as http:
        async with http.get(base, headers=headers) as response:
            sid = (await response.text()).split('"sid":"')[1].split('"')[0]
        url = f"{base}&sid={sid}"
        async with http.post(url, data="40", headers=headers) as response:
            assert response.status == 200
        statuses = []
        for i in range(200):
            packet = f'42{i}["join",{{"room":"{ROOM}","since":0}}]'
            async with http.post(url, data=packet, headers=headers) as response:
                statuses.append(response.status)
            if response.status != 200:
                break
    assert "closing session" in server.log() and "max_output_bytes" in server.log()
    assert statuses[-1] == 400, statuses[-5:]  # the session is gone
    assert rss_mb(server.process.pid) - before < 30
