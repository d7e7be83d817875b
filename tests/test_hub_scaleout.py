"""The class service as two processes sharing rooms through a real Redis
(``configure_hub(c, replicas=2, redis_url=...)``), reached through a proxy the tests can slow
down; alice and carol's servers prefer process 1 (``collab-1``), bob's process 0."""

from __future__ import annotations

import asyncio
import hashlib
import statistics
import time
from collections.abc import Iterator

import pytest
import socketio

from collab_widget.client import CollabClient

from .conftest import Talker, inbox, until
from .delayproxy import DelayProxy
from .hub import LocalHub
from .redisserver import RedisServer

pytestmark = pytest.mark.timeout(300)
COLLAB_SCOPE = "access:services!service=collab"


def replica_of(user: str) -> int:
    """The process a user's relay prefers (as collab_widget.upstream picks it)."""
    return int.from_bytes(hashlib.sha256(user.encode()).digest()[:4], "big") % 2


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(redis_server: RedisServer) -> Iterator[DelayProxy]:
    with DelayProxy("127.0.0.1", redis_server.port) as delay_proxy:
        yield delay_proxy


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, proxy: DelayProxy) -> Iterator[LocalHub]:
    assert (replica_of("alice"), replica_of("bob"), replica_of("carol")) == (1, 0, 1)
    with LocalHub(
        tmp_path_factory.mktemp("scaleout-hub"),
        hub_options={"replicas": 2, "redis_url": proxy.url_for("redis")},
        users=["alice", "bob", "carol"],
    ) as local_hub:
        yield local_hub


async def connected(*clients: CollabClient) -> None:
    await until(lambda: all(c.service_state == "connected" for c in clients), what="relays")


async def test_a_room_spans_both_processes(hub: LocalHub):
    room = "spans"
    async with hub.client("alice") as alice, hub.client("bob") as bob:
        async with hub.client("carol") as carol:
            await connected(alice, bob, carol)
            boxes = {c: inbox(c, "message") for c in (alice, bob, carol)}
            joins_at_bob = inbox(bob, "joined")
            presence_at_bob = inbox(bob, "presence")
            presence_at_carol = inbox(carol, "presence")
            await bob.join(room)
            await alice.join(room)
            ack = await carol.join(room)
            assert sorted(m["username"] for m in ack["members"]) == ["alice", "bob", "carol"]
            colors = [m["color"] for m in ack["members"]]
            assert len(set(colors)) == 3, "one colour per member, across processes"
            # a second session of alice on the other process: still one member
            async with hub.client("alice") as alice2:
                await connected(alice2)
                await alice2.join(room)
                senders = [alice, bob, carol, alice2]
                for i in range(12):
                    await senders[i % 4].send(room, f"m{i}")
                for box in boxes.values():
                    got = await box.wait(12, timeout=10)
                    assert [m["text"] for m in got] == [f"m{i}" for i in range(12)]
                    seqs = [m["seq"] for m in got]
                    assert seqs == sorted(set(seqs)), "seq strictly increasing, none reused"
            await asyncio.sleep(0.5)
            assert [e["user"]["username"] for e in joins_at_bob.items] == ["alice", "carol"]
            # presence crosses processes (alice on 1 -> bob on 0) and stays within one
            await alice.presence(room, {"path": "lab.ipynb", "cell_id": "c1", "line": 4})
            for box in (presence_at_bob, presence_at_carol):
                await until(
                    lambda box=box: any(
                        u["user"] == "alice" for b in box.items for u in b["updates"]
                    ),
                    timeout=5,
                    what="alice's presence",
                )
        left_at_bob = inbox(bob, "left")
        gone = await left_at_bob.wait(1, timeout=5)
        assert gone[0]["user"]["username"] == "carol"
        # `rooms` counts every process's members, refreshed each heartbeat (1 s)
        members = None
        for _ in range(50):
            listed = {r["room"]: r for r in await bob.rooms()}
            members = listed.get(room, {}).get("members")
            if members == 2:
                break
            await asyncio.sleep(0.1)
        assert members == 2


async def test_a_resend_through_the_other_process_is_recognised(hub: LocalHub):
    room = "dedupe"
    async with hub.client("alice") as alice:
        await connected(alice)
        await alice.join(room)
        first = await alice.send(room, "once", client_id="same-id")
    # the same client_id from alice, straight to process 0 (her relay uses process 1)
    direct = socketio.AsyncClient(reconnection=False)
    token = hub.user_token("alice", scopes=[COLLAB_SCOPE])
    await direct.connect(
        hub.service_url.split("/services/")[0],  # process 0's address
        socketio_path="/services/collab/socket.io",
        headers={"Authorization": f"token {token}"},
        transports=["websocket"],
    )
    try:
        assert (await direct.call("open", "d1", timeout=5))["ok"]
        await direct.call("ev", ("d1", "join", {"room": room}), timeout=5)
        again = await direct.call(
            "ev", ("d1", "send", {"room": room, "text": "once", "client_id": "same-id"}), timeout=5
        )
        assert again["ok"] and again["duplicate"] is True
        assert again["message"]["seq"] == first["seq"]
    finally:
        await direct.disconnect()


async def test_a_killed_process_fails_over_and_loses_nothing(hub: LocalHub):
    room = "failover"
    alice = hub.client("alice", send_timeout=60)  # on process 1, which is killed
    bob = hub.client("bob")
    async with alice, bob:
        await connected(alice, bob)
        at_bob, at_alice = inbox(bob, "message"), inbox(alice, "message")
        left_at_bob = inbox(bob, "left")
        states: list[str] = []
        alice.on("service", lambda e: states.append(e["state"]))
        await bob.join(room)
        await alice.join(room)
        talker = Talker(alice, room, "a", pause=0.1)
        await until(lambda: len(talker.acked) >= 5, what="messages before the kill")
        pids = hub.service_pids()
        target = next(pid for name, pid in pids.items() if name == "collab-1")
        hub.kill_pid(target)
        started = time.monotonic()
        await until(lambda: states[-1:] == ["connected"] and "reconnecting" in states, 15)
        failover = time.monotonic() - started
        print(f"failover: relays back and re-joined in {failover:.2f} s")
        assert failover < 5.0, f"failover took {failover:.1f} s"
        acked = await talker.finish_after(8, timeout=60)
        for box in (at_bob, at_alice):
            got = await box.wait(len(acked), timeout=15)
            await asyncio.sleep(0.5)
            assert [m["seq"] for m in box.items] == acked, "each acknowledged message once"
            assert len(got) == len(acked)
        # alice re-joined through process 0 before process 1 was reaped: never shown as gone
        await asyncio.sleep(6)  # proc_ttl (4 s) + a heartbeat: the reap has happened
        assert [e["user"]["username"] for e in left_at_bob.items] == []
        ack = await bob.join(room)  # bob sees alice once, with one session
        (member,) = [m for m in ack["members"] if m["username"] == "alice"]
        assert member["sessions"] == 1
    assert "stopped; its sessions left their rooms" in hub.log()


async def test_redis_away_sends_are_refused_presence_goes_on(
    hub: LocalHub, redis_server: RedisServer
):
    room = "redis-away"
    async with hub.client("alice") as alice, hub.client("carol") as carol:
        await connected(alice, carol)  # both on process 1
        await alice.join(room)
        await carol.join(room)
        before = await alice.send(room, "before")
        presence_at_carol = inbox(carol, "presence")
        redis_server.stop()
        try:
            refused = await alice.call(
                "send", {"room": room, "text": "while away", "client_id": "away-1"}
            )
            assert refused["error"]["code"] == "unavailable"
            await alice.presence(room, {"path": "x.ipynb", "cell_id": "c9", "line": 1})
            batch = await presence_at_carol.wait(1, timeout=5)
            assert any(u["user"] == "alice" for b in batch for u in b["updates"])
        finally:
            redis_server.start()
        # the processes reconnect by themselves; nothing stored was lost
        deadline = time.monotonic() + 30
        while True:
            answer = await alice.call(
                "send", {"room": room, "text": "after", "client_id": "after-1"}
            )
            if answer.get("ok") or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        assert answer["ok"], answer
        assert answer["message"]["seq"] == before["seq"] + 1
        page, _more = await carol.history(room)
        assert [m["text"] for m in page] == ["before", "after"]


async def join_when_ready(client: CollabClient, room: str, timeout: float = 30) -> None:
    """Join, retrying ``unavailable`` as the browser does: a process may still be getting its
    Redis connections back after an earlier test's outage."""
    deadline = time.monotonic() + timeout
    while True:
        ack = await client.call("join", {"room": room})
        if ack.get("ok") or ack["error"]["code"] != "unavailable" or time.monotonic() > deadline:
            assert ack.get("ok"), ack
            return
        await asyncio.sleep(0.5)


async def test_slow_redis_loses_nothing_and_adds_its_delay(hub: LocalHub, proxy: DelayProxy):
    room = "slow"
    async with hub.client("alice") as alice, hub.client("bob") as bob:
        await connected(alice, bob)
        await join_when_ready(alice, room)
        await join_when_ready(bob, room)
        at_bob = inbox(bob, "message")

        async def latencies(count: int) -> list[float]:
            times: list[float] = []
            for i in range(count):
                start = time.monotonic()
                seen = len(at_bob.items)
                await alice.send(room, f"t{i}")
                await until(lambda seen=seen: len(at_bob.items) > seen, 10, "delivery")
                times.append(time.monotonic() - start)
            return times

        fast = statistics.median(await latencies(15))
        proxy.delay = 0.05
        try:
            slow = statistics.median(await latencies(15))
        finally:
            proxy.delay = 0.0
        assert [m["text"] for m in at_bob.items] == [f"t{i}" for i in range(15)] * 2
        added = slow - fast
        print(
            f"send->delivery p50: {fast * 1000:.1f} ms, with Redis 50 ms slower: "
            f"{slow * 1000:.1f} ms (+{added * 1000:.0f} ms)"
        )
        assert 0.04 <= added <= 0.3


async def test_classroom_state_is_one_across_the_processes(hub: LocalHub):
    room = "classroom-spans"
    async with hub.client("alice") as alice, hub.client("bob") as bob:
        async with hub.client("carol") as carol:
            await connected(alice, bob, carol)
            # No teachers configured here: the first person (alice, process 1) teaches.
            assert {m["role"] for m in (await alice.join(room))["members"]} == {"teacher"}
            ack = await bob.join(room)  # process 0
            assert {m["username"]: m["role"] for m in ack["members"]} == {
                "alice": "teacher",
                "bob": "student",
            }
            await carol.join(room)
            tallies, hands, results = inbox(alice, "poll"), inbox(alice, "hand"), inbox(bob, "poll")
            created = await alice.request(
                "poll",
                {"room": room, "question": "Ok?", "options": ["a", "b"], "client_id": "x1"},
            )
            poll_id = created["poll"]["id"]
            # Answers from both processes at once: each is kept (one state, changed atomically).
            await asyncio.gather(
                bob.request("poll_answer", {"room": room, "poll_id": poll_id, "option": 0}),
                carol.request("poll_answer", {"room": room, "poll_id": poll_id, "option": 1}),
            )
            await until(
                lambda: any(t["poll"]["answered"] == 2 for t in tallies.items),
                what="the teacher's tally with both answers",
            )
            await bob.request("hand", {"room": room, "raised": True})
            (hand,) = await hands.wait(1)
            assert hand["hand"]["user"] == "bob"
            await alice.request("poll_close", {"room": room, "poll_id": poll_id})
            (result,) = await results.wait(1)
            assert result["poll"]["counts"] == [1, 1] and result["poll"]["answers"] is None
