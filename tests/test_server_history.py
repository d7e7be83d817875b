"""History: since, paging back, durability across a restart, retention from config."""

from __future__ import annotations

import pytest

from collab_widget.client import CollabClient

from .jupyter import JupyterServer

# These tests send many messages quickly; the rate limit has its own test.
SERVER_ARGS = [
    "--CollabApp.message_rate=1000",
    "--CollabApp.message_burst=1000",
    "--CollabApp.event_rate=1000",
    "--CollabApp.event_burst=1000",
]


async def client(server: JupyterServer, user: str) -> CollabClient:
    c = CollabClient(server.url, token=f"token-{user}", transports=["websocket"])
    await c.connect()
    return c


async def test_join_since_and_page_back(connect):
    alice = await connect("alice")
    room = "paging"
    await alice.join(room)
    sent = [await alice.send(room, f"m{i}") for i in range(1, 121)]
    assert [m["seq"] for m in sent] == list(range(1, 121))

    bob = await connect("bob")
    latest = await bob.join(room)
    assert [m["seq"] for m in latest["history"]] == list(range(71, 121))  # newest page of 50
    assert latest["has_more"] is True and latest["last_seq"] == 120

    page, more = await bob.history(room, before=71, limit=60)
    assert [m["seq"] for m in page] == list(range(11, 71)) and more is True
    page, more = await bob.history(room, before=11)
    assert [m["seq"] for m in page] == list(range(1, 11)) and more is False
    assert page[0]["text"] == "m1" and page[0]["user"]["username"] == "alice"

    carol = await connect("carol")
    since = await carol.join(room, since=115)
    assert [m["seq"] for m in since["history"]] == [116, 117, 118, 119, 120]
    # A re-join with since gets one page (the oldest after since), then pages on forward.
    dave = await connect("dave")
    first = await dave.join(room, since=0)
    assert [m["seq"] for m in first["history"]] == list(range(1, 51))
    assert first["has_more"] is True
    rest = await dave.catch_up(room, since=50)
    assert [m["seq"] for m in rest] == list(range(51, 121))
    page, more = await dave.history(room, after=110, limit=5)
    assert [m["seq"] for m in page] == list(range(111, 116)) and more is True
    assert (await dave.call("history", {"room": room, "after": 1, "before": 9}))["error"][
        "code"
    ] == "invalid_value"


async def test_acknowledged_messages_survive_a_restart_and_seq_continues(tmp_path):
    server = JupyterServer(tmp_path, args=SERVER_ARGS).start()
    try:
        alice = await client(server, "alice")
        await alice.join("durable")
        acked = [await alice.send("durable", f"before {i}") for i in range(30)]
        # No clean disconnect: stop the server while the client is connected.
    finally:
        server.stop()
    await alice.disconnect()
    assert "collab: shutting down Socket.IO" in server.log()

    server.start()
    try:
        bob = await client(server, "bob")
        ack = await bob.join("durable", since=0)
        assert ack["history"] == acked
        assert ack["last_seq"] == 30
        after = await bob.send("durable", "after restart")
        assert after["seq"] == 31
        await bob.disconnect()
    finally:
        server.stop()


async def test_seq_is_never_reused_even_when_retention_dropped_everything(tmp_path):
    server = JupyterServer(tmp_path, args=[*SERVER_ARGS, "--CollabApp.history_limit=2"]).start()
    try:
        alice = await client(server, "alice")
        await alice.join("tiny")
        for i in range(5):
            await alice.send("tiny", f"m{i}")
        await alice.disconnect()
    finally:
        server.stop()
    server.start()
    try:
        bob = await client(server, "bob")
        ack = await bob.join("tiny", since=0)
        assert [m["seq"] for m in ack["history"]] == [4, 5]  # retention: 2 newest
        assert (await bob.send("tiny", "next"))["seq"] == 6
        await bob.disconnect()
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("args", "expected"),
    [([], 50), (["--CollabApp.history_page_size=7"], 7)],
    ids=["default", "configured"],
)
async def test_config_traitlets_change_behaviour(tmp_path, args, expected):
    server = JupyterServer(
        tmp_path, args=[*SERVER_ARGS, *args, "--CollabApp.max_rooms_per_session=2"]
    ).start()
    try:
        alice = await client(server, "alice")
        await alice.join("cfg")
        for i in range(60):
            await alice.send("cfg", f"{i}")
        bob = await client(server, "bob")
        assert len((await bob.join("cfg"))["history"]) == expected
        await bob.join("second")
        ack = await bob.call("join", {"room": "third"})
        assert ack["error"]["code"] == "too_many_rooms"
        await alice.disconnect()
        await bob.disconnect()
    finally:
        server.stop()
    assert "history in " + str(server.history_path) in server.log()
