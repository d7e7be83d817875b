"""Pytest fixtures with a real local JupyterHub (see tests/hub.py).

A test module uses them with ``from tests.hub_fixtures import hub`` (or ``plain_hub``), or
``pytest_plugins = ["tests.hub_fixtures"]``; they are not in conftest.py, so the other tests
never pay for a Hub.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .hub import LocalHub

USERS = ["alice", "bob", "carol"]
GROUPS = {"physics": ["alice", "bob"], "staff": ["carol"]}


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """A Hub with the ``collab`` service (``configure_hub(c, token_check_interval=2,
    teacher_groups=["staff"])``), users alice, bob and carol with their servers running, and
    the groups physics = alice, bob and staff = carol (the teachers)."""
    with LocalHub(
        tmp_path_factory.mktemp("hub"),
        configure=True,
        hub_options={"token_check_interval": 2, "teacher_groups": ["staff"]},
        users=USERS,
        groups=GROUPS,
    ) as local_hub:
        yield local_hub


@pytest.fixture(scope="module")
def plain_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalHub]:
    """The same Hub without ``configure_hub``: each user's server has rooms of its own."""
    with LocalHub(
        tmp_path_factory.mktemp("plain-hub"), configure=False, users=USERS, groups=GROUPS
    ) as local_hub:
        yield local_hub
