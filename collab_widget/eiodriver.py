"""python-engineio's tornado driver, with a small fixed cost per connection.

python-engineio serves a WebSocket with three tasks that mostly wait: a reader that starts a
task and a ``wait_for`` per message, a writer parked in ``wait_for(queue.get())`` (a fourth
task), and a ping task asleep for ``ping_interval``; with two ``asyncio.Queue`` (three deques
and an Event each) and the request's WSGI ``environ`` (every header, and a class built per
request) kept for the session's life. That is most of what an idle connection costs (about
25 KB of ~48 KB). Here, for the same protocol and the same python-engineio session objects:

- :class:`LeanQueue` is the session's packet queue (``server.create_queue``): the part of
  ``asyncio.Queue`` python-engineio and :mod:`.fanout` use, storage only while it holds
  something. Once the session's WebSocket is up it writes through: a packet put is written
  to the WebSocket at once, in order (what the writer task did, without the task).
- :class:`Inbox` is the handler's ``receive_queue``: once the WebSocket is up, a message is
  handled where tornado hands it over (``on_message``, which tornado awaits before it reads
  the next frame), one at a time and in order, as python-engineio's reader did; a client
  that sends faster than its events are handled waits in TCP instead of in a queue.
- :class:`WebSocket` (the driver's ``websocket``) starts the session over them: the same
  upgrade handshake, packet size limit, inactivity timeout (``ping_interval +
  ping_timeout`` without a message) and end of session as ``AsyncSocket._websocket_handler``,
  held by a :class:`Carrier` instead of a coroutine. python-engineio's request task ends
  once the session runs; the connection's own tornado task (which the handler's ``prepare``
  has :class:`~.shutdown.ConnectionTracker` track) lasts as long as the WebSocket, and the
  end of the session runs in a task of the server's (``start_background_task``).
- pings are timers (``loop.call_later``) instead of a task asleep per connection.
- each running :class:`Carrier` is listed by session id in the server's :data:`Carriers`
  (given to :func:`install`): the fan-out writes a frame built once for a whole room through
  :meth:`Carrier.write_frame`, which touches one small object per recipient.
- :func:`translate_request` builds the same ``environ`` without a class per request, and
  :func:`slim_environ` keeps only what is read after the handshake; the handler is asked to
  drop what it kept of the HTTP request (``release_request``).

:func:`install` puts these on one Engine.IO server (never on python-engineio's module-level
driver, which other servers in the process share). Anything unexpected (another handler
class, a queue that is not ours) takes python-engineio's own code path.
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from engineio import exceptions, packet
from engineio.async_socket import AsyncSocket
from tornado.iostream import StreamClosedError

#: What :func:`slim_environ` keeps: the handler (identity, the session's owner, its stream).
KEPT_ENVIRON = ("tornado.handler", "REQUEST_METHOD", "PATH_INFO", "REMOTE_ADDR")

#: The context the timers run in: an empty one, not a copy of the current task's (which
#: would keep that request's handler, through Jupyter's CallContext, as long as the timer).
TIMER_CONTEXT = contextvars.Context()

#: Session id -> the :class:`Carrier` of each session a WebSocket carries now.
Carriers = dict[str, "Carrier"]

_EMPTY: tuple[Any, ...] = ()
#: ``LeanQueue._getters`` while a WebSocket writes through: a consumer is always waiting.
_WRITING: tuple[bool, ...] = (True,)


class Sink(Protocol):
    """What :meth:`LeanQueue.write_through` hands items to."""

    def write(self, item: Any) -> None: ...


class _Discard:
    """A sink that drops what it is given."""

    __slots__ = ()

    def write(self, item: Any) -> None:
        pass


_DISCARD = _Discard()


class LeanQueue:
    """A FIFO with the interface of ``asyncio.Queue`` that python-engineio and the fan-out
    use (``put``, ``put_nowait``, ``get``, ``get_nowait``, ``task_done``, ``join``,
    ``qsize``, ``empty``; ``_queue`` and ``_getters`` as the fan-out reads them), unbounded.

    It holds no storage while empty. With a sink attached (:meth:`write_through`) each item
    put goes to the sink at once, in order, and counts as done.
    """

    __slots__ = ("_getters", "_joiners", "_queue", "_sink", "_unfinished")

    def __init__(self) -> None:
        self._queue: deque[Any] | tuple[Any, ...] = _EMPTY
        #: Consumers waiting in :meth:`get` (``_WRITING`` while writing through).
        self._getters: list[asyncio.Future[None]] | tuple[Any, ...] = _EMPTY
        self._joiners: list[asyncio.Future[None]] | tuple[Any, ...] = _EMPTY
        self._unfinished = 0
        self._sink: Sink | None = None

    maxsize = 0

    def qsize(self) -> int:
        return len(self._queue)

    def empty(self) -> bool:
        return not self._queue

    def full(self) -> bool:
        return False

    def put_nowait(self, item: Any) -> None:
        if self._sink is not None:
            self._sink.write(item)
            return
        if not self._queue:
            self._queue = deque()
        self._queue.append(item)  # type: ignore[union-attr]
        self._unfinished += 1
        for getter in self._getters:
            if not getter.done():
                getter.set_result(None)
                break

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._queue:
            raise asyncio.QueueEmpty
        item = self._queue.popleft()  # type: ignore[union-attr]
        if not self._queue:
            self._queue = _EMPTY  # the deque (~760 bytes) is not kept while idle
        return item

    async def get(self) -> Any:
        while not self._queue:
            if self._sink is not None:
                raise RuntimeError("a queue that writes through has no consumer")
            if not self._getters:
                self._getters = []
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)  # type: ignore[union-attr]
            try:
                await getter
            finally:
                getters = self._getters
                if getter in getters:
                    getters.remove(getter)  # type: ignore[union-attr]
                if not getters and getters is not _WRITING:
                    self._getters = _EMPTY
            if self._queue and getter.cancelled():  # pass the wake-up on
                for other in self._getters:
                    if not other.done():
                        other.set_result(None)
                        break
        return self.get_nowait()

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._release_joiners()

    async def join(self) -> None:
        if self._unfinished:
            if not self._joiners:
                self._joiners = []
            joiner = asyncio.get_running_loop().create_future()
            self._joiners.append(joiner)  # type: ignore[union-attr]
            await joiner

    def _release_joiners(self) -> None:
        joiners, self._joiners = self._joiners, _EMPTY
        for joiner in joiners:
            if not joiner.done():
                joiner.set_result(None)

    def discard(self) -> None:
        """From now on drop every item put (the session's output has ended); the sink that
        wrote through is let go."""
        self._queue = _EMPTY
        self._unfinished = 0
        self._release_joiners()
        self._sink = _DISCARD
        self._getters = _EMPTY

    def write_through(self, sink: Sink) -> None:
        """Hand what is queued, then every item put, to ``sink`` (in order)."""
        while self._queue:
            item = self.get_nowait()
            self._unfinished -= 1
            sink.write(item)
        self._unfinished = 0
        self._release_joiners()
        self._sink = sink
        self._getters = _WRITING


class Inbox:
    """A tornado handler's ``receive_queue`` (python-engineio's driver puts each WebSocket
    message in it, and None when the connection closed).

    Until :meth:`attach`, messages wait here for :meth:`get` (the upgrade handshake reads
    them). After, each one is handed to the reader where it is put: ``put`` returns when it
    was handled, one message at a time, in order; a message put while another is handled
    waits here and is handled right after it. The end (a None put, a reader that returns
    False, or :meth:`end`) calls the reader's ``ended`` once.
    """

    __slots__ = ("_busy", "_ended", "_getter", "_items", "_reader", "last")

    def __init__(self) -> None:
        self._items: deque[Any] | tuple[Any, ...] = _EMPTY
        self._getter: asyncio.Future[None] | None = None
        self._reader: Reader | None = None
        self._busy = False
        self._ended = False
        #: Event loop time of the last message handled.
        self.last = 0.0

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    @property
    def _getters(self) -> tuple[Any, ...]:
        """Non-empty while a reader waits for the next message (as in ``asyncio.Queue``):
        a handshake in :meth:`get`, or an attached reader that is handling nothing."""
        waiting = self._getter is not None or (
            self._reader is not None and not self._busy and not self._ended
        )
        return _WRITING if waiting else _EMPTY

    @property
    def busy(self) -> bool:
        """Whether a message is being handled."""
        return self._busy

    def _append(self, message: Any) -> None:
        if not self._items:
            self._items = deque()
        self._items.append(message)  # type: ignore[union-attr]

    def _pop(self) -> Any:
        message = self._items.popleft()  # type: ignore[union-attr]
        if not self._items:
            self._items = _EMPTY
        return message

    def put_nowait(self, message: Any) -> None:
        if self._ended:
            return
        if self._reader is None or self._busy:
            self._append(message)
            if self._getter is not None and not self._getter.done():
                self._getter.set_result(None)
        elif message is None:
            self.end()
        else:  # not from tornado's read loop (which awaits put): handled in a task
            self._append(message)
            self._busy = True
            _keep(asyncio.ensure_future(self._drain()))

    async def put(self, message: Any) -> None:
        if self._reader is None or self._busy or self._ended:
            self.put_nowait(message)
            return
        self._busy = True
        try:
            if await self._handle(message):
                await self._drain()
            else:
                self._busy = False
        except BaseException:
            self._busy = False
            self.end()
            raise

    async def _drain(self) -> None:
        """Handle what waits (put while another message was handled); clears ``_busy``."""
        try:
            while self._items and not self._ended:
                if not await self._handle(self._pop()):
                    break
        finally:
            self._busy = False

    async def _handle(self, message: Any) -> bool:
        if self._ended:
            return False
        if message is None:
            self.end()
            return False
        self.last = asyncio.get_running_loop().time()
        assert self._reader is not None
        if not await self._reader.read(message):
            self.end()
            return False
        return True

    async def get(self) -> Any:
        """The next message (None: the connection closed), before :meth:`attach`."""
        while not self._items:
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        return self._pop()

    def attach(self, reader: Reader) -> None:
        """Hand every message, those waiting first, to ``reader``."""
        self._reader = reader
        self.last = asyncio.get_running_loop().time()
        if self._items:
            self._busy = True
            _keep(asyncio.ensure_future(self._drain()))

    def end(self) -> None:
        """End the session over this connection: the reader's ``ended``, once."""
        if self._ended:
            return
        self._ended = True
        reader, self._reader = self._reader, None  # let the reader go (it holds the handler)
        if reader is not None:
            reader.ended()


_draining: set[asyncio.Future[None]] = set()


def _keep(task: asyncio.Future[None]) -> None:
    """Hold a drain task until it ends (the event loop keeps only weak references)."""
    _draining.add(task)
    task.add_done_callback(_draining.discard)


class Reader(Protocol):
    """What :meth:`Inbox.attach` hands messages to."""

    async def read(self, message: Any) -> bool:
        """Handle one message; False ends the session."""
        ...

    def ended(self) -> None:
        """The session over this connection ended."""
        ...


class WebSocket:
    """The driver's ``websocket`` class: what ``AsyncSocket._upgrade_websocket`` builds with
    its ``_websocket_handler`` and awaits with the upgrade request's environ.

    :func:`install` uses a subclass whose :attr:`carriers` is the server's registry.
    """

    #: Where the sessions this class starts list their carrier (None: nowhere).
    carriers: Carriers | None = None

    def __init__(self, handler: Callable[[Any], Awaitable[Any]], server: Any) -> None:
        self.handler = handler
        self.server = server
        self.tornado_handler: Any = None
        self.environ: dict[str, Any] | None = None

    async def __call__(self, environ: dict[str, Any]) -> Any:
        self.tornado_handler = environ["tornado.handler"]
        socket = getattr(self.handler, "__self__", None)
        inbox = getattr(self.tornado_handler, "receive_queue", None)
        if (
            isinstance(socket, AsyncSocket)
            and isinstance(inbox, Inbox)
            and isinstance(socket.queue, LeanQueue)
        ):
            await serve(socket, self.tornado_handler, inbox, environ, self.carriers)
            return None
        self.environ = environ  # not ours: python-engineio's own handler
        return await self.handler(self)

    # python-engineio's interface of a WebSocket, for its own handler (the fallback above).
    async def close(self) -> None:
        self.tornado_handler.close()

    async def send(self, message: str | bytes) -> None:
        try:
            self.tornado_handler.write_message(message, binary=isinstance(message, bytes))
        except Exception as error:  # tornado's WebSocketClosedError
            raise exceptions.EngineIOError() from error

    async def wait(self) -> str | bytes:
        message = await self.tornado_handler.get_next_message()
        if not isinstance(message, (bytes, str)):
            raise OSError()
        return message


async def _upgrade(socket: AsyncSocket, handler: Any, inbox: Inbox) -> bool:
    """The polling -> WebSocket upgrade (``2probe`` / ``3probe``, then ``5``), as python-engineio
    does it; False when it failed (the session stays on polling)."""
    socket.upgrading = True  # hold packet sends during the upgrade
    try:
        probe = _decode(await inbox.get(), socket)
        if probe is None or probe.packet_type != packet.PING or probe.data != "probe":
            return False
        handler.write_message(packet.Packet(packet.PONG, data="probe").encode())
        await socket.queue.put(packet.Packet(packet.NOOP))  # ends the pending poll
        upgrade = _decode(await inbox.get(), socket)
        if upgrade is None or upgrade.packet_type != packet.UPGRADE:
            socket.upgraded = False
            return False
        socket.upgraded = True
        return True
    except Exception:  # the WebSocket closed while writing the probe's answer
        return False
    finally:
        socket.upgrading = False


def _decode(message: Any, socket: AsyncSocket) -> packet.Packet | None:
    """The Engine.IO packet of a message; None for the end of the connection, a message
    over the size limit, or one that does not decode."""
    if not isinstance(message, (str, bytes)):
        return None
    if len(message) > socket.server.max_http_buffer_size:
        return None
    try:
        return packet.Packet(encoded_packet=message)
    except Exception:
        return None


async def serve(
    socket: AsyncSocket,
    handler: Any,
    inbox: Inbox,
    environ: dict[str, Any],
    carriers: Carriers | None = None,
) -> None:
    """Start an Engine.IO session over the tornado WebSocket of ``handler``: what
    ``AsyncSocket._websocket_handler`` does, but it returns once the session runs (the
    session then lives in a :class:`Carrier`, with no coroutine waiting for it).

    :param socket: the session (new, or on polling and upgrading).
    :param handler: the tornado WebSocket handler (``write_message``, ``close``; and
        ``release_request``, if it has one, is called once the WebSocket carries the
        session).
    :param inbox: the handler's ``receive_queue``.
    :param environ: the upgrade request's environ; trimmed to :data:`KEPT_ENVIRON` once the
        WebSocket carries the session.
    :param carriers: where the running session's carrier is listed (by session id).
    """
    if socket.connected:
        if not await _upgrade(socket, handler, inbox):
            handler.close()  # the session stays on polling; this WebSocket has no use
            return
    else:
        socket.connected = True
        socket.upgraded = True
    slim_environ(environ)
    release = getattr(handler, "release_request", None)
    if release is not None:
        release()  # what tornado and Jupyter kept of the HTTP request
    Carrier(socket, handler, inbox, carriers).start()


def websocket_stream(handler: Any) -> Any:
    """The tornado IOStream of a WebSocket handler's connection (None: not a WebSocket, or
    tornado has let it go because a close began)."""
    return getattr(getattr(handler, "ws_connection", None), "stream", None)


def send_frame(stream: Any, buffer: Any, send: Callable[[bytes], int], data: bytes) -> bool:
    """Write ``data``, a whole WebSocket frame, to an open tornado IOStream: behind what
    tornado still holds (``buffer``, the stream's write buffer), else straight with
    ``send(2)`` (``send``, its socket's); what the kernel does not take goes to tornado's
    buffer, behind which everything else then waits. Frames are uncompressed, so one frame
    fits every connection. False if the connection is gone (its reader notices and ends
    the session)."""
    try:
        if buffer._size:  # tornado still holds output: queue behind it
            stream.write(data)
            return True
        sent = send(data)
    except BlockingIOError:
        sent = 0
    except (OSError, StreamClosedError):
        return False
    if sent < len(data):
        try:
            stream.write(data[sent:])
        except StreamClosedError:
            return False
    return True


class Carrier:
    """An Engine.IO session carried by a tornado WebSocket: the writer (a sink of the
    session's :class:`LeanQueue`), the reader (of the handler's :class:`Inbox`), the
    inactivity timeout, and the end of the session. It is held by the queue and the inbox,
    and listed in ``carriers`` while it writes.
    """

    __slots__ = (
        "buffer",
        "carriers",
        "handler",
        "inbox",
        "output_ended",
        "send_now",
        "socket",
        "stream",
        "timer",
        "writable",
    )

    def __init__(
        self, socket: AsyncSocket, handler: Any, inbox: Inbox, carriers: Carriers | None = None
    ) -> None:
        self.socket = socket
        self.handler = handler
        self.inbox = inbox
        self.carriers = carriers
        self.output_ended = False
        #: Whether a frame may still be written: not after the session's CLOSE packet, nor
        #: once the output ended.
        self.writable = False
        self.timer: asyncio.TimerHandle | None = None
        # The WebSocket's tornado IOStream, its write buffer and its socket's send(): what
        # write_frame() touches, found once.
        self.stream: Any = None
        self.buffer: Any = None
        self.send_now: Callable[[bytes], int] | None = None

    def start(self) -> None:
        stream = websocket_stream(self.handler)
        raw = getattr(stream, "socket", None)
        buffer = getattr(stream, "_write_buffer", None)
        if raw is not None and buffer is not None:
            self.stream, self.buffer, self.send_now = stream, buffer, raw.send
            self.writable = True  # a CLOSE or an error while the queue drains clears it
        self.socket.queue.write_through(self)  # type: ignore[attr-defined]
        self.inbox.attach(self)
        self._arm()
        if self.writable and self.carriers is not None:
            self.carriers[self.socket.sid] = self

    # -- writer (python-engineio's writer task) ------------------------------------------------
    def write(self, pkt: packet.Packet | None) -> None:
        """Write one packet; None (the end of the output) closes the WebSocket."""
        if self.output_ended:
            return
        if pkt is None:
            self._end_output()
            return
        if pkt.packet_type == packet.CLOSE:
            self._unlist()  # the session's last packet: nothing may follow it
        try:
            encoded = pkt.encode()
            self.handler.write_message(encoded, binary=isinstance(encoded, bytes))
        except Exception:  # closed: nothing more is written, the WebSocket is closed
            self._end_output()

    def write_frame(self, data: bytes) -> bool:
        """Write ``data``, a whole WebSocket frame built once for many connections (see
        :mod:`.fanout`), with :func:`send_frame`; False if this session takes no more
        output."""
        if not self.writable:
            return False
        return send_frame(self.stream, self.buffer, self.send_now, data)  # type: ignore[arg-type]

    def _unlist(self) -> None:
        self.writable = False
        carriers = self.carriers
        if carriers is not None and carriers.get(self.socket.sid) is self:
            del carriers[self.socket.sid]

    def _end_output(self) -> None:
        self.output_ended = True
        self._unlist()
        self.handler.close()
        self.inbox.end()

    # -- reader (python-engineio's reader loop) ------------------------------------------------
    async def read(self, message: Any) -> bool:
        pkt = _decode(message, self.socket)
        if pkt is None:  # too large, or not a packet: the session ends
            return False
        try:
            await self.socket.receive(pkt)
        except exceptions.UnknownPacketError:
            pass
        except exceptions.SocketIsClosedError:
            return False
        except Exception:
            self.socket.server.logger.exception("Unknown receive error")
        return True

    # -- inactivity: ping_interval + ping_timeout without a message ends the session ------------
    def _arm(self) -> None:
        server = self.socket.server
        when = self.inbox.last + server.ping_interval + server.ping_timeout
        self.timer = asyncio.get_running_loop().call_at(when, self._idle, context=TIMER_CONTEXT)

    def _idle(self) -> None:
        self.timer = None
        loop = asyncio.get_running_loop()
        if self.inbox.busy:  # handling a message: python-engineio's timeout is not running
            self.inbox.last = loop.time()
        server = self.socket.server
        if loop.time() - self.inbox.last >= server.ping_interval + server.ping_timeout:
            self.inbox.end()
        else:
            self._arm()

    # -- the end ------------------------------------------------------------------------------
    def ended(self) -> None:
        """The session over this WebSocket ended (closed by either side, timed out, a bad
        packet): the WebSocket is closed and the session with it, in a task of the server's."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self._unlist()
        if not self.output_ended:
            self.output_ended = True
            self.handler.close()
        # Nothing more is written; the session (kept a while by its ping timer) lets this
        # carrier and the handler go.
        self.socket.queue.discard()  # type: ignore[attr-defined]
        self.socket.server.start_background_task(self._close)

    async def _close(self) -> None:
        socket = self.socket
        server = socket.server
        await socket.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)
        if socket.closed and server.sockets.get(socket.sid) is socket:
            del server.sockets[socket.sid]


class _Payload:
    """``environ["wsgi.input"]``: the request body, read as python-engineio reads it."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes | None) -> None:
        self.payload = payload or b""

    async def read(self, length: int | None = None) -> bytes:
        if length is None:
            data, self.payload = self.payload, b""
        else:
            data, self.payload = self.payload[:length], self.payload[length:]
        return data


def translate_request(handler: Any) -> dict[str, Any]:
    """python-engineio's tornado ``translate_request``, with one payload class for all
    requests (the driver defines a class per request, ~1.5 KB kept with each session). A
    handler with an ``eio_environ`` attribute is given the environ there (and then clears
    it: the environ refers to the handler)."""
    request = handler.request
    full_uri = request.path
    if request.query:
        full_uri += "?" + request.query
    environ: dict[str, Any] = {
        "wsgi.input": _Payload(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.async": True,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "aiohttp",
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query or "",
        "RAW_URI": full_uri,
        "SERVER_PROTOCOL": f"HTTP/{request.version}",
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": "0",
        "SERVER_NAME": "aiohttp",
        "SERVER_PORT": "0",
        "tornado.handler": handler,
    }
    for name, value in request.headers.items():
        name = name.upper()
        if name == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = value
        elif name == "CONTENT-LENGTH":
            environ["CONTENT_LENGTH"] = value
        else:
            environ["HTTP_" + name.replace("-", "_")] = value
    environ["wsgi.url_scheme"] = environ.get("HTTP_X_FORWARDED_PROTO", "http")
    environ["PATH_INFO"] = urlsplit(request.path).path
    environ["SCRIPT_NAME"] = ""
    if hasattr(handler, "eio_environ"):  # a handler that trims a handshake's environ
        handler.eio_environ = environ
    return environ


def slim_environ(environ: dict[str, Any]) -> None:
    """Keep only :data:`KEPT_ENVIRON` of a session's environ (in place: python-socketio holds
    it). After the handshake only the handler is read: the user (``connect``), the session's
    owner (later requests) and its WebSocket."""
    kept = {key: environ[key] for key in KEPT_ENVIRON if key in environ}
    environ.clear()
    environ.update(kept)


def _ping_later(socket: AsyncSocket) -> None:
    """``AsyncSocket._send_ping`` as a timer: in ``ping_interval`` seconds, a PING."""
    loop = asyncio.get_running_loop()
    loop.call_later(socket.server.ping_interval, _ping, socket, context=TIMER_CONTEXT)


def _ping(socket: AsyncSocket) -> None:
    if socket.closing or socket.closed:
        return
    socket.last_ping = time.time()
    socket.queue.put_nowait(packet.Packet(packet.PING))


def install(eio: Any, carriers: Carriers | None = None) -> None:
    """Use this module's driver pieces for the Engine.IO server ``eio`` (tornado mode); a
    second call does nothing.

    :param carriers: where the server's running sessions list their :class:`Carrier`, by
        session id (for a fan-out's :meth:`Carrier.write_frame`).
    """
    current = eio._async.get("websocket")
    if isinstance(current, type) and issubclass(current, WebSocket):
        return

    class ServerWebSocket(WebSocket):
        pass

    ServerWebSocket.carriers = carriers
    eio._async = {
        **eio._async,
        "websocket": ServerWebSocket,
        "translate_request": translate_request,
    }
    eio.create_queue = lambda *args, **kwargs: LeanQueue()
    start_background_task = eio.start_background_task

    def start(target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        owner = getattr(target, "__self__", None)
        if (
            isinstance(owner, AsyncSocket)
            and getattr(target, "__func__", None) is AsyncSocket._send_ping
            and not args
            and not kwargs
        ):
            _ping_later(owner)
            return None
        return start_background_task(target, *args, **kwargs)

    eio.start_background_task = start
