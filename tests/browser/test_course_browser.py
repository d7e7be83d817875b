"""The course's proof-of-life notebook, run in JupyterLab in Chromium: "Run All Cells" goes
through every cell without an error, and its Room widget connects."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from .conftest import NewUser
from .lab import Lab, log_lines, open_notebook, wait_connected, wait_kernel_idle

NOTEBOOK = "03_proof_of_life.ipynb"
ROOM = "proof-of-life"

#: The notebook model's code cells: index, execution count and outputs.
CODE_CELLS_JS = """() => {
  const cells = window.jupyterapp.shell.currentWidget.content.model.cells;
  const out = [];
  for (let i = 0; i < cells.length; i++) {
    const cell = cells.get(i);
    if (cell.type === 'code') {
      out.push({index: i, count: cell.executionCount, outputs: cell.outputs.toJSON()});
    }
  }
  return out;
}"""

#: The kernel's status ("idle", "busy", ...).
KERNEL_STATUS_JS = """() => {
  const session = window.jupyterapp.shell.currentWidget.sessionContext.session;
  return session && session.kernel ? session.kernel.status : 'none';
}"""


def problems_of(cells: list[dict]) -> list[str]:
    """Error outputs and anything written to stderr."""
    return [
        f"cell {cell['index']}: {output.get('ename')}: {output.get('evalue')}"
        if output.get("output_type") == "error"
        else f"cell {cell['index']} wrote to stderr: {output.get('text')}"
        for cell in cells
        for output in cell["outputs"]
        if output.get("output_type") == "error"
        or (output.get("output_type") == "stream" and output.get("name") == "stderr")
    ]


@pytest.mark.timeout(300)
def test_proof_of_life_runs_all_cells_in_jupyterlab(new_user: NewUser, lab: Lab) -> None:
    page = new_user()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    open_notebook(page, lab, NOTEBOOK, "course")
    wait_kernel_idle(page)

    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Run All stops at a cell with an error: wait until every cell ran, or one failed.
    deadline = time.monotonic() + 120
    while True:
        page.wait_for_timeout(500)
        cells = page.evaluate(CODE_CELLS_JS)
        problems = problems_of(cells)
        done = all(cell["count"] for cell in cells)
        if problems or (done and page.evaluate(KERNEL_STATUS_JS) == "idle"):
            break
        assert time.monotonic() < deadline, f"not every cell ran: {cells}"
    assert cells, "no code cells"
    assert not problems, "\n".join(problems)

    # The Room widget at the end of the notebook connects this tab to its room.
    view = page.locator(".jp-Notebook [data-testid=collab-room]")
    expect(view).to_have_count(1, timeout=30_000)
    wait_connected(view)
    expect(view.get_by_test_id("room-name")).to_have_text(ROOM)
    expect(log_lines(view, "connected via websocket, sid")).to_have_count(1)
    assert not errors, errors
