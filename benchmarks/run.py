"""Run the benchmark suite: every scenario, every server, several repetitions.

    python -m benchmarks.run                 # the full suite, 3 repetitions
    python -m benchmarks.run --quick         # short runs, 1 repetition, servers reused
    python -m benchmarks.run --scenario chat --servers ours,b3 --reps 1
    python -m benchmarks.run --profile-only  # py-spy profiles of ours only
    python -m benchmarks.run --quick --scenario hub-chat hub-presence hub-hop --servers ours

Each server runs in its own process pinned to core 1, the load generator (one process per
run) on core 0, and this runner also on core 0 (it only waits). The full suite starts a
fresh server for every run; --quick starts each server once per repetition and runs all
scenarios against it. Results: results.md and results.json in benchmarks/results/ for a
full run of everything, otherwise (and the raw per-run files) under benchmarks/results/raw/.

The class service scenarios (hub-chat, hub-presence, hub-hop) run when ``ours`` is among the
servers, always with fresh processes per run, after the others; hub-chat and hub-presence
are compared with ours' chat and presence of the same session, which are added (for ours
only) when not asked for.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import profiling, report, servers
from .config import (
    BROWSER_SCENARIOS,
    FULL,
    HUB_SCENARIOS,
    LOADGEN_CORE,
    OURS_SCENARIOS,
    QUICK,
    REDIS_SCENARIOS,
    SCENARIOS,
    SERVER_CORE,
    SERVERS,
    Suite,
)
from .loadgen import HARD_LIMIT_S, raise_fd_limit
from .procstat import core_busy
from .scenarios import COMBINED
from .scenarios import browser as browser_tab
from .scenarios.hub import shape_name
from .scenarios.scaleout import parse_variant

RESULTS = servers.BENCH / "results"
QUIET_SHARE = 0.10
# Scenarios profiled with --profile, and for how long (within their measurement window).
PROFILED = {"chat": 20, "presence": 12, "joinstorm": 10}
REUSED_ORDER = ("connections", "joinstorm", "chat", COMBINED, "stall", "presence")
# The single-server scenario each class service scenario is compared with.
HUB_REFERENCE = report.HUB_REFERENCE


class Quiet:
    """Waits before each run until the machine is idle (both cores below 10 % busy), at most
    ``per_run`` seconds each time and ``budget`` seconds in all."""

    def __init__(self, per_run: float, budget: float, sample: float) -> None:
        self.per_run = per_run
        self.budget = budget
        self.sample = sample

    def wait(self) -> float:
        """Returns the busiest core's share over the last sample."""
        started = time.monotonic()
        deadline = started + min(self.per_run, self.budget)
        while True:
            a = core_busy()
            time.sleep(self.sample)
            b = core_busy()
            busiest = max(b[c] - a[c] for c in b) / self.sample
            if busiest < QUIET_SHARE or time.monotonic() >= deadline:
                break
        self.budget = max(0.0, self.budget - (time.monotonic() - started))
        return busiest


def start_loadgen(
    server: servers.Server,
    scenario: str,
    suite: Suite,
    out: Path,
    mark: Path | None = None,
    cores: str = str(LOADGEN_CORE),
) -> subprocess.Popen[bytes]:
    env = {**os.environ}
    if mark is not None:
        env["BENCH_WINDOW_MARK"] = str(mark)
    cmd = [
        "taskset",
        "-c",
        cores,
        sys.executable,
        "-m",
        "benchmarks.loadgen",
        "--scenario",
        scenario,
        "--suite",
        suite.name,
        "--target",
        json.dumps(server.target.as_dict()),
        "--out",
        str(out),
    ]
    return subprocess.Popen(cmd, cwd=servers.ROOT, env=env)


def run_loadgen(
    server: servers.Server,
    scenario: str,
    suite: Suite,
    out: Path,
    cores: str = str(LOADGEN_CORE),
) -> dict[str, Any]:
    """Run the load generator once against a running server; its result."""
    loadgen = start_loadgen(server, scenario, suite, out, cores=cores)
    try:
        loadgen.wait(HARD_LIMIT_S + 60)
    except subprocess.TimeoutExpired:
        loadgen.kill()
        loadgen.wait()
    try:
        result: dict[str, Any] = json.loads(out.read_text())
    except (OSError, json.JSONDecodeError):
        result = {
            "error": "the load generator wrote no result",
            "valid": False,
            "invalid_reasons": ["no result"],
        }
    if server.process.poll() is not None:
        result.setdefault("error", "the server died during the run")
        result["valid"] = False
    if result.get("error"):
        result["server_log_tail"] = server.log_tail(15)
    return result


def failed(error: Exception) -> dict[str, Any]:
    return {"error": str(error), "valid": False, "invalid_reasons": ["the server did not start"]}


def profile(scenario: str, suite: Suite, raw_dir: Path, seconds: int) -> str:
    """Run ``scenario`` against ours once and profile ours with py-spy during its window."""
    mark = raw_dir / f"profile-{scenario}.mark"
    mark.unlink(missing_ok=True)
    try:
        server = servers.start("ours", raw_dir / "logs" / f"profile-{scenario}")
    except Exception as error:
        return f"profiling {scenario} failed: {error}"
    loadgen = start_loadgen(server, scenario, suite, raw_dir / f"profile-{scenario}.json", mark)
    svg = RESULTS / f"profile-{scenario}.svg"
    raw = raw_dir / f"profile-{scenario}.txt"
    try:
        deadline = time.monotonic() + 120
        while not mark.exists() and loadgen.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        samplers = profiling.start(server.target.pid, seconds, svg, raw)
        for sampler in samplers:
            sampler.wait(seconds + 30)
        loadgen.wait(HARD_LIMIT_S)
    finally:
        if loadgen.poll() is None:
            loadgen.kill()
        server.stop()
    if not raw.exists():
        return f"py-spy wrote nothing for {scenario}"
    text = profiling.summarise(raw).text(f"ours, {scenario}, {seconds} s")
    (RESULTS / f"profile-{scenario}.txt").write_text(text)
    return text


class Session:
    """One benchmark session: runs, progress lines, where the raw files go."""

    def __init__(self, suite: Suite, raw_dir: Path, quiet: Quiet) -> None:
        self.suite = suite
        self.raw_dir = raw_dir
        self.quiet = quiet
        self.runs: list[dict[str, Any]] = []

    def record(
        self, scenario: str, name: str, rep: int, result: dict[str, Any], busy: float, took: float
    ) -> None:
        if scenario == COMBINED:
            for part in ("chat", "stall"):
                self.record(part, name, rep, _part(result, part), busy, took)
            return
        result["machine_busy_before_pct"] = round(100 * busy, 1)
        self.runs.append(
            {
                "scenario": scenario,
                "server": name,
                "rep": rep,
                "took_s": round(took, 1),
                "result": result,
            }
        )
        print(_progress(scenario, name, rep, result, took), flush=True)

    def _clean(self, scenario: str, name: str) -> bool:
        return any(
            r["result"].get("valid") and not r["result"].get("noisy")
            for r in self.runs
            if r["scenario"] == scenario and r["server"] == name
        )

    def _took(self, scenario: str, name: str) -> float:
        took = [r["took_s"] for r in self.runs if r["scenario"] == scenario and r["server"] == name]
        return max(took, default=60.0)

    def _one(self, scenario: str, name: str, rep: int) -> None:
        """One run against a fresh process of the server ``name``."""

        def start(logs: Path, started: list[servers.Server]) -> servers.Server:
            started.append(servers.start(name, logs))
            return started[0]

        self._system(scenario, name, rep, start)

    def _system(
        self,
        scenario: str,
        variant: str,
        rep: int,
        start: Callable[[Path, list[servers.Server]], servers.Server],
        cores: str = str(LOADGEN_CORE),
        log_tails: bool = False,
    ) -> None:
        """One run of the load generator (on ``cores``) against the processes that
        ``start(logs, started)`` starts: it appends each to ``started`` as it starts and
        returns the one to target. All of them are stopped after the run, or after a failed
        start; the run fails when one of them died. ``log_tails``: a failed run keeps the
        end of every process's log."""
        busy = self.quiet.wait()
        t0 = time.monotonic()
        tag = f"{scenario}-{variant.replace('/', '-')}-{rep}"
        started: list[servers.Server] = []
        try:
            server = start(self.raw_dir / "logs" / tag, started)
        except Exception as error:
            for process in reversed(started):
                process.stop()
            self.record(scenario, variant, rep, failed(error), busy, 0.0)
            return
        try:
            out = self.raw_dir / f"{tag}.json"
            result = run_loadgen(server, scenario, self.suite, out, cores)
            dead = [s.name for s in started if s.process.poll() is not None]
            if dead:
                result.setdefault("error", f"died during the run: {', '.join(dead)}")
                result["valid"] = False
            if log_tails and result.get("error"):
                result["logs_tail"] = {s.name: s.log_tail(10) for s in started}
        finally:
            for process in reversed(started):
                process.stop()
        self.record(scenario, variant, rep, result, busy, time.monotonic() - t0)

    def hub_variants(self, scenario: str) -> list[str]:
        """What one class service scenario runs: its shapes of relays, or single/relay."""
        if scenario == "hub-hop":
            variants = ["single", "relay"]
        else:
            params = self.suite.hub_chat if scenario == "hub-chat" else self.suite.hub_presence
            variants = [shape_name(relays, per) for relays, per in params.shapes]
        return variants

    def hub(self, scenarios: list[str]) -> None:
        """The class service scenarios: fresh processes for every run."""
        for scenario in scenarios:
            for rep in range(self.suite.repetitions):
                for variant in _rotate(self.hub_variants(scenario), rep):
                    self._hub_one(scenario, variant, rep)

    def _hub_one(self, scenario: str, variant: str, rep: int) -> None:
        """One run: the class service; for hub-hop, a Jupyter server relaying to it (or,
        ``single``, keeping its rooms itself)."""

        def start(logs: Path, started: list[servers.Server]) -> servers.Server:
            if scenario != "hub-hop":
                started.append(servers.start_hub_service(logs))
                server = started[0]
                server.target = dataclasses.replace(server.target, variant=variant)
                return server
            service = None
            if variant == "relay":
                service = servers.start_hub_service(logs)
                started.append(service)
            server = servers.start_owner_server(logs, service)
            started.append(server)
            pids = (service.target.pid,) if service is not None else ()
            server.target = dataclasses.replace(server.target, variant=variant, pids=pids)
            return server

        self._system(scenario, variant, rep, start)

    def browser(self, scenarios: list[str]) -> None:
        """The browser tab (ours only): a fresh JupyterLab server for every run (in --quick
        too); the load generator starts Chromium (so it runs on the load generator's core)."""
        why = browser_tab.missing()
        for scenario in scenarios:
            for rep in range(self.suite.repetitions):
                if why is not None:
                    error = {"error": why, "valid": False, "invalid_reasons": [why]}
                    self.record(scenario, "ours", rep, error, 0.0, 0.0)
                    continue

                def start(logs: Path, started: list[servers.Server]) -> servers.Server:
                    started.append(browser_tab.start_lab(logs, self.suite.browser))
                    return started[0]

                self._system(scenario, "ours", rep, start)

    def redis_variants(self, scenario: str) -> list[str]:
        """What one Redis scenario runs: deployments (x shapes for the pinned ones)."""
        p: Any = getattr(self.suite, scenario.replace("-", "_"))
        if scenario.endswith("-max"):
            return list(p.deployments)
        return [f"{d}/{shape_name(*s)}" for s in p.shapes for d in p.deployments]

    def redis(self, scenarios: list[str]) -> None:
        """Several service processes through Redis: fresh processes (and a fresh Redis) for
        every run. The capacity ramps run once per session."""
        for scenario in scenarios:
            reps = 1 if scenario.endswith("-max") else self.suite.repetitions
            for rep in range(reps):
                for variant in _rotate(self.redis_variants(scenario), rep):
                    self._redis_one(scenario, variant, rep)

    def _redis_one(self, scenario: str, variant: str, rep: int) -> None:
        """One run: Redis (unless ``sqlite-1``), the service processes and the load
        generator; pinned (services on core 1, Redis and the load generator on core 0) or,
        for the capacity ramps, all of them on every core."""
        pinned = not scenario.endswith("-max")
        every = f"0-{(os.cpu_count() or 2) - 1}"
        service_cores = str(SERVER_CORE) if pinned else every
        other_cores = str(LOADGEN_CORE) if pinned else every
        backend, processes, _shape = parse_variant(variant)

        def start(logs: Path, started: list[servers.Server]) -> servers.Server:
            url = None
            if backend == "redis":
                redis = servers.start_redis(logs, other_cores)
                started.append(redis)
                url = redis.target.path
            for i in range(processes):
                started.append(
                    servers.start_hub_service(
                        logs,
                        redis_url=url,
                        cores=service_cores,
                        name=f"hub-service-{i}",
                        settings=None if pinned else servers.RAMP_SETTINGS,
                    )
                )
            services = [s for s in started if s.name.startswith("hub-service")]
            server = services[0]
            server.target = dataclasses.replace(
                server.target,
                variant=variant,
                pids=tuple(s.target.pid for s in services[1:]),
                ports=tuple(s.target.port for s in services),
                redis_pid=started[0].target.pid if url else 0,
                redis_port=started[0].target.port if url else 0,
            )
            return server

        self._system(scenario, variant, rep, start, other_cores, log_tails=True)

    def retry_noisy(self, planned: list[str], names: list[str], budget: float) -> None:
        """Run once more (while ``budget`` seconds last) each server and scenario that has
        no clean run yet: other processes disturbed all of its runs."""
        deadline = time.monotonic() + budget
        for scenario in planned:
            part = "chat" if scenario == COMBINED else scenario
            for name in names:
                if self._clean(part, name):
                    continue
                if time.monotonic() + self._took(part, name) > deadline:
                    continue
                self._one(scenario, name, self.suite.repetitions)

    def fresh(self, scenarios: list[str], names: list[str]) -> None:
        """Full suite: a fresh server process for every run."""
        for scenario in scenarios:
            for rep in range(self.suite.repetitions):
                for name in _rotate(names, rep):
                    self._one(scenario, name, rep)

    def reused(self, scenarios: list[str], names: list[str]) -> None:
        """Quick suite: one server process per server and repetition, all scenarios on it
        (connections first, while the server's memory is fresh)."""
        scenarios = sorted(scenarios, key=REUSED_ORDER.index)
        for rep in range(self.suite.repetitions):
            for name in _rotate(names, rep):
                try:
                    server = servers.start(name, self.raw_dir / "logs" / f"{name}-{rep}")
                except Exception as error:
                    for scenario in scenarios:
                        self.record(scenario, name, rep, failed(error), 0.0, 0.0)
                    continue
                try:
                    for scenario in scenarios:
                        busy = self.quiet.wait()
                        t0 = time.monotonic()
                        out = self.raw_dir / f"{scenario}-{name}-{rep}.json"
                        result = run_loadgen(server, scenario, self.suite, out)
                        self.record(scenario, name, rep, result, busy, time.monotonic() - t0)
                        if server.process.poll() is not None:
                            break
                finally:
                    server.stop()


def _part(result: dict[str, Any], part: str) -> dict[str, Any]:
    """One scenario's result out of a combined run (an error applies to both)."""
    if part not in result:
        return dict(result)
    extra = {k: v for k, v in result.items() if k not in ("chat", "stall")}
    return {**result[part], **extra}


def plan(scenarios: list[str]) -> list[str]:
    """The load generator runs: chat and stall together share one run."""
    if "chat" in scenarios and "stall" in scenarios:
        return [COMBINED if s == "chat" else s for s in scenarios if s != "stall"]
    return scenarios


def _rotate(names: list[str], rep: int) -> list[str]:
    shift = rep % len(names)
    return names[shift:] + names[:shift]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short runs, 1 repetition, one server process for all scenarios",
    )
    parser.add_argument(
        "--scenario",
        nargs="+",
        choices=SCENARIOS + OURS_SCENARIOS + HUB_SCENARIOS + BROWSER_SCENARIOS + REDIS_SCENARIOS,
        default=list(SCENARIOS + OURS_SCENARIOS + HUB_SCENARIOS + BROWSER_SCENARIOS),
        help="the class service scenarios (hub-*, redis-*) and browser run only with ours; "
        "redis-* (several service processes through Redis) only when named",
    )
    parser.add_argument(
        "--servers",
        default=",".join(SERVERS),
        help=f"comma-separated subset of {','.join(SERVERS)}",
    )
    parser.add_argument("--reps", type=int, help="repetitions (default: 3, quick: 1)")
    parser.add_argument("--out", type=Path, help="where results.md/json go")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="also profile ours with py-spy (chat, presence, joinstorm)",
    )
    parser.add_argument("--profile-only", action="store_true", help="only profile ours")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=10.0,
        help="seconds to wait at most for an idle machine before each run",
    )
    parser.add_argument(
        "--quiet-budget",
        type=float,
        help="seconds to wait at most for an idle machine in all (default 60, quick: 20)",
    )
    parser.add_argument(
        "--retry-budget",
        type=float,
        default=120.0,
        help="seconds for re-running servers/scenarios without a clean run",
    )
    args = parser.parse_args(argv)

    os.sched_setaffinity(0, {LOADGEN_CORE})
    raise_fd_limit()
    base = QUICK if args.quick else FULL
    suite = dataclasses.replace(base, repetitions=args.reps or base.repetitions)
    names = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(names) - set(SERVERS)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    scenarios = [s for s in SCENARIOS if s in args.scenario]
    hub = [s for s in HUB_SCENARIOS if s in args.scenario] if "ours" in names else []
    redis = [s for s in REDIS_SCENARIOS if s in args.scenario] if "ours" in names else []
    tab = [s for s in BROWSER_SCENARIOS if s in args.scenario] if "ours" in names else []
    mine = [s for s in OURS_SCENARIOS if s in args.scenario] if "ours" in names else []
    if redis and servers.redis_command() is None:
        parser.error("the redis-* scenarios need redis-server (Debian: redis-server)")
    references = [HUB_REFERENCE[s] for s in hub if s in HUB_REFERENCE]
    references = [s for s in SCENARIOS if s in references and s not in scenarios]
    if "b3" in names:
        servers.ensure_node()
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    raw_dir = RESULTS / "raw" / stamp
    raw_dir.mkdir(parents=True, exist_ok=True)
    complete = (
        not args.quick
        and set(scenarios) | set(mine) | set(hub) | set(tab)
        == set(SCENARIOS + OURS_SCENARIOS + HUB_SCENARIOS + BROWSER_SCENARIOS)
        and set(names) == set(SERVERS)
        and not args.reps
        and not args.profile_only
    )
    out_dir = args.out or (RESULTS if complete else raw_dir)
    given = argv if argv is not None else sys.argv[1:]
    command = " ".join(["python -m benchmarks.run", *(shlex.quote(a) for a in given)])
    started = time.monotonic()
    budget = args.quiet_budget if args.quiet_budget is not None else (20 if args.quick else 60)
    quiet = Quiet(args.quiet_wait, budget, 0.3 if args.quick else 1.0)
    session = Session(suite, raw_dir, quiet)

    if not args.profile_only:
        if args.quick:
            session.reused(plan(scenarios), names)
            if references:
                session.reused(references, ["ours"])
        else:
            session.fresh(plan(scenarios), names)
            session.fresh(references, ["ours"])
            session.retry_noisy(plan(scenarios), names, args.retry_budget)
            session.retry_noisy(references, ["ours"], args.retry_budget)
        session.fresh(mine, ["ours"])  # a fresh server each run, also in --quick
        if not args.quick:
            session.retry_noisy(mine, ["ours"], args.retry_budget)
        session.hub(hub)
        session.browser(tab)
        session.redis(redis)

    profiles: dict[str, str] = {}
    if args.profile or args.profile_only:
        for scenario, seconds in PROFILED.items():
            if scenario in scenarios:
                quiet.wait()
                profiles[scenario] = profile(
                    scenario, suite, raw_dir, min(seconds, 5) if args.quick else seconds
                )
                print(profiles[scenario], flush=True)

    info = report.machine(servers.NODE_DIR)
    summary = report.aggregate(session.runs)
    data = {
        "command": command,
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - started, 1),
        "machine": info,
        "suite": suite.as_dict(),
        "servers": {s: report.LABELS[s] for s in names},
        "summary": summary,
        "ratios": report.ratios(summary),
        "hub": report.hub_figures(summary),
        "redis": report.redis_figures(summary, suite.as_dict(), session.runs),
        "targets": report.targets(summary),
        "readme": report.readme_section(summary, info, suite),
        "profiles": profiles,
        "runs": session.runs,
    }
    if session.runs or profiles:
        report.write(data, out_dir)
        print(f"results: {out_dir / 'results.md'} ({data['duration_s']:.0f} s)")
    return 0


def _progress(scenario: str, name: str, rep: int, result: dict[str, Any], took: float) -> str:
    keys = {
        "chat": ("cpu_us_per_delivery", "slowest_p50_ms", "slowest_p99_ms", "lost"),
        "presence": ("max_sustained_hz", "server_cpu_pct", "latency_p50_ms", "latency_p99_ms"),
        "presence-1000": ("server_cpu_pct", "latency_p50_ms", "latency_p99_ms", "stale_at_end"),
        "connections": ("kb_per_connection", "connect_s", "join_s"),
        "joinstorm": ("all_acked_s", "all_full_member_list_s", "full_after_last_join_s"),
        "stall": ("p99_before_ms", "p99_during_ms", "rss_growth_during_mb"),
        "hub-chat": ("cpu_us_per_delivery", "slowest_p50_ms", "slowest_p99_ms", "lost"),
        "hub-presence": (
            "cpu_us_per_delivery",
            "server_cpu_pct",
            "latency_p50_ms",
            "latency_p99_ms",
            "stale_at_end",
        ),
        "redis-chat": (
            "cpu_us_per_delivery",
            "redis_us_per_delivery",
            "slowest_p50_ms",
            "slowest_p99_ms",
            "lost",
            "duplicated",
            "out_of_order",
        ),
        "redis-presence": (
            "cpu_us_per_delivery",
            "redis_us_per_delivery",
            "server_cpu_pct",
            "latency_p50_ms",
            "latency_p99_ms",
            "cross_process_p99_ms",
            "stale_at_end",
        ),
        "redis-chat-max": ("max_rate", "first_failed", "at_max_p99_ms", "at_max_loadgen_cpu_pct"),
        "redis-presence-max": (
            "max_members",
            "first_failed",
            "at_max_p99_ms",
            "at_max_loadgen_cpu_pct",
        ),
        "browser": (
            "busy_pct",
            "renderer_main_cpu_pct",
            "long_tasks",
            "long_frames",
            "long_frames_ours",
            "long_frame_max_ms",
            "presence_batches_per_s",
            "core0_busy_pct",
        ),
        "hub-hop": (
            "slowest_p50_ms",
            "slowest_p99_ms",
            "cpu_us_per_delivery",
            "jupyter_cpu_pct",
            "service_cpu_pct",
        ),
    }[scenario]
    figures = " ".join(f"{k}={result.get(k)}" for k in keys)
    if result.get("steps") and scenario.startswith("redis-"):
        figures += " steps=" + ",".join(
            f"{s.get('rate', s.get('members')):g}:"
            f"{s.get('slowest_p99_ms', s.get('latency_p99_ms'))}"
            f"{'' if s.get('sustained') else '!'}"
            for s in result["steps"]
        )
    flags = ""
    if not result.get("valid"):
        flags = " INVALID " + "; ".join(result.get("invalid_reasons", []))
    if result.get("noisy"):
        flags += " noisy"
    if result.get("error"):
        flags += f" ERROR {result['error']}"
    loadgen = result.get("loadgen_cpu_pct")
    return f"[{scenario} {name} rep{rep} {took:.0f}s] {figures} loadgen={loadgen}%{flags}"


if __name__ == "__main__":
    sys.exit(main())
