"""Start and stop the servers under test, each in its own process pinned to the server core.

| name | server |
| --- | --- |
| ours | ``jupyter server`` with the collab-widget extension (auth on, history store on) |
| b1 | bare python-socketio ``AsyncServer`` on tornado, defaults |
| b2 | b1 with permessage-deflate off and ``TCP_NODELAY`` |
| b3 | node socket.io 4.8, defaults |
| b0 | the ``websockets`` library's ``broadcast()`` |

For the class service scenarios (:func:`start_hub_service`, :func:`start_owner_server`): the
service (``benchmarks/hubservice.py``: the real one with a stub Hub API), and a Jupyter
server whose clients are all its owner, with rooms at the service (relay mode) or its own.
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
from .hubservice import OWNER_ENV, bench_token

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
# The class service: the same limits (by their CollabApp names), and enough sessions for one
# user (the hop's owner has all of its server's sessions at the service).
HUB_PREFIX = "/services/collab/"
HUB_SETTINGS = {
    "message_rate": 1000,
    "message_burst": 1000,
    "event_rate": 2000,
    "event_burst": 2000,
    "max_connections_per_user": 1000,
}
HUB_OWNER = "owner"
# The capacity ramps (redis-*-max) send up to 1,000 msg/s per sender.
RAMP_SETTINGS = {"message_rate": 5000, "message_burst": 5000}


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
    cmd: list[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    cores: str = str(SERVER_CORE),
) -> subprocess.Popen[bytes]:
    """Start ``cmd`` pinned to ``cores`` (a ``taskset -c`` list), its output in ``log_path``."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            ["taskset", "-c", cores, *cmd],
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


def _ours(
    port: int, log_path: Path, extra: list[str] | None = None
) -> tuple[list[str], dict[str, str], Path, str, str]:
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
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        "--allow-root",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={workdir / 'root'}",
        f"--CollabApp.history_path={workdir / 'data' / 'history.sqlite3'}",
        *OURS_ARGS,
        *(extra or []),
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


def _started(server: Server, port: int, ready_url: str | None, timeout: float) -> Server:
    try:
        _wait_ready(server.process, port, ready_url, timeout)
    except Exception as error:
        server.stop()
        raise RuntimeError(f"{server.name}: {error}\n{server.log_tail()}") from error
    time.sleep(0.2)
    return server


def start_hub_service(
    log_dir: Path,
    timeout: float = 60.0,
    redis_url: str | None = None,
    cores: str = str(SERVER_CORE),
    name: str = "hub-service",
    settings: dict[str, object] | None = None,
) -> Server:
    """The class service (``python -m benchmarks.hubservice``) on a free port, pinned to
    ``cores`` (the server core). Its target has no token: each simulated relay uses its own
    user's. With ``redis_url``, its rooms are in that Redis (``RedisBackend``), shared with
    every other process given the same URL; without, in memory and SQLite."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="collab-bench-hub-"))
    options: dict[str, object] = {
        "data_dir": str(workdir / "collab-service"),
        "token_check_interval": 60.0,
        "max_relays_per_user": 4,
        "settings": {**HUB_SETTINGS, **(settings or {})},
    }
    if redis_url:
        options["redis_url"] = redis_url
    env = {
        "JUPYTERHUB_SERVICE_URL": f"http://127.0.0.1:{port}",
        "JUPYTERHUB_SERVICE_PREFIX": HUB_PREFIX,
        "COLLAB_SERVICE_CONFIG": json.dumps(options),
    }
    log_path = log_dir / f"server-{name}.log"
    process = _spawn([sys.executable, "-m", "benchmarks.hubservice"], log_path, env, cores)
    target = Target(name, "127.0.0.1", port, HUB_PREFIX + "socket.io/", process.pid)
    server = Server(name, process, target, log_path, workdir)
    return _started(server, port, f"http://127.0.0.1:{port}{HUB_PREFIX}", timeout)


def hub_service_url(service: Server) -> str:
    """Where a relay reaches the service (``COLLAB_SERVICE_URL``)."""
    return f"http://127.0.0.1:{service.target.port}{HUB_PREFIX}"


def start_owner_server(
    log_dir: Path, service: Server | None = None, timeout: float = 60.0
) -> Server:
    """``ours`` whose clients (the shared token) are all its owner ``HUB_OWNER``; with
    ``service``, in relay mode (``COLLAB_SERVICE_URL``, ``JUPYTERHUB_API_TOKEN``,
    ``JUPYTERHUB_USER``), ready once its upstream connection is up."""
    port = free_port()
    name = "ours-relay" if service is not None else "ours-single"
    log_path = log_dir / f"server-{name}.log"
    extra = [
        "--ServerApp.identity_provider_class=benchmarks.hubservice.OwnerIdentityProvider",
        "--CollabApp.max_connections_per_user=1000",
    ]
    cmd, env, workdir, path, ready_url = _ours(port, log_path, extra)
    env[OWNER_ENV] = HUB_OWNER
    if service is not None:
        env.update(
            COLLAB_SERVICE_URL=hub_service_url(service),
            JUPYTERHUB_API_TOKEN=bench_token(HUB_OWNER),
            JUPYTERHUB_USER=HUB_OWNER,
        )
    process = _spawn(cmd, log_path, env)
    target = Target(name, "127.0.0.1", port, path, process.pid, TOKEN)
    server = _started(Server(name, process, target, log_path, workdir), port, ready_url, timeout)
    if service is not None:
        _wait_upstream(server, timeout)
    return server


def _wait_upstream(server: Server, timeout: float) -> None:
    """Wait until a relay-mode server says its class service connection is up."""
    url = f"http://127.0.0.1:{server.target.port}/collab/api/stats"
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                state = json.loads(response.read()).get("class_service", {}).get("state")
        except (OSError, urllib.error.URLError, ValueError):
            state = None
        if state == "connected":
            return
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{server.name}: upstream not connected ({state})\n{server.log_tail()}")


# -- Redis (several service processes) -------------------------------------------------------
REDIS_SERVER = "/usr/bin/redis-server"


def redis_command() -> str | None:
    """Debian's ``redis-server`` (or one on the PATH); None when there is none."""
    return REDIS_SERVER if Path(REDIS_SERVER).exists() else shutil.which("redis-server")


def start_redis(log_dir: Path, cores: str, timeout: float = 20.0) -> Server:
    """A fresh ``redis-server`` on 127.0.0.1 and a free port, pinned to ``cores``, its files
    in a temporary directory; configured as docs/deploy.md asks for the class service
    (``appendonly yes``, ``appendfsync everysec``), no RDB snapshots. Its target's ``path``
    is its URL (``redis://127.0.0.1:<port>/0``)."""
    command = redis_command()
    if command is None:
        raise RuntimeError("redis-server is missing (Debian: apt-get install redis-server)")
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="collab-bench-redis-"))
    config = workdir / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "bind 127.0.0.1",
                f"port {port}",
                "protected-mode no",
                "daemonize no",
                f'dir "{workdir}"',
                'save ""',
                "appendonly yes",
                "appendfsync everysec",
                "",
            ]
        )
    )
    log_path = log_dir / "server-redis.log"
    process = _spawn([command, str(config)], log_path, cores=cores)
    url = f"redis://127.0.0.1:{port}/0"
    server = Server(
        "redis", process, Target("redis", "127.0.0.1", port, url, process.pid), log_path, workdir
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return server
        except OSError:
            pass
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"redis-server did not start\n{server.log_tail()}")
