"""UserInfo: every field a user can set (``PATCH /api/me``) is bounded and checked; a room
gives a user's own colour only when nobody else in it has that colour."""

from __future__ import annotations

import json

import pytest

from collab_widget import limits
from collab_widget.colors import PALETTE
from collab_widget.identity import UserInfo, clean_text, safe_avatar_url, safe_color
from collab_widget.rooms import RoomRegistry

from .units import session


def test_plain_identity_is_kept():
    user = UserInfo.from_identity(
        {
            "username": "ada",
            "name": "Ada Lovelace",
            "display_name": "Ada",
            "initials": "al",
            "avatar_url": "https://example.org/ada.png?s=64",
            "color": "#1E90FF",
        }
    )
    assert user == UserInfo(
        "ada", "Ada Lovelace", "Ada", "AL", "https://example.org/ada.png?s=64", "#1e90ff"
    )
    # Building again from the public form changes nothing (the checks are idempotent).
    assert UserInfo.from_identity(user.public()) == user


def test_defaults_come_from_username_name_and_display_name():
    user = UserInfo.from_identity({"username": "u1", "name": "Grace Hopper", "display_name": ""})
    assert (user.name, user.display_name, user.initials) == ("Grace Hopper", "Grace Hopper", "GH")
    bare = UserInfo.from_identity({"username": "bob"})
    assert (bare.name, bare.display_name, bare.initials, bare.color, bare.avatar_url) == (
        "bob", "bob", "B", None, None
    )  # fmt: skip


def test_a_huge_display_name_is_cut_and_the_public_user_stays_small():
    user = UserInfo.from_identity(
        {
            "username": "eve",
            "name": "N" * 30_000,
            "display_name": "D" * 30_000,
            "initials": "I" * 30_000,
            "avatar_url": "https://example.org/" + "a" * 30_000,
            "color": "#" + "f" * 30_000,
        }
    )
    assert user.name == "N" * limits.MAX_USER_NAME
    assert user.display_name == "D" * limits.MAX_DISPLAY_NAME
    assert user.initials == "III"
    assert user.avatar_url is None and user.color is None
    assert len(json.dumps(user.public("#e6194b"))) < 500


def test_control_and_invisible_characters_are_removed():
    user = UserInfo.from_identity(
        {
            "username": "eve",
            "name": "Eve\x00\x07 \u202eevil\u202c",
            "display_name": "  Line\none\r\n\tTwo\u200b\ud800 ",
            "initials": "\x1b[31mE",
        }
    )
    assert user.name == "Eve evil"
    assert user.display_name == "Line one Two"
    assert user.initials == "[31"  # the escape is gone; what is left is plain text, cut to 3
    json.dumps(user.public()).encode("utf-8")  # no lone surrogate left: encodable
    # Emoji sequences and scripts that need ZWJ keep it.
    assert clean_text("\U0001f469\u200d\U0001f4bb", 10) == "\U0001f469\u200d\U0001f4bb"
    # A name of nothing but controls falls back.
    assert (
        UserInfo.from_identity({"username": "eve", "display_name": "\x00\x01"}).display_name
        == "eve"
    )


def test_cut_names_do_not_end_in_a_space():
    text = "a" * (limits.MAX_DISPLAY_NAME - 1) + " b"
    assert UserInfo("eve", "", text).display_name == "a" * (limits.MAX_DISPLAY_NAME - 1)


def test_non_string_fields_are_converted_or_dropped():
    user = UserInfo.from_identity(
        {"username": 42, "name": 7, "display_name": ["x"], "avatar_url": 5, "color": 0xFFFFFF}
    )
    assert (user.username, user.name, user.display_name) == ("42", "7", "['x']")
    assert user.avatar_url is None and user.color is None


def test_odd_usernames_are_shortened_but_stay_distinct():
    long_a = UserInfo("u" * 500 + "a", "", "")
    long_b = UserInfo("u" * 500 + "b", "", "")
    assert len(long_a.username) == limits.MAX_USERNAME and long_a.username != long_b.username
    assert long_a.username.startswith("u" * 100)
    newline = UserInfo("ada\n", "", "")
    assert newline.username != "ada" and newline.username.startswith("ada~")
    assert UserInfo("ada lovelace", "", "").username == "ada lovelace"
    assert UserInfo(long_a.username, "", "") == long_a  # idempotent


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("#abc", "#aabbcc"),
        ("#ABCDEF", "#abcdef"),
        ("#123456", "#123456"),
        ("red", None),
        ("red;background-image:url(x)", None),
        ("#fff;background:url(x)", None),
        ("#abcd", None),
        ("#abcdef80", None),
        ("#ggg", None),
        ("rgb(1,2,3)", None),
        (" #abc", None),
        ("#abc\n", None),
        ("", None),
        (None, None),
        (123, None),
    ],
)
def test_colours_are_only_hex(given, kept):
    assert safe_color(given) == kept


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://example.org/a.png", True),
        ("http://example.org:8080/a?s=64#x", True),
        ("HTTPS://EXAMPLE.ORG/A.PNG", True),
        ("https://[::1]/a.png", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        ("data:image/png;base64,AAAA", False),
        ("file:///etc/passwd", False),
        ("ftp://example.org/a.png", False),
        ("//example.org/a.png", False),
        ("/avatars/a.png", False),
        ("https:///a.png", False),
        ("https://user:pw@example.org/a.png", False),
        ("https://example.org\\@evil.org/", False),
        (" https://example.org/a.png", False),
        ("https://example.org/a b.png", False),
        ("https://exa\tmple.org/", False),
        ("https://example.org/\u202e", False),
        ("http://[::1", False),
        ("http://example.org:port/", False),
        ("https://example.org/" + "a" * limits.MAX_AVATAR_URL, False),
        ("", False),
        (None, False),
        (["https://example.org/"], False),
    ],
)
def test_avatar_urls_are_only_absolute_http(url, kept):
    assert safe_avatar_url(url) == (url if kept else None)


def test_longest_avatar_url_is_kept():
    url = "https://example.org/"
    url += "a" * (limits.MAX_AVATAR_URL - len(url))
    assert UserInfo("ada", "", "", avatar_url=url).avatar_url == url


def test_own_colour_only_when_no_other_member_has_it():
    rooms = RoomRegistry()
    rooms.create("r", 0)
    ada = rooms.join(session("1", "ada", color="#123456"), "r")
    assert ada is not None and ada.member.color == "#123456"
    # The same colour (written differently) is refused: eve gets a palette colour.
    eve = rooms.join(session("2", "eve", color="#123456"), "r")
    assert eve is not None and eve.member.color in PALETTE
    # A palette colour another member has is refused too.
    bob = rooms.join(session("3", "bob", color=eve.member.color.upper()), "r")
    assert bob is not None and bob.member.color in PALETTE
    # Unusable colours fall back to the palette.
    carol = rooms.join(session("4", "carol", color="red;background-image:url(x)"), "r")
    assert carol is not None and carol.member.color in PALETTE
    colors = [m["color"] for m in rooms.rooms["r"].member_list()]
    assert len(set(colors)) == len(colors) == 4
    # A free colour is kept, in #rrggbb form.
    dave = rooms.join(session("5", "dave", color="#ABC"), "r")
    assert dave is not None and dave.member.color == "#aabbcc"


def test_own_colour_comes_back_when_it_is_free_again():
    rooms = RoomRegistry()
    rooms.create("r", 0)
    ada = session("1", "ada", color="#123456")
    eve = session("2", "eve", color="#123456")
    rooms.join(ada, "r")
    first = rooms.join(eve, "r")
    assert first is not None and first.member.color != "#123456"
    rooms.leave(eve, "r")
    rooms.leave(ada, "r")
    rooms.create("r", 0)  # (again, should an empty room have been freed)
    again = rooms.join(eve, "r")
    assert again is not None and again.member.color == "#123456"
