"""Start, stop, kill and restart a real Redis server (Debian's ``redis-server``) for tests.

The server listens on ``127.0.0.1`` and a free port, never the system's 6379, and keeps every
file it writes (``redis.conf``, ``redis.log``, the append-only files in ``appendonlydir``)
inside its ``workdir``. With ``appendonly`` (the default) writes are logged with
``appendfsync everysec``: a :meth:`RedisServer.restart` (SIGTERM, clean shutdown) keeps
everything; a :meth:`RedisServer.kill` (SIGKILL) keeps everything Redis had written to the
file, which it does before answering, so only a crash of the machine itself could lose the
last second. No RDB snapshots (``save ""``)::

    with RedisServer(tmp_path) as redis_server:
        redis_server.client().set("k", "v")
        redis_server.restart(downtime=1.0)  # same port, same data
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import redis

from .jupyter import free_port

#: Debian's package (``scripts/setup.sh --test`` installs it).
REDIS_SERVER = "/usr/bin/redis-server"


class RedisServer:
    """A ``redis-server`` subprocess on ``127.0.0.1:<port>``, its data in ``workdir``.

    :param workdir: the server's ``dir`` (created if missing): config, log and data files.
    :param port: the port (default: a free one); kept across :meth:`stop` / :meth:`start`.
    :param appendonly: log every write to the append-only file (``appendfsync everysec``),
        so the data survives restarts; ``False``: an in-memory server (no persistence at all).
    """

    def __init__(self, workdir: Path, port: int | None = None, appendonly: bool = True) -> None:
        self.workdir = Path(workdir).resolve()
        self.port = free_port() if port is None else port
        self.appendonly = appendonly
        self.config_path = self.workdir / "redis.conf"
        self.log_path = self.workdir / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        """The process is alive (it may not answer yet)."""
        return self.process is not None and self.process.poll() is None

    def config_text(self) -> str:
        """``redis.conf``: loopback only, foreground, files in ``workdir``."""
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode no",
            "daemonize no",
            f'dir "{self.workdir}"',
            f'logfile "{self.log_path}"',
            'save ""',
            f"appendonly {'yes' if self.appendonly else 'no'}",
            "appendfsync everysec",
            "databases 16",
        ]
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 20.0) -> RedisServer:
        """Start the server (a no-op when it runs) and wait until it answers ``PING``."""
        if self.running:
            return self
        command = REDIS_SERVER if Path(REDIS_SERVER).exists() else shutil.which("redis-server")
        if command is None:
            raise RuntimeError("redis-server is missing: run scripts/setup.sh --test")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config_text())
        with open(self.workdir / "redis.stdout", "ab") as out:  # before the logfile is open
            self.process = subprocess.Popen(
                [command, str(self.config_path)], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{self.log(tail=30)}")
            if self.ping():
                return self
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not start:\n{self.log(tail=30)}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (Redis flushes the append-only file and exits), wait; SIGKILL fallback."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash of the server process (no shutdown, no final flush)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()

    def restart(self, downtime: float = 0.0, timeout: float = 20.0) -> RedisServer:
        """:meth:`stop`, stay down ``downtime`` seconds, :meth:`start` on the same port and
        directory (the append-only file is loaded again)."""
        self.stop()
        if downtime > 0:
            time.sleep(downtime)
        return self.start(timeout)

    def ping(self, timeout: float = 1.0) -> bool:
        """The server answers ``PING`` with ``+PONG`` (not ``-LOADING`` or nothing)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def client(self, **kwargs: Any) -> redis.Redis:
        """A sync redis-py client of database 0 (``kwargs`` go to ``redis.Redis.from_url``);
        the caller closes it."""
        return redis.Redis.from_url(self.url, **kwargs)

    def log(self, tail: int | None = None) -> str:
        """The server's log (its last ``tail`` lines)."""
        parts = []
        for path in (self.workdir / "redis.stdout", self.log_path):
            with contextlib.suppress(OSError):
                parts.append(path.read_text(errors="replace"))
        text = "".join(parts)
        return text if tail is None else "\n".join(text.splitlines()[-tail:])

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
