"""Start and stop a real Jupyter server with collab-widget, as a subprocess, for tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

SUPPORT = Path(__file__).parent / "support"
SHARED_TOKEN = "shared-class-token"
IDENTITY_PROVIDER = "collab_test_identity.TokenUsersIdentityProvider"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JupyterServer:
    """A ``jupyter server`` process on a free loopback port.

    :param workdir: holds the server's root, config, data and the history database.
    :param args: extra command-line arguments (e.g. ``--CollabApp.history_limit=3``).
    :param base_url: the server's base URL (not ``/``, to prove the prefix is honoured).
    """

    def __init__(self, workdir: Path, args: list[str] | None = None, base_url: str = "/jp/"):
        self.workdir = workdir
        self.args = list(args or [])
        self.base_url = base_url
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "server.log"
        for sub in ("root", "config", "data", "runtime"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        self.history_path = workdir / "data" / "history.sqlite3"
        (workdir / "config" / "jupyter_server_config.json").write_text(
            json.dumps(
                {
                    "ServerApp": {
                        "identity_provider_class": IDENTITY_PROVIDER,
                    },
                    "IdentityProvider": {"token": SHARED_TOKEN},
                }
            )
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def start(self, timeout: float = 60.0) -> JupyterServer:
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.workdir / "config"),
            "JUPYTER_DATA_DIR": str(self.workdir / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.workdir / "runtime"),
            "PYTHONPATH": os.pathsep.join(
                filter(None, [str(SUPPORT), os.environ.get("PYTHONPATH")])
            ),
        }
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.base_url={self.base_url}",
            f"--ServerApp.root_dir={self.workdir / 'root'}",
            f"--CollabApp.history_path={self.history_path}",
            *self.args,
        ]
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter server exited:\n{self.log()}")
            try:
                req = urllib.request.Request(
                    self.url + "api/status", headers={"Authorization": f"token {SHARED_TOKEN}"}
                )
                with urllib.request.urlopen(req, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"jupyter server did not start:\n{self.log()}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop like Ctrl+C does (SIGINT twice = no confirmation), so extensions shut down."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # SIGTERM: jupyter_server shuts down cleanly
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
