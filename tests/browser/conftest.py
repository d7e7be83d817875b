"""Fixtures for the browser tests: a real JupyterLab, Debian's Chromium driven by Playwright.

Synchronous Playwright refuses to run inside a running asyncio loop, so nothing here is async
and nothing uses pytest-jupyter's fixtures.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from .lab import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, Lab

NewUser = Callable[..., Page]

#: Whether jupyter-collaboration (real-time collaboration) is installed: the JupyterLab the tests
#: start (with this Python) then shares every notebook between its users (.venv-rtc).
RTC = importlib.util.find_spec("jupyter_collaboration") is not None


#: Tests of other modules that assume each user has their own copy of a notebook, marked
#: ``own_copies`` here (``@pytest.mark.own_copies`` on a test does the same): with RTC, A and B
#: edit one document, and collab-widget leaves the carets of people RTC shows to RTC
#: (tests/browser/test_rtc_browser.py covers that).
OWN_COPIES = {
    # collab-widget's carets and labels in each one's copy (RTC draws them there)
    "test_presence_browser.py::test_remote_caret_label_and_cell_marker_within_1s",
    "test_presence_browser.py::test_positions_clamp_to_a_shorter_copy",
    "test_presence_browser.py::test_idle_and_away_are_shown",
    "test_presence_browser.py::test_share_switch_off_clears_the_cursor_for_others",
    "test_presence_browser.py::test_works_in_notebook_7",
    # a snippet inserted into a student's copy only; the own-copy offer (none with RTC)
    "test_classroom_browser.py::test_a_teachers_snippet_is_inserted_below_a_students_cell",
    "test_classroom_browser.py::"
    "test_a_student_makes_an_own_copy_that_stays_in_the_room_and_speaks_python",
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect (not skip) what does not apply here: with RTC, the tests marked ``own_copies``
    (each user has their own copy of a notebook); without it, the tests marked ``rtc``."""
    for item in items:
        if f"{item.path.name}::{item.name}" in OWN_COPIES:
            item.add_marker(pytest.mark.own_copies)
    unwanted = "own_copies" if RTC else "rtc"
    keep, drop = [], []
    for item in items:
        (drop if item.get_closest_marker(unwanted) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    server = Lab(tmp_path_factory.mktemp("lab")).start()
    yield server
    server.stop()
    if os.environ.get("COLLAB_SHOW_LAB_LOG"):
        print(server.log())


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module")
def new_user(browser: Browser, lab: Lab) -> Iterator[NewUser]:
    """``new_user()``: a new browser context (own cookies = own anonymous user) and a page."""
    contexts: list[BrowserContext] = []

    def _new_user(init_script: str | None = None) -> Page:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        context.set_default_timeout(30_000)
        if init_script:
            context.add_init_script(init_script)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: print(f"[page error] {exc}"))
        return page

    yield _new_user
    for context in contexts:
        try:
            context.close()
        except Exception:
            pass


@pytest.fixture(scope="session", autouse=True)
def _artifacts() -> None:
    ARTIFACTS.mkdir(exist_ok=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failure, save a screenshot of every open page and the tail of the lab log."""
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    new_user_fixture = item.funcargs.get("new_user") if hasattr(item, "funcargs") else None
    lab = item.funcargs.get("lab") if hasattr(item, "funcargs") else None
    browser = item.funcargs.get("browser") if hasattr(item, "funcargs") else None
    if browser is not None and new_user_fixture is not None:
        for i, context in enumerate(browser.contexts):
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(ARTIFACTS / f"failed-{item.name}-{i}-{j}.png"))
                except Exception:
                    pass
    if lab is not None:
        report.sections.append(("jupyter lab log (tail)", lab.log(80)))
