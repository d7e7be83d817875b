"""Readers of /proc: a process's CPU time and memory, and each core's busy time.

Everything is read from the outside (the server under test is never asked), so the figures
mean the same for a Python, a node or a Jupyter server.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass, field

TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by ``pid``."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is the state (field 3 of stat): utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / TICKS


def process_rss(pid: int) -> int:
    """Resident memory of ``pid`` in bytes."""
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def self_cpu() -> float:
    """CPU seconds used so far by this process (all threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def core_busy() -> dict[int, float]:
    """Busy seconds so far of each core (everything but idle and iowait)."""
    out: dict[int, float] = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            name, *values = line.split()
            ticks = [int(v) for v in values]
            idle = ticks[3] + ticks[4]
            out[int(name[3:])] = (sum(ticks[:8]) - idle) / TICKS
    return out


@dataclass
class Snapshot:
    """CPU counters at one instant, for the server, this process and every core. A server of
    several processes counts their CPU summed, each process's in ``each``."""

    wall: float
    server_cpu: float
    self_cpu: float
    cores: dict[int, float]
    each: list[float] = field(default_factory=list)

    @classmethod
    def take(cls, server_pid: int) -> Snapshot:
        return cls.of([server_pid])

    @classmethod
    def of(cls, pids: list[int]) -> Snapshot:
        """The counters of a server of the processes ``pids``."""
        wall = time.monotonic()
        each = [process_cpu(pid) for pid in pids]
        return cls(wall, sum(each), self_cpu(), core_busy(), each)


@dataclass
class Window:
    """CPU use between two snapshots.

    ``foreign_*`` is the busy time of a core not explained by the process pinned to it: other
    processes on the machine disturbing the measurement.
    """

    seconds: float
    server_cpu: float
    loadgen_cpu: float
    foreign_server_core: float
    foreign_loadgen_core: float

    @classmethod
    def between(
        cls, a: Snapshot, b: Snapshot, server_core: int = 1, loadgen_core: int = 0
    ) -> Window:
        seconds = max(b.wall - a.wall, 1e-9)
        server = b.server_cpu - a.server_cpu
        loadgen = b.self_cpu - a.self_cpu
        busy_server_core = b.cores.get(server_core, 0.0) - a.cores.get(server_core, 0.0)
        busy_loadgen_core = b.cores.get(loadgen_core, 0.0) - a.cores.get(loadgen_core, 0.0)
        return cls(
            seconds=seconds,
            server_cpu=server,
            loadgen_cpu=loadgen,
            foreign_server_core=max(0.0, busy_server_core - server) / seconds,
            foreign_loadgen_core=max(0.0, busy_loadgen_core - loadgen) / seconds,
        )

    @property
    def server_share(self) -> float:
        """The server's CPU as a fraction of one core."""
        return self.server_cpu / self.seconds

    @property
    def loadgen_share(self) -> float:
        """The load generator's CPU as a fraction of one core."""
        return self.loadgen_cpu / self.seconds

    def as_dict(self) -> dict[str, float]:
        return {
            "seconds": round(self.seconds, 3),
            "server_cpu_s": round(self.server_cpu, 3),
            "server_cpu_pct": round(100 * self.server_share, 1),
            "loadgen_cpu_pct": round(100 * self.loadgen_share, 1),
            "foreign_server_core_pct": round(100 * self.foreign_server_core, 1),
            "foreign_loadgen_core_pct": round(100 * self.foreign_loadgen_core, 1),
        }
