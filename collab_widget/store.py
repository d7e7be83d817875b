"""The default history store: durable chat history in SQLite (standard library); nothing
that waits runs on the event loop.

Two connections, so the event loop never waits for the disk or for a lock:

- the **writer** runs :meth:`SQLiteHistoryStore.append`, one message at a time. Each append is
  one ``BEGIN IMMEDIATE`` transaction that recognises a resent message, takes the room's next
  ``seq`` from the ``rooms`` table, inserts, prunes and commits, so several processes (two
  servers of one user, or the processes of a multi-process service) can share one file. It
  waits at most ``busy_timeout`` for another process's write lock, then gives up
  (:class:`~collab_widget.history.StoreBusy`) instead of stalling the room.

  An append that can be done at once is done on the event loop: without ``fsync`` a WAL
  commit only copies a few pages to the operating system (tens of microseconds), less than
  handing the work to a thread and back costs (two thread wake-ups per message). "At once"
  means no ``fsync``, nothing queued for the writer thread (order is kept), and the write
  lock free now (SQLite is asked not to wait). Anything else (``fsync``, a lock held by
  another process, classroom updates) runs on the writer's own thread.
- the **reader** serves every read (room loads, history pages, duplicates) on its own thread.
  In WAL mode a reader never waits for a writer, so joins and history pages are answered
  while a write is blocked.

Each appended message is committed before ``append`` returns, so an acknowledged message
survives a restart of the server. WAL checkpoints run on a third thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from .history import MESSAGE_FIELDS, BaseHistoryStore, Message, StoreBusy

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
CREATE TABLE IF NOT EXISTS classrooms (
    room TEXT PRIMARY KEY,
    doc TEXT NOT NULL
) WITHOUT ROWID;
"""

#: Added by protocol 1.1 (a snippet's or a poll's fields); a store made before gets it at open.
EXTRA_COLUMN = "ALTER TABLE messages ADD COLUMN extra TEXT"

_COLUMNS = "room, seq, client_id, user, text, ts, extra"
CHECKPOINT_EVERY = 500
# Seconds the start-up (WAL switch, schema) may wait for another process: not on any
# client's path, and a second server starting next to a busy one should not fail.
OPEN_TIMEOUT = 10.0


def _message(row: tuple[Any, ...]) -> Message:
    room, seq, client_id, user, text, ts, extra = row
    message: Message = {
        "room": room,
        "seq": seq,
        "client_id": client_id,
        "user": json.loads(user),
        "text": text,
        "ts": ts,
    }
    if extra:
        message.update(json.loads(extra))
    return message


def _is_busy(error: sqlite3.Error) -> bool:
    """Whether ``error`` is SQLite's "another connection holds the lock" (SQLITE_BUSY or
    SQLITE_LOCKED, extended codes included)."""
    code = getattr(error, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(error) or "busy" in str(error)


class SQLiteHistoryStore(BaseHistoryStore):
    """Chat messages per room in one SQLite file, newest ``retention`` kept.

    :param path: the SQLite file; its folder is created when missing.
    :param retention: how many newest messages are kept per room.
    :param fsync: also survive power loss (``synchronous=FULL``), at the cost of one fsync per
        message; the default (``NORMAL``) survives a crash or restart of the server.
    :param busy_timeout: seconds an append may wait (queued behind other appends of this
        process, or for another process's write lock) before it fails with
        :class:`~collab_widget.history.StoreBusy`; also how long a read may wait in the rare
        cases WAL readers wait (another process recovering the WAL).
    """

    def __init__(
        self,
        path: str | Path,
        retention: int = 1000,
        fsync: bool = False,
        busy_timeout: float = 0.5,
    ) -> None:
        super().__init__(path, retention, fsync, busy_timeout)
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collab-history")
        self._db: sqlite3.Connection | None = None
        self._busy_ms = -1  # the writer connection's current busy timeout
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collab-history-read")
        self._reader_db: sqlite3.Connection | None = None
        # WAL checkpoints (which fsync) run on their own thread and connection, so a message's
        # commit never waits for one.
        self._checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="collab-wal")
        self._checkpoint_db: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Future[tuple[int, int, int]] | None = None
        self._appended = 0
        self._queued = 0  # writes handed to the writer thread and not finished
        #: Appends done on the event loop, and on the writer thread (see the module doc).
        self.appends_now = 0
        self.appends_queued = 0

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the writer thread, behind the writes already handed to it."""
        self._queued += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._writer, fn, *args)
        finally:
            self._queued -= 1

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._reader, fn, *args)

    # -- lifecycle ---------------------------------------------------------------------------
    async def open(self) -> None:
        await self._write(self._open)

    def open_now(self) -> None:
        """Open synchronously (at server start-up, before the event loop serves anyone)."""
        self._open()

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=OPEN_TIMEOUT
        )
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
        db.execute("PRAGMA wal_autocheckpoint=0")  # see _maybe_checkpoint
        db.executescript(SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
        if "extra" not in columns:
            try:
                db.execute(EXTRA_COLUMN)
            except sqlite3.OperationalError as error:
                if "duplicate column" not in str(error):  # another process added it first
                    raise
        self._db = db
        reader = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=self.busy_timeout
        )
        reader.execute("PRAGMA query_only=ON")
        self._reader_db = reader

    async def close(self) -> None:
        """Finish pending writes, then close the database."""
        if self._checkpoint is not None:
            await self._checkpoint
        self._checkpointer.submit(self._close_checkpoint_db).result()
        self._checkpointer.shutdown(wait=True)
        await self._read(self._close_reader)
        self._reader.shutdown(wait=True)
        await self._write(self._close)
        self._writer.shutdown(wait=True)

    def _close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _close_reader(self) -> None:
        if self._reader_db is not None:
            self._reader_db.close()
            self._reader_db = None

    @property
    def db(self) -> sqlite3.Connection:
        """The writer connection: used on the writer thread, or on the event loop while
        nothing is queued for that thread (:meth:`_append_now`)."""
        if self._db is None:
            raise RuntimeError("the history store is not open")
        return self._db

    @property
    def reader(self) -> sqlite3.Connection:
        """The reader connection (use it on the reader thread only)."""
        if self._reader_db is None:
            raise RuntimeError("the history store is not open")
        return self._reader_db

    # -- reads (reader thread) ---------------------------------------------------------------
    async def load_room(self, room: str, window: int) -> tuple[int, list[tuple[str, str, int]]]:
        """The room's last ``seq`` and its newest ``window`` ``(username, client_id, seq)``."""
        return await self._read(self._load_room, room, window)

    def _load_room(self, room: str, window: int) -> tuple[int, list[tuple[str, str, int]]]:
        db = self.reader
        db.execute("BEGIN")  # one snapshot for both statements
        try:
            row = db.execute("SELECT last_seq FROM rooms WHERE room = ?", (room,)).fetchone()
            recent = db.execute(
                "SELECT username, client_id, seq FROM messages WHERE room = ? ORDER BY seq DESC "
                "LIMIT ?",
                (room, window),
            ).fetchall()
        finally:
            db.execute("COMMIT")
        return (row[0] if row else 0), list(reversed(recent))

    async def get(self, room: str, seq: int) -> Message | None:
        rows = await self._read(
            self._select, f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq = ?", (room, seq)
        )
        return _message(rows[0]) if rows else None

    async def after(self, room: str, since: int, limit: int) -> list[Message]:
        """Messages with ``seq > since``, oldest first, at most ``limit``."""
        rows = await self._read(
            self._select,
            f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq > ? ORDER BY seq LIMIT ?",
            (room, since, limit),
        )
        return [_message(r) for r in rows]

    async def before(self, room: str, before: int | None, limit: int) -> tuple[list[Message], bool]:
        """The newest ``limit`` messages with ``seq < before``, oldest first, and whether
        older ones exist."""
        rows = await self._read(
            self._select,
            f"SELECT {_COLUMNS} FROM messages WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
            (room, before if before is not None else 2**62, limit + 1),
        )
        has_more = len(rows) > limit
        return [_message(r) for r in reversed(rows[:limit])], has_more

    def _select(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        return self.reader.execute(sql, args).fetchall()

    # -- writes (writer thread) --------------------------------------------------------------
    async def append(self, message: Message) -> tuple[Message, bool]:
        """Number and store ``message`` (a protocol Message without ``seq``) durably and prune
        its room, or return the stored message with the same ``(username, client_id)``.

        :param message: ``room``, ``client_id``, ``user`` (with ``username``), ``text``,
            ``ts``.
        :returns: the stored message with its ``seq``, and whether it was a duplicate.
        :raises StoreBusy: the write lock was not free within :attr:`busy_timeout` of this
            call (time spent queued behind this process's other appends included).
        """
        deadline = time.monotonic() + self.busy_timeout
        done = self._append_now(message)
        if done is None:
            self.appends_queued += 1
            done = await self._write(self._append, message, deadline)
        stored, duplicate = done
        if not duplicate:
            self._appended += 1
            self._maybe_checkpoint()
        return stored, duplicate

    def _append_now(self, message: Message) -> tuple[Message, bool] | None:
        """Append on the calling (event loop) thread if that needs no fsync, no wait for a
        lock and nothing is queued for the writer thread (which then is idle: the writer
        connection is used by one thread at a time); None if it must go to that thread."""
        if self.fsync or self._queued or self._db is None:
            return None
        try:
            stored = self._append(message, time.monotonic())  # the lock now, or StoreBusy
        except StoreBusy:
            return None  # another process writes: wait for it on the writer thread
        self.appends_now += 1
        return stored

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

    def _wait_at_most(self, deadline: float) -> None:
        """Let the next lock request wait (SQLite's busy handler) until ``deadline`` at most;
        past it, one try without waiting."""
        ms = max(0, int((deadline - time.monotonic()) * 1000))
        if ms != self._busy_ms:
            self.db.execute(f"PRAGMA busy_timeout = {ms}")
            self._busy_ms = ms

    def _begin_write(self, deadline: float) -> None:
        """Take the write lock, waiting until ``deadline`` at most (then :class:`StoreBusy`):
        everything after it sees the latest commit of every process."""
        self._wait_at_most(deadline)
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as error:
            if _is_busy(error):
                raise StoreBusy(f"the history is locked by another writer ({error})") from error
            raise

    def _append(self, m: Message, deadline: float) -> tuple[Message, bool]:
        db = self.db
        room, client_id, user = m["room"], m["client_id"], m["user"]
        username = user["username"]
        self._begin_write(deadline)
        try:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM messages "
                "WHERE room = ? AND username = ? AND client_id = ?",
                (room, username, client_id),
            ).fetchone()
            if row is not None:
                db.execute("ROLLBACK")
                return _message(row), True
            last = db.execute("SELECT last_seq FROM rooms WHERE room = ?", (room,)).fetchone()
            seq = (last[0] if last else 0) + 1
            extra = {k: v for k, v in m.items() if k not in MESSAGE_FIELDS}
            db.execute(
                f"INSERT INTO messages ({_COLUMNS}, username) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    room,
                    seq,
                    client_id,
                    json.dumps(user),
                    m["text"],
                    m["ts"],
                    json.dumps(extra) if extra else None,
                    username,
                ),
            )
            db.execute(
                "INSERT INTO rooms (room, last_seq) VALUES (?, ?) "
                "ON CONFLICT (room) DO UPDATE SET last_seq = excluded.last_seq",
                (room, seq),
            )
            db.execute(
                "DELETE FROM messages WHERE room = ? AND seq <= ?", (room, seq - self.retention)
            )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        stored: Message = {
            "room": room,
            "seq": seq,
            "client_id": client_id,
            "user": user,
            "text": m["text"],
            "ts": m["ts"],
            **extra,
        }
        return stored, False

    # -- classroom state ---------------------------------------------------------------------
    async def load_classroom(self, room: str) -> dict[str, Any] | None:
        rows = await self._read(self._select, "SELECT doc FROM classrooms WHERE room = ?", (room,))
        return json.loads(rows[0][0]) if rows else None

    async def update_classroom(
        self, room: str, change: Callable[[dict[str, Any] | None], tuple[dict[str, Any] | None, T]]
    ) -> T:
        """Read, change and write a room's classroom state in one write transaction (the
        writer thread runs ``change``)."""
        deadline = time.monotonic() + self.busy_timeout
        return await self._write(self._update_classroom, room, change, deadline)

    def _update_classroom(
        self,
        room: str,
        change: Callable[[dict[str, Any] | None], tuple[dict[str, Any] | None, T]],
        deadline: float,
    ) -> T:
        db = self.db
        self._begin_write(deadline)
        try:
            row = db.execute("SELECT doc FROM classrooms WHERE room = ?", (room,)).fetchone()
            doc, result = change(json.loads(row[0]) if row else None)
            if doc is not None:
                db.execute(
                    "INSERT INTO classrooms (room, doc) VALUES (?, ?) "
                    "ON CONFLICT (room) DO UPDATE SET doc = excluded.doc",
                    (room, json.dumps(doc)),
                )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        return result
