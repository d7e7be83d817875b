"""Scenario 1 (chat fan-out) and scenario 5 (a stalled client during chat fan-out).

One sender sends ``send {room, text, client_id}`` at a fixed rate to a room of receivers (the
sender is a member too, so it also gets every ``message``). The text carries the message
number and the send time (``bench|<n>|<time_ns>|...``): every receiver finds them with two
``bytes.find`` calls, without decoding JSON, and the load generator records per message the
number of receipts and the latency at the slowest receiver, and per receiver whether numbers
only ever increase (order).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from ..config import ChatLoadParams, ChatParams, StallParams
from ..eio import EioClient, Target
from ..procstat import Snapshot, Window
from ..stats import ms, percentile, slope
from .common import (
    LoopLag,
    RssSampler,
    close_all,
    connect_many,
    join_all,
    mark_window,
    sleep_until,
    validity,
)

ROOM = "bench-chat"
MARK = b"bench|"
BEHIND_S = 5.0  # a server whose messages arrive this late is saturated
CUT_AFTER_S = 10.0


def capacity(p: ChatLoadParams) -> int:
    """How many message numbers a run of ``p`` uses at most: warm-up and window at the rate,
    and a margin."""
    return round((p.warmup + p.duration) * p.rate) + 10


class ChatLoad:
    """The receivers, the sender and the per-message bookkeeping."""

    def __init__(self, target: Target, rate: float, capacity: int, text_size: int) -> None:
        self.target = target
        self.rate = rate
        self.text_size = text_size
        self.count = [0] * capacity
        self.slowest = [0] * capacity
        self.sent_at = [0] * capacity
        self.n = 0
        self.disorder = 0
        self.last_latency = 0
        self.cut = False
        self.acked = 0
        self.send_errors: list[Any] = []
        self.receivers: list[EioClient] = []
        self.sender: EioClient | None = None

    # -- receiving ---------------------------------------------------------------------------
    def on_event(self, client: EioClient, packet: bytes, now: int) -> None:
        i = packet.find(MARK)
        if i < 0:
            return  # joined/left and other events
        j = packet.index(b"|", i + 6)
        k = packet.index(b"|", j + 1)
        n = int(packet[i + 6 : j])
        latency = now - int(packet[j + 1 : k])
        self.last_latency = latency
        if n < len(self.count):
            self.count[n] += 1
            if latency > self.slowest[n]:
                self.slowest[n] = latency
        if n <= client.last_seen:
            self.disorder += 1
        client.last_seen = n

    # -- setting up --------------------------------------------------------------------------
    async def setup(self, receivers: int) -> None:
        """Connect and join ``receivers`` receivers, then the sender (also a receiver)."""
        clients = await connect_many(self.target, receivers + 1, self.on_event)
        await join_all(clients, lambda _i: ROOM, concurrency=20)  # all of them measure
        self.receivers = clients
        self.sender = clients[-1]

    # -- sending -----------------------------------------------------------------------------
    def _send_one(self) -> None:
        assert self.sender is not None
        n = self.n
        self.n += 1
        now = time.time_ns()
        head = f"bench|{n}|{now}|"
        text = head + "x" * max(0, self.text_size - len(head))
        if n < len(self.sent_at):
            self.sent_at[n] = now
        future = self.sender.call("send", {"room": ROOM, "text": text, "client_id": f"b-{n}"})
        future.add_done_callback(self._acked)

    def _acked(self, future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            self.send_errors.append(repr(future.exception()))
            return
        ack = future.result()
        if isinstance(ack, dict) and ack.get("ok"):
            self.acked += 1
        else:
            self.send_errors.append(ack)

    async def send_for(self, seconds: float, cut_after: float | None = None) -> range:
        """Send at the fixed rate for ``seconds``; returns the numbers sent.

        With ``cut_after``, a server more than ``BEHIND_S`` behind (the latest receipt that
        late) after ``cut_after`` seconds is saturated: sending stops there, to save time."""
        loop = asyncio.get_running_loop()
        first = self.n
        start = loop.time()
        for i in range(round(seconds * self.rate)):
            await sleep_until(start + i / self.rate)
            if (
                cut_after is not None
                and i / self.rate >= cut_after
                and self.last_latency > BEHIND_S * 1e9
            ):
                self.cut = True
                return range(first, self.n)
            self._send_one()
        await sleep_until(start + seconds)
        return range(first, self.n)

    async def settle(self, numbers: range, limit: float) -> str:
        """Wait until every message in ``numbers`` reached every receiver ("complete"), or
        nothing arrived for 3 s ("quiet": what is missing is lost), or ``limit`` seconds
        passed ("limit": a saturated server still owes its backlog)."""
        expected = self.members()
        started = time.monotonic()
        progress = (started, self.delivered())
        while time.monotonic() - started < limit:
            if all(self.count[n] >= expected for n in numbers):
                return "complete"
            await asyncio.sleep(0.05)
            now = time.monotonic()
            delivered = self.delivered()
            if delivered != progress[1]:
                progress = (now, delivered)
            elif now - progress[0] > 3.0:
                return "quiet"
        return "limit"

    def members(self) -> int:
        """The sessions that get every message."""
        return len(self.receivers)

    def delivered(self) -> int:
        """Event frames received so far by the counted receivers."""
        return sum(c.event_frames for c in self.receivers)

    # -- results -----------------------------------------------------------------------------
    def latency(self, numbers: range) -> dict[str, Any]:
        expected = self.members()
        complete = [self.slowest[n] for n in numbers if self.count[n] >= expected]
        lost = sum(max(0, expected - self.count[n]) for n in numbers)
        return {
            "messages": len(numbers),
            "recipients": expected,
            "slowest_p50_ms": ms(percentile(complete, 50)),
            "slowest_p99_ms": ms(percentile(complete, 99)),
            "slowest_max_ms": ms(max(complete)) if complete else None,
            "missing": lost,
        }

    def frame_bytes(self) -> float:
        frames = sum(c.event_frames for c in self.receivers)
        return sum(c.event_bytes for c in self.receivers) / frames if frames else 0.0


def _cpu(window: Window, offered: int, delivered: int) -> dict[str, Any]:
    """Server CPU per delivery: per frame the receivers got during the window (equal to the
    offered deliveries while the server keeps up; fewer when it falls behind)."""
    return {
        **window.as_dict(),
        "offered_deliveries_per_s": round(offered / window.seconds),
        "deliveries_per_s": round(delivered / window.seconds),
        "cpu_us_per_delivery": round(1e6 * window.server_cpu / delivered, 2) if delivered else None,
    }


def _losses(drain: str, seconds: float, missing: int) -> dict[str, Any]:
    """Missing messages are lost when the server had finished sending (the drain ended
    complete or quiet); when the drain limit cut the wait, they are only late."""
    return {
        "drain": drain,
        "drain_after_s": round(seconds, 2),
        "lost": None if drain == "limit" else missing,
        "undelivered_at_drain_limit": missing if drain == "limit" else 0,
    }


@dataclass
class Phase:
    """One measurement window: the messages sent in it, CPU and memory around it."""

    numbers: range
    window: Window
    delivered: int
    started: float
    ended: float


async def _measure(
    load: ChatLoad, pid: int, seconds: float, cut_after: float | None = None
) -> Phase:
    t0, s0, d0 = time.monotonic(), Snapshot.take(pid), load.delivered()
    numbers = await load.send_for(seconds, cut_after)
    t1, s1, d1 = time.monotonic(), Snapshot.take(pid), load.delivered()
    return Phase(numbers, Window.between(s0, s1), d1 - d0, t0, t1)


async def _drain(load: ChatLoad, numbers: range, limit: float) -> tuple[str, float]:
    started = time.monotonic()
    how = await load.settle(numbers, limit)
    return how, time.monotonic() - started


def _phase(load: ChatLoad, phase: Phase, rss: RssSampler, members: int) -> dict[str, Any]:
    samples = rss.between(phase.started, phase.ended)
    return {
        **_cpu(phase.window, len(phase.numbers) * members, phase.delivered),
        **load.latency(phase.numbers),
        "rss_mb_start": round(samples[0][1] / 2**20, 2) if samples else None,
        "rss_mb_end": round(samples[-1][1] / 2**20, 2) if samples else None,
        "rss_slope_kb_per_s": round(slope(samples) / 1024, 1),
        **validity(phase.window),
    }


def _chat_result(
    load: ChatLoad, phase: Phase, rss: RssSampler, drain: tuple[str, float]
) -> dict[str, Any]:
    result = _phase(load, phase, rss, load.members())
    return {
        **result,
        **_losses(drain[0], drain[1], result["missing"]),
        "cut_saturated": load.cut,
        "out_of_order": load.disorder,
        "send_errors": len(load.send_errors),
        "first_send_error": load.send_errors[0] if load.send_errors else None,
        "frame_bytes": round(load.frame_bytes()),
        "rss_series_mb": rss.series_mb(),
    }


async def _stall(
    load: ChatLoad, target: Target, p: StallParams, rss: RssSampler, before: dict[str, Any]
) -> dict[str, Any]:
    """One more receiver (small receive buffer, joined last) stops reading; measured over
    ``p.during`` seconds and compared with ``before`` (the same load without it)."""
    stalled = EioClient(target)
    await stalled.connect(rcvbuf=p.rcvbuf)
    await join_all([stalled], lambda _i: ROOM)
    await asyncio.sleep(0.3)
    stalled.pause_reading()
    phase = await _measure(load, target.pid, p.during)
    drain = await _drain(load, phase.numbers, p.drain_limit)
    during = _phase(load, phase, rss, len(load.receivers) + 1)
    frame = load.frame_bytes()
    p99_before = before["slowest_p99_ms"]
    p99_during = during["slowest_p99_ms"]
    growth = (during["rss_mb_end"] or 0) - (during["rss_mb_start"] or 0)
    stalled.close()
    return {
        "before": before,
        "during": during,
        "p99_before_ms": p99_before,
        "p99_during_ms": p99_during,
        "p99_change_pct": round(100 * (p99_during / p99_before - 1), 1)
        if p99_before and p99_during
        else None,
        "rss_slope_before_kb_per_s": before["rss_slope_kb_per_s"],
        "rss_growth_during_mb": round(growth, 2),
        "rss_slope_during_kb_per_s": during["rss_slope_kb_per_s"],
        "stalled_backlog_kb": round(len(phase.numbers) * frame / 1024, 1),
        **_losses(drain[0], drain[1], during["missing"]),
        "out_of_order": load.disorder,
        "send_errors": len(load.send_errors),
        "frame_bytes": round(frame),
        "rss_series_mb": rss.series_mb(),
        "valid": before["valid"] and during["valid"],
        "invalid_reasons": before["invalid_reasons"] + during["invalid_reasons"],
        "noisy": before["noisy"] + during["noisy"],
        "loadgen_cpu_pct": max(before["loadgen_cpu_pct"], during["loadgen_cpu_pct"]),
    }


async def run_chat(target: Target, p: ChatParams) -> dict[str, Any]:
    """Scenario 1: fan-out of ``rate`` msg/s to ``receivers`` + 1 members."""
    load = ChatLoad(target, p.rate, capacity(p), p.text_size)
    await load.setup(p.receivers)
    rss = RssSampler(target.pid).start()
    lag = LoopLag().start()
    await load.send_for(p.warmup)
    mark_window("chat")
    phase = await _measure(load, target.pid, p.duration, CUT_AFTER_S)
    drain = await _drain(load, phase.numbers, p.drain_limit)
    rss.stop()
    result = {**_chat_result(load, phase, rss, drain), "loop_lag": lag.stop()}
    close_all(load.receivers)
    return result


async def run_stall(target: Target, p: StallParams) -> dict[str, Any]:
    """Scenario 5 alone: chat for ``before`` seconds, then the stall."""
    total = p.warmup + p.before + p.during
    load = ChatLoad(target, p.rate, round(total * p.rate) + 10, p.text_size)
    await load.setup(p.receivers)
    rss = RssSampler(target.pid, interval=0.25).start()
    lag = LoopLag().start()
    await load.send_for(p.warmup)
    phase = await _measure(load, target.pid, p.before)
    before = _phase(load, phase, rss, len(load.receivers))
    result = await _stall(load, target, p, rss, before)
    rss.stop()
    result["loop_lag"] = lag.stop()
    close_all(load.receivers)
    return result


async def run_chat_stall(target: Target, chat: ChatParams, stall: StallParams) -> dict[str, Any]:
    """Scenarios 1 and 5 on one set of connections: the chat window is the stall's 'before'
    phase (saves a server start and a set-up per server and repetition)."""
    total = chat.warmup + chat.duration + stall.during
    load = ChatLoad(target, chat.rate, round(total * chat.rate) + 10, chat.text_size)
    await load.setup(chat.receivers)
    rss = RssSampler(target.pid, interval=0.25).start()
    lag = LoopLag().start()
    await load.send_for(chat.warmup)
    mark_window("chat")
    phase = await _measure(load, target.pid, chat.duration, CUT_AFTER_S)
    drain = await _drain(load, phase.numbers, chat.drain_limit)
    chat_result = _chat_result(load, phase, rss, drain)
    before = _phase(load, phase, rss, len(load.receivers))
    stall_result = await _stall(load, target, stall, rss, before)
    rss.stop()
    loop_lag = lag.stop()
    chat_result["loop_lag"] = stall_result["loop_lag"] = loop_lag
    chat_result.pop("rss_series_mb")
    close_all(load.receivers)
    return {"chat": chat_result, "stall": stall_result}
