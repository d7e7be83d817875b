"""Scenario 2: cursor presence of a whole room.

Every member sends ``presence {room, state}`` (no acknowledgement) at a fixed rate, staggered
evenly over the period. The state is a realistic cursor (path, cell, line, column, mode,
activity); ``line`` carries the update's number and ``column`` its send time in microseconds
since the load generator started, so a receiver can tell how old the state it sees is.

* **ours** coalesces: each member gets at most ``presence_hz`` batches a second with the latest
  state of every other member. Measured: server CPU, the age of each state when a probe sees it
  (p50/p99), frames and bytes per second sent to the room, RSS over time, and at the end
  whether every probe holds every sender's last state.
* **baselines** relay every update to the room (minus the sender). Measured: a short ramp of
  rates; a step is sustained when 99 % of the updates sent to the probes during the step
  arrived within ``max_latency`` (missing ones count as late).

Only ``probes`` members (the last joined: the last served by a fan-out loop) decode what they
receive; the others only count frames and bytes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..config import LargePresenceParams, PresenceLoadParams, PresenceParams, RampParams
from ..eio import EioClient, Target, decode_event
from ..procstat import Snapshot, Window
from ..stats import ms, percentile, slope
from .common import (
    LoopLag,
    RssSampler,
    close_all,
    connect_many,
    join_all,
    mark_window,
    us_per,
    validity,
)

ROOM = "bench-presence"
TICK = 0.005
DRAIN_LOWAT = 4096
MISSING = 2**62  # the latency of an update that never arrived


def _p99_ms(latencies: list[int]) -> float | None:
    p99 = percentile(latencies, 99) if latencies else MISSING
    return None if p99 >= MISSING else ms(p99)


class PresenceLoad:
    """The members, the send schedule and the probes' bookkeeping."""

    def __init__(self, target: Target, members: int, probes: int) -> None:
        self.target = target
        self.members_count = members
        self.probes_count = probes
        self.epoch = time.time_ns()
        self.members: list[EioClient] = []
        self.sessions: list[str] = []
        self.line = [0] * members
        self.sent = [0] * members
        self.window = (0, 0)  # send times (ns) whose receipts are recorded
        self.latencies: list[int] = []
        self.batches = 0
        self.own: dict[EioClient, str] = {}  # each member's own session
        self.names: dict[EioClient, dict[int, str]] = {}  # 1.2: member number -> session

    async def setup(self) -> None:
        self.members = await connect_many(self.target, self.members_count, self.on_event)
        acks = await join_all(self.members, lambda _i: ROOM)
        for index, (client, ack) in enumerate(zip(self.members, acks, strict=True)):
            self.sessions.append(sender_key(ack, client.sid))
            self.own[client] = self.sessions[-1]
            learn_numbers(ack, self.names.setdefault(client, {}))
            client.tag = {} if index >= self.members_count - self.probes_count else None
            client.drain = client.tag is None

    # -- receiving (probes only) -------------------------------------------------------------
    def on_event(self, client: EioClient, packet: bytes, now: int) -> None:
        seen: dict[str, int] | None = client.tag
        if seen is None:
            return
        name, data = decode_event(packet)
        if name != "presence" or not isinstance(data, dict):
            return
        self.batches += 1
        low, high = self.window
        epoch = self.epoch
        own = self.own.get(client)
        for sender, state in presence_items(data, self.names[client]):
            if sender == own:
                continue
            sent = epoch + state["column"] * 1000
            if low <= sent < high:
                self.latencies.append(now - sent)
            if state["line"] > seen.get(sender, -1):
                seen[sender] = state["line"]

    # -- sending -----------------------------------------------------------------------------
    def _state(self, index: int) -> dict[str, Any]:
        """Member ``index``'s next cursor state: its update's number in ``line``, the send
        time in ``column``."""
        line = self.line[index] + 1
        self.line[index] = line
        self.sent[index] += 1
        column = (time.time_ns() - self.epoch) // 1000
        return {
            "path": "bench/class.ipynb",
            "cell_id": f"cell-{index % 40:04d}",
            "cell_index": index % 40,
            "line": line,
            "column": column,
            "mode": "edit",
            "activity": "active",
        }

    def _send(self, index: int) -> None:
        self.members[index].emit("presence", {"room": ROOM, "state": self._state(index)})

    def batch_drains(self, size: int) -> None:
        """Wake draining members only per ``size`` bytes (1: per byte, as normally)."""
        for client in self.members:
            if client.drain:
                client.set_rcvlowat(size)

    async def drive(self, rate: float, seconds: float) -> None:
        """Every member sends ``rate`` updates a second for ``seconds``, staggered.

        Meanwhile the draining members read per 4 KB (see :meth:`EioClient.set_rcvlowat`), so
        that the load generator can take the ~100,000 frames/s a relaying server sends."""
        self.batch_drains(DRAIN_LOWAT)
        try:
            await self._drive(rate, seconds)
        finally:
            self.batch_drains(1)

    async def _drive(self, rate: float, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / rate
        start = loop.time()
        end = start + seconds
        count = len(self.members)
        due = [start + period * i / count for i in range(count)]
        while True:
            now = loop.time()
            if now >= end:
                return
            for index in range(count):
                if due[index] <= now:
                    self._send(index)
                    due[index] += period
                    if due[index] <= now:  # far behind: skip, never burst
                        due[index] = now + period
            await asyncio.sleep(TICK)

    def record_from(self) -> None:
        self.latencies = []
        self.batches = 0
        self.window = (time.time_ns(), 2**63)
        for client in self.members:
            client.event_frames = 0
            client.event_bytes = 0

    def record_until(self) -> None:
        self.window = (self.window[0], time.time_ns())

    def frames(self) -> tuple[int, int]:
        return (
            sum(c.event_frames for c in self.members),
            sum(c.event_bytes for c in self.members),
        )

    def received(self) -> tuple[int, int, int]:
        """(deliveries, frames, bytes) the members got since :meth:`record_from`; here each
        frame is a delivery (to one member)."""
        frames, sent_bytes = self.frames()
        return frames, frames, sent_bytes

    def stale(self) -> int:
        """(probe, sender) pairs where the probe does not hold the sender's last state."""
        stale = 0
        for client in self.members:
            seen = client.tag
            if seen is None:
                continue
            for index, session in enumerate(self.sessions):
                if self.members[index] is not client and seen.get(session, -1) < self.line[index]:
                    stale += 1
        return stale


def sender_key(ack: Any, fallback: str) -> str:
    """How a member is named in what the probes hold, from its join acknowledgement: its
    public session id (ours), the Socket.IO sid (baselines)."""
    you = ack.get("you") if isinstance(ack, dict) else None
    session = you.get("session") if isinstance(you, dict) else None
    return str(session or (ack.get("session") if isinstance(ack, dict) else None) or fallback)


def learn_numbers(ack: Any, names: dict[int, str]) -> None:
    """Protocol 1.2: the member numbers of a join acknowledgement's presence snapshot."""
    entries = ack.get("presence") if isinstance(ack, dict) else None
    for entry in entries or []:
        if isinstance(entry, dict) and "n" in entry:
            names[entry["n"]] = entry["session"]


def presence_items(
    data: dict[str, Any], names: dict[int, str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(sender session, state)`` for each entry of a presence event: protocol 1.2's ``set``
    items (``[n, fields]``, here always holding ``line`` and ``column``, which change with
    every update, or ``[n, state, session, user, ts]``, which names ``n`` in ``names``, as
    a browser learns it), 1.1's ``updates``, or a baseline's relayed single update."""
    if "set" in data:
        for item in data["set"]:
            if len(item) == 5:
                names[item[0]] = item[2]
            session = names.get(item[0])
            if session is not None:
                yield session, item[1]
        return
    updates = data.get("updates")
    for update in [data] if updates is None else updates:
        state = update.get("state")
        if state:
            yield update["session"], state


# -- measuring ---------------------------------------------------------------------------------
Counters = TypeVar("Counters")


@dataclass
class Measured(Generic[Counters]):
    """CPU counters right before and after a measurement window, and when it started and
    ended (``time.monotonic()``)."""

    before: Counters
    after: Counters
    started: float
    ended: float


async def measure(
    load: PresenceLoad, rate: float, seconds: float, take: Callable[[], Counters]
) -> Measured[Counters]:
    """A measurement window: every member at ``rate`` Hz for ``seconds``, the probes
    recording what they see; ``take()`` reads the CPU counters around it."""
    load.record_from()
    before = take()
    started = time.monotonic()
    await load.drive(rate, seconds)
    load.record_until()
    after = take()
    return Measured(before, after, started, time.monotonic())


def age_figures(ages: list[int]) -> dict[str, Any]:
    """The ages of the states the probes saw (ns): p50, p99, max in ms, and how many."""
    return {
        "latency_p50_ms": ms(percentile(ages, 50)),
        "latency_p99_ms": ms(percentile(ages, 99)),
        "latency_max_ms": ms(max(ages)) if ages else None,
        "latency_samples": len(ages),
    }


@dataclass
class PresenceRun:
    """The main window of a presence scenario (scenarios 2 and 7): the server's CPU, what the
    members received, the RSS samples within it; the figures of the run: ``head`` (CPU,
    class, state ages) and ``tail`` (CPU per delivery, MB/s, frame size, stale states)."""

    window: Window
    deliveries: int
    frames: int
    samples: list[tuple[float, int]]
    head: dict[str, Any]
    tail: dict[str, Any]

    def per_s(self, count: int) -> int:
        """``count`` per second of the window."""
        return round(count / self.window.seconds)


async def presence_window(
    load: PresenceLoad, p: PresenceLoadParams, name: str, rss: RssSampler
) -> PresenceRun:
    """Every member at ``p.rate`` Hz: ``p.warmup`` seconds, then the measurement window
    (``p.duration``), then a second for the last batches; ``rss`` stops there."""
    await load.drive(p.rate, p.warmup)
    mark_window(name)
    measured = await measure(load, p.rate, p.duration, lambda: Snapshot.take(load.target.pid))
    deliveries, frames, sent_bytes = load.received()
    await asyncio.sleep(1.0)  # the last batches (and a heartbeat-free pause: nothing changes)
    rss.stop()
    window = Window.between(measured.before, measured.after)
    head = {
        **window.as_dict(),
        "members": load.members_count,
        "rate_hz": p.rate,
        "updates_in_per_s": round(sum(load.sent) / (p.warmup + p.duration)),
        **age_figures(load.latencies),
    }
    tail = {
        "cpu_us_per_delivery": us_per(window.server_cpu, deliveries),
        "mb_per_s": round(sent_bytes / window.seconds / 2**20, 2),
        "avg_frame_bytes": round(sent_bytes / frames) if frames else 0,
        "stale_at_end": load.stale(),
    }
    samples = rss.between(measured.started, measured.ended)
    return PresenceRun(window, deliveries, frames, samples, head, tail)


# -- running -----------------------------------------------------------------------------------
async def run_presence(target: Target, p: PresenceParams, ramp: RampParams) -> dict[str, Any]:
    """Coalesced presence (ours): first the ramp's rates below ``rate`` (for the highest
    rate sustained, comparable with the baselines), then all members at ``rate`` Hz for
    ``duration`` seconds (the main figures)."""
    load = PresenceLoad(target, p.members, p.probes)
    await load.setup()
    rss = RssSampler(target.pid, interval=1.0).start()
    lag = LoopLag().start()
    below = tuple(r for r in ramp.rates if r < p.rate)
    steps, sustained, cut = await _ramp(load, target.pid, ramp, below, True)
    run = await presence_window(load, p, "presence", rss)
    samples = run.samples
    result = {
        **run.head,
        "frames_per_s": run.per_s(run.frames),
        # each frame is one member's batch: a delivery, as in scenario 7 (hub-presence)
        "deliveries_per_s": run.per_s(run.deliveries),
        **run.tail,
        "rss_mb_start": round(samples[0][1] / 2**20, 1) if samples else None,
        "rss_mb_end": round(samples[-1][1] / 2**20, 1) if samples else None,
        "rss_mb_max": round(max(r for _, r in samples) / 2**20, 1) if samples else None,
        "rss_slope_kb_per_s": round(slope(samples) / 1024, 1),
        "rss_series_mb": rss.series_mb(),
        "loop_lag": lag.stop(),
        **validity(run.window),
    }
    main_ok = (
        result["valid"]
        and result["stale_at_end"] == 0
        and (result["latency_p99_ms"] or 1e9) <= 1000 * ramp.max_latency
    )
    full_ramp = not cut and sustained == (below[-1] if below else None)
    result["max_sustained_hz"] = p.rate if main_ok and full_ramp else sustained
    result["steps"] = steps
    result["bounded_by_loadgen"] = cut
    close_all(load.members)
    return result


async def run_presence_large(target: Target, p: LargePresenceParams) -> dict[str, Any]:
    """Scenario 2b (ours): ``p.members`` members at ``p.rate`` Hz, no ramp: the state ages,
    the server's CPU and whether its memory stays flat."""
    load = PresenceLoad(target, p.members, p.probes)
    await load.setup()
    rss = RssSampler(target.pid, interval=1.0).start()
    lag = LoopLag().start()
    run = await presence_window(load, p, "presence-1000", rss)
    samples = run.samples
    result = {
        **run.head,
        "frames_per_s": run.per_s(run.frames),
        "deliveries_per_s": run.per_s(run.deliveries),
        **run.tail,
        "rss_mb_max": round(max(r for _, r in samples) / 2**20, 1) if samples else None,
        "rss_slope_kb_per_s": round(slope(samples) / 1024, 1),
        "rss_series_mb": rss.series_mb(),
        "loop_lag": lag.stop(),
        **validity(run.window),
    }
    close_all(load.members)
    return result


async def _ramp(
    load: PresenceLoad, pid: int, p: RampParams, rates: tuple[float, ...], coalesced: bool
) -> tuple[list[dict[str, Any]], float | None, bool]:
    """Step through ``rates``; stop at the first step not sustained (or invalid).

    Relayed: sustained when 99 % of the updates sent to the probes during the step arrived
    within ``max_latency`` (missing ones count as late). Coalesced: when the p99 age of the
    states the probes saw is within ``max_latency`` and, after the grace time, every probe
    holds every sender's last state. Returns (steps, highest sustained rate, cut by an
    invalid step)."""
    probes = [i for i, c in enumerate(load.members) if c.tag is not None]
    steps: list[dict[str, Any]] = []
    sustained: float | None = None
    for rate in rates:
        await load.drive(rate, p.warmup)
        sent_before = list(load.sent)
        measured = await measure(load, rate, p.step, lambda: Snapshot.take(pid))
        await asyncio.sleep(p.grace)
        window = Window.between(measured.before, measured.after)
        sent = [a - b for a, b in zip(load.sent, sent_before, strict=True)]
        received = load.latencies
        frames, _ = load.frames()
        step: dict[str, Any] = {
            "rate_hz": rate,
            **window.as_dict(),
            "frames_per_s": round(frames / window.seconds),
            "received_at_probes": len(received),
            "latency_p50_ms": ms(percentile(received, 50)),
        }
        limit = p.max_latency * 1e9
        if coalesced:
            stale = load.stale()
            p99 = percentile(received, 99) if received else MISSING
            step.update(latency_p99_ms=_p99_ms(received), stale_after_grace=stale)
            ok = bool(received) and p99 <= limit and stale == 0
        else:
            expected = sum(sum(sent) - sent[i] for i in probes)
            missing = max(0, expected - len(received))
            padded = received + [MISSING] * missing
            on_time = sum(1 for x in received if x <= limit)
            step.update(
                offered_deliveries_per_s=round(
                    sum(sent) * (len(load.members) - 1) / window.seconds
                ),
                expected_at_probes=expected,
                missing_at_probes=missing,
                on_time_share=round(on_time / expected, 4) if expected else None,
                # None when more than 1 % of the updates never arrived.
                latency_p99_ms=_p99_ms(padded),
            )
            ok = expected > 0 and percentile(padded, 99) <= limit
        step.update(validity(window), sustained=ok)
        steps.append(step)
        if not step["valid"]:
            return steps, sustained, True
        if not ok:
            break
        sustained = rate
    return steps, sustained, False


async def run_ramp(target: Target, p: RampParams) -> dict[str, Any]:
    """Relaying presence (baselines): the highest rate per member sustained."""
    load = PresenceLoad(target, p.members, p.probes)
    await load.setup()
    rss = RssSampler(target.pid, interval=1.0).start()
    lag = LoopLag().start()
    steps, sustained, bounded_by_loadgen = await _ramp(load, target.pid, p, p.rates, False)
    rss.stop()
    loadgen = max((s["loadgen_cpu_pct"] for s in steps), default=0.0)
    result = {
        "members": p.members,
        "steps": steps,
        "max_sustained_hz": sustained,
        "bounded_by_loadgen": bounded_by_loadgen,
        "rss_series_mb": rss.series_mb(),
        "loop_lag": lag.stop(),
        "loadgen_cpu_pct": loadgen,
        "valid": not bounded_by_loadgen,
        "invalid_reasons": [r for s in steps for r in s["invalid_reasons"]],
        "noisy": [n for s in steps for n in s["noisy"]],
    }
    close_all(load.members)
    return result
