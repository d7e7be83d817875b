"""History stores for tests, chosen with ``--CollabApp.store_class=collab_test_store.<name>``.

:class:`JournalHistoryStore` keeps messages in memory and writes what it is asked to do, one
JSON object a line, to ``<history_path without suffix>.jsonl``, so a test in another process
can see that the server used it. :class:`NotAStore` is not a ``BaseHistoryStore``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from collab_widget.history import BaseHistoryStore, Message


class JournalHistoryStore(BaseHistoryStore):
    """Messages in memory, pruned to ``retention`` per room; every call journaled."""

    def __init__(
        self,
        path: str | Path,
        retention: int = 1000,
        fsync: bool = False,
        busy_timeout: float = 0.5,
    ) -> None:
        super().__init__(path, retention, fsync, busy_timeout)
        self.journal = self.path.with_suffix(".jsonl")
        self.messages: dict[str, dict[int, Message]] = {}
        self.last_seq: dict[str, int] = {}

    def _note(self, **entry: Any) -> None:
        with self.journal.open("a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def open_now(self) -> None:
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        self._note(
            call="open",
            retention=self.retention,
            fsync=self.fsync,
            busy_timeout=self.busy_timeout,
        )

    async def open(self) -> None:
        self.open_now()

    async def close(self) -> None:
        self._note(call="close")

    async def load_room(self, room: str, window: int) -> tuple[int, list[tuple[str, str, int]]]:
        self._note(call="load_room", room=room, window=window)
        kept = sorted(self.messages.get(room, {}).items())[-window:]
        recent = [(m["user"]["username"], m["client_id"], seq) for seq, m in kept]
        return self.last_seq.get(room, 0), recent

    async def get(self, room: str, seq: int) -> Message | None:
        return self.messages.get(room, {}).get(seq)

    async def after(self, room: str, since: int, limit: int) -> list[Message]:
        kept = sorted(self.messages.get(room, {}).items())
        return [m for seq, m in kept if seq > since][:limit]

    async def before(self, room: str, before: int | None, limit: int) -> tuple[list[Message], bool]:
        kept = sorted(self.messages.get(room, {}).items())
        older = [m for seq, m in kept if before is None or seq < before]
        return older[-limit:], len(older) > limit

    async def append(self, message: Message) -> tuple[Message, bool]:
        """Number the message (the room's last seq + 1) or return the kept one with the same
        ``(username, client_id)``; one step, as the interface asks (no await inside)."""
        room, client_id = message["room"], message["client_id"]
        username = message["user"]["username"]
        messages = self.messages.setdefault(room, {})
        for kept in messages.values():
            if kept["client_id"] == client_id and kept["user"]["username"] == username:
                self._note(call="append", message=kept, duplicate=True)
                return kept, True
        seq = self.last_seq.get(room, 0) + 1
        stored: Message = {
            "room": room,
            "seq": seq,
            "client_id": client_id,
            "user": message["user"],
            "text": message["text"],
            "ts": message["ts"],
        }
        messages[seq] = stored
        self.last_seq[room] = seq
        for old in sorted(messages)[: -self.retention]:
            del messages[old]
        self._note(call="append", message=stored)
        return stored, False


class NotAStore:
    """Has the methods, but is not derived from BaseHistoryStore: the app must refuse it."""

    def __init__(self, path: str, retention: int = 1000, fsync: bool = False) -> None:
        self.path = path
