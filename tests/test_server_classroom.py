"""Classroom mode (protocol 1.1) over a real server with real clients: roles from the
configuration and from the room, teacher-only events refused for students, hands, polls,
snippets and the follow request; what survives a reconnect and a restart."""

from __future__ import annotations

import asyncio
from typing import Any

from collab_widget.client import CollabClient

from .conftest import inbox, until
from .jupyter import JupyterServer

# carol is a configured teacher; alice, bob and dave are students.
SERVER_ARGS = ["--CollabApp.teachers=carol"]


def error_code(ack: Any) -> str:
    assert ack["ok"] is False, ack
    return ack["error"]["code"]


def roles(ack: dict[str, Any]) -> dict[str, str]:
    return {m["username"]: m["role"] for m in ack["members"]}


async def test_roles_come_from_the_configuration(connect):
    carol, alice = await connect("carol"), await connect("alice")
    room = "roles-config"
    ack = await carol.join(room)
    assert ack["protocol"] == "1.2"
    assert ack["classroom"] == {
        "teachers_configured": True,
        "student_snippets": False,
        "hands": [],
        "follow": None,
        "polls": [],
    }
    joined = inbox(carol, "joined")
    ack = await alice.join(room)
    assert roles(ack) == {"carol": "teacher", "alice": "student"}
    (event,) = await joined.wait(1)
    assert event["user"]["role"] == "student"


async def test_every_teacher_only_event_is_forbidden_for_a_student(connect):
    carol, alice, bob = await connect("carol"), await connect("alice"), await connect("bob")
    room = "forbidden"
    for client in (carol, alice, bob):
        await client.join(room)
    await bob.request("hand", {"room": room, "raised": True})
    heard = [inbox(carol, e) for e in ("message", "role", "follow", "classroom", "hand")]

    refused = {
        "role": {"room": room, "user": "bob", "role": "teacher"},
        "follow": {"room": room, "on": True},
        "poll": {"room": room, "question": "Done?", "options": ["y", "n"], "client_id": "p1"},
        "classroom": {"room": room, "student_snippets": True},
        "snippet": {"room": room, "code": "print(1)", "client_id": "s1"},
        "hand": {"room": room, "raised": False, "user": "bob"},
    }
    for event, payload in refused.items():
        assert error_code(await alice.call(event, payload)) == "forbidden", event
    # Raising someone else's hand is refused for everyone, teachers too.
    ack = await carol.call("hand", {"room": room, "raised": True, "user": "alice"})
    assert error_code(ack) == "forbidden"

    poll = await carol.request(
        "poll", {"room": room, "question": "Ready?", "options": ["yes", "no"], "client_id": "c1"}
    )
    closing = await alice.call("poll_close", {"room": room, "poll_id": poll["poll"]["id"]})
    assert error_code(closing) == "forbidden"

    await asyncio.sleep(0.3)
    # Nothing reached anyone but carol's own poll; nothing was stored but it.
    assert [m["client_id"] for m in heard[0].items] == ["c1"]
    assert all(not box.items for box in heard[1:])
    messages, _ = await alice.history(room)
    assert [m["client_id"] for m in messages] == ["c1"]
    assert (await bob.join(room))["classroom"]["hands"][0]["user"] == "bob"  # still raised


async def test_hands_are_a_queue_in_time_order_that_a_teacher_lowers(connect):
    carol, alice, bob = await connect("carol"), await connect("alice"), await connect("bob")
    room = "hands"
    for client in (carol, alice, bob):
        await client.join(room)
    hands = inbox(carol, "hand")

    first = await alice.request("hand", {"room": room, "raised": True})
    second = await bob.request("hand", {"room": room, "raised": True})
    again = await alice.request("hand", {"room": room, "raised": True})  # keeps its place
    assert [h["user"] for h in first["hands"]] == ["alice"]
    assert [h["user"] for h in second["hands"]] == ["alice", "bob"]
    assert again["hands"] == second["hands"]
    assert second["hands"][0]["display_name"] == "Alice Tester"
    events = await hands.wait(2)
    assert [(e["hand"]["user"], e["raised"], e["by"]) for e in events] == [
        ("alice", True, "alice"),
        ("bob", True, "bob"),
    ]

    lowered = await carol.request("hand", {"room": room, "raised": False, "user": "alice"})
    assert [h["user"] for h in lowered["hands"]] == ["bob"]
    (*_, event) = await hands.wait(3)
    assert (event["hand"]["user"], event["raised"], event["by"]) == ("alice", False, "carol")

    # A raised hand survives its owner's reconnect.
    await bob.disconnect()
    bob2 = await connect("bob")
    ack = await bob2.join(room)
    assert [h["user"] for h in ack["classroom"]["hands"]] == ["bob"]
    mine = await bob2.request("hand", {"room": room, "raised": False})
    assert mine["hands"] == []


async def test_a_poll_counts_each_user_once_and_shows_students_the_result_when_closed(connect):
    carol, alice, bob = await connect("carol"), await connect("alice"), await connect("bob")
    room = "poll"
    for client in (carol, alice, bob):
        await client.join(room)
    messages = inbox(alice, "message")
    teacher_views, alice_views = inbox(carol, "poll"), inbox(alice, "poll")

    created = await carol.request(
        "poll",
        {"room": room, "question": "Done?", "options": ["yes", "not yet"], "client_id": "q1"},
    )
    poll_id = created["message"]["seq"]
    assert created["poll"]["id"] == poll_id
    (message,) = await messages.wait(1)
    assert (message["kind"], message["text"], message["options"]) == (
        "poll",
        "Done?",
        ["yes", "not yet"],
    )

    first = await alice.request("poll_answer", {"room": room, "poll_id": poll_id, "option": 0})
    assert first["poll"]["your_answer"] == 0
    assert first["poll"]["counts"] is None and first["poll"]["answers"] is None
    await bob.request("poll_answer", {"room": room, "poll_id": poll_id, "option": 1})
    changed = await alice.request("poll_answer", {"room": room, "poll_id": poll_id, "option": 1})
    assert changed["poll"]["answered"] == 2  # alice once, changed
    views = await teacher_views.wait(3)
    assert views[-1]["poll"]["counts"] == [0, 2]
    assert views[-1]["poll"]["answers"] == {"alice": 1, "bob": 1}

    bad = await bob.call("poll_answer", {"room": room, "poll_id": poll_id, "option": 2})
    assert error_code(bad) == "invalid_value"
    unknown = await bob.call("poll_answer", {"room": room, "poll_id": 999, "option": 0})
    assert error_code(unknown) == "unknown_poll"
    assert not alice_views.items  # no live tally for students

    closed = await carol.request("poll_close", {"room": room, "poll_id": poll_id})
    assert closed["poll"]["closed"] is True
    (result,) = await alice_views.wait(1)
    assert result["poll"]["counts"] == [0, 2] and result["poll"]["answers"] is None
    late = await bob.call("poll_answer", {"room": room, "poll_id": poll_id, "option": 0})
    assert error_code(late) == "poll_closed"
    again = await carol.request("poll_close", {"room": room, "poll_id": poll_id})
    assert again["poll"]["closed"] is True  # idempotent, and no second event
    await asyncio.sleep(0.3)
    assert len(alice_views.items) == 1

    ack = await alice.join(room)  # re-join: the closed poll with the result and her answer
    (view,) = ack["classroom"]["polls"]
    assert (view["your_answer"], view["counts"], view["closed"]) == (1, [0, 2], True)


async def test_poll_payloads_are_checked(connect):
    carol = await connect("carol")
    room = "poll-input"
    await carol.join(room)
    base = {"room": room, "question": "Q?", "client_id": "x"}
    for options in (
        [],
        ["only"],
        ["a", "a"],
        ["a", ""],
        ["a", 1],
        ["x" * 101, "b"],
        list("abcdefghi"),
    ):
        assert error_code(await carol.call("poll", {**base, "options": options})) == "invalid_value"
    assert error_code(
        await carol.call("poll", {**base, "question": " ", "options": ["a", "b"]})
    ) == ("invalid_text")
    for i in range(5):
        await carol.request("poll", {**base, "options": ["a", "b"], "client_id": f"p{i}"})
    sixth = await carol.call("poll", {**base, "options": ["a", "b"], "client_id": "p5"})
    assert error_code(sixth) == "too_many_polls"


async def test_snippets_are_stored_messages_and_students_share_only_when_allowed(connect):
    carol, alice = await connect("carol"), await connect("alice")
    room = "snippets"
    await carol.join(room)
    await alice.join(room)
    settings = inbox(alice, "classroom")

    ack = await carol.request("snippet", {"room": room, "code": "df.head()", "client_id": "s1"})
    assert (ack["message"]["kind"], ack["message"]["language"]) == ("snippet", "python")
    resent = await carol.request("snippet", {"room": room, "code": "df.head()", "client_id": "s1"})
    assert resent["duplicate"] is True and resent["message"]["seq"] == ack["message"]["seq"]
    bad = await carol.call(
        "snippet", {"room": room, "code": "x", "language": "Py thon", "client_id": "s2"}
    )
    assert error_code(bad) == "invalid_value"
    assert error_code(
        await alice.call("snippet", {"room": room, "code": "1", "client_id": "a"})
    ) == ("forbidden")

    await carol.request("classroom", {"room": room, "student_snippets": True})
    (event,) = await settings.wait(1)
    assert (event["student_snippets"], event["by"]) == (True, "carol")
    mine = await alice.request(
        "snippet", {"room": room, "code": "SELECT 1", "language": "sql", "client_id": "a2"}
    )
    assert mine["message"]["language"] == "sql"
    history, _ = await alice.history(room)
    assert [(m["kind"], m["text"]) for m in history] == [
        ("snippet", "df.head()"),
        ("snippet", "SELECT 1"),
    ]


async def test_follow_requests_and_roles_handed_on(connect):
    carol, alice, bob = await connect("carol"), await connect("alice"), await connect("bob")
    room = "follow-roles"
    for client in (carol, alice, bob):
        await client.join(room)
    follows, role_events = inbox(bob, "follow"), inbox(bob, "role")

    ack = await carol.request("follow", {"room": room, "on": True})
    assert ack["follow"]["user"] == "carol"
    (event,) = await follows.wait(1)
    assert event["follow"]["user"] == "carol"
    assert (await bob.join(room))["classroom"]["follow"]["user"] == "carol"

    created = await carol.request(
        "poll", {"room": room, "question": "Ok?", "options": ["a", "b"], "client_id": "f1"}
    )
    poll_id = created["poll"]["id"]
    await bob.request("poll_answer", {"room": room, "poll_id": poll_id, "option": 1})
    tallies = inbox(alice, "poll")
    made = await carol.request("role", {"room": room, "user": "alice", "role": "teacher"})
    # The new teacher sees the open poll's tally at once.
    (tally,) = await tallies.wait(1)
    assert tally["poll"]["answers"] == {"bob": 1}
    assert made["user"]["role"] == "teacher"
    (event,) = await role_events.wait(1)
    assert (event["user"]["username"], event["user"]["role"], event["by"]) == (
        "alice",
        "teacher",
        "carol",
    )
    # alice may now do what teachers do, but not make the configured teacher a student.
    await alice.request("classroom", {"room": room, "student_snippets": False})
    demote = await alice.call("role", {"room": room, "user": "carol", "role": "student"})
    assert error_code(demote) == "invalid_value"
    nobody = await alice.call("role", {"room": room, "user": "zed", "role": "teacher"})
    assert error_code(nobody) == "unknown_user"
    await alice.request("role", {"room": room, "user": "alice", "role": "student"})
    assert roles(await bob.join(room))["alice"] == "student"

    stop = await carol.request("follow", {"room": room, "on": False})
    assert stop["follow"] is None


async def test_presence_may_say_whom_a_tab_follows(connect):
    alice, bob = await connect("alice"), await connect("bob")
    room = "following"
    await alice.join(room)
    await bob.join(room)
    batches = inbox(bob, "presence")
    await alice.request(
        "presence", {"room": room, "state": {"path": "a.ipynb", "following": "bob"}}
    )
    await until(
        lambda: any(
            u["state"].get("following") == "bob" for b in batches.items for u in b["updates"]
        )
    )
    long = {"room": room, "state": {"following": "x" * 129}}
    assert error_code(await alice.call("presence", long)) == "invalid_presence"


async def test_without_configured_teachers_the_first_person_teaches_also_after_a_restart(
    tmp_path,
):
    server = JupyterServer(tmp_path, args=[]).start()
    clients: list[CollabClient] = []

    async def user(name: str) -> CollabClient:
        client = CollabClient(server.url, token=f"token-{name}", transports=["websocket"])
        await client.connect()
        clients.append(client)
        return client

    room = "first-person"
    try:
        alice, bob = await user("alice"), await user("bob")
        ack = await alice.join(room)
        assert ack["classroom"]["teachers_configured"] is False
        assert roles(ack) == {"alice": "teacher"}
        assert roles(await bob.join(room)) == {"alice": "teacher", "bob": "student"}
        await bob.request("hand", {"room": room, "raised": True})
        created = await alice.request(
            "poll", {"room": room, "question": "Ok?", "options": ["a", "b"], "client_id": "r1"}
        )
        poll_id = created["poll"]["id"]
        await bob.request("poll_answer", {"room": room, "poll_id": poll_id, "option": 1})
        # The last teacher of such a room cannot step down; with another one they can.
        last = await alice.call("role", {"room": room, "user": "alice", "role": "student"})
        assert error_code(last) == "invalid_value"

        for client in clients:
            await client.disconnect()
        clients.clear()
        await asyncio.to_thread(server.stop)
        server.start()

        bob, alice = await user("bob"), await user("alice")
        ack = await bob.join(room)  # bob is first now, but the room has its teacher
        assert roles(ack) == {"bob": "student"}
        assert [h["user"] for h in ack["classroom"]["hands"]] == ["bob"]
        (view,) = ack["classroom"]["polls"]
        assert (view["id"], view["your_answer"], view["closed"]) == (poll_id, 1, False)
        ack = await alice.join(room)
        assert roles(ack)["alice"] == "teacher"
        assert ack["classroom"]["polls"][0]["counts"] == [0, 1]
        history, _ = await alice.history(room)
        assert history[-1]["options"] == ["a", "b"]

        await alice.request("role", {"room": room, "user": "bob", "role": "teacher"})
        await alice.request("role", {"room": room, "user": "alice", "role": "student"})
        assert (
            error_code(await alice.call("poll_close", {"room": room, "poll_id": poll_id}))
            == "forbidden"
        )
        await bob.request("poll_close", {"room": room, "poll_id": poll_id})
    finally:
        for client in clients:
            if client.connected:
                await client.disconnect()
        server.stop()
