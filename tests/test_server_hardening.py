"""Issue 9's flaws in the room logic, each pinned against a real server with real clients:
refused joins change nothing, numbers out of range, pages instead of whole histories,
unknown events rate-limited, empty rooms freed, connections per user capped."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import aiohttp
import pytest

from collab_widget.client import CollabClient

from .conftest import inbox
from .jupyter import JupyterServer
from .support.collab_failing_store import FAIL_SINCE

SERVER_ARGS = [
    "--CollabApp.store_class=collab_failing_store.FailingReadsStore",
    "--CollabApp.empty_room_grace=0.5",
    "--CollabApp.max_connections_per_user=4",
    "--CollabApp.event_rate=1000",
    "--CollabApp.event_burst=1000",
    "--CollabApp.message_rate=1000",
    "--CollabApp.message_burst=1000",
]
HUGE = 2**70


def stats(server) -> dict:
    request = urllib.request.Request(
        server.url + "collab/api/stats", headers={"Authorization": "token token-carol"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


async def test_a_refused_join_changes_nothing(connect):
    alice, mallory = await connect("alice"), await connect("bob")
    await alice.join("quiet")
    messages = inbox(mallory, "message")
    # since beyond 2**53 - 1: refused before anything is read or changed.
    ack = await mallory.call("join", {"room": "quiet", "since": HUGE})
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_value"
    await alice.send("quiet", "not for a silent member")
    members = (await alice.join("quiet"))["members"]
    assert [m["username"] for m in members] == ["alice"]
    send = await mallory.call("send", {"room": "quiet", "text": "x", "client_id": "c-1"})
    assert send["error"]["code"] == "not_joined"
    await asyncio.sleep(0.3)
    assert messages.items == []


async def test_a_join_whose_history_read_fails_leaves_no_member(server, connect):
    alice, bob = await connect("alice"), await connect("bob")
    await alice.join("readable")
    joined, messages = inbox(alice, "joined"), inbox(bob, "message")
    ack = await bob.call("join", {"room": "readable", "since": FAIL_SINCE})
    assert ack["ok"] is False and ack["error"]["code"] == "unavailable"
    await alice.send("readable", "for members only")
    members = (await alice.join("readable"))["members"]
    assert [m["username"] for m in members] == ["alice"]
    await asyncio.sleep(0.3)
    assert messages.items == [] and joined.items == []
    # The room is not harmed: the same user joins properly.
    assert (await bob.join("readable"))["history"][-1]["text"] == "for members only"
    assert joined.items[-1]["user"]["username"] == "bob"


@pytest.mark.parametrize(
    ("event", "payload"),
    [
        ("join", {"room": "n", "since": HUGE}),
        ("join", {"room": "n", "since": -1}),
        ("join", {"room": "n", "since": 2**53}),
        ("history", {"room": "n", "before": HUGE}),
        ("history", {"room": "n", "after": HUGE}),
        ("history", {"room": "n", "limit": HUGE}),
        ("history", {"room": "n", "before": -5}),
    ],
)
async def test_numbers_out_of_range_are_invalid_values(server, connect, event, payload):
    client = await connect("alice")
    await client.join("n")
    logged = len(server.log())
    ack = await client.call(event, payload)
    assert ack == {"ok": False, "error": ack["error"]} and ack["error"]["code"] == "invalid_value"
    assert "Traceback" not in server.log()[logged:]
    assert (await client.call("join", {"room": "n", "since": 2**53 - 1}))["ok"] is True


async def test_join_and_history_answer_one_page(connect):
    alice = await connect("alice")
    await alice.join("big")
    for i in range(130):
        await alice.send("big", "x" * 3000 + str(i))
    bob = await connect("bob")
    ack = await bob.join("big", since=0)
    assert len(ack["history"]) == 50 and ack["has_more"] is True
    assert len(json.dumps(ack)) < 200_000
    fresh = await bob.join("big2")  # and without since
    assert fresh["history"] == [] and fresh["has_more"] is False
    page, more = await bob.history("big", limit=200)
    assert len(page) == 130 and more is False  # the request's own limit is capped at 200
    assert (await bob.call("history", {"room": "big", "limit": 201}))["error"][
        "code"
    ] == "invalid_value"


async def test_unknown_events_count_against_the_rate_limit(tmp_path):
    limited = ["--CollabApp.event_rate=20", "--CollabApp.event_burst=40"]
    server = JupyterServer(tmp_path, args=limited).start()
    clients = [CollabClient(server.url, token=f"token-{u}") for u in ("alice", "bob")]
    try:
        flooder, other = clients
        for client in clients:
            await client.connect()
        await other.join("calm")
        answers = [await flooder.call(f"nonsense-{i}", {"x": i}) for i in range(100)]
        codes = [a["error"]["code"] for a in answers]
        assert set(codes) == {"unknown_event", "rate_limited"}
        assert codes[:40] == ["unknown_event"] * 40  # the burst
        assert codes.count("rate_limited") >= 40
        # The limit is per connection: another client is not slowed down.
        assert (await other.send("calm", "still fine"))["seq"] >= 1
    finally:
        for client in clients:
            await client.disconnect()
        server.stop()


async def test_empty_rooms_are_freed_after_the_grace(server, connect):
    client = await connect("alice")
    before = stats(server)["rooms_held"]
    for i in range(30):
        await client.join(f"throwaway-{i}")
        await client.leave(f"throwaway-{i}")
    assert stats(server)["rooms_held"] >= before + 1
    await asyncio.sleep(0.8)
    after = stats(server)
    assert after["rooms_held"] <= before, after
    # A freed room comes back from the store, its seq continuing.
    await client.join("throwaway-3")
    first = await client.send("throwaway-3", "one")
    await client.leave("throwaway-3")
    await asyncio.sleep(0.8)
    stats(server)  # sweeps
    await client.join("throwaway-3")
    assert (await client.send("throwaway-3", "two"))["seq"] == first["seq"] + 1


async def test_a_user_may_hold_a_bounded_number_of_connections(server, connect):
    held = [await connect("dave") for _ in range(4)]
    # The fifth: Engine.IO opens, the Socket.IO connect is refused with a reason.
    async with aiohttp.ClientSession() as http:
        base = f"{server.url}collab/socket.io/?EIO=4&transport=polling"
        headers = {"Authorization": "token token-dave"}
        async with http.get(base, headers=headers) as response:
            sid = (await response.text()).split('"sid":"')[1].split('"')[0]
        async with http.post(f"{base}&sid={sid}", data="40", headers=headers) as response:
            assert response.status == 200
        async with http.get(f"{base}&sid={sid}", headers=headers) as response:
            answer = await response.text()
    assert answer.startswith("44"), answer
    assert "too many connections" in json.loads(answer[2:])["message"]
    # Others are not affected, and closing one frees a place.
    assert (await connect("carol")).connected
    await held[0].disconnect()
    await asyncio.sleep(0.3)
    assert (await connect("dave")).connected
    assert "refused a connection of dave" in server.log()
