"""Two real users of a real JupyterHub in Chromium: each logs in through the Hub's login page,
opens a notebook on their own single-user server and runs ``Room("class-101")``; the servers
relay to the Hub's ``collab`` service (``configure_hub``), so both meet in one room.

The Hub is this module's own (tests/hub.py, configured like ``tests.hub_fixtures.hub``): its
users' servers get a Jupyter config that exposes ``window.jupyterapp`` (which the page helpers
of lab.py use to wait for the kernel) and turns off JupyterLab's news and update toasts, and
that config has to be in place before the servers start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from ..hub import LocalHub
from .lab import (
    ARTIFACTS,
    code_cell,
    log_lines,
    me,
    messages_with_text,
    notebook_file,
    room_cell,
    room_view,
    run_cell,
    send_chat,
    wait_connected,
    wait_kernel_idle,
)

pytestmark = pytest.mark.timeout(300)

USERS = ["alice", "bob"]
ROOM = "class-101"
NOTEBOOK = "class.ipynb"
CELL_ROOM = 0  # from collab_widget import Room; Room("class-101")
CELL_CODE = 1  # x = 1 (where each user puts their cursor)
TIMEOUT = 90_000  # ms: the Hub (login, OAuth with the user's server, relay) is slower

NOTEBOOK_TEXT = notebook_file(
    room_cell(ROOM, show=""),
    code_cell("code-cell", "x = 1"),
)


#: The users' servers' Jupyter config (``JUPYTER_CONFIG_DIR/jupyter_server_config.json``).
SERVER_CONFIG = {
    "LabApp": {
        "expose_app_in_browser": True,
        "news_url": None,
        "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
    }
}
NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}


def prepare_user(local_hub: LocalHub, user: str) -> None:
    """The user's Jupyter config and JupyterLab settings, and the class notebook in their
    server's root."""
    config = local_hub.jupyter_dir(user, "config")
    config.mkdir(parents=True, exist_ok=True)
    (config / "jupyter_server_config.json").write_text(json.dumps(SERVER_CONFIG))
    notification = (
        config
        / "lab"
        / "user-settings"
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings"
    )
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps(NOTIFICATION_SETTINGS))
    home = local_hub.home(user)
    home.mkdir(parents=True, exist_ok=True)
    (home / NOTEBOOK).write_text(NOTEBOOK_TEXT)


@pytest.fixture(scope="module")
def class_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """A Hub with the ``collab`` service and the users alice and bob, their servers running
    with the config of :func:`prepare_user`."""
    local_hub = LocalHub(
        tmp_path_factory.mktemp("hub-browser"),
        configure=True,
        hub_options={"token_check_interval": 2},
        users=USERS,
        groups={"physics": USERS},
    )
    for user in USERS:
        prepare_user(local_hub, user)
    with local_hub:
        yield local_hub


class Student:
    """One user in a browser context of their own (own cookies), with its console and errors."""

    def __init__(self, browser: Browser, user: str) -> None:
        self.user = user
        self.context: BrowserContext = browser.new_context(viewport={"width": 1280, "height": 1000})
        self.context.set_default_timeout(30_000)
        self.page: Page = self.context.new_page()
        self.console: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", lambda msg: self.console.append(f"[{msg.type}] {msg.text}"))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    @property
    def view(self) -> Locator:
        return room_view(self.page, CELL_ROOM)

    def log_in(self, local_hub: LocalHub) -> None:
        """Through the Hub's login page; the Hub sends the user on to their server's lab."""
        page = self.page
        page.goto(f"{local_hub.url}hub/login", wait_until="domcontentloaded")
        page.locator("#username_input").fill(self.user)
        page.locator("#password_input").fill(local_hub.password)
        page.locator("#login_submit").click()
        page.wait_for_url(re.compile(rf"/user/{self.user}/lab"), timeout=TIMEOUT)

    def open_class_notebook(self, local_hub: LocalHub) -> None:
        page = self.page
        page.goto(f"{local_hub.server_url(self.user)}lab/tree/{NOTEBOOK}")
        expect(page.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=TIMEOUT)
        wait_kernel_idle(page, timeout=TIMEOUT)

    def put_cursor_in_code_cell(self) -> None:
        """Click into the second cell's editor and move to the end of its line, as a person
        would (the location others see comes from the cursor)."""
        cell = self.page.locator(".jp-Notebook .jp-Cell").nth(CELL_CODE)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputArea-editor .cm-content").click()
        expect(cell).to_have_class(re.compile(r"jp-mod-active"))
        expect(cell.locator(".cm-editor")).to_have_class(re.compile(r"cm-focused"))
        self.page.keyboard.press("End")

    def save_artifacts(self, name: str) -> None:
        prefix = ARTIFACTS / f"failed-{name}-{self.user}"
        try:
            self.page.screenshot(path=f"{prefix}.png", full_page=True)
        except Exception as error:  # the page may be gone
            self.console.append(f"(no screenshot: {error})")
        Path(f"{prefix}-console.log").write_text(
            "\n".join([*self.console, "--- page errors ---", *self.errors]) + "\n"
        )

    def close(self) -> None:
        try:
            self.context.close()
        except Exception:
            pass


def location_of(view: Locator, username: str) -> Locator:
    return view.locator(f'[data-testid=member][data-username="{username}"]').get_by_test_id(
        "member-location"
    )


def test_two_hub_users_meet_in_a_room_from_their_own_servers(
    browser: Browser, class_hub: LocalHub, request: pytest.FixtureRequest
) -> None:
    alice, bob = Student(browser, "alice"), Student(browser, "bob")
    students = (alice, bob)
    try:
        for student in students:
            student.log_in(class_hub)
        for student in students:
            student.open_class_notebook(class_hub)
            run_cell(student.page, CELL_ROOM)
            wait_connected(student.view, timeout=TIMEOUT)

        # Each is themself (by Hub user name), connected to the class service through their
        # own server, and sees the other.
        for student, other in ((alice, bob), (bob, alice)):
            view = student.view
            expect(view.get_by_test_id("room-name")).to_have_text(ROOM)
            name, username = me(view)
            assert username == student.user, (username, student.user)
            assert name, "no display name"
            expect(log_lines(view, "connected to the class service")).to_have_count(
                1, timeout=TIMEOUT
            )
            expect(view.get_by_test_id("member-count")).to_have_text("2 members", timeout=TIMEOUT)
            expect(view.get_by_test_id("member")).to_have_count(2)
            row = view.locator(f'[data-testid=member][data-username="{other.user}"]')
            expect(row).to_have_count(1)
            expect(row).to_contain_text(other.user)
            expect(row).not_to_contain_text("(you)")

        # A message from one reaches the other, both ways.
        for sender, receiver, text in (
            (alice, bob, "hello from alice"),
            (bob, alice, "hello from bob"),
        ):
            send_chat(sender.view, text)
            theirs = messages_with_text(receiver.view, text)
            expect(theirs).to_have_count(1, timeout=10_000)
            expect(theirs).not_to_have_class(re.compile(r"jp-mod-own"))
            expect(theirs.locator(".jp-CollabRoom-author")).to_contain_text(sender.user)
            own = messages_with_text(sender.view, text)
            expect(own).to_have_count(1)
            expect(own).to_have_class(re.compile(r"jp-mod-own"))
            expect(own).not_to_have_class(re.compile(r"jp-mod-pending"), timeout=10_000)

        # Each one's location (their own server's copy of the notebook) shows at the other.
        for mover, watcher in ((bob, alice), (alice, bob)):
            mover.put_cursor_in_code_cell()
            expect(location_of(watcher.view, mover.user)).to_contain_text(
                f"{NOTEBOOK} · cell {CELL_CODE + 1} · line 1", timeout=10_000
            )

        for student in students:
            assert student.errors == [], (student.user, student.errors)
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        for student in students:
            student.save_artifacts(request.node.name)
        (ARTIFACTS / f"failed-{request.node.name}-hub.log").write_text(class_hub.log())
        raise
    finally:
        for student in students:
            student.close()
