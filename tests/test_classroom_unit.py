"""collab_widget.classroom: roles, hands, polls and their storage, with no I/O."""

from __future__ import annotations

import pytest

from collab_widget.classroom import Classroom, Poll, TeacherPolicy, apply_change
from collab_widget.identity import UserInfo
from collab_widget.limits import KEPT_CLOSED_POLLS, MAX_OPEN_POLLS
from collab_widget.protocol import ProtocolError

NOBODY = TeacherPolicy()
LEE = TeacherPolicy(teachers=frozenset({"lee"}))


def user(name: str) -> UserInfo:
    return UserInfo(username=name, name=name, display_name=name.title())


def code(error: pytest.ExceptionInfo[ProtocolError]) -> str:
    return error.value.code


def test_the_policy_knows_teachers_by_name_and_by_group():
    policy = TeacherPolicy(teachers=frozenset({"lee"}), groups=frozenset({"staff"}))
    assert policy.configured and not NOBODY.configured
    assert policy.is_teacher("lee")
    assert policy.is_teacher("kim", ["students", "staff"])
    assert not policy.is_teacher("ana", ["students"])


def test_without_configured_teachers_the_first_arrival_teaches():
    room = Classroom()
    assert room.arrive("ana", False, NOBODY) is True
    assert room.arrive("ben", False, NOBODY) is False
    assert (room.role_of("ana"), room.role_of("ben")) == ("teacher", "student")
    assert room.arrive("ana", False, NOBODY) is False  # nothing changes on a return


def test_configured_teachers_are_recorded_pinned_and_unpinned():
    room = Classroom()
    assert room.arrive("ana", False, LEE) is False  # teachers are configured: ana stays student
    assert room.arrive("lee", True, LEE) is True
    assert room.teachers() == {"lee"} and room.pinned == {"lee"}
    with pytest.raises(ProtocolError) as error:
        room.set_role("lee", "lee", "student", LEE)
    assert code(error) == "invalid_value"
    # No longer in the configuration: back to student when they come again.
    assert room.arrive("lee", False, LEE) is True
    assert room.role_of("lee") == "student" and not room.pinned


def test_roles_are_changed_by_teachers_only_and_a_room_keeps_a_teacher():
    room = Classroom()
    room.arrive("ana", False, NOBODY)
    with pytest.raises(ProtocolError) as error:
        room.set_role("ben", "ben", "teacher", NOBODY)
    assert code(error) == "forbidden"
    with pytest.raises(ProtocolError) as error:
        room.set_role("ana", "ana", "student", NOBODY)
    assert code(error) == "invalid_value"
    room.set_role("ana", "ben", "teacher", NOBODY)
    room.set_role("ana", "ana", "student", NOBODY)
    assert room.teachers() == {"ben"}
    # With configured teachers a room may have no teacher among its members.
    other = Classroom(roles={"kim": "teacher"})
    other.set_role("kim", "kim", "student", LEE)
    assert other.teachers() == frozenset()


def test_hands_keep_their_place_and_only_teachers_lower_others():
    room = Classroom()
    room.arrive("lee", True, LEE)
    room.raise_hand(user("ana"), 10)
    room.raise_hand(user("ben"), 5)
    room.raise_hand(user("ana"), 20)  # again: keeps ts 10
    assert [(h["user"], h["ts"]) for h in room.hand_list()] == [("ben", 5), ("ana", 10)]
    with pytest.raises(ProtocolError) as error:
        room.lower_hand("ben", "ana")
    assert code(error) == "forbidden"
    assert room.lower_hand("ben", "ben") == {"user": "ben", "display_name": "Ben", "ts": 5}
    assert room.lower_hand("lee", "ana") is not None
    assert room.lower_hand("lee", "ana") is None  # not raised any more


def test_poll_views_hide_the_tally_from_students_until_closed():
    poll = Poll(7, "Done?", ["yes", "not yet"], "lee", 1)
    poll.answers.update({"ana": 0, "ben": 1, "cy": 1})
    student = poll.view("ana", teacher=False)
    assert (student["counts"], student["answers"], student["your_answer"]) == (None, None, 0)
    assert student["answered"] == 3
    teacher = poll.view("lee", teacher=True)
    assert teacher["counts"] == [1, 2] and teacher["answers"] == {"ana": 0, "ben": 1, "cy": 1}
    assert "your_answer" not in poll.view(None, teacher=False)
    poll.closed = True
    assert poll.view("ben", teacher=False)["counts"] == [1, 2]


def test_answers_count_once_per_user_until_the_poll_closes():
    room = Classroom()
    room.arrive("lee", True, LEE)
    room.add_poll(Poll(3, "Q", ["a", "b", "c"], "lee", 1))
    room.answer("ana", 3, 0)
    room.answer("ana", 3, 2)
    assert room.poll(3).counts() == [0, 0, 1]
    for poll_id, option, expected in ((3, 3, "invalid_value"), (4, 0, "unknown_poll")):
        with pytest.raises(ProtocolError) as error:
            room.answer("ana", poll_id, option)
        assert code(error) == expected
    with pytest.raises(ProtocolError) as error:
        room.close_poll("ana", 3)
    assert code(error) == "forbidden"
    room.close_poll("lee", 3)
    with pytest.raises(ProtocolError) as error:
        room.answer("ben", 3, 1)
    assert code(error) == "poll_closed"


def test_open_polls_are_limited_and_closed_ones_pruned():
    room = Classroom()
    room.arrive("lee", True, LEE)
    for poll_id in range(1, MAX_OPEN_POLLS + 1):
        room.check_poll("lee")
        room.add_poll(Poll(poll_id, "Q", ["a", "b"], "lee", poll_id))
    with pytest.raises(ProtocolError) as error:
        room.check_poll("lee")
    assert code(error) == "too_many_polls"
    with pytest.raises(ProtocolError) as error:
        Classroom().check_poll("ana")
    assert code(error) == "forbidden"
    for poll_id in range(1, MAX_OPEN_POLLS + 1):
        room.close_poll("lee", poll_id)
    for poll_id in range(100, 100 + KEPT_CLOSED_POLLS + 3):
        room.add_poll(Poll(poll_id, "Q", ["a", "b"], "lee", poll_id))
        room.close_poll("lee", poll_id)
    assert sorted(room.polls) == list(range(103, 100 + KEPT_CLOSED_POLLS + 3))
    # A pruned poll is closed for good: not asked again from its message, not answered.
    assert room.pruned_below == 102
    assert room.add_poll(Poll(101, "Q", ["a", "b"], "lee", 1)) is None
    with pytest.raises(ProtocolError) as error:
        room.answer("ana", 101, 0)
    assert code(error) == "poll_closed"
    # A resend of a kept poll keeps the first (with its answers).
    room.polls[103].answers["ana"] = 1
    room.add_poll(Poll(103, "other", ["x", "y"], "lee", 0))
    assert room.polls[103].answers == {"ana": 1}


def test_snippets_from_students_need_the_teachers_permission():
    room = Classroom()
    room.arrive("lee", True, LEE)
    room.check_snippet("lee")
    with pytest.raises(ProtocolError) as error:
        room.check_snippet("ana")
    assert code(error) == "forbidden"
    with pytest.raises(ProtocolError):
        room.set_student_snippets("ana", True)
    room.set_student_snippets("lee", True)
    room.check_snippet("ana")


def test_the_follow_request_is_a_teachers_and_only_its_owner_withdraws_it():
    room = Classroom()
    room.arrive("lee", True, LEE)
    room.set_role("lee", "kim", "teacher", LEE)
    with pytest.raises(ProtocolError):
        room.ask_to_follow("ana", True, 1)
    assert room.ask_to_follow("lee", True, 5) == {"user": "lee", "ts": 5}
    assert room.ask_to_follow("kim", False, 6) == {"user": "lee", "ts": 5}
    assert room.ask_to_follow("lee", False, 7) is None


def test_the_state_round_trips_through_json_and_views_carry_roles():
    room = Classroom()
    room.arrive("lee", True, LEE)
    room.raise_hand(user("ana"), 4)
    room.ask_to_follow("lee", True, 5)
    room.set_student_snippets("lee", True)
    room.add_poll(Poll(9, "Q", ["a", "b"], "lee", 6, answers={"ana": 1}))
    copy = Classroom.from_json(room.to_json())
    assert copy == room
    assert Classroom.from_json(None) == Classroom()
    view = copy.view("ana", LEE)
    assert view["hands"][0]["user"] == "ana" and view["follow"]["user"] == "lee"
    assert view["polls"][0]["your_answer"] == 1 and view["polls"][0]["counts"] is None
    members = copy.with_roles([{"username": "lee"}, {"username": "ana"}])
    assert [m["role"] for m in members] == ["teacher", "student"]


def test_a_change_writes_only_what_changed_and_a_poll_comes_from_its_message():
    doc, result = apply_change(None, lambda c: c.role_of("ana"))
    assert (doc, result) == (None, "student")  # nothing to store
    doc, _ = apply_change(None, lambda c: c.arrive("ana", False, NOBODY))
    assert doc is not None and doc["roles"] == {"ana": "teacher"}
    again, _ = apply_change(doc, lambda c: c.arrive("ana", False, NOBODY))
    assert again is None
    message = {
        "room": "r",
        "seq": 4,
        "client_id": "c",
        "user": {"username": "lee"},
        "text": "Done?",
        "ts": 9,
        "kind": "poll",
        "options": ["yes", "no"],
    }
    assert Poll.from_message(message) == Poll(4, "Done?", ["yes", "no"], "lee", 9)
