"""A history store whose reads fail on demand: the SQLite store, except that reading the
messages after ``FAIL_SINCE`` raises (as a broken disk or a locked database would)."""

from __future__ import annotations

from typing import Any

from collab_widget.store import SQLiteHistoryStore

#: A ``since`` (valid for the protocol) whose read fails.
FAIL_SINCE = 999_999


class FailingReadsStore(SQLiteHistoryStore):
    async def after(self, room: str, since: int, limit: int) -> Any:
        if since == FAIL_SINCE:
            raise OSError("disk I/O error (on purpose)")
        return await super().after(room, since, limit)
