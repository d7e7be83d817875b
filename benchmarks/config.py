"""Scenario parameters: the full suite and the ``--quick`` suite."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SERVERS = ("ours", "b1", "b2", "b3", "b0")
SCENARIOS = ("chat", "presence", "connections", "joinstorm", "stall")
# The class service (JupyterHub) scenarios: ours only, compared with ours' single server.
HUB_SCENARIOS = ("hub-chat", "hub-presence", "hub-hop")
# A run is invalid when the load generator used more than this share of its core.
LOADGEN_CPU_LIMIT = 0.60
# A run is marked noisy when other processes used more than this share of either core.
FOREIGN_CPU_LIMIT = 0.10
SERVER_CORE = 1
LOADGEN_CORE = 0


@dataclass(frozen=True)
class ChatParams:
    """Scenario 1: one room, ``receivers`` + the sender, one sender at ``rate`` msg/s."""

    receivers: int = 300
    rate: float = 50.0
    warmup: float = 1.5
    duration: float = 30.0
    drain_limit: float = 5.0
    text_size: int = 100


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
class PresenceParams:
    """Scenario 2 for ours: ``members`` all sending cursor states at ``rate`` Hz."""

    members: int = 300
    rate: float = 20.0
    warmup: float = 2.0
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


@dataclass(frozen=True)
class HubChatParams:
    """Scenario 6: chat fan-out at the class service, to relays simulated by the load
    generator. Each shape is ``(relays, sessions per relay)``; one more relay carries the
    sender's session (a member too, as in scenario 1)."""

    shapes: tuple[tuple[int, int], ...] = ((300, 1), (30, 10))
    rate: float = 50.0
    warmup: float = 1.5
    duration: float = 15.0
    drain_limit: float = 5.0
    text_size: int = 100


@dataclass(frozen=True)
class HubPresenceParams:
    """Scenario 7: cursor presence at the class service, every member sending at ``rate`` Hz
    through simulated relays of the given shapes."""

    shapes: tuple[tuple[int, int], ...] = ((300, 1), (30, 10))
    rate: float = 20.0
    warmup: float = 2.0
    duration: float = 10.0
    probes: int = 10


@dataclass(frozen=True)
class HubHopParams:
    """Scenario 8: the relay hop. ``clients`` receivers and a sender in one room of a Jupyter
    server, with rooms at the class service (relay mode) or in the server itself."""

    clients: int = 20
    rate: float = 50.0
    warmup: float = 1.5
    duration: float = 20.0
    drain_limit: float = 5.0
    text_size: int = 100


@dataclass(frozen=True)
class Suite:
    """Everything one run of the benchmarks uses."""

    name: str
    repetitions: int
    chat: ChatParams = field(default_factory=ChatParams)
    stall: StallParams = field(default_factory=StallParams)
    presence: PresenceParams = field(default_factory=PresenceParams)
    ramp: RampParams = field(default_factory=RampParams)
    connections: ConnectionsParams = field(default_factory=ConnectionsParams)
    joinstorm: JoinStormParams = field(default_factory=JoinStormParams)
    hub_chat: HubChatParams = field(default_factory=HubChatParams)
    hub_presence: HubPresenceParams = field(default_factory=HubPresenceParams)
    hub_hop: HubHopParams = field(default_factory=HubHopParams)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


FULL = Suite(name="full", repetitions=3)

QUICK = Suite(
    name="quick",
    repetitions=1,
    chat=ChatParams(receivers=150, warmup=0.5, duration=3.0, drain_limit=2.0),
    stall=StallParams(receivers=150, warmup=0.5, before=1.5, during=2.0, drain_limit=2.0),
    presence=PresenceParams(members=100, warmup=1.0, duration=2.0, probes=5),
    ramp=RampParams(members=100, rates=(1.0, 20.0), warmup=0.5, step=1.5, grace=0.5, probes=5),
    connections=ConnectionsParams(connections=300, warm=30, settle=0.5, idle=0.5),
    joinstorm=JoinStormParams(clients=300),
    hub_chat=HubChatParams(shapes=((150, 1), (15, 10)), warmup=0.5, duration=3.0, drain_limit=2.0),
    hub_presence=HubPresenceParams(shapes=((100, 1), (10, 10)), warmup=1.0, duration=2.0, probes=5),
    hub_hop=HubHopParams(warmup=0.5, duration=4.0, drain_limit=2.0),
)
