"""One notebook file opened by two people on one server (no real-time collaboration): they
share its kernel. A request from Python is made once, by the tab that ran the code, as its
user; the kernel-side state mirrors the tab of whoever created the widget."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .conftest import NewUser
from .lab import (
    Lab,
    TwoUsers,
    kernel_output,
    markdown_cell,
    messages_with_text,
    notebook_file,
    room_cell,
    two_users_in_room,
)

NOTEBOOK = "shared_kernel.ipynb"
ROOM = "shared-kernel"
CELL_ROOM = 1

NOTEBOOK_TEXT = notebook_file(markdown_cell("title", "# Shared"), room_cell(ROOM))


@pytest.fixture(scope="module")
def pair(new_user: NewUser, lab: Lab) -> TwoUsers:
    (lab.root / NOTEBOOK).write_text(NOTEBOOK_TEXT)
    return two_users_in_room(
        new_user(), new_user(), lab, NOTEBOOK, CELL_ROOM, ("shared-a", "shared-b")
    )


def kernel_id(page: Page) -> str:
    return str(
        page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.id"
        )
    )


def test_a_send_from_the_shared_kernel_posts_once_as_whoever_ran_it(pair: TwoUsers):
    assert kernel_id(pair.a) == kernel_id(pair.b), "one kernel for both"
    # `room` is B's widget now (B ran the cell last); A runs code with it.
    kernel_output(pair.a, "room.send('sent by A from the kernel')")
    for view in (pair.view_a, pair.view_b):
        expect(messages_with_text(view, "sent by A from the kernel")).to_have_count(1)
    pair.a.wait_for_timeout(1_500)  # a second message would have come by now
    for view in (pair.view_a, pair.view_b):
        sent = messages_with_text(view, "sent by A from the kernel")
        expect(sent).to_have_count(1)
    author = messages_with_text(pair.view_b, "sent by A from the kernel").first
    expect(author.locator(".jp-CollabRoom-author")).to_have_text(pair.names["a"])

    kernel_output(pair.b, "room.send('sent by B from the kernel')")
    expect(messages_with_text(pair.view_a, "sent by B from the kernel")).to_have_count(1)
    pair.b.wait_for_timeout(1_500)
    expect(messages_with_text(pair.view_a, "sent by B from the kernel")).to_have_count(1)
    author = messages_with_text(pair.view_a, "sent by B from the kernel").first
    expect(author.locator(".jp-CollabRoom-author")).to_have_text(pair.names["b"])


def test_the_kernel_mirrors_one_tab_the_one_that_created_the_widget(pair: TwoUsers):
    # B created the widget `room` refers to: its state is B's, whoever asks.
    for page in (pair.a, pair.b):
        out = kernel_output(page, "print(room.you['username'])").strip()
        assert out == pair.users["b"]
