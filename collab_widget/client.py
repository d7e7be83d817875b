"""An asyncio Python client for protocol v1, over python-socketio's ``AsyncClient``.

Tests, benchmarks, scripts and classroom bots use it::

    from collab_widget.client import CollabClient

    async with CollabClient("http://127.0.0.1:8888/", token="...") as client:
        client.on("message", lambda m: print(m["user"]["display_name"], m["text"]))
        await client.join("class-101")
        await client.send("class-101", "hello")

It recovers from network faults as the browser does: it reconnects by itself with backoff,
keeping one HTTP session and cookie jar (so it stays the same user); re-joins its rooms with
``since`` and hands every message it missed to the ``message`` callbacks, each once, in ``seq``
order; and re-sends an unacknowledged message with the same ``client_id`` (which the server
stores once).

It joins with protocol 1.2 (compact presence batches) and decodes those into the 1.1 batches
its ``presence`` callbacks have always had; with a 1.1 server it gets those directly.

Needs the ``client`` extra (``pip install collab-widget[client]``), which brings aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import random
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio

SOCKETIO_PATH = "collab/socket.io"

#: Error codes worth retrying a ``send`` for: the server asks to wait (``rate_limited``, with
#: ``retry_after``), its store failed without storing (``unavailable``), the session is going
#: away (``not_connected``), or the room is being re-joined after a reconnect (``not_joined``).
RETRYABLE = frozenset({"rate_limited", "unavailable", "not_connected", "not_joined"})

#: Events the client raises itself, never received from the server.
LOCAL_EVENTS = frozenset({"connect", "disconnect", "rejoin"})

#: The protocol version every ``join`` asks for: 1.2 brings compact presence batches (a server
#: that does not speak it ignores the field and keeps sending the 1.1 ones).
PROTOCOL = "1.2"

#: How many delivered ``seq``s a room remembers for dropping repeats (older ones count as
#: delivered: a repeat that late cannot come).
SEEN_KEPT = 4096

log = logging.getLogger(__name__)


class CollabError(Exception):
    """The server refused an event: ``code`` is the protocol's error code."""

    def __init__(self, code: str, message: str, detail: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = dict(detail or {})


_TIMEOUT_BASES: tuple[type[BaseException], ...] = (
    (TimeoutError,)
    if asyncio.TimeoutError is TimeoutError
    else (TimeoutError, asyncio.TimeoutError)
)


class NoAnswer(CollabError, socketio.exceptions.TimeoutError, *_TIMEOUT_BASES):  # type: ignore[misc]
    """No acknowledgement came: ``code`` is ``timeout`` (none in time) or ``not_connected``
    (there was no connection, or it was lost before the answer).

    Also a ``TimeoutError`` (and python-socketio's), so code written for ``sio.call`` keeps
    working.
    """


class ConnectionCut(aiohttp.ClientConnectionError):
    """An HTTP request's connection broke; raised in place of aiohttp's ``ClientOSError`` and
    ``ServerDisconnectedError``, the two exceptions aiohttp retries a GET on by itself."""


async def _no_silent_retry(
    request: aiohttp.ClientRequest, handler: Callable[[aiohttp.ClientRequest], Any]
) -> aiohttp.ClientResponse:
    """aiohttp client middleware: a broken connection fails the request instead of being
    retried, and a response's body is read here, inside that guard.

    :param request: the request being sent.
    :param handler: the rest of aiohttp's chain (connect, send, read the head).
    """
    # Why: aiohttp >= 3.10 (3.14.5 here) retries an idempotent request (GET) once on a new
    # connection when the first one breaks with ClientOSError / ServerDisconnectedError
    # (``ClientSession._request``, the ``retry_persistent_connection`` loop; RFC 9112 9.3.1).
    # For an Engine.IO long-poll that is wrong: whatever the server had already written into
    # the broken poll is gone, the retried GET gets the packets after it, and python-engineio
    # never notices the hole (python-socketio's client lost 65 of 167,000 deliveries that way).
    # aiohttp has no public switch for it (only the private ``_retry_connection`` attribute its
    # own test client sets), but the loop re-raises at once any other ``ClientError``: this
    # middleware (a public API since aiohttp 3.12) turns the two into ``ConnectionCut``, so the
    # poll fails, python-engineio drops the connection and the client reconnects. The body is
    # read here too, so a cut in the middle of it is caught the same way rather than surfacing
    # in python-engineio's read loop, which does not expect it and would hang.
    # This only makes the loss visible. What a lost poll carried is still lost, but as a
    # reconnect the client knows about. The real safety net for chat messages is the re-join
    # with ``since`` after every reconnect (``_rejoin``), which brings back every message the
    # client has not delivered; a lost acknowledgement is covered by re-sending with the same
    # ``client_id``.
    response: aiohttp.ClientResponse | None = None
    try:
        response = await handler(request)
        if response.status != 101:  # not a WebSocket handshake: the body is all there is
            await response.read()
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        if response is not None:
            response.close()
        raise ConnectionCut(str(exc) or type(exc).__name__) from exc
    return response


def _middlewares_supported() -> bool:
    return "middlewares" in inspect.signature(aiohttp.ClientSession).parameters


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def speaks_compact_presence(version: object) -> bool:
    """Whether a join acknowledgement's ``protocol`` (``"major.minor"``) is 1.2 or a later 1.x:
    the server then sends compact presence batches to a client that joined with 1.2."""
    if not isinstance(version, str):
        return False
    major, _, minor = version.partition(".")
    return major == "1" and minor.isdigit() and int(minor) >= 2


class CompactPresence:
    """The presence of one room under protocol 1.2, as this session knows it: member number
    ``n`` -> ``{session, user, state, ts}`` (its own number, ``you``, never in it).

    The only place that reads compact batches: :meth:`apply` turns each into the 1.1 form
    the ``presence`` callbacks have always had, so they cannot tell the two apart.

    :param you: this session's member number in the room (the join ack's ``you.n``).
    """

    def __init__(self, you: int) -> None:
        self.you = you
        self.entries: dict[int, dict[str, Any]] = {}

    @classmethod
    def from_ack(cls, ack: object) -> CompactPresence | None:
        """The room's presence from a join acknowledgement (its ``presence`` snapshot, each
        entry with ``n``); None when the join failed or the server does not speak 1.2."""
        if not (isinstance(ack, dict) and ack.get("ok")):
            return None
        you = ack.get("you")
        n = you.get("n") if isinstance(you, dict) else None
        if not speaks_compact_presence(ack.get("protocol")) or not _is_int(n):
            return None
        presence = cls(n)
        for entry in _list(ack.get("presence")):
            if isinstance(entry, dict):
                presence._put([entry.get(key) for key in ("n", "state", "session", "user", "ts")])
        return presence

    def _put(self, item: list[Any]) -> bool:
        """Store a whole entry ``[n, state, session, user, ts]``; False if malformed."""
        n, state, session, user, ts = item
        valid = isinstance(state, dict) and isinstance(session, str) and isinstance(user, str)
        if not (valid and _is_int(n) and n != self.you and _is_number(ts)):
            return False
        self.entries[n] = {"session": session, "user": user, "state": dict(state), "ts": ts}
        return True

    def apply(self, batch: Mapping[str, Any]) -> dict[str, Any] | None:
        """Apply one compact batch ``{room, ts, set, gone, reset?}``; return the same change
        as a 1.1 batch ``{room, updates, removed, reset?}`` (updates: whole entries), or None
        when nothing in it is about another session.

        :param batch: the event's payload as received (every 1.2 member gets the same one).
        """
        reset = batch.get("reset") is True
        if reset:
            self.entries.clear()
        ts = batch.get("ts")
        changed: dict[int, None] = {}  # the numbers updated, in order
        for item in _list(batch.get("set")):
            if not isinstance(item, list) or not item or not _is_int(item[0]):
                continue
            n = item[0]
            if n == self.you:
                continue  # this session's own entry: every member gets the same batch
            if len(item) == 5:
                if not self._put(item):
                    continue
            elif len(item) == 2 and isinstance(item[1], dict) and n in self.entries:
                entry = self.entries[n]
                for field, value in item[1].items():
                    if value is None:
                        entry["state"].pop(field, None)
                    else:
                        entry["state"][field] = value
                if _is_number(ts):
                    entry["ts"] = ts
            else:
                continue  # a change for a number this session does not know: ignored
            changed[n] = None
        removed: list[str] = []
        for n in _list(batch.get("gone")):
            entry = self.entries.pop(n, None) if _is_int(n) and n != self.you else None
            if entry is not None:
                changed.pop(n, None)
                removed.append(entry["session"])
        numbers = list(self.entries) if reset else list(changed)
        updates = [{**self.entries[n], "state": dict(self.entries[n]["state"])} for n in numbers]
        if not (updates or removed or reset):
            return None
        event: dict[str, Any] = {"room": batch.get("room"), "updates": updates, "removed": removed}
        if reset:
            event["reset"] = True
        return event


class _Room:
    """What the client remembers of a room it joined: which ``seq``s it has delivered (to drop
    repeats), whether it is joined on the current connection, and (protocol 1.2) its presence.

    :param name: the room's name.
    :param floor: every ``seq`` up to this one counts as delivered (the room's ``last_seq``
        when it was joined: older messages are the join's history, not callbacks' business).
    """

    def __init__(self, name: str, floor: int = 0) -> None:
        self.name = name
        self.floor = floor
        self.top = floor
        self.seen: set[int] = set()
        self.joined = False
        self.catching_up = False
        self.held: dict[int, dict[str, Any]] = {}
        self.lock = asyncio.Lock()
        #: Set from each join acknowledgement on this connection, before any later event is
        #: read; None while not joined, or when the server sends 1.1 presence batches.
        self.presence: CompactPresence | None = None

    def answered(self, ack: Any) -> None:
        """A join acknowledgement came (called before the events that follow it are read)."""
        self.presence = CompactPresence.from_ack(ack)

    def delivered(self, seq: int) -> bool:
        return seq <= self.floor or seq in self.seen

    def mark(self, seq: int) -> None:
        self.seen.add(seq)
        self.top = max(self.top, seq)
        if len(self.seen) > SEEN_KEPT:
            kept = sorted(self.seen)[-SEEN_KEPT // 2 :]
            self.floor = max(self.floor, kept[0] - 1)
            self.seen = set(kept)

    def raise_floor(self, seq: int) -> None:
        self.floor = max(self.floor, seq)
        self.top = max(self.top, seq)
        self.seen = {s for s in self.seen if s > self.floor}


class CollabClient:
    """One Socket.IO connection to a Jupyter server running collab-widget, re-established by
    itself when it breaks.

    :param url: the server URL with its base URL, e.g. ``http://127.0.0.1:8888/user/ada/``.
    :param token: a Jupyter API token, sent as ``Authorization: token ...``.
    :param headers: further HTTP headers (e.g. ``Cookie`` and ``X-XSRFToken`` for cookie auth).
    :param transports: ``["websocket"]``, ``["polling"]`` or both (the default: polling first,
        then upgrade, as browsers do).
    :param timeout: seconds to wait for each acknowledgement (and for the connection).
    :param reconnection: reconnect by itself after the connection is lost (for any reason but
        :meth:`disconnect`), re-join the rooms joined with :meth:`join` and re-send the
        messages :meth:`send` has not had acknowledged. ``False``: a lost connection stays
        lost until :meth:`connect` (which then re-joins the rooms), and a ``send`` whose
        connection is lost raises.
    :param reconnection_delay: seconds before the first reconnection attempt; each failed
        attempt doubles it (with +-25 % jitter).
    :param reconnection_delay_max: the longest wait between two attempts, in seconds.
    :param send_timeout: seconds a :meth:`send` keeps trying (through reconnects, timeouts and
        retryable refusals) before it raises ``CollabError("timeout", ...)``.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        headers: Mapping[str, str] | None = None,
        transports: list[str] | None = None,
        timeout: float = 10.0,
        reconnection: bool = True,
        reconnection_delay: float = 0.5,
        reconnection_delay_max: float = 5.0,
        send_timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(url)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        base = parts.path if parts.path.endswith("/") else parts.path + "/"
        self.socketio_path = base + SOCKETIO_PATH
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = f"token {token}"
        self.transports = transports
        self.timeout = timeout
        self.reconnection = reconnection
        self.reconnection_delay = reconnection_delay
        self.reconnection_delay_max = max(reconnection_delay_max, reconnection_delay)
        self.send_timeout = send_timeout
        #: Successful reconnects (the first connection not counted).
        self.reconnects = 0
        #: Sends emitted again after a failure (lost connection, no answer, a retryable refusal).
        self.resent = 0
        # Reconnection is this class's own loop (``_supervise``), not python-socketio's: that
        # one does not reconnect after a server-side disconnect (a server restart's clean
        # shutdown, the output cap), which the browser does, and knows nothing of rooms; here
        # one task reconnects, re-joins and catches up before the waiting sends go again.
        self.sio = socketio.AsyncClient(
            reconnection=False, handle_sigint=False, http_session=self._http_session
        )
        # The session is ours, for the client's whole life: python-engineio must not close it
        # when a connection ends (it would, for a session it made from a factory).
        self.sio.eio.external_http = True
        self._http: aiohttp.ClientSession | None = None
        self._cookies: aiohttp.CookieJar | None = None
        self._handlers: dict[str, list[Callable[..., Any]]] = {}
        self._rooms: dict[str, _Room] = {}
        self._pending: dict[str, _Room] = {}  # rooms whose first join awaits its answer
        self._join_acks: dict[str, dict[str, Any]] = {}
        self._up = False  # connected, and the loss of this connection not yet handled
        self._closed = True  # disconnect() was called (or connect() never was)
        self._lost = asyncio.Event()  # set when the current connection is lost
        self._changed = asyncio.Event()  # replaced on every change waiters care about
        self._wake = asyncio.Event()  # the supervisor has something to do
        self._supervisor: asyncio.Task[None] | None = None
        self.sio.on("disconnect", self._on_sio_disconnect)
        self.sio.on("message", self._on_message)
        self.sio.on("presence", self._on_presence)
        self.sio.on("service", self._on_service)
        #: On a JupyterHub with the class service: ``connected``, ``reconnecting`` (the
        #: server lost the service; rooms are re-joined when it is back) or ``refused``;
        #: None on a server whose rooms are its own.
        self.service_state: str | None = None

    def _http_session(self) -> aiohttp.ClientSession:
        # One session and cookie jar for every connection of this client: an anonymous user
        # of a shared-token server (identified by Jupyter's login cookie) comes back as the
        # same user after a reconnect, so a re-sent message is deduplicated. python-engineio
        # sends custom headers with the handshake only; a browser sends its headers (token,
        # X-XSRFToken) with every polling request, and so does this session. Cookies are kept
        # also for IP-address hosts (aiohttp drops them by default), as in a browser.
        if self._http is None or self._http.closed:
            if self._cookies is None:
                self._cookies = aiohttp.CookieJar(unsafe=True)
            if _middlewares_supported():
                self._http = aiohttp.ClientSession(
                    headers=self.headers,
                    cookie_jar=self._cookies,
                    middlewares=(_no_silent_retry,),
                )
            else:  # aiohttp < 3.12: no middlewares; switch the retry off directly
                self._http = aiohttp.ClientSession(headers=self.headers, cookie_jar=self._cookies)
                if hasattr(self._http, "_retry_connection"):
                    self._http._retry_connection = False
        return self._http

    async def __aenter__(self) -> CollabClient:
        await self.connect()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.disconnect()

    # -- connection --------------------------------------------------------------------------
    async def connect(self) -> None:
        """Connect, and re-join the rooms this client still remembers (after a connection
        lost with ``reconnection=False``); raises ``socketio.exceptions.ConnectionError``
        when refused. With ``reconnection``, the client then stays connected by itself until
        :meth:`disconnect`."""
        if self._supervisor is not None and not self._supervisor.done():
            await self.wait_connected(self.timeout)
            return
        self._closed = False
        await self._open()
        if self.reconnection:
            self._supervisor = asyncio.ensure_future(self._supervise())
        else:
            await self._rejoin_rooms()

    async def disconnect(self) -> None:
        """Disconnect for good: stop reconnecting, forget the rooms, close the HTTP session.
        Sends still waiting raise ``CollabError("not_connected", ...)``."""
        self._closed = True
        self._rooms.clear()
        self._join_acks.clear()
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None and not supervisor.done():
            supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervisor
        if self.sio.connected:
            await self.sio.disconnect()
        elif self.sio.eio.state != "disconnected":
            await self.sio.eio.disconnect(abort=True)
        await self._mark_lost("client disconnect")
        if self._http is not None and not self._http.closed:
            await self._http.close()
        self._notify()

    @property
    def connected(self) -> bool:
        return self._up and bool(self.sio.connected)

    @property
    def transport(self) -> str | None:
        return self.sio.transport() if self.connected else None

    @property
    def joined_rooms(self) -> list[str]:
        """The rooms joined with :meth:`join` (and not left): re-joined after a reconnect."""
        return list(self._rooms)

    def join_ack(self, room: str) -> dict[str, Any] | None:
        """The latest join acknowledgement of ``room`` (a re-join's, after a reconnect: its
        ``you`` shows who the server took this client for), or None.

        :param room: a room joined with :meth:`join`.
        """
        return self._join_acks.get(room)

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until connected with every room re-joined and caught up; raises
        :class:`NoAnswer` (``timeout``) after ``timeout`` seconds.

        :param timeout: seconds to wait; None for ``timeout`` given to the constructor.
        """
        deadline = self._deadline(self.timeout if timeout is None else timeout)
        while not self._ready():
            if self._closed:
                raise NoAnswer("not_connected", "the client is disconnected")
            await self._wait_change(deadline, "connected and re-joined")

    def on(self, event: str, handler: Callable[..., Any]) -> None:
        """Call ``handler`` for an event; it may be a coroutine function. Several handlers of
        one event are called in the order they were added.

        Server events: ``message`` (each message of a room joined with :meth:`join` once,
        in ``seq`` order, also those missed while disconnected), ``joined``, ``left``,
        ``presence`` (always ``{room, updates, removed, reset?}``, each update a whole entry
        ``{session, user, state, ts}`` of another session: a protocol 1.2 server's compact
        batches are decoded into that form), ``service`` (on a JupyterHub: the server's link
        to the class service, ``{"state": ...}``), ``connect_error``. The client's own:
        ``connect`` (every (re)connect), ``disconnect`` (with the reason), ``rejoin`` (a room
        re-joined and caught up after a reconnect, with its join acknowledgement).

        :param event: the event's name.
        :param handler: called with the event's data.
        """
        if event not in self._handlers:
            self._handlers[event] = []
            if event not in LOCAL_EVENTS and event not in ("message", "presence", "service"):
                self.sio.on(event, self._dispatcher(event))
        self._handlers[event].append(handler)

    def _dispatcher(self, event: str) -> Callable[..., Any]:
        async def dispatch(*args: Any) -> None:
            await self._emit_local(event, *args)

        return dispatch

    async def _emit_local(self, event: str, *args: Any) -> None:
        for handler in list(self._handlers.get(event, ())):
            call_args = args
            if event == "disconnect" and args:
                try:
                    inspect.signature(handler).bind(*args)
                except TypeError:
                    call_args = ()  # a disconnect handler without the reason, as socketio allows
                except ValueError:
                    pass  # no signature to check
            try:
                result = handler(*call_args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                log.exception("collab client: the %r handler %r failed", event, handler)

    # -- protocol v1 -------------------------------------------------------------------------
    async def call(self, event: str, data: Any = None) -> Any:
        """Emit ``event`` and return the raw acknowledgement, whatever it says; raises
        :class:`NoAnswer` when none comes within ``timeout`` or the connection is lost first.

        :param event: the event's name.
        :param data: its payload.
        """
        return await self._ack(event, data, self.timeout)

    async def request(self, event: str, data: Any) -> dict[str, Any]:
        """Emit ``event``; return the acknowledgement, or raise :class:`CollabError`.

        :param event: the event's name.
        :param data: its payload.
        """
        return self._checked(await self.call(event, data))

    async def join(self, room: str, since: int | None = None) -> dict[str, Any]:
        """Join ``room``; returns ``{room, you, members, history, has_more, last_seq, ...}``.

        ``history`` is one page: the newest messages (``has_more``: older ones exist), or
        with ``since`` the oldest ones after it (``has_more``: page on with
        :meth:`catch_up`, or ``history(room, after=...)``). The client remembers the room: it
        re-joins it after every reconnect, and from now on hands each of its messages (those
        after ``last_seq``) to the ``message`` callbacks once.

        :param room: the room's name.
        :param since: the last ``seq`` the caller has, for the page after it.
        """
        state = self._rooms.get(room)
        if state is not None and not state.joined and self.connected:
            # Remembered but not re-joined yet: catch up first, or messages would be skipped.
            await self._rejoin(state)
        data: dict[str, Any] = {"room": room, "protocol": PROTOCOL}
        if since is not None:
            data["since"] = since
        if state is None:
            # Live messages that arrive ahead of the ack count as delivered (a pending room is
            # not one to re-join yet).
            state = self._pending[room] = self._pending.get(room) or _Room(room)
            try:
                ack = self._checked(await self._ack("join", data, self.timeout, state.answered))
            finally:
                if self._pending.get(room) is state:
                    del self._pending[room]
            last_seq = ack.get("last_seq")
            if isinstance(last_seq, int):
                state.raise_floor(last_seq)
            if room not in self._rooms:
                state.joined = self.connected
                self._rooms[room] = state
            self._notify()
        else:
            ack = self._checked(await self._ack("join", data, self.timeout, state.answered))
        self._join_acks[room] = ack
        return ack

    async def catch_up(self, room: str, since: int) -> list[dict[str, Any]]:
        """Every message of ``room`` after ``since``, oldest first, page by page.

        :param room: a joined room.
        :param since: the last ``seq`` the caller has.
        """
        messages: list[dict[str, Any]] = []
        has_more = True
        while has_more:
            page, has_more = await self.history(room, after=since)
            messages.extend(page)
            if not page:
                break
            since = page[-1]["seq"]
        return messages

    async def leave(self, room: str) -> None:
        """Leave ``room``, and stop re-joining it.

        :param room: the room's name.
        """
        self._rooms.pop(room, None)
        self._join_acks.pop(room, None)
        self._notify()
        await self.request("leave", {"room": room})

    async def send(self, room: str, text: str, client_id: str | None = None) -> dict[str, Any]:
        """Send a chat message; returns the stored Message (with its ``seq``).

        When the connection is lost before the acknowledgement, or none comes in time, the
        message is sent again with the same ``client_id`` (after the reconnect and re-join),
        which the server stores once; ``rate_limited``, ``unavailable``, ``not_connected``
        and, for a room being re-joined, ``not_joined`` are retried after the delay the server
        gives. Raises ``CollabError("timeout", ...)`` (a :class:`NoAnswer`) when
        ``send_timeout`` passes first, :class:`CollabError` for any other refusal.

        :param room: a joined room.
        :param text: the message.
        :param client_id: this message's id (1-64 characters); a new one when None. Sending
            again with the same id returns the stored message and stores nothing.
        """
        client_id = client_id or uuid.uuid4().hex
        payload = {"room": room, "text": text, "client_id": client_id}
        deadline = self._deadline(self.send_timeout)
        delay = self.reconnection_delay
        attempts = 0
        last = "no answer"
        while True:
            await self._until_sendable(room, deadline, last)
            if attempts:
                self.resent += 1
            attempts += 1
            remaining = max(deadline - self._now(), 0.001)
            try:
                ack = await self._ack("send", payload, min(self.timeout, remaining))
            except NoAnswer as exc:
                if not self.reconnection and not self.connected:
                    raise
                last = exc.message
                if exc.code == "not_connected" and self.connected:
                    # The connection is going but not gone yet: do not spin meanwhile.
                    await asyncio.sleep(min(0.1, self.reconnection_delay))
                continue
            if isinstance(ack, dict) and ack.get("ok"):
                message = ack["message"]
                if room in self._rooms:  # delivered now if its event was lost
                    await self._on_message(message)
                return message
            error = ack.get("error") if isinstance(ack, dict) else None
            error = error if isinstance(error, dict) else {}
            code = str(error.get("code", "bad_ack"))
            retryable = code in RETRYABLE and (code != "not_joined" or room in self._rooms)
            if not retryable:
                raise CollabError(code, str(error.get("message", repr(ack))), error)
            last = f"{code}: {error.get('message', '')}"
            if code == "not_joined":
                self._need_rejoin(room)
            retry_after = error.get("retry_after")
            if isinstance(retry_after, (int, float)) and retry_after > 0:
                wait = float(retry_after)
            else:
                wait, delay = delay, min(delay * 2, self.reconnection_delay_max)
            if self._now() + wait >= deadline:
                raise NoAnswer("timeout", f"not sent within {self.send_timeout} s ({last})")
            await asyncio.sleep(wait)

    async def history(
        self,
        room: str,
        before: int | None = None,
        limit: int | None = None,
        after: int | None = None,
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of messages, oldest first, and whether there are more: the newest ones
        before ``before`` (older pages), or with ``after`` the oldest ones after it.

        :param room: a joined room.
        :param before: page back from this ``seq`` (exclusive).
        :param limit: at most this many messages (1-200; the server's page size if None).
        :param after: page forward from this ``seq`` (exclusive).
        """
        data: dict[str, Any] = {"room": room}
        if before is not None:
            data["before"] = before
        if after is not None:
            data["after"] = after
        if limit is not None:
            data["limit"] = limit
        ack = await self.request("history", data)
        return ack["messages"], ack["has_more"]

    async def presence(self, room: str, state: dict[str, Any] | None) -> None:
        """Set (or, with None, clear) this connection's presence in ``room``.

        :param room: a joined room.
        :param state: the presence state (see docs/protocol.md), or None.
        """
        await self.request("presence", {"room": room, "state": state})

    async def rooms(self) -> list[dict[str, Any]]:
        """The server's rooms with members: ``[{room, members, last_seq, joined}]``."""
        return (await self.request("rooms", {}))["rooms"]

    # -- acknowledgements ----------------------------------------------------------------------
    @staticmethod
    def _checked(ack: Any) -> dict[str, Any]:
        if not isinstance(ack, dict) or not ack.get("ok"):
            error = ack.get("error", {}) if isinstance(ack, dict) else {}
            raise CollabError(error.get("code", "bad_ack"), error.get("message", repr(ack)), error)
        return ack

    async def _ack(
        self,
        event: str,
        data: Any,
        timeout: float,
        answered: Callable[[Any], None] | None = None,
    ) -> Any:
        """Emit ``event`` and wait for its acknowledgement; unlike ``sio.call``, give up as
        soon as the connection is lost (its acknowledgement cannot come any more).

        :param answered: called with the acknowledgement as soon as it is read, before the
            events the server sent after it (the caller resumes only later).
        """
        if not self.connected:
            raise NoAnswer("not_connected", f"not connected (to send {event!r})")
        lost = self._lost
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def callback(*args: Any) -> None:
            if not answer.done():
                result = args[0] if len(args) == 1 else (args or None)
                if answered is not None:
                    answered(result)
                answer.set_result(result)

        try:
            await self.sio.emit(event, data, callback=callback)
        except socketio.exceptions.BadNamespaceError as exc:
            raise NoAnswer("not_connected", f"not connected (to send {event!r})") from exc
        waiting_for_loss = asyncio.ensure_future(lost.wait())
        try:
            await asyncio.wait(
                {answer, waiting_for_loss}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            waiting_for_loss.cancel()
        if answer.done():
            return answer.result()
        answer.cancel()
        if lost.is_set():
            raise NoAnswer(
                "not_connected", f"the connection was lost before {event!r} was answered"
            )
        raise NoAnswer("timeout", f"no answer to {event!r} within {timeout:g} s")

    # -- messages --------------------------------------------------------------------------
    async def _on_message(self, message: Any) -> None:
        """A ``message`` event (or a send's acknowledged message): to the callbacks once."""
        room = message.get("room") if isinstance(message, dict) else None
        state = None
        if isinstance(room, str):
            state = self._rooms.get(room) or self._pending.get(room)
        if state is None:
            await self._emit_local("message", message)  # not a room of join(): as it comes
            return
        seq = message.get("seq")
        if state.catching_up and isinstance(seq, int):
            state.held[seq] = message  # after the missed ones, in order
            return
        await self._deliver(state, message)

    async def _on_presence(self, batch: Any = None) -> None:
        """A ``presence`` event: a 1.1 batch goes to the callbacks as it is; a compact (1.2)
        one updates its room's presence and goes to them in the 1.1 form, or not at all when
        it is not about another session, or its room is not joined (yet: the acknowledgement's
        snapshot is newer; or any more)."""
        if isinstance(batch, dict) and "set" in batch:
            room = batch.get("room")
            state = (
                self._rooms.get(room) or self._pending.get(room) if isinstance(room, str) else None
            )
            if state is None or state.presence is None:
                return
            batch = state.presence.apply(batch)
            if batch is None:
                return
        await self._emit_local("presence", batch)

    async def _deliver(self, state: _Room, message: dict[str, Any]) -> None:
        seq = message.get("seq")
        if isinstance(seq, int) and not isinstance(seq, bool):
            if state.delivered(seq):
                return
            state.mark(seq)
        await self._emit_local("message", message)

    # -- reconnection ----------------------------------------------------------------------
    async def _open(self) -> None:
        """One connection attempt (the handshake and the Socket.IO connect)."""
        await self.sio.connect(
            self.origin,
            headers=dict(self.headers),  # python-engineio edits the dict it is given
            transports=self.transports,
            socketio_path=self.socketio_path,
            wait_timeout=self.timeout,
        )
        self._lost = asyncio.Event()
        self._up = True
        self._notify()
        await self._emit_local("connect")

    async def _on_sio_disconnect(self, reason: Any = None) -> None:
        await self._mark_lost(reason)

    async def _mark_lost(self, reason: Any) -> None:
        """The current connection is gone (whoever noticed first): wake whoever waits on it,
        forget what was joined on it, tell the ``disconnect`` callbacks once."""
        if not self._up:
            return
        self._up = False
        self._lost.set()
        self._forget_joins()
        self._notify()
        if not self._closed:
            log.info("collab client: disconnected (%s)", reason)
        await self._emit_local("disconnect", reason)

    async def _on_service(self, data: Any = None) -> None:
        """The server's link to the class service changed: when it went, the rooms are
        gone there; when it is back, they are re-joined with ``since`` (and caught up)."""
        state = data.get("state") if isinstance(data, dict) else None
        if not isinstance(state, str):
            return
        previous, self.service_state = self.service_state, state
        if state == "reconnecting" or (state == "connected" and previous == "reconnecting"):
            log.info("collab client: the class service is %s", state)
            self._forget_joins()
            self._notify()
        await self._emit_local("service", data)

    def _forget_joins(self) -> None:
        """No room is joined any more (the connection or the class service went): wake the
        supervisor to re-join them all with ``since``."""
        for state in self._rooms.values():
            state.joined = False
            state.catching_up = False
            state.presence = None  # the next join acknowledgement brings it again
            state.held.clear()  # not delivered: the re-join's catch-up brings them in order
        self._wake.set()

    def _need_rejoin(self, room: str) -> None:
        state = self._rooms.get(room)
        if state is not None and state.joined:
            state.joined = False
            self._wake.set()
            self._notify()

    async def _supervise(self) -> None:
        """The client's life while ``reconnection`` is on: keep it connected with every room
        joined; reconnect with backoff whenever the connection goes, whatever the reason."""
        delay = self.reconnection_delay
        try:
            while not self._closed:
                if not self._up:
                    await asyncio.sleep(delay * random.uniform(0.75, 1.25))
                    delay = min(delay * 2, self.reconnection_delay_max)
                    try:
                        await self._open()
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # refused, unreachable, or a half-torn state
                        log.debug("collab client: reconnection attempt failed: %r", exc)
                        continue
                    self.reconnects += 1
                    delay = self.reconnection_delay
                    log.info("collab client: reconnected (%s)", self.transport)
                self._wake.clear()
                try:
                    await self._rejoin_rooms()
                    await self._watch()
                except NoAnswer:
                    if self._up:  # the connection is going but not gone yet
                        await self._watch()
                    continue  # lost again: the loop reconnects
                except asyncio.CancelledError:
                    raise
                except Exception:  # a bug: log it, keep the client alive
                    log.exception("collab client: re-joining failed")
                    await asyncio.sleep(delay)
        finally:
            if not self._closed and self._http is not None and not self._http.closed:
                # Cancelled from outside (the event loop is closing): do not leak the session.
                with contextlib.suppress(Exception):
                    await self._http.close()

    async def _watch(self) -> None:
        """Return when the connection is lost or a room needs a re-join. Also notice a
        transport python-engineio left half-dead: its writer gone (a failed polling POST
        leaves the long-poll waiting for up to ping_interval) or its reader dead."""
        strikes = 0
        while self._up and not self._closed:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 1.0)
            if self._wake.is_set():
                return
            strikes = strikes + 1 if self._transport_broken() else 0
            if strikes >= 2:
                log.info("collab client: the transport stopped working; reconnecting")
                await self._abort_transport()
                return

    def _transport_broken(self) -> bool:
        eio = self.sio.eio
        if not self.sio.connected or eio.state != "connected" or eio.write_loop_task is None:
            return True
        reader = eio.read_loop_task
        return reader is not None and reader.done()

    async def _abort_transport(self) -> None:
        eio = self.sio.eio
        loops = [eio.read_loop_task, eio.write_loop_task]
        if eio.state == "connected":
            with contextlib.suppress(Exception):
                await asyncio.wait_for(eio.disconnect(abort=True), self.timeout)
        for task in loops:
            if task is not None and not task.done():
                task.cancel()  # a reader still in its long-poll would poll the next session
        if eio.state != "disconnected":
            with contextlib.suppress(Exception):
                await eio.disconnect(abort=True)
        self.sio.connected = False
        self.sio.namespaces = {}
        await self._mark_lost("transport stopped working")

    async def _rejoin_rooms(self) -> None:
        """Re-join every remembered room not joined on this connection; NoAnswer when the
        connection is lost meanwhile."""
        for state in list(self._rooms.values()):
            if not state.joined and self._rooms.get(state.name) is state:
                await self._rejoin(state)
        self._notify()

    async def _rejoin(self, state: _Room) -> None:
        """Join ``state``'s room with ``since`` (the last ``seq`` delivered), page forward
        while there is more, hand each missed message to the callbacks once, then the live
        ones that came meanwhile. Retries refusals worth retrying while connected."""
        async with state.lock:
            delay = self.reconnection_delay
            while not state.joined and self._rooms.get(state.name) is state:
                state.catching_up = True
                state.held.clear()
                since = state.top
                try:
                    ack = await self._ack(
                        "join",
                        {"room": state.name, "since": since, "protocol": PROTOCOL},
                        self.timeout,
                        state.answered,
                    )
                except NoAnswer as exc:
                    state.catching_up = False
                    if exc.code == "not_connected":
                        raise
                    continue  # no answer in time: ask again
                if not (isinstance(ack, dict) and ack.get("ok")):
                    state.catching_up = False
                    error = ack.get("error") if isinstance(ack, dict) else None
                    error = error if isinstance(error, dict) else {}
                    code = error.get("code")
                    if code not in ("rate_limited", "unavailable", "not_connected"):
                        log.warning(
                            "collab client: could not re-join %r (%s); forgetting it",
                            state.name,
                            error.get("message", ack),
                        )
                        self._rooms.pop(state.name, None)
                        self._notify()
                        return
                    delay = await self._pause(error, delay)
                    continue
                state.joined = True
                self._join_acks[state.name] = ack
                self._notify()  # sends waiting for the room may go
                try:
                    await self._catch_up(state, ack)
                finally:
                    state.catching_up = False
                    held, state.held = state.held, {}
                if not state.joined:  # the membership went during the catch-up
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, self.reconnection_delay_max)
                    continue  # again, from the last seq delivered
                for seq in sorted(held):
                    await self._deliver(state, held[seq])
                self._notify()
                await self._emit_local("rejoin", ack)

    async def _catch_up(self, state: _Room, ack: dict[str, Any]) -> None:
        """Deliver the re-join's page, then page forward with ``history {after}``."""
        page: list[dict[str, Any]] = list(ack.get("history") or [])
        more = bool(ack.get("has_more"))
        after = state.top
        delay = self.reconnection_delay
        while True:
            for message in page:
                if isinstance(message, dict):
                    await self._deliver(state, message)
            last = page[-1].get("seq") if page and isinstance(page[-1], dict) else None
            if not more or not page or not isinstance(last, int):
                return
            after = max(after, last)
            page = []
            while not page:
                try:
                    answer = await self._ack(
                        "history", {"room": state.name, "after": after}, self.timeout
                    )
                except NoAnswer as exc:
                    if exc.code == "not_connected":
                        raise
                    continue  # no answer in time: ask again
                if isinstance(answer, dict) and answer.get("ok"):
                    page = list(answer.get("messages") or [])
                    more = bool(answer.get("has_more"))
                    if not page:
                        return
                    break
                error = answer.get("error") if isinstance(answer, dict) else None
                error = error if isinstance(error, dict) else {}
                code = error.get("code")
                if code == "not_joined":
                    state.joined = False  # re-joined from what was delivered
                    return
                if code not in ("rate_limited", "unavailable"):
                    log.warning(
                        "collab client: could not catch up in %r (%s)",
                        state.name,
                        error.get("message", answer),
                    )
                    return
                delay = await self._pause(error, delay)

    async def _pause(self, error: Mapping[str, Any], delay: float) -> float:
        """Wait before a retry: the server's ``retry_after`` when it gave one, else ``delay``;
        returns the next delay (doubled, up to ``reconnection_delay_max``, after a wait of its
        own)."""
        retry_after = error.get("retry_after")
        if isinstance(retry_after, (int, float)) and retry_after > 0:
            await asyncio.sleep(float(retry_after))
            return delay
        await asyncio.sleep(delay)
        return min(delay * 2, self.reconnection_delay_max)

    # -- waiting ---------------------------------------------------------------------------
    def _ready(self) -> bool:
        return self.connected and all(
            state.joined and not state.catching_up for state in self._rooms.values()
        )

    async def _until_sendable(self, room: str, deadline: float, last: str) -> None:
        """Wait until connected with ``room`` joined (when it is a room of :meth:`join`)."""
        while True:
            if self._closed:
                raise CollabError("not_connected", "the client is disconnected")
            state = self._rooms.get(room)
            if self.connected and (state is None or state.joined):
                return
            if not self.connected and not self.reconnection:
                raise NoAnswer("not_connected", "not connected (reconnection is off)")
            if self._now() >= deadline:
                raise NoAnswer("timeout", f"not sent within {self.send_timeout} s ({last})")
            await self._wait_change(deadline, "sent")

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def _wait_change(self, deadline: float, what: str) -> None:
        remaining = deadline - self._now()
        if remaining <= 0:
            raise NoAnswer("timeout", f"not {what} in time")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._changed.wait(), min(remaining, 1.0))

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _deadline(self, seconds: float) -> float:
        return self._now() + seconds
