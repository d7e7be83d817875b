"""The JupyterHub pieces that need no Hub: ``configure_hub`` composing with an existing
configuration, token headers, ``group:`` rooms, and routing frames to sessions behind relays."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest
from traitlets.config import Config

from collab_widget.fanout import event_frame
from collab_widget.hub import configure_hub
from collab_widget.hub.auth import token_from_headers
from collab_widget.hub.config import SERVER_SCOPES, SERVICE_CONFIG_ENV
from collab_widget.hub.routes import RelayedBackend, relayed_sid
from collab_widget.hub.service import group_of
from collab_widget.local_backend import room_key

from .units import session

SCOPE = "access:services!service=collab"


def test_configure_hub_on_an_empty_config():
    c = Config()
    configure_hub(c, url="http://127.0.0.1:9999", data_dir="/srv/collab", history_limit=50)
    (service,) = c.JupyterHub.services
    assert service["name"] == "collab" and service["url"] == "http://127.0.0.1:9999"
    assert service["command"] == [sys.executable, "-m", "collab_widget.hub"]
    options = json.loads(service["environment"][SERVICE_CONFIG_ENV])
    assert options["data_dir"] == "/srv/collab"
    assert options["settings"] == {"history_limit": 50}
    assert c.JupyterHub.extra_user_scopes == {SCOPE}
    assert c.Spawner.server_token_scopes == [*SERVER_SCOPES, SCOPE]
    assert c.Spawner.environment == {"COLLAB_SERVICE_URL": "http://127.0.0.1:9999/services/collab/"}


def test_configure_hub_extends_what_is_there():
    def per_user(spawner: Any) -> str:
        return "x"

    c = Config()
    other = {"name": "grader", "api_token": "t" * 32}
    c.JupyterHub.services = [other]
    c.JupyterHub.extra_user_scopes = {"read:groups"}
    c.Spawner.server_token_scopes = ["users:activity!user"]
    c.Spawner.environment = {"LANG": "C.UTF-8", "PER_USER": per_user}
    configure_hub(c)
    assert c.JupyterHub.services[0] == other
    assert [s["name"] for s in c.JupyterHub.services] == ["grader", "collab"]
    assert c.JupyterHub.extra_user_scopes == {"read:groups", SCOPE}
    assert c.Spawner.server_token_scopes == ["users:activity!user", SCOPE]
    env = c.Spawner.environment
    assert env["LANG"] == "C.UTF-8" and env["PER_USER"] is per_user
    assert env["COLLAB_SERVICE_URL"].endswith("/services/collab/")


def test_configure_hub_wraps_callable_scopes_and_refuses_mistakes():
    c = Config()
    c.Spawner.server_token_scopes = lambda spawner: ["access:servers!server"]
    configure_hub(c)
    assert c.Spawner.server_token_scopes(None) == ["access:servers!server", SCOPE]
    with pytest.raises(ValueError, match="already"):
        configure_hub(c)  # a second service named collab
    with pytest.raises(TypeError, match="histroy_limit"):
        configure_hub(Config(), histroy_limit=5)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("token abc", "abc"),
        ("Bearer abc", "abc"),
        ("  token   abc  ", "abc"),
        ("Basic abc", None),
        ("token", None),
        ("", None),
        (None, None),
    ],
)
def test_token_from_headers(header: str | None, token: str | None):
    assert token_from_headers(header) == token


@pytest.mark.parametrize(
    ("room", "group"),
    [
        ("class-101", None),
        ("group:physics/lab-1", "physics"),
        ("group:physics", "physics"),
        ("group:/x", ""),
        ("physics/group:x", None),
    ],
)
def test_group_rooms(room: str, group: str | None):
    assert group_of(room) == group


class _Manager:
    def eio_sid_from_sid(self, sid: str, namespace: str) -> str | None:
        return {"R1": "eio-1", "R2": "eio-2"}.get(sid)


class _Sio:
    manager = _Manager()


class _Fanout:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def send(self, frame: Any, eio_sids: list[str]) -> int:
        for eio in eio_sids:
            self.sent.append((eio, json.loads(frame.body)))
        return len(eio_sids)


async def test_one_frame_per_relay_naming_its_sessions():
    backend = RelayedBackend(None, 10, 5, logging.getLogger("test"))
    fanout = _Fanout()
    backend.set_server(_Sio(), fanout)  # type: ignore[arg-type]
    a1, a2 = session(relayed_sid("R1", "1"), "ada"), session(relayed_sid("R1", "2"), "ada")
    b1 = session(relayed_sid("R2", "7"), "bob")
    gone = session(relayed_sid("R9", "1"), "eve")  # its relay disconnected meanwhile
    for s in (a1, a2, b1, gone):
        await backend.enter(s, room_key("r"))
    frame = event_frame("joined", {"room": "r", "user": {"username": "bob"}})

    assert backend.broadcast("r", frame, skip_sid=b1.sid) == 2
    assert fanout.sent == [("eio-1", ["to", ["1", "2"], frame.body])] or fanout.sent == [
        ("eio-1", ["to", ["2", "1"], frame.body])
    ]
    assert json.loads(fanout.sent[0][1][2]) == [
        "joined",
        {"room": "r", "user": {"username": "bob"}},
    ]

    fanout.sent.clear()
    assert backend.send_to([a2.sid, b1.sid, a1.sid], frame) == 3
    assert sorted((eio, sorted(msg[1])) for eio, msg in fanout.sent) == [
        ("eio-1", ["1", "2"]),
        ("eio-2", ["7"]),
    ]

    await backend.exit(a1, room_key("r"))
    await backend.exit(gone, room_key("r"))
    fanout.sent.clear()
    backend.broadcast("r", frame)
    assert sorted((eio, msg[1]) for eio, msg in fanout.sent) == [("eio-1", ["2"]), ("eio-2", ["7"])]
    for s in (a2, b1):
        await backend.exit(s, room_key("r"))
    assert backend.routes == {}


def test_configure_hub_with_replicas_and_redis():
    c = Config()
    configure_hub(c, url="http://10.0.0.5:9000", replicas=3, redis_url="redis://:pw@r:6379/0")
    services = c.JupyterHub.services
    assert [s["name"] for s in services] == ["collab", "collab-1", "collab-2"]
    assert [s["url"] for s in services] == [f"http://10.0.0.5:{9000 + i}" for i in range(3)]
    for s in services:
        options = json.loads(s["environment"][SERVICE_CONFIG_ENV])
        assert options["redis_url"] == "redis://:pw@r:6379/0"
        assert options["access_scope"] == SCOPE  # every replica accepts the one scope
    urls = c.Spawner.environment["COLLAB_SERVICE_URL"].split(",")
    assert urls == [
        "http://10.0.0.5:9000/services/collab/",
        "http://10.0.0.5:9001/services/collab-1/",
        "http://10.0.0.5:9002/services/collab-2/",
    ]
    assert "redis" not in c.Spawner.environment["COLLAB_SERVICE_URL"]  # servers never see it
    with pytest.raises(ValueError, match="redis_url"):
        configure_hub(Config(), replicas=2)
