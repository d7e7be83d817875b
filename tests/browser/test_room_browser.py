"""Two (and three) real users in Chromium, in JupyterLab, in one room of the demo notebook.

The tests of this module share one JupyterLab and two users (A and B) and run in file order,
like a short classroom session: join, chat, chat from Python, drop and restore the connection,
fall back to polling, switch to the dark theme, leave, reload.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import NewUser
from .lab import (
    ARTIFACTS,
    HISTORY_PAGE_SIZE,
    PING_INTERVAL,
    PING_TIMEOUT,
    REPO,
    Lab,
    cell_output,
    dismiss_dialogs,
    kernel_output_until,
    load_all_history,
    log_lines,
    me,
    member_lines,
    messages_with_text,
    open_notebook,
    room_view,
    run_cell,
    send_chat,
    two_users_in_room,
    wait_connected,
    wait_kernel_idle,
)
from .lab import TwoUsers as Classroom

NOTEBOOK = "class_demo.ipynb"
ROOM = "class-101"
# Cell indexes in notebooks/class_demo.ipynb
CELL_ROOM = 1  # room = Room("class-101"); room
CELL_SEND = 3  # room.send("hello from Python")
CELL_MEMBERS = 4  # room.members
CELL_MESSAGES = 5  # room.messages[-3:]
CELL_CALLBACKS = 7  # room.on_message(answer): "ping" -> "pong, <name>!"
CELL_SHOW_AGAIN = 8  # room
CELL_NOTEBOOK_ROOM = 10  # notebook_room = Room(); notebook_room

XSS = '<img src=x onerror="window.__pwned=1">'


@pytest.fixture(scope="module")
def classroom(new_user: NewUser, lab: Lab) -> Classroom:
    """A joins first (JupyterLab), then B (JupyterLab, other workspace): both ran the cell."""
    return two_users_in_room(new_user(), new_user(), lab, NOTEBOOK, CELL_ROOM, ("user-a", "user-b"))


def rooms_api(lab: Lab, page: Page) -> dict[str, int]:
    """{room: members} from the server's HTTP API."""
    response = page.request.get(
        f"{lab.url}collab/api/rooms", headers={"Authorization": f"token {lab.token}"}
    )
    assert response.ok, response.status
    return {r["room"]: r["members"] for r in response.json()["rooms"]}


def test_both_users_join_and_see_each_other(classroom: Classroom, lab: Lab) -> None:
    name_a, name_b = classroom.names["a"], classroom.names["b"]
    user_a, user_b = classroom.users["a"], classroom.users["b"]
    assert user_a != user_b, "two browser contexts should be two anonymous users"
    for view in (classroom.view_a, classroom.view_b):
        expect(view.get_by_test_id("room-name")).to_have_text(ROOM)
        expect(view.get_by_test_id("connection-state")).to_contain_text("websocket")
        expect(log_lines(view, "connected via websocket, sid")).to_have_count(1)

    for view, other, other_name in (
        (classroom.view_a, user_b, name_b),
        (classroom.view_b, user_a, name_a),
    ):
        expect(view.get_by_test_id("member-count")).to_have_text("2 members")
        expect(view.get_by_test_id("member")).to_have_count(2)
        row = view.locator(f'[data-testid=member][data-username="{other}"]')
        expect(row).to_have_count(1)
        expect(row).to_contain_text(other_name)
        expect(row).not_to_contain_text("(you)")
        expect(row.locator(".jp-CollabRoom-avatar")).to_have_css(
            "background-color", re.compile(r"rgb\(")
        )
    # A was there first: A's log shows B connecting; B's log lists A as present.
    expect(member_lines(classroom.view_a, "join", user_b)).to_have_text(
        re.compile(rf"^\d\d:\d\d:\d\d {re.escape(name_b)} connected$")
    )
    expect(member_lines(classroom.view_b, "here", user_a)).to_have_text(
        re.compile(rf"^\d\d:\d\d:\d\d {re.escape(name_a)} is here$")
    )
    assert rooms_api(lab, classroom.a).get(ROOM) == 2


def test_chat_message_reaches_the_other_user_within_2s(classroom: Classroom) -> None:
    send_chat(classroom.view_a, "hello")
    expect(messages_with_text(classroom.view_b, "hello")).to_have_count(1, timeout=2_000)
    own = messages_with_text(classroom.view_a, "hello")
    expect(own).to_have_count(1)
    expect(own).to_have_class(re.compile(r"jp-mod-own"))
    expect(own).not_to_have_class(re.compile(r"jp-mod-pending"))
    theirs = messages_with_text(classroom.view_b, "hello")
    expect(theirs).not_to_have_class(re.compile(r"jp-mod-own"))
    expect(theirs.locator(".jp-CollabRoom-author")).to_have_text(classroom.names["a"])
    expect(theirs.locator("time")).to_have_text(re.compile(r"^\d\d:\d\d$"))
    # Shift+Enter makes a new line, Enter sends: one message with two lines.
    box = classroom.view_b.get_by_test_id("chat-input")
    box.click()
    box.type("line one")
    box.press("Shift+Enter")
    box.type("line two")
    box.press("Enter")
    expect(messages_with_text(classroom.view_a, "line one\nline two")).to_have_count(
        1, timeout=2_000
    )


def test_python_send_reaches_the_other_user(classroom: Classroom) -> None:
    b = classroom.b
    run_cell(b, CELL_SEND)
    message = messages_with_text(classroom.view_a, "hello from Python")
    expect(message).to_have_count(1, timeout=5_000)
    expect(message.locator(".jp-CollabRoom-author")).to_have_text(classroom.names["b"])
    # The traitlets reached the kernel: members and messages as Python sees them.
    wait_kernel_idle(b)
    run_cell(b, CELL_MEMBERS)
    expect(cell_output(b, CELL_MEMBERS)).to_contain_text(classroom.names["a"])
    expect(cell_output(b, CELL_MEMBERS)).to_contain_text(classroom.names["b"])
    run_cell(b, CELL_MESSAGES)
    expect(cell_output(b, CELL_MESSAGES)).to_contain_text("hello from Python")
    # on_message: B's kernel answers A's "ping", once.
    run_cell(b, CELL_CALLBACKS)
    wait_kernel_idle(b)
    send_chat(classroom.view_a, "ping")
    pong = f"pong, {classroom.names['a']}!"
    expect(messages_with_text(classroom.view_a, pong)).to_have_count(1, timeout=5_000)
    expect(messages_with_text(classroom.view_b, pong)).to_have_count(1)
    expect(
        messages_with_text(classroom.view_a, pong).locator(".jp-CollabRoom-author")
    ).to_have_text(classroom.names["b"])


def test_html_in_a_message_is_shown_as_text(classroom: Classroom) -> None:
    send_chat(classroom.view_a, XSS)
    for view in (classroom.view_a, classroom.view_b):
        message = messages_with_text(view, XSS)
        expect(message).to_have_count(1, timeout=5_000)
        expect(message.get_by_test_id("message-text")).to_have_text(XSS)
        expect(view.locator("[data-testid=messages] img")).to_have_count(0)
    for page in (classroom.a, classroom.b):
        assert page.evaluate("typeof window.__pwned") == "undefined"
    _two_users_screenshot(classroom)


def _two_users_screenshot(classroom: Classroom) -> None:
    """Both users' widgets side by side: test-artifacts/two-users.png (and the README's)."""
    shots = []
    for page in (classroom.a, classroom.b):
        view = room_view(page, CELL_ROOM)
        view.scroll_into_view_if_needed()
        shots.append(view.screenshot())
    page = classroom.a.context.new_page()
    try:
        import base64

        imgs = "".join(
            f'<figure><img src="data:image/png;base64,{base64.b64encode(s).decode()}">'
            f"<figcaption>{label}</figcaption></figure>"
            for s, label in zip(shots, ("user A", "user B"), strict=True)
        )
        page.set_viewport_size({"width": 1900, "height": 700})
        page.set_content(
            "<style>body{margin:0}#shot{display:inline-flex;gap:12px;padding:12px;"
            "background:#e8e8e8;font:14px sans-serif}figure{margin:0}"
            "img{width:900px;display:block;box-shadow:0 1px 4px #0003}"
            "figcaption{text-align:center;padding:6px 0 0}</style>"
            f'<div id="shot">{imgs}</div>'
        )
        path = ARTIFACTS / "two-users.png"
        page.locator("#shot").screenshot(path=str(path))
        if os.environ.get("UPDATE_README_SCREENSHOT"):
            target = REPO / "docs" / "img" / "two-users.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    finally:
        page.close()


def test_reconnect_restores_missed_messages_once(classroom: Classroom) -> None:
    view_a = classroom.view_a
    send_chat(classroom.view_b, "before the drop")
    expect(messages_with_text(view_a, "before the drop")).to_have_count(1, timeout=2_000)
    # A's connection drops (the client side goes away, as with a lost network).
    classroom.a.evaluate("window.collabConnection.socket.disconnect()")
    expect(view_a.get_by_test_id("connection-state")).to_have_attribute("data-state", "offline")
    expect(log_lines(view_a, "disconnected (io client disconnect)")).to_have_count(1)
    expect(member_lines(classroom.view_b, "leave", classroom.users["a"])).to_have_count(
        1, timeout=5_000
    )
    for i in range(3):
        send_chat(classroom.view_b, f"while you were away {i}")
    for i in range(3):
        expect(messages_with_text(classroom.view_b, f"while you were away {i}")).not_to_have_class(
            re.compile("jp-mod-pending"), timeout=5_000
        )
    classroom.a.evaluate("window.collabConnection.socket.connect()")
    wait_connected(view_a)
    expect(log_lines(view_a, "restored 3 messages")).to_have_count(1, timeout=5_000)
    for i in range(3):
        expect(messages_with_text(view_a, f"while you were away {i}")).to_have_count(1)
    expect(messages_with_text(view_a, "before the drop")).to_have_count(1)

    # The transport breaks under the client: it reconnects by itself with backoff.
    classroom.a.evaluate("window.collabConnection.socket.io.engine.transport.ws.close()")
    expect(log_lines(view_a, "disconnected (transport close)")).to_have_count(1)
    expect(log_lines(view_a, "reconnect attempt 1")).to_have_count(1, timeout=10_000)
    expect(log_lines(view_a, "restored 0 messages")).to_have_count(1, timeout=10_000)
    wait_connected(view_a)
    send_chat(classroom.view_b, "after the reconnect")
    expect(messages_with_text(view_a, "after the reconnect")).to_have_count(1, timeout=2_000)
    seqs = view_a.locator("[data-testid=message][data-seq]").evaluate_all(
        "els => els.map(e => Number(e.dataset.seq))"
    )
    assert seqs == sorted(set(seqs)), f"messages doubled or out of order: {seqs}"


def test_refused_messages_can_be_retried_and_unread_is_counted(classroom: Classroom) -> None:
    view_a, view_b = classroom.view_a, classroom.view_b
    scroller = view_a.locator(".jp-CollabRoom-scroll")
    # Enough messages for A's chat to scroll ...
    for i in range(8):
        if scroller.evaluate("el => el.scrollHeight > el.clientHeight + 100"):
            break
        send_chat(view_b, f"to scroll {i}")
        expect(messages_with_text(view_a, f"to scroll {i}")).to_have_count(1, timeout=2_000)
    # ... and A reads older messages: scrolled away from the bottom.
    scroller.evaluate("el => { el.scrollTop = 0; }")
    # B sends far more messages at once than the server allows (message_burst=20, 10/s).
    classroom.b.evaluate(
        """() => {
          const session = window.collabConnection.getSession('class-101');
          for (let i = 0; i < 60; i++) session.send(`burst ${i}`);
        }"""
    )
    failed = view_b.locator("[data-testid=message].jp-mod-failed")
    expect(failed.first).to_be_visible(timeout=5_000)
    expect(failed.first.get_by_test_id("send-error")).to_contain_text("rate_limited: ")
    expect(failed.first.get_by_test_id("retry")).to_be_visible()
    # A sees how many arrived while scrolled up, and jumps down with one click.
    unread = view_a.get_by_test_id("unread")
    expect(unread).to_be_visible()
    expect(unread).to_have_text(re.compile(r"^\d+ new messages? ↓$"))
    unread.click()
    expect(unread).to_be_hidden()
    # Retrying (same client id) stores each refused message once.
    for _ in range(200):
        if failed.count() == 0:
            break
        failed.first.get_by_test_id("retry").click()
        classroom.b.wait_for_timeout(150)
    expect(failed).to_have_count(0)
    for i in range(60):
        expect(messages_with_text(view_a, f"burst {i}")).to_have_count(1, timeout=5_000)
        expect(messages_with_text(view_b, f"burst {i}")).to_have_count(1)
    expect(view_b.locator("[data-testid=message].jp-mod-pending")).to_have_count(0)


# The WebSocket to the collab endpoint fails the way a blocking proxy makes it fail (an error
# event, then a close); the kernel's WebSockets still work.
BLOCK_COLLAB_WEBSOCKET = """
(() => {
  const Native = window.WebSocket;
  window.WebSocket = new Proxy(Native, {
    construct(target, args) {
      if (String(args[0]).includes('/collab/socket.io/')) {
        return Reflect.construct(target, ['ws://127.0.0.1:9/blocked-by-test']);
      }
      return Reflect.construct(target, args);
    }
  });
})();
"""


def test_polling_fallback_when_websocket_is_blocked(
    classroom: Classroom, new_user: NewUser, lab: Lab
) -> None:
    c = new_user(init_script=BLOCK_COLLAB_WEBSOCKET)
    try:
        open_notebook(c, lab, NOTEBOOK, "user-c")
        run_cell(c, CELL_ROOM)
        view_c = room_view(c, CELL_ROOM)
        wait_connected(view_c)
        state = view_c.get_by_test_id("connection-state")
        expect(state).to_have_attribute("data-transport", "polling")
        expect(log_lines(view_c, "connected via polling")).to_have_count(1)
        _, user_c = me(view_c)
        expect(classroom.view_a.get_by_test_id("member-count")).to_have_text("3 members")
        # Sending is a polling POST: it needs the X-XSRFToken header of the _xsrf cookie.
        send_chat(view_c, "hello over polling")
        expect(messages_with_text(classroom.view_a, "hello over polling")).to_have_count(
            1, timeout=5_000
        )
        send_chat(classroom.view_a, "hello back over polling")
        expect(messages_with_text(view_c, "hello back over polling")).to_have_count(
            1, timeout=5_000
        )
    finally:
        c.close()
    expect(member_lines(classroom.view_a, "leave", user_c)).to_have_count(
        1, timeout=(PING_INTERVAL + PING_TIMEOUT + 4) * 1000
    )


def test_works_in_notebook_7(classroom: Classroom, new_user: NewUser, lab: Lab) -> None:
    send_chat(classroom.view_a, "before Notebook 7 joined")
    expect(messages_with_text(classroom.view_a, "before Notebook 7 joined")).not_to_have_class(
        re.compile("jp-mod-pending"), timeout=5_000
    )
    d = new_user()
    try:
        open_notebook(d, lab, NOTEBOOK, None)
        run_cell(d, CELL_ROOM)
        view_d = room_view(d, CELL_ROOM)
        wait_connected(view_d)
        expect(view_d.get_by_test_id("connection-state")).to_contain_text("websocket")
        _, user_d = me(view_d)
        expect(member_lines(classroom.view_a, "join", user_d)).to_have_count(1)
        send_chat(view_d, "hello from Notebook 7")
        expect(messages_with_text(classroom.view_a, "hello from Notebook 7")).to_have_count(
            1, timeout=2_000
        )
        load_all_history(view_d)
        expect(messages_with_text(view_d, "before Notebook 7 joined")).to_have_count(1)
        view_d.screenshot(path=str(ARTIFACTS / "notebook7.png"))
    finally:
        d.close()
    expect(member_lines(classroom.view_a, "leave", user_d)).to_have_count(
        1, timeout=(PING_INTERVAL + PING_TIMEOUT + 4) * 1000
    )


def _luminance(rgb: list[float]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(x) for x in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(fg: list[float], bg: list[float]) -> float:
    hi, lo = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _colors(locator: Locator) -> dict[str, list[float]]:
    return locator.evaluate(
        """el => {
          const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
          let bgEl = el, bg = null;
          while (bgEl) {
            const c = parse(getComputedStyle(bgEl).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) { bg = c; break; }
            bgEl = bgEl.parentElement;
          }
          return { fg: parse(getComputedStyle(el).color), bg };
        }"""
    )


def test_dark_theme_is_readable(classroom: Classroom) -> None:
    a = classroom.a
    send_chat(classroom.view_b, "readable in the dark?")
    expect(messages_with_text(classroom.view_a, "readable in the dark?")).to_have_count(
        1, timeout=2_000
    )
    a.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    expect(a.locator("body")).to_have_attribute("data-jp-theme-light", "false", timeout=20_000)
    view = classroom.view_a
    view.scroll_into_view_if_needed()
    view.get_by_test_id("messages").evaluate("el => el.parentElement.scrollTop = 1e9")
    view.screenshot(path=str(ARTIFACTS / "room-dark.png"))
    checks = {
        "message text": view.get_by_test_id("message-text").first,
        "author": view.locator(".jp-CollabRoom-author").first,
        "member name": view.locator(".jp-CollabRoom-memberName").first,
        "log line": view.locator(".jp-CollabRoom-logText").first,
        "room name": view.get_by_test_id("room-name"),
        "input": view.get_by_test_id("chat-input"),
    }
    for label, locator in checks.items():
        colors = _colors(locator)
        assert colors["bg"] is not None, label
        assert _luminance(colors["bg"]) < 0.2, f"{label}: background is not dark: {colors}"
        ratio = _contrast(colors["fg"], colors["bg"])
        assert ratio >= 4.5, f"{label}: contrast {ratio:.1f} < 4.5 ({colors})"
    a.evaluate(
        "window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})"
    )
    expect(a.locator("body")).to_have_attribute("data-jp-theme-light", "true", timeout=20_000)


def test_server_restart_reconnects_and_keeps_the_history(classroom: Classroom, lab: Lab) -> None:
    view_a, view_b = classroom.view_a, classroom.view_b
    send_chat(view_b, "before the restart")
    expect(messages_with_text(view_a, "before the restart")).to_have_count(1, timeout=2_000)
    seqs = view_a.locator("[data-testid=message][data-seq]")
    last_seq = max(seqs.evaluate_all("els => els.map(e => Number(e.dataset.seq))"))
    restored = log_lines(view_a, "restored 0 messages").count()

    lab.stop()
    expect(view_a.get_by_test_id("connection-state")).not_to_have_attribute(
        "data-state", "connected", timeout=10_000
    )
    lab.start()
    # Both tabs come back by themselves (backoff at most 5 s) and re-join with `since`.
    for view in (view_a, view_b):
        wait_connected(view, timeout=30_000)
    # JupyterLab itself may have told the users that the server was gone: dismiss that.
    for page in (classroom.a, classroom.b):
        dismiss_dialogs(page)
    expect(log_lines(view_a, "restored 0 messages")).to_have_count(restored + 1, timeout=10_000)
    expect(messages_with_text(view_a, "before the restart")).to_have_count(1)
    send_chat(view_b, "after the restart")
    message = messages_with_text(view_a, "after the restart")
    expect(message).to_have_count(1, timeout=5_000)
    assert int(message.get_attribute("data-seq") or 0) > last_seq, "seq reused after a restart"


def test_closing_a_tab_is_seen_by_the_others(classroom: Classroom, lab: Lab) -> None:
    left = member_lines(classroom.view_a, "leave", classroom.users["b"])
    before = left.count()
    classroom.b.close()
    expect(left).to_have_count(before + 1, timeout=(PING_INTERVAL + PING_TIMEOUT + 2) * 1000)
    expect(left.last).to_have_text(re.compile(rf"{re.escape(classroom.names['b'])} disconnected$"))
    expect(classroom.view_a.get_by_test_id("member-count")).to_have_text("1 member")
    assert rooms_api(lab, classroom.a).get(ROOM) == 1


def test_reload_brings_back_history_without_duplicates(classroom: Classroom, lab: Lab) -> None:
    a = classroom.a
    send_chat(classroom.view_a, "before the reload")
    expect(messages_with_text(classroom.view_a, "before the reload")).not_to_have_class(
        re.compile("jp-mod-pending"), timeout=5_000
    )
    confirmed = classroom.view_a.locator("[data-testid=message][data-seq]")
    # More messages than one history page, so that scrolling up has to load older pages.
    for i in range(HISTORY_PAGE_SIZE + 2 - confirmed.count()):
        send_chat(classroom.view_a, f"filler {i}")
    expect(classroom.view_a.locator("[data-testid=message].jp-mod-pending")).to_have_count(0)
    before = confirmed.count()
    assert before > HISTORY_PAGE_SIZE
    a.reload(wait_until="domcontentloaded")
    expect(a.locator(".jp-Notebook .jp-Cell").first).to_be_visible(timeout=60_000)
    wait_kernel_idle(a)
    run_cell(a, CELL_ROOM)
    view = room_view(a, CELL_ROOM).last
    wait_connected(view)
    # Only the newest page comes with the join; scrolling up loads the rest.
    expect(view.get_by_test_id("older")).to_have_text("scroll up for older messages")
    load_all_history(view)
    expect(messages_with_text(view, "before the reload")).to_have_count(1)
    expect(view.locator("[data-testid=message][data-seq]")).to_have_count(before)
    seqs = view.locator("[data-testid=message][data-seq]").evaluate_all(
        "els => els.map(e => Number(e.dataset.seq))"
    )
    assert seqs == sorted(set(seqs)), f"messages doubled or out of order: {seqs}"
    assert a.evaluate("typeof window.__pwned") == "undefined"


def test_two_views_share_one_membership(classroom: Classroom, lab: Lab) -> None:
    a = classroom.a
    run_cell(a, CELL_ROOM)  # a fresh Room object, shown once...
    first = room_view(a, CELL_ROOM).last
    wait_connected(first)
    run_cell(a, CELL_SHOW_AGAIN)  # ... and a second time: two views of one widget
    second = room_view(a, CELL_SHOW_AGAIN)
    wait_connected(second)
    members = rooms_api(lab, a)[ROOM]
    # This tab's user is one member with one session: the room is joined once per tab.
    for view in (first, second):
        mine = view.locator("[data-testid=member].jp-mod-you")
        expect(mine).to_have_count(1)
        expect(mine.locator(".jp-CollabRoom-sessions")).to_have_count(0)
    send_chat(second, "from the second view")
    expect(messages_with_text(first, "from the second view")).to_have_count(1, timeout=2_000)
    expect(messages_with_text(second, "from the second view")).to_have_count(1)
    # Python's send reaches the server once though two views could forward it.
    python_messages = first.locator("[data-testid=message][data-seq]").filter(
        has=a.get_by_test_id("message-text").get_by_text("hello from Python", exact=True)
    )
    n = python_messages.count()
    run_cell(a, CELL_SEND)
    expect(python_messages).to_have_count(n + 1, timeout=5_000)
    wait_kernel_idle(a)
    a.wait_for_timeout(500)  # a second copy would arrive right behind the first
    expect(python_messages).to_have_count(n + 1)
    expect(second.locator("[data-testid=message][data-seq]")).to_have_count(
        first.locator("[data-testid=message][data-seq]").count()
    )

    # Closing one view keeps the membership; closing the last one leaves the room.
    _clear_output(a, CELL_SHOW_AGAIN)
    expect(second).to_have_count(0)
    a.wait_for_timeout(2_500)  # longer than the leave grace period
    assert rooms_api(lab, a).get(ROOM, 0) == members
    expect(first.get_by_test_id("connection-state")).to_have_attribute("data-state", "connected")
    _clear_output(a, CELL_ROOM)
    expect(room_view(a, CELL_ROOM)).to_have_count(0)
    _wait_until(lambda: rooms_api(lab, a).get(ROOM, 0) == members - 1, a, 10_000)


def _clear_output(page: Page, index: int) -> None:
    page.evaluate(
        """index => {
          const nb = window.jupyterapp.shell.currentWidget.content;
          nb.activeCellIndex = index;
          return window.jupyterapp.commands.execute('notebook:clear-cell-output');
        }""",
        index,
    )


def _wait_until(predicate: Callable[[], bool], page: Page, timeout_ms: int) -> None:
    waited = 0
    while not predicate():
        if waited >= timeout_ms:
            raise AssertionError("condition not met in time")
        page.wait_for_timeout(200)
        waited += 200


def test_python_state_and_room_named_after_the_notebook(classroom: Classroom) -> None:
    a = classroom.a
    run_cell(a, CELL_ROOM)
    view = room_view(a, CELL_ROOM).last
    wait_connected(view)
    run_cell(a, CELL_SEND)
    last = view.get_by_test_id("message").last
    expect(last.get_by_test_id("message-text")).to_have_text("hello from Python", timeout=5_000)
    expect(last).to_have_class(re.compile("jp-mod-own"))
    wait_kernel_idle(a)
    out = kernel_output_until(
        a,
        "print(repr(room)); print(room.messages[-1]['text'])",
        lambda out: out.splitlines()[1:2] == ["hello from Python"] and " as " in out,
    )
    expected = (
        r"Room\('class-101', connected via websocket as (teacher|student), \d+ members?, "
        r"\d+ messages?\)"
    )
    assert re.match(expected, out), out
    assert out.splitlines()[1] == "hello from Python", out

    # Room() without a name: the front end names it after the notebook and tells Python.
    run_cell(a, CELL_NOTEBOOK_ROOM)
    view = room_view(a, CELL_NOTEBOOK_ROOM)
    wait_connected(view)
    expect(view.get_by_test_id("room-name")).to_have_text(NOTEBOOK)
    out = kernel_output_until(a, "print(notebook_room.room)", lambda out: out.strip() == NOTEBOOK)
    assert out.strip() == NOTEBOOK
