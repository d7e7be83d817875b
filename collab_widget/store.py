"""The default history store: durable chat history in SQLite (standard library), off the
event loop.

All database work runs on one dedicated thread, so the event loop only waits for a future,
and statements run in the order they were submitted. Each appended message is committed
before :meth:`SQLiteHistoryStore.append` returns, in WAL mode, so an acknowledged message
survives a restart of the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .history import BaseHistoryStore, Message

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS rooms (
    room TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS messages (
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    client_id TEXT NOT NULL,
    username TEXT NOT NULL,
    user TEXT NOT NULL,
    text TEXT NOT NULL,
    ts INTEGER NOT NULL,
    PRIMARY KEY (room, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS messages_client_id ON messages (room, username, client_id);
"""

_COLUMNS = "room, seq, client_id, user, text, ts"
CHECKPOINT_EVERY = 500


def _message(row: tuple[Any, ...]) -> Message:
    room, seq, client_id, user, text, ts = row
    return {
        "room": room,
        "seq": seq,
        "client_id": client_id,
        "user": json.loads(user),
        "text": text,
        "ts": ts,
    }


class SQLiteHistoryStore(BaseHistoryStore):
    """Chat messages per room in one SQLite file, newest ``retention`` kept.

    :param path: the SQLite file; its folder is created when missing.
    :param retention: how many newest messages are kept per room.
    :param fsync: also survive power loss (``synchronous=FULL``), at the cost of one fsync per
        message; the default (``NORMAL``) survives a crash or restart of the server.
    """

    def __init__(self, path: str | Path, retention: int = 1000, fsync: bool = False) -> None:
        super().__init__(path, retention, fsync)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collab-history")
        self._db: sqlite3.Connection | None = None
        # WAL checkpoints (which fsync) run on their own thread and connection, so a message's
        # commit never waits for one.
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collab-wal")
        self._checkpoint_db: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Future[tuple[int, int, int]] | None = None
        self._appended = 0

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        await self._run(self._open)

    def open_now(self) -> None:
        """Open synchronously (at server start-up, before the event loop serves anyone)."""
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
        db.execute("PRAGMA wal_autocheckpoint=0")  # see _maybe_checkpoint
        db.executescript(SCHEMA)
        self._db = db

    async def close(self) -> None:
        """Finish pending writes, then close the database."""
        if self._checkpoint is not None:
            await self._checkpoint
        self._checkpointer.submit(self._close_checkpoint_db).result()
        self._checkpointer.shutdown(wait=True)
        await self._run(self._close)
        self._executor.shutdown(wait=True)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the history store is not open")
        return self._db

    # -- reads -------------------------------------------------------------------------------
    async def load_room(self, room: str, window: int) -> tuple[int, list[tuple[str, str, int]]]:
        """The room's last ``seq`` and its newest ``window`` ``(username, client_id, seq)``."""
        return await self._run(self._load_room, room, window)

    def _load_room(self, room: str, window: int) -> tuple[int, list[tuple[str, str, int]]]:
        row = self.db.execute("SELECT last_seq FROM rooms WHERE room = ?", (room,)).fetchone()
        recent = self.db.execute(
            "SELECT username, client_id, seq FROM messages WHERE room = ? ORDER BY seq DESC "
            "LIMIT ?",
            (room, window),
        ).fetchall()
        return (row[0] if row else 0), list(reversed(recent))

    async def get(self, room: str, seq: int) -> Message | None:
        rows = await self._run(
            self._select, f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq = ?", (room, seq)
        )
        return _message(rows[0]) if rows else None

    async def after(self, room: str, since: int, limit: int) -> list[Message]:
        """Messages with ``seq > since``, oldest first, at most ``limit``."""
        rows = await self._run(
            self._select,
            f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?",
            (room, since, limit),
        )
        return [_message(r) for r in rows]

    async def before(self, room: str, before: int | None, limit: int) -> tuple[list[Message], bool]:
        """The newest ``limit`` messages with ``seq < before``, oldest first, and whether
        older ones exist."""
        rows = await self._run(
            self._select,
            f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (room, before if before is not None else 2**62, limit + 1),
        )
        has_more = len(rows) > limit
        return [_message(r) for r in reversed(rows[:limit])], has_more

    def _select(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, args).fetchall()

    # -- writes ------------------------------------------------------------------------------
    async def append(self, message: Message) -> None:
        """Store ``message`` (a protocol Message) durably and prune the room to retention."""
        await self._run(self._append, message)
        self._appended += 1
        self._maybe_checkpoint()

    def _maybe_checkpoint(self) -> None:
        """Every CHECKPOINT_EVERY messages, fold the WAL back into the database (PASSIVE: it
        never blocks the writer) on the checkpoint thread."""
        if self._appended % CHECKPOINT_EVERY or self._checkpoint is not None:
            return
        loop = asyncio.get_running_loop()
        self._checkpoint = loop.run_in_executor(self._checkpointer, self._run_checkpoint)
        self._checkpoint.add_done_callback(self._checkpoint_done)

    def _checkpoint_done(self, future: asyncio.Future[tuple[int, int, int]]) -> None:
        self._checkpoint = None
        if not future.cancelled() and future.exception() is not None:
            logging.getLogger(__name__).warning(
                "collab: WAL checkpoint failed: %s", future.exception()
            )

    def _run_checkpoint(self) -> tuple[int, int, int]:
        """(busy, frames in the WAL, frames checkpointed), as SQLite reports them."""
        if self._checkpoint_db is None:
            self._checkpoint_db = sqlite3.connect(self.path, isolation_level=None)
        return self._checkpoint_db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()

    def _close_checkpoint_db(self) -> None:
        if self._checkpoint_db is not None:
            self._checkpoint_db.close()
            self._checkpoint_db = None

    def _append(self, m: Message) -> None:
        db = self.db
        user = m["user"]
        with db:  # one transaction: message, room counter, pruning
            db.execute("BEGIN")
            db.execute(
                f"INSERT INTO messages ({_COLUMNS}, username) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    m["room"],
                    m["seq"],
                    m["client_id"],
                    json.dumps(user),
                    m["text"],
                    m["ts"],
                    user["username"],
                ),
            )
            db.execute(
                "INSERT INTO rooms (room, last_seq) VALUES (?, ?) "
                "ON CONFLICT (room) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)",
                (m["room"], m["seq"]),
            )
            db.execute(
                "DELETE FROM messages WHERE room = ? AND seq <= ?",
                (m["room"], m["seq"] - self.retention),
            )
