"""Profile a server under test with py-spy, and summarise where its time goes.

Two py-spy samplers run side by side at 100 Hz, each pausing the server briefly per sample
(which keeps the stacks exact; ``--nonblocking`` misattributed time in our tries): one
writes the flame graph (``profile-<scenario>.svg``), the other the collapsed stacks from
which :func:`summarise` computes the top functions by own time (the function on top of the
stack) and by inclusive time (anywhere on the stack), the share of each library and the
hottest lines.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .config import LOADGEN_CORE

# py-spy as installed beside this Python (the venv's bin/), found also when that is not on PATH.
PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

# Frames on (nearly) every stack: the process's entry and the event loop's dispatch.
GENERIC = re.compile(
    r"^(_run_module_as_main|_run_code|<module>|\S*launch_instance|ServerApp\.start\S*|"
    r"BaseAsyncIOLoop\.start|BaseEventLoop\.run_forever|BaseEventLoop\._run_once|Handle\._run|"
    r"main|run|Runner\.run|BaseEventLoop\.run_until_complete) "
)
# Leaf frames of a thread waiting (py-spy counts them unless it detects the wait itself):
# the event loop in epoll, an executor worker waiting for work, a condition variable.
IDLE = re.compile(
    r"^(EpollSelector\.select \(selectors\.py|_worker \(concurrent/futures/thread\.py:81\)|"
    r"Condition\.wait \(threading\.py|Event\.wait \(threading\.py)"
)
FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
LIBRARIES = (
    ("engineio", "python-engineio"),
    ("socketio", "python-socketio"),
    ("tornado", "tornado"),
    ("jupyter_server", "jupyter_server"),
    ("collab_widget", "collab_widget"),
    ("asyncio", "asyncio"),
    ("json", "json"),
    ("sqlite3", "sqlite3"),
    ("logging", "logging"),
)


def start(pid: int, seconds: int, svg: Path, raw: Path) -> list[subprocess.Popen[bytes]]:
    """Start both samplers for ``seconds`` on ``pid`` (pinned to the load generator's core)."""
    common = ["--pid", str(pid), "--duration", str(seconds), "--rate", "100"]
    return [
        subprocess.Popen(
            [
                "taskset",
                "-c",
                str(LOADGEN_CORE),
                PY_SPY,
                "record",
                *common,
                "--format",
                fmt,
                "-o",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for fmt, out in (("flamegraph", svg), ("raw", raw))
    ]


def _name(frame: str) -> str:
    """``send (tornado/websocket.py:1090)`` -> ``send (tornado/websocket.py)``, site-packages
    and the virtualenv prefix dropped."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    file = match["file"]
    for marker in ("site-packages/", "lib/python3.", "/work/main/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            if marker == "lib/python3.":
                file = file.split("/", 1)[-1]
    return f"{match['func']} ({file})"


def _library(frame: str) -> str:
    name = _name(frame)
    file = name[name.rfind("(") + 1 : -1]
    for prefix, label in LIBRARIES:
        if file.startswith(prefix + "/") or file == prefix + ".py":
            return label
    return "other"


@dataclass
class Profile:
    """Shares (%) of the busy samples; ``idle`` samples (threads waiting) are left out."""

    samples: int
    idle: int
    own: list[tuple[str, float]]
    inclusive: list[tuple[str, float]]
    libraries: list[tuple[str, float]]
    lines: list[tuple[str, float]]

    def text(self, title: str, top: int = 20) -> str:
        lines = [
            f"# {title}: {self.samples} busy samples ({self.idle} idle ones left out); "
            "shares of the busy samples",
            "",
            "## own time (top of stack)",
        ]
        lines += [f"{share:6.1f}%  {name}" for name, share in self.own[:top]]
        lines += ["", "## inclusive time (anywhere on the stack)"]
        lines += [f"{share:6.1f}%  {name}" for name, share in self.inclusive[:top]]
        lines += ["", "## own time by library"]
        lines += [f"{share:6.1f}%  {name}" for name, share in self.libraries]
        lines += ["", "## hottest lines (own time)"]
        lines += [f"{share:6.1f}%  {name}" for name, share in self.lines[:top]]
        return "\n".join(lines) + "\n"


def summarise(raw: Path) -> Profile:
    """Top functions of a py-spy ``--format raw`` file (collapsed stacks with counts)."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    libraries: Counter[str] = Counter()
    hot_lines: Counter[str] = Counter()
    total = idle = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [
            f
            for f in stack.split(";")
            if f and not f.startswith("process ") and not f.startswith("thread ")
        ]
        if not frames:
            continue
        if IDLE.match(frames[-1].strip()):
            idle += count
            continue
        total += count
        own[_name(frames[-1])] += count
        hot_lines[frames[-1].strip()] += count
        libraries[_library(frames[-1])] += count
        for name in {_name(f) for f in frames if not GENERIC.match(f.strip())}:
            inclusive[name] += count

    def shares(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(name, 100.0 * n / total) for name, n in counter.most_common()] if total else []

    return Profile(
        total, idle, shares(own), shares(inclusive), shares(libraries), shares(hot_lines)
    )
