"""Presence through a real server: coalesced batches, latest state, removals."""

from __future__ import annotations

import asyncio
import time

from .conftest import inbox

# The coalescing test sends 100 updates per second per client, above the default limit.
SERVER_ARGS = ["--CollabApp.presence_rate=500", "--CollabApp.presence_burst=500"]
HZ = 30  # the default presence_hz


class PresenceView:
    """What one client knows of the others' presence, as the browser keeps it."""

    def __init__(self, client) -> None:
        self.states: dict[str, dict] = {}
        self.stamps: list[float] = []
        client.on("presence", self._batch)

    def _batch(self, batch) -> None:
        self.stamps.append(time.monotonic())
        if batch.get("reset"):
            self.states.clear()
        for entry in batch["updates"]:
            self.states[entry["session"]] = entry["state"]
        for session in batch["removed"]:
            self.states.pop(session, None)


async def test_twenty_clients_hundred_updates_each_coalesced(connect):
    clients = [await connect("alice", transports=["websocket"]) for _ in range(20)]
    views = [PresenceView(c) for c in clients]
    sessions = [(await c.join("cursors"))["you"]["session"] for c in clients]

    async def move(client, index: int) -> None:
        for line in range(100):
            await client.sio.emit(
                "presence", {"room": "cursors", "state": {"cell_id": f"c{index}", "line": line}}
            )
            await asyncio.sleep(0.01)

    started = time.monotonic()
    await asyncio.gather(*(move(c, i) for i, c in enumerate(clients)))
    elapsed = time.monotonic() - started
    await asyncio.sleep(0.5)  # the last tick

    for i, view in enumerate(views):
        expected = {s: {"cell_id": f"c{j}", "line": 99} for j, s in enumerate(sessions) if j != i}
        assert view.states == expected, f"receiver {i}"
        window = [t for t in view.stamps if t <= started + elapsed + 0.1]
        assert len(window) <= HZ * (elapsed + 0.1) * 1.25 + 2, (len(window), elapsed)
    # 20 senders x 100 updates = 2000 updates; without coalescing each receiver would get 1900.
    assert max(len(v.stamps) for v in views) < 60


async def test_joiner_gets_state_in_ack_and_leaving_removes_it(connect):
    a = await connect("alice")
    b = await connect("bob")
    await a.join("p")
    await a.presence("p", {"path": "lecture.ipynb", "cell_id": "x", "line": 3, "mode": "edit"})
    ack = await b.join("p")
    (entry,) = ack["presence"]
    assert entry["user"] == "alice" and entry["state"]["line"] == 3
    assert entry["session"].startswith("s-")

    batches = inbox(b, "presence")
    await a.presence("p", None)  # share switch off
    (batch,) = await batches.wait(1)
    assert batch == {"room": "p", "updates": [], "removed": [entry["session"]]}

    await a.presence("p", {"line": 4})
    await batches.wait(2)
    await a.disconnect()
    third = await batches.wait(3)
    assert third[2]["removed"] == [entry["session"]]


async def test_own_state_is_never_sent_back_and_nothing_flows_when_idle(connect):
    a = await connect("alice")
    b = await connect("bob")
    await a.join("quiet")
    await b.join("quiet")
    own = inbox(a, "presence")
    other = inbox(b, "presence")
    await a.presence("quiet", {"line": 1})
    await other.wait(1)
    await asyncio.sleep(0.5)
    assert own.items == []
    assert len(other.items) == 1


async def test_the_ticker_sleeps_while_nothing_changes_and_wakes_for_a_change(connect, server):
    def ticks() -> int:
        return server.get_json("collab/api/stats", "token-alice")["presence_ticks"]

    a = await connect("alice")
    b = await connect("bob")
    await a.join("sleepy")
    await b.join("sleepy")
    seen = inbox(b, "presence")
    await a.presence("sleepy", {"line": 1})
    await seen.wait(1)
    # Settled: about one round a second (slow connections, expiry), not presence_hz.
    before = ticks()
    await asyncio.sleep(2.0)
    assert ticks() - before <= 4
    # A change wakes it at once, not at the next once-a-second round. Three tries, each
    # well under a second, so a ticker that only woke for its round could not pass them.
    for line in (2, 3, 4):
        await asyncio.sleep(0.3)
        sent = time.monotonic()
        await a.presence("sleepy", {"line": line})
        await seen.wait(line)
        assert time.monotonic() - sent < 0.25, line
    assert seen.items[-1]["updates"][0]["state"] == {"line": 4}
