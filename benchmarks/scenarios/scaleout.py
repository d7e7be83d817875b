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
import json
import math
import re
import socket
import time
from dataclasses import dataclass, replace
from typing import Any

from ..config import FOREIGN_CPU_LIMIT, Suite
from ..eio import TO_PREFIX, EioClient, Target, to_targets
from ..procstat import Window, core_busy, process_cpu, self_cpu
from ..stats import ms, percentile
from .chat import CUT_AFTER_S, MARK, Phase, _chat_result, _drain
from .chat import ROOM as CHAT_ROOM
from .common import LoopLag, RssSampler, close_all, mark_window, validity
from .hub import (
    ROOM,
    LocalSession,
    RelayChatLoad,
    RelayPresenceLoad,
    connect_relays,
    open_and_join,
)
from .hub import parse_shape as _parse_shape

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
    """CPU counters at one instant: each service process, Redis (by ``INFO`` and by
    ``/proc``), this process, each core."""

    wall: float
    services: list[float]
    redis: float
    redis_proc: float
    loadgen: float
    cores: dict[int, float]

    @classmethod
    def take(cls, target: Target) -> Usage:
        return cls(
            time.monotonic(),
            [process_cpu(pid) for pid in service_pids(target)],
            redis_info_cpu(target.redis_port) if target.redis_port else 0.0,
            process_cpu(target.redis_pid) if target.redis_pid else 0.0,
            self_cpu(),
            core_busy(),
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
        return cls(
            max(b.wall - a.wall, 1e-9),
            [y - x for x, y in zip(a.services, b.services, strict=True)],
            b.redis - a.redis,
            b.redis_proc - a.redis_proc,
            b.loadgen - a.loadgen,
            {core: b.cores[core] - a.cores.get(core, 0.0) for core in b.cores},
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

        def per(cpu: float, n: int | None) -> float | None:
            return round(1e6 * cpu / n, 2) if n else None

        out: dict[str, Any] = {
            "service_cpu_pct_each": [round(100 * c / self.seconds, 1) for c in self.services],
            "redis_cpu_pct": round(100 * self.redis / self.seconds, 2),
            "redis_cpu_pct_proc_stat": round(100 * self.redis_proc / self.seconds, 1),
            "machine_busy_pct": round(100 * sum(self.busy.values()) / self.seconds, 1),
            "redis_us_per_delivery": per(self.redis, deliveries),
            "total_us_per_delivery": per(self.service + self.redis, deliveries),
        }
        if messages is not None:
            out["service_us_per_message"] = per(self.service, messages)
            out["redis_us_per_message"] = per(self.redis, messages)
        return out


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
        i = packet.find(MARK)
        if i < 0:
            return
        k = to_targets(packet, 0, len(packet))
        j = packet.index(b"|", i + 6)
        end = packet.index(b"|", j + 1)
        n = int(packet[i + 6 : j])
        latency = now - int(packet[j + 1 : end])
        self.last_latency = latency
        if n < len(self.count):
            self.count[n] += k
            if latency > self.slowest[n]:
                self.slowest[n] = latency
            by = self.slowest_by[self.proc_of[client]]
            if latency > by[n]:
                by[n] = latency
        found = SEQ.search(packet)
        seq = int(found.group(1)) if found else n
        if seq <= client.last_seen:
            self.disorder += 1
        client.last_seen = seq

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


async def _window(
    load: SpreadChatLoad, target: Target, seconds: float, cut_after: float | None
) -> tuple[Phase, Split]:
    t0, u0, d0 = time.monotonic(), Usage.take(target), load.delivered()
    numbers = await load.send_for(seconds, cut_after)
    t1, u1, d1 = time.monotonic(), Usage.take(target), load.delivered()
    split = Split.between(u0, u1)
    return Phase(numbers, split.window(pinned=True), d1 - d0, t0, t1), split


async def run_redis_chat(target: Target, suite: Suite) -> dict[str, Any]:
    """9a: the chat load of one shape at one deployment (pinned)."""
    p = suite.redis_chat
    backend, processes, shape = parse_variant(target.variant)
    assert shape is not None
    relays, per = shape
    capacity = round((p.warmup + p.duration) * p.rate) + 10
    load = SpreadChatLoad(target, p.rate, capacity, p.text_size, relays, per)
    await load.setup()
    rss = RssSampler(target.pid).start()
    lag = LoopLag().start()
    await load.send_for(p.warmup)
    mark_window("redis-chat")
    frames = load.relay_frames()
    phase, split = await _window(load, target, p.duration, CUT_AFTER_S)
    frames = load.relay_frames() - frames
    drain = await _drain(load, phase.numbers, p.drain_limit)
    rss.stop()
    result = {
        "deployment": f"{backend}-{processes}",
        "processes": processes,
        "shape": f"{relays}x{per}",
        "sessions": load.sessions,
        **_chat_result(load, phase, rss, drain),
        **split.fields(phase.delivered, len(phase.numbers)),
        **load.receipts(phase.numbers),
        "relay_frames_per_s": round(frames / phase.window.seconds),
        "loop_lag": lag.stop(),
        **pinned_validity(split),
    }
    result.pop("rss_series_mb", None)
    close_all(load.receivers)
    return result


async def run_redis_chat_max(target: Target, suite: Suite) -> dict[str, Any]:
    """10a: the highest chat rate within the p99 bound, nothing lost (unpinned)."""
    p = suite.redis_chat_max
    backend, processes, _shape = parse_variant(target.variant)
    capacity = round(sum((p.warmup + p.step) * r for r in p.rates)) + 10 * len(p.rates)
    load = SpreadChatLoad(target, p.rates[0], capacity, p.text_size, p.relays, p.per, p.senders)
    await load.setup()
    lag = LoopLag().start()
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    for rate in p.rates:
        load.rate = rate
        await load.send_for(p.warmup)
        mark_window(f"redis-chat-max {rate:g}")
        step_lag = LoopLag().start()
        t0, u0, d0 = time.monotonic(), Usage.take(target), load.delivered()
        numbers = await load.send_for(p.step)
        u1, d1 = Usage.take(target), load.delivered()
        split = Split.between(u0, u1)
        how, _took = await _drain(load, numbers, p.drain_limit)
        latency = load.latency(numbers)
        missing = latency["missing"]
        p99 = latency["slowest_p99_ms"]
        ok = how == "complete" and p99 is not None and not math.isnan(p99) and p99 <= p.max_p99_ms
        step = {
            "rate": rate,
            "seconds": round(time.monotonic() - t0, 2),
            "deliveries_per_s": round((d1 - d0) / split.seconds),
            "slowest_p50_ms": latency["slowest_p50_ms"],
            "slowest_p99_ms": p99,
            "drain": how,
            "missing": missing,
            "service_cpu_pct": round(100 * split.service / split.seconds, 1),
            "loadgen_cpu_pct": round(100 * split.loadgen / split.seconds, 1),
            "cpu_us_per_delivery": round(1e6 * split.service / (d1 - d0), 2) if d1 > d0 else None,
            **split.fields(d1 - d0, len(numbers)),
            "loadgen_loop_lag": step_lag.stop(),
            **unpinned_validity(split),
            "sustained": ok,
        }
        steps.append(step)
        if not ok:
            break
        best = step
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
    ``i`` on process ``i % P``), able to grow (relays added between steps). The probes are
    the ``probe_relays`` last relays (one per process with two); their state ages are split
    by whether the state's sender is on the probe's process or another."""

    def __init__(self, target: Target, per: int, probe_relays: int) -> None:
        super().__init__(target, 0, per, probe_relays * per)
        self.probe_relays = probe_relays
        self.procs = len(service_ports(target))
        self.proc_of: dict[EioClient, int] = {}
        self.proc_of_session: dict[str, int] = {}
        self.same: list[int] = []
        self.cross: list[int] = []

    async def setup(self) -> None:
        raise NotImplementedError("use grow()")

    async def grow(self, members: int) -> None:
        """Add relays (``per`` sessions each) until the room has ``members`` sessions."""
        first = self.relay_count
        count = math.ceil(members / self.per) - first
        if count <= 0:
            return
        users = [f"p{i}" for i in range(first, first + count)]
        procs = [i % self.procs for i in range(first, first + count)]
        relays = await connect_spread(self.target, users, self.on_event, procs)
        self.proc_of.update(zip(relays, procs, strict=True))
        ids = await open_and_join(relays, [self.per] * count, ROOM)
        self.relays.extend(relays)
        self.relay_count += count
        for relay, proc, sessions in zip(relays, procs, ids, strict=True):
            for n, session in enumerate(sessions, start=1):
                self.members.append(relay)
                self.locals.append(str(n))
                self.sessions.append(session)
                self.proc_of_session[session] = proc
                self.line.append(0)
                self.sent.append(0)
        self.members_count = len(self.members)
        for index, relay in enumerate(self.relays):  # the last relays are the probes
            probe = index >= self.relay_count - self.probe_relays
            if probe and relay.tag is None:
                relay.tag = {str(n): {} for n in range(1, self.per + 1)}
            elif not probe:
                relay.tag = None
            relay.drain = not probe

    def record_from(self) -> None:
        super().record_from()
        self.same = []
        self.cross = []

    def on_event(self, client: EioClient, packet: bytes, now: int) -> None:
        seen: dict[str, dict[str, int]] | None = client.tag
        if seen is None or not packet.startswith(TO_PREFIX):
            return
        _name, targets, body = json.loads(packet[2:])
        name, data = json.loads(body)
        if name != "presence" or not isinstance(data, dict):
            return
        self.batches += 1
        low, high = self.window
        epoch = self.epoch
        here = self.proc_of[client]
        for update in data.get("updates") or []:
            state = update.get("state")
            if not state:
                continue
            session = update["session"]
            sent = epoch + state["column"] * 1000
            if low <= sent < high:
                age = now - sent
                self.latencies.append(age)
                same = self.proc_of_session.get(session) == here
                (self.same if same else self.cross).append(age)
            for local in targets:
                mine = seen.get(local)
                if mine is not None and state["line"] > mine.get(session, -1):
                    mine[session] = state["line"]

    def ages(self) -> dict[str, Any]:
        lat = self.latencies
        return {
            "latency_p50_ms": ms(percentile(lat, 50)),
            "latency_p99_ms": ms(percentile(lat, 99)),
            "latency_max_ms": ms(max(lat)) if lat else None,
            "latency_samples": len(lat),
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
    load.record_from()
    before = Usage.take(target)
    await load.drive(rate, seconds)
    load.record_until()
    after = Usage.take(target)
    deliveries, sent_bytes = load.frames()
    return Split.between(before, after), deliveries, load.relay_frames(), sent_bytes


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
        "cpu_us_per_delivery": round(1e6 * split.service / deliveries, 2) if deliveries else None,
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
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    for size in p.sizes:
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
        step = {
            "members": load.members_count,
            **ages,
            "stale_after_grace": stale,
            "deliveries_per_s": round(deliveries / split.seconds),
            "mb_per_s": round(sent_bytes / split.seconds / 2**20, 2),
            "service_cpu_pct": round(100 * split.service / split.seconds, 1),
            "loadgen_cpu_pct": round(100 * split.loadgen / split.seconds, 1),
            "cpu_us_per_delivery": round(1e6 * split.service / deliveries, 2)
            if deliveries
            else None,
            **split.fields(deliveries),
            "loadgen_loop_lag": step_lag.stop(),
            **unpinned_validity(split),
            "sustained": ok,
        }
        steps.append(step)
        if not ok:
            break
        best = step
    result = _ramp_result(backend, processes, steps, best, "members")
    result.update(
        max_members=best["members"] if best else None,
        max_deliveries_per_s=best["deliveries_per_s"] if best else None,
        loop_lag=lag.stop(),
    )
    close_all(load.relays)
    return result
