"""The chat history store's interface: what the server needs from wherever messages are kept.

``CollabApp.store_class`` names the implementation (default: the SQLite one,
:class:`collab_widget.store.SQLiteHistoryStore`); the app builds it with the ``history_path``,
``history_limit``, ``history_fsync`` and ``history_busy_timeout`` settings and the room
backend calls it. A message is the protocol's Message object: ``{room, seq, client_id, user,
text, ts}``.

The store, not the server, numbers messages: :meth:`BaseHistoryStore.append` gives a message
its ``seq`` and recognises a resent one in the same step, so several server processes can
share one store without handing out a number twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

Message = dict[str, Any]
T = TypeVar("T")

#: The fields every Message has; any other (protocol 1.1: ``kind``, ``language``,
#: ``options``) is stored with it as given.
MESSAGE_FIELDS = frozenset({"room", "seq", "client_id", "user", "text", "ts"})


class StoreBusy(Exception):
    """A write could not start in time because another writer (e.g. another server process
    sharing the store) held the store; nothing was stored, and a retry may succeed.

    The server answers ``unavailable`` and logs one line, without a traceback.
    """


class BaseHistoryStore(ABC):
    """Chat messages per room, the newest ``retention`` of each room kept.

    Implementations keep each room's highest ``seq`` ever stored, also after its messages were
    pruned, so that numbers are never handed out twice. Every method may raise; the server
    then answers the client with the error code ``unavailable``. Reads should not wait for
    writes (a reader blocked behind a slow or locked write would stall joins of every room).

    :param path: where the history lives (a file, a URL...; an implementation may ignore it).
    :param retention: how many newest messages are kept per room.
    :param fsync: whether an appended message must survive power loss, not only a crash or a
        restart of the server (an implementation may ignore it).
    :param busy_timeout: seconds an :meth:`append` may wait for another writer before it
        gives up with :class:`StoreBusy` (an implementation may ignore it).
    """

    def __init__(
        self,
        path: str | Path,
        retention: int = 1000,
        fsync: bool = False,
        busy_timeout: float = 0.5,
    ) -> None:
        self.path = Path(path)
        self.retention = retention
        self.fsync = fsync
        self.busy_timeout = busy_timeout
        self._classrooms: dict[str, dict[str, Any]] = {}  # see load_classroom

    # -- lifecycle ---------------------------------------------------------------------------
    @abstractmethod
    def open_now(self) -> None:
        """Open synchronously: the app calls this at start-up, before the event loop serves
        anyone."""

    @abstractmethod
    async def open(self) -> None:
        """Open from a running event loop (the alternative to :meth:`open_now`)."""

    @abstractmethod
    async def close(self) -> None:
        """Finish pending writes and release the store; called once, at server shutdown."""

    # -- reads -------------------------------------------------------------------------------
    @abstractmethod
    async def load_room(self, room: str, window: int) -> tuple[int, list[tuple[str, str, int]]]:
        """What a room needs when it is first used after a start.

        :param room: the room name.
        :param window: how many newest messages' ids to return.
        :returns: the room's highest ``seq`` ever stored (0 for a new room) and its newest
            ``window`` messages as ``(username, client_id, seq)``, oldest first (so that a
            resent message is recognised without asking the store).
        """

    @abstractmethod
    async def get(self, room: str, seq: int) -> Message | None:
        """One message.

        :param room: the room name.
        :param seq: the message's number in the room.
        :returns: the message, or None when there is none (never stored, or pruned).
        """

    @abstractmethod
    async def after(self, room: str, since: int, limit: int) -> list[Message]:
        """Messages newer than a client has (a re-join with ``since``).

        :param room: the room name.
        :param since: the highest ``seq`` the client has; messages with a greater one are
            returned.
        :param limit: at most this many, the oldest of them.
        :returns: messages, oldest first.
        """

    @abstractmethod
    async def before(self, room: str, before: int | None, limit: int) -> tuple[list[Message], bool]:
        """A page of history, going back in time.

        :param room: the room name.
        :param before: only messages with a smaller ``seq``; None for the newest ones.
        :param limit: at most this many, the newest of them.
        :returns: the messages, oldest first, and whether older ones exist.
        """

    # -- writes ------------------------------------------------------------------------------
    @abstractmethod
    async def append(self, message: Message) -> tuple[Message, bool]:
        """Number and store a message durably, then prune its room to :attr:`retention`
        messages; or, when it was stored before, return that one.

        In one atomic step (a write transaction, so that several processes may share the
        store): when the room holds a message with the same ``(username, client_id)``, that
        message is returned and nothing is written; otherwise the message gets the room's
        next ``seq`` (one more than the highest ever stored in the room, pruned ones
        included), is stored, and the room is pruned. The server acknowledges the message to
        its sender only after this returns, and acknowledges nothing when it raises.

        :param message: the protocol Message without its ``seq`` (a ``seq`` given is
            ignored): ``message["room"]`` says where it goes, ``message["user"]["username"]``
            with ``message["client_id"]`` identify it (for deduplication and
            :meth:`load_room`), ``text``, ``user``, ``ts`` and any other field (protocol 1.1's
            ``kind``, ``language``, ``options``) are stored as given.
        :returns: the stored message with its ``seq``, and whether it had been stored before
            (a duplicate: then it is the earlier message, which may differ in ``text``/``ts``).
        :raises StoreBusy: another writer held the store longer than :attr:`busy_timeout`;
            nothing was stored.
        """

    # -- classroom state (protocol 1.1) ------------------------------------------------------
    # Not abstract, so that a store written before classroom mode keeps working: its rooms'
    # classroom state then lives in memory until the server stops. Override both to keep it.

    async def load_classroom(self, room: str) -> dict[str, Any] | None:
        """A room's classroom state (:meth:`Classroom.to_json
        <collab_widget.classroom.Classroom.to_json>`), or None when none was stored.

        :param room: the room name.
        """
        return self._classrooms.get(room)

    async def update_classroom(
        self, room: str, change: Callable[[dict[str, Any] | None], tuple[dict[str, Any] | None, T]]
    ) -> T:
        """Change a room's classroom state in one atomic step (several processes sharing the
        store must not overwrite each other's changes).

        :param room: the room name.
        :param change: called with the stored state (None: none yet), synchronously and maybe
            on another thread; returns the new state (None: unchanged, nothing written) and
            what to return. What it raises is raised, and nothing is written.
        :raises StoreBusy: another writer held the store longer than :attr:`busy_timeout`.
        """
        doc, result = change(self._classrooms.get(room))
        if doc is not None:
            self._classrooms[room] = doc
        return result
