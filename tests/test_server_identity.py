"""Identity fields are user-controlled (issue 9, flaw 5).

jupyter_server lets every user change their own ``name``, ``display_name``, ``initials``,
``avatar_url`` and ``color`` with ``PATCH /api/me``; the test IdentityProvider
(``tests/support``) allows it as jupyter_server's default one does. Whatever a user sets, the
members, the broadcast and the stored messages carry bounded fields, a colour that is a plain
``#rrggbb`` nobody else in the room has, and only an absolute http(s) avatar URL.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest_asyncio

from collab_widget import limits
from collab_widget.colors import PALETTE

from .conftest import Connect, inbox
from .jupyter import JupyterServer

HUGE = 30_000
TEST_USERS = ("alice", "bob", "carol", "dave")


async def patch_me(server: JupyterServer, user: str, **fields: Any) -> dict[str, Any]:
    """``PATCH /api/me`` as ``user`` (its test token); returns the identity the server keeps."""
    async with aiohttp.ClientSession() as http:
        async with http.patch(
            server.url + "api/me",
            json=fields,
            headers={"Authorization": f"token token-{user}"},
        ) as response:
            assert response.status == 200, await response.text()
            body = await response.json()
    identity: dict[str, Any] = body["identity"]
    for key, value in fields.items():
        assert identity[key] == value  # jupyter_server keeps it unchecked: it is up to us
    return identity


@pytest_asyncio.fixture(autouse=True)
async def plain_identities(server: JupyterServer) -> AsyncIterator[None]:
    """Each test starts with the test users as tests/support defines them (a PATCH lasts as
    long as the server process, which the tests of this module share)."""
    for user in TEST_USERS:
        await patch_me(
            server,
            user,
            name=user.title(),
            display_name=f"{user.title()} Tester",
            initials=user[:2].upper(),
            avatar_url=None,
            color=None,
        )
    yield


@dataclass
class Seen:
    """How one user (``actor``) appears to the room after joining and sending ``hi``."""

    users: list[dict[str, Any]]  # you, the member, joined, the ack's and broadcast message's
    message: dict[str, Any]  # the broadcast message
    others: dict[str, dict[str, Any]]  # the other members, by username


async def join_and_send(connect: Connect, room: str, actor: str, *others: str) -> Seen:
    """``others`` join ``room`` first; ``actor`` joins and sends a 2-character message. Every
    User object of ``actor`` the server gives out is collected, the stored one included."""
    watchers = []
    for name in others:
        client = await connect(name)
        await client.join(room)
        watchers.append(client)
    joined, messages = inbox(watchers[0], "joined"), inbox(watchers[0], "message")
    client = await connect(actor)
    ack = await client.join(room)
    sent = await client.send(room, "hi", client_id=f"c-{room}")
    [seen_join] = await joined.wait(1)
    [broadcast] = await messages.wait(1)
    stored, _ = await watchers[0].history(room)
    assert stored[-1] == broadcast == sent
    members = {m["username"]: m for m in ack["members"]}
    return Seen(
        users=[ack["you"], members.pop(actor), seen_join["user"], sent["user"], stored[-1]["user"]],
        message=broadcast,
        others=members,
    )


def assert_bounded(user: dict[str, Any]) -> None:
    """A User object of the protocol whose fields are all within the limits."""
    assert len(user["username"]) <= limits.MAX_USERNAME
    assert 0 < len(user["name"]) <= limits.MAX_USER_NAME
    assert 0 < len(user["display_name"]) <= limits.MAX_DISPLAY_NAME
    assert user["initials"] is None or len(user["initials"]) <= limits.MAX_INITIALS
    assert user["avatar_url"] is None or len(user["avatar_url"]) <= limits.MAX_AVATAR_URL
    assert limits.COLOR_RE.fullmatch(user["color"]), user["color"]


async def test_a_huge_display_name_is_cut_in_members_and_messages(server, connect):
    await patch_me(server, "alice", display_name="D" * HUGE, name="N" * HUGE, initials="I" * HUGE)
    seen = await join_and_send(connect, "identity-huge", "alice", "bob")
    for user in seen.users:
        assert_bounded(user)
        assert user["display_name"] == "D" * limits.MAX_DISPLAY_NAME
        assert user["name"] == "N" * limits.MAX_USER_NAME
        assert user["initials"] == "III"
    # A 2-character message stays small, as sent, stored and broadcast (was 90 KB).
    assert len(json.dumps(seen.message)) < 600, len(json.dumps(seen.message))


async def test_control_characters_are_removed_from_names(server, connect):
    await patch_me(server, "alice", display_name="Alice\n\u202eTester\x00", initials="\x07a")
    seen = await join_and_send(connect, "identity-controls", "alice", "bob")
    for user in seen.users:
        assert (user["display_name"], user["initials"]) == ("Alice Tester", "A")


async def test_a_css_colour_is_replaced_by_a_palette_colour(server, connect):
    await patch_me(server, "alice", color="red;background-image:url(x)")
    seen = await join_and_send(connect, "identity-css", "alice", "bob")
    for user in seen.users:
        assert user["color"] in PALETTE, user["color"]
        assert user["color"] != seen.others["bob"]["color"]


async def test_a_colour_another_member_has_is_not_given_twice(server, connect):
    # Carol's own colour is a valid #rrggbb nobody in the room has: she keeps it.
    await patch_me(server, "carol", color="#abcdef", display_name="Carol", initials="CA")
    # Dave copies her name, initials and colour (written in capitals).
    await patch_me(server, "dave", color="#ABCDEF", display_name="Carol", initials="CA")
    seen = await join_and_send(connect, "identity-copycat", "dave", "carol")
    assert seen.others["carol"]["color"] == "#abcdef"
    for user in seen.users:
        assert user["color"] in PALETTE, user["color"]


async def test_the_short_form_of_a_members_colour_is_refused_and_a_free_one_kept(server, connect):
    await patch_me(server, "bob", color="#123")
    await patch_me(server, "alice", color="#112233")
    await patch_me(server, "carol", color="#0a0B0c")
    seen = await join_and_send(connect, "identity-short", "alice", "bob")
    assert seen.others["bob"]["color"] == "#112233"
    for user in seen.users:
        assert user["color"] in PALETTE, user["color"]
    # A valid colour nobody in the room has is kept (as #rrggbb).
    carol = await connect("carol")
    ack = await carol.join("identity-short")
    assert ack["you"]["color"] == "#0a0b0c"


async def test_a_javascript_avatar_url_is_dropped_and_an_https_one_kept(server, connect):
    await patch_me(server, "alice", avatar_url="javascript:alert(1)")
    await patch_me(server, "bob", avatar_url="https://example.org/bob.png")
    seen = await join_and_send(connect, "identity-avatar", "alice", "bob")
    assert seen.others["bob"]["avatar_url"] == "https://example.org/bob.png"
    for user in seen.users:
        assert user["avatar_url"] is None
    await patch_me(server, "dave", avatar_url="https://example.org/" + "a" * HUGE)
    seen = await join_and_send(connect, "identity-long-avatar", "dave", "carol")
    for user in seen.users:
        assert user["avatar_url"] is None
