"""Scenarios 6-8: the class service (JupyterHub), the rooms of a whole class behind relays.

The service (``benchmarks/hubservice.py``: the real one, with a stub Hub API) is reached by
relays, each one user's Jupyter server, speaking the upstream protocol (docs/protocol.md):
``open (local)``, ``ev (local, event, data)`` (acknowledged with the event's ack) and, from
the service, ``to (locals, body)``.

* **hub-chat** (6) and **hub-presence** (7): the load generator simulates the relays (one
  raw client per relay, each the user ``r<i>``/``p<i>``, opening its local sessions and
  joining them to one room through ``ev``). A shape ``RxS`` is R relays of S sessions each;
  a delivery is one session a ``to`` frame is for (a frame for 10 sessions is 10 deliveries,
  as the relay writes it to 10 browsers). Chat is scenario 1's load (one sender at the same
  rate; the sender's session is on one more relay and also gets every message); presence is
  scenario 2's (every member at the same rate; each update an ``ev`` without an
  acknowledgement, as scenario 2's members send theirs, although a relay's ``Upstream``
  asks one for every event: its round trip is in hub-hop). Measured: the service's CPU per
  delivery and the latency at the relays, next to ours' single-server figures of the same
  run (scenarios 1 and 2).
* **hub-hop** (8): a real Jupyter server in relay mode, with ``clients`` receivers and a
  sender in one room: each message goes sender -> server -> service -> server -> receivers.
  The same load on the same server without the service (``single``) gives the latency the
  hop adds (difference of the p50s and p99s), and CPU per delivery over both processes.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass, replace
from typing import Any

from ..config import ChatLoadParams, Suite
from ..eio import TO_PREFIX, EioClient, Target, to_targets
from ..hubservice import bench_token
from ..procstat import Snapshot, Window
from ..stats import slope
from .chat import CUT_AFTER_S, MARK, ChatLoad, Phase, _chat_result, _drain, _measure, capacity
from .chat import ROOM as CHAT_ROOM
from .common import (
    LoopLag,
    RssSampler,
    check_ack,
    close_all,
    join_payload,
    mark_window,
    validity,
)
from .presence import (
    PresenceLoad,
    learn_numbers,
    presence_items,
    presence_window,
    sender_key,
)

ROOM = "bench-presence"
#: Protocol 1.2: per relay connection, the member numbers it has learnt (number -> session).
numbers: dict[EioClient, dict[int, str]] = {}


def shape_name(relays: int, per: int) -> str:
    return f"{relays}x{per}"


def parse_shape(variant: str) -> tuple[int, int]:
    relays, _, per = variant.partition("x")
    return int(relays), int(per)


class LocalSession:
    """A session behind a simulated relay, called like a client: ``call(event, data)``."""

    def __init__(self, relay: EioClient, local: str) -> None:
        self.relay = relay
        self.local = local

    def call(self, event: str, data: Any) -> asyncio.Future[Any]:
        return self.relay.call("ev", self.local, event, data)


async def connect_relays(
    service: Target,
    users: list[str],
    on_event: Any,
    concurrency: int = 50,
    timeout: float = 30.0,
) -> list[EioClient]:
    """One relay connection per user (``Authorization: token bench-<user>``), WebSocket
    without permessage-deflate, as ``Upstream``'s client (aiohttp) connects."""
    clients: list[EioClient | None] = [None] * len(users)
    semaphore = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with semaphore:
            target = replace(service, token=bench_token(users[index]))
            client = EioClient(target, on_event, deflate=False)
            client.count_targets = True
            clients[index] = await client.connect(timeout)

    await asyncio.gather(*(one(i) for i in range(len(users))))
    return [c for c in clients if c is not None]


async def open_and_join(
    relays: list[EioClient],
    counts: list[int],
    room: str,
    concurrency: int = 20,
    timeout: float = 30.0,
) -> list[list[str]]:
    """Open ``counts[i]`` sessions (local ids "1", "2", ...) on relay ``i`` and join each to
    ``room``; the sessions' public ids, per relay. Relays in parallel (at most
    ``concurrency``), each relay's sessions one after the other; the relays' first sessions
    join in list order only roughly (fan-out order is not measured here)."""
    out: list[list[str]] = [[] for _ in relays]
    semaphore = asyncio.Semaphore(concurrency)

    async def one(index: int) -> None:
        async with semaphore:
            relay = relays[index]
            for n in range(1, counts[index] + 1):
                local = str(n)
                ack = await asyncio.wait_for(relay.call("open", local), timeout)
                check_ack(ack, "open")
                session = str(ack["session"])
                ack = await asyncio.wait_for(
                    relay.call("ev", local, "join", join_payload(room)), timeout
                )
                check_ack(ack, "join")
                out[index].append(sender_key(ack, session))
                learn_numbers(ack, numbers.setdefault(relay, {}))

    await asyncio.gather(*(one(i) for i in range(len(relays))))
    return out


# -- 6: chat through relays ------------------------------------------------------------------
class RelayChatLoad(ChatLoad):
    """Scenario 1's load with relays for receivers: ``relays`` x ``per`` receiving sessions,
    plus the sender's session on one more relay."""

    def __init__(
        self, target: Target, rate: float, capacity: int, text_size: int, relays: int, per: int
    ) -> None:
        super().__init__(target, rate, capacity, text_size)
        self.relay_count = relays
        self.per = per
        self.sessions = relays * per + 1

    def on_event(self, client: EioClient, packet: bytes, now: int) -> None:
        receipt = self.receipt(packet, now)
        if receipt is not None:
            self.check_order(client, receipt[0])

    def receipt(self, packet: bytes, now: int) -> tuple[int, int] | None:
        """Count a ``to`` frame carrying a message (a receipt per session it is for): the
        message's number and latency; None for other frames (joined/left, ...)."""
        i = packet.find(MARK)
        if i < 0:
            return None
        j = packet.index(b"|", i + 6)
        end = packet.index(b"|", j + 1)
        n = int(packet[i + 6 : j])
        latency = now - int(packet[j + 1 : end])
        self.last_latency = latency
        if n < len(self.count):
            self.count[n] += to_targets(packet, 0, len(packet))
            if latency > self.slowest[n]:
                self.slowest[n] = latency
        return n, latency

    def check_order(self, client: EioClient, n: int) -> None:
        """Messages reach each relay in increasing ``n``."""
        if n <= client.last_seen:
            self.disorder += 1
        client.last_seen = n

    async def setup(self, receivers: int = 0) -> None:
        users = [f"r{i}" for i in range(self.relay_count)] + ["sender"]
        relays = await connect_relays(self.target, users, self.on_event)
        await open_and_join(relays, [self.per] * self.relay_count + [1], CHAT_ROOM)
        self.receivers = relays
        self.sender = LocalSession(relays[-1], "1")  # type: ignore[assignment]

    def members(self) -> int:
        return self.sessions

    def delivered(self) -> int:
        """Sessions the ``to`` frames received so far were for."""
        return sum(c.event_targets for c in self.receivers)

    def relay_frames(self) -> int:
        return sum(c.to_frames for c in self.receivers)

    async def measure(self, seconds: float, cut_after: float | None = None) -> Phase:
        """A measurement window: sending for ``seconds``, the server's CPU around it."""
        return await _measure(self, self.target.pid, seconds, cut_after)


@dataclass
class RelayChatRun:
    """A chat run through relays: its window, its chat figures, the ``to`` frames the
    relays got per second in the window, the load generator's loop lag."""

    phase: Phase
    figures: dict[str, Any]
    relay_frames_per_s: int
    loop_lag: dict[str, float]


async def run_relay_chat(load: RelayChatLoad, p: ChatLoadParams, name: str) -> RelayChatRun:
    """Scenario 1's run with ``load``'s relays (set up here): ``p.warmup`` seconds of
    sending, the window of ``p.duration`` (:meth:`RelayChatLoad.measure`, cut when the
    service falls behind), the drain."""
    await load.setup()
    rss = RssSampler(load.target.pid).start()
    lag = LoopLag().start()
    await load.send_for(p.warmup)
    mark_window(name)
    frames = load.relay_frames()
    phase = await load.measure(p.duration, CUT_AFTER_S)
    frames = load.relay_frames() - frames
    drain = await _drain(load, phase.numbers, p.drain_limit)
    rss.stop()
    figures = _chat_result(load, phase, rss, drain)
    return RelayChatRun(phase, figures, round(frames / phase.window.seconds), lag.stop())


async def run_hub_chat(target: Target, suite: Suite) -> dict[str, Any]:
    p = suite.hub_chat
    relays, per = parse_shape(target.variant)
    load = RelayChatLoad(target, p.rate, capacity(p), p.text_size, relays, per)
    run = await run_relay_chat(load, p, "hub-chat")
    result = {
        "shape": target.variant,
        "relays": relays,
        "sessions_per_relay": per,
        "sessions": load.sessions,
        **run.figures,
        "relay_frames_per_s": run.relay_frames_per_s,
        "loop_lag": run.loop_lag,
    }
    close_all(load.receivers)
    return result


# -- 7: presence through relays --------------------------------------------------------------
class RelayPresenceLoad(PresenceLoad):
    """Scenario 2's load with its members behind relays of ``per`` sessions, able to grow
    (relays added between steps). ``self.members`` holds each member's relay (a relay
    appears once per session it carries); the probes are the ``probe_relays`` last relays,
    and decode every frame they get."""

    def __init__(self, target: Target, per: int, probe_relays: int) -> None:
        super().__init__(target, 0, probe_relays * per)
        self.per = per
        self.probe_relays = probe_relays
        self.relay_count = 0
        self.relays: list[EioClient] = []
        self.locals: list[str] = []

    async def setup(self) -> None:
        raise NotImplementedError("use grow()")

    async def connect(self, users: list[str], first: int) -> list[EioClient]:
        """Connect the relays of ``users`` (the relays ``first``, ``first + 1``, ...)."""
        return await connect_relays(self.target, users, self.on_event)

    async def grow(self, members: int) -> None:
        """Add relays (``per`` sessions each) until the room has ``members`` sessions."""
        first = self.relay_count
        count = math.ceil(members / self.per) - first
        if count <= 0:
            return
        relays = await self.connect([f"p{i}" for i in range(first, first + count)], first)
        ids = await open_and_join(relays, [self.per] * count, ROOM)
        self.relays.extend(relays)
        self.relay_count += count
        for relay, sessions in zip(relays, ids, strict=True):
            for n, session in enumerate(sessions, start=1):
                self.members.append(relay)
                self.locals.append(str(n))
                self.sessions.append(session)
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

    def on_event(self, client: EioClient, packet: bytes, now: int) -> None:
        seen: dict[str, dict[str, int]] | None = client.tag
        if seen is None or not packet.startswith(TO_PREFIX):
            return
        _name, targets, body = json.loads(packet[2:])
        name, data = json.loads(body)
        if name != "presence" or not isinstance(data, dict):
            return
        self.batches += 1
        # what each probe session the frame is for holds: sender -> its latest line
        holds = [seen[local] for local in targets if local in seen]
        low, high = self.window
        for sender, state in presence_items(data, numbers.setdefault(client, {})):
            sent = self.epoch + state["column"] * 1000
            if low <= sent < high:
                self._age(client, sender, now - sent)
            line = state["line"]
            for held in holds:
                if line > held.get(sender, -1):
                    held[sender] = line

    def _age(self, client: EioClient, session: str, age: int) -> None:
        """Record the age of a state sent within the window, seen at ``client``."""
        self.latencies.append(age)

    def _send(self, index: int) -> None:
        # No acknowledgement asked, as scenario 2's members (a relay asks one: see hub-hop)
        data = {"room": ROOM, "state": self._state(index)}
        self.members[index].emit("ev", self.locals[index], "presence", data)

    def batch_drains(self, size: int) -> None:
        for relay in self.relays:
            if relay.drain:
                relay.set_rcvlowat(size)

    def record_from(self) -> None:
        super().record_from()
        for relay in self.relays:
            relay.to_frames = 0
            relay.event_targets = 0

    def received(self) -> tuple[int, int, int]:
        """(deliveries: sessions the frames were for, ``to`` frames, bytes)."""
        return (
            sum(r.event_targets for r in self.relays),
            sum(r.to_frames for r in self.relays),
            sum(r.event_bytes for r in self.relays),
        )

    def stale(self) -> int:
        """(probe session, sender) pairs where the probe does not hold the sender's last
        state."""
        stale = 0
        for relay in self.relays:
            seen: dict[str, dict[str, int]] | None = relay.tag
            if seen is None:
                continue
            for local, mine in seen.items():
                for index, session in enumerate(self.sessions):
                    own = self.members[index] is relay and self.locals[index] == local
                    if not own and mine.get(session, -1) < self.line[index]:
                        stale += 1
        return stale


async def run_hub_presence(target: Target, suite: Suite) -> dict[str, Any]:
    p = suite.hub_presence
    relays, per = parse_shape(target.variant)
    load = RelayPresenceLoad(target, per, math.ceil(p.probes / per))
    await load.grow(relays * per)
    rss = RssSampler(target.pid, interval=1.0).start()
    lag = LoopLag().start()
    run = await presence_window(load, p, "hub-presence", rss)
    result = {
        "shape": target.variant,
        "relays": relays,
        "sessions_per_relay": per,
        **run.head,
        "deliveries_per_s": run.per_s(run.deliveries),
        "relay_frames_per_s": run.per_s(run.frames),
        **run.tail,
        "rss_mb_max": round(max(r for _, r in run.samples) / 2**20, 1) if run.samples else None,
        "rss_slope_kb_per_s": round(slope(run.samples) / 1024, 1),
        "loop_lag": lag.stop(),
        **validity(run.window),
    }
    close_all(load.relays)
    return result


# -- 8: the relay hop ------------------------------------------------------------------------
async def run_hub_hop(target: Target, suite: Suite) -> dict[str, Any]:
    """Chat among ``clients`` + 1 clients of one Jupyter server, relaying or not."""
    p = suite.hub_hop
    pids = [target.pid, *target.pids]
    load = ChatLoad(target, p.rate, capacity(p), p.text_size)
    await load.setup(p.clients)
    rss = RssSampler(target.pid).start()
    lag = LoopLag().start()
    await load.send_for(p.warmup)
    mark_window("hub-hop")
    t0, d0 = time.monotonic(), load.delivered()
    s0 = Snapshot.of(pids)  # the server core's processes: the server and the service
    numbers = await load.send_for(p.duration, CUT_AFTER_S)
    s1 = Snapshot.of(pids)
    t1, d1 = time.monotonic(), load.delivered()
    window = Window.between(s0, s1)
    phase = Phase(numbers, window, d1 - d0, t0, t1)
    drain = await _drain(load, numbers, p.drain_limit)
    rss.stop()
    cpu = [b - a for a, b in zip(s0.each, s1.each, strict=True)]
    result = {
        "mode": target.variant,
        "clients": p.clients + 1,
        **_chat_result(load, phase, rss, drain),
        # server_cpu_pct/cpu_us_per_delivery: all processes (the server and the service)
        "jupyter_cpu_pct": round(100 * cpu[0] / window.seconds, 1),
        "service_cpu_pct": round(100 * cpu[1] / window.seconds, 1) if len(cpu) > 1 else None,
        "loop_lag": lag.stop(),
    }
    result.pop("rss_series_mb", None)
    close_all(load.receivers)
    return result
