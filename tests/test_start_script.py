"""The README's first command: scripts/start.sh sets up (again: it must be idempotent) and
serves JupyterLab on the demo notebook with the extension."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from .jupyter import free_port

REPO = Path(__file__).resolve().parents[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def test_start_script_serves_the_demo_notebook(tmp_path):
    port, token = free_port(), "start-script-test"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
    }
    with open(tmp_path / "start.log", "wb") as log:
        process = subprocess.Popen(
            ["bash", "scripts/start.sh", "--no-browser", f"--port={port}",
             f"--IdentityProvider.token={token}"],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 240
        while get(f"{base}api/status?token={token}") != 200:
            assert process.poll() is None, (tmp_path / "start.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "start.log").read_text()
            time.sleep(1)
        assert get(f"{base}lab/tree/class_demo.ipynb?token={token}") == 200
        assert get(f"{base}api/contents/class_demo.ipynb?token={token}") == 200
        assert get(f"{base}collab/api/rooms?token={token}") == 200
        assert get(f"{base}collab/api/rooms") == 403
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
