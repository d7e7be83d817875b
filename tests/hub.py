"""Start and stop a real local JupyterHub (dummy authenticator, simple spawner,
configurable-http-proxy) for tests, with collab-widget's ``collab`` service added by
``configure_hub`` as a user would add it.

Tokens: the Hub's ``tester`` service (:attr:`LocalHub.api_token`) creates users, groups,
servers and tokens. A single-user server's own ``JUPYTERHUB_API_TOKEN`` cannot be read through
the Hub's API; a test that needs a token carrying the collab service's scope makes one for the
user::

    token = hub.user_token(
        "alice",
        scopes=["access:services!service=collab", "read:users:groups!user", "read:users:name!user"],
    )

(``access:services!service=collab`` is a user's scope only with ``configure_hub``, which adds it
to ``JupyterHub.extra_user_scopes``.) :meth:`LocalHub.user_token` without scopes gives a token
with all of the user's own scopes, which is what a client of the user's server needs.

The simple spawner runs every user's server as the current user (root here, hence
``--allow-root``): the servers are separate processes with separate directories, not separate
OS users.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from collab_widget.client import CollabClient

from .jupyter import free_port

REPO = Path(__file__).resolve().parent.parent
PROXY_COMMAND = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
JUPYTERHUB = Path(sys.prefix) / "bin" / "jupyterhub"
SINGLEUSER = Path(sys.prefix) / "bin" / "jupyterhub-singleuser"
PASSWORD = "collab-test-password"
SERVICE_NAME = "collab"
#: The scopes of the ``tester`` service, whose token drives the Hub in tests.
TESTER_SCOPES = ["admin:users", "admin:servers", "admin:groups", "tokens", "shares"]
DEFAULT_USERS = ("alice", "bob", "carol")


class HubAPIError(RuntimeError):
    """The Hub's REST API answered with an error status."""

    def __init__(self, method: str, url: str, status: int, body: str) -> None:
        super().__init__(f"{method} {url} -> {status}: {body[:500]}")
        self.status = status
        self.body = body


class LocalHub:
    """A JupyterHub on free loopback ports, everything it writes inside ``workdir``.

    ``workdir`` holds ``jupyterhub_config.py``, ``hub.log``, the Hub's database and cookie
    secret, the service's directory (``collab-service``), each user's home and server root
    (``home/<user>``) and each user's own Jupyter config, data and runtime directories
    (``jupyter/<user>/{config,data,runtime}``: the user's server keeps its history database in
    ``jupyter/<user>/data/collab_widget``).

    :param workdir: the Hub's working directory (created if missing).
    :param configure: end the configuration with ``configure_hub(c, ...)`` (the ``collab``
        service); ``False``: a plain Hub whose users' servers each have their own rooms.
    :param hub_options: further keyword arguments for ``configure_hub`` (e.g.
        ``token_check_interval=2``).
    :param users: the users created (and whose servers are started) by :meth:`start`.
    :param groups: Hub groups with their members (``JupyterHub.load_groups``), e.g.
        ``{"physics": ["alice", "bob"]}``.
    :param start_servers: start every user's server in :meth:`start`.
    """

    def __init__(
        self,
        workdir: Path,
        configure: bool = True,
        hub_options: dict[str, Any] | None = None,
        users: list[str] | None = None,
        groups: dict[str, list[str]] | None = None,
        start_servers: bool = True,
    ) -> None:
        self.workdir = Path(workdir).resolve()
        self.configure = configure
        self.hub_options = dict(hub_options or {})
        self.users = list(DEFAULT_USERS if users is None else users)
        self.groups = {name: list(members) for name, members in (groups or {}).items()}
        self.start_servers = start_servers
        self.port = free_port()
        self.hub_port = free_port()
        self.proxy_api_port = free_port()
        self.service_port = free_port()
        self.api_token = os.urandom(24).hex()
        self.password = PASSWORD
        self.config_path = self.workdir / "jupyterhub_config.py"
        self.log_path = self.workdir / "hub.log"
        self.service_dir = self.workdir / "collab-service"
        self.process: subprocess.Popen[bytes] | None = None
        self._status_tokens: dict[str, str] = {}
        self._token_ids: dict[str, str] = {}  # token -> its id at the Hub
        self._descendants: set[int] = set()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The proxy's public URL (the Hub at ``hub/``, users' servers at ``user/<name>/``)."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def service_url(self) -> str:
        """The collab service's own URL (not through the proxy), as single-user servers get it
        in ``COLLAB_SERVICE_URL``: ``http://127.0.0.1:<port>/services/collab/``."""
        return f"http://127.0.0.1:{self.service_port}/services/{SERVICE_NAME}/"

    @property
    def public_service_url(self) -> str:
        """The collab service through the proxy: ``<url>services/collab/``."""
        return f"{self.url}services/{SERVICE_NAME}/"

    def server_url(self, user: str) -> str:
        """The user's default server through the proxy: ``<url>user/<user>/``."""
        return f"{self.url}user/{quote(user)}/"

    def home(self, user: str) -> Path:
        """The user's home and server root."""
        return self.workdir / "home" / user

    def jupyter_dir(self, user: str, kind: str = "data") -> Path:
        """The user's server's ``JUPYTER_<KIND>_DIR`` (``config``, ``data`` or ``runtime``)."""
        return self.workdir / "jupyter" / user / kind

    def history_path(self, user: str) -> Path:
        """Where the user's server's extension keeps its history database."""
        return self.jupyter_dir(user, "data") / "collab_widget" / "history.sqlite3"

    # -- configuration -----------------------------------------------------------------------

    def config_text(self) -> str:
        """``jupyterhub_config.py``, as a user would write it."""
        q = json.dumps  # a Python literal for strings and lists of strings, double-quoted
        load_groups = ", ".join(
            f"{q(name)}: {{{q('users')}: {q(members)}}}" for name, members in self.groups.items()
        )
        text = f'''\
"""A local JupyterHub for collab-widget's tests (written by tests/hub.py)."""

import os
import sys

c = get_config()  # noqa: F821
WORKDIR = {q(str(self.workdir))}

c.JupyterHub.bind_url = "http://127.0.0.1:{self.port}"
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{self.hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{self.proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{q(str(PROXY_COMMAND))}]
c.JupyterHub.db_url = "sqlite:///" + os.path.join(WORKDIR, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(WORKDIR, "jupyterhub_cookie_secret")

c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {q(self.password)}
c.Authenticator.allow_all = True

c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = os.path.join(WORKDIR, "home", "{{username}}")
c.Spawner.notebook_dir = os.path.join(WORKDIR, "home", "{{username}}")
c.Spawner.default_url = "/lab"
c.Spawner.cmd = [sys.prefix + "/bin/jupyterhub-singleuser"]
c.Spawner.args = ["--allow-root"]


def jupyter_dir(kind):
    """Each user's server gets Jupyter directories of its own (JupyterHub does not expand
    {{username}} in Spawner.environment values, but it calls callables with the spawner)."""

    def path(spawner):
        value = os.path.join(WORKDIR, "jupyter", spawner.user.name, kind)
        os.makedirs(value, exist_ok=True)
        return value

    return path


c.Spawner.environment = {{
    "JUPYTER_CONFIG_DIR": jupyter_dir("config"),
    "JUPYTER_DATA_DIR": jupyter_dir("data"),
    "JUPYTER_RUNTIME_DIR": jupyter_dir("runtime"),
}}

# the tests' own service: its token creates users, groups, servers and tokens
c.JupyterHub.services = [
    {{"name": "tester", "api_token": {q(self.api_token)}}},
]
c.JupyterHub.load_roles = [
    {{
        "name": "tester",
        "scopes": {q(TESTER_SCOPES)},
        "services": ["tester"],
    }},
]
c.JupyterHub.load_groups = {{{load_groups}}}
'''
        if self.configure:
            options = "".join(
                f"    {key}={q(value) if isinstance(value, str) else repr(value)},\n"
                for key, value in self.hub_options.items()
            )
            text += f"""
from collab_widget.hub import configure_hub

configure_hub(
    c,
    url="http://127.0.0.1:{self.service_port}",
    data_dir={q(str(self.service_dir))},
{options})
"""
        return text

    def environment(self) -> dict[str, str]:
        """The Hub's environment: this one without Jupyter's and JupyterHub's variables."""
        return {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("JUPYTER", "JPY_", "CONFIGPROXY_"))
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 60.0) -> LocalHub:
        """Write the configuration, start the Hub, wait until its API answers; then create the
        users and (with ``start_servers``) start their servers and wait until each answers."""
        if not PROXY_COMMAND.exists():
            raise RuntimeError(f"{PROXY_COMMAND} is missing: run `jlpm install`")
        self.workdir.mkdir(parents=True, exist_ok=True)
        for user in self.users:
            self.home(user).mkdir(parents=True, exist_ok=True)
            for kind in ("config", "data", "runtime"):
                self.jupyter_dir(user, kind).mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text())
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the fd
            self.process = subprocess.Popen(
                [str(JUPYTERHUB), "-f", str(self.config_path)],
                cwd=self.workdir,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait(self._hub_answers, timeout, "the Hub's API did not answer")
            existing = {u["name"] for u in self.api("GET", "users")}
            for user in self.users:
                if user not in existing:
                    self.create_user(user)
            if self.start_servers:
                for user in self.users:
                    self._request_server(user)
                for user in self.users:
                    self.wait_server(user)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM the Hub (it stops the users' servers, the proxy and the managed service),
        wait, then SIGKILL whatever of its process tree is left (the servers, the proxy and the
        service run in sessions of their own, so they are tracked as the Hub's descendants)."""
        if self.process is None:
            return
        self._remember_descendants()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._remember_descendants()
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while (alive := [pid for pid in self._descendants if _alive(pid)]) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.1)
        for pid in alive:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self._descendants.clear()

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the REST API ------------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        """Call the Hub's REST API (``<url>hub/api/<path>``) with the tester token (or
        ``token``); returns the parsed JSON answer (``None`` for an empty one).

        :raises HubAPIError: on an error status (its ``status`` says which).
        """
        url = f"{self.url}hub/api/{path.lstrip('/')}"
        return _request(method, url, body, token or self.api_token)

    def create_user(self, user: str) -> dict[str, Any]:
        """Create a user of the Hub (its server's directories are made when it starts)."""
        return self.api("POST", f"users/{quote(user)}")  # type: ignore[no-any-return]

    def user_token(
        self, user: str, scopes: list[str] | None = None, note: str = "collab-widget tests"
    ) -> str:
        """A new API token of ``user`` (with ``scopes``, or all of the user's own)."""
        body: dict[str, Any] = {"note": note}
        if scopes is not None:
            body["scopes"] = scopes
        made = self.api("POST", f"users/{quote(user)}/tokens", body)
        self._token_ids[str(made["token"])] = str(made["id"])
        return str(made["token"])

    def client(self, user: str, **kw: Any) -> CollabClient:
        """A Python client of ``user``'s own server, with a new token of ``user``."""
        return CollabClient(self.server_url(user), token=self.user_token(user), **kw)

    def revoke_token(self, user: str, token: str) -> None:
        """Revoke a token made by :meth:`user_token`."""
        self.api("DELETE", f"users/{quote(user)}/tokens/{self._token_ids.pop(token)}")

    def start_server(self, user: str, timeout: float = 60.0) -> None:
        """Start the user's default server and wait until ``api/status`` answers."""
        self._request_server(user)
        self.wait_server(user, timeout)

    def wait_server(self, user: str, timeout: float = 60.0) -> None:
        """Wait until the Hub says the user's server is ready and it answers through the
        proxy."""

        def ready() -> bool:
            server = self.api("GET", f"users/{quote(user)}")["servers"].get("")
            if server is None:
                raise RuntimeError(f"{user}'s server is not running:\n{self.log(40)}")
            return bool(server["ready"])

        self._wait(ready, timeout, f"{user}'s server did not become ready")
        token = self._status_tokens.get(user) or self.user_token(user, note="readiness")
        self._status_tokens[user] = token
        self._wait(
            lambda: _status(f"{self.server_url(user)}api/status", token) == 200,
            timeout,
            f"{user}'s server did not answer api/status",
        )

    def stop_server(self, user: str, timeout: float = 30.0) -> None:
        """Stop the user's default server and wait until the Hub has stopped it (which also
        revokes the server's ``JUPYTERHUB_API_TOKEN``)."""
        self.api("DELETE", f"users/{quote(user)}/server")
        self._wait(
            lambda: "" not in self.api("GET", f"users/{quote(user)}")["servers"],
            timeout,
            f"{user}'s server did not stop",
        )

    # -- the managed service -----------------------------------------------------------------

    def service_pid(self) -> int | None:
        """The pid of the managed ``collab`` service (``python -m collab_widget.hub``, a child
        of the Hub), or ``None`` while there is none."""
        if self.process is None:
            return None
        for pid in _children(self.process.pid):
            if "collab_widget.hub" in " ".join(_cmdline(pid)):
                return pid
        return None

    def service_pids(self) -> dict[str, int]:
        """The managed services' pids by service name (``collab``, ``collab-1``, ...)."""
        if self.process is None:
            return {}
        found: dict[str, int] = {}
        for pid in _children(self.process.pid):
            if "collab_widget.hub" in " ".join(_cmdline(pid)):
                found[_environ(pid).get("JUPYTERHUB_SERVICE_NAME", "?")] = pid
        return found

    def kill_pid(self, pid: int) -> None:
        """SIGKILL one of the Hub's processes (a service replica), as a crash would."""
        self._remember_descendants()
        os.kill(pid, signal.SIGKILL)

    def kill_service(self) -> int:
        """SIGKILL the managed service; returns its pid.

        JupyterHub restarts a managed service that exits, but only notices at its next poll of
        the process: every 30 s (+-10 % jitter) counted from the service's (re)start, and not
        configurable (a service's spawner is made without the Hub's config, so
        ``Spawner.poll_interval`` does not apply). So the new process comes 0-33 s after the kill
        (measured: 17.6 s; 29.0 s for a kill right after a restart), plus about a second for
        the service to answer: give :meth:`wait_service` a timeout of 60 s.
        """
        pid = self.service_pid()
        if pid is None:
            raise RuntimeError(f"the collab service is not running:\n{self.log(40)}")
        self._remember_descendants()
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_service(self, not_pid: int | None = None, timeout: float = 60.0) -> int:
        """Wait until the managed service runs (as a process other than ``not_pid``) and
        answers HTTP at :attr:`service_url` (any status); returns its pid."""
        found: list[int] = []

        def running() -> bool:
            pid = self.service_pid()
            if pid is None or pid == not_pid:
                return False
            found[:] = [pid]
            return _status(self.service_url, None) is not None

        self._wait(running, timeout, "the collab service did not start")
        self._remember_descendants()
        return found[0]

    # -- logs and helpers --------------------------------------------------------------------

    def log(self, tail: int | None = None) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace")
        return text if tail is None else "\n".join(text.splitlines()[-tail:])

    def _hub_answers(self) -> bool:
        return _status(f"{self.url}hub/api/", None) == 200

    def _request_server(self, user: str) -> None:
        try:
            self.api("POST", f"users/{quote(user)}/server")
        except HubAPIError as error:
            if error.status != 400 or "already running" not in error.body:
                raise

    def _wait(self, check: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited:\n{self.log(60)}")
            if check():
                self._remember_descendants()
                return
            time.sleep(0.1)
        raise RuntimeError(f"{what} within {timeout} s:\n{self.log(60)}")

    def _remember_descendants(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self._descendants |= _descendants(self.process.pid)


def _request(method: str, url: str, body: Any, token: str | None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if token:
        headers["Authorization"] = f"token {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            raw = response.read()
    except urllib.error.HTTPError as error:
        raise HubAPIError(method, url, error.code, error.read().decode(errors="replace")) from None
    return json.loads(raw) if raw.strip() else None


def _status(url: str, token: str | None) -> int | None:
    """The HTTP status of a GET (``None``: no answer)."""
    headers = {"Authorization": f"token {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process (psutil when installed, else Linux's /proc)."""
    try:
        import psutil
    except ImportError:
        parents = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        return parents
    return {p.info["pid"]: p.info["ppid"] or 0 for p in psutil.process_iter(["pid", "ppid"])}


def _children(pid: int) -> list[int]:
    return sorted(child for child, parent in _parents().items() if parent == pid)


def _descendants(pid: int) -> set[int]:
    parents = _parents()
    found: set[int] = set()
    todo = [pid]
    while todo:
        current = todo.pop()
        for child, parent in parents.items():
            if parent == current and child not in found:
                found.add(child)
                todo.append(child)
    return found


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _environ(pid: int) -> dict[str, str]:
    """A process's environment (empty when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.partition(b"=") for item in raw.split(b"\0") if item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, _, v in pairs}
