"""Scenarios 9-10: several class service processes sharing rooms through Redis.

The deployments compared (the variant's first part, see ``config.DEPLOYMENTS``):

* ``sqlite-1``: one service process, rooms in memory and SQLite (``configure_hub`` without
  ``redis_url``: today's single process, as in scenarios 6-7);
* ``redis-1``: one service process with ``RedisBackend``: the cost of the Redis hop alone
  (every message stored by the Lua script and delivered by the process's stream reader);
* ``redis-2``: two service processes with ``RedisBackend`` sharing the room, the simulated
  relays alternating between them (the sender's on the first), so each process has half
  of the sessions and delivers every message (or presence batch) to them.

Scenario 9 (``redis-chat``, ``redis-presence``) measures cost at the same load: the service
processes all pinned to the server core (two processes share it: CPU cost, not parallel
throughput), Redis on the load generator's core. The CPU of every service process is
summed; Redis's own CPU (``/proc/<pid>/stat``, all its threads) is reported apart.

Scenario 10 (``redis-chat-max``, ``redis-presence-max``) measures capacity: nothing pinned
(services, Redis and the load generator share both cores, and the load generator's share
is reported), a ramp of chat rates (or class sizes) up to the first step whose latency
p99 exceeds the bound (or that loses a message / leaves a probe stale).
"""

from __future__ import annotations

import asyncio
import math
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from ..config import FOREIGN_CPU_LIMIT, Suite
from ..eio import EioClient, Target
from ..procstat import Snapshot, Window, process_cpu
from ..stats import ms, percentile
from .chat import ROOM as CHAT_ROOM
from .chat import Phase, _drain, capacity
from .common import LoopLag, close_all, mark_window, us_per, validity
from .hub import (
    LocalSession,
    RelayChatLoad,
    RelayPresenceLoad,
    connect_relays,
    open_and_join,
    run_relay_chat,
)
from .hub import parse_shape as _parse_shape
from .presence import age_figures, measure

# A message's seq in a relay frame (the body is a JSON string inside the frame: ``\\"seq\\":``).
SEQ = re.compile(rb'seq\\":(\d+)')
# Pinned runs: the load generator and Redis share core 0; above this share of it together
# the load generator may wait for Redis (or Redis for it): the run is invalid.
CORE0_LIMIT = 0.90


def parse_variant(variant: str) -> tuple[str, int, tuple[int, int] | None]:
    """``"redis-2/30x10"`` -> ``("redis", 2, (30, 10))``; ``"sqlite-1"`` -> no shape."""
    deployment, _, shape = variant.partition("/")
    backend, _, processes = deployment.partition("-")
    return backend, int(processes), _parse_shape(shape) if shape else None


def service_pids(target: Target) -> list[int]:
    return [target.pid, *target.pids]


def service_ports(target: Target) -> list[int]:
    return list(target.ports) or [target.port]


# -- CPU of every process of the system --------------------------------------------------------
def redis_info_cpu(port: int) -> float:
    """Redis's own CPU seconds (``INFO cpu``: ``used_cpu_sys + used_cpu_user``, the whole
    process by ``getrusage``, to the microsecond). ``/proc/<pid>/stat`` counts 10 ms ticks:
    too coarse for the few percent of a core Redis uses in a 12 s window; both are kept."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(b"*2\r\n$4\r\nINFO\r\n$3\r\ncpu\r\n")
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("Redis closed the connection")
            data += chunk
        head, _, body = data.partition(b"\r\n")
        size = int(head[1:])  # a bulk string: $<size>\r\n<text>\r\n
        while len(body) < size:
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
    fields = dict(line.split(":", 1) for line in body.decode().splitlines() if ":" in line)
    return float(fields["used_cpu_sys"]) + float(fields["used_cpu_user"])


@dataclass
class Usage:
    """CPU counters at one instant: the service processes, this process and each core (a
    :class:`Snapshot` of the service processes), and Redis (by ``INFO`` and by ``/proc``)."""

    snapshot: Snapshot
    redis: float
    redis_proc: float

    @classmethod
    def take(cls, target: Target) -> Usage:
        return cls(
            Snapshot.of(service_pids(target)),
            redis_info_cpu(target.redis_port) if target.redis_port else 0.0,
            process_cpu(target.redis_pid) if target.redis_pid else 0.0,
        )


@dataclass
class Split:
    """CPU seconds used between two :class:`Usage` snapshots, by whom."""

    seconds: float
    services: list[float]
    redis: float
    redis_proc: float
    loadgen: float
    busy: dict[int, float]

    @classmethod
    def between(cls, a: Usage, b: Usage) -> Split:
        x, y = a.snapshot, b.snapshot
        return cls(
            max(y.wall - x.wall, 1e-9),
            [after - before for before, after in zip(x.each, y.each, strict=True)],
            b.redis - a.redis,
            b.redis_proc - a.redis_proc,
            y.self_cpu - x.self_cpu,
            {core: y.cores[core] - x.cores.get(core, 0.0) for core in y.cores},
        )

    @property
    def service(self) -> float:
        return sum(self.services)

    def window(self, pinned: bool) -> Window:
        """As :class:`Window` (the chat helpers' and :func:`validity`'s input). Pinned: core
        1 holds the services, core 0 the load generator and Redis; otherwise the work nobody
        of ours explains, over all cores, counts against both."""
        if pinned:
            foreign_server = self.busy.get(1, 0.0) - self.service
            foreign_loadgen = self.busy.get(0, 0.0) - self.loadgen - self.redis
        else:
            foreign_server = foreign_loadgen = (
                sum(self.busy.values()) - self.service - self.redis - self.loadgen
            )
        return Window(
            self.seconds,
            self.service,
            self.loadgen,
            max(0.0, foreign_server) / self.seconds,
            max(0.0, foreign_loadgen) / self.seconds,
        )

    def fields(self, deliveries: int, messages: int | None = None) -> dict[str, Any]:
        """CPU shares and CPU per delivery (and per message, for chat) of the services
        (summed) and of Redis."""
        out: dict[str, Any] = {
            "service_cpu_pct_each": [round(100 * c / self.seconds, 1) for c in self.services],
            "redis_cpu_pct": round(100 * self.redis / self.seconds, 2),
            "redis_cpu_pct_proc_stat": round(100 * self.redis_proc / self.seconds, 1),
            "machine_busy_pct": round(100 * sum(self.busy.values()) / self.seconds, 1),
            "redis_us_per_delivery": us_per(self.redis, deliveries),
            "total_us_per_delivery": us_per(self.service + self.redis, deliveries),
        }
        if messages is not None:
            out["service_us_per_message"] = us_per(self.service, messages)
            out["redis_us_per_message"] = us_per(self.redis, messages)
        return out

    def step_figures(
        self, deliveries: int, messages: int | None, lag: LoopLag, sustained: bool
    ) -> dict[str, Any]:
        """A capacity ramp step's CPU figures (unpinned), its verdict and whether it was
        sustained."""
        return {
            "service_cpu_pct": round(100 * self.service / self.seconds, 1),
            "loadgen_cpu_pct": round(100 * self.loadgen / self.seconds, 1),
            "cpu_us_per_delivery": us_per(self.service, deliveries),
            **self.fields(deliveries, messages),
            "loadgen_loop_lag": lag.stop(),
            **unpinned_validity(self),
            "sustained": sustained,
        }


def pinned_validity(split: Split) -> dict[str, Any]:
    verdict = validity(split.window(pinned=True))
    core0 = (split.loadgen + split.redis) / split.seconds
    if core0 > CORE0_LIMIT:
        verdict["valid"] = False
        verdict["invalid_reasons"].append(
            f"load generator + Redis at {100 * core0:.0f}% of core 0 "
            f"(limit {100 * CORE0_LIMIT:.0f}%)"
        )
    return verdict


def unpinned_validity(split: Split) -> dict[str, Any]:
    """Unpinned: valid always (the load generator's share is reported, not judged: it is
    the contamination of the capacity figure); noisy when other processes used more than
    10 % of a core."""
    window = split.window(pinned=False)
    noisy = []
    if window.foreign_server_core > FOREIGN_CPU_LIMIT:
        noisy.append(f"other processes used {100 * window.foreign_server_core:.0f}% of a core")
    return {"valid": True, "invalid_reasons": [], "noisy": noisy}


async def connect_spread(
    target: Target, users: list[str], on_event: Any, procs: list[int]
) -> list[EioClient]:
    """Connect the relays of ``users``, relay ``i`` to the service process ``procs[i]``
    (an index into the target's ports); in ``users``' order."""
    ports = service_ports(target)
    out: list[EioClient | None] = [None] * len(users)
    for proc, port in enumerate(ports):
        mine = [i for i, p in enumerate(procs) if p == proc]
        if not mine:
            continue
        clients = await connect_relays(
            replace(target, port=port), [users[i] for i in mine], on_event
        )
        for i, client in zip(mine, clients, strict=True):
            out[i] = client
    return [c for c in out if c is not None]


# -- 9a and 10a: chat ------------------------------------------------------------------------
@dataclass
class SplitPhase(Phase):
    """A chat window with the CPU of each process of the system."""

    split: Split


class SpreadChatLoad(RelayChatLoad):
    """Scenario 6's chat load with the relays spread over the service processes: relay ``i``
    on process ``i % P``; ``senders`` senders (each its own user and relay, sender ``k`` on
    process ``k % P``) take turns. Order is checked by ``seq`` per relay (with several
    senders, messages are numbered in the order Redis stored them, not sent them); also
    recorded: per message, the slowest relay of each process, and duplicate receipts."""

    def __init__(
        self,
        target: Target,
        rate: float,
        capacity: int,
        text_size: int,
        relays: int,
        per: int,
        senders: int = 1,
    ) -> None:
        super().__init__(target, rate, capacity, text_size, relays, per)
        self.procs = len(service_ports(target))
        self.sender_count = senders
        self.sessions = relays * per + senders
        self.senders: list[LocalSession] = []
        self.slowest_by = [[0] * capacity for _ in range(self.procs)]
        self.proc_of: dict[EioClient, int] = {}

    def on_event(self, client: EioClient, packet: bytes, now: int) -> None:
        receipt = self.receipt(packet, now)
        if receipt is None:
            return
        n, latency = receipt
        by = self.slowest_by[self.proc_of[client]]
        if n < len(by) and latency > by[n]:
            by[n] = latency
        found = SEQ.search(packet)
        self.check_order(client, int(found.group(1)) if found else n)

    async def setup(self, receivers: int = 0) -> None:
        users = [f"r{i}" for i in range(self.relay_count)]
        users += [f"sender{k}" for k in range(self.sender_count)]
        procs = [i % self.procs for i in range(self.relay_count)]
        procs += [k % self.procs for k in range(self.sender_count)]
        relays = await connect_spread(self.target, users, self.on_event, procs)
        self.proc_of = dict(zip(relays, procs, strict=True))
        counts = [self.per] * self.relay_count + [1] * self.sender_count
        await open_and_join(relays, counts, CHAT_ROOM)
        self.receivers = relays
        self.senders = [LocalSession(relay, "1") for relay in relays[self.relay_count :]]
        self.sender = self.senders[0]  # type: ignore[assignment]

    def _send_one(self) -> None:
        self.sender = self.senders[self.n % len(self.senders)]  # type: ignore[assignment]
        super()._send_one()

    def receipts(self, numbers: range) -> dict[str, Any]:
        """Duplicates (receipts beyond one per member) and each process's slowest relay."""
        expected = self.members()
        complete = [n for n in numbers if self.count[n] >= expected]
        p50 = [ms(percentile([by[n] for n in complete], 50)) for by in self.slowest_by]
        p99 = [ms(percentile([by[n] for n in complete], 99)) for by in self.slowest_by]
        return {
            "duplicated": sum(max(0, self.count[n] - expected) for n in numbers),
            "slowest_p50_ms_by_process": p50,
            "slowest_p99_ms_by_process": p99,
            # the sender's process is the first; with two, the other one's slowest relay
            "other_process_p50_ms": p50[1] if len(p50) > 1 else None,
            "other_process_p99_ms": p99[1] if len(p99) > 1 else None,
        }

    async def measure(self, seconds: float, cut_after: float | None = None) -> SplitPhase:
        """A measurement window: sending for ``seconds``, the CPU of every process around it
        (the window as judged pinned)."""
        t0, u0, d0 = time.monotonic(), Usage.take(self.target), self.delivered()
        numbers = await self.send_for(seconds, cut_after)
        t1, u1, d1 = time.monotonic(), Usage.take(self.target), self.delivered()
        split = Split.between(u0, u1)
        return SplitPhase(numbers, split.window(pinned=True), d1 - d0, t0, t1, split)


async def run_redis_chat(target: Target, suite: Suite) -> dict[str, Any]:
    """9a: the chat load of one shape at one deployment (pinned)."""
    p = suite.redis_chat
    backend, processes, shape = parse_variant(target.variant)
    assert shape is not None
    relays, per = shape
    load = SpreadChatLoad(target, p.rate, capacity(p), p.text_size, relays, per)
    run = await run_relay_chat(load, p, "redis-chat")
    assert isinstance(run.phase, SplitPhase)
    split = run.phase.split
    result = {
        "deployment": f"{backend}-{processes}",
        "processes": processes,
        "shape": f"{relays}x{per}",
        "sessions": load.sessions,
        **run.figures,
        **split.fields(run.phase.delivered, len(run.phase.numbers)),
        **load.receipts(run.phase.numbers),
        "relay_frames_per_s": run.relay_frames_per_s,
        "loop_lag": run.loop_lag,
        **pinned_validity(split),
    }
    result.pop("rss_series_mb", None)
    close_all(load.receivers)
    return result


Step = dict[str, Any]
Value = TypeVar("Value")


async def _ramp(
    values: Iterable[Value], step: Callable[[Value], Awaitable[Step]]
) -> tuple[list[Step], Step | None]:
    """Run ``step`` for each value in turn up to the first not sustained: the steps, and the
    highest sustained one (None: not even the first)."""
    steps: list[Step] = []
    best: Step | None = None
    for value in values:
        steps.append(await step(value))
        if not steps[-1]["sustained"]:
            break
        best = steps[-1]
    return steps, best


async def run_redis_chat_max(target: Target, suite: Suite) -> dict[str, Any]:
    """10a: the highest chat rate within the p99 bound, nothing lost (unpinned)."""
    p = suite.redis_chat_max
    backend, processes, _shape = parse_variant(target.variant)
    most = round(sum((p.warmup + p.step) * r for r in p.rates)) + 10 * len(p.rates)
    load = SpreadChatLoad(target, p.rates[0], most, p.text_size, p.relays, p.per, p.senders)
    await load.setup()
    lag = LoopLag().start()

    async def step(rate: float) -> Step:
        load.rate = rate
        await load.send_for(p.warmup)
        mark_window(f"redis-chat-max {rate:g}")
        step_lag = LoopLag().start()
        phase = await load.measure(p.step)
        split, deliveries = phase.split, phase.delivered
        how, _took = await _drain(load, phase.numbers, p.drain_limit)
        latency = load.latency(phase.numbers)
        p99 = latency["slowest_p99_ms"]
        ok = how == "complete" and p99 is not None and not math.isnan(p99) and p99 <= p.max_p99_ms
        return {
            "rate": rate,
            "seconds": round(time.monotonic() - phase.started, 2),
            "deliveries_per_s": round(deliveries / split.seconds),
            "slowest_p50_ms": latency["slowest_p50_ms"],
            "slowest_p99_ms": p99,
            "drain": how,
            "missing": latency["missing"],
            **split.step_figures(deliveries, len(phase.numbers), step_lag, ok),
        }

    steps, best = await _ramp(p.rates, step)
    result = _ramp_result(backend, processes, steps, best, "rate")
    result.update(
        sessions=load.sessions,
        shape=f"{p.relays}x{p.per}",
        max_rate=best["rate"] if best else None,
        max_deliveries_per_s=best["deliveries_per_s"] if best else None,
        out_of_order=load.disorder,
        duplicated=load.receipts(range(load.n))["duplicated"],
        loop_lag=lag.stop(),
    )
    close_all(load.receivers)
    return result


def _ramp_result(
    backend: str,
    processes: int,
    steps: list[dict[str, Any]],
    best: dict[str, Any] | None,
    key: str,
) -> dict[str, Any]:
    """The figures of a capacity ramp: those of its highest sustained step."""
    top = steps[-1] if steps else {}
    return {
        "deployment": f"{backend}-{processes}",
        "processes": processes,
        "steps": steps,
        "ramp_exhausted": bool(steps) and bool(top.get("sustained")),
        "first_failed": None if top.get("sustained") else top.get(key),
        "at_max_p50_ms": (best or {}).get("slowest_p50_ms", (best or {}).get("latency_p50_ms")),
        "at_max_p99_ms": (best or {}).get("slowest_p99_ms", (best or {}).get("latency_p99_ms")),
        "at_max_service_cpu_pct": (best or {}).get("service_cpu_pct"),
        "at_max_redis_cpu_pct": (best or {}).get("redis_cpu_pct"),
        "at_max_loadgen_cpu_pct": (best or {}).get("loadgen_cpu_pct"),
        "at_max_machine_busy_pct": (best or {}).get("machine_busy_pct"),
        "loadgen_cpu_pct": max((s["loadgen_cpu_pct"] for s in steps), default=0.0),
        "valid": True,
        "invalid_reasons": [],
        "noisy": [n for s in steps for n in s["noisy"]],
    }


# -- 9b and 10b: presence --------------------------------------------------------------------
class SpreadPresenceLoad(RelayPresenceLoad):
    """Scenario 7's presence load with the relays spread over the service processes (relay
    ``i`` on process ``i % P``). The probes are the ``probe_relays`` last relays (one per
    process with two); their state ages are split by whether the state's sender is on the
    probe's process or another."""

    def __init__(self, target: Target, per: int, probe_relays: int) -> None:
        super().__init__(target, per, probe_relays)
        self.procs = len(service_ports(target))
        self.proc_of: dict[EioClient, int] = {}
        self.proc_of_session: dict[str, int] = {}
        self.same: list[int] = []
        self.cross: list[int] = []

    async def connect(self, users: list[str], first: int) -> list[EioClient]:
        procs = [i % self.procs for i in range(first, first + len(users))]
        relays = await connect_spread(self.target, users, self.on_event, procs)
        self.proc_of.update(zip(relays, procs, strict=True))
        return relays

    async def grow(self, members: int) -> None:
        await super().grow(members)
        for relay, session in zip(self.members, self.sessions, strict=True):
            self.proc_of_session[session] = self.proc_of[relay]

    def record_from(self) -> None:
        super().record_from()
        self.same = []
        self.cross = []

    def _age(self, client: EioClient, session: str, age: int) -> None:
        self.latencies.append(age)
        same = self.proc_of_session.get(session) == self.proc_of[client]
        (self.same if same else self.cross).append(age)

    def ages(self) -> dict[str, Any]:
        return {
            **age_figures(self.latencies),
            "same_process_p50_ms": ms(percentile(self.same, 50)),
            "same_process_p99_ms": ms(percentile(self.same, 99)),
            "cross_process_p50_ms": ms(percentile(self.cross, 50)),
            "cross_process_p99_ms": ms(percentile(self.cross, 99)),
        }


async def _presence_window(
    load: SpreadPresenceLoad, target: Target, rate: float, seconds: float
) -> tuple[Split, int, int, int]:
    """Every member at ``rate`` Hz for ``seconds``, measured: (CPU, deliveries, frames,
    bytes)."""
    measured = await measure(load, rate, seconds, lambda: Usage.take(target))
    deliveries, frames, sent_bytes = load.received()
    return Split.between(measured.before, measured.after), deliveries, frames, sent_bytes


async def run_redis_presence(target: Target, suite: Suite) -> dict[str, Any]:
    """9b: presence of one class size at one deployment (pinned)."""
    p = suite.redis_presence
    backend, processes, shape = parse_variant(target.variant)
    assert shape is not None
    relays, per = shape
    load = SpreadPresenceLoad(target, per, p.probe_relays)
    await load.grow(relays * per)
    lag = LoopLag().start()
    await load.drive(p.rate, p.warmup)
    mark_window("redis-presence")
    split, deliveries, frames, sent_bytes = await _presence_window(load, target, p.rate, p.duration)
    await asyncio.sleep(1.0)  # the last batches
    seconds = split.seconds
    result = {
        "deployment": f"{backend}-{processes}",
        "processes": processes,
        "shape": f"{relays}x{per}",
        "members": load.members_count,
        "rate_hz": p.rate,
        **split.window(pinned=True).as_dict(),
        **load.ages(),
        "deliveries_per_s": round(deliveries / seconds),
        "relay_frames_per_s": round(frames / seconds),
        "cpu_us_per_delivery": us_per(split.service, deliveries),
        **split.fields(deliveries),
        "mb_per_s": round(sent_bytes / seconds / 2**20, 2),
        "stale_at_end": load.stale(),
        "loop_lag": lag.stop(),
        **pinned_validity(split),
    }
    close_all(load.relays)
    return result


async def run_redis_presence_max(target: Target, suite: Suite) -> dict[str, Any]:
    """10b: the largest class whose state age p99 stays within the bound (unpinned)."""
    p = suite.redis_presence_max
    backend, processes, _shape = parse_variant(target.variant)
    load = SpreadPresenceLoad(target, p.per, p.probe_relays)
    lag = LoopLag().start()

    async def step(size: int) -> Step:
        await load.grow(size)
        await load.drive(p.rate, p.warmup)
        mark_window(f"redis-presence-max {size}")
        step_lag = LoopLag().start()
        split, deliveries, _frames, sent_bytes = await _presence_window(
            load, target, p.rate, p.step
        )
        await asyncio.sleep(p.grace)
        ages = load.ages()
        stale = load.stale()
        p99 = ages["latency_p99_ms"]
        ok = stale == 0 and p99 is not None and not math.isnan(p99) and p99 <= p.max_p99_ms
        return {
            "members": load.members_count,
            **ages,
            "stale_after_grace": stale,
            "deliveries_per_s": round(deliveries / split.seconds),
            "mb_per_s": round(sent_bytes / split.seconds / 2**20, 2),
            **split.step_figures(deliveries, None, step_lag, ok),
        }

    steps, best = await _ramp(p.sizes, step)
    result = _ramp_result(backend, processes, steps, best, "members")
    result.update(
        max_members=best["members"] if best else None,
        max_deliveries_per_s=best["deliveries_per_s"] if best else None,
        loop_lag=lag.stop(),
    )
    close_all(load.relays)
    return result
