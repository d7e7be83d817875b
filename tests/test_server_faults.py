"""Network faults: clients on both transports chat through a proxy that cuts connections at
random, all at once, and right as a send's acknowledgement passes, stalls some, while the
server restarts once. Afterwards nothing acknowledged is lost, nothing is stored twice,
every client saw every message of its room once, and the server logged no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter, defaultdict
from typing import Any

from collab_widget.client import CollabClient, CollabError

from .faultproxy import FaultProxy
from .jupyter import SHARED_TOKEN, JupyterServer

ROOM = "faults"
#: How long the clients chat under faults, in seconds.
DURATION = 30.0
SERVER_ARGS = [
    "--CollabApp.history_limit=100000",
    "--CollabApp.message_rate=100",
    "--CollabApp.message_burst=200",
    "--CollabApp.event_rate=500",
    "--CollabApp.event_burst=1000",
    # Notice a silent (stalled or half-open) connection within a few seconds.
    "--CollabApp.ping_interval=2",
    "--CollabApp.ping_timeout=3",
]
TRACEBACK_MARKERS = ("Traceback", "Exception ignored", "never retrieved", "Task was destroyed")


class Chatter:
    """One client through the proxy: sends on a schedule, records what it got and what was
    acknowledged."""

    def __init__(self, name: str, url: str, token: str, transport: str) -> None:
        self.name = name
        self.client = CollabClient(
            url,
            token=token,
            transports=[transport],
            reconnection_delay=0.2,
            reconnection_delay_max=1.0,
            send_timeout=45.0,
        )
        self.received: list[int] = []
        self.acked: dict[str, int] = {}  # client_id -> seq
        self.failed: list[str] = []  # client_ids never acknowledged
        self.joined_at = 0  # the room's last seq when this client joined
        self.client.on("message", self._on_message)

    def _on_message(self, message: dict[str, Any]) -> None:
        if message.get("room") == ROOM:
            self.received.append(message["seq"])

    async def start(self) -> None:
        await self.client.connect()
        ack = await self.client.join(ROOM)
        self.joined_at = ack["last_seq"]

    async def chat(self, until: float, pause: float) -> None:
        n = 0
        while time.monotonic() < until:
            client_id = f"{self.name}-{n}"
            n += 1
            try:
                message = await self.client.send(ROOM, f"{self.name} says {n}", client_id)
                self.acked[client_id] = message["seq"]
            except (CollabError, asyncio.TimeoutError):
                self.failed.append(client_id)
            await asyncio.sleep(pause)


async def chaos(proxy: FaultProxy, server: JupyterServer, until: float) -> list[str]:
    """Faults on a schedule: a random cut every ~1.5 s, stalls, all cut once, one restart."""
    events: list[str] = []
    start = time.monotonic()
    did_cut_all = did_restart = False
    while time.monotonic() < until:
        await asyncio.sleep(proxy.random.uniform(0.8, 2.0))
        t = time.monotonic() - start
        proxy.cut_random(proxy.random.choice([1, 1, 2]))
        if proxy.random.random() < 0.3:
            proxy.stall_random(proxy.random.uniform(1.0, 3.0))
        if not did_cut_all and t > DURATION * 0.3:
            did_cut_all = True
            events.append(f"{t:.1f}s cut all ({proxy.cut_all()})")
        if not did_restart and t > DURATION * 0.55:
            did_restart = True
            await asyncio.to_thread(server.stop)
            await asyncio.to_thread(server.start)
            events.append(f"{t:.1f}s server restarted")
    return events


async def full_history(server: JupyterServer) -> list[dict[str, Any]]:
    """Every stored message of the room, oldest first, read directly (not through the proxy)."""
    async with CollabClient(server.url, token="token-carol", reconnection=False) as reader:
        ack = await reader.join(ROOM, since=0)
        messages = list(ack["history"])
        if messages and ack["has_more"]:
            messages += await reader.catch_up(ROOM, messages[-1]["seq"])
        return messages


async def test_nothing_lost_nothing_doubled_under_faults(tmp_path):
    server = JupyterServer(tmp_path, args=SERVER_ARGS).start()
    proxy = await FaultProxy(server.port, ack_cut_rate=0.05, seed=16).start()
    url = f"http://127.0.0.1:{proxy.port}{server.base_url}"
    tokens = ["token-alice", "token-bob", SHARED_TOKEN, SHARED_TOKEN]
    chatters = [
        Chatter(f"c{i}", url, tokens[i % 4], "websocket" if i % 2 else "polling") for i in range(8)
    ]
    started = time.monotonic()
    try:
        for chatter in chatters:
            await chatter.start()
        until = time.monotonic() + DURATION
        chaos_task = asyncio.create_task(chaos(proxy, server, until))
        await asyncio.gather(*(c.chat(until, pause=0.15) for c in chatters))
        events = await chaos_task
        # Calm: every client reconnects, re-joins and catches up.
        await asyncio.gather(*(c.client.wait_connected(30) for c in chatters))
        history = await full_history(server)
        deadline = time.monotonic() + 20
        last = history[-1]["seq"] if history else 0
        while time.monotonic() < deadline and any(
            (c.received[-1] if c.received else 0) < last for c in chatters
        ):
            await asyncio.sleep(0.2)
    finally:
        for chatter in chatters:
            with contextlib.suppress(Exception):
                await chatter.client.disconnect()
        await proxy.close()
        server.stop()

    seqs = [m["seq"] for m in history]
    by_client_id = Counter(m["client_id"] for m in history)
    stored = {m["client_id"]: m["seq"] for m in history}
    acked = {cid: seq for c in chatters for cid, seq in c.acked.items()}
    failed = [cid for c in chatters for cid in c.failed]
    reconnects = sum(c.client.reconnects for c in chatters)
    resent = sum(c.client.resent for c in chatters)
    print(
        f"\n{len(chatters)} clients, {time.monotonic() - started:.0f} s: {len(acked)} messages "
        f"acknowledged, {len(failed)} not, {len(history)} stored; {reconnects} reconnects, "
        f"{resent} sends re-sent; proxy: {proxy.counters}; {'; '.join(events)}"
    )

    assert seqs == sorted(set(seqs)), "seq not strictly increasing"
    doubled = [cid for cid, n in by_client_id.items() if n > 1]
    assert not doubled, f"stored twice: {doubled[:5]}"
    lost = [cid for cid in acked if cid not in stored]
    assert not lost, f"acknowledged but not stored: {lost[:5]}"
    wrong = [cid for cid, seq in acked.items() if stored[cid] != seq]
    assert not wrong, f"acknowledged with another seq than stored: {wrong[:5]}"
    assert len(acked) > 100 and reconnects >= 8
    assert proxy.counters.cuts > 10 and proxy.counters.ack_cuts >= 1
    for chatter in chatters:
        expected = [s for s in seqs if s > chatter.joined_at]
        twice = [s for s, n in Counter(chatter.received).items() if n > 1]
        assert not twice, f"{chatter.name} got messages twice: {twice[:5]}"
        missing = sorted(set(expected) - set(chatter.received))
        assert not missing, f"{chatter.name} never got {len(missing)}: {missing[:5]}"
    log = server.log()
    found = [marker for marker in TRACEBACK_MARKERS if marker in log]
    assert not found, f"the server log holds {found}"
    per_transport: defaultdict[str, int] = defaultdict(int)
    for chatter in chatters:
        per_transport[chatter.client.transports[0]] += len(chatter.acked)
    assert all(per_transport[t] > 20 for t in ("websocket", "polling")), per_transport
