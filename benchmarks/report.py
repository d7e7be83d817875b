"""Turn the runs of one benchmark session into ``results.json`` and ``results.md``.

Each figure is summarised over the repetitions as median (min-max), using only valid runs
(the load generator stayed below 60 % of its core); when no run of a cell is valid the cell
uses all runs and says so.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from .config import SERVERS, Suite
from .stats import summary

LABELS = {
    "ours": "ours (collab-widget in jupyter_server)",
    "b1": "B1 python-socketio + tornado, defaults",
    "b2": "B2 B1 + deflate off + nodelay",
    "b3": "B3 node socket.io 4.8, defaults",
    "b0": "B0 websockets broadcast()",
}


@dataclass(frozen=True)
class Metric:
    """One column of a results table: a figure's key, its heading and how to show it."""

    key: str
    label: str
    lower_is_better: bool = True
    digits: int = 1


# Columns several tables share.
CPU_PER_DELIVERY = Metric("cpu_us_per_delivery", "CPU µs/delivery")
DELIVERIES = Metric("deliveries_per_s", "deliveries/s", False, 0)
RELAY_FRAMES = Metric("relay_frames_per_s", "frames/s sent", False, 0)
MB_SENT = Metric("mb_per_s", "MB/s sent", False, 1)
SLOWEST = [Metric("slowest_p50_ms", "slowest p50 ms"), Metric("slowest_p99_ms", "slowest p99 ms")]
SLOWEST_MAX = Metric("slowest_max_ms", "slowest max ms")
STATE_AGE = [
    Metric("latency_p50_ms", "state age p50 ms"),
    Metric("latency_p99_ms", "state age p99 ms"),
]
LOST = Metric("lost", "lost", digits=0)
OUT_OF_ORDER = Metric("out_of_order", "out of order", digits=0)
STALE = Metric("stale_at_end", "stale at end", digits=0)
LOADGEN = Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0)
# The Redis tables: the service processes (summed) and Redis apart.
SERVICE_AND_REDIS = [
    Metric("cpu_us_per_delivery", "service CPU µs/delivery"),
    Metric("redis_us_per_delivery", "Redis CPU µs/delivery", digits=2),
]
SERVICE_AND_REDIS_PCT = [
    Metric("server_cpu_pct", "service CPU %", digits=0),
    Metric("redis_cpu_pct", "Redis CPU %", digits=0),
]
# The capacity ramps: the figures at their highest sustained step.
AT_MAX = [
    Metric("at_max_service_cpu_pct", "service CPU % at max", digits=0),
    Metric("at_max_redis_cpu_pct", "Redis CPU % at max", digits=0),
    Metric("at_max_loadgen_cpu_pct", "loadgen CPU % at max", digits=0),
]
MAX_DELIVERIES = Metric("max_deliveries_per_s", "deliveries/s at max", False, 0)

# What ours' coalesced presence is measured by (scenarios 2 and 2b).
COALESCED = [
    Metric("server_cpu_pct", "server CPU %", digits=0),
    *STATE_AGE,
    Metric("frames_per_s", "frames/s sent", False, 0),
    MB_SENT,
    Metric("rss_mb_max", "RSS max MB"),
    Metric("rss_slope_kb_per_s", "RSS slope KB/s"),
    STALE,
    LOADGEN,
]

METRICS: dict[str, list[Metric]] = {
    "chat": [
        CPU_PER_DELIVERY,
        Metric("server_cpu_pct", "server CPU %", digits=0),
        DELIVERIES,
        *SLOWEST,
        SLOWEST_MAX,
        LOST,
        OUT_OF_ORDER,
        LOADGEN,
    ],
    "presence": [
        Metric("max_sustained_hz", "max rate/member Hz (p99 <= 1 s)", False, 0),
        *COALESCED,
    ],
    "presence-1000": [
        Metric("members", "members", False, 0),
        Metric("rate_hz", "rate/member Hz", False, 0),
        *COALESCED,
    ],
    "connections": [
        Metric("kb_per_connection", "KB/connection"),
        Metric("rss_mb_before", "RSS before MB"),
        Metric("rss_mb_after", "RSS after MB"),
        Metric("connect_s", "connect s", digits=2),
        Metric("join_s", "join s", digits=2),
        Metric("idle_cpu_pct", "idle CPU %", digits=1),
        LOADGEN,
    ],
    "joinstorm": [
        Metric("all_full_member_list_s", "all have full member list s", digits=2),
        Metric("full_after_last_join_s", "... s after the last join", digits=2),
        Metric("all_acked_s", "all joins acked s", digits=2),
        Metric("server_cpu_s", "server CPU s", digits=2),
        LOADGEN,
    ],
    "stall": [
        Metric("p99_before_ms", "others' p99 before ms"),
        Metric("p99_during_ms", "others' p99 stalled ms"),
        Metric("rss_slope_before_kb_per_s", "RSS slope before KB/s"),
        Metric("rss_growth_during_mb", "RSS growth stalled MB", digits=2),
        Metric("rss_slope_during_kb_per_s", "RSS slope stalled KB/s"),
        Metric("stalled_backlog_kb", "backlog owed to stalled KB", digits=0),
        Metric("lost", "lost (others)", digits=0),
        LOADGEN,
    ],
}

# Scenario 11: one browser tab in a room under presence load (ours only).
BROWSER_METRICS: dict[str, list[Metric]] = {
    "browser": [
        Metric("members", "members moving", False, 0),
        Metric("busy_pct", "tab main thread busy %"),
        Metric("idle_busy_pct", "same tab, nobody moving, busy %"),
        Metric("renderer_main_cpu_pct", "main thread CPU %"),
        Metric("long_tasks_per_s", "long tasks/s"),
        Metric("long_task_max_ms", "longest task ms", digits=0),
        Metric("long_frames", "frames > 50 ms", digits=0),
        Metric("long_frames_ours", "of them with our scripts", digits=0),
        Metric("long_frame_ours_max_ms", "longest with ours ms", digits=0),
        Metric("presence_batches_per_s", "presence batches/s at the tab", False, 1),
        Metric("server_cpu_pct", "server CPU %", digits=0),
        Metric("browser_cpu_pct", "Chromium CPU %", digits=0),
        Metric("core0_busy_pct", "core 0 busy %", digits=0),
        LOADGEN,
    ],
}
BROWSER_TITLES = {"browser": "11. A browser tab in a room of moving members"}
# Its targets (issue 13).
BROWSER_MAX_BUSY_PCT = 25.0
BROWSER_MAX_OURS_LONG_FRAMES = 0.0

# The class service scenarios (their rows: shapes of relays, or single/relay).
HUB_CPU = [CPU_PER_DELIVERY, Metric("server_cpu_pct", "CPU %", digits=0), DELIVERIES, RELAY_FRAMES]
HUB_METRICS: dict[str, list[Metric]] = {
    "hub-chat": [*HUB_CPU, *SLOWEST, SLOWEST_MAX, LOST, LOADGEN],
    "hub-presence": [*HUB_CPU, MB_SENT, *STATE_AGE, STALE, LOADGEN],
    "hub-hop": [
        *SLOWEST,
        SLOWEST_MAX,
        Metric("cpu_us_per_delivery", "CPU µs/delivery (all processes)"),
        Metric("jupyter_cpu_pct", "Jupyter server CPU %", digits=0),
        Metric("service_cpu_pct", "service CPU %", digits=0),
        LOST,
        LOADGEN,
    ],
}
# Several service processes through Redis (rows: deployment[/shape]).
REDIS_METRICS: dict[str, list[Metric]] = {
    "redis-chat": [
        *SERVICE_AND_REDIS,
        Metric("total_us_per_delivery", "total µs/delivery"),
        *SERVICE_AND_REDIS_PCT,
        DELIVERIES,
        *SLOWEST,
        Metric("other_process_p99_ms", "p99 at the other process ms"),
        LOST,
        Metric("duplicated", "dup.", digits=0),
        OUT_OF_ORDER,
        LOADGEN,
    ],
    "redis-presence": [
        *SERVICE_AND_REDIS,
        *SERVICE_AND_REDIS_PCT,
        DELIVERIES,
        *STATE_AGE,
        Metric("same_process_p99_ms", "p99, sender on the same process ms"),
        Metric("cross_process_p99_ms", "p99, sender on the other process ms"),
        STALE,
        LOADGEN,
    ],
    "redis-chat-max": [
        Metric("max_rate", "max msg/s (p99 <= bound, none lost)", False, 0),
        MAX_DELIVERIES,
        Metric("at_max_p99_ms", "slowest p99 at max ms"),
        *AT_MAX,
        Metric("first_failed", "first step failed msg/s", digits=0),
    ],
    "redis-presence-max": [
        Metric("max_members", "max members at 20 Hz (p99 <= bound, none stale)", False, 0),
        MAX_DELIVERIES,
        Metric("at_max_p99_ms", "state age p99 at max ms"),
        *AT_MAX,
        Metric("first_failed", "first step failed (members)", digits=0),
    ],
}
REDIS_TITLES = {
    "redis-chat": "9a. Several processes: chat fan-out, same load (pinned)",
    "redis-presence": "9b. Several processes: presence, same load (pinned)",
    "redis-chat-max": "10a. Several processes: highest chat rate (unpinned)",
    "redis-presence-max": "10b. Several processes: largest class for presence (unpinned)",
}
DEPLOYMENT_LABELS = {
    "sqlite-1": "1 process, SQLite",
    "redis-1": "1 process, Redis",
    "redis-2": "2 processes, Redis",
}
# Figures aggregated for the hub tables' reference rows besides the scenario's own.
EXTRA_KEYS = {"presence": ("cpu_us_per_delivery", "deliveries_per_s")}
HUB_TITLES = {
    "hub-chat": "6. Class service: chat fan-out through relays",
    "hub-presence": "7. Class service: presence through relays",
    "hub-hop": "8. Class service: the relay hop",
}
# The single-server scenario of the same run each hub table starts with.
HUB_REFERENCE = {"hub-chat": "chat", "hub-presence": "presence"}

TITLES = {
    "chat": "1. Chat fan-out",
    "presence": "2. Presence at classroom scale",
    "presence-1000": "2b. Presence in a lecture hall (ours only)",
    "connections": "3. Idle connections",
    "joinstorm": "4. Join storm",
    "stall": "5. A stalled client during chat fan-out",
}


# -- machine ---------------------------------------------------------------------------------
def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _node_version(node_dir: Path) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    try:
        out["node"] = subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        out["node"] = None
    for package in ("socket.io", "ws"):
        path = node_dir / "node_modules" / package / "package.json"
        out[package] = json.loads(path.read_text())["version"] if path.exists() else None
    return out


def machine(node_dir: Path) -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpu_model": model,
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "packages": {
            p: _version(p)
            for p in (
                "python-socketio",
                "python-engineio",
                "tornado",
                "websockets",
                "jupyter_server",
                "collab-widget",
            )
        },
        **_node_version(node_dir),
    }


# -- aggregation -----------------------------------------------------------------------------
def _value(run: dict[str, Any], key: str) -> float | None:
    value = run.get(key)
    if isinstance(value, bool) or value is None:
        return None
    return float(value) if isinstance(value, int | float) else None


def aggregate(runs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``{scenario: {server: {metric: summary, "runs": n, "valid": n, ...}}}``."""
    out: dict[str, dict[str, Any]] = {}
    every = {**METRICS, **HUB_METRICS, **REDIS_METRICS, **BROWSER_METRICS}
    for scenario, metrics in every.items():
        seen = [r["server"] for r in runs if r["scenario"] == scenario]
        names = [s for s in SERVERS if s in seen] + [
            s for s in dict.fromkeys(seen) if s not in SERVERS
        ]
        extra = [Metric(k, k) for k in EXTRA_KEYS.get(scenario, ())]
        for server in names:
            cell = [r for r in runs if r["scenario"] == scenario and r["server"] == server]
            if not cell:
                continue
            valid = [r for r in cell if r["result"].get("valid")]
            clean = [r for r in valid if not r["result"].get("noisy")]
            used = clean or valid or cell
            entry: dict[str, Any] = {
                "runs": len(cell),
                "valid_runs": len(valid),
                "clean_runs": len(clean),
                "used": "clean" if clean else ("valid, noisy" if valid else "all, invalid"),
                "noisy_runs": sum(1 for r in cell if r["result"].get("noisy")),
                "errors": [r["result"]["error"] for r in cell if r["result"].get("error")],
            }
            for metric in [*metrics, *extra]:
                values = [_value(r["result"], metric.key) for r in used]
                entry[metric.key] = summary([v for v in values if v is not None])
            if scenario == "chat":  # the targets compare ours and B3 repetition by repetition
                entry["by_rep"] = {
                    r["rep"]: _value(r["result"], "cpu_us_per_delivery") for r in used
                }
            if scenario == "presence":
                # A relay that sustains no step: below the lowest rate tried.
                entry["below_lowest_step"] = sum(
                    1
                    for r in used
                    if r["result"].get("mode") == "relay"
                    and r["result"].get("max_sustained_hz") is None
                    and not r["result"].get("error")
                )
            out.setdefault(scenario, {})[server] = entry
    return out


def _median(agg: dict[str, Any], scenario: str, server: str, key: str) -> float:
    try:
        return float(agg[scenario][server][key]["median"])
    except (KeyError, TypeError):
        return math.nan


def ratios(agg: dict[str, Any]) -> list[dict[str, Any]]:
    """ours / B1 and ours / B3 for the headline figures."""
    rows = [
        ("chat", "cpu_us_per_delivery", "chat: CPU µs per delivery"),
        ("chat", "slowest_p99_ms", "chat: slowest-receiver p99"),
        ("presence", "max_sustained_hz", "presence: max rate per member (300 members)"),
        ("connections", "kb_per_connection", "connections: KB per idle connection"),
        ("joinstorm", "all_acked_s", "join storm: all joins acknowledged"),
    ]
    out = []
    for scenario, key, label in rows:
        ours = _median(agg, scenario, "ours", key)
        entry: dict[str, Any] = {"figure": label, "ours": ours}
        for base in ("b1", "b3"):
            value = _median(agg, scenario, base, key)
            below = (agg.get(scenario, {}).get(base, {}).get("below_lowest_step") or 0) > 0
            entry[base] = value
            if math.isnan(value) and below and not math.isnan(ours):
                entry[f"ours_over_{base}"] = f"> {ours:g}x (below the lowest step)"
            elif value and not math.isnan(value) and not math.isnan(ours):
                entry[f"ours_over_{base}"] = ours / value
            else:
                entry[f"ours_over_{base}"] = None
        out.append(entry)
    return out


def _highest(agg: dict[str, Any], scenario: str, server: str, key: str) -> float:
    try:
        return float(agg[scenario][server][key]["max"])
    except (KeyError, TypeError):
        return math.nan


def targets(agg: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for ours, met or not. Each must hold in every repetition: a
    ceiling is checked against the highest figure of the runs used, and chat against B3
    repetition by repetition (the same repetition ran both, one after the other)."""

    def worst(scenario: str, key: str) -> float:
        return _highest(agg, scenario, "ours", key)

    def at_most(label: str, scenario: str, key: str, limit: float) -> tuple[Any, ...]:
        return (label, worst(scenario, key), limit, lambda v, t: v <= t)

    checks: list[tuple[str, float, float, Callable[[float, float], bool]]] = [
        (
            "chat CPU/delivery <= B3's, every repetition (highest ours/B3)",
            _worst_ratio(agg, "chat", "cpu_us_per_delivery", "ours", "b3"),
            1.0,
            lambda v, t: v <= t,
        ),
        at_most("chat slowest p99 <= 20 ms", "chat", "slowest_p99_ms", 20.0),
        at_most("presence 300 x 20 Hz: server CPU <= 60 %", "presence", "server_cpu_pct", 60.0),
        at_most("presence 300 x 20 Hz: state age p50 <= 35 ms", "presence", "latency_p50_ms", 35.0),
        at_most("presence 300 x 20 Hz: state age p99 <= 80 ms", "presence", "latency_p99_ms", 80.0),
        at_most("presence 300 x 20 Hz: stale at end = 0", "presence", "stale_at_end", 0.0),
        at_most(
            "presence 1,000 x 5 Hz: state age p99 <= 250 ms",
            "presence-1000",
            "latency_p99_ms",
            250.0,
        ),
        at_most(
            f"presence 1,000 x 5 Hz: memory flat (RSS slope <= {FLAT_KB_PER_S} KB/s)",
            "presence-1000",
            "rss_slope_kb_per_s",
            FLAT_KB_PER_S,
        ),
        at_most("<= 25 KB per idle connection", "connections", "kb_per_connection", 25.0),
        at_most(
            "join storm: full member list <= 1 s after the last join",
            "joinstorm",
            "full_after_last_join_s",
            1.0,
        ),
        at_most(
            "browser: tab main thread busy <= 25 %", "browser", "busy_pct", BROWSER_MAX_BUSY_PCT
        ),
        at_most(
            "browser: frames > 50 ms with our scripts = 0",
            "browser",
            "long_frames_ours",
            BROWSER_MAX_OURS_LONG_FRAMES,
        ),
    ]
    out = []
    for label, value, target, ok in checks:
        met = None if math.isnan(value) or math.isnan(target) else ok(value, target)
        out.append({"target": label, "ours": value, "threshold": target, "met": met})
    return out


# "Server memory flat" in the lecture hall: at most this RSS growth during the window.
FLAT_KB_PER_S = 50.0


def _worst_ratio(agg: dict[str, Any], scenario: str, key: str, mine: str, theirs: str) -> float:
    """The highest ``mine / theirs`` of ``key`` over the repetitions both ran (NaN: none)."""
    try:
        ours = agg[scenario][mine]["by_rep"]
        other = agg[scenario][theirs]["by_rep"]
    except KeyError:
        return math.nan
    ratios = [ours[r] / other[r] for r in ours if r in other and ours[r] and other[r]]
    return round(max(ratios), 3) if ratios else math.nan


def _hub_label(variant: str) -> str:
    if variant in HUB_LABELS:
        return HUB_LABELS[variant]
    relays, _, per = variant.partition("x")
    plural = "s" if per != "1" else ""
    return f"service, {relays} relays x {per} session{plural}"


HUB_LABELS = {
    "single": "Jupyter server, rooms in it (no service)",
    "relay": "Jupyter server in relay mode + service",
}


def hub_figures(agg: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of the class service: its CPU per delivery per shape against
    ours' single server, and the latency the relay hop adds (differences of medians)."""
    out: dict[str, Any] = {}
    for scenario, reference in HUB_REFERENCE.items():
        if scenario not in agg:
            continue
        single = _median(agg, reference, "ours", "cpu_us_per_delivery")
        rows = {}
        for variant in agg[scenario]:
            cpu = _median(agg, scenario, variant, "cpu_us_per_delivery")
            rows[variant] = {
                "cpu_us_per_delivery": cpu,
                "single_server_cpu_us_per_delivery": single,
                "over_single_server": cpu / single if single and not math.isnan(single) else None,
            }
        out[scenario] = rows
    if "hub-hop" in agg:
        hop: dict[str, Any] = {}
        for key in ("slowest_p50_ms", "slowest_p99_ms", "cpu_us_per_delivery"):
            single = _median(agg, "hub-hop", "single", key)
            relay = _median(agg, "hub-hop", "relay", key)
            hop[key] = {"single": single, "relay": relay, "added": relay - single}
        out["hub-hop"] = hop
    return out


def _hub_table(scenario: str, agg: dict[str, Any]) -> list[str]:
    rows = agg.get(scenario, {})
    reference = HUB_REFERENCE.get(scenario)
    single = agg.get(reference, {}).get("ours") if reference else None
    if not rows and not single:
        return []
    metrics = HUB_METRICS[scenario]
    first = [(f"ours, single server (scenario {reference}, same run)", single)] if single else []
    labelled = [(_hub_label(variant), entry) for variant, entry in rows.items()]
    return _render("system", metrics, [_row(label, e, metrics) for label, e in first + labelled])


def _hub_summary(figures: dict[str, Any]) -> list[str]:
    lines = []
    for scenario in HUB_REFERENCE:
        for variant, row in figures.get(scenario, {}).items():
            ratio = row["over_single_server"]
            if ratio is not None and not math.isnan(ratio):
                lines.append(
                    f"- {scenario} {variant}: the service's CPU per delivery is "
                    f"{ratio:.2f}x the single server's ({_fmt(row['cpu_us_per_delivery'], 1)} "
                    f"vs {_fmt(row['single_server_cpu_us_per_delivery'], 1)} µs)"
                )
    hop = figures.get("hub-hop")
    if hop:
        p50, p99 = hop["slowest_p50_ms"], hop["slowest_p99_ms"]
        lines.append(
            f"- the relay hop adds {_fmt(p50['added'], 1)} ms at p50 "
            f"({_fmt(p50['single'], 1)} -> {_fmt(p50['relay'], 1)}) and "
            f"{_fmt(p99['added'], 1)} ms at p99 ({_fmt(p99['single'], 1)} -> "
            f"{_fmt(p99['relay'], 1)})"
        )
    return lines


# -- several processes through Redis -----------------------------------------------------------
DEPLOYMENTS = tuple(DEPLOYMENT_LABELS)
EXTRAPOLATE_TO = (1, 2, 4, 8, 16)


def _deployment_label(variant: str) -> str:
    deployment, _, shape = variant.partition("/")
    label = DEPLOYMENT_LABELS.get(deployment, deployment)
    if shape:
        relays, _, per = shape.partition("x")
        label += f", {relays} relays x {per} session" + ("s" if per != "1" else "")
    return label


def _shapes(agg: dict[str, Any], scenario: str) -> list[str]:
    return list(dict.fromkeys(v.partition("/")[2] for v in agg.get(scenario, {})))


def _ok(*values: float) -> bool:
    return all(not math.isnan(v) for v in values)


@dataclass(frozen=True)
class Load:
    """Core shares (1.0 = one core) at one load: the service processes summed and Redis,
    with one process (``u1``, ``r1``) and with two (``u2``, ``r2``)."""

    u1: float
    u2: float
    r1: float
    r2: float

    def ok(self) -> bool:
        return _ok(self.u1, self.u2, self.r1, self.r2)


def _pinned_load(agg: dict[str, Any], scenario: str, shape: str) -> Load:
    def share(deployment: str, key: str) -> float:
        return _median(agg, scenario, f"{deployment}/{shape}", key) / 100

    return Load(
        share("redis-1", "server_cpu_pct"),
        share("redis-2", "server_cpu_pct"),
        share("redis-1", "redis_cpu_pct"),
        share("redis-2", "redis_cpu_pct"),
    )


# Ramp steps used to calibrate the extrapolation: sustained, and no service process above
# this share of a core (a saturated process's CPU says what it had, not what it needed).
CALIBRATION_MAX_SHARE = 90.0


def _ramp_steps(runs: list[dict[str, Any]], scenario: str, deployment: str) -> dict[float, Any]:
    """The unsaturated sustained steps of a deployment's (first valid) ramp, by rate or
    size."""
    for run in runs:
        result = run["result"]
        if run["scenario"] == scenario and run["server"] == deployment and result.get("valid"):
            return {
                float(step.get("rate") or step.get("members")): step
                for step in result.get("steps", [])
                if step.get("sustained")
                and max(step.get("service_cpu_pct_each") or [100.0]) < CALIBRATION_MAX_SHARE
            }
    return {}


def _step_load(one: dict[str, Any], two: dict[str, Any]) -> Load:
    return Load(
        one["service_cpu_pct"] / 100,
        two["service_cpu_pct"] / 100,
        one["redis_cpu_pct"] / 100,
        two["redis_cpu_pct"] / 100,
    )


def _chat_costs(load: Load, rate: float) -> dict[str, float]:
    """Seconds of CPU per message: ``whole`` (one process), ``extra`` (each more process
    repeats it: its stream reader and the fixed part of delivering), ``split`` (the rest,
    divided between the processes); Redis: ``store`` per message, ``read`` per message and
    reading process."""
    whole = load.u1 / rate
    extra = max(0.0, (load.u2 - load.u1) / rate)
    read = max(0.0, (load.r2 - load.r1) / rate)
    return {
        "whole": whole,
        "extra": extra,
        "split": max(whole - extra, 1e-12),
        "read": read,
        "store": max(0.0, load.r1 / rate - read),
    }


def _chat_model(
    runs: list[dict[str, Any]], agg: dict[str, Any], suite: dict[str, Any]
) -> dict[str, Any] | None:
    """Chat: the highest rate of N processes (from the ramps' CPU at the highest rate both
    redis-1 and redis-2 sustained) and the largest class at the pinned runs' rate (from 9a's
    CPU), each process on its own core, Redis on one."""
    one = _ramp_steps(runs, "redis-chat-max", "redis-1")
    two = _ramp_steps(runs, "redis-chat-max", "redis-2")
    common = sorted(set(one) & set(two))
    if not common:
        return None
    rate = common[-1]
    load = _step_load(one[rate], two[rate])
    if not load.ok():
        return None
    cost = _chat_costs(load, rate)
    pinned_rate = float((suite.get("redis_chat") or {}).get("rate", 50.0))
    ramp = suite.get("redis_chat_max") or {}
    sizes: dict[str, dict[str, float]] = {}
    for shape in _shapes(agg, "redis-chat"):
        slow = _pinned_load(agg, "redis-chat", shape)
        if slow.ok():
            relays, _, per = shape.partition("x")
            sessions = int(relays) * int(per) + 1
            sizes[shape] = {**_chat_costs(slow, pinned_rate), "sessions": sessions}
    rows = []
    for n in EXTRAPOLATE_TO:
        service = 1 / (cost["extra"] + cost["split"] / n)
        redis_cost = cost["store"] + n * cost["read"]
        redis = 1 / redis_cost if redis_cost > 0 else math.inf
        row: dict[str, Any] = {
            "processes": n,
            "service_ceiling_msg_per_s": service,
            "redis_ceiling_msg_per_s": redis,
            "max_msg_per_s": min(service, redis),
            "bound_by": "service processes" if service <= redis else "Redis",
        }
        for shape, c in sizes.items():
            # per process and second: rate x (extra + split x sessions / S0 / n) <= 1
            per_session = c["split"] / c["sessions"]
            row[f"max_sessions_{shape}"] = n * (1 / pinned_rate - c["extra"]) / per_session
        rows.append(row)
    return {
        "rate": rate,
        "sessions": ramp.get("relays", 30) * ramp.get("per", 10) + ramp.get("senders", 2),
        "pinned_rate": pinned_rate,
        "us_per_message": {k: 1e6 * v for k, v in cost.items()},
        "us_per_message_pinned": {
            shape: {k: (1e6 * v if k != "sessions" else v) for k, v in c.items()}
            for shape, c in sizes.items()
        },
        "rows": rows,
    }


def _presence_model(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Presence at 20 Hz: the largest class of N processes, from the ramps' CPU at the sizes
    both redis-1 and redis-2 sustained (see NOTES["extrapolation"])."""
    one = _ramp_steps(runs, "redis-presence-max", "redis-1")
    two = _ramp_steps(runs, "redis-presence-max", "redis-2")
    common = sorted(set(one) & set(two))
    if not common:
        return None
    loads = {size: _step_load(one[size], two[size]) for size in common}
    if not all(load.ok() for load in loads.values()):
        return None
    # one process: u1(S) = a S + b S^2 (least squares; b = 0 with one size)
    points = [(size, load.u1) for size, load in loads.items()]
    if len(points) > 1:
        s2 = sum(x**2 for x, _ in points)
        s3 = sum(x**3 for x, _ in points)
        s4 = sum(x**4 for x, _ in points)
        y1 = sum(x * y for x, y in points)
        y2 = sum(x**2 * y for x, y in points)
        det = s2 * s4 - s3 * s3
        a = (y1 * s4 - y2 * s3) / det
        b = (s2 * y2 - s3 * y1) / det
        if b < 0 or a < 0:  # not convex: linear through the origin
            a, b = y1 / s2, 0.0
    else:
        a, b = points[0][1] / points[0][0], 0.0
    count = len(loads)
    extra = max(0.0, sum((x.u2 - x.u1) / size for size, x in loads.items()) / count)
    read = max(0.0, sum((x.r2 - x.r1) / size for size, x in loads.items()) / count)
    write = max(0.0, sum(x.r1 / size for size, x in loads.items()) / count - read)
    rows = []
    for n in EXTRAPOLATE_TO:
        # per process: (a S + b S^2 - extra S) / n + extra S = 1 core
        lin = max(a - extra, 0.0) / n + extra
        quad = b / n
        if quad > 0:
            service = (-lin + math.sqrt(lin * lin + 4 * quad)) / (2 * quad)
        else:
            service = 1 / lin if lin > 0 else math.inf
        redis_cost = write + n * read
        redis = 1 / redis_cost if redis_cost > 0 else math.inf
        rows.append(
            {
                "processes": n,
                "service_ceiling_members": service,
                "redis_ceiling_members": redis,
                "max_members": min(service, redis),
                "bound_by": "service processes" if service <= redis else "Redis",
            }
        )
    return {
        "sizes": common,
        "calibration_max_share_pct": CALIBRATION_MAX_SHARE,
        "core_per_member": a,
        "core_per_member_squared": b,
        "core_per_member_per_extra_process": extra,
        "redis_core_per_member_written": write,
        "redis_core_per_member_per_reading_process": read,
        "rows": rows,
    }


def redis_figures(
    agg: dict[str, Any], suite: dict[str, Any], runs: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The Redis hop (redis-1 against sqlite-1), two processes against one, the capacity
    ramps' maxima and the extrapolation to more processes."""
    out: dict[str, Any] = {}
    runs = runs or []
    keys = {
        "redis-chat": (
            "cpu_us_per_delivery",
            "redis_us_per_delivery",
            "slowest_p50_ms",
            "slowest_p99_ms",
        ),
        "redis-presence": (
            "cpu_us_per_delivery",
            "redis_us_per_delivery",
            "latency_p50_ms",
            "latency_p99_ms",
        ),
    }
    for scenario, wanted in keys.items():
        for shape in _shapes(agg, scenario):
            out.setdefault("compare", {}).setdefault(scenario, {})[shape] = {
                key: {d: _median(agg, scenario, f"{d}/{shape}", key) for d in DEPLOYMENTS}
                for key in wanted
            }
    for scenario, key in (("redis-chat-max", "max_rate"), ("redis-presence-max", "max_members")):
        if scenario not in agg:
            continue
        best = {d: _median(agg, scenario, d, key) for d in DEPLOYMENTS}
        one = best["sqlite-1"]
        out.setdefault("capacity", {})[scenario] = {
            "max": best,
            "two_processes_over_one_sqlite": best["redis-2"] / one if one else math.nan,
            "two_processes_over_one_redis": best["redis-2"] / best["redis-1"]
            if best["redis-1"]
            else math.nan,
        }
    chat = _chat_model(runs, agg, suite)
    presence = _presence_model(runs)
    if chat or presence:
        out["extrapolation"] = {"chat": chat, "presence": presence}
    return out


def _redis_table(scenario: str, agg: dict[str, Any]) -> list[str]:
    metrics = REDIS_METRICS[scenario]
    rows = agg.get(scenario, {}).items()
    return _render("system", metrics, [_row(_deployment_label(v), e, metrics) for v, e in rows])


def _steps_line(run: dict[str, Any]) -> str:
    """A ramp's steps: ``value: p99 ms`` (``!`` not sustained)."""
    result = run["result"]
    parts = []
    for step in result.get("steps", []):
        value = step.get("rate", step.get("members"))
        p99 = step.get("slowest_p99_ms", step.get("latency_p99_ms"))
        mark = "" if step.get("sustained") else " **x**"
        extra = ""
        if step.get("missing"):
            extra = f", {step['missing']} missing"
        if step.get("stale_after_grace"):
            extra = f", {step['stale_after_grace']} stale"
        parts.append(
            f"{value:g}: {_fmt(p99, 0)} ms, loadgen {_fmt(step['loadgen_cpu_pct'], 0)} %"
            f"{extra}{mark}"
        )
    return f"- {_deployment_label(run['server'])}: " + "; ".join(parts)


def _redis_summary(figures: dict[str, Any], runs: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    compare = figures.get("compare", {})
    for scenario, (cpu, p50, p99) in {
        "redis-chat": ("cpu_us_per_delivery", "slowest_p50_ms", "slowest_p99_ms"),
        "redis-presence": ("cpu_us_per_delivery", "latency_p50_ms", "latency_p99_ms"),
    }.items():
        for shape, row in compare.get(scenario, {}).items():
            c, r = row[cpu], row["redis_us_per_delivery"]
            a, b = row[p50], row[p99]
            lines.append(
                f"- {scenario} {shape}: the Redis hop (1 process, Redis against SQLite): "
                f"service {_fmt(c['sqlite-1'], 1)} -> {_fmt(c['redis-1'], 1)} µs/delivery "
                f"+ Redis {_fmt(r['redis-1'], 2)}; p50 {_fmt(a['sqlite-1'], 1)} -> "
                f"{_fmt(a['redis-1'], 1)} ms, p99 {_fmt(b['sqlite-1'], 1)} -> "
                f"{_fmt(b['redis-1'], 1)} ms. Two processes: service {_fmt(c['redis-2'], 1)} "
                f"µs/delivery (both summed) + Redis {_fmt(r['redis-2'], 2)}; p50/p99 "
                f"{_fmt(a['redis-2'], 1)}/{_fmt(b['redis-2'], 1)} ms"
            )
    for scenario, cap in figures.get("capacity", {}).items():
        best = cap["max"]
        unit = "msg/s" if scenario == "redis-chat-max" else "members"
        lines.append(
            f"- {scenario}: 1 process SQLite {_fmt(best['sqlite-1'], 0)} {unit}, 1 process "
            f"Redis {_fmt(best['redis-1'], 0)}, 2 processes Redis {_fmt(best['redis-2'], 0)} "
            f"({_fmt(cap['two_processes_over_one_sqlite'], 2)}x the single SQLite process) on "
            "this 2-core machine, the load generator and Redis on the same cores"
        )
    for run in runs:
        if run["scenario"] in ("redis-chat-max", "redis-presence-max"):
            lines.append(f"  - {run['scenario']} steps, " + _steps_line(run)[2:])
    return lines


def _extrapolation(figures: dict[str, Any]) -> list[str]:
    models = figures.get("extrapolation") or {}
    lines: list[str] = []
    chat = models.get("chat")
    if chat:
        c = chat["us_per_message"]
        sizes = {
            f"max sessions at {chat['pinned_rate']:g} msg/s ({shape})": f"max_sessions_{shape}"
            for shape in chat["us_per_message_pinned"]
        }
        lines += [
            f"Chat, calibrated on the ramps (10a) at {chat['rate']:g} msg/s (the highest step "
            "redis-1 and redis-2 sustained with each process below 90 % of a core) to "
            f"{chat['sessions']} sessions: per message, one process "
            f"{_fmt(c['whole'], 0)} µs of CPU, each more process +{_fmt(c['extra'], 0)} µs "
            f"(the work every process repeats), Redis {_fmt(c['store'], 1)} µs to store + "
            f"{_fmt(c['read'], 1)} µs per reading process. The class sizes are calibrated on "
            f"9a ({chat['pinned_rate']:g} msg/s, where each message costs more: fewer "
            "messages per wake-up).",
            "",
            *_ceilings(chat["rows"], "msg_per_s", "msg/s", sizes),
            "",
        ]
    presence = models.get("presence")
    if presence:
        lines += [
            "Presence at 20 Hz, calibrated on the ramps (10b) at "
            f"{', '.join(f'{s:g}' for s in presence['sizes'])} members (each process below "
            "90 % of a core): one process's share "
            f"of a core = {presence['core_per_member']:.2e} S + "
            f"{presence['core_per_member_squared']:.2e} S², each more process repeats "
            f"{presence['core_per_member_per_extra_process']:.2e} S; Redis "
            f"{presence['redis_core_per_member_written']:.2e} S + "
            f"{presence['redis_core_per_member_per_reading_process']:.2e} S per process.",
            "",
            *_ceilings(presence["rows"], "members", "members"),
            "",
        ]
    return lines


def _ceilings(
    rows: list[dict[str, Any]], suffix: str, unit: str, more: dict[str, str] | None = None
) -> list[str]:
    """An extrapolation's table: per number of processes, the ceilings of the service
    processes and of Redis (``service_ceiling_<suffix>``, ...), the lower one and what binds;
    ``more``: further columns (heading -> key)."""
    more = more or {}
    keys = [f"service_ceiling_{suffix}", f"redis_ceiling_{suffix}", f"max_{suffix}"]
    header = ["processes", f"service ceiling {unit}", f"Redis ceiling {unit}", f"max {unit}"]
    return _grid(
        [*header, "bound by", *more],
        [
            [
                str(row["processes"]),
                *(_fmt(row[k], 0) for k in keys),
                row["bound_by"],
                *(_fmt(row[k], 0) for k in more.values()),
            ]
            for row in rows
        ],
    )


# -- markdown --------------------------------------------------------------------------------
def _fmt(value: float, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf"
    return f"{value:,.{digits}f}"


def _cell(entry: dict[str, Any], metric: Metric) -> str:
    s = entry.get(metric.key) or {}
    if not s or not s.get("n"):
        return "n/a"
    median = _fmt(s["median"], metric.digits)
    if s["n"] > 1 and s["min"] != s["max"]:
        return f"{median} ({_fmt(s['min'], metric.digits)}-{_fmt(s['max'], metric.digits)})"
    return median


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown table: its header, the delimiter row and a line per row of cells."""
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _runs(entry: dict[str, Any]) -> str:
    """The runs column: how many runs were valid and clean, which ones the cells use, how many
    failed."""
    text = f"{entry['valid_runs']}/{entry['runs']} valid, {entry['clean_runs']} clean"
    if entry["used"] != "clean":
        text += f" (**{entry['used']}**)"
    if entry["errors"]:
        text += f", {len(entry['errors'])} failed"
    return text


Row = tuple[str, list[str], dict[str, Any]]


def _row(label: str, entry: dict[str, Any], metrics: list[Metric]) -> Row:
    """A table row: its label, its cells (one per metric), its entry (for the runs column)."""
    return label, [_cell(entry, m) for m in metrics], entry


def _render(first: str, metrics: list[Metric], rows: list[Row]) -> list[str]:
    """A results table: a first column headed ``first``, one column per metric, the runs
    column; no table without rows."""
    if not rows:
        return []
    header = [first, *(m.label for m in metrics), "runs"]
    return _grid(header, [[label, *cells, _runs(entry)] for label, cells, entry in rows])


def _table(scenario: str, agg: dict[str, Any]) -> list[str]:
    metrics = METRICS.get(scenario) or BROWSER_METRICS[scenario]
    rows = []
    for server in [s for s in SERVERS if s in agg.get(scenario, {})]:
        label, cells, entry = _row(LABELS[server], agg[scenario][server], metrics)
        if scenario == "presence" and server != "ours" and entry.get("below_lowest_step"):
            if cells[0] == "n/a":
                cells[0] = "< lowest step"
        if scenario == "joinstorm" and server != "ours":
            cells[0] = "n/a (no member list)"
        rows.append((label, cells, entry))
    return _render("server", metrics, rows)


def _sections(
    titles: dict[str, str], table: Callable[[str, dict[str, Any]], list[str]], agg: dict[str, Any]
) -> list[str]:
    """A section (title, table, notes) for each scenario with a table."""
    lines: list[str] = []
    for scenario, title in titles.items():
        rows = table(scenario, agg)
        if rows:
            lines += [f"## {title}", "", *rows, "", *NOTES.get(scenario, [])]
    return lines


def _ratio_lines(rows: list[dict[str, Any]]) -> list[str]:
    def show(v: Any) -> str:
        if isinstance(v, str):
            return v
        return _fmt(v, 2) if v is not None else "n/a"

    def ratio(v: Any) -> str:
        return f"{v:.3g}" if isinstance(v, float) else show(v)

    return _grid(
        ["figure", "ours", "B1", "B3", "ours/B1", "ours/B3"],
        [
            [
                row["figure"],
                *map(show, (row["ours"], row["b1"], row["b3"])),
                *map(ratio, (row["ours_over_b1"], row["ours_over_b3"])),
            ]
            for row in rows
        ],
    )


def readme_section(agg: dict[str, Any], info: dict[str, Any], suite: Suite) -> list[str]:
    """A compact table for the README's Performance section."""

    def m(scenario: str, server: str, key: str, digits: int = 1) -> str:
        return _fmt(_median(agg, scenario, server, key), digits)

    def presence(server: str) -> str:
        if server == "ours":
            return (
                f"max {m('presence', 'ours', 'max_sustained_hz', 0)} Hz; at "
                f"{suite.presence.rate:g} Hz {m('presence', 'ours', 'server_cpu_pct', 0)} % "
                f"CPU, state age p50/p99 {m('presence', 'ours', 'latency_p50_ms', 0)}/"
                f"{m('presence', 'ours', 'latency_p99_ms', 0)} ms"
            )
        value = m("presence", server, "max_sustained_hz", 0)
        below = agg.get("presence", {}).get(server, {}).get("below_lowest_step")
        return f"max {value} Hz" if value != "n/a" else ("< 1 Hz" if below else "n/a")

    rows = []
    for server in SERVERS:
        if server not in agg.get("chat", {}) and server not in agg.get("presence", {}):
            continue
        storm = (
            m("joinstorm", server, "all_full_member_list_s", 2)
            if server == "ours"
            else m("joinstorm", server, "all_acked_s", 2) + " (acks only)"
        )
        rows.append(
            [
                LABELS[server],
                m("chat", server, "cpu_us_per_delivery"),
                m("chat", server, "slowest_p99_ms"),
                presence(server),
                m("connections", server, "kb_per_connection"),
                storm,
            ]
        )
    header = [
        "server",
        "chat: CPU µs/delivery",
        "chat: slowest p99 ms",
        f"presence, {suite.presence.members} members: highest rate with p99 <= 1 s",
        "KB/idle connection",
        "join storm s",
    ]
    return [
        f"Measured on {info['cpu_model']} ({info['cores']} cores), server pinned to one core, "
        f"load generator on the other; median of {suite.repetitions} runs "
        f"(`python -m benchmarks.run`).",
        "",
        *_grid(header, rows),
        "",
        *_ratio_lines(ratios(agg)),
    ]


def markdown(report: dict[str, Any]) -> str:
    info = report["machine"]
    agg = report["summary"]
    lines = [
        "# collab-widget benchmarks",
        "",
        f"- run: `{report['command']}` ({report['suite']['name']} suite, "
        f"{report['suite']['repetitions']} repetitions), {report['started']}, "
        f"{report['duration_s']:.0f} s",
        f"- machine: {info['cpu_model']}, {info['cores']} cores, {info['memory_gb']} GB, "
        f"Linux {info['kernel']}, Python {info['python']}, node {info.get('node')}",
        "- versions: "
        + ", ".join(f"{k} {v}" for k, v in info["packages"].items())
        + f", socket.io {info.get('socket.io')}, ws {info.get('ws')}",
        "- servers pinned to core 1 (`taskset -c 1`), load generator to core 0. A run is "
        "**invalid** when the load generator used more than 60 % of its core, **noisy** when "
        "other processes used more than 10 % of either core during its window; **clean** = "
        "valid and not noisy. Cells are median (min-max) over the clean runs, or over the "
        "valid runs when none is clean (marked in the runs column).",
        "",
    ]
    lines += _sections(TITLES, _table, agg)
    lines += _sections(HUB_TITLES, _hub_table, agg)
    hub = _hub_summary(report.get("hub") or hub_figures(agg))
    if hub:
        lines += ["## Class service against the single server", "", *hub, ""]
    lines += _sections(REDIS_TITLES, _redis_table, agg)
    redis = report.get("redis") or redis_figures(
        agg, report.get("suite", {}), report.get("runs", [])
    )
    summary_lines = _redis_summary(redis, report.get("runs", []))
    if summary_lines:
        lines += ["## Several processes: the Redis hop, 1 against 2 processes", ""]
        lines += [*summary_lines, ""]
    extrapolation = _extrapolation(redis)
    if extrapolation:
        lines += ["## Several processes: an extrapolation (a model, not a measurement)", ""]
        lines += [*NOTES["extrapolation"], *extrapolation]
    browser = _sections(BROWSER_TITLES, _table, agg)
    if browser:
        lines += [*browser, *_browser_frames(report.get("runs", []))]
    lines += ["## Ratios", "", *_ratio_lines(report["ratios"]), ""]
    met = {True: "yes", False: "**no**", None: "n/a"}
    targets = [
        [t["target"], _fmt(t["ours"], 2), _fmt(t["threshold"], 2), met[t["met"]]]
        for t in report["targets"]
    ]
    lines += ["## Targets for ours", "", *_grid(["target", "ours", "threshold", "met"], targets)]
    lines += ["", "## For the README (Performance)", "", *report["readme"], ""]
    if report.get("profiles"):
        lines += ["## Profiles of ours (py-spy)", ""]
        for name, text in report["profiles"].items():
            lines += [f"### {name}", "", "```", text.rstrip(), "```", ""]
    return "\n".join(lines) + "\n"


def _browser_frames(runs: list[dict[str, Any]], count: int = 5) -> list[str]:
    """Which builds of the lab extension and Chromium the browser runs used; their longest
    animation frames, with whose scripts ran in them."""
    mine = [run["result"] for run in runs if run["scenario"] == "browser"]
    builds = sorted({str(r.get("labextension")) for r in mine if r.get("labextension")})
    chromium = sorted({str(r.get("chromium")) for r in mine if r.get("chromium")})
    lines = []
    if builds or chromium:
        lines += [
            f"Lab extension build: {', '.join(f'`{b}`' for b in builds) or 'n/a'}; "
            f"{', '.join(chromium) or 'Chromium n/a'}.",
            "",
        ]
    frames = [
        (run["rep"], frame)
        for run in runs
        if run["scenario"] == "browser"
        for frame in run["result"].get("worst_frames") or []
    ]
    frames.sort(key=lambda item: -item[1]["duration_ms"])
    if not frames:
        return lines
    rows = []
    for rep, f in frames[:count]:
        scripts = "; ".join(
            f"{s['url'].rsplit('/', 1)[-1]} {s['invoker'] or s['type']} {s['ms']:g} ms"
            + (f" (forced layout {s['forced_layout_ms']:g})" if s["forced_layout_ms"] else "")
            for s in f["scripts"]
        )
        rows.append(
            [
                str(rep),
                _fmt(f["duration_ms"], 0),
                _fmt(f["ours_script_ms"], 0),
                _fmt(f["other_script_ms"], 0),
                _fmt(f["unattributed_ms"], 0),
                scripts or "(no script listed)",
            ]
        )
    header = ["rep", "frame ms", "our scripts ms", "other scripts ms", "rest ms", "scripts"]
    return [*lines, "The longest frames:", "", *_grid(header, rows), ""]


NOTES = {
    "chat": [
        "Slowest = per message, the latency at the last receiver to get it; CPU per delivery "
        "= server CPU time / frames the receivers got in the window.",
        "",
    ],
    "presence": [
        "ours coalesces (one batch per member per tick): state age = receipt time minus the "
        "send time of the state a probe sees. The baselines relay every update: a ramp of "
        "rates per member, the highest step whose p99 (missing updates counted as late) "
        "stays <= 1 s.",
        "",
    ],
    "hub-chat": [
        "The service (`benchmarks/hubservice.py`: the real class service, with a stub Hub API) "
        "and relays simulated by the load generator: RxS = R relays (users) of S sessions, "
        "one more relay for the sender's session. Scenario 1's load (one sender, same rate). "
        "A delivery is a session a `to` frame is for (one frame for 10 sessions is 10); "
        "latency is at the relay (what the relay's own writes to browsers add is in section "
        "8). The single-server row is scenario 1 of the same run.",
        "",
    ],
    "hub-presence": [
        "Scenario 2's load (every member at the same rate) with members behind simulated "
        "relays; each update is an `ev` without an acknowledgement, as in scenario 2 (a real "
        "relay asks one for every event; its round trip is in section 8). A "
        "delivery is one session's batch. The single-server row is scenario 2 of the same "
        "run (its deliveries = frames).",
        "",
    ],
    "hub-hop": [
        "A Jupyter server with `clients` + 1 clients of its owner in one room, one of them "
        "sending: in relay mode (`COLLAB_SERVICE_URL`, the service on the same core) each "
        "message goes sender -> server -> service -> server -> receivers; without it, the "
        "same server keeps the room. Latency at the slowest receiver per message; CPU per "
        "delivery over both processes.",
        "",
    ],
    "redis-chat": [
        "Scenario 6's load (one sender, 50 msg/s) at three deployments of the class service: "
        "one process with SQLite (as scenario 6), one with Redis (`redis_url`: the Redis hop "
        "alone), two with Redis sharing the room (relays alternate between them; the "
        "sender's on the first). Service processes pinned to core 1 (two processes share "
        "it: this measures CPU cost, not parallel throughput; see 10a), Redis and the load "
        "generator on core 0 (a run is invalid when both together use more than 90 % of "
        "it). Service CPU = all service processes summed (`/proc/<pid>/stat`); Redis CPU = "
        "redis-server's own, all threads (`INFO cpu`, to the µs: `/proc`'s 10 ms ticks, "
        "kept in the JSON, are too coarse for its few %). Redis: `appendonly yes`, "
        "`appendfsync everysec`, as docs/deploy.md asks. Latency at the slowest relay per "
        "message; 'other process' = the slowest relay of the process without the sender.",
        "",
    ],
    "redis-presence": [
        "Scenario 7's load (every member at 20 Hz), at a class size one process keeps up "
        "with on its core, at the same three deployments, pinned as 9a. Probes: the last two "
        "relays (one on each process with two); a state from a member on the other process "
        "goes through its process's coalesced flush (every 50 ms) into Redis, then this "
        "process's next 20 Hz tick, so its age is up to ~100 ms by design.",
        "",
    ],
    "redis-chat-max": [
        "Capacity: nothing pinned, the service processes, Redis and the load generator share "
        "both cores (the load generator's share at the highest step is in the table: work the "
        "service processes could otherwise have had). A ramp of chat rates to 300 sessions "
        "(30 relays x 10) from two senders taking turns (one on each process with two: in a "
        "class, senders are spread), each step 3 s after 1 s at the same rate; sustained: "
        "slowest-relay p99 <= 100 ms and every message delivered. The figure is the highest "
        "sustained step (within the ramp's resolution). Order is checked by `seq` per relay.",
        "",
    ],
    "redis-presence-max": [
        "Capacity, unpinned as 10a: a ramp of class sizes (10 sessions a relay, relays "
        "added between steps, alternating between processes), every member at 20 Hz; "
        "sustained: state age p99 <= 250 ms at the probes and no probe stale after 1 s. "
        "(With two processes, a state from the other process is up to ~100 ms old by "
        "design: two 50 ms intervals.)",
        "",
    ],
    "extrapolation": [
        "Assumptions (stated, not measured): one core per service process and one for Redis "
        "(single-threaded), nothing else on them; a process is full at 100 % of its core; "
        "costs as measured: the CPU of redis-1 and redis-2 at the same step of the ramps "
        "(10a/10b: near capacity; their CPU is CPU time, though on shared cores). What two "
        "processes cost more than one is work each process repeats (its stream reader, "
        "encoding each message or presence state once, merging the others' presence); the "
        "rest is split between the processes, as when senders and members are spread over "
        "them. Redis: a cost per message stored (or presence state written) and one per "
        "reading process. Presence fan-out is fitted as a S + b S² on one process. Redis "
        "and the readers batch more per call at higher rates, so the per-message costs are "
        "upper bounds there; at low rates (9a) each message costs more.",
        "",
    ],
    "browser": [
        "ours serving JupyterLab (server and the notebook's kernel on core 1); one headless "
        "Chromium tab (Debian's, 1280x1000, started by the load generator, so on core 0 with "
        "it) with a notebook of 40 code cells (4 lines each) open and its `Room` shown; the "
        "other members (scenario 2's load generator members) move their cursors in that "
        "notebook (real cell ids, a line and column inside the cell, mode edit, activity "
        "active; a new position on every update) at 20 Hz. Measured in the window after the "
        "warm-up: busy = the tab's main thread task time (CDP `Performance.getMetrics` "
        "`TaskDuration`) / wall time (on a shared core it includes waiting for the CPU: the "
        "main thread's own CPU time from `/proc` is the 'main thread CPU' column); 'nobody "
        "moving' is the same tab in the same full room for 2 s before the load, once done with the "
        "joins (busy < 10 % over 0.5 s, at most 20 s); long tasks from a `longtask` "
        "PerformanceObserver; frames from `long-animation-frame` entries (over 50 ms), a "
        "frame 'with our scripts' when a script of our extension (`sourceURL` under "
        "`lab/extensions/collab-widget/`, socket.io-client included) is listed in it (the "
        "browser lists scripts of >= 5 ms, by entry point: work our code causes in "
        "JupyterLab's own rAF callbacks, e.g. CodeMirror measuring the carets, counts as "
        "others'). Presence batches = `presence` events the tab's socket received per "
        "second. Chromium CPU = all its processes and Playwright's driver, which are not "
        "counted as other processes; a window with core 0 over 90 % busy is noisy (the "
        "tab waited for the CPU).",
        "",
    ],
    "joinstorm": [
        "The baselines keep no member list: their first column is n/a; the acks column is "
        "comparable.",
        "",
    ],
    "stall": [
        "One more receiver (small receive buffer) stops reading after the 'before' phase; "
        "the other receivers' p99 and the server's RSS are compared across the phases. The "
        "backlog column is what the server owes the stalled client by the end.",
        "",
    ],
}


def write(report: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    (out_dir / "results.md").write_text(markdown(report))


def main(argv: list[str] | None = None) -> int:
    """Rewrite results.md (and the derived parts of results.json) from a results.json."""
    import argparse
    import dataclasses

    from .config import FULL, QUICK

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("results", type=Path, help="a results.json")
    args = parser.parse_args(argv)
    data = json.loads(args.results.read_text())
    base = QUICK if data["suite"]["name"] == "quick" else FULL
    suite = dataclasses.replace(base, repetitions=data["suite"]["repetitions"])
    data["summary"] = aggregate(data["runs"])
    data["ratios"] = ratios(data["summary"])
    data["hub"] = hub_figures(data["summary"])
    data["redis"] = redis_figures(data["summary"], data["suite"], data["runs"])
    data["targets"] = targets(data["summary"])
    data["readme"] = readme_section(data["summary"], data["machine"], suite)
    write(data, args.results.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
