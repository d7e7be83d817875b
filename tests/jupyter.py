"""Start and stop real Jupyter apps (a server, JupyterLab) with collab-widget, as subprocesses."""

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
from typing import Any

SUPPORT = Path(__file__).parent / "support"
SHARED_TOKEN = "shared-class-token"
IDENTITY_PROVIDER = "collab_test_identity.TokenUsersIdentityProvider"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JupyterProcess:
    """A Jupyter application on a free loopback port, with its own config, data and runtime
    directories under ``workdir``; subclasses say which command runs.

    :param workdir: holds the app's root, config, data and the history database.
    :param args: extra command-line arguments (e.g. ``--CollabApp.history_limit=3``).
    :param base_url: the server's base URL (not ``/``, to prove the prefix is honoured).
    :param token: the token the readiness check (and the tests) authenticate with.
    """

    name = "jupyter"

    def __init__(
        self,
        workdir: Path,
        args: list[str] | None = None,
        base_url: str = "/jp/",
        token: str = SHARED_TOKEN,
    ) -> None:
        self.workdir = workdir
        self.args = list(args or [])
        self.base_url = base_url
        self.token = token
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"{self.name}.log"
        self.root = workdir / "root"
        self.history_path = workdir / "data" / "history.sqlite3"
        for sub in ("config", "data", "runtime"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    def environment(self) -> dict[str, str]:
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.workdir / "config"),
            "JUPYTER_DATA_DIR": str(self.workdir / "data"),
            "JUPYTER_RUNTIME_DIR": str(self.workdir / "runtime"),
            "JUPYTER_PLATFORM_DIRS": "0",
        }
        env.pop("JUPYTER_TOKEN", None)
        return env

    def command(self) -> list[str]:
        """The app's command line, without ``self.args``."""
        return [
            sys.executable, "-m", self.name,
            "--no-browser", "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.base_url={self.base_url}",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={self.token}",
            f"--CollabApp.history_path={self.history_path}",
        ]  # fmt: skip

    def start(self, timeout: float = 90.0) -> JupyterProcess:
        """Start and wait until ``api/status`` answers."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                [*self.command(), *self.args],
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log()}")
            try:
                req = urllib.request.Request(
                    self.url + "api/status", headers={"Authorization": f"token {self.token}"}
                )
                with urllib.request.urlopen(req, timeout=2) as response:
                    if response.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.log()}")

    def get_json(self, path: str, token: str | None = None) -> Any:
        """GET ``path`` (under the base URL) with ``token`` (default: the server's own) and
        decode the JSON answer; an HTTP error raises ``urllib.error.HTTPError``."""
        headers = {"Authorization": f"token {token or self.token}"}
        request = urllib.request.Request(self.url + path, headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM (jupyter_server shuts down cleanly, extensions included), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log(self, tail: int | None = None) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return text if tail is None else "\n".join(text.splitlines()[-tail:])


class JupyterServer(JupyterProcess):
    """``jupyter server`` with the test IdentityProvider (``tests/support``): each
    ``token-<name>`` is one named user, the shared token gives anonymous users."""

    name = "jupyter_server"

    def __init__(self, workdir: Path, args: list[str] | None = None, base_url: str = "/jp/"):
        super().__init__(workdir, args, base_url)
        (workdir / "config" / "jupyter_server_config.json").write_text(
            json.dumps({"ServerApp": {"identity_provider_class": IDENTITY_PROVIDER}})
        )

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SUPPORT), env.get("PYTHONPATH")]))
        return env

    def start(self, timeout: float = 60.0) -> JupyterServer:
        super().start(timeout)
        return self
