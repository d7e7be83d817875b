"""The chat history store's interface: what the server needs from wherever messages are kept.

``CollabApp.store_class`` names the implementation (default: the SQLite one,
:class:`collab_widget.store.SQLiteHistoryStore`); the app builds it with the ``history_path``,
``history_limit`` and ``history_fsync`` settings and the room backend calls it. A message is
the protocol's Message object: ``{room, seq, client_id, user, text, ts}``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any

Message = dict[str, Any]


class BaseHistoryStore(ABC):
    """Chat messages per room, the newest ``retention`` of each room kept.

    Implementations keep each room's highest ``seq`` ever stored, also after its messages were
    pruned, so that numbers are never handed out twice. Every method may raise; the server
    then answers the client with the error code ``unavailable``.

    :param path: where the history lives (a file, a URL...; an implementation may ignore it).
    :param retention: how many newest messages are kept per room.
    :param fsync: whether an appended message must survive power loss, not only a crash or a
        restart of the server (an implementation may ignore it).
    """

    def __init__(self, path: str | Path, retention: int = 1000, fsync: bool = False) -> None:
        self.path = Path(path)
        self.retention = retention
        self.fsync = fsync

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
            resent message is recognised after a restart).
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
    async def append(self, message: Message) -> None:
        """Store a message durably, then prune its room to :attr:`retention` messages.

        The server acknowledges the message to its sender only after this returns.

        :param message: the protocol Message; ``message["room"]`` and ``message["seq"]`` say
            where it goes (``seq`` is new and greater than any stored in that room), and
            ``message["user"]["username"]`` with ``message["client_id"]`` identify it for
            :meth:`load_room`.
        """
