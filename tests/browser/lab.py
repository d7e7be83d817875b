"""A real JupyterLab subprocess for browser tests, and helpers to drive it with Playwright."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from ..jupyter import JupyterProcess

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("COLLAB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

#: Engine.IO ping settings of the test server: a vanished client is dropped within ~4 s.
PING_INTERVAL = 2
PING_TIMEOUT = 2
#: A small history page, so that scrolling up has to load older pages.
HISTORY_PAGE_SIZE = 10


class Lab(JupyterProcess):
    """``jupyter lab`` on a free loopback port, with its own config, data and notebook root.

    The notebooks of the repository are copied to a temporary root; the user settings turn off
    the news/update toasts so nothing covers the page.
    """

    name = "jupyterlab"

    def __init__(self, workdir: Path, base_url: str = "/jp/") -> None:
        super().__init__(workdir, base_url=base_url, token=secrets.token_hex(16))
        shutil.copytree(NOTEBOOKS, self.root)
        settings = workdir / "config" / "lab" / "user-settings" / "@jupyterlab"
        notification = settings / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(
            json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True})
        )

    def notebook_url(self, path: str, workspace: str) -> str:
        """The notebook in JupyterLab, in its own workspace (so two users' layouts don't mix)."""
        return f"{self.url}lab/workspaces/{workspace}/tree/{path}?token={self.token}"

    def command(self) -> list[str]:
        return [
            *super().command(),
            "--LabApp.expose_app_in_browser=True",
            "--JupyterNotebookApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            f"--CollabApp.ping_interval={PING_INTERVAL}",
            f"--CollabApp.ping_timeout={PING_TIMEOUT}",
            f"--CollabApp.history_page_size={HISTORY_PAGE_SIZE}",
        ]

    def start(self, timeout: float = 90.0) -> Lab:
        super().start(timeout)
        return self


# ---- test notebooks ----------------------------------------------------------------------


def code_cell(cell_id: str, source: str) -> dict[str, object]:
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": {},
        "outputs": [],
        "source": [source],
    }


def markdown_cell(cell_id: str, source: str) -> dict[str, object]:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": [source]}


def room_cell(room: str | None, show: str = "room") -> dict[str, object]:
    """The cell that makes the Room (``Room()`` for None) and shows it (``show``: an
    expression, or "" to show the Room itself as the cell's value)."""
    made = f'Room("{room}")' if room is not None else "Room()"
    body = f"room = {made}\n{show}" if show else made
    return code_cell("room-cell", f"from collab_widget import Room\n{body}")


def tall_cells(count: int, lines: int, prefix: str) -> list[dict[str, object]]:
    """``count`` code cells of ``lines`` lines each (to make a notebook taller than a screen)."""
    return [
        code_cell(f"tall-{i}", "\n".join(f"{prefix}_{i}_{j} = {j}" for j in range(lines)))
        for i in range(count)
    ]


def notebook_file(*cells: dict[str, object]) -> str:
    """A Python 3 notebook with these cells, as a file's text."""
    return json.dumps(
        {
            "cells": list(cells),
            "metadata": {
                "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )


# ---- page helpers ------------------------------------------------------------------------


def open_notebook(page: Page, lab: Lab, path: str, workspace: str | None) -> None:
    """Open a notebook and wait until its cells and its kernel are there.

    With a workspace name, in JupyterLab; with None, in Jupyter Notebook 7.
    """
    if workspace is None:
        url = f"{lab.url}notebooks/{path}?token={lab.token}"
    else:
        url = lab.notebook_url(path, workspace)
    page.goto(url, wait_until="domcontentloaded")
    expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    wait_kernel_idle(page)


def wait_kernel_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the current notebook's kernel is connected and idle."""
    page.wait_for_function(
        """() => {
          const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
          const ctx = panel && panel.sessionContext;
          const kernel = ctx && ctx.session && ctx.session.kernel;
          return !!(ctx && ctx.isReady && kernel && kernel.status === 'idle'
                    && kernel.connectionStatus === 'connected');
        }""",
        timeout=timeout,
    )


def run_cell(page: Page, index: int) -> None:
    """Click into a code cell and run it with Shift+Enter, as a person would."""
    wait_kernel_idle(page)
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.inner_text().strip()
    for attempt in range(3):
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-editor").click()
        expect(cell).to_have_class(re.compile(r"jp-mod-active"))
        page.keyboard.press("Shift+Enter")
        try:
            # "[*]:" while running, then "[n]:" with a new execution count.
            expect(prompt).not_to_have_text(before, timeout=10_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def cell_output(page: Page, index: int) -> Locator:
    return page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-OutputArea-output")


def room_view(page: Page, cell_index: int = 1) -> Locator:
    """The Room widget shown under a cell."""
    return (
        page.locator(".jp-Notebook .jp-Cell").nth(cell_index).locator("[data-testid=collab-room]")
    )


def wait_connected(view: Locator, timeout: float = 60_000) -> None:
    expect(view).to_be_visible(timeout=timeout)
    expect(view.get_by_test_id("connection-state")).to_have_attribute(
        "data-state", "connected", timeout=timeout
    )
    expect(view.get_by_test_id("connection-state")).to_contain_text("connected ·", timeout=timeout)


def me(view: Locator) -> tuple[str, str]:
    """(display name, username) of the user of this view (the member row marked "(you)").

    Anonymous display names are random moons and may repeat; usernames are unique.
    """
    row = view.locator("[data-testid=member].jp-mod-you")
    expect(row).to_have_count(1, timeout=30_000)
    name = row.locator(".jp-CollabRoom-memberName").inner_text().strip()
    username = row.get_attribute("data-username")
    assert username
    return name, username


def send_chat(view: Locator, text: str) -> None:
    box = view.get_by_test_id("chat-input")
    box.click()
    box.fill(text)
    box.press("Enter")


def messages_with_text(view: Locator, text: str) -> Locator:
    return view.locator("[data-testid=message]").filter(
        has=view.page.get_by_test_id("message-text").get_by_text(text, exact=True)
    )


def log_lines(view: Locator, text: str) -> Locator:
    return view.get_by_test_id("log-line").filter(has_text=text)


def member_lines(view: Locator, kind: str, username: str) -> Locator:
    """Log lines about one member: kind is "join" (connected), "leave" or "here"."""
    return view.locator(f'[data-testid=log-line][data-kind="{kind}"][data-username="{username}"]')


def load_all_history(view: Locator, max_pages: int = 50) -> None:
    """Scroll the chat up (mouse wheel) until the start of the conversation is loaded."""
    page = view.page
    older = view.get_by_test_id("older")
    scroller = view.locator(".jp-CollabRoom-scroll")
    for _ in range(max_pages):
        if older.inner_text().strip() == "start of the conversation":
            return
        count = view.get_by_test_id("message").count()
        scroller.hover()
        page.mouse.wheel(0, -20_000)
        page.wait_for_function(
            """([el, count]) => {
              const older = el.querySelector('[data-testid=older]').textContent;
              const n = el.querySelectorAll('[data-testid=message]').length;
              return older === 'start of the conversation' || n > count;
            }""",
            arg=[view.element_handle(), count],
            timeout=10_000,
        )
    raise AssertionError("history did not end")


def kernel_output(page: Page, code: str) -> str:
    """Run code in the current notebook's kernel (not in a cell) and return its stdout."""
    wait_kernel_idle(page)
    return page.evaluate(
        """async code => {
          const panel = window.jupyterapp.shell.currentWidget;
          const kernel = panel.sessionContext.session.kernel;
          const future = kernel.requestExecute({code, store_history: false});
          let text = '';
          future.onIOPub = msg => {
            if (msg.header.msg_type === 'stream') text += msg.content.text;
            if (msg.header.msg_type === 'error') {
              text += `${msg.content.ename}: ${msg.content.evalue}`;
            }
          };
          await future.done;
          return text;
        }""",
        code,
    )


def kernel_output_until(
    page: Page, code: str, done: Callable[[str], bool], timeout_ms: int = 10_000
) -> str:
    """Run code in the kernel (as kernel_output) until done(its stdout) holds, and return that
    stdout; the last one if it never holds. The front end writes a Room's state to the kernel
    at most every 150 ms, so what the kernel sees trails what the tab shows."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        out = kernel_output(page, code)
        if done(out) or time.monotonic() > deadline:
            return out
        page.wait_for_timeout(200)


def dismiss_dialogs(page: Page, quiet_ms: int = 1_500, limit_ms: int = 20_000) -> None:
    """Close JupyterLab's dialogs (e.g. "Server Connection Error") until none shows up for a
    while, as a user clicking "Dismiss" would."""
    dialog = page.locator(".jp-Dialog")
    quiet = waited = 0
    while quiet < quiet_ms and waited < limit_ms:
        if dialog.count():
            quiet = 0
            buttons = dialog.first.locator(".jp-Dialog-footer button")
            if buttons.count():
                buttons.first.click()
            else:
                page.keyboard.press("Escape")
        page.wait_for_timeout(250)
        quiet += 250
        waited += 250
    expect(dialog).to_have_count(0)


@dataclass
class TwoUsers:
    """Two users (two browser contexts) who opened one notebook and ran its Room cell.

    ``names``/``users`` hold each one's display name and username (keys ``a``, ``b``);
    ``errors`` collects uncaught page errors of both.
    """

    a: Page
    b: Page
    cell: int
    names: dict[str, str] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def view_a(self) -> Locator:
        return room_view(self.a, self.cell)

    @property
    def view_b(self) -> Locator:
        return room_view(self.b, self.cell)


def two_users_in_room(
    a: Page, b: Page, lab: Lab, notebook: str, cell: int, workspaces: tuple[str, str]
) -> TwoUsers:
    """A opens ``notebook`` and runs ``cell`` (a Room), then B does, each in its workspace."""
    pair = TwoUsers(a, b, cell)
    for page in (a, b):
        page.on("pageerror", lambda exc: pair.errors.append(str(exc)))
    for page, workspace in zip((a, b), workspaces, strict=True):
        open_notebook(page, lab, notebook, workspace)
        run_cell(page, cell)
        wait_connected(room_view(page, cell))
    pair.names["a"], pair.users["a"] = me(pair.view_a)
    pair.names["b"], pair.users["b"] = me(pair.view_b)
    return pair
