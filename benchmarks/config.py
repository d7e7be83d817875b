"""Scenario parameters: the full suite and the ``--quick`` suite."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SERVERS = ("ours", "b1", "b2", "b3", "b0")
SCENARIOS = ("chat", "presence", "connections", "joinstorm", "stall")
# The class service (JupyterHub) scenarios: ours only, compared with ours' single server.
HUB_SCENARIOS = ("hub-chat", "hub-presence", "hub-hop")
# Several class service processes sharing rooms through Redis (scenarios 9-10): the pinned
# comparisons and the capacity ramps (unpinned). Not in the default suite (needs
# redis-server; ~10 minutes).
REDIS_SCENARIOS = ("redis-chat", "redis-presence", "redis-chat-max", "redis-presence-max")
# What they compare: one service process with SQLite (``configure_hub`` without
# ``redis_url``), one with Redis (the Redis hop alone), two with Redis (half the relays each).
DEPLOYMENTS = ("sqlite-1", "redis-1", "redis-2")
# Ours only, one fresh server per run, in the default suite: presence at lecture-hall scale.
OURS_SCENARIOS = ("presence-1000",)
# One Chromium tab (Playwright, Debian's Chromium) in a room under presence load: ours only,
# a fresh JupyterLab per run; in the default suite.
BROWSER_SCENARIOS = ("browser",)
# A run is invalid when the load generator used more than this share of its core.
LOADGEN_CPU_LIMIT = 0.60
# A run is marked noisy when other processes used more than this share of either core.
FOREIGN_CPU_LIMIT = 0.10
SERVER_CORE = 1
LOADGEN_CORE = 0


@dataclass(frozen=True)
class ChatLoadParams:
    """Scenario 1's load, also that of scenarios 6, 8 and 9a: one sender at ``rate`` msg/s,
    measured for ``duration`` seconds after ``warmup``; at most ``drain_limit`` seconds more
    for the last messages to arrive."""

    rate: float = 50.0
    warmup: float = 1.5
    duration: float = 30.0
    drain_limit: float = 5.0
    text_size: int = 100


@dataclass(frozen=True)
class PresenceLoadParams:
    """Scenario 2's load, also that of scenarios 7 and 9b: every member sends its cursor
    state at ``rate`` Hz, measured for ``duration`` seconds after ``warmup``."""

    rate: float = 20.0
    warmup: float = 2.0
    duration: float = 10.0


@dataclass(frozen=True)
class ChatParams(ChatLoadParams):
    """Scenario 1: one room, ``receivers`` + the sender."""

    receivers: int = 300


@dataclass(frozen=True)
class StallParams:
    """Scenario 5: chat fan-out; one more receiver stops reading after ``before`` seconds."""

    receivers: int = 300
    rate: float = 50.0
    warmup: float = 1.0
    before: float = 5.0
    during: float = 6.0
    drain_limit: float = 4.0
    text_size: int = 100
    rcvbuf: int = 4096


@dataclass(frozen=True)
class PresenceParams(PresenceLoadParams):
    """Scenario 2 for ours: ``members`` all sending cursor states."""

    members: int = 300
    probes: int = 10


@dataclass(frozen=True)
class LargePresenceParams(PresenceLoadParams):
    """Scenario 2b (ours only): a lecture hall, ``members`` all sending cursor states at
    ``rate`` Hz in one room."""

    members: int = 1000
    rate: float = 5.0
    warmup: float = 3.0
    duration: float = 10.0
    probes: int = 10


@dataclass(frozen=True)
class RampParams:
    """Scenario 2 for the relaying baselines: the highest rate with p99 <= ``max_latency``."""

    members: int = 300
    rates: tuple[float, ...] = (1.0, 2.0, 5.0, 10.0, 20.0)
    warmup: float = 1.0
    step: float = 4.0
    grace: float = 1.5
    probes: int = 10
    max_latency: float = 1.0


@dataclass(frozen=True)
class ConnectionsParams:
    """Scenario 3: ``connections`` idle clients, each joined to a room of ``room_size``."""

    connections: int = 3000
    room_size: int = 30
    warm: int = 60
    concurrency: int = 50
    settle: float = 1.5
    idle: float = 2.0


@dataclass(frozen=True)
class JoinStormParams:
    """Scenario 4: ``clients`` join one room, spread evenly over ``spread`` seconds."""

    clients: int = 300
    spread: float = 1.0
    timeout: float = 30.0


Shapes = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class HubChatParams(ChatLoadParams):
    """Scenario 6: chat fan-out at the class service, to relays simulated by the load
    generator. Each shape is ``(relays, sessions per relay)``; one more relay carries the
    sender's session (a member too, as in scenario 1)."""

    duration: float = 15.0
    shapes: Shapes = ((300, 1), (30, 10))


@dataclass(frozen=True)
class HubPresenceParams(PresenceLoadParams):
    """Scenario 7: cursor presence at the class service, every member sending through
    simulated relays of the given shapes."""

    shapes: Shapes = ((300, 1), (30, 10))
    probes: int = 10


@dataclass(frozen=True)
class HubHopParams(ChatLoadParams):
    """Scenario 8: the relay hop. ``clients`` receivers and a sender in one room of a Jupyter
    server, with rooms at the class service (relay mode) or in the server itself."""

    duration: float = 20.0
    clients: int = 20


@dataclass(frozen=True)
class RedisChatParams(ChatLoadParams):
    """Scenario 9a: scenario 6's load for each deployment; with two processes, the relays
    alternate between them and the sender's is on the first."""

    duration: float = 12.0
    shapes: Shapes = ((30, 10), (300, 1))
    deployments: tuple[str, ...] = DEPLOYMENTS


@dataclass(frozen=True)
class RedisPresenceParams(PresenceLoadParams):
    """Scenario 9b: scenario 7's load for each deployment, at a class size one process keeps
    up with on its core. ``probe_relays``: the last relays (one per process with two) decode
    what they get."""

    duration: float = 8.0
    shapes: Shapes = ((15, 10),)
    deployments: tuple[str, ...] = DEPLOYMENTS
    probe_relays: int = 2


@dataclass(frozen=True)
class RedisChatMaxParams:
    """Scenario 10a, unpinned: the highest chat rate (msg/s, ``senders`` senders taking
    turns, one per process with two) to ``relays`` x ``per`` sessions whose slowest-receiver
    p99 stays within ``max_p99_ms`` with nothing lost; a ramp of ``rates``, each held
    ``step`` seconds after ``warmup``."""

    relays: int = 30
    per: int = 10
    senders: int = 2
    deployments: tuple[str, ...] = DEPLOYMENTS
    rates: tuple[float, ...] = tuple(float(r) for r in range(200, 2001, 200))
    warmup: float = 1.0
    step: float = 3.0
    drain_limit: float = 3.0
    max_p99_ms: float = 100.0
    text_size: int = 100


@dataclass(frozen=True)
class RedisPresenceMaxParams:
    """Scenario 10b, unpinned: the largest class (members at ``rate`` Hz, ``per`` sessions a
    relay) whose state age p99 stays within ``max_p99_ms`` and no probe is left stale
    after ``grace``; a ramp of ``sizes``, relays added between steps."""

    per: int = 10
    deployments: tuple[str, ...] = DEPLOYMENTS
    sizes: tuple[int, ...] = (100, 200, 250, 300, 350, 400, 450, 500)
    rate: float = 20.0
    warmup: float = 1.5
    step: float = 3.0
    grace: float = 1.0
    max_p99_ms: float = 250.0
    probe_relays: int = 2


@dataclass(frozen=True)
class BrowserParams(PresenceLoadParams):
    """Scenario 11: one Chromium tab with a notebook of ``cells`` code cells (``lines`` lines
    each) open and a Room of it shown; ``members`` more members of the room move their cursors
    in that notebook at ``rate`` Hz. Measured for ``duration`` seconds after ``warmup``."""

    members: int = 300
    warmup: float = 3.0
    duration: float = 10.0
    cells: int = 40
    lines: int = 4
    #: how long the tab may take to show every member before the load starts
    settle_timeout: float = 60.0


@dataclass(frozen=True)
class Suite:
    """Everything one run of the benchmarks uses."""

    # Each scenario's parameters default to the full suite's (frozen: one instance serves).
    name: str
    repetitions: int
    chat: ChatParams = ChatParams()
    stall: StallParams = StallParams()
    presence: PresenceParams = PresenceParams()
    presence_large: LargePresenceParams = LargePresenceParams()
    ramp: RampParams = RampParams()
    connections: ConnectionsParams = ConnectionsParams()
    joinstorm: JoinStormParams = JoinStormParams()
    # The class service (scenarios 6-8) and several of its processes (9-10).
    hub_chat: HubChatParams = HubChatParams()
    hub_presence: HubPresenceParams = HubPresenceParams()
    hub_hop: HubHopParams = HubHopParams()
    redis_chat: RedisChatParams = RedisChatParams()
    redis_presence: RedisPresenceParams = RedisPresenceParams()
    redis_chat_max: RedisChatMaxParams = RedisChatMaxParams()
    redis_presence_max: RedisPresenceMaxParams = RedisPresenceMaxParams()
    # A browser tab under presence load (scenario 11).
    browser: BrowserParams = BrowserParams()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Suite(name="full", repetitions=3)

QUICK = Suite(
    name="quick",
    repetitions=1,
    chat=ChatParams(receivers=150, warmup=0.5, duration=3.0, drain_limit=2.0),
    stall=StallParams(receivers=150, warmup=0.5, before=1.5, during=2.0, drain_limit=2.0),
    presence=PresenceParams(members=100, warmup=1.0, duration=2.0, probes=5),
    presence_large=LargePresenceParams(members=300, warmup=1.0, duration=3.0, probes=5),
    ramp=RampParams(members=100, rates=(1.0, 20.0), warmup=0.5, step=1.5, grace=0.5, probes=5),
    connections=ConnectionsParams(connections=300, warm=30, settle=0.5, idle=0.5),
    joinstorm=JoinStormParams(clients=300),
    hub_chat=HubChatParams(shapes=((150, 1), (15, 10)), warmup=0.5, duration=3.0, drain_limit=2.0),
    hub_presence=HubPresenceParams(shapes=((100, 1), (10, 10)), warmup=1.0, duration=2.0, probes=5),
    hub_hop=HubHopParams(warmup=0.5, duration=4.0, drain_limit=2.0),
    redis_chat=RedisChatParams(shapes=((30, 10),), warmup=0.5, duration=3.0, drain_limit=2.0),
    redis_presence=RedisPresenceParams(shapes=((10, 10),), warmup=1.0, duration=2.0),
    redis_chat_max=RedisChatMaxParams(
        rates=(400.0, 1000.0, 1600.0),
        warmup=0.5,
        step=1.5,
        drain_limit=2.0,
    ),
    redis_presence_max=RedisPresenceMaxParams(sizes=(100, 300), warmup=1.0, step=1.5),
    browser=BrowserParams(members=100, warmup=2.0, duration=4.0),
)
