"""Helpers shared by the scenarios: connecting many clients, sampling memory, validity."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import FOREIGN_CPU_LIMIT, LOADGEN_CPU_LIMIT
from ..eio import EioClient, EventCallback, Target
from ..procstat import Window, process_rss
from ..stats import percentile


async def connect_many(
    target: Target,
    count: int,
    on_event: EventCallback | None = None,
    concurrency: int = 50,
    timeout: float = 30.0,
) -> list[EioClient]:
    """Connect ``count`` clients, at most ``concurrency`` handshakes at once."""
    clients: list[EioClient | None] = [None] * count
    semaphore = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with semaphore:
            clients[index] = await EioClient(target, on_event).connect(timeout)

    await asyncio.gather(*(one(i) for i in range(count)))
    return [c for c in clients if c is not None]


#: The protocol version the load generator speaks, as the browser extension does (ours then
#: sends compact presence batches; the baselines ignore the field).
PROTOCOL = "1.2"


def join_payload(room: str) -> dict[str, str]:
    """A ``join`` as the browser extension sends it."""
    return {"room": room, "protocol": PROTOCOL}


async def join_all(
    clients: list[EioClient],
    room: Callable[[int], str],
    concurrency: int = 1,
    timeout: float = 30.0,
) -> list[Any]:
    """Join client ``i`` to ``room(i)``; with ``concurrency=1`` one after the other, so the
    room order (the order in which servers fan out) is the list order."""
    acks: list[Any] = [None] * len(clients)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with semaphore:
            ack = await asyncio.wait_for(
                clients[index].call("join", join_payload(room(index))), timeout
            )
            check_ack(ack, "join")
            acks[index] = ack

    if concurrency == 1:
        for index in range(len(clients)):
            await one(index)
    else:
        await asyncio.gather(*(one(i) for i in range(len(clients))))
    return acks


def us_per(cpu: float, count: int | None) -> float | None:
    """CPU microseconds per item: ``cpu`` seconds over ``count`` items (None without any)."""
    return round(1e6 * cpu / count, 2) if count else None


def check_ack(ack: Any, what: str) -> None:
    if not isinstance(ack, dict) or not ack.get("ok"):
        raise RuntimeError(f"{what} refused: {ack!r}")


def close_all(clients: list[EioClient]) -> None:
    for client in clients:
        client.close()


class RssSampler:
    """Samples the server's RSS every ``interval`` seconds while the scenario runs."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, int]] = []
        self.started = time.monotonic()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def sample(self) -> int:
        rss = process_rss(self.pid)
        self.samples.append((time.monotonic() - self.started, rss))
        return rss

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def between(self, start: float, end: float) -> list[tuple[float, int]]:
        """Samples taken between two ``time.monotonic()`` instants."""
        return [
            (t, rss) for t, rss in self.samples if start - self.started <= t <= end - self.started
        ]

    def series_mb(self) -> list[tuple[float, float]]:
        return [(round(t, 2), round(rss / 2**20, 2)) for t, rss in self.samples]


class LoopLag:
    """How late this event loop wakes up (a saturated load generator shows here first)."""

    def __init__(self, period: float = 0.01) -> None:
        self.period = period
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.lags.append(loop.time() - due)

    def stop(self) -> dict[str, float]:
        if self._task is not None:
            self._task.cancel()
        return {
            "p99_ms": round(1000 * percentile(self.lags, 99), 2) if self.lags else 0.0,
            "max_ms": round(1000 * max(self.lags), 2) if self.lags else 0.0,
        }


def validity(window: Window) -> dict[str, Any]:
    """The validity verdict of one measurement window.

    Invalid: the load generator used more than 60 % of its core (then it, not the server,
    may be what limits the figures). Noisy: other processes used more than 10 % of the
    server's or the load generator's core.
    """
    reasons = []
    if window.loadgen_share > LOADGEN_CPU_LIMIT:
        reasons.append(
            f"load generator at {100 * window.loadgen_share:.0f}% of its core "
            f"(limit {100 * LOADGEN_CPU_LIMIT:.0f}%)"
        )
    noisy = []
    if window.foreign_server_core > FOREIGN_CPU_LIMIT:
        noisy.append(
            f"other processes used {100 * window.foreign_server_core:.0f}% of the server's core"
        )
    if window.foreign_loadgen_core > FOREIGN_CPU_LIMIT:
        noisy.append(
            f"other processes used {100 * window.foreign_loadgen_core:.0f}% of the "
            "load generator's core"
        )
    return {"valid": not reasons, "invalid_reasons": reasons, "noisy": noisy}


async def sleep_until(loop_time: float) -> None:
    delay = loop_time - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)


def mark_window(name: str) -> None:
    """Tell the runner that a measurement window starts (it profiles the server then).

    Writes ``name`` to the file named by ``BENCH_WINDOW_MARK``, when set.
    """
    path = os.environ.get("BENCH_WINDOW_MARK")
    if path:
        Path(path).write_text(name)
