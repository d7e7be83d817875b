"""The SQLite history store, on a real file."""

from __future__ import annotations

from collab_widget.store import SQLiteHistoryStore


def message(room: str, seq: int, client_id: str = "", user: str = "ada") -> dict:
    return {
        "room": room,
        "seq": seq,
        "client_id": client_id or f"c{seq}",
        "user": {"username": user, "display_name": user},
        "text": f"t{seq}",
        "ts": seq,
    }


async def test_append_read_prune_and_reopen(tmp_path):
    path = tmp_path / "deep" / "h.sqlite3"
    store = SQLiteHistoryStore(path, retention=5)
    await store.open()
    for seq in range(1, 9):
        await store.append(message("r", seq))
    await store.append(message("other", 1))
    assert [m["seq"] for m in await store.after("r", 0, 100)] == [4, 5, 6, 7, 8]
    page, more = await store.before("r", None, 2)
    assert [m["seq"] for m in page] == [7, 8] and more is True
    page, more = await store.before("r", 5, 10)
    assert [m["seq"] for m in page] == [4] and more is False
    assert (await store.get("r", 6))["user"]["username"] == "ada"
    assert await store.get("r", 1) is None
    await store.close()

    reopened = SQLiteHistoryStore(path, retention=5)
    await reopened.open()
    last_seq, recent = await reopened.load_room("r", window=3)
    assert last_seq == 8
    assert recent == [("ada", "c6", 6), ("ada", "c7", 7), ("ada", "c8", 8)]
    assert await reopened.load_room("new", 3) == (0, [])
    await reopened.close()


async def test_checkpoints_run_off_the_write_path(tmp_path, monkeypatch):
    import collab_widget.store as store_module

    monkeypatch.setattr(store_module, "CHECKPOINT_EVERY", 10)
    store = SQLiteHistoryStore(tmp_path / "h.sqlite3", retention=1000)
    await store.open()
    wal = tmp_path / "h.sqlite3-wal"
    for seq in range(1, 10):
        await store.append(message("r", seq))
    assert store._checkpoint is None
    await store.append(message("r", 10))
    assert store._checkpoint is not None  # the 10th message started one
    busy, frames, copied = await store._checkpoint
    assert busy == 0 and frames > 0 and copied == frames
    assert wal.exists()
    assert len(await store.after("r", 0, 100)) == 10
    await store.close()
