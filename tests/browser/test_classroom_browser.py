"""Classroom mode in real JupyterLab, Chromium: a teacher and two students (three browser
contexts, three anonymous users of one server) in one room.

No teachers are configured here, so the first person in the room (the teacher, who runs the
Room cell first) teaches it. The tests of this module share one JupyterLab and run in file
order.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from .conftest import NewUser
from .lab import (
    ARTIFACTS,
    REPO,
    Lab,
    kernel_output,
    kernel_output_until,
    markdown_cell,
    me,
    notebook_file,
    open_notebook,
    room_cell,
    room_view,
    run_cell,
    tall_cells,
    wait_connected,
)

NOTEBOOK = "classroom_test.ipynb"
ROOM = NOTEBOOK  # Room() without a name: the room is named after the notebook's path
CELL_ROOM = 1
#: Tall code cells, so that three cells down is out of view.
TALL_CELLS = 14
LINES_PER_CELL = 18


NOTEBOOK_TEXT = notebook_file(
    markdown_cell("title", "# Lab 3"),
    room_cell(None),
    *tall_cells(TALL_CELLS, LINES_PER_CELL, "step"),
)


@dataclass
class Class:
    teacher: Page
    ana: Page
    ben: Page
    users: dict[str, str]  # "teacher"/"ana"/"ben" -> username
    names: dict[str, str]  # -> display name

    def view(self, page: Page) -> Locator:
        return room_view(page, CELL_ROOM)


@pytest.fixture(scope="module")
def klass(new_user: NewUser, lab: Lab) -> Class:
    (lab.root / NOTEBOOK).write_text(NOTEBOOK_TEXT)
    pages = {"teacher": new_user(), "ana": new_user(), "ben": new_user()}
    users, names = {}, {}
    for who, page in pages.items():  # the teacher first: the room's first person
        open_notebook(page, lab, NOTEBOOK, f"classroom-{who}")
        run_cell(page, CELL_ROOM)
        view = room_view(page, CELL_ROOM)
        wait_connected(view)
        names[who], users[who] = me(view)
    expect(room_view(pages["teacher"], CELL_ROOM).get_by_test_id("member-count")).to_have_text(
        "3 members"
    )
    return Class(pages["teacher"], pages["ana"], pages["ben"], users, names)


def cell(page: Page, index: int) -> Locator:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def in_view(page: Page, index: int) -> bool:
    """Whether the middle of a cell is inside the notebook's visible area."""
    return bool(
        page.evaluate(
            """index => {
              const panel = window.jupyterapp.shell.currentWidget;
              const scroller = panel.content.node;
              const c = panel.content.widgets[index].node;
              if (!c.isConnected) return false;
              const a = scroller.getBoundingClientRect(), b = c.getBoundingClientRect();
              const mid = (b.top + b.bottom) / 2;
              return mid > a.top && mid < a.bottom;
            }""",
            index,
        )
    )


def wait_in_view(page: Page, index: int, timeout: float = 5.0) -> bool:
    """Whether a cell comes into view within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not in_view(page, index):
        if time.monotonic() > deadline:
            return False
        page.wait_for_timeout(100)
    return True


def active_cell(page: Page) -> int:
    return int(page.evaluate("() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"))


def activate(page: Page, index: int) -> None:
    """Make a cell the active one, as a click on its prompt area does (command mode)."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    target.locator(".jp-InputPrompt").click()
    expect(target).to_have_class(re.compile(r"jp-mod-active"))


def test_roles_the_first_person_teaches_and_students_get_no_teacher_controls(klass: Class):
    teacher_view, ana_view = klass.view(klass.teacher), klass.view(klass.ana)
    row = teacher_view.locator(f'[data-testid=member][data-username="{klass.users["teacher"]}"]')
    expect(row.get_by_test_id("collab-member-teacher")).to_be_visible()
    expect(teacher_view.get_by_test_id("collab-teacher-panel")).to_be_visible()
    expect(teacher_view.get_by_test_id("collab-poll-open")).to_be_visible()
    expect(ana_view.get_by_test_id("collab-hand-toggle")).to_be_visible()
    for testid in ("collab-teacher-panel", "collab-poll-open", "collab-follow-ask"):
        expect(ana_view.get_by_test_id(testid)).not_to_be_visible()


def test_a_raised_hand_reaches_the_teachers_queue_within_a_second(klass: Class):
    teacher_view, ana_view = klass.view(klass.teacher), klass.view(klass.ana)
    queue = teacher_view.get_by_test_id("collab-hand-queue")
    item = queue.get_by_test_id("collab-hand-item").filter(has_text=klass.names["ana"])
    expect(item).to_have_count(0)
    toggle = ana_view.get_by_test_id("collab-hand-toggle")
    toggle.click()
    started = time.monotonic()
    expect(item).to_be_visible(timeout=1_000)
    assert time.monotonic() - started <= 1.0
    expect(item.get_by_test_id("collab-hand-ago")).to_be_visible()
    # The members list and the log say so too.
    ana_row = teacher_view.locator(f'[data-testid=member][data-username="{klass.users["ana"]}"]')
    expect(ana_row.get_by_test_id("collab-member-hand")).to_be_visible()
    expect(teacher_view.get_by_test_id("log-line").filter(has_text="raised a hand")).to_have_count(
        1
    )

    item.get_by_test_id("collab-hand-lower").click()
    expect(item).to_have_count(0)
    expect(toggle).to_have_text("✋ Raise hand")  # ana sees her hand lowered


def test_a_teachers_snippet_is_inserted_below_a_students_cell(klass: Class):
    code = "import math\nprint(math.tau)"
    teacher_view = klass.view(klass.teacher)
    teacher_view.get_by_test_id("collab-snippet-open").click()
    teacher_view.get_by_test_id("collab-snippet-input").fill(code)
    teacher_view.get_by_test_id("collab-snippet-share").click()

    ana = klass.ana
    card = klass.view(ana).get_by_test_id("collab-snippet").last
    expect(card).to_be_visible()
    expect(card.get_by_test_id("collab-snippet-code")).to_have_text(code)
    # CodeMirror's highlighter marked up the code (spans with highlight classes).
    expect(card.get_by_test_id("collab-snippet-code").locator("span")).not_to_have_count(0)
    cells_before = ana.locator(".jp-Notebook .jp-Cell").count()
    activate(ana, 3)
    card.scroll_into_view_if_needed()
    card.get_by_test_id("collab-snippet-insert").click()
    expect(ana.locator(".jp-Notebook .jp-Cell")).to_have_count(cells_before + 1)
    source = ana.evaluate(
        "() => window.jupyterapp.shell.currentWidget.content.widgets[4]"
        ".model.sharedModel.getSource()"
    )
    assert source == code
    assert ana.locator(".jp-Notebook .jp-Cell").nth(4).locator(".jp-OutputArea-output").count() == 0
    # Nothing was inserted in the teacher's notebook.
    assert klass.teacher.locator(".jp-Notebook .jp-Cell").count() == cells_before


def test_following_the_teacher_keeps_their_cell_in_view_until_the_student_scrolls(
    klass: Class,
):
    teacher, ana, ben = klass.teacher, klass.ana, klass.ben
    klass.view(teacher).scroll_into_view_if_needed()
    klass.view(teacher).get_by_test_id("collab-follow-ask").click()

    for student in (ana, ben):
        klass.view(student).scroll_into_view_if_needed()
        expect(klass.view(student).get_by_test_id("collab-follow-request")).to_be_visible()
    klass.view(ben).get_by_test_id("collab-follow-decline").click()
    expect(klass.view(ben).get_by_test_id("collab-follow-request")).not_to_be_visible()
    klass.view(ana).get_by_test_id("collab-follow-accept").click()
    assert not in_view(ana, 6)
    activate(teacher, 5)  # (a click in the widget made its own cell the teacher's active one)

    bar = ana.get_by_test_id("collab-follow-bar")
    expect(bar).to_have_attribute("data-state", "following")
    expect(bar).to_contain_text(f"Following {klass.names['teacher']}")
    # ana's notebook has one more cell (the snippet, below cell 3): the teacher's cell 5 is
    # found by its id, so ana sees her cell 6.
    assert wait_in_view(ana, 6), "the follower sees the teacher's cell"
    assert not in_view(ana, 9), "three cells down is out of view"
    active_before = active_cell(ana)

    activate(teacher, 8)  # three cells down
    assert wait_in_view(ana, 9), "the follower's notebook scrolled to the teacher's new cell"
    assert active_cell(ana) == active_before, "following never moves the follower's active cell"
    assert not in_view(ben, 9), "ben declined: his notebook did not move"

    # ana scrolls herself: following pauses and stays where she is.
    cell(ana, 9).hover()
    ana.mouse.wheel(0, -2500)
    expect(bar).to_have_attribute("data-state", "paused")
    expect(bar).to_contain_text("paused")
    activate(teacher, 12)
    ana.wait_for_timeout(1_500)
    assert not in_view(ana, 13), "paused: the teacher's move did not scroll ana's notebook"
    bar.get_by_test_id("collab-follow-resume").click()
    assert wait_in_view(ana, 13), "resume jumps to where the teacher is"
    bar.get_by_test_id("collab-follow-stop").click()
    expect(ana.get_by_test_id("collab-follow-bar")).to_have_count(0)


def test_a_poll_shows_the_right_tally_at_the_teacher(klass: Class):
    teacher_view = klass.view(klass.teacher)
    teacher_view.scroll_into_view_if_needed()
    teacher_view.get_by_test_id("collab-poll-open").click()
    form = teacher_view.get_by_test_id("collab-poll-new")
    form.get_by_test_id("collab-poll-question-input").fill("Done with exercise 3?")
    form.get_by_test_id("collab-poll-options").fill("yes\nnot yet")
    form.get_by_test_id("collab-poll-submit").click()

    for who, answer in (("ana", "yes"), ("ben", "not yet")):
        view = klass.view(getattr(klass, who))
        view.scroll_into_view_if_needed()
        card = view.get_by_test_id("collab-poll").last
        expect(card).to_contain_text("Done with exercise 3?")
        card.get_by_test_id("collab-poll-option").filter(has_text=answer).first.click()
        expect(
            card.get_by_test_id("collab-poll-option").filter(has_text=answer).first
        ).to_have_class(re.compile("jp-mod-chosen"))
        expect(card.get_by_test_id("collab-poll-count")).to_have_count(0)  # no live tally

    teacher_card = teacher_view.get_by_test_id("collab-poll").last
    expect(teacher_card.get_by_test_id("collab-poll-count")).to_have_text(["1", "1"])
    expect(teacher_card.get_by_test_id("collab-poll-answered")).to_contain_text("2 of 2")

    # ben raises his hand: the teacher's view now has a queue, the overview and the poll.
    klass.view(klass.ben).get_by_test_id("collab-hand-toggle").click()
    expect(teacher_view.get_by_test_id("collab-hand-item")).to_have_count(1)
    expect(teacher_view.get_by_test_id("collab-overview")).to_be_visible()
    expect(teacher_view.get_by_test_id("collab-overview-hands")).to_contain_text("1")
    teacher_view.scroll_into_view_if_needed()
    teacher_view.screenshot(path=str(ARTIFACTS / "classroom-teacher.png"))
    if os.environ.get("COLLAB_SCREENSHOTS"):
        teacher_view.screenshot(path=str(REPO / "docs" / "img" / "classroom-teacher.png"))

    teacher_card.get_by_test_id("collab-poll-close").click()
    ana_card = klass.view(klass.ana).get_by_test_id("collab-poll").last
    expect(ana_card.get_by_test_id("collab-poll-count")).to_have_text(["1", "1"])


def test_a_student_makes_an_own_copy_that_stays_in_the_room_and_speaks_python(
    klass: Class, lab: Lab
):
    ana, teacher = klass.ana, klass.teacher
    view = klass.view(ana)
    view.scroll_into_view_if_needed()
    offer = view.get_by_test_id("collab-own-copy")
    expect(offer).to_be_visible()  # two others have this notebook open on this server
    expect(offer).to_contain_text("2 others")
    expect(klass.view(teacher).get_by_test_id("collab-own-copy")).not_to_be_visible()
    offer.get_by_test_id("collab-own-copy-make").click()

    # The copy opens in ana's JupyterLab under a name with hers.
    ana.wait_for_function(
        """original => {
          const panel = window.jupyterapp.shell.currentWidget;
          return panel && panel.context && panel.context.path !== original
            && panel.context.path.startsWith('classroom_test-');
        }""",
        arg=NOTEBOOK,
        timeout=30_000,
    )
    copy = ana.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    assert (lab.root / copy).exists()
    assert json.loads((lab.root / copy).read_text())["metadata"]["collab_widget"] == {"room": ROOM}
    # The page helpers look at the first notebook of a page: load the copy alone.
    open_notebook(ana, lab, copy, "classroom-ana-copy")
    run_cell(ana, CELL_ROOM)
    copy_view = room_view(ana, CELL_ROOM)
    wait_connected(copy_view)
    expect(copy_view.get_by_test_id("room-name")).to_have_text(ROOM)  # the same room
    expect(copy_view.get_by_test_id("member-count")).to_have_text("3 members")

    # The copy has a kernel of its own: the Python API speaks through ana's tab.
    role = kernel_output_until(ana, "print(room.role)", lambda out: out.strip() != "")
    assert role.strip() == "student"
    kernel_output(ana, "room.raise_hand()")
    queue = klass.view(teacher).get_by_test_id("collab-hand-queue")
    expect(
        queue.get_by_test_id("collab-hand-item").filter(has_text=klass.names["ana"])
    ).to_be_visible()
    # The front end writes the room's state back to the kernel between executions.
    hands = kernel_output_until(
        ana, "print([h['user'] for h in room.hands])", lambda out: klass.users["ana"] in out
    )
    assert klass.users["ana"] in hands
