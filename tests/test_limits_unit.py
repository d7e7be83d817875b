"""Both sides of the wire use the same limits: ``src/limits.ts`` equals ``collab_widget/limits.py``.

The TypeScript file is read as text: each ``export const NAME = value;`` line is one limit
(a number or a regex literal).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from collab_widget import limits

LIMITS_TS = Path(__file__).parent.parent / "src" / "limits.ts"
EXPORT = re.compile(r"^export const (\w+) = (.+);\s*$", re.MULTILINE)
REGEX_LITERAL = re.compile(r"^/(.+)/([a-z]*)$")

# TypeScript name -> the Python value it must equal.
TWINS: dict[str, object] = {
    "MAX_TEXT_LENGTH": limits.MAX_TEXT_LENGTH,
    "MAX_ROOM_NAME": limits.MAX_ROOM_NAME,
    "ROOM_NAME_RE": limits.ROOM_NAME_RE,
    "MAX_CLIENT_ID": limits.MAX_CLIENT_ID,
    "HISTORY_PAGE_SIZE": limits.HISTORY_PAGE_SIZE,
    "MAX_PRESENCE_PATH": limits.MAX_PATH,
    "MAX_PRESENCE_CELL_ID": limits.MAX_CELL_ID,
    "MAX_PRESENCE_SELECTIONS": limits.MAX_SELECTIONS,
    "MAX_AVATAR_URL": limits.MAX_AVATAR_URL,
    "MAX_POLL_QUESTION": limits.MAX_POLL_QUESTION,
    "MIN_POLL_OPTIONS": limits.MIN_POLL_OPTIONS,
    "MAX_POLL_OPTIONS": limits.MAX_POLL_OPTIONS,
    "MAX_POLL_OPTION": limits.MAX_POLL_OPTION,
    "MAX_OPEN_POLLS": limits.MAX_OPEN_POLLS,
    "LANGUAGE_RE": limits.LANGUAGE_RE,
    "MAX_USERNAME": limits.MAX_USERNAME,
}


def typescript_limits() -> dict[str, str]:
    """``NAME -> value source text`` of every exported constant of src/limits.ts."""
    assert LIMITS_TS.exists(), f"{LIMITS_TS} is missing"
    return dict(EXPORT.findall(LIMITS_TS.read_text(encoding="utf-8")))


def test_every_typescript_limit_has_a_python_twin():
    names = set(typescript_limits())
    assert names == set(TWINS), (
        f"only in src/limits.ts: {sorted(names - set(TWINS))}; "
        f"missing there: {sorted(set(TWINS) - names)}"
    )


REGEXES = {"ROOM_NAME_RE", "LANGUAGE_RE"}


@pytest.mark.parametrize("name", sorted(set(TWINS) - REGEXES))
def test_numbers_are_equal(name):
    source = typescript_limits()[name]
    assert re.fullmatch(r"\d[\d_]*", source), f"{name} = {source} is not a plain number"
    assert int(source.replace("_", "")) == TWINS[name]


@pytest.mark.parametrize("name", sorted(REGEXES))
def test_patterns_are_equal(name):
    literal = REGEX_LITERAL.fullmatch(typescript_limits()[name])
    assert literal is not None, f"{name} is not a regex literal"
    body, flags = literal.groups()
    assert flags == ""
    python = TWINS[name]
    assert isinstance(python, re.Pattern)
    # JavaScript anchors the whole string with ^...$; Python uses fullmatch on the same body.
    assert body == f"^{python.pattern}$"
    assert python.flags == re.UNICODE  # the default: nothing else changes meaning
