"""Member colours, tested directly."""

from __future__ import annotations

from collab_widget.colors import PALETTE, pick_color
from collab_widget.rooms import RoomRegistry

from .units import session


def test_thirty_members_get_thirty_distinct_stable_colours():
    rooms = RoomRegistry()
    rooms.create("r", 0)
    colours = [rooms.join(session(str(i), f"student-{i}"), "r").member.color for i in range(30)]
    assert len(set(colours)) == 30 and set(colours) == set(PALETTE)
    assert pick_color("student-7", taken=()) == pick_color("student-7", taken=())
