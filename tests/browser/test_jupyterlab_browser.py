"""collab-widget at home in JupyterLab, Chromium, two users (A and B) in one room:
the commands in the palette, the room in the right side panel (from the palette and from the
widget's "pop out" button), a notification when B mentions A while A's widget is out of view,
jumping to a member, toggling my cursor, and the `eventLogLength` setting.

The tests of this module share one JupyterLab (its own: toasts are on here, unlike the other
modules' labs, whose `doNotDisturbMode` stays on) and run in file order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import NewUser
from .lab import (
    ARTIFACTS,
    Lab,
    markdown_cell,
    messages_with_text,
    notebook_file,
    room_cell,
    send_chat,
    tall_cells,
    two_users_in_room,
    wait_connected,
)
from .lab import TwoUsers as Pair

NOTEBOOK = "jupyterlab_test.ipynb"
ROOM = "jl-room"
CELL_ROOM = 1
CELL_JUMP = 5
#: Tall code cells under the Room cell, so that the widget can be scrolled out of view.
TALL_CELLS = 12
LINES_PER_CELL = 18

CATEGORY = "Collaboration rooms"
LABELS = {
    "collab-widget:open-side-panel": "Open room in the side panel",
    "collab-widget:pop-out": "Pop this room out into the side panel",
    "collab-widget:toggle-share-cursor": "Toggle sharing my cursor",
    "collab-widget:jump-to-member": "Jump to member…",
}


NOTEBOOK_TEXT = notebook_file(
    markdown_cell("title", "# Rooms"),
    room_cell(ROOM),
    *tall_cells(TALL_CELLS, LINES_PER_CELL, "value"),
)


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """This module's own JupyterLab, with JupyterLab's notification toasts on (the shared
    fixture turns on "do not disturb" so that nothing covers the other modules' pages)."""
    server = Lab(tmp_path_factory.mktemp("lab-jupyterlab"))
    notification = (
        server.workdir
        / "config"
        / "lab"
        / "user-settings"
        / "@jupyterlab"
        / "apputils-extension"
        / "notification.jupyterlab-settings"
    )
    notification.write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": False})
    )
    (server.root / NOTEBOOK).write_text(NOTEBOOK_TEXT)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pair(new_user: NewUser, lab: Lab) -> Pair:
    return two_users_in_room(new_user(), new_user(), lab, NOTEBOOK, CELL_ROOM, ("jl-a", "jl-b"))


# ---- helpers -----------------------------------------------------------------------------


def side_panel(page: Page) -> Locator:
    return page.locator("#jp-right-stack [data-testid=collab-side-panel]")


def run_from_palette(page: Page, label: str) -> None:
    """Open the command palette, search for `label`, run the first match with Enter."""
    page.evaluate("() => window.jupyterapp.commands.execute('apputils:activate-command-palette')")
    box = page.locator(".jp-ModalCommandPalette .lm-CommandPalette-input")
    expect(box).to_be_visible()
    box.fill(label)
    item = page.locator(".jp-ModalCommandPalette .lm-CommandPalette-item").filter(has_text=label)
    expect(item.first).to_be_visible()
    box.press("Enter")


def execute(page: Page, command: str, args: dict[str, str] | None = None) -> None:
    """Run a command without waiting for it (it may open a dialog)."""
    page.evaluate(
        "([id, args]) => { window.jupyterapp.commands.execute(id, args); }", [command, args or {}]
    )


def set_setting(page: Page, key: str, value: object) -> None:
    """Change one of collab-widget's settings through JupyterLab's settings registry."""
    page.wait_for_function("() => !!window.collabSettings")
    page.evaluate("([k, v]) => window.collabSettings.set(k, v)", [key, value])
    page.wait_for_function(
        "([k, v]) => JSON.stringify(window.collabSettings.get(k).composite) === JSON.stringify(v)",
        arg=[key, value],
    )


def scroll_notebook(page: Page, to: str) -> None:
    """Scroll A's notebook to its top or its bottom (as the mouse wheel would)."""
    page.evaluate(
        """to => {
          const scroller = window.jupyterapp.shell.currentWidget.content.outerNode;
          // the bottom: the last cells in view (not the empty space past the end)
          const bottom = scroller.scrollHeight - 2 * scroller.clientHeight;
          scroller.scrollTop = to === 'top' ? 0 : Math.max(0, bottom);
        }""",
        to,
    )
    page.wait_for_timeout(300)


def view_on_screen(view: Locator) -> bool:
    """Whether any of the Room view is inside the notebook's visible area."""
    return bool(
        view.evaluate(
            """el => {
              const scroller = el.closest('.jp-WindowedPanel-outer');
              const a = scroller.getBoundingClientRect(), b = el.getBoundingClientRect();
              return b.bottom > a.top && b.top < a.bottom && b.height > 0;
            }"""
        )
    )


def toasts(page: Page, text: str) -> Locator:
    return page.locator(".jp-Notification-Toast-info").filter(has_text=text)


# ---- tests -------------------------------------------------------------------------------


def test_the_commands_are_in_the_palette(pair: Pair) -> None:
    a = pair.a
    for command, label in LABELS.items():
        assert a.evaluate("id => window.jupyterapp.commands.hasCommand(id)", command)
        assert a.evaluate("id => window.jupyterapp.commands.label(id)", command) == label
    a.evaluate("() => window.jupyterapp.commands.execute('apputils:activate-command-palette')")
    box = a.locator(".jp-ModalCommandPalette .lm-CommandPalette-input")
    box.fill(CATEGORY)
    palette = a.locator(".jp-ModalCommandPalette")
    # searching for the category lists all four
    for label in LABELS.values():
        expect(
            palette.locator(".lm-CommandPalette-itemLabel").filter(has_text=label)
        ).to_have_count(1)
    box.press("Escape")
    expect(palette).to_be_hidden()


def test_open_room_in_the_side_panel_from_the_palette(pair: Pair) -> None:
    a, view_a, view_b = pair.a, pair.view_a, pair.view_b
    run_from_palette(a, LABELS["collab-widget:open-side-panel"])
    dialog = a.locator(".jp-Dialog")
    expect(dialog).to_be_visible()
    field = dialog.locator("input")
    expect(field).to_have_value(ROOM)  # the current notebook's room
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()

    panel = side_panel(a)
    expect(panel).to_be_visible()
    room = panel.get_by_test_id("collab-room")
    wait_connected(room)
    expect(room.get_by_test_id("room-name")).to_have_text(ROOM)
    expect(room.get_by_test_id("member-count")).to_have_text("2 members")
    expect(room.get_by_test_id("member")).to_have_count(2)
    # no "pop out" in the panel itself
    expect(room.get_by_test_id("collab-popout")).to_be_hidden()

    # the chat works both ways from the panel; the cell keeps its own view
    send_chat(room, "from A's side panel")
    expect(messages_with_text(view_b, "from A's side panel")).to_have_count(1)
    send_chat(view_b, "to A's side panel")
    expect(messages_with_text(room, "to A's side panel")).to_have_count(1)
    expect(messages_with_text(view_a, "to A's side panel")).to_have_count(1)
    expect(view_a.get_by_test_id("member-count")).to_have_text("2 members")

    # closing the panel leaves the room joined (the cell's widget still holds it)
    panel.get_by_test_id("collab-side-panel-close").click()
    expect(side_panel(a)).to_have_count(0)
    a.wait_for_timeout(2_000)  # past the lease's leave grace
    expect(view_b.get_by_test_id("member-count")).to_have_text("2 members")
    wait_connected(view_a)


def test_pop_out_keeps_the_room_in_sight_while_the_notebook_scrolls(pair: Pair) -> None:
    a, view_a = pair.a, pair.view_a
    button = view_a.get_by_test_id("collab-popout")
    expect(button).to_be_visible()
    button.click()
    panel = side_panel(a)
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("room-name")).to_have_text(ROOM)
    expect(a.locator("#jp-right-stack [data-testid=collab-side-panel]")).to_have_count(1)
    # again: the same panel, not a second one
    button.click()
    expect(a.locator("[data-testid=collab-side-panel]")).to_have_count(1)

    scroll_notebook(a, "bottom")
    assert not view_on_screen(view_a)
    expect(panel).to_be_in_viewport()
    send_chat(pair.view_b, "seen in the panel while scrolled")
    expect(messages_with_text(panel, "seen in the panel while scrolled")).to_be_in_viewport()
    a.screenshot(path=str(ARTIFACTS / "side-panel.png"))

    panel.get_by_test_id("collab-side-panel-close").click()
    expect(side_panel(a)).to_have_count(0)
    scroll_notebook(a, "top")


def test_a_mention_out_of_view_raises_a_notification(pair: Pair) -> None:
    a, view_a, view_b = pair.a, pair.view_a, pair.view_b
    name_a, user_a = pair.names["a"], pair.users["a"]

    # A's widget on screen: highlighted, no notification
    scroll_notebook(a, "top")
    view_a.scroll_into_view_if_needed()
    assert view_on_screen(view_a)
    send_chat(view_b, f"hello @{name_a}, on screen")
    seen = messages_with_text(view_a, f"hello @{name_a}, on screen")
    expect(seen).to_have_count(1)
    expect(seen).to_have_class(re.compile(r"jp-mod-mention"))
    expect(seen.get_by_test_id("mention")).to_have_text(f"@{name_a}")
    view_a.screenshot(path=str(ARTIFACTS / "mention.png"))
    # B's own copy is not highlighted for B
    expect(messages_with_text(view_b, f"hello @{name_a}, on screen")).not_to_have_class(
        re.compile(r"jp-mod-mention")
    )
    a.wait_for_timeout(1_500)
    expect(toasts(a, "mentioned you")).to_have_count(0)

    # scrolled out of view: a notification, by username too (any case)
    scroll_notebook(a, "bottom")
    assert not view_on_screen(view_a)
    send_chat(view_b, f"@{user_a.upper()} please look at cell 3")
    toast = toasts(a, "please look at cell 3")
    expect(toast).to_have_count(1, timeout=10_000)
    expect(toast).to_contain_text(f"{pair.names['b']} mentioned you in {ROOM}:")
    # not a mention: nothing; the setting off: nothing
    send_chat(view_b, f"no mention of {name_a} here")
    set_setting(a, "notifications", False)
    send_chat(view_b, f"@{name_a} while notifications are off")
    expect(messages_with_text(view_a, f"@{name_a} while notifications are off")).to_have_count(1)
    a.wait_for_timeout(1_000)
    expect(toasts(a, "no mention of")).to_have_count(0)
    expect(toasts(a, "while notifications are off")).to_have_count(0)
    set_setting(a, "notifications", True)

    # "Open" shows the room in the side panel
    toast.locator(".jp-toast-button").filter(has_text="Open").click()
    panel = side_panel(a)
    expect(panel).to_be_visible()
    expect(panel.get_by_test_id("room-name")).to_have_text(ROOM)
    # with the panel in sight, a mention raises nothing
    send_chat(view_b, f"@{name_a} seen in the panel")
    expect(messages_with_text(panel, f"@{name_a} seen in the panel")).to_have_count(1)
    a.wait_for_timeout(1_000)
    expect(toasts(a, "seen in the panel")).to_have_count(0)
    panel.get_by_test_id("collab-side-panel-close").click()
    expect(side_panel(a)).to_have_count(0)
    scroll_notebook(a, "top")


def test_jump_to_member_goes_where_they_are(pair: Pair) -> None:
    a, b = pair.a, pair.b
    name_b = pair.names["b"]
    target = b.locator(".jp-Notebook .jp-Cell").nth(CELL_JUMP)
    target.scroll_into_view_if_needed()
    target.locator(".jp-InputPrompt").click()
    expect(target).to_have_class(re.compile(r"jp-mod-active"))
    row_b = pair.view_a.locator(f'[data-testid=member][data-username="{pair.users["b"]}"]')
    expect(row_b.get_by_test_id("member-location")).to_contain_text(f"cell {CELL_JUMP + 1}")
    a.evaluate("() => { window.jupyterapp.shell.currentWidget.content.activeCellIndex = 0; }")

    run_from_palette(a, LABELS["collab-widget:jump-to-member"])
    dialog = a.locator(".jp-Dialog")
    expect(dialog).to_be_visible()
    select = dialog.locator("select")
    options = [o.strip() for o in select.locator("option").all_inner_texts()]
    label = next(o for o in options if o.startswith(f"{name_b} — ") and ROOM in o)
    assert f"cell {CELL_JUMP + 1}" in label
    select.select_option(label=label)
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    a.wait_for_function(
        "i => window.jupyterapp.shell.currentWidget.content.activeCellIndex === i",
        arg=CELL_JUMP,
    )


def test_toggle_sharing_my_cursor(pair: Pair) -> None:
    a, view_a = pair.a, pair.view_a
    share = view_a.get_by_test_id("share-cursor")
    expect(share).to_be_checked()
    command = "collab-widget:toggle-share-cursor"
    assert a.evaluate("id => window.jupyterapp.commands.isToggled(id)", command)
    run_from_palette(a, LABELS[command])
    expect(share).not_to_be_checked()
    assert not a.evaluate("id => window.jupyterapp.commands.isToggled(id)", command)
    # B no longer sees where A is
    row_a = pair.view_b.locator(f'[data-testid=member][data-username="{pair.users["a"]}"]')
    expect(row_a.get_by_test_id("member-location")).to_be_hidden()
    execute(a, command)
    expect(share).to_be_checked()


def test_event_log_length_setting_caps_the_log(pair: Pair) -> None:
    a, view_a = pair.a, pair.view_a
    set_setting(a, "eventLogLength", 10)
    lines = view_a.get_by_test_id("log-line")
    hand = pair.view_b.get_by_test_id("collab-hand-toggle")
    expect(hand).to_be_visible()
    last = "room => window.collabConnection.getSession(room).log.slice(-1)[0].id"
    before = a.evaluate(last, ROOM)
    for _ in range(16):  # 8 raised and lowered hands: 16 new lines in A's log
        label = hand.inner_text()
        hand.click()
        expect(hand).not_to_have_text(label)
    a.wait_for_function(
        "([room, id]) => window.collabConnection.getSession(room).log.slice(-1)[0].id >= id + 16",
        arg=[ROOM, before],
    )
    expect(lines).to_have_count(10)
    assert a.evaluate("room => window.collabConnection.getSession(room).log.length", ROOM) == 10
    # the setting is stored as the user's (the Settings Editor shows it)
    stored = a.evaluate(
        """async () => {
          const s = await window.jupyterapp.serviceManager.settings.fetch('collab-widget:settings');
          return s.raw;
        }"""
    )
    assert '"eventLogLength": 10' in stored
    set_setting(a, "eventLogLength", 200)


def test_an_open_side_panel_comes_back_after_a_reload(pair: Pair) -> None:
    """(Last in the module: it reloads B's page.)"""
    b = pair.b
    pair.view_b.get_by_test_id("collab-popout").click()
    expect(side_panel(b)).to_be_visible()
    b.wait_for_timeout(1_500)  # JupyterLab saves its layout after a change (debounced)
    b.reload(wait_until="domcontentloaded")
    panel = side_panel(b)
    expect(panel).to_be_visible(timeout=60_000)
    expect(panel.get_by_test_id("room-name")).to_have_text(ROOM)
    wait_connected(panel)
    expect(panel.get_by_test_id("member-count")).to_have_text("2 members")
