"""A plain ``pip install .`` into a fresh virtual environment gives a working extension.

The source is copied without any build output (no node_modules, lib/ or labextension/), so
pip's isolated build runs the hatch-jupyter-builder hook: ``jlpm install`` and
``jlpm build:prod`` (Node and the npm registry are needed, as for any source build).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .lab import REPO

SKIP_DIRS = {
    "node_modules",
    "lib",
    ".venv",
    "venv",
    ".git",
    "labextension",
    "test-artifacts",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".yarn",
    "dist",
    "build",
    ".jupyter-test",
}


def _copy_source(target: Path) -> None:
    """The files git would commit (tracked and untracked-but-not-ignored)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            check=True,
            capture_output=True,
        ).stdout
        files = [f for f in out.decode().split("\0") if f]
    except (OSError, subprocess.CalledProcessError):
        files = [
            str(p.relative_to(REPO))
            for p in REPO.rglob("*")
            if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(REPO).parts)
        ]
    for name in files:
        src = REPO / name
        if not src.is_file():  # deleted in the work tree
            continue
        dest = target / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest)
    assert not (target / "collab_widget" / "labextension").exists()


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{output[-6000:]}"
    return output


@pytest.mark.timeout(1800)
def test_pip_install_into_a_fresh_venv_enables_both_extensions(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _copy_source(src)
    venv = tmp_path / "venv"
    base_python = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True)
    bin_dir = venv / "bin"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))
    }
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(venv),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTER_PLATFORM_DIRS="0",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    pip = [str(bin_dir / "python"), "-m", "pip"]

    # The plain install: the build hook builds the front end from source.
    _run([*pip, "install", "."], cwd=src, env=env, timeout=1200)
    ext_dir = venv / "share" / "jupyter" / "labextensions" / "collab-widget"
    assert (ext_dir / "package.json").is_file()
    assert (ext_dir / "install.json").is_file()
    assert list((ext_dir / "static").glob("remoteEntry.*.js"))
    server_cfg = venv / "etc" / "jupyter" / "jupyter_server_config.d" / "collab_widget.json"
    assert server_cfg.is_file()

    # `jupyter labextension list` is a JupyterLab command.
    _run([*pip, "install", "jupyterlab>=4.2,<5"], cwd=tmp_path, env=env, timeout=1200)

    server_list = _run(
        [str(bin_dir / "jupyter"), "server", "extension", "list"], tmp_path, env, 300
    )
    plain = re.sub(r"\x1b\[[0-9;]*m", "", server_list)
    assert re.search(r"collab_widget\s+enabled", plain), plain
    assert re.search(r"collab_widget 0\.\d+\.\d+\S*\s+OK", plain), plain
    # ... enabled by the config file the wheel installed into this venv
    section = plain.split(f"Config dir: {venv / 'etc' / 'jupyter'}", 1)
    assert len(section) == 2 and "collab_widget enabled" in section[1].split("Config dir:")[0]

    lab_list = _run([str(bin_dir / "jupyter"), "labextension", "list"], tmp_path, env, 300)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", lab_list)
    assert re.search(r"collab-widget v0\.\d+\.\d+\S*\s+enabled\s+OK", plain), plain

    imported = _run(
        [
            str(bin_dir / "python"),
            "-c",
            "import collab_widget; r = collab_widget.Room('class-101'); print(repr(r))",
        ],
        tmp_path,
        env,
        120,
    )
    assert "Room('class-101', not connected, 0 members, 0 messages)" in imported
