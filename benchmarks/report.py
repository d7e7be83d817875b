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
    key: str
    label: str
    lower_is_better: bool = True
    digits: int = 1


METRICS: dict[str, list[Metric]] = {
    "chat": [
        Metric("cpu_us_per_delivery", "CPU µs/delivery"),
        Metric("server_cpu_pct", "server CPU %", digits=0),
        Metric("deliveries_per_s", "deliveries/s", False, 0),
        Metric("slowest_p50_ms", "slowest p50 ms"),
        Metric("slowest_p99_ms", "slowest p99 ms"),
        Metric("slowest_max_ms", "slowest max ms"),
        Metric("lost", "lost", digits=0),
        Metric("out_of_order", "out of order", digits=0),
        Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0),
    ],
    "presence": [
        Metric("max_sustained_hz", "max rate/member Hz (p99 <= 1 s)", False, 0),
        Metric("server_cpu_pct", "server CPU %", digits=0),
        Metric("latency_p50_ms", "state age p50 ms"),
        Metric("latency_p99_ms", "state age p99 ms"),
        Metric("frames_per_s", "frames/s sent", False, 0),
        Metric("mb_per_s", "MB/s sent", False, 1),
        Metric("rss_mb_max", "RSS max MB"),
        Metric("rss_slope_kb_per_s", "RSS slope KB/s"),
        Metric("stale_at_end", "stale at end", digits=0),
        Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0),
    ],
    "connections": [
        Metric("kb_per_connection", "KB/connection"),
        Metric("rss_mb_before", "RSS before MB"),
        Metric("rss_mb_after", "RSS after MB"),
        Metric("connect_s", "connect s", digits=2),
        Metric("join_s", "join s", digits=2),
        Metric("idle_cpu_pct", "idle CPU %", digits=1),
        Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0),
    ],
    "joinstorm": [
        Metric("all_full_member_list_s", "all have full member list s", digits=2),
        Metric("all_acked_s", "all joins acked s", digits=2),
        Metric("server_cpu_s", "server CPU s", digits=2),
        Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0),
    ],
    "stall": [
        Metric("p99_before_ms", "others' p99 before ms"),
        Metric("p99_during_ms", "others' p99 stalled ms"),
        Metric("rss_slope_before_kb_per_s", "RSS slope before KB/s"),
        Metric("rss_growth_during_mb", "RSS growth stalled MB", digits=2),
        Metric("rss_slope_during_kb_per_s", "RSS slope stalled KB/s"),
        Metric("stalled_backlog_kb", "backlog owed to stalled KB", digits=0),
        Metric("lost", "lost (others)", digits=0),
        Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0),
    ],
}

# The class service scenarios (their rows: shapes of relays, or single/relay).
HUB_METRICS: dict[str, list[Metric]] = {
    "hub-chat": [
        Metric("cpu_us_per_delivery", "CPU µs/delivery"),
        Metric("server_cpu_pct", "CPU %", digits=0),
        Metric("deliveries_per_s", "deliveries/s", False, 0),
        Metric("relay_frames_per_s", "frames/s sent", False, 0),
        Metric("slowest_p50_ms", "slowest p50 ms"),
        Metric("slowest_p99_ms", "slowest p99 ms"),
        Metric("slowest_max_ms", "slowest max ms"),
        Metric("lost", "lost", digits=0),
        Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0),
    ],
    "hub-presence": [
        Metric("cpu_us_per_delivery", "CPU µs/delivery"),
        Metric("server_cpu_pct", "CPU %", digits=0),
        Metric("deliveries_per_s", "deliveries/s", False, 0),
        Metric("relay_frames_per_s", "frames/s sent", False, 0),
        Metric("mb_per_s", "MB/s sent", False, 1),
        Metric("latency_p50_ms", "state age p50 ms"),
        Metric("latency_p99_ms", "state age p99 ms"),
        Metric("stale_at_end", "stale at end", digits=0),
        Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0),
    ],
    "hub-hop": [
        Metric("slowest_p50_ms", "slowest p50 ms"),
        Metric("slowest_p99_ms", "slowest p99 ms"),
        Metric("slowest_max_ms", "slowest max ms"),
        Metric("cpu_us_per_delivery", "CPU µs/delivery (all processes)"),
        Metric("jupyter_cpu_pct", "Jupyter server CPU %", digits=0),
        Metric("service_cpu_pct", "service CPU %", digits=0),
        Metric("lost", "lost", digits=0),
        Metric("loadgen_cpu_pct", "loadgen CPU %", digits=0),
    ],
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
    for scenario, metrics in {**METRICS, **HUB_METRICS}.items():
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


def targets(agg: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets for ours, met or not."""

    def get(scenario: str, key: str, server: str = "ours") -> float:
        return _median(agg, scenario, server, key)

    checks: list[tuple[str, float, float, Callable[[float, float], bool]]] = [
        (
            "chat CPU/delivery <= B3 (same run), µs",
            get("chat", "cpu_us_per_delivery"),
            get("chat", "cpu_us_per_delivery", "b3"),
            lambda v, t: v <= t,
        ),
        ("chat slowest p99 <= 20 ms", get("chat", "slowest_p99_ms"), 20.0, lambda v, t: v <= t),
        (
            "presence server CPU <= 60 %",
            get("presence", "server_cpu_pct"),
            60.0,
            lambda v, t: v <= t,
        ),
        ("presence p50 <= 35 ms", get("presence", "latency_p50_ms"), 35.0, lambda v, t: v <= t),
        ("presence p99 <= 80 ms", get("presence", "latency_p99_ms"), 80.0, lambda v, t: v <= t),
        (
            "<= 50 KB per idle connection",
            get("connections", "kb_per_connection"),
            50.0,
            lambda v, t: v <= t,
        ),
        (
            "join storm: full member list <= 2 s",
            get("joinstorm", "all_full_member_list_s"),
            2.0,
            lambda v, t: v <= t,
        ),
    ]
    out = []
    for label, value, target, ok in checks:
        met = None if math.isnan(value) or math.isnan(target) else ok(value, target)
        out.append({"target": label, "ours": value, "threshold": target, "met": met})
    return out


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
    lines = [
        "| system | " + " | ".join(m.label for m in metrics) + " | runs |",
        "|---|" + "---|" * (len(metrics) + 1),
    ]

    def runs(entry: dict[str, Any]) -> str:
        text = f"{entry['valid_runs']}/{entry['runs']} valid, {entry['clean_runs']} clean"
        if entry["used"] != "clean":
            text += f" (**{entry['used']}**)"
        if entry["errors"]:
            text += f", {len(entry['errors'])} failed"
        return text

    if single:
        label = f"ours, single server (scenario {reference}, same run)"
        cells = [_cell(single, m) for m in metrics]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {runs(single)} |")
    for variant, entry in rows.items():
        label = _hub_label(variant)
        cells = [_cell(entry, m) for m in metrics]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {runs(entry)} |")
    return lines


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


def _table(scenario: str, agg: dict[str, Any]) -> list[str]:
    servers = [s for s in SERVERS if s in agg.get(scenario, {})]
    if not servers:
        return []
    metrics = METRICS[scenario]
    lines = [
        "| server | " + " | ".join(m.label for m in metrics) + " | runs |",
        "|---|" + "---|" * (len(metrics) + 1),
    ]
    for server in servers:
        entry = agg[scenario][server]
        cells = [_cell(entry, m) for m in metrics]
        if scenario == "presence" and server != "ours" and entry.get("below_lowest_step"):
            if cells[0] == "n/a":
                cells[0] = "< lowest step"
        if scenario == "joinstorm" and server != "ours":
            cells[0] = "n/a (no member list)"
        valid = f"{entry['valid_runs']}/{entry['runs']} valid, {entry['clean_runs']} clean"
        if entry["used"] != "clean":
            valid += f" (**{entry['used']}**)"
        if entry["errors"]:
            valid += f", {len(entry['errors'])} failed"
        lines.append(f"| {LABELS[server]} | " + " | ".join(cells) + f" | {valid} |")
    return lines


def _ratio_lines(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["| figure | ours | B1 | B3 | ours/B1 | ours/B3 |", "|---|---|---|---|---|---|"]
    for row in rows:

        def show(v: Any) -> str:
            if isinstance(v, str):
                return v
            return _fmt(v, 2) if v is not None else "n/a"

        def ratio(v: Any) -> str:
            return f"{v:.3g}" if isinstance(v, float) else show(v)

        lines.append(
            f"| {row['figure']} | {show(row['ours'])} | {show(row['b1'])} | {show(row['b3'])} "
            f"| {ratio(row['ours_over_b1'])} | {ratio(row['ours_over_b3'])} |"
        )
    return lines


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

    lines = [
        f"Measured on {info['cpu_model']} ({info['cores']} cores), server pinned to one core, "
        f"load generator on the other; median of {suite.repetitions} runs "
        f"(`python -m benchmarks.run`).",
        "",
        f"| server | chat: CPU µs/delivery | chat: slowest p99 ms | presence, "
        f"{suite.presence.members} members: highest rate with p99 <= 1 s | "
        f"KB/idle connection | join storm s |",
        "|---|---|---|---|---|---|",
    ]
    for server in SERVERS:
        if server not in agg.get("chat", {}) and server not in agg.get("presence", {}):
            continue
        storm = (
            m("joinstorm", server, "all_full_member_list_s", 2)
            if server == "ours"
            else m("joinstorm", server, "all_acked_s", 2) + " (acks only)"
        )
        lines.append(
            f"| {LABELS[server]} | {m('chat', server, 'cpu_us_per_delivery')} | "
            f"{m('chat', server, 'slowest_p99_ms')} | {presence(server)} | "
            f"{m('connections', server, 'kb_per_connection')} | {storm} |"
        )
    return [*lines, "", *_ratio_lines(ratios(agg))]


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
    for scenario, title in TITLES.items():
        table = _table(scenario, agg) if scenario in agg else []
        if table:
            lines += [f"## {title}", "", *table, ""]
            lines += NOTES.get(scenario, [])
    for scenario, title in HUB_TITLES.items():
        table = _hub_table(scenario, agg)
        if table:
            lines += [f"## {title}", "", *table, ""]
            lines += NOTES.get(scenario, [])
    hub = _hub_summary(report.get("hub") or hub_figures(agg))
    if hub:
        lines += ["## Class service against the single server", "", *hub, ""]
    lines += ["## Ratios", "", *_ratio_lines(report["ratios"]), ""]
    lines += ["## Targets for ours", "", "| target | ours | threshold | met |", "|---|---|---|---|"]
    for t in report["targets"]:
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        lines.append(
            f"| {t['target']} | {_fmt(t['ours'], 2)} | {_fmt(t['threshold'], 2)} | {met} |"
        )
    lines += ["", "## For the README (Performance)", "", *report["readme"], ""]
    if report.get("profiles"):
        lines += ["## Profiles of ours (py-spy)", ""]
        for name, text in report["profiles"].items():
            lines += [f"### {name}", "", "```", text.rstrip(), "```", ""]
    return "\n".join(lines) + "\n"


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
    data["targets"] = targets(data["summary"])
    data["readme"] = readme_section(data["summary"], data["machine"], suite)
    write(data, args.results.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
