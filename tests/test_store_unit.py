"""The SQLite history store, on a real file: numbering and deduplication inside the write
transaction (several stores on one file stand for several processes), retention, and a write
lock held by someone else (fail the write fast, keep reading)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from collab_widget.history import StoreBusy
from collab_widget.store import SQLiteHistoryStore


def message(room: str, client_id: str, user: str = "ada", text: str = "") -> dict[str, Any]:
    """A message as the backend hands it to ``append``: no ``seq``."""
    return {
        "room": room,
        "client_id": client_id,
        "user": {"username": user, "display_name": user},
        "text": text or f"t-{client_id}",
        "ts": 1,
    }


async def opened(path: Path, **kw: Any) -> SQLiteHistoryStore:
    store = SQLiteHistoryStore(path, **kw)
    await store.open()
    return store


@contextmanager
def write_locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's view: a connection holding the database's write lock."""
    outside = sqlite3.connect(path, isolation_level=None)
    outside.execute("BEGIN IMMEDIATE")
    try:
        yield outside
    finally:
        outside.execute("ROLLBACK")
        outside.close()


async def test_append_numbers_reads_prunes_and_reopens(tmp_path):
    path = tmp_path / "deep" / "h.sqlite3"
    store = await opened(path, retention=5)
    stored = [await store.append(message("r", f"c{i}")) for i in range(1, 9)]
    assert [(m["seq"], dup) for m, dup in stored] == [(i, False) for i in range(1, 9)]
    assert stored[0][0] == {**message("r", "c1"), "seq": 1}
    assert (await store.append(message("other", "c1")))[0]["seq"] == 1  # per room
    assert [m["seq"] for m in await store.after("r", 0, 100)] == [4, 5, 6, 7, 8]
    page, more = await store.before("r", None, 2)
    assert [m["seq"] for m in page] == [7, 8] and more is True
    page, more = await store.before("r", 5, 10)
    assert [m["seq"] for m in page] == [4] and more is False
    assert await store.get("r", 6) == stored[5][0]
    assert await store.get("r", 1) is None
    await store.close()

    reopened = await opened(path, retention=5)
    last_seq, recent = await reopened.load_room("r", window=3)
    assert last_seq == 8
    assert recent == [("ada", "c6", 6), ("ada", "c7", 7), ("ada", "c8", 8)]
    assert await reopened.load_room("new", 3) == (0, [])
    await reopened.close()


async def test_a_seq_in_the_message_is_ignored(tmp_path):
    store = await opened(tmp_path / "h.sqlite3")
    first, _ = await store.append({**message("r", "a"), "seq": 40})
    second, _ = await store.append({**message("r", "b"), "seq": 1})
    assert (first["seq"], second["seq"]) == (1, 2)
    await store.close()


async def test_seq_is_never_reused_after_retention_dropped_everything(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = await opened(path, retention=2)
    for i in range(5):
        await store.append(message("r", f"c{i}"))
    await store.close()
    store = await opened(path, retention=2)
    assert [m["seq"] for m in await store.after("r", 0, 10)] == [4, 5]
    assert (await store.append(message("r", "next")))[0]["seq"] == 6
    await store.close()


async def test_a_resend_returns_the_stored_message_and_writes_nothing(tmp_path):
    store = await opened(tmp_path / "h.sqlite3", retention=3)
    original, duplicate = await store.append(message("r", "same", text="first"))
    assert duplicate is False
    again, duplicate = await store.append(message("r", "same", text="edited"))
    assert duplicate is True and again == original  # the stored one, text included
    other_user, duplicate = await store.append(message("r", "same", user="bob"))
    assert duplicate is False and other_user["seq"] == 2  # client ids are per user
    other_room, duplicate = await store.append(message("r2", "same"))
    assert duplicate is False and other_room["seq"] == 1
    assert (await store.load_room("r", 10))[0] == 2  # the resend took no number
    assert len(await store.after("r", 0, 10)) == 2
    for i in range(3):  # retention drops the original: its client_id is new again
        await store.append(message("r", f"fill{i}"))
    assert await store.get("r", 1) is None
    renewed, duplicate = await store.append(message("r", "same"))
    assert duplicate is False and renewed["seq"] == 6
    await store.close()


async def test_stores_sharing_a_file_never_hand_out_a_seq_twice(tmp_path):
    """Two stores on one file stand for two server processes: each appends in its own write
    transaction, so their numbers interleave without a gap or a clash."""
    path = tmp_path / "h.sqlite3"
    one, two = await opened(path), await opened(path)
    seqs = []
    for i in range(10):
        store = one if i % 2 == 0 else two
        stored, duplicate = await store.append(message("r", f"c{i}"))
        assert duplicate is False
        seqs.append(stored["seq"])
    assert seqs == list(range(1, 11))
    # Both at once (each store's writer thread against the other's): still unique.
    results = await asyncio.gather(
        *(s.append(message("r", f"g{i}-{n}")) for i in range(40) for n, s in enumerate((one, two)))
    )
    assert sorted(m["seq"] for m, _ in results) == list(range(11, 91))
    # The same client_id through both at once: stored once, the other gets it back.
    races = await asyncio.gather(
        *(s.append(message("r", f"race{i}")) for i in range(20) for s in (one, two))
    )
    assert sorted(dup for _, dup in races) == [False] * 20 + [True] * 20
    assert sorted(m["seq"] for m, dup in races if not dup) == list(range(91, 111))
    for i in range(20):
        assert races[2 * i][0] == races[2 * i + 1][0]
    # A resend through the other store is recognised there.
    first, _ = await one.append(message("r", "shared", text="via one"))
    again, duplicate = await two.append(message("r", "shared", text="via two"))
    assert duplicate is True and again == first
    assert (await two.load_room("r", 1))[0] == (await one.load_room("r", 1))[0] == 111
    await one.close()
    await two.close()


async def test_a_held_write_lock_fails_appends_fast_and_reads_go_on(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = await opened(path, busy_timeout=0.3)
    for i in range(3):
        await store.append(message("r", f"c{i}"))
    with write_locked(path):
        started = time.monotonic()
        blocked = asyncio.ensure_future(store.append(message("r", "during")))
        await asyncio.sleep(0.05)
        assert not blocked.done()  # waiting for the lock, on the writer thread
        assert store.appends_queued == 1  # tried at once, found the lock held
        # Reads do not queue behind it.
        read_started = time.monotonic()
        assert [m["seq"] for m in (await store.before("r", None, 10))[0]] == [1, 2, 3]
        assert len(await store.after("r", 0, 10)) == 3
        assert await store.load_room("r", 10) == (3, [("ada", f"c{i}", i + 1) for i in range(3)])
        assert (await store.get("r", 2))["client_id"] == "c1"
        assert time.monotonic() - read_started < 0.2
        with pytest.raises(StoreBusy):
            await blocked
        waited = time.monotonic() - started
        assert 0.25 <= waited < 1.0
        # Appends queued behind it share its deadline: none waits its own full timeout.
        started = time.monotonic()
        queued = await asyncio.gather(
            *(store.append(message("r", f"q{i}")) for i in range(5)), return_exceptions=True
        )
        assert all(isinstance(r, StoreBusy) for r in queued)
        assert time.monotonic() - started < 1.0
    # Nothing of it was stored, no number was taken; the resend is stored once.
    assert await store.load_room("r", 10) == (3, [("ada", f"c{i}", i + 1) for i in range(3)])
    stored, duplicate = await store.append(message("r", "during"))
    assert (stored["seq"], duplicate) == (4, False)
    assert (await store.append(message("r", "during")))[1] is True
    await store.close()


def run_now(coroutine: Any) -> Any:
    """Run a coroutine that must finish without waiting for anything (no thread, no I/O
    future); fail if it suspends."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise AssertionError("it waited for something")


async def test_an_append_that_needs_no_wait_is_done_on_the_event_loop_in_order(tmp_path):
    path = tmp_path / "h.sqlite3"
    store = await opened(path)
    stored, duplicate = run_now(store.append(message("r", "now")))
    assert (stored["seq"], duplicate) == (1, False)
    assert (store.appends_now, store.appends_queued) == (1, 0)
    # While the writer thread has work, appends queue behind it: the order is kept.
    loop = asyncio.get_running_loop()
    started, release = asyncio.Event(), threading.Event()

    def change(doc: dict[str, Any] | None) -> tuple[dict[str, Any], None]:
        loop.call_soon_threadsafe(started.set)
        assert release.wait(5)
        return {"hands": []}, None

    update = asyncio.ensure_future(store.update_classroom("r", change))
    await started.wait()
    behind = asyncio.ensure_future(store.append(message("r", "behind")))
    await asyncio.sleep(0.05)
    assert not behind.done()
    release.set()
    await update
    assert (await behind)[0]["seq"] == 2
    assert (store.appends_now, store.appends_queued) == (1, 1)
    # Idle again: at once. With fsync, always on the thread.
    assert run_now(store.append(message("r", "again")))[0]["seq"] == 3
    await store.close()
    durable = await opened(tmp_path / "fsync.sqlite3", fsync=True)
    assert (await durable.append(message("r", "x")))[0]["seq"] == 1
    assert (durable.appends_now, durable.appends_queued) == (0, 1)
    await durable.close()


async def test_checkpoints_run_off_the_write_path(tmp_path, monkeypatch):
    import collab_widget.store as store_module

    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 10)
    store = await opened(tmp_path / "h.sqlite3", retention=1000)
    wal = tmp_path / "h.sqlite3-wal"
    for i in range(1, 10):
        await store.append(message("r", f"c{i}"))
    await store.append(message("r", "c1"))  # a duplicate writes nothing and does not count
    assert store._checkpoint is None
    await store.append(message("r", "c10"))
    assert store._checkpoint is not None  # the 10th message started one
    busy, frames, copied = await store._checkpoint
    assert busy == 0 and frames > 0 and copied == frames
    assert wal.exists()
    assert len(await store.after("r", 0, 100)) == 10
    await store.close()


async def test_a_store_made_before_classroom_mode_gains_its_columns_and_keeps_its_messages(
    tmp_path: Path,
):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE rooms (room TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
        CREATE TABLE messages (room TEXT NOT NULL, seq INTEGER NOT NULL,
            client_id TEXT NOT NULL, username TEXT NOT NULL, user TEXT NOT NULL,
            text TEXT NOT NULL, ts INTEGER NOT NULL, PRIMARY KEY (room, seq)) WITHOUT ROWID;
        INSERT INTO rooms VALUES ('r', 1);
        INSERT INTO messages VALUES ('r', 1, 'c1', 'ada', '{"username": "ada"}', 'old', 1);
        """
    )
    old.commit()
    old.close()
    store = await opened(path)
    try:
        assert await store.get("r", 1) == {
            "room": "r",
            "seq": 1,
            "client_id": "c1",
            "user": {"username": "ada"},
            "text": "old",
            "ts": 1,
        }
        poll = {**message("r", "c2"), "kind": "poll", "options": ["a", "b"]}
        stored, _ = await store.append(poll)
        assert (stored["seq"], stored["kind"], stored["options"]) == (2, "poll", ["a", "b"])
        assert await store.get("r", 2) == stored
        assert await store.load_classroom("r") is None
        assert await store.update_classroom("r", lambda doc: ({"hands": {"ada": 1}}, doc)) is None
        seen = await store.update_classroom("r", lambda doc: ({"hands": {}}, doc))
        assert seen == {"hands": {"ada": 1}}
        assert await store.update_classroom("r", lambda doc: (None, "unchanged")) == "unchanged"
    finally:
        await store.close()
    again = await opened(path)
    try:
        assert await again.load_classroom("r") == {"hands": {}}
        assert (await again.get("r", 2))["options"] == ["a", "b"]
    finally:
        await again.close()


async def test_classroom_changes_of_two_processes_sharing_the_file_are_never_lost(
    tmp_path: Path,
):
    path = tmp_path / "shared.db"
    first, second = await opened(path, busy_timeout=5), await opened(path, busy_timeout=5)

    def add_one(doc: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
        count = (doc or {}).get("n", 0) + 1
        time.sleep(0.001)  # widen the window between the read and the write
        return {"n": count}, count

    try:
        results = await asyncio.gather(
            *(store.update_classroom("r", add_one) for store in [first, second] * 20)
        )
        assert sorted(results) == list(range(1, 41))
        assert await first.load_classroom("r") == {"n": 40}

        def refuse(doc: dict[str, Any] | None) -> tuple[dict[str, Any], None]:
            raise ValueError("refused")

        with pytest.raises(ValueError):
            await second.update_classroom("r", refuse)
        assert await second.load_classroom("r") == {"n": 40}  # nothing written
    finally:
        await first.close()
        await second.close()
