"""Cursor presence between two real users in Chromium: who is where, remote carets in cells.

A and B open the same notebook (RTC is off: each has their own copy of it) and run its Room
cell; then B moves and types, and A watches. The tests of this module share one JupyterLab
and run in file order.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import NewUser
from .lab import (
    ARTIFACTS,
    REPO,
    Lab,
    code_cell,
    markdown_cell,
    me,
    notebook_file,
    open_notebook,
    room_cell,
    room_view,
    run_cell,
    two_users_in_room,
    wait_connected,
)
from .lab import TwoUsers as Pair

NOTEBOOK = "presence_test.ipynb"
ROOM = "presence-test"
CELL_ROOM = 1
CELL_TWO = 2  # the second code cell: three lines in the file
CELL_SHORT = 4  # one line in the file

NOTEBOOK_TEXT = notebook_file(
    markdown_cell("title", "# Presence"),
    room_cell(ROOM),
    code_cell("code-two", "x = 0\ny = 0\nz = 0"),
    markdown_cell("between", "A short cell:"),
    code_cell("code-short", "a = 1"),
)


#: Count the `presence` events this tab emits (window.__presenceEmits).
COUNT_EMITS = """() => {
  const socket = window.collabConnection.socket;
  if (!socket.__counting) {
    const emit = socket.emit.bind(socket);
    window.__presenceEmits = [];
    socket.emit = (event, ...args) => {
      if (event === 'presence') {
        window.__presenceEmits.push({t: performance.now(), state: args[0].state});
      }
      return emit(event, ...args);
    };
    socket.__counting = true;
  }
  window.__presenceEmits.length = 0;
}"""


@pytest.fixture(scope="module")
def pair(new_user: NewUser, lab: Lab) -> Pair:
    (lab.root / NOTEBOOK).write_text(NOTEBOOK_TEXT)
    p = two_users_in_room(
        new_user(), new_user(), lab, NOTEBOOK, CELL_ROOM, ("presence-a", "presence-b")
    )
    expect(p.view_a.get_by_test_id("member-count")).to_have_text("2 members")
    return p


def cell(page: Page, index: int) -> Locator:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def type_into(page: Page, index: int, text: str, delay: float = 0) -> None:
    """Click into a cell's editor, select everything and type `text` (Enter for newlines)."""
    c = cell(page, index)
    c.scroll_into_view_if_needed()
    c.locator(".jp-InputArea-editor .cm-content").click()
    expect(c).to_have_class(re.compile(r"jp-mod-active"))
    expect(c.locator(".cm-editor")).to_have_class(re.compile(r"cm-focused"))
    page.keyboard.press("Control+a")
    page.keyboard.type(text, delay=delay)


def caret_of(page: Page, index: int, username: str) -> Locator:
    return cell(page, index).locator(f'.jp-CollabCursor-caret[data-username="{username}"]')


def label_of(page: Page, index: int, username: str) -> Locator:
    return cell(page, index).locator(f'.jp-CollabCursor-label[data-username="{username}"]')


def marker_chip(page: Page, index: int, username: str) -> Locator:
    return cell(page, index).locator(
        f'[data-testid=cell-presence] .jp-CollabCellMarker-chip[data-username="{username}"]'
    )


def location_of(view: Locator, username: str) -> Locator:
    return view.locator(f'[data-testid=member][data-username="{username}"]').get_by_test_id(
        "member-location"
    )


def box(locator: Locator) -> dict[str, float]:
    b = locator.bounding_box()
    assert b is not None
    return b


def test_remote_caret_label_and_cell_marker_within_1s(pair: Pair) -> None:
    a, b = pair.a, pair.b
    user_b, name_b = pair.users["b"], pair.names["b"]
    type_into(b, CELL_TWO, "x = 1\ny = 2")
    started = time.monotonic()
    # B's caret is on line 2 (index 1), column 5. A sees it within 1 s of the last keystroke.
    label = label_of(a, CELL_TWO, user_b)
    expect(label).to_have_text(name_b, timeout=1_000)
    expect(label).to_be_visible(timeout=1_000)
    expect(caret_of(a, CELL_TWO, user_b)).to_be_visible(timeout=1_000)
    expect(marker_chip(a, CELL_TWO, user_b)).to_be_visible(timeout=1_000)
    seen = time.monotonic() - started
    expect(location_of(pair.view_a, user_b)).to_contain_text(
        f"{NOTEBOOK} · cell {CELL_TWO + 1} · line 2", timeout=1_000
    )
    print(f"\nA saw B's caret, label and cell marker {seen * 1000:.0f} ms after the keystroke")

    # The caret ends on A's line 2, at the end of "y = 0" (A's copy: same length). "line 2"
    # shows as soon as B's caret reaches line 2; B's last column may follow a batch later (B
    # types key by key), and each new position re-draws the caret and its label: wait for
    # the final one before measuring them.
    lines = cell(a, CELL_TWO).locator(".cm-line")
    text_right = lines.nth(1).evaluate(
        "l => { const r = document.createRange(); r.selectNodeContents(l);"
        " return r.getBoundingClientRect().right; }"
    )
    deadline = time.monotonic() + 2.0
    while True:
        caret = box(caret_of(a, CELL_TWO, user_b))
        line2 = box(lines.nth(1))
        on_line2 = line2["y"] - 1 <= caret["y"] <= line2["y"] + line2["height"] / 2
        at_end = abs(caret["x"] - text_right) <= 3
        if (on_line2 and at_end) or time.monotonic() > deadline:
            break
        a.wait_for_timeout(50)
    assert on_line2 and at_end, (caret, line2, text_right)
    # The label is always shown (nobody hovers), does not catch clicks, is readable, and
    # sits after the code of its line instead of over it.
    style = label.evaluate(
        """el => {
          const cs = getComputedStyle(el);
          const line = el.closest('.cm-editor').querySelectorAll('.cm-line')[1];
          const range = document.createRange();
          range.selectNodeContents(line);
          const text = range.getBoundingClientRect();
          const r = el.getBoundingClientRect();
          return {opacity: Number(cs.opacity), pointer: cs.pointerEvents,
                  visibility: cs.visibility, fontSize: parseFloat(cs.fontSize),
                  labelLeft: r.left, textRight: text.right,
                  overlapsY: r.top < text.bottom && r.bottom > text.top};
        }"""
    )
    assert style["opacity"] >= 0.6, style
    assert style["pointer"] == "none", style
    assert style["visibility"] == "visible", style
    assert style["fontSize"] <= 11, style
    assert style["labelLeft"] >= style["textRight"], f"the label covers code: {style}"
    assert style["overlapsY"], f"the label is not on the caret's line: {style}"
    # The cell marker: B's initials in B's colour, for screen readers too.
    marker = cell(a, CELL_TWO).get_by_test_id("cell-presence")
    expect(marker).to_have_attribute("aria-label", re.compile(re.escape(name_b)))
    chip = marker_chip(a, CELL_TWO, user_b)
    expect(chip).to_have_css("background-color", re.compile(r"rgb\("))
    expect(chip).to_have_css("pointer-events", "none")
    # B's caret is not drawn in any other cell of A's notebook.
    expect(a.locator(f'.jp-CollabCursor-caret[data-username="{user_b}"]')).to_have_count(1)
    _screenshot(pair)


def _screenshot(pair: Pair) -> None:
    """A's notebook: B's caret, label and cell marker, and A's Room widget saying where B is."""
    a = pair.a
    a.mouse.move(5, 5)
    top = box(cell(a, CELL_ROOM))
    bottom = box(cell(a, CELL_TWO))
    notebook = box(a.locator(".jp-NotebookPanel-notebook").first)
    clip = {
        "x": notebook["x"],
        "y": top["y"],
        "width": min(notebook["width"], 1000),
        "height": bottom["y"] + bottom["height"] + 8 - top["y"],
    }
    path = ARTIFACTS / "remote-cursors.png"
    a.screenshot(path=str(path), clip=clip)
    if os.environ.get("UPDATE_README_SCREENSHOT"):
        target = REPO / "docs" / "img" / "remote-cursors.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


def test_clicking_a_location_goes_to_that_cell(pair: Pair) -> None:
    a = pair.a
    a.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")
    where = location_of(pair.view_a, pair.users["b"]).get_by_role("button")
    expect(where).to_be_enabled()
    where.click()
    a.wait_for_function(
        f"() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === {CELL_TWO}",
        timeout=2_000,
    )


def test_positions_clamp_to_a_shorter_copy(pair: Pair) -> None:
    a, b = pair.a, pair.b
    user_b = pair.users["b"]
    # (The clamping helper itself is unit-tested in src/__tests__/presence.spec.ts.)
    # B's copy of the short cell gets 5 lines; A's copy still has one.
    type_into(b, CELL_SHORT, "a = 1\nb = 2\nc = 3\nd = 4\ne = 55")
    caret = caret_of(a, CELL_SHORT, user_b)
    expect(caret).to_be_visible(timeout=2_000)
    expect(label_of(a, CELL_SHORT, user_b)).to_be_visible()
    expect(caret_of(a, CELL_TWO, user_b)).to_have_count(0)
    expect(location_of(pair.view_a, user_b)).to_contain_text(
        f"cell {CELL_SHORT + 1} · line 5", timeout=2_000
    )
    # Drawn on A's only line, at its end (B's column 6 is beyond A's "a = 1").
    only_line = cell(a, CELL_SHORT).locator(".cm-line")
    expect(only_line).to_have_count(1)
    line = box(only_line)
    text_right = only_line.evaluate(
        "el => { const r = document.createRange(); r.selectNodeContents(el);"
        " return r.getBoundingClientRect().right; }"
    )
    # "line 5" shows as soon as B's caret reaches line 5; its last column may follow a batch
    # later (B types "e = 55" key by key), so wait for the final, clamped position.
    deadline = time.monotonic() + 2.0
    at = box(caret)
    while abs(at["x"] - text_right) > 3 and time.monotonic() < deadline:
        a.wait_for_timeout(50)
        at = box(caret)
    assert line["y"] - 1 <= at["y"] <= line["y"] + line["height"] / 2, (at, line)
    assert abs(at["x"] - text_right) <= 3, (at, text_right)
    assert pair.errors == [], pair.errors


def test_updates_are_rate_limited_and_the_last_state_wins(pair: Pair) -> None:
    a, b = pair.a, pair.b
    user_b = pair.users["b"]
    b.evaluate(COUNT_EMITS)
    text = "x = 1\ny = 2 + " + "1 + " * 20 + "1"
    started = time.monotonic()
    type_into(b, CELL_TWO, text, delay=8)
    typed = time.monotonic() - started
    b.wait_for_timeout(300)  # the trailing update
    emits = b.evaluate("window.__presenceEmits")
    column = len(text.split("\n")[-1])
    # change-only and throttled: at most 20 per second (one room), the last one is the latest
    span = (emits[-1]["t"] - emits[0]["t"]) / 1000
    # (a little slack: the throttle counts in Date.now() milliseconds)
    assert len(emits) <= math.floor(span * 20 * 1.05) + 2, (len(emits), span)
    assert len(emits) < len(text), "one update per keystroke: not throttled"
    assert emits[-1]["state"]["line"] == 1 and emits[-1]["state"]["column"] == column
    print(f"\n{len(text)} keystrokes in {typed:.2f} s -> {len(emits)} presence updates")
    a.wait_for_function(
        """([user, column]) => window.collabPresence.service.remote.some(
             c => c.username === user && c.state.line === 1 && c.state.column === column)""",
        arg=[user_b, column],
        timeout=2_000,
    )


def test_heartbeat_resends_an_unchanged_state(pair: Pair) -> None:
    b = pair.b
    b.evaluate(COUNT_EMITS)
    b.evaluate("window.collabPresence.local.config.heartbeatMs = 400")
    try:
        b.wait_for_timeout(2_200)
        emits = b.evaluate("window.__presenceEmits")
    finally:
        b.evaluate("window.collabPresence.local.config.heartbeatMs = 15000")
    assert len(emits) >= 2, emits
    assert all(e["state"] == emits[0]["state"] for e in emits), emits


def test_idle_and_away_are_shown(pair: Pair) -> None:
    a, b = pair.a, pair.b
    user_b = pair.users["b"]
    where = location_of(pair.view_a, user_b)
    # away while B's tab is hidden
    b.evaluate(
        """() => {
          Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
          document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    expect(where.get_by_test_id("member-activity")).to_have_text("away", timeout=2_000)
    expect(label_of(a, CELL_TWO, user_b)).to_have_text(f"{pair.names['b']} (away)")
    b.evaluate(
        """() => {
          delete document.hidden;
          document.dispatchEvent(new Event('visibilitychange'));
        }"""
    )
    expect(where.get_by_test_id("member-activity")).to_have_count(0, timeout=2_000)
    # idle after a while without input (60 s; shortened here)
    b.evaluate("window.collabPresence.local.config.idleAfterMs = 800")
    try:
        expect(where.get_by_test_id("member-activity")).to_have_text("idle", timeout=4_000)
        b.mouse.move(300, 300)
        b.mouse.move(310, 320)
        expect(where.get_by_test_id("member-activity")).to_have_count(0, timeout=2_000)
    finally:
        b.evaluate("window.collabPresence.local.config.idleAfterMs = 60000")


def test_share_switch_off_clears_the_cursor_for_others(pair: Pair) -> None:
    a, b = pair.a, pair.b
    user_b = pair.users["b"]
    type_into(b, CELL_TWO, "x = 1\ny = 2")
    expect(label_of(a, CELL_TWO, user_b)).to_be_visible(timeout=2_000)
    switch = pair.view_b.get_by_test_id("share-cursor")
    expect(switch).to_be_checked()
    switch.uncheck()
    started = time.monotonic()
    expect(caret_of(a, CELL_TWO, user_b)).to_have_count(0, timeout=2_000)
    expect(label_of(a, CELL_TWO, user_b)).to_have_count(0, timeout=2_000)
    expect(a.locator(f'.jp-CollabCellMarker-chip[data-username="{user_b}"]')).to_have_count(
        0, timeout=2_000
    )
    expect(location_of(pair.view_a, user_b)).to_be_hidden()
    print(f"\nB's cursor gone at A {(time.monotonic() - started) * 1000:.0f} ms after the switch")
    me_b = location_of(pair.view_b, user_b)
    expect(me_b).to_have_text("not sharing your cursor")
    # Moving and typing while off sends nothing.
    b.evaluate(COUNT_EMITS)
    type_into(b, CELL_SHORT, "q = 1")
    b.wait_for_timeout(500)
    assert b.evaluate("window.__presenceEmits.length") == 0
    expect(caret_of(a, CELL_SHORT, user_b)).to_have_count(0)
    # The switch is kept for this tab; on again, A sees B at once.
    stored = b.evaluate("sessionStorage.getItem('collab-widget:presence-off')")
    assert json.loads(stored) == [ROOM]
    switch.check()  # (clicking into the widget's output made B's Room cell the active one)
    expect(location_of(pair.view_a, user_b)).to_contain_text(NOTEBOOK, timeout=2_000)
    expect(a.locator(f'.jp-CollabCellMarker-chip[data-username="{user_b}"]')).to_have_count(1)
    assert pair.errors == [], pair.errors


def test_members_in_command_mode_get_a_cell_marker_only(pair: Pair) -> None:
    a, b = pair.a, pair.b
    user_b = pair.users["b"]
    # A click on the prompt selects the cell in command mode.
    cell(b, CELL_TWO).locator(".jp-InputPrompt").click()
    expect(cell(b, CELL_TWO)).to_have_class(re.compile(r"jp-mod-active"))
    expect(b.locator(".jp-Notebook.jp-mod-commandMode")).to_have_count(1)
    expect(marker_chip(a, CELL_TWO, user_b)).to_be_visible(timeout=2_000)
    expect(caret_of(a, CELL_TWO, user_b)).to_have_count(0)
    expect(a.locator(f'.jp-CollabCursor-caret[data-username="{user_b}"]')).to_have_count(0)
    expect(location_of(pair.view_a, user_b)).to_have_text(
        re.compile(rf"{re.escape(NOTEBOOK)} · cell {CELL_TWO + 1}$")
    )


def test_works_in_notebook_7(pair: Pair, new_user: NewUser, lab: Lab) -> None:
    c = new_user()
    try:
        open_notebook(c, lab, NOTEBOOK, None)
        assert c.evaluate("window.jupyterapp.isPluginActivated('collab-widget:presence')")
        run_cell(c, CELL_ROOM)
        view_c = room_view(c, CELL_ROOM)
        wait_connected(view_c)
        _, user_c = me(view_c)
        expect(view_c.get_by_test_id("share-cursor")).to_be_checked()
        type_into(c, CELL_SHORT, "c = 3")
        expect(caret_of(pair.a, CELL_SHORT, user_c)).to_be_visible(timeout=2_000)
        expect(marker_chip(pair.a, CELL_SHORT, user_c)).to_be_visible()
        # and C sees A and B in its notebook
        expect(c.locator(".jp-CollabCellMarker-chip")).not_to_have_count(0, timeout=2_000)
    finally:
        c.close()
    # C's tab is gone: its cursor goes with it.
    expect(caret_of(pair.a, CELL_SHORT, user_c)).to_have_count(0, timeout=8_000)
