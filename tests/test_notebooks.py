"""The course (notebooks/0*.ipynb) and the teacher guide: each notebook runs top to bottom in a
plain kernel, without an error and within its time limit, and every notebook of notebooks/ is
stored clean.

The notebooks start their own servers on 127.0.0.1 and stop them at the end; the ``Room`` cells
only create the widget's model here (no front end), which must work too. Running them in
JupyterLab, with the widget connected, is tests/browser/test_course_browser.py.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
COURSE = [
    "01_http_vs_websocket.ipynb",
    "02_socketio_events_rooms.ipynb",
    "03_proof_of_life.ipynb",
    "04_where_it_sits.ipynb",
]
#: Guides that run top to bottom too (their Room cells without a front end, as here).
GUIDES = ["teacher_guide.ipynb"]
#: Every notebook executed here.
EXECUTED = COURSE + GUIDES
#: Seconds one cell may take, and a whole notebook (kernel start included).
CELL_TIMEOUT = 60
NOTEBOOK_LIMIT = 60
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: A URL whose host is not 127.0.0.1 (the notebooks use no network beyond localhost).
FOREIGN_URL = re.compile(r"\b(?:https?|wss?)://(?!127\.0\.0\.1[:/])[\w.\[\]-]+")


def code_cells(nb: nbformat.NotebookNode) -> list[tuple[int, nbformat.NotebookNode]]:
    return [(i, cell) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]


def test_the_course_is_there() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("0*.ipynb")) == COURSE


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", EXECUTED, ids=lambda name: name.split("_")[0])
def test_notebook_runs_top_to_bottom(name: str, tmp_path: Path) -> None:
    copy = tmp_path / name
    shutil.copy(NOTEBOOKS / name, copy)
    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    start = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - start

    problems = []
    for i, cell in code_cells(nb):
        if cell.execution_count is None:
            problems.append(f"cell {i} did not run")
        for output in cell.outputs:
            if output.output_type == "error":
                problems.append(f"cell {i}: {output.ename}: {output.evalue}")
            elif output.output_type == "stream" and output.name == "stderr":
                # e.g. an exception of a background task, logged by asyncio or tornado
                problems.append(f"cell {i} wrote to stderr: {output.text[-500:]}")
    assert not problems, "\n".join(problems)
    assert elapsed < NOTEBOOK_LIMIT, f"{name} took {elapsed:.0f} s"

    # The widget cells ran and created a Room model (shown as a widget view).
    room_cells = [cell for _, cell in code_cells(nb) if "Room(" in cell.source]
    if name in ("03_proof_of_life.ipynb", "04_where_it_sits.ipynb"):
        assert room_cells, "the notebook ends with the Room widget"
    for cell in room_cells:
        assert any(WIDGET_VIEW in output.get("data", {}) for output in cell.outputs), cell.source


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_is_stored_clean(path: Path) -> None:
    """No outputs, no execution counts and no saved widget state: the repository stays clean."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in code_cells(nb):
        assert cell.outputs == [], f"{path.name}: cell {i} has outputs"
        assert cell.execution_count is None, f"{path.name}: cell {i} has an execution count"
    assert "widgets" not in nb.metadata, f"{path.name} holds saved widget state"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("name", EXECUTED, ids=lambda name: name.split("_")[0])
def test_notebook_talks_to_localhost_only(name: str) -> None:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    for i, cell in code_cells(nb):
        assert not FOREIGN_URL.search(cell.source), f"{name}: cell {i} names another host"
        assert "0.0.0.0" not in cell.source, f"{name}: cell {i} listens beyond localhost"
