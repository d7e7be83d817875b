"""The history store shared with other processes (issue 9, flaws 10 and 11).

- Two Jupyter servers of one OS user share one history file: the store numbers messages in
  its write transaction, so both servers' sends succeed with unique, increasing ``seq``\\ s and
  a resend through the other server is recognised.
- Another process holds the history's write lock: a send fails fast with ``unavailable``
  (after ``history_busy_timeout``, not SQLite's 5 s), nothing of it is stored or broadcast,
  and joins and history pages are answered meanwhile (reads never queue behind a write).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from collab_widget.app import CollabApp
from collab_widget.client import CollabClient

from .conftest import inbox
from .jupyter import JupyterServer
from .test_server_history import client

# These tests send many messages quickly; the rate limit has its own test.
RATES = [
    "--CollabApp.message_rate=1000",
    "--CollabApp.message_burst=1000",
    "--CollabApp.event_rate=1000",
    "--CollabApp.event_burst=1000",
]


async def send(c: CollabClient, room: str, text: str, client_id: str | None = None) -> Any:
    """The raw ``send`` acknowledgement (ok or error)."""
    return await c.call(
        "send", {"room": room, "text": text, "client_id": client_id or uuid.uuid4().hex}
    )


async def all_history(c: CollabClient, room: str) -> list[dict[str, Any]]:
    """Every kept message of ``room``, oldest first, paging back."""
    messages: list[dict[str, Any]] = []
    before = None
    while True:
        page, more = await c.history(room, before=before)
        messages[:0] = page
        if not more or not page:
            return messages
        before = page[0]["seq"]


def test_the_busy_timeout_is_a_setting_well_under_a_second():
    assert CollabApp().history_busy_timeout == 0.5
    assert "history_busy_timeout" in Path(__file__).parent.parent.joinpath("README.md").read_text()


async def test_two_servers_sharing_one_history_file_number_messages_together(tmp_path):
    shared = tmp_path / "shared" / "history.sqlite3"
    one = JupyterServer(tmp_path / "one", args=RATES)
    two = JupyterServer(tmp_path / "two", args=RATES)
    for server in (one, two):  # each its own workdir, both --CollabApp.history_path=<shared>
        server.history_path = shared
    one.start()
    try:
        two.start()
        alice = await client(one, "alice")  # on server one
        bob = await client(two, "bob")  # on server two
        room = "shared-room"
        await alice.join(room)
        await bob.join(room)

        # Interleaved: every send succeeds, each seq above the one before (across servers).
        acks = []
        for i in range(20):
            sender = alice if i % 2 == 0 else bob
            acks.append(await send(sender, room, f"turn {i}"))
        assert all(a.get("ok") for a in acks), [a for a in acks if not a.get("ok")]
        assert [a["message"]["seq"] for a in acks] == list(range(1, 21))
        # At the same time on both servers: all succeed, no number twice.
        both = await asyncio.gather(
            *(send(c, room, f"together {i}") for i in range(10) for c in (alice, bob))
        )
        assert all(a.get("ok") for a in both), [a for a in both if not a.get("ok")]
        assert sorted(a["message"]["seq"] for a in both) == list(range(21, 41))
        sent = [a["message"] for a in acks + both]

        # Every message is stored once, as acknowledged; both servers read the same history.
        carol = await client(one, "carol")
        assert (await carol.join(room))["last_seq"] == 40  # the other server's count too
        stored = await all_history(carol, room)
        assert stored == sorted(sent, key=lambda m: m["seq"])
        dave = await client(two, "dave")
        assert (await dave.join(room))["last_seq"] == 40
        assert await all_history(dave, room) == stored

        # A resend through the other server (the same user on server two) is recognised
        # there: the stored message comes back, nothing new is stored or broadcast.
        first = acks[0]["message"]
        assert first["user"]["username"] == "alice"
        heard = inbox(bob, "message")
        alice_two = await client(two, "alice")
        await alice_two.join(room)
        again = await send(alice_two, room, "turn 0, resent", client_id=first["client_id"])
        assert again == {"ok": True, "message": first, "duplicate": True}
        await asyncio.sleep(0.3)
        assert heard.items == []
        assert await all_history(dave, room) == stored
        after = await send(alice_two, room, "next")
        assert after["message"]["seq"] == 41

        for c in (alice, bob, carol, dave, alice_two):
            await c.disconnect()
    finally:
        two.stop()
        one.stop()
    for server in (one, two):
        assert f"history in {shared}" in server.log()
        assert "Traceback" not in server.log()


BUSY_TIMEOUT = 1.5  # longer than the reads may take, so that they prove they did not queue


async def test_a_held_write_lock_fails_sends_fast_and_reads_go_on(tmp_path):
    server = JupyterServer(
        tmp_path, args=[*RATES, f"--CollabApp.history_busy_timeout={BUSY_TIMEOUT}"]
    ).start()
    outside: sqlite3.Connection | None = None
    try:
        alice = await client(server, "alice")
        bob = await client(server, "bob")
        carol = await client(server, "carol")
        dave = await client(server, "dave")
        room = "lecture"
        await alice.join(room)
        loaded = [await alice.send(room, f"m{i}") for i in range(60)]
        await bob.join(room)
        heard = inbox(bob, "message")
        client_id = uuid.uuid4().hex

        # Another process takes the history's write lock and keeps it.
        outside = sqlite3.connect(server.history_path, isolation_level=None, timeout=5)
        outside.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        sending = asyncio.ensure_future(send(alice, room, "during the lock", client_id))
        await asyncio.sleep(0.2)
        assert not sending.done()  # waiting for the lock

        # (b) Reads are answered while that write waits: a join of the loaded room, a history
        # page, the first join of another room.
        t = time.monotonic()
        joined = await carol.join(room)
        assert time.monotonic() - t < 1.0
        assert joined["history"][-1] == loaded[-1] and joined["last_seq"] == 60
        t = time.monotonic()
        page, more = await bob.history(room, before=11)
        assert time.monotonic() - t < 1.0
        assert page == loaded[:10] and more is False
        t = time.monotonic()
        assert (await dave.join("elsewhere"))["history"] == []
        assert time.monotonic() - t < 1.0
        assert not sending.done()  # the reads did not wait behind it

        # (a) The send fails after the busy timeout, not SQLite's default 5 s.
        ack = await sending
        waited = time.monotonic() - started
        assert ack["ok"] is False and ack["error"]["code"] == "unavailable"
        assert BUSY_TIMEOUT - 0.1 <= waited < BUSY_TIMEOUT + 1.0
        await asyncio.sleep(0.3)
        assert heard.items == []  # nothing broadcast

        outside.execute("ROLLBACK")
        outside.close()
        outside = None
        assert await all_history(bob, room) == loaded  # nothing stored

        # The resend (same client_id) is stored and broadcast once.
        resent = await send(alice, room, "during the lock", client_id)
        assert resent["ok"] is True and "duplicate" not in resent
        assert resent["message"]["seq"] == 61 and resent["message"]["client_id"] == client_id
        again = await send(alice, room, "during the lock", client_id)
        assert again == {"ok": True, "message": resent["message"], "duplicate": True}
        assert await heard.wait(1) == [resent["message"]]
        await asyncio.sleep(0.3)
        assert len(heard.items) == 1
        assert await all_history(bob, room) == [*loaded, resent["message"]]

        for c in (alice, bob, carol, dave):
            await c.disconnect()
    finally:
        if outside is not None:
            outside.close()
        server.stop()
    log = server.log()
    assert "was not stored" in log and "locked" in log
    assert "Traceback" not in log
