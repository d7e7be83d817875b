"""The load generator: one asyncio process that runs one scenario against one server.

Started by :mod:`benchmarks.run` pinned to its own core (``taskset -c 0``); writes one JSON
object (the scenario's figures, or ``{"error": ...}``) to ``--out``.

    python -m benchmarks.loadgen --scenario chat --suite quick --target '{"name": ...}' --out x.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
import traceback
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from .config import FULL, QUICK
from .eio import Target
from .procstat import self_cpu
from .scenarios import SCENARIOS

# No scenario may run longer than this, whatever happens to the server.
HARD_LIMIT_S = 240.0


def raise_fd_limit() -> None:
    """Thousands of sockets need more than the usual 1024 file descriptors."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def run(scenario: str, suite_name: str, target: Target) -> dict[str, Any]:
    suite = QUICK if suite_name == "quick" else FULL
    started = time.monotonic()
    cpu = self_cpu()
    try:
        result = await asyncio.wait_for(SCENARIOS[scenario](target, suite), HARD_LIMIT_S)
    except Exception as error:  # reported, the run goes on with the next server
        result = {
            "error": f"{type(error).__name__}: {error}",
            "traceback": traceback.format_exc(limit=8),
            "valid": False,
            "invalid_reasons": [f"failed: {type(error).__name__}: {error}"],
        }
    result["loadgen_total_s"] = round(time.monotonic() - started, 2)
    result["loadgen_total_cpu_s"] = round(self_cpu() - cpu, 2)
    return result


def run_loop(coroutine: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run on uvloop when installed (its C read path costs the load generator a fraction of
    asyncio's per socket read), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(coroutine)
        result["event_loop"] = "asyncio"
        return result
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result = asyncio.run(coroutine)
    result["event_loop"] = f"uvloop {uvloop.__version__}"
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--suite", default="full", choices=["full", "quick"])
    parser.add_argument("--target", required=True, help="the server, as JSON (eio.Target)")
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args(argv)
    raise_fd_limit()
    target = Target(**json.loads(args.target))
    result = run_loop(run(args.scenario, args.suite, target))
    args.out.write_text(json.dumps(result, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
