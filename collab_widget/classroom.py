"""Classroom mode's room state, with no I/O: roles, raised hands, the follow request, polls.

One :class:`Classroom` per room. The room backend loads it from the store, hands a copy to a
change (one of the methods here), and stores the copy when the change returns (see
:meth:`collab_widget.backend.RoomBackend.update_classroom`): a change that raises
:class:`~collab_widget.protocol.ProtocolError` leaves the stored state as it was.

Who is a teacher: :class:`TeacherPolicy` (the server's configuration) says who is one in every
room; the room's ``roles`` keep who was made one (or the first person in a room, where no
teachers are configured). Everything a client asks for is checked here against the role of
the user the server authenticated, never against what the client claims.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .identity import UserInfo
from .limits import KEPT_CLOSED_POLLS, MAX_OPEN_POLLS
from .protocol import ProtocolError

TEACHER = "teacher"
STUDENT = "student"
T = TypeVar("T")


@dataclass(frozen=True)
class TeacherPolicy:
    """Who the server's configuration makes a teacher in every room.

    :param teachers: user names (``CollabApp.teachers``).
    :param groups: group names (on a JupyterHub: ``configure_hub(c, teacher_groups=...)``);
        a member of any of them is a teacher.
    """

    teachers: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @property
    def configured(self) -> bool:
        """Whether any teachers are configured (otherwise a room's first person teaches)."""
        return bool(self.teachers or self.groups)

    def is_teacher(self, username: str, groups: Iterable[str] = ()) -> bool:
        """Whether the configuration makes this user a teacher.

        :param groups: the user's groups (on a JupyterHub; none on a single server).
        """
        return username in self.teachers or not self.groups.isdisjoint(groups)


def forbidden(what: str) -> ProtocolError:
    return ProtocolError("forbidden", f"only a teacher may {what}")


@dataclass
class Poll:
    """A quick poll. ``id`` is the ``seq`` of the message that asked it; ``answers`` maps a
    username to the index of the option they chose."""

    id: int
    question: str
    options: list[str]
    by: str
    ts: int
    closed: bool = False
    answers: dict[str, int] = field(default_factory=dict)
    #: Counts every answer and the close (a client tells two views of one tally apart).
    revision: int = 0

    def counts(self) -> list[int]:
        counts = [0] * len(self.options)
        for option in self.answers.values():
            counts[option] += 1
        return counts

    def view(self, username: str | None, teacher: bool) -> dict[str, Any]:
        """The poll as one user sees it (protocol 1.1's Poll): teachers see the tally and who
        answered what; students see the tally once it is closed, and their own answer.

        :param username: the recipient, or None for a view several students share (a
            ``poll`` event; ``your_answer`` is then left out: each knows their own).
        :param teacher: whether the recipient is a teacher.
        """
        view: dict[str, Any] = {
            "id": self.id,
            "question": self.question,
            "options": list(self.options),
            "by": self.by,
            "ts": self.ts,
            "closed": self.closed,
            "revision": self.revision,
            "answered": len(self.answers),
            "counts": self.counts() if teacher or self.closed else None,
            "answers": dict(self.answers) if teacher else None,
        }
        if username is not None:
            view["your_answer"] = self.answers.get(username)
        return view

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "options": self.options,
            "by": self.by,
            "ts": self.ts,
            "closed": self.closed,
            "answers": self.answers,
            "revision": self.revision,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Poll:
        """The poll a stored ``kind: "poll"`` message asks (by its sender, at its time)."""
        return cls(
            id=message["seq"],
            question=message["text"],
            options=list(message["options"]),
            by=message["user"]["username"],
            ts=message["ts"],
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Poll:
        return cls(
            id=int(data["id"]),
            question=str(data["question"]),
            options=[str(o) for o in data["options"]],
            by=str(data["by"]),
            ts=int(data["ts"]),
            closed=bool(data.get("closed")),
            answers={str(u): int(o) for u, o in data.get("answers", {}).items()},
            revision=int(data.get("revision", 0)),
        )


@dataclass
class Classroom:
    """One room's classroom state (stored with the room).

    :param roles: username -> ``teacher`` / ``student`` for users whose role is not the
        default (student): made teachers, the first person of a room without configured
        teachers, and configured teachers (recorded when they join, so that every process
        and every recipient list knows them).
    :param pinned: the usernames whose role the configuration decides (not changeable).
    :param hands: username -> ``{display_name, ts}``, in the order raised.
    :param follow: a teacher's "follow me" request ``{user, ts}``, or None.
    :param student_snippets: whether students may share snippets.
    :param polls: by id: the open polls and the newest closed ones.
    :param pruned_below: the highest id of a closed poll no longer kept (a poll with an id up
        to it that is not in ``polls`` is closed and gone, never asked again).
    """

    roles: dict[str, str] = field(default_factory=dict)
    pinned: set[str] = field(default_factory=set)
    hands: dict[str, dict[str, Any]] = field(default_factory=dict)
    follow: dict[str, Any] | None = None
    student_snippets: bool = False
    polls: dict[int, Poll] = field(default_factory=dict)
    pruned_below: int = 0

    # -- roles -------------------------------------------------------------------------------
    def role_of(self, username: str) -> str:
        return self.roles.get(username, STUDENT)

    def is_teacher(self, username: str) -> bool:
        return self.role_of(username) == TEACHER

    def teachers(self) -> frozenset[str]:
        return frozenset(u for u, r in self.roles.items() if r == TEACHER)

    def arrive(self, name: str, configured_teacher: bool, policy: TeacherPolicy) -> bool:
        """A user joins: record a configured teacher (or one no longer configured), and make
        the first person of a room without configured teachers its teacher. Returns whether
        anything changed.

        :param configured_teacher: whether the policy makes them a teacher.
        """
        before = (self.roles.get(name), name in self.pinned)
        if configured_teacher:
            self.roles[name] = TEACHER
            self.pinned.add(name)
        elif name in self.pinned:  # the configuration no longer makes them one
            self.pinned.discard(name)
            self.roles.pop(name, None)
        if not policy.configured and not self.teachers():
            self.roles[name] = TEACHER
        return (self.roles.get(name), name in self.pinned) != before

    def set_role(self, by: str, username: str, role: str, policy: TeacherPolicy) -> None:
        """A teacher makes ``username`` (a member: the caller checks) a teacher or a student."""
        if not self.is_teacher(by):
            raise forbidden("change roles")
        if username in self.pinned and role != TEACHER:
            raise ProtocolError("invalid_value", "the server's configuration makes them a teacher")
        if role == STUDENT and not policy.configured and self.teachers() == {username}:
            raise ProtocolError("invalid_value", "a room keeps at least one teacher")
        if role == TEACHER:
            self.roles[username] = TEACHER
        else:
            self.roles.pop(username, None)

    # -- hands -------------------------------------------------------------------------------
    def raise_hand(self, user: UserInfo, ts: int) -> dict[str, Any]:
        """Raise the user's own hand (raising it again keeps its place in the queue)."""
        if user.username not in self.hands:
            self.hands[user.username] = {"display_name": user.display_name, "ts": ts}
        return self.hand(user.username)

    def lower_hand(self, by: str, username: str) -> dict[str, Any] | None:
        """Lower a hand: one's own, or anyone's by a teacher. Returns the lowered hand (None
        when it was not raised)."""
        if by != username and not self.is_teacher(by):
            raise forbidden("lower someone else's hand")
        if username not in self.hands:
            return None
        hand = self.hand(username)
        del self.hands[username]
        return hand

    def hand(self, username: str) -> dict[str, Any]:
        return {"user": username, **self.hands[username]}

    def hand_list(self) -> list[dict[str, Any]]:
        """Raised hands, oldest first."""
        return sorted((self.hand(u) for u in self.hands), key=lambda h: h["ts"])

    # -- follow and settings ----------------------------------------------------------------
    def ask_to_follow(self, by: str, on: bool, ts: int) -> dict[str, Any] | None:
        if not self.is_teacher(by):
            raise forbidden("ask everyone to follow them")
        if on:
            self.follow = {"user": by, "ts": ts}
        elif self.follow is not None and self.follow["user"] == by:
            self.follow = None
        return self.follow

    def set_student_snippets(self, by: str, on: bool) -> None:
        if not self.is_teacher(by):
            raise forbidden("change who may share code")
        self.student_snippets = on

    def check_snippet(self, by: str) -> None:
        """Refuse a snippet from a student unless the room allows it."""
        if not self.student_snippets and not self.is_teacher(by):
            raise ProtocolError(
                "forbidden", "only a teacher may share code here (the teacher can allow it)"
            )

    # -- polls -------------------------------------------------------------------------------
    def check_poll(self, by: str) -> None:
        """Refuse a new poll from a student, or beyond the open polls a room may have."""
        if not self.is_teacher(by):
            raise forbidden("open a poll")
        if sum(not p.closed for p in self.polls.values()) >= MAX_OPEN_POLLS:
            raise ProtocolError(
                "too_many_polls", f"a room has at most {MAX_OPEN_POLLS} open polls: close one"
            )

    def add_poll(self, poll: Poll) -> Poll | None:
        """Keep a poll stored as a message (``id`` = its ``seq``): a resend, or a poll known
        already, keeps the first; one closed and pruned since is not asked again (None)."""
        if poll.id not in self.polls and poll.id <= self.pruned_below:
            return None
        kept = self.polls.setdefault(poll.id, poll)
        self._prune()
        return kept

    def poll(self, poll_id: int) -> Poll:
        poll = self.polls.get(poll_id)
        if poll is None and poll_id <= self.pruned_below:
            raise ProtocolError("poll_closed", "this poll is closed")
        if poll is None:
            raise ProtocolError("unknown_poll", f"no poll {poll_id} in this room")
        return poll

    def answer(self, username: str, poll_id: int, option: int) -> Poll:
        poll = self.poll(poll_id)
        if poll.closed:
            raise ProtocolError("poll_closed", "this poll is closed")
        if not 0 <= option < len(poll.options):
            raise ProtocolError(
                "invalid_value", f"'option' must be between 0 and {len(poll.options) - 1}"
            )
        poll.answers[username] = option
        poll.revision += 1
        return poll

    def close_poll(self, by: str, poll_id: int) -> Poll:
        if not self.is_teacher(by):
            raise forbidden("close a poll")
        poll = self.poll(poll_id)
        if not poll.closed:
            poll.closed = True
            poll.revision += 1
        self._prune()
        return poll

    def poll_list(self, username: str, teacher: bool) -> list[dict[str, Any]]:
        return [self.polls[i].view(username, teacher) for i in sorted(self.polls)]

    def _prune(self) -> None:
        """Keep the newest (highest id) closed polls only."""
        closed = sorted(i for i, p in self.polls.items() if p.closed)
        for poll_id in closed[:-KEPT_CLOSED_POLLS] if KEPT_CLOSED_POLLS else closed:
            del self.polls[poll_id]
            self.pruned_below = max(self.pruned_below, poll_id)

    # -- what a member sees ------------------------------------------------------------------
    def view(self, username: str, policy: TeacherPolicy) -> dict[str, Any]:
        """The ``classroom`` field of a join acknowledgement for ``username``."""
        return {
            "teachers_configured": policy.configured,
            "student_snippets": self.student_snippets,
            "hands": self.hand_list(),
            "follow": self.follow,
            "polls": self.poll_list(username, self.is_teacher(username)),
        }

    def with_roles(self, members: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Members (``Member.public()`` dicts) with their ``role``."""
        return [{**m, "role": self.role_of(m["username"])} for m in members]

    # -- storage -----------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "roles": self.roles,
            "pinned": sorted(self.pinned),
            "hands": self.hands,
            "follow": self.follow,
            "student_snippets": self.student_snippets,
            "polls": [p.to_json() for p in self.polls.values()],
            "pruned_below": self.pruned_below,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Classroom:
        if not data:
            return cls()
        return cls(
            roles={str(u): str(r) for u, r in data.get("roles", {}).items()},
            pinned={str(u) for u in data.get("pinned", [])},
            hands={str(u): dict(h) for u, h in data.get("hands", {}).items()},
            follow=data.get("follow"),
            student_snippets=bool(data.get("student_snippets")),
            polls={int(p["id"]): Poll.from_json(p) for p in data.get("polls", [])},
            pruned_below=int(data.get("pruned_below", 0)),
        )


def apply_change(
    doc: dict[str, Any] | None, change: Callable[[Classroom], T]
) -> tuple[dict[str, Any] | None, T]:
    """Run ``change`` on the state stored as ``doc``: the new doc (None when nothing changed,
    so nothing is written) and what ``change`` returned. What a store's atomic update calls."""
    before = Classroom.from_json(doc)
    state = Classroom.from_json(doc)
    result = change(state)
    return (None if state == before else state.to_json()), result
