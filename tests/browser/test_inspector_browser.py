"""The Room widget's Network pane (the protocol inspector), in Chromium, in JupyterLab.

One user opens a notebook with a Room and, in file order: checks that the closed pane keeps
nothing, opens it, reads the handshake, sends a chat message and finds its EVENT and ACK,
forces long-polling and lets it upgrade again, exports the capture, and closes the pane.
"""

from __future__ import annotations

import json
import os
import re
import shutil

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import NewUser
from .lab import (
    ARTIFACTS,
    PING_INTERVAL,
    PING_TIMEOUT,
    REPO,
    Lab,
    code_cell,
    kernel_output,
    kernel_output_until,
    log_lines,
    markdown_cell,
    messages_with_text,
    notebook_file,
    open_notebook,
    room_cell,
    room_view,
    run_cell,
    send_chat,
    wait_connected,
)

NOTEBOOK = "inspector_test.ipynb"
ROOM = "inspector-test"
CELL_ROOM = 1
CELL_POLLING = 2

NOTEBOOK_TEXT = notebook_file(
    markdown_cell("title", "# Inspector"),
    room_cell(ROOM),
    code_cell(
        "polling-cell", f'polling_room = Room("{ROOM}-2", transport="polling")\npolling_room'
    ),
)


#: How many functions listen to the engine's packets (0 while no pane captures).
PACKET_LISTENERS = """() => {
  const engine = window.collabConnection.socket.io.engine;
  return engine.listeners('packet').length + engine.listeners('packetCreate').length;
}"""


@pytest.fixture(scope="module")
def page(new_user: NewUser, lab: Lab) -> Page:
    (lab.root / NOTEBOOK).write_text(NOTEBOOK_TEXT)
    p = new_user()
    open_notebook(p, lab, NOTEBOOK, "inspector")
    run_cell(p, CELL_ROOM)
    wait_connected(room_view(p, CELL_ROOM))
    return p


@pytest.fixture
def view(page: Page) -> Locator:
    return room_view(page, CELL_ROOM)


def pane(view: Locator) -> Locator:
    return view.get_by_test_id("network-pane")


def packets(view: Locator, **data: str) -> Locator:
    """Packet rows whose data attributes have these values (ack_id -> data-ack-id)."""
    attrs = "".join(f'[data-{k.replace("_", "-")}="{v}"]' for k, v in data.items())
    return view.locator(f"[data-testid=packet]{attrs}")


def steps(view: Locator, kind: str) -> Locator:
    return view.locator(f'[data-testid=handshake-step][data-kind="{kind}"]')


def set_open(view: Locator, open_: bool) -> None:
    details = pane(view)
    if (details.get_attribute("data-capturing") == "true") != open_:
        view.get_by_test_id("network-toggle").click()
    expect(details).to_have_attribute("data-capturing", "true" if open_ else "false")


def test_the_closed_pane_listens_to_nothing_and_keeps_nothing(page: Page, view: Locator) -> None:
    details = pane(view)
    expect(details).to_be_visible()
    assert details.evaluate("el => el.open") is False
    expect(details).to_have_attribute("data-packet-count", "0")
    send_chat(view, "while the pane is closed")
    expect(messages_with_text(view, "while the pane is closed")).to_have_count(1)
    page.wait_for_timeout(PING_INTERVAL * 1000 + 500)  # a ping and a pong went by, too
    expect(details).to_have_attribute("data-packet-count", "0")
    assert page.evaluate(PACKET_LISTENERS) == 0
    assert page.evaluate("window.collabConnection.network.capturing") == 0


def test_the_handshake_as_it_happened(page: Page, view: Locator) -> None:
    set_open(view, True)
    assert page.evaluate(PACKET_LISTENERS) == 2
    sid = page.evaluate("window.collabConnection.socket.io.engine.id")
    expect(view.get_by_test_id("handshake-sid")).to_have_text(sid)
    expect(view.get_by_test_id("handshake-transport")).to_have_text("websocket")
    # WebSocket first: the server offers no upgrade, the open packet came over the WebSocket.
    expect(view.get_by_test_id("handshake-upgrades")).to_have_text("[]")
    expect(view.get_by_test_id("handshake-pingInterval")).to_have_text(f"{PING_INTERVAL * 1000} ms")
    expect(view.get_by_test_id("handshake-pingTimeout")).to_have_text(f"{PING_TIMEOUT * 1000} ms")
    expect(view.get_by_test_id("handshake-maxPayload")).to_have_text(re.compile(r"^\d+ bytes$"))
    expect(view.get_by_test_id("handshake-opened")).to_contain_text("over websocket")
    expect(steps(view, "open")).to_have_count(1)
    expect(pane(view)).to_contain_text("last 500 kept")


def test_a_chat_message_is_an_event_and_its_ack(page: Page, view: Locator) -> None:
    send_chat(view, "hello inspector")
    event = packets(view, dir="out", socket="EVENT", event="send")
    expect(event).to_have_count(1)
    expect(event.get_by_test_id("packet-preview")).to_contain_text('"text":"hello inspector"')
    expect(event.get_by_test_id("packet-type")).to_have_text("message · EVENT")
    expect(event).to_have_attribute("title", re.compile(r'^42\d+\["send",'))
    ack_id = event.get_attribute("data-ack-id")
    assert ack_id is not None
    ack = packets(view, dir="in", socket="ACK", ack_id=ack_id)
    expect(ack).to_have_count(1)
    expect(ack).to_have_attribute("data-event", "send")
    expect(ack.get_by_test_id("packet-rtt")).to_have_text(re.compile(r"^↩ \d+(\.\d)? ms$"))
    expect(event.get_by_test_id("packet-rtt")).to_have_text(re.compile(r"^acked \d+(\.\d)? ms$"))
    # The server's broadcast of the stored message comes back as a `message` EVENT.
    expect(packets(view, dir="in", socket="EVENT", event="message")).to_have_count(1)
    # The heartbeat: the server pings, this tab answers pong.
    ping = packets(view, dir="in", engine="ping")
    expect(ping.first).to_be_visible(timeout=(PING_INTERVAL + 2) * 1000)
    expect(ping.first.get_by_test_id("packet-rtt")).to_have_text(re.compile(r"^pong in "))
    expect(packets(view, dir="out", engine="pong").first).to_be_attached()


def test_filter_pause_and_clear(page: Page, view: Locator) -> None:
    view.get_by_test_id("packet-filter").fill("send")
    visible = view.locator("[data-testid=packet]:visible")
    expect(visible).to_have_count(2)  # the EVENT and its ACK
    for i in range(2):
        expect(visible.nth(i)).to_have_attribute("data-event", "send")
    view.get_by_test_id("packet-filter").fill("")
    view.get_by_test_id("packet-pause").click()
    count = pane(view).get_attribute("data-packet-count")
    send_chat(view, "while paused")
    expect(messages_with_text(view, "while paused")).to_have_count(1)
    expect(view.get_by_test_id("packet-count")).to_contain_text("not captured while paused")
    assert pane(view).get_attribute("data-packet-count") == count
    view.get_by_test_id("packet-pause").click()
    view.get_by_test_id("packet-clear").click()
    expect(pane(view)).to_have_attribute("data-packet-count", "0")


def test_force_long_polling_then_watch_the_upgrade(page: Page, view: Locator) -> None:
    state = view.get_by_test_id("connection-state")
    switch = view.get_by_test_id("transport-switch")
    expect(switch).to_have_text("Use long-polling")
    switch.click()
    expect(state).to_have_attribute("data-transport", "polling", timeout=15_000)
    expect(view.get_by_test_id("handshake-transport")).to_have_text("polling")
    expect(view.get_by_test_id("handshake-opened")).to_contain_text("over polling")
    expect(view.get_by_test_id("handshake-upgrades")).to_have_text('["websocket"]')
    expect(steps(view, "probe")).to_have_count(0)  # polling only: no probe
    expect(packets(view, dir="in", engine="open", transport="polling")).to_have_count(1)
    expect(switch).to_have_text("Allow WebSocket upgrade")
    # The switch set this widget's `transport` trait: Python sees it.
    both = kernel_output_until(
        page,
        "print(room.transport, room.current_transport)",
        lambda out: out.split() == ["polling", "polling"],
    )
    assert both.split() == ["polling", "polling"]
    send_chat(view, "over long-polling")
    expect(packets(view, dir="out", event="send", transport="polling")).to_have_count(1)

    switch.click()
    expect(state).to_have_attribute("data-transport", "websocket", timeout=15_000)
    for kind in ("open", "probe", "upgrading", "upgrade"):
        expect(steps(view, kind)).to_have_count(1)
    expect(steps(view, "upgrade")).to_contain_text("now on websocket")
    expect(view.get_by_test_id("handshake-transport")).to_have_text("websocket")
    expect(view.get_by_test_id("handshake-opened")).to_contain_text("over polling")
    probes = packets(view, note="probe", transport="websocket")
    expect(probes).to_have_count(3)  # 2probe out, 3probe in, 5 out
    expect(probes.nth(0)).to_have_attribute("title", "2probe")
    expect(probes.nth(1)).to_have_attribute("title", "3probe")
    expect(probes.nth(2)).to_have_attribute("title", "5")
    expect(log_lines(view, "transport upgraded to websocket")).to_have_count(1)
    send_chat(view, "over the WebSocket again")
    expect(
        packets(view, dir="in", socket="ACK", event="send", transport="websocket")
    ).to_have_count(1)
    _screenshot(view)
    both = kernel_output_until(
        page,
        "print(room.transport, room.current_transport)",
        lambda out: out.split() == ["websocket", "websocket"],
    )
    assert both.split() == ["websocket", "websocket"]


def test_a_reconnect_is_followed_by_the_inspector(page: Page, view: Locator) -> None:
    old_sid = view.get_by_test_id("handshake-sid").inner_text()
    page.evaluate("window.collabConnection.socket.io.engine.transport.ws.close()")
    expect(log_lines(view, "disconnected (transport close)")).to_have_count(1)
    wait_connected(view)
    expect(view.get_by_test_id("handshake-sid")).not_to_have_text(old_sid, timeout=15_000)
    new_sid = page.evaluate("window.collabConnection.socket.io.engine.id")
    expect(view.get_by_test_id("handshake-sid")).to_have_text(new_sid)
    # The open packet of the new engine was captured: the tap followed it in time.
    expect(packets(view, dir="in", engine="open")).not_to_have_count(0)
    last_open = packets(view, dir="in", engine="open").last
    expect(last_open).to_have_attribute("title", re.compile(rf'^0\{{"sid":"{re.escape(new_sid)}"'))
    assert page.evaluate(PACKET_LISTENERS) == 2


def test_export_gives_valid_json(page: Page, view: Locator) -> None:
    send_chat(view, "exported")
    expect(packets(view, dir="in", socket="ACK", event="send").last).to_be_attached()
    with page.expect_download() as download:
        view.get_by_test_id("packet-export").click()
    path = download.value.path()
    assert download.value.suggested_filename.endswith(".json")
    data = json.loads(open(path, encoding="utf-8").read())
    assert data["format"] == "collab-widget network capture 1"
    assert data["limit"] == 500
    assert data["handshake"]["sid"] == page.evaluate("window.collabConnection.socket.io.engine.id")
    sends = [p for p in data["packets"] if p["event"] == "send" and p["socket"] == "EVENT"]
    assert any("exported" in p["preview"] for p in sends)
    acks = [p for p in data["packets"] if p["socket"] == "ACK" and p["event"] == "send"]
    assert acks and all(isinstance(p["rtt"], (int, float)) for p in acks)


def test_closing_the_pane_stops_and_forgets_the_capture(page: Page, view: Locator) -> None:
    set_open(view, False)
    expect(pane(view)).to_have_attribute("data-packet-count", "0")
    assert page.evaluate(PACKET_LISTENERS) == 0
    send_chat(view, "after closing")
    expect(messages_with_text(view, "after closing")).to_have_count(1)
    page.wait_for_timeout(500)
    expect(pane(view)).to_have_attribute("data-packet-count", "0")


def test_room_with_transport_polling_switches_the_tab(page: Page, view: Locator) -> None:
    run_cell(page, CELL_POLLING)
    other = room_view(page, CELL_POLLING)
    wait_connected(other)
    # One connection per tab: both widgets now show long-polling.
    for v in (other, view):
        expect(v.get_by_test_id("connection-state")).to_have_attribute(
            "data-transport", "polling", timeout=15_000
        )
    kernel_output(page, 'polling_room.transport = "websocket"')
    for v in (other, view):
        expect(v.get_by_test_id("connection-state")).to_have_attribute(
            "data-transport", "websocket", timeout=15_000
        )


def _screenshot(view: Locator) -> None:
    """The widget with the Network pane open, its list at the upgrade's probe:
    test-artifacts/inspector.png (and the README's, with UPDATE_README_SCREENSHOT=1)."""
    page = view.page
    size = page.viewport_size
    page.set_viewport_size({"width": 1280, "height": 1600})  # the whole widget in view
    try:
        page.mouse.move(5, 5)
        view.get_by_test_id("packet-list").evaluate(
            """el => {
              const probe = el.querySelector('[data-note=probe]');
              el.scrollTop = probe ? probe.offsetTop - el.offsetTop - 2 : el.scrollHeight;
            }"""
        )
        view.scroll_into_view_if_needed()
        path = ARTIFACTS / "inspector.png"
        view.screenshot(path=str(path))
    finally:
        if size:
            page.set_viewport_size(size)
    if os.environ.get("UPDATE_README_SCREENSHOT"):
        target = REPO / "docs" / "img" / "inspector.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
