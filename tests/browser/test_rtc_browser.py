"""collab-widget beside real-time collaboration (jupyter-collaboration), in Chromium.

Two browser contexts are two anonymous users of one JupyterLab with jupyter-collaboration: A
and B open one notebook, which RTC shares (one document, one kernel). A runs the Room cell; B
first sees the output's text fallback (A's output, which B's notebook does not trust), then runs
the cell too. One cursor per person (RTC's
caret, collab-widget's cell marker), one colour per person (RTC's caret and our marker), the
presence settings through JupyterLab's settings registry, and one message per `room.send`.

Runs only where jupyter-collaboration is installed (the `rtc` marker; scripts/test.sh runs the
browser tests a second time in .venv-rtc). The tests share one JupyterLab and run in file order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import NewUser
from .lab import (
    Lab,
    cell_output,
    code_cell,
    markdown_cell,
    me,
    messages_with_text,
    notebook_file,
    open_notebook,
    room_cell,
    room_view,
    run_cell,
    wait_connected,
    wait_kernel_idle,
)

pytestmark = pytest.mark.rtc

NOTEBOOK = "rtc_test.ipynb"
ROOM = "rtc-room"
CELL_ROOM = 1
CELL_TWO = 2  # three lines
CELL_SHORT = 3
CELL_SEND = 4
SENT = "from the kernel"


NOTEBOOK_TEXT = notebook_file(
    markdown_cell("title", "# RTC"),
    room_cell(ROOM),
    code_cell("code-two", "x = 0\ny = 0\nz = 0"),
    code_cell("code-short", "a = 1"),
    code_cell("send", f'room.send("{SENT}")'),
)


@dataclass
class Shared:
    """A and B in one RTC-shared notebook and one room."""

    a: Page
    b: Page
    users: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    #: B's output of the Room cell before B ran it (A had).
    fallback_b: str = ""
    errors: list[str] = field(default_factory=list)

    def view(self, page: Page) -> Locator:
        return room_view(page, CELL_ROOM)


@pytest.fixture(scope="module")
def shared(new_user: NewUser, lab: Lab) -> Shared:
    (lab.root / NOTEBOOK).write_text(NOTEBOOK_TEXT)
    s = Shared(new_user(), new_user())
    for page in (s.a, s.b):
        page.on("pageerror", lambda exc: s.errors.append(str(exc)))
    open_notebook(s.a, lab, NOTEBOOK, "rtc-a")
    open_notebook(s.b, lab, NOTEBOOK, "rtc-b")
    run_cell(s.a, CELL_ROOM)
    wait_connected(s.view(s.a))
    # B has the notebook open and did not run the cell: the output arrives through RTC, from
    # A's run, which B's notebook does not trust (no widget view): B sees its text.
    fallback = cell_output(s.b, CELL_ROOM)
    expect(fallback).to_contain_text("Run this cell", timeout=30_000)
    s.fallback_b = fallback.inner_text()
    run_cell(s.b, CELL_ROOM)
    for page, who in ((s.a, "a"), (s.b, "b")):
        view = s.view(page)
        wait_connected(view)
        s.names[who], s.users[who] = me(view)
        expect(view.get_by_test_id("member-count")).to_have_text("2 members", timeout=30_000)
    return s


def cell(page: Page, index: int) -> Locator:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def edit(page: Page, index: int, line: int = 0) -> None:
    """Click into a cell's editor and put the caret at the end of a line (0-based)."""
    c = cell(page, index)
    c.scroll_into_view_if_needed()
    c.locator(".jp-InputArea-editor .cm-line").nth(line).click()
    expect(c.locator(".cm-editor")).to_have_class(re.compile(r"cm-focused"))
    page.keyboard.press("End")


def our_carets(page: Page, username: str) -> Locator:
    """collab-widget's carets, selections and labels of a user, anywhere in the page."""
    return page.locator(
        f'.jp-CollabCursor-caret[data-username="{username}"],'
        f' .jp-CollabCursor-selection[data-username="{username}"],'
        f' .jp-CollabCursor-label[data-username="{username}"]'
    )


def our_caret(page: Page, index: int, username: str) -> Locator:
    return cell(page, index).locator(f'.jp-CollabCursor-caret[data-username="{username}"]')


def rtc_caret(page: Page, index: int) -> Locator:
    """RTC's carets in a cell (jupyter-collaboration's CodeMirror layer)."""
    return cell(page, index).locator(".jp-remote-cursor")


def marker_chip(page: Page, index: int, username: str) -> Locator:
    return cell(page, index).locator(
        f'[data-testid=cell-presence] .jp-CollabCellMarker-chip[data-username="{username}"]'
    )


def location_of(view: Locator, username: str) -> Locator:
    return view.locator(f'[data-testid=member][data-username="{username}"]').get_by_test_id(
        "member-location"
    )


def set_setting(page: Page, key: str, value: object) -> None:
    """Change a collab-widget setting through JupyterLab's settings registry (as the Settings
    Editor does), and wait until the presence settings follow it."""
    page.evaluate(
        """async ([key, value]) => {
          const handle = window.collabPresence;
          await handle.registry.set('collab-widget:settings', key, value);
        }""",
        [key, value],
    )
    page.wait_for_function(
        "([key, value]) => window.collabPresence.settings.value[key] === value",
        arg=[key, value],
    )


def rgb(page: Page, css_color: str) -> str:
    """A CSS colour as the browser computes it (``rgb(r, g, b)``)."""
    return str(
        page.evaluate(
            """color => {
              const el = document.createElement('div');
              el.style.color = color;
              document.body.appendChild(el);
              const out = getComputedStyle(el).color;
              el.remove();
              return out;
            }""",
            css_color,
        )
    )


# ---- tests ------------------------------------------------------------------------------


def test_the_notebook_is_shared_by_rtc_and_detected(shared: Shared) -> None:
    for page in (shared.a, shared.b):
        info = page.evaluate(
            """() => {
              const panel = window.jupyterapp.shell.currentWidget;
              return {collaborative: panel.context.model.collaborative,
                      marked: panel.node.getAttribute('data-collab-rtc')};
            }"""
        )
        assert info == {"collaborative": True, "marked": "true"}, info
    # A's copy of the document's awareness has B in it: RTC draws B's caret at A.
    shared.a.wait_for_function(
        """username => {
          const aw = window.jupyterapp.shell.currentWidget.context.model.sharedModel.awareness;
          const states = Array.from(aw.getStates().values());
          return states.some(s => s.user && s.user.username === username);
        }""",
        arg=shared.users["b"],
    )


def test_the_fallback_says_what_to_do_instead_of_a_stale_state(shared: Shared) -> None:
    assert f"Run this cell, or trust the notebook, to join room '{ROOM}'" in shared.fallback_b
    assert "not connected" not in shared.fallback_b
    assert "members" not in shared.fallback_b


def test_one_cursor_per_person(shared: Shared) -> None:
    a, b = shared.a, shared.b
    user_b = shared.users["b"]
    edit(b, CELL_TWO, 1)
    # RTC draws B's caret in A's cell; collab-widget keeps the cell marker and the location.
    expect(rtc_caret(a, CELL_TWO)).to_have_count(1, timeout=5_000)
    expect(marker_chip(a, CELL_TWO, user_b)).to_be_visible(timeout=5_000)
    expect(location_of(shared.view(a), user_b)).to_contain_text(
        f"{NOTEBOOK} · cell {CELL_TWO + 1} · line 2", timeout=5_000
    )
    # ... and draws no caret, selection or label of its own for B.
    a.wait_for_timeout(500)  # a presence batch or two
    expect(our_carets(a, user_b)).to_have_count(0)
    # A selection: RTC's, not ours.
    b.keyboard.press("Shift+Home")
    expect(cell(a, CELL_TWO).locator(".jp-remote-selection")).not_to_have_count(0, timeout=5_000)
    a.wait_for_timeout(500)
    expect(our_carets(a, user_b)).to_have_count(0)
    # The same the other way round.
    user_a = shared.users["a"]
    edit(a, CELL_SHORT)
    expect(marker_chip(b, CELL_SHORT, user_a)).to_be_visible(timeout=5_000)
    expect(rtc_caret(b, CELL_SHORT)).to_have_count(1, timeout=5_000)
    b.wait_for_timeout(500)
    expect(our_carets(b, user_a)).to_have_count(0)


def test_one_colour_per_person(shared: Shared) -> None:
    a, b = shared.a, shared.b
    user_b = shared.users["b"]
    edit(b, CELL_TWO, 1)
    caret = rtc_caret(a, CELL_TWO)
    expect(caret).to_have_count(1, timeout=5_000)
    chip = marker_chip(a, CELL_TWO, user_b)
    expect(chip).to_be_visible(timeout=5_000)
    # B's colour in the room, as A's members list has it.
    member_b = shared.view(a).locator(f'[data-testid=member][data-username="{user_b}"]')
    expect(member_b).to_have_count(1)
    room_color_b = b.evaluate(
        "room => window.collabConnection.sessions.find(s => s.name === room).you.color", ROOM
    )
    assert re.fullmatch(r"#[0-9a-fA-F]{6}", room_color_b), room_color_b
    # B's JupyterLab identity took it (what RTC colours B with) ...
    b.wait_for_function(
        "color => window.jupyterapp.serviceManager.user.identity.color === color",
        arg=room_color_b,
    )
    # ... so at A, RTC's caret for B, its flag and our marker for B are one colour.
    expected = rgb(a, room_color_b)
    expect(caret).to_have_css("border-left-color", expected, timeout=5_000)
    expect(chip).to_have_css("background-color", expected)
    aware = a.evaluate(
        """username => {
          const aw = window.jupyterapp.shell.currentWidget.context.model.sharedModel.awareness;
          const s = Array.from(aw.getStates().values()).find(
            s => s.user && s.user.username === username);
          return s && s.user.color;
        }""",
        user_b,
    )
    assert aware == room_color_b, (aware, room_color_b)
    # and A's own colour likewise.
    room_color_a = a.evaluate(
        "room => window.collabConnection.sessions.find(s => s.name === room).you.color", ROOM
    )
    a.wait_for_function(
        "color => window.jupyterapp.serviceManager.user.identity.color === color",
        arg=room_color_a,
    )
    assert room_color_a != room_color_b
    print(f"\nA {room_color_a}, B {room_color_b}: RTC's carets and collab-widget's markers agree")


def test_members_in_command_mode_keep_their_cell_marker(shared: Shared) -> None:
    a, b = shared.a, shared.b
    user_b = shared.users["b"]
    cell(b, CELL_SHORT).locator(".jp-InputPrompt").click()
    expect(b.locator(".jp-Notebook.jp-mod-commandMode")).to_have_count(1)
    expect(marker_chip(a, CELL_SHORT, user_b)).to_be_visible(timeout=5_000)
    expect(marker_chip(a, CELL_TWO, user_b)).to_have_count(0)
    expect(location_of(shared.view(a), user_b)).to_have_text(
        re.compile(rf"{re.escape(NOTEBOOK)} · cell {CELL_SHORT + 1}$"), timeout=5_000
    )
    expect(our_carets(a, user_b)).to_have_count(0)


def test_rtc_cursors_ours_draws_collab_widgets_caret_too(shared: Shared) -> None:
    a, b = shared.a, shared.b
    user_b = shared.users["b"]
    edit(b, CELL_TWO, 1)
    expect(rtc_caret(a, CELL_TWO)).to_have_count(1, timeout=5_000)
    try:
        set_setting(a, "rtcCursors", "ours")
        expect(our_caret(a, CELL_TWO, user_b)).to_have_count(1, timeout=5_000)
        expect(cell(a, CELL_TWO).locator(".jp-CollabCursor-label")).to_have_count(1)
        set_setting(a, "showRemoteLabels", False)
        expect(cell(a, CELL_TWO).locator(".jp-CollabCursor-label")).to_have_count(0, timeout=5_000)
        expect(our_caret(a, CELL_TWO, user_b)).to_have_count(1)
    finally:
        set_setting(a, "showRemoteLabels", True)
        set_setting(a, "rtcCursors", "auto")
    expect(our_carets(a, user_b)).to_have_count(0, timeout=5_000)
    expect(rtc_caret(a, CELL_TWO)).to_have_count(1)


def test_show_remote_cursors_off_removes_the_markers(shared: Shared) -> None:
    a, b = shared.a, shared.b
    user_b = shared.users["b"]
    edit(b, CELL_TWO, 1)
    expect(marker_chip(a, CELL_TWO, user_b)).to_be_visible(timeout=5_000)
    try:
        set_setting(a, "showRemoteCursors", False)
        expect(a.locator("[data-testid=cell-presence]")).to_have_count(0, timeout=5_000)
        # B moves: still nothing drawn; the members list still says where B is.
        edit(b, CELL_SHORT)
        expect(location_of(shared.view(a), user_b)).to_contain_text(
            f"cell {CELL_SHORT + 1}", timeout=5_000
        )
        a.wait_for_timeout(500)
        expect(a.locator("[data-testid=cell-presence]")).to_have_count(0)
        expect(our_carets(a, user_b)).to_have_count(0)
    finally:
        set_setting(a, "showRemoteCursors", True)
    expect(marker_chip(a, CELL_SHORT, user_b)).to_be_visible(timeout=5_000)


def test_a_send_from_the_shared_kernel_posts_once_as_whoever_ran_it(shared: Shared) -> None:
    a, b = shared.a, shared.b
    run_cell(a, CELL_SEND)
    wait_kernel_idle(a)
    for view in (shared.view(a), shared.view(b)):
        message = messages_with_text(view, SENT)
        expect(message).to_have_count(1, timeout=5_000)
        expect(message.locator(".jp-CollabRoom-author")).to_have_text(shared.names["a"])
    a.wait_for_timeout(1_500)  # a second sender (B's tab) would have posted by now
    expect(messages_with_text(shared.view(a), SENT)).to_have_count(1)
    expect(messages_with_text(shared.view(b), SENT)).to_have_count(1)
    # B runs the same cell: one more, as B.
    run_cell(b, CELL_SEND)
    wait_kernel_idle(b)
    for view in (shared.view(a), shared.view(b)):
        expect(messages_with_text(view, SENT)).to_have_count(2, timeout=5_000)
        authors = messages_with_text(view, SENT).locator(".jp-CollabRoom-author")
        expect(authors).to_have_text([shared.names["a"], shared.names["b"]])
    a.wait_for_timeout(1_500)
    expect(messages_with_text(shared.view(a), SENT)).to_have_count(2)
    assert shared.errors == [], shared.errors
