"""The history store is a setting: ``--CollabApp.store_class`` picks the class (tests/support)."""

from __future__ import annotations

import json
from typing import Any

from collab_widget.client import CollabClient

from .jupyter import JupyterServer

JOURNAL_STORE = "--CollabApp.store_class=collab_test_store.JournalHistoryStore"


def journal(server: JupyterServer) -> list[dict[str, Any]]:
    """The calls the server made to JournalHistoryStore, in order."""
    path = server.history_path.with_suffix(".jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def client(server: JupyterServer, user: str) -> CollabClient:
    c = CollabClient(server.url, token=f"token-{user}", transports=["websocket"])
    await c.connect()
    return c


async def test_the_configured_store_class_keeps_the_history(tmp_path):
    server = JupyterServer(
        tmp_path,
        args=[
            JOURNAL_STORE,
            "--CollabApp.history_limit=3",
            "--CollabApp.history_busy_timeout=0.25",
        ],
    ).start()
    try:
        alice = await client(server, "alice")
        await alice.join("journaled")
        sent = [await alice.send("journaled", f"m{i}") for i in range(5)]
        again = await alice.call(
            "send", {"room": "journaled", "text": "m4", "client_id": sent[-1]["client_id"]}
        )
        assert again["duplicate"] is True and again["message"] == sent[-1]
        bob = await client(server, "bob")
        ack = await bob.join("journaled", since=0)
        assert ack["history"] == sent[-3:]  # read back from that store, kept: history_limit
        assert ack["last_seq"] == 5
        await alice.disconnect()
        await bob.disconnect()
    finally:
        server.stop()

    calls = journal(server)
    # Built with the history settings, opened at start-up, closed at shutdown.
    assert calls[0] == {"call": "open", "retention": 3, "fsync": False, "busy_timeout": 0.25}
    assert calls[-1] == {"call": "close"}
    assert {"call": "load_room", "room": "journaled", "window": 3} in calls
    assert [c["message"] for c in calls if c["call"] == "append"] == sent  # each stored once
    assert not server.history_path.exists()  # the SQLite store was not used


async def test_a_store_class_not_derived_from_the_base_is_refused(tmp_path):
    server = JupyterServer(
        tmp_path, args=["--CollabApp.store_class=collab_test_store.NotAStore"]
    ).start()
    server.stop()
    log = server.log()
    assert "TraitError" in log
    assert (
        "'store_class' trait of a CollabApp instance expected a subclass of "
        "'collab_widget.history.BaseHistoryStore', not the NotAStore" in log
    )
