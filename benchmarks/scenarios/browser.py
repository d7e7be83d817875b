"""Scenario 11: one browser tab in a room whose members (300) move their cursors at 20 Hz.

The server is ours serving JupyterLab (:func:`start_lab`: ``jupyter server`` with the
collab-widget and JupyterLab extensions, as ``servers.start("ours")`` plus JupyterLab's test
switches), with a notebook of ``cells`` code cells (``lines`` lines each) under a first cell
that shows ``Room("bench-presence")``. In the load generator process (core 0):

1. Playwright starts Debian's Chromium (``/usr/bin/chromium``: Playwright cannot download
   one here) as a child of the load generator, so on core 0 too; one tab (1280x1000) opens the
   notebook, waits for its kernel and runs the Room cell, so the tab is in the room and draws
   its member list, the others' carets and cell markers.
2. ``members`` load generator members (:class:`~benchmarks.scenarios.presence.PresenceLoad`,
   no probes: they only count what they get) join the room; the tab must show all of them.
3. Every member sends ``presence {room, state}`` at ``rate`` Hz, each state a cursor in the
   tab's notebook (its path, a real cell's id and index, a line and column inside that cell's
   text, mode ``edit``, activity ``active``), moving on every update; ``warmup`` seconds, then
   the measurement window (``duration``).

Measured over the window, in the tab: the main thread's busy share (CDP
``Performance.getMetrics``: ``TaskDuration`` delta / wall time; also script, layout and style
time), long tasks (``PerformanceObserver`` ``longtask``: count, total, max), long animation
frames (``long-animation-frame``: frames over 50 ms, each split by its scripts' ``sourceURL``
into our extension's, others' and time no script accounts for), the ``presence`` events the
tab's socket received per second, what it shows at the end. Outside: the CPU of the server, of
the notebook's kernel, of Chromium (all its processes and the renderer's main thread, from
``/proc``), of the load generator, and of each core.

Validity as everywhere (load generator > 60 % of its core: invalid; other processes > 10 % of
a core: noisy), except that Chromium and Playwright's driver (on core 0 on purpose) and the
kernel (a child of the server, on core 1) are not "other processes". A window in which core 0
was more than 90 % busy is noisy too: the tab's task times then include waiting for the CPU.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import subprocess
import time
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import servers
from ..config import LOADGEN_CORE, SERVER_CORE, BrowserParams, Suite
from ..eio import Target
from ..procstat import TICKS, Snapshot, Window
from .common import LoopLag, close_all, mark_window, validity
from .presence import ROOM, PresenceLoad

if TYPE_CHECKING:
    from playwright.async_api import CDPSession, Page

CHROMIUM = os.environ.get("COLLAB_CHROMIUM", "/usr/bin/chromium")
# As tests/browser/lab.py (Playwright adds --headless itself).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1280, "height": 1000}
NOTEBOOK = "bench-browser.ipynb"
ROOM_CELL = "room-cell"
# JupyterLab as the browser tests run it: ``window.jupyterapp`` and ``window.collabConnection``
# exposed, no news or update checks (no toasts, no requests leaving the machine).
LAB_ARGS = [
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]
NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}
# Script URLs of our extension: JupyterLab serves prebuilt extensions' files from
# ``{base}lab/extensions/<package>/static/``.
OURS_URL_PARTS = ("/extensions/collab-widget/", "collab_widget")
# A long animation frame is one over 50 ms (what the browser reports as one).
LONG_FRAME_MS = 50.0
# Core 0 busier than this in the window: the tab's task times include waiting for the CPU.
CORE_SATURATED = 0.90
PAGE_TIMEOUT_MS = 90_000
# Seconds the tab is measured in the full room before anyone moves (its floor).
IDLE_S = 2.0
# Before that, the tab is given up to SETTLE_LIMIT_S seconds to get quiet (main thread busy
# below QUIET_BUSY_PCT over SETTLE_STEP_S) after rendering the joins.
SETTLE_LIMIT_S = 20.0
SETTLE_STEP_S = 0.5
QUIET_BUSY_PCT = 10.0

# Installed before the page's own scripts: collects long tasks and long animation frames.
OBSERVERS_JS = """(() => {
  const store = window.__bench = {longtasks: [], frames: [], errors: [], events: {}};
  try {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) store.longtasks.push([e.startTime, e.duration]);
    }).observe({type: 'longtask', buffered: true});
  } catch (e) { store.errors.push('longtask: ' + e); }
  try {
    new PerformanceObserver(list => {
      for (const e of list.getEntries()) {
        store.frames.push({
          start: e.startTime, duration: e.duration, blocking: e.blockingDuration,
          renderStart: e.renderStart, styleAndLayoutStart: e.styleAndLayoutStart,
          scripts: e.scripts.map(s => ({
            url: s.sourceURL, fn: s.sourceFunctionName, invoker: s.invoker,
            type: s.invokerType, start: s.startTime, duration: s.duration,
            forced: s.forcedStyleAndLayoutDuration
          }))
        });
      }
    }).observe({type: 'long-animation-frame', buffered: true});
  } catch (e) { store.errors.push('long-animation-frame: ' + e); }
})();"""

# The kernel of the current notebook is connected and idle.
KERNEL_IDLE_JS = """() => {
  const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const ctx = panel && panel.sessionContext;
  const kernel = ctx && ctx.session && ctx.session.kernel;
  return !!(ctx && ctx.isReady && kernel && kernel.status === 'idle'
            && kernel.connectionStatus === 'connected');
}"""

# Run the notebook's first cell (the Room) through JupyterLab's own command.
RUN_ROOM_CELL_JS = """async () => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  panel.content.activeCellIndex = 0;
  await app.commands.execute('notebook:run-cell');
}"""

# Count the events the tab's socket receives, by name (socket.io-client ``onAny``).
COUNT_EVENTS_JS = """() => {
  const connection = window.collabConnection;
  if (!connection || !connection.socket) return false;
  const counts = window.__bench.events;
  connection.socket.onAny(name => { counts[name] = (counts[name] || 0) + 1; });
  return true;
}"""

PAGE_NOW_JS = "() => ({now: performance.now(), events: {...window.__bench.events}})"

# What the tab shows: member count, carets, cell markers, DOM size.
SHOWN_JS = """() => ({
  member_count_text: (document.querySelector('[data-testid=member-count]') || {}).textContent
    || null,
  carets: document.querySelectorAll('.jp-CollabCursor-caret').length,
  cell_markers: document.querySelectorAll('.jp-CollabCellMarker-chip').length,
  member_rows: document.querySelectorAll('[data-testid=member]').length,
  dom_nodes: document.getElementsByTagName('*').length
})"""

ENTRIES_JS = """([t0, t1]) => ({
  longtasks: window.__bench.longtasks.filter(([s]) => s >= t0 && s < t1),
  frames: window.__bench.frames.filter(f => f.start >= t0 && f.start < t1),
  errors: window.__bench.errors
})"""


# -- the server ------------------------------------------------------------------------------
def code_lines(cell: int, lines: int) -> list[str]:
    """The text of code cell ``cell``: ``lines`` lines of plausible Python."""
    return [
        f"value_{cell}_{j} = compute({cell}, {j}) + offset_{j}  # step {j}" for j in range(lines)
    ]


def notebook_text(p: BrowserParams) -> str:
    """The notebook: the Room cell, then ``p.cells`` code cells of ``p.lines`` lines."""

    def code(cell_id: str, source: str) -> dict[str, Any]:
        return {
            "cell_type": "code",
            "execution_count": None,
            "id": cell_id,
            "metadata": {},
            "outputs": [],
            "source": source,
        }

    cells = [code(ROOM_CELL, f'from collab_widget import Room\nRoom("{ROOM}")')]
    cells += [code(f"cell-{i:02d}", "\n".join(code_lines(i, p.lines))) for i in range(p.cells)]
    return json.dumps(
        {
            "cells": cells,
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


def start_lab(log_dir: Path, p: BrowserParams, timeout: float = 60.0) -> servers.Server:
    """Ours serving JupyterLab, pinned to the server core: ``servers.start("ours")``'s
    command (auth with the shared token, the raised rate limits) with JupyterLab's test
    switches, the news/update toasts off in the user settings, and the notebook in its root.
    The notebook's kernel is the server's child, so on the server core too."""
    port = servers.free_port()
    log_path = log_dir / "server-ours.log"
    cmd, env, workdir, path, ready_url = servers._ours(port, log_path, LAB_ARGS)
    settings = workdir / "config" / "lab" / "user-settings" / "@jupyterlab"
    notification = settings / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps(NOTIFICATION_SETTINGS))
    (workdir / "root" / NOTEBOOK).write_text(notebook_text(p))
    process = servers._spawn(cmd, log_path, env)
    target = Target("ours", "127.0.0.1", port, path, process.pid, servers.TOKEN, variant="lab")
    server = servers.Server("ours", process, target, log_path, workdir)
    return servers._started(server, port, ready_url, timeout)


def chromium_version() -> str | None:
    """``chromium --version`` (None without Chromium)."""
    if not Path(CHROMIUM).exists():
        return None
    try:
        out = subprocess.run(
            [CHROMIUM, "--version"], capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def labextension_build() -> str | None:
    """Which build of our lab extension the server serves (its ``remoteEntry`` file: its
    hash changes with every build), None when it is not built."""
    path = servers.ROOT / "collab_widget" / "labextension" / "package.json"
    try:
        build = json.loads(path.read_text())["jupyterlab"]["_build"]["load"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return str(build).rsplit("/", 1)[-1]


def missing() -> str | None:
    """Why the scenario cannot run here (no Chromium, Playwright or lab extension), or
    None."""
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (Debian: apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -r benchmarks/requirements.txt)"
    if not (servers.ROOT / "collab_widget" / "labextension" / "package.json").exists():
        return "the lab extension is not built (jlpm build:lib && jlpm build:labextension:dev)"
    return None


# -- the members -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Cell:
    """A code cell of the notebook as the server has it: where a cursor can be."""

    id: str
    index: int
    lines: tuple[str, ...]


def read_cells(target: Target) -> list[Cell]:
    """The notebook's code cells (but the Room cell), from the server's contents API."""
    url = f"http://{target.host}:{target.port}/api/contents/{NOTEBOOK}?content=1&type=notebook"
    request = urllib.request.Request(url, headers={"Authorization": f"token {target.token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        model = json.loads(response.read())
    cells = []
    for index, cell in enumerate(model["content"]["cells"]):
        if cell["cell_type"] != "code" or cell.get("id") == ROOM_CELL:
            continue
        source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        cells.append(Cell(cell["id"], index, tuple(source.split("\n"))))
    if not cells:
        raise RuntimeError(f"{NOTEBOOK} has no code cells")
    return cells


class CursorLoad(PresenceLoad):
    """Scenario 2's members (no probes), their states cursors in the tab's notebook.

    Member ``i`` starts in cell ``i mod cells`` and moves on every update: one column along
    its line each update, the next line every 8 updates, the next cell every 40 (2 s at
    20 Hz), so carets, cell markers and member locations all change."""

    def __init__(self, target: Target, members: int, cells: list[Cell]) -> None:
        super().__init__(target, members, probes=0)
        self.cells = cells

    def _state(self, index: int) -> dict[str, Any]:
        update = self.line[index]
        self.line[index] = update + 1
        self.sent[index] += 1
        cell = self.cells[(index + update // 40) % len(self.cells)]
        line = (index + update // 8) % len(cell.lines)
        column = (index + update) % (len(cell.lines[line]) + 1)
        return {
            "path": NOTEBOOK,
            "cell_id": cell.id,
            "cell_index": cell.index,
            "line": line,
            "column": column,
            "mode": "edit",
            "activity": "active",
        }


# -- CPU from /proc --------------------------------------------------------------------------
def _stat(pid: str) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def _thread_cpu(pid: int) -> float:
    """CPU seconds of the main thread of ``pid`` (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def _is_renderer(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"--type=renderer" in f.read()
    except OSError:
        return False


def descendants(roots: list[int]) -> dict[int, float]:
    """CPU seconds of every process below ``roots`` (not the roots themselves)."""
    stats = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = _stat(name)
            if stat is not None:
                stats[int(name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _cpu) in stats.items():
        children.setdefault(ppid, []).append(pid)
    out: dict[int, float] = {}
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            out[child] = stats[child][1]
            todo.append(child)
    return out


@dataclass
class Counters:
    """CPU counters at one instant: the server, this process and the cores (``snapshot``);
    the server's children (the kernel); this process's children (Playwright's driver,
    Chromium); the main thread and the whole of each renderer process."""

    snapshot: Snapshot
    kernel: dict[int, float]
    browser: dict[int, float]
    renderer_main: dict[int, float]

    @classmethod
    def take(cls, server_pid: int, renderers: list[int]) -> Counters:
        snapshot = Snapshot.take(server_pid)
        kernel = descendants([server_pid])
        browser = descendants([os.getpid()])
        main = {pid: _thread_cpu(pid) for pid in renderers}
        return cls(snapshot, kernel, browser, main)


def _delta(a: dict[int, float], b: dict[int, float]) -> float:
    """CPU used between two readings by the processes of the second (new ones: all of it)."""
    return sum(cpu - a.get(pid, 0.0) for pid, cpu in b.items())


# -- the tab ---------------------------------------------------------------------------------
def _ours(url: str | None) -> bool:
    return bool(url) and any(part in str(url) for part in OURS_URL_PARTS)


def _short(url: str | None) -> str:
    """A script URL without the origin and query (the file is what tells)."""
    if not url:
        return "(no source)"
    path = url.split("://", 1)[-1].split("/", 1)[-1].split("?", 1)[0]
    return "/" + path


def frame_figures(frames: list[dict[str, Any]]) -> dict[str, Any]:
    """The long animation frames of the window, split by whose scripts ran in them.

    Each frame's time: its scripts from our extension (``sourceURL`` under
    ``lab/extensions/collab-widget/``), other scripts, and the rest (rendering, style and
    layout, garbage collection, scripts under 5 ms, which the browser does not list). A frame
    is ours when a script of ours is listed in it (ran >= 5 ms of it)."""
    rows = []
    for frame in frames:
        scripts = frame.get("scripts") or []
        ours_ms = sum(s["duration"] for s in scripts if _ours(s.get("url")))
        other_ms = sum(s["duration"] for s in scripts if not _ours(s.get("url")))
        top = sorted(scripts, key=lambda s: -s["duration"])[:3]
        rows.append(
            {
                "duration_ms": round(frame["duration"], 1),
                "blocking_ms": round(frame.get("blocking") or 0.0, 1),
                "ours_script_ms": round(ours_ms, 1),
                "other_script_ms": round(other_ms, 1),
                "unattributed_ms": round(max(0.0, frame["duration"] - ours_ms - other_ms), 1),
                "ours": any(_ours(s.get("url")) for s in scripts),
                "scripts": [
                    {
                        "url": _short(s.get("url")),
                        "function": s.get("fn") or "",
                        "invoker": s.get("invoker") or "",
                        "type": s.get("type") or "",
                        "ms": round(s["duration"], 1),
                        "forced_layout_ms": round(s.get("forced") or 0.0, 1),
                    }
                    for s in top
                ],
            }
        )
    long = [r for r in rows if r["duration_ms"] > LONG_FRAME_MS]
    ours = [r for r in long if r["ours"]]
    others = [r for r in long if not r["ours"] and r["other_script_ms"] > 0]
    return {
        "long_frames": len(long),
        "long_frame_max_ms": max((r["duration_ms"] for r in long), default=0.0),
        "long_frames_ours": len(ours),
        "long_frame_ours_max_ms": max((r["duration_ms"] for r in ours), default=0.0),
        "long_frames_other": len(others),
        "long_frames_unattributed": len(long) - len(ours) - len(others),
        "long_frame_ours_script_ms": round(sum(r["ours_script_ms"] for r in long), 1),
        "long_frame_other_script_ms": round(sum(r["other_script_ms"] for r in long), 1),
        "worst_frames": sorted(long, key=lambda r: -r["duration_ms"])[:5],
    }


def task_figures(longtasks: list[list[float]], seconds: float) -> dict[str, Any]:
    durations = [d for _start, d in longtasks]
    return {
        "long_tasks": len(durations),
        "long_tasks_per_s": round(len(durations) / seconds, 2),
        "long_task_total_ms": round(sum(durations), 1),
        "long_task_max_ms": round(max(durations, default=0.0), 1),
    }


METRIC_NAMES = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def metrics_figures(a: dict[str, float], b: dict[str, float]) -> dict[str, Any]:
    """Main-thread time shares from two CDP ``Performance.getMetrics`` readings."""
    wall = max(b["Timestamp"] - a["Timestamp"], 1e-9)

    def pct(name: str) -> float:
        return round(100 * (b.get(name, 0.0) - a.get(name, 0.0)) / wall, 1)

    return {
        "busy_pct": pct("TaskDuration"),
        "script_pct": pct("ScriptDuration"),
        "layout_pct": pct("LayoutDuration"),
        "style_pct": pct("RecalcStyleDuration"),
        "js_heap_mb": round(b.get("JSHeapUsedSize", 0.0) / 2**20, 1),
        "dom_nodes_cdp": int(b.get("Nodes", 0)),
        "cdp_seconds": round(wall, 3),
    }


async def _metrics(cdp: CDPSession) -> dict[str, float]:
    reply = await cdp.send("Performance.getMetrics")
    return {m["name"]: float(m["value"]) for m in reply["metrics"]}


async def settle(cdp: CDPSession) -> float:
    """Wait until the tab's main thread is quiet (busy below ``QUIET_BUSY_PCT`` over
    ``SETTLE_STEP_S``), at most ``SETTLE_LIMIT_S``; how long that took."""
    started = time.monotonic()
    previous = await _metrics(cdp)
    while time.monotonic() - started < SETTLE_LIMIT_S:
        await asyncio.sleep(SETTLE_STEP_S)
        now = await _metrics(cdp)
        if metrics_figures(previous, now)["busy_pct"] < QUIET_BUSY_PCT:
            break
        previous = now
    return round(time.monotonic() - started, 2)


async def open_room(page: Page, target: Target) -> dict[str, float]:
    """Open the notebook in JupyterLab, wait for its kernel, run the Room cell and wait
    until the tab is connected to the room. Returns how long each step took."""
    took: dict[str, float] = {}
    t = time.monotonic()
    url = (
        f"http://{target.host}:{target.port}/lab/workspaces/bench-browser/tree/{NOTEBOOK}"
        f"?token={target.token}"
    )
    await page.goto(url, wait_until="domcontentloaded", timeout=PAGE_TIMEOUT_MS)
    await page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=PAGE_TIMEOUT_MS)
    took["lab_load_s"] = round(time.monotonic() - t, 2)
    t = time.monotonic()
    await page.wait_for_function(KERNEL_IDLE_JS, timeout=PAGE_TIMEOUT_MS)
    took["kernel_s"] = round(time.monotonic() - t, 2)
    t = time.monotonic()
    await page.evaluate(RUN_ROOM_CELL_JS)
    connected = "[data-testid=collab-room] [data-testid=connection-state][data-state=connected]"
    await page.locator(connected).wait_for(timeout=PAGE_TIMEOUT_MS)
    took["room_s"] = round(time.monotonic() - t, 2)
    return took


async def wait_members(page: Page, count: int, timeout: float) -> str | None:
    """Wait until the tab's member count says ``count`` members; what it says at the end."""
    expected = f"{count} members"
    deadline = time.monotonic() + timeout
    text = None
    while time.monotonic() < deadline:
        text = await page.evaluate(
            "() => (document.querySelector('[data-testid=member-count]') || {}).textContent"
        )
        if text == expected:
            break
        await asyncio.sleep(0.25)
    return text


async def run_browser(target: Target, suite: Suite) -> dict[str, Any]:
    """Scenario 11 against ours serving JupyterLab (:func:`start_lab`)."""
    from playwright.async_api import async_playwright

    p = suite.browser
    cells = await asyncio.to_thread(read_cells, target)
    result: dict[str, Any] = {
        "members": p.members,
        "rate_hz": p.rate,
        "cells": len(cells),
        "chromium": chromium_version(),
        "labextension": labextension_build(),
        "chromium_core": LOADGEN_CORE,
        "server_core": SERVER_CORE,
    }
    page_errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(viewport=VIEWPORT)
            await context.add_init_script(OBSERVERS_JS)
            page = await context.new_page()
            page.on("pageerror", lambda error: page_errors.append(str(error)[:300]))
            result.update(await open_room(page, target))
            counting = await page.evaluate(COUNT_EVENTS_JS)

            load = CursorLoad(target, p.members, cells)
            t = time.monotonic()
            await load.setup()
            shown = await wait_members(page, p.members + 1, p.settle_timeout)
            result["join_and_settle_s"] = round(time.monotonic() - t, 2)
            result["member_count_before"] = shown
            renderers = [pid for pid in descendants([os.getpid()]) if _is_renderer(pid)]
            cdp = await context.new_cdp_session(page)
            await cdp.send("Performance.enable")
            # The floor: the same tab in the same room, nobody moving, once it has done
            # with the joins.
            result["settle_s"] = await settle(cdp)
            idle_before = await _metrics(cdp)
            await asyncio.sleep(IDLE_S)
            result["idle_busy_pct"] = metrics_figures(idle_before, await _metrics(cdp))["busy_pct"]
            lag = LoopLag().start()

            await load.drive(p.rate, p.warmup)
            mark_window("browser")
            sent_before = sum(load.sent)
            before = Counters.take(target.pid, renderers)
            metrics_before = await _metrics(cdp)
            page_before = await page.evaluate(PAGE_NOW_JS)
            await load.drive(p.rate, p.duration)
            page_after = await page.evaluate(PAGE_NOW_JS)
            metrics_after = await _metrics(cdp)
            after = Counters.take(target.pid, renderers)
            sent = sum(load.sent) - sent_before
            result["loop_lag"] = lag.stop()

            await asyncio.sleep(0.5)  # the last frames' entries reach the observers
            entries = await page.evaluate(ENTRIES_JS, [page_before["now"], page_after["now"]])
            end = await page.evaluate(SHOWN_JS)
            close_all(load.members)
        finally:
            await browser.close()

    window = Window.between(before.snapshot, after.snapshot)
    seconds = window.seconds
    page_seconds = (page_after["now"] - page_before["now"]) / 1000
    browser_cpu = _delta(before.browser, after.browser)
    kernel_cpu = _delta(before.kernel, after.kernel)
    main = {  # a renderer gone meanwhile reads 0: counts as 0, not negative
        pid: max(0.0, cpu - before.renderer_main.get(pid, 0.0))
        for pid, cpu in after.renderer_main.items()
    }
    renderer = {pid: after.browser.get(pid, 0.0) - before.browser.get(pid, 0.0) for pid in main}
    tab = max(main, key=lambda pid: main[pid], default=None)
    # Chromium, its driver and the kernel are part of the scenario, not other processes.
    adjusted = replace(
        window,
        foreign_server_core=max(0.0, window.foreign_server_core - kernel_cpu / seconds),
        foreign_loadgen_core=max(0.0, window.foreign_loadgen_core - browser_cpu / seconds),
    )
    core0 = (
        after.snapshot.cores.get(LOADGEN_CORE, 0.0) - before.snapshot.cores.get(LOADGEN_CORE, 0.0)
    ) / seconds
    checks = validity(adjusted)
    if core0 > CORE_SATURATED:
        checks["noisy"].append(
            f"core {LOADGEN_CORE} (load generator + Chromium) {100 * core0:.0f}% busy: the "
            "tab's task times include waiting for the CPU"
        )
    if shown != f"{p.members + 1} members":
        checks["valid"] = False
        checks["invalid_reasons"].append(
            f"the tab showed {shown!r}, not {p.members + 1} members, before the load"
        )
    if labextension_build() != result["labextension"]:
        checks["valid"] = False
        checks["invalid_reasons"].append("the lab extension was rebuilt during the run")
    if not counting:
        page_errors.append("window.collabConnection missing: presence events not counted")
    events = {
        name: round(
            (page_after["events"].get(name, 0) - page_before["events"].get(name, 0)) / page_seconds,
            1,
        )
        for name in page_after["events"]
    }
    result.update(
        {
            **adjusted.as_dict(),
            **metrics_figures(metrics_before, metrics_after),
            **task_figures(entries["longtasks"], page_seconds),
            **frame_figures(entries["frames"]),
            "presence_batches_per_s": events.get("presence") if counting else None,
            "events_per_s": events,
            "updates_in_per_s": round(sent / seconds),
            "updates_offered_per_s": round(p.members * p.rate),
            "kernel_cpu_pct": round(100 * kernel_cpu / seconds, 1),
            "browser_cpu_pct": round(100 * browser_cpu / seconds, 1),
            "renderer_cpu_pct": round(100 * renderer[tab] / seconds, 1) if tab else None,
            "renderer_main_cpu_pct": round(100 * main[tab] / seconds, 1) if tab else None,
            "renderers": len(main),
            "core0_busy_pct": round(100 * core0, 1),
            "shown_at_end": end,
            "observer_errors": entries["errors"],
            "page_errors": page_errors[:20],
            **checks,
        }
    )
    return result
