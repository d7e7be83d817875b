"""Start and stop the servers under test, each in its own process pinned to the server core.

| name | server |
| --- | --- |
| ours | ``jupyter server`` with the collab-widget extension (auth on, history store on) |
| b1 | bare python-socketio ``AsyncServer`` on tornado, defaults |
| b2 | b1 with permessage-deflate off and ``TCP_NODELAY`` |
| b3 | node socket.io 4.8, defaults |
| b0 | the ``websockets`` library's ``broadcast()`` |
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from .config import SERVER_CORE
from .eio import Target

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
NODE_DIR = BENCH / ".node"
TOKEN = "collab-bench-token"
# Limits of ours raised so one benchmark client may send what a whole class would: the
# sender's 50 messages/s and the join storm are above the per-session defaults (10/s).
OURS_ARGS = [
    "--CollabApp.message_rate=1000",
    "--CollabApp.message_burst=1000",
    "--CollabApp.event_rate=2000",
    "--CollabApp.event_burst=2000",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _raise_fd_limit() -> None:  # runs in the child before exec
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Server:
    """A running server under test."""

    name: str
    process: subprocess.Popen[bytes]
    target: Target
    log_path: Path
    workdir: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _spawn(
    cmd: list[str], log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            ["taskset", "-c", str(SERVER_CORE), *cmd],
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_raise_fd_limit,
        )


def _wait_ready(
    process: subprocess.Popen[bytes], port: int, url: str | None, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            if url is None:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            else:
                request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.1)
    raise RuntimeError("server did not start in time")


def _ours(port: int, log_path: Path) -> tuple[list[str], dict[str, str], Path, str, str]:
    workdir = Path(tempfile.mkdtemp(prefix="collab-bench-"))
    for sub in ("root", "config", "data", "runtime"):
        (workdir / sub).mkdir()
    (workdir / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"IdentityProvider": {"token": TOKEN}})
    )
    env = {
        "JUPYTER_CONFIG_DIR": str(workdir / "config"),
        "JUPYTER_DATA_DIR": str(workdir / "data"),
        "JUPYTER_RUNTIME_DIR": str(workdir / "runtime"),
    }
    cmd = [
        sys.executable, "-m", "jupyter_server",
        "--no-browser", "--allow-root",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={workdir / 'root'}",
        f"--CollabApp.history_path={workdir / 'data' / 'history.sqlite3'}",
        *OURS_ARGS,
    ]
    return cmd, env, workdir, "/collab/socket.io/", f"http://127.0.0.1:{port}/api/status"


def start(name: str, log_dir: Path, timeout: float = 60.0) -> Server:
    """Start server ``name`` on a free port, pinned to the server core, and wait until ready."""
    port = free_port()
    log_path = log_dir / f"server-{name}.log"
    workdir: Path | None = None
    env: dict[str, str] = {}
    ready_url: str | None = None
    path = "/socket.io/"
    token: str | None = None
    if name == "ours":
        cmd, env, workdir, path, ready_url = _ours(port, log_path)
        token = TOKEN
    elif name == "b1":
        cmd = [sys.executable, "-m", "benchmarks.baselines.b1_socketio", f"--port={port}"]
    elif name == "b2":
        cmd = [sys.executable, "-m", "benchmarks.baselines.b2_socketio_tuned", f"--port={port}"]
    elif name == "b3":
        cmd = ["node", str(BENCH / "baselines" / "b3_socketio.js"), "--port", str(port)]
        env = {"NODE_PATH": str(NODE_DIR / "node_modules")}
    elif name == "b0":
        cmd = [sys.executable, "-m", "benchmarks.baselines.b0_websockets", f"--port={port}"]
    else:
        raise ValueError(f"unknown server {name!r}")
    process = _spawn(cmd, log_path, env)
    server = Server(
        name, process, Target(name, "127.0.0.1", port, path, process.pid, token), log_path, workdir
    )
    try:
        _wait_ready(process, port, ready_url, timeout)
    except Exception as error:
        server.stop()
        raise RuntimeError(f"{name}: {error}\n{server.log_tail()}") from error
    time.sleep(0.2)  # let start-up work (imports, extension loading) finish
    return server


def ensure_node() -> None:
    """Install the node baseline's packages into benchmarks/.node (``npm ci``), once."""
    if (NODE_DIR / "node_modules" / "socket.io" / "package.json").exists():
        return
    NODE_DIR.mkdir(exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy(BENCH / "baselines" / name, NODE_DIR / name)
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
