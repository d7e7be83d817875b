"""Two users, rooms, membership and chat over a real server with real clients."""

from __future__ import annotations

import asyncio

import pytest

from .conftest import inbox


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_two_users_see_each_other_and_exchange_messages_in_order(connect, transport):
    alice = await connect("alice", transports=[transport])
    bob = await connect("bob", transports=[transport])
    room = f"order-{transport}"
    alice_messages = inbox(alice, "message")
    bob_messages = inbox(bob, "message")

    joined_alice = await alice.join(room)
    assert joined_alice["you"]["username"] == "alice"
    assert joined_alice["you"]["display_name"] == "Alice Tester"
    assert [m["username"] for m in joined_alice["members"]] == ["alice"]
    joined_bob = await bob.join(room)
    assert sorted(m["username"] for m in joined_bob["members"]) == ["alice", "bob"]
    colors = {m["color"] for m in joined_bob["members"]}
    assert len(colors) == 2 and all(c.startswith("#") for c in colors)

    for i in range(5):
        await alice.send(room, f"a{i}")
        await bob.send(room, f"b{i}")

    for box in (alice_messages, bob_messages):
        got = await box.wait(10)
        assert [m["text"] for m in got] == [f"{w}{i}" for i in range(5) for w in "ab"]
        assert [m["seq"] for m in got] == list(range(1, 11))
    assert {m["user"]["username"] for m in bob_messages.items} == {"alice", "bob"}
    assert alice.transport == transport


async def test_joined_and_left_fire_once_per_user_even_with_two_sessions(connect):
    room = "tabs"
    watcher = await connect("carol")
    await watcher.join(room)
    joined, left = inbox(watcher, "joined"), inbox(watcher, "left")

    tab1 = await connect("dave")
    tab2 = await connect("dave")
    await tab1.join(room)
    ack = await tab2.join(room)
    dave = next(m for m in ack["members"] if m["username"] == "dave")
    assert dave["sessions"] == 2
    assert len(ack["members"]) == 2

    await tab1.leave(room)
    await tab2.disconnect()  # the last session leaves by disconnecting
    await left.wait(1)
    await asyncio.sleep(0.3)  # a second event would have arrived by now
    assert [e["user"]["username"] for e in joined.items] == ["dave"]
    assert [e["user"]["username"] for e in left.items] == ["dave"]
    assert joined.items[0]["room"] == room and isinstance(left.items[0]["ts"], int)


async def test_rooms_event_and_http_apis(connect, server):
    import json
    import urllib.request

    alice = await connect("alice")
    await alice.join("listed")
    await alice.send("listed", "x")
    rooms = {r["room"]: r for r in await alice.rooms()}
    assert rooms["listed"]["members"] == 1 and rooms["listed"]["joined"] is True
    assert rooms["listed"]["last_seq"] == 1

    def get(path, token):
        headers = {"Authorization": f"token {token}"} if token else {}
        req = urllib.request.Request(server.url + path, headers=headers)
        with urllib.request.urlopen(req, timeout=5) as response:
            return response.status, json.loads(response.read())

    status, body = get("collab/api/rooms", "token-bob")
    assert status == 200
    assert {"room": "listed", "members": 1, "last_seq": 1} in body["rooms"]
    status, stats = get("collab/api/stats", "token-bob")
    assert stats["connections"] >= 1 and stats["messages_in"] >= 1
    assert stats["messages_out"] >= 1
    for path in ("collab/api/rooms", "collab/api/stats"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(path, None)
        assert refused.value.code == 403


async def test_chat_counts_as_activity_for_idle_culling(connect, server):
    def last_activity() -> str:
        return server.get_json("api/status", "token-bob")["last_activity"]

    alice = await connect("alice")
    await alice.join("busy")
    before = last_activity()
    await asyncio.sleep(1.1)
    await alice.send("busy", "still here")
    assert last_activity() > before
