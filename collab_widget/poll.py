"""The live result of a quick poll asked from Python with :meth:`Room.poll`.

Plain module, no ipywidgets import: it only reads the ``Room`` widget's synced traits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .widget import Room

__all__ = ["Poll"]


class Poll:
    """A quick poll asked in a room, as the browser tab showing the widget sees it, live.

    ``room.poll(question, options)`` returns one. Its numbers come from the widget's ``polls``
    trait, which the browser tab keeps up to date, so they change by themselves (between
    cells: a running cell does not see the browser's updates until it ends):

    - ``id``: the poll's number (its message's ``seq``), ``None`` until the server stored it;
    - ``counts``: how many chose each option, in the order of ``options`` (teachers see them
      live, students once the poll is closed; ``None`` until known);
    - ``answers``: who chose what, ``{username: option text}`` (teachers only);
    - ``answered``, ``not_answered``, ``closed``, ``your_answer``;
    - ``close()``: close it (teachers only); students then see the result.

    Without a browser tab showing the widget nothing is sent, and ``id`` stays ``None``.
    """

    def __init__(self, room: Room, client_id: str, question: str, options: list[str]) -> None:
        self._room = room
        self.client_id = client_id
        self._question = question
        self._options = list(options)
        self._id: int | None = None
        # The latest view seen: a closed poll may later drop out of ``room.polls``.
        self._last: dict[str, Any] | None = None

    # -- identity -----------------------------------------------------------

    @property
    def id(self) -> int | None:
        """The poll's id (the ``seq`` of its message), or ``None`` until the server stored it."""
        if self._id is None:
            self._id = self._resolve_id()
        return self._id

    def _resolve_id(self) -> int | None:
        # The front end reports which client_id each poll was asked with; the poll's message
        # (in ``messages``) carries it too.
        for poll in self._room.polls:
            if poll.get("client_id") == self.client_id and _is_id(poll.get("id")):
                return int(poll["id"])
        for message in reversed(self._room.messages):
            if (
                message.get("kind") == "poll"
                and message.get("client_id") == self.client_id
                and _is_id(message.get("seq"))
            ):
                return int(message["seq"])
        return None

    @property
    def view(self) -> dict[str, Any] | None:
        """The poll as the server last showed it to this user (a dict, see docs/protocol.md),
        or ``None`` while not known."""
        poll_id = self.id
        if poll_id is not None:
            for poll in self._room.polls:
                if poll.get("id") == poll_id:
                    self._last = poll
                    break
        return self._last

    # -- what was asked -----------------------------------------------------

    @property
    def question(self) -> str:
        view = self.view
        return str(view["question"]) if view and "question" in view else self._question

    @property
    def options(self) -> list[str]:
        view = self.view
        if view and isinstance(view.get("options"), list):
            return [str(o) for o in view["options"]]
        return list(self._options)

    # -- the result ---------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether the poll is closed (answers can no longer change)."""
        view = self.view
        return bool(view and view.get("closed"))

    @property
    def counts(self) -> list[int] | None:
        """How many people chose each option, in the order of ``options``.

        ``None`` until known: before the server stored the poll, and for a student until the
        poll is closed.
        """
        view = self.view
        counts = view.get("counts") if view else None
        return [int(c) for c in counts] if isinstance(counts, list) else None

    @property
    def answers(self) -> dict[str, str]:
        """Who chose what: ``{username: option text}`` (teachers only; ``{}`` otherwise).

        Usernames are those of ``room.members`` (whose ``display_name`` is the name to show);
        the option indices are in ``view["answers"]``.
        """
        view = self.view
        raw = view.get("answers") if view else None
        if not isinstance(raw, dict):
            return {}
        options = self.options
        return {
            str(user): options[i] if isinstance(i, int) and 0 <= i < len(options) else str(i)
            for user, i in raw.items()
        }

    @property
    def answered(self) -> int:
        """How many people answered (everyone sees this number)."""
        view = self.view
        return int(view.get("answered") or 0) if view else 0

    @property
    def not_answered(self) -> list[str]:
        """The display names of the students in the room who have not answered (teachers)."""
        view = self.view
        raw = view.get("answers") if view else None
        answered = set(raw) if isinstance(raw, dict) else set()
        return [
            str(m.get("display_name") or m.get("username"))
            for m in self._room.members
            if (m.get("role") or "student") == "student" and m.get("username") not in answered
        ]

    @property
    def your_answer(self) -> str | None:
        """The option this user (the browser tab's user) chose, or ``None``."""
        view = self.view
        index = view.get("your_answer") if view else None
        options = self.options
        if isinstance(index, int) and 0 <= index < len(options):
            return options[index]
        return None

    @property
    def error(self) -> str | None:
        """Why the server refused the poll (e.g. ``forbidden: ...`` for a student), while it
        has no id; ``None`` otherwise."""
        if self.id is not None:
            return None
        refusal = self._room._refusal(self.client_id)
        if refusal is None:
            return None
        return f"{refusal.get('code', 'error')}: {refusal.get('message', '')}".rstrip(": ")

    # -- actions ------------------------------------------------------------

    def close(self) -> None:
        """Close the poll (teachers only): answers are final and students see the result.

        Works before the poll has an id too (asked and closed in one cell): the browser tab
        closes it as soon as the server stored it.
        """
        self._room._close_poll(self.id, self.client_id)

    # -- display ------------------------------------------------------------

    def __repr__(self) -> str:
        poll_id = self.id
        name = f"Poll #{poll_id}" if poll_id is not None else "Poll (not stored yet)"
        head = f"{name} {self.question!r}"
        error = self.error
        if error:
            return f"<{head}, refused: {error}>"
        if poll_id is None:
            return f"<{head}, options {self.options!r}>"
        state = "closed" if self.closed else "open"
        counts = self.counts
        if counts is not None and len(counts) == len(self.options):
            tally = ", ".join(f"{o!r}: {c}" for o, c in zip(self.options, counts, strict=True))
        else:
            tally = f"options {self.options!r}"
        n = self.answered
        return f"<{head}, {state}, {tally}; {n} answer{'' if n == 1 else 's'}>"


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0
