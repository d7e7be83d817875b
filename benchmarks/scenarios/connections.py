"""Scenario 3: many idle connections, each joined to one room; memory per connection.

``warm`` connections are made first (so lazily created server state, imports and caches are
in the baseline), then ``connections`` more, each joined to a room of ``room_size`` members.
Memory per connection is the RSS growth over the new connections, read as the median of
samples taken while they sit idle; the server's idle CPU is measured over the same time.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from ..config import ConnectionsParams
from ..eio import Target
from ..procstat import Snapshot, Window, process_rss
from ..stats import percentile
from .common import LoopLag, RssSampler, close_all, connect_many, join_all, validity


async def _median_rss(pid: int, seconds: float) -> int:
    samples = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        samples.append(process_rss(pid))
        await asyncio.sleep(0.2)
    return int(percentile(samples, 50))


async def run_connections(target: Target, p: ConnectionsParams) -> dict[str, Any]:
    def room(index: int) -> str:
        return f"bench-conn-{index // p.room_size}"

    warm = await connect_many(target, p.warm, concurrency=p.concurrency)
    await join_all(warm, lambda i: f"bench-warm-{i // p.room_size}", concurrency=p.concurrency)
    rss0 = await _median_rss(target.pid, p.settle)
    rss = RssSampler(target.pid, interval=1.0).start()
    lag = LoopLag().start()
    started = time.monotonic()
    clients = await connect_many(target, p.connections, concurrency=p.concurrency)
    connected = time.monotonic()
    await join_all(clients, room, concurrency=p.concurrency)
    joined = time.monotonic()
    for client in clients:
        client.drain = True
    before = Snapshot.take(target.pid)
    rss1 = await _median_rss(target.pid, p.settle + p.idle)
    after = Snapshot.take(target.pid)
    rss.stop()
    window = Window.between(before, after)
    alive = sum(1 for c in clients if not c.closed.done())
    result = {
        **window.as_dict(),
        "connections": p.connections,
        "alive": alive,
        "room_size": p.room_size,
        "connect_s": round(connected - started, 2),
        "join_s": round(joined - connected, 2),
        "rss_mb_before": round(rss0 / 2**20, 1),
        "rss_mb_after": round(rss1 / 2**20, 1),
        "kb_per_connection": round((rss1 - rss0) / p.connections / 1024, 1),
        "idle_cpu_pct": round(100 * window.server_share, 2),
        "rss_series_mb": rss.series_mb(),
        "loop_lag": lag.stop(),
        **validity(window),
    }
    if alive < p.connections:
        result["valid"] = False
        result["invalid_reasons"].append(f"only {alive} of {p.connections} stayed connected")
    close_all([*warm, *clients])
    return result
