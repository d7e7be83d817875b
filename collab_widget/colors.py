"""Member colours: stable per user, distinct within a room of up to 30 people."""

from __future__ import annotations

import hashlib
from collections.abc import Collection

# 30 hues, medium lightness and saturation, readable as text and as a marker on both
# JupyterLab's light (white) and dark (#111) backgrounds.
PALETTE: tuple[str, ...] = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#9a6324",
    "#469990",
    "#808000",
    "#e6308a",
    "#2e8b57",
    "#1e90ff",
    "#d2691e",
    "#8a2be2",
    "#20b2aa",
    "#c71585",
    "#6b8e23",
    "#4169e1",
    "#b8860b",
    "#9932cc",
    "#008b8b",
    "#dc143c",
    "#228b22",
    "#5f6fd6",
    "#cd853f",
    "#ba55d3",
    "#00a86b",
    "#ff6347",
    "#7b68ee",
)


def preferred_slot(username: str) -> int:
    """The palette slot a user gets when it is free: a stable hash of the username."""
    digest = hashlib.sha256(username.encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % len(PALETTE)


def palette_order(username: str) -> list[str]:
    """The palette in the order a user tries it: their preferred slot first, then onwards."""
    start = preferred_slot(username)
    return [PALETTE[(start + step) % len(PALETTE)] for step in range(len(PALETTE))]


def pick_color(username: str, taken: Collection[str]) -> str:
    """The user's preferred colour, or the next palette colour no other member has."""
    order = palette_order(username)
    return next((color for color in order if color not in taken), order[0])
