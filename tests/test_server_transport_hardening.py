"""The HTTP/Engine.IO layer under people who try things (issue 9, flaws 1, 6, 9, 12 and 13).

Raw Engine.IO polling clients (aiohttp, by hand) against a real server: a query naming two
sessions, the JSON APIs behind the authorizer, a POST of 40 events, token clients without a
cookie jar, and request bodies refused before they are read.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from .jupyter import SHARED_TOKEN

PATH = "collab/socket.io/"
SERVER_ARGS = [
    "--ServerApp.authorizer_class=collab_test_authorizer.DenyDaveCollab",
    # Flaw 9 sends 40 messages at once; the default burst (20) would rate-limit half of them.
    "--CollabApp.message_burst=100",
]
MAX_TRANSPORT_BYTES = 1_000_000  # CollabApp.max_transport_bytes, default


def token(value: str) -> dict[str, str]:
    return {"Authorization": f"token {value}"}


def user(name: str) -> dict[str, str]:
    return token(f"token-{name}")


class RawPolling:
    """One Engine.IO session over HTTP long-polling, by hand.

    :param server: the Jupyter server.
    :param headers: sent with every request (e.g. ``Authorization``).
    :param cookies: keep cookies between requests like a browser (False: like a client
        without a cookie jar, e.g. node's socket.io-client by default).
    :param http: the HTTP session to use (and its cookies); None: a new one.
    """

    def __init__(
        self,
        server: Any,
        headers: dict[str, str],
        cookies: bool = True,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        jar: aiohttp.abc.AbstractCookieJar = (
            aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
        )
        self.http = http or aiohttp.ClientSession(cookie_jar=jar)
        self.base = f"{server.url}{PATH}?EIO=4&transport=polling"
        self.headers = headers
        self.sid = ""
        self.events: list[list[Any]] = []
        self.acks: dict[int, Any] = {}
        self._next_id = 0

    async def close(self) -> None:
        await self.http.close()

    def url(self, query: str | None = None) -> str:
        return f"{self.base}&{query if query is not None else 'sid=' + self.sid}"

    async def handshake(self) -> str:
        async with self.http.get(self.base, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            self.sid = json.loads((await response.text())[1:])["sid"]
        return self.sid

    async def get(self, query: str | None = None, **headers: str) -> tuple[int, str]:
        async with self.http.get(self.url(query), headers={**self.headers, **headers}) as r:
            return r.status, await r.text()

    async def post(self, body: str, query: str | None = None, **headers: str) -> tuple[int, str]:
        async with self.http.post(
            self.url(query), data=body.encode(), headers={**self.headers, **headers}
        ) as r:
            return r.status, await r.text()

    async def open(self) -> None:
        """Handshake and connect to the default Socket.IO namespace."""
        await self.handshake()
        status, text = await self.post("40")
        assert status == 200, text
        while True:
            status, text = await self.get()
            assert status == 200, text
            if any(p.startswith("40{") for p in text.split("\x1e")):
                return

    def event(self, name: str, data: Any) -> tuple[int, str]:
        """A Socket.IO event packet with an ack id: ``(id, "42<id>[name, data]")``."""
        self._next_id += 1
        return self._next_id, f"42{self._next_id}{json.dumps([name, data])}"

    async def poll(self, timeout: float = 10.0) -> None:
        """One polling GET; its events and acks are kept."""
        status, text = await asyncio.wait_for(self.get(), timeout)
        assert status == 200, text
        for packet in text.split("\x1e"):
            if packet == "2":
                assert (await self.post("3"))[0] == 200
            elif packet.startswith("43"):
                digits = packet[2:].split("[", 1)[0]
                self.acks[int(digits)] = json.loads(packet[2 + len(digits) :])[0]
            elif packet.startswith("42"):
                self.events.append(json.loads(packet[2:]))

    async def until(self, ids: list[int], timeout: float = 10.0) -> list[Any]:
        """The acks of ``ids``, polling until all have come."""
        deadline = time.monotonic() + timeout
        while not all(i in self.acks for i in ids):
            await self.poll(max(0.1, deadline - time.monotonic()))
        return [self.acks[i] for i in ids]

    async def call(self, name: str, data: Any) -> Any:
        """Emit one event in its own POST and wait for its ack."""
        ack_id, packet = self.event(name, data)
        status, text = await self.post(packet)
        assert status == 200, text
        return (await self.until([ack_id]))[0]


@pytest_asyncio.fixture
async def raw(server):
    """``await raw(headers, cookies=True)``: an opened :class:`RawPolling` session."""
    sessions: list[RawPolling] = []

    async def _open(headers: dict[str, str], cookies: bool = True) -> RawPolling:
        session = RawPolling(server, headers, cookies)
        sessions.append(session)
        await session.open()
        return session

    yield _open
    for session in sessions:
        await session.close()


def send(room: str, text: str, client_id: str) -> dict[str, str]:
    return {"room": room, "text": text, "client_id": client_id}


# -- flaw 1: a query naming two sessions ------------------------------------------------------


async def test_a_query_naming_two_sessions_is_refused(server, raw):
    alice = await raw(user("alice"))
    bob = await raw(user("bob"))
    assert (await alice.call("join", {"room": "binding"}))["ok"]
    assert (await bob.call("join", {"room": "binding-bob"}))["ok"]
    _, stolen = bob.event("send", send("binding", "sent as alice by bob", "steal-1"))

    # python-engineio serves the first sid; the old check read the last one.
    for query in (
        f"sid={alice.sid}&sid={bob.sid}",
        f"sid={alice.sid}&sid=",  # a blank second sid: engine.io drops it, tornado read it
        f"sid={alice.sid}&s%69d={bob.sid}",  # the same name, percent-encoded
    ):
        assert (await bob.get(query))[0] == 400, query
        assert (await bob.post(stolen, query))[0] == 400, query
    # Even the owner's own sid twice: a query with two sids is never served.
    assert (await alice.get(f"sid={alice.sid}&sid={alice.sid}"))[0] == 400

    # A WebSocket upgrade naming two sessions is refused before the upgrade.
    ws_url = f"{bob.base}&sid={alice.sid}&sid={bob.sid}".replace("http", "ws", 1)
    ws_url = ws_url.replace("transport=polling", "transport=websocket")
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with bob.http.ws_connect(ws_url, headers=bob.headers):
            pass
    assert refused.value.status == 400

    # Alice's session is unharmed: still polling (not taken over), nothing stored as her.
    ack = await alice.call("send", send("binding", "mine", "alice-1"))
    assert ack["ok"] and ack["message"]["seq"] == 1
    history = await alice.call("history", {"room": "binding"})
    assert [m["text"] for m in history["messages"]] == ["mine"]


# -- flaw 6: the JSON APIs ask the authorizer --------------------------------------------------


async def test_the_json_apis_ask_the_authorizer(server):
    async with aiohttp.ClientSession() as http:
        handshake = f"{server.url}{PATH}?EIO=4&transport=polling"
        async with http.get(handshake, headers=user("dave")) as response:
            assert response.status == 403
        for api in ("collab/api/rooms", "collab/api/stats"):
            async with http.get(server.url + api, headers=user("dave")) as response:
                assert response.status == 403, api
            async with http.get(server.url + api, headers=user("alice")) as response:
                assert response.status == 200, api
                await response.json()
            async with http.get(server.url + api) as response:
                assert response.status == 403, api


# -- flaw 9: a POST with more packets than Engine.IO's default limit ---------------------------


async def test_a_post_of_forty_events_is_processed_whole(server, raw):
    alice = await raw(user("alice"))
    assert (await alice.call("join", {"room": "batch"}))["ok"]
    events = [alice.event("send", send("batch", f"m{i}", f"batch-{i}")) for i in range(40)]
    # One Engine.IO payload: 40 packets separated by the record separator, as
    # socket.io-client flushes its buffer after a reconnect.
    status, text = await alice.post("\x1e".join(packet for _, packet in events))
    assert (status, text) == (200, "OK")
    acks = await alice.until([ack_id for ack_id, _ in events])
    assert all(ack["ok"] for ack in acks), [a for a in acks if not a["ok"]][:3]
    assert [ack["message"]["text"] for ack in acks] == [f"m{i}" for i in range(40)]
    assert [ack["message"]["seq"] for ack in acks] == list(range(1, 41))
    history = await alice.call("history", {"room": "batch", "limit": 50})
    assert len(history["messages"]) == 40


# -- flaw 12: token clients without a cookie jar -----------------------------------------------


async def test_a_token_client_without_cookies_can_poll(server, raw):
    client = await raw(token(SHARED_TOKEN), cookies=False)
    joined = await client.call("join", {"room": "no-cookies"})
    assert joined["ok"] and joined["you"]["display_name"].startswith("Anonymous ")
    ack = await client.call("send", send("no-cookies", "hello without a jar", "jar-1"))
    assert ack["ok"]
    while not any(e[0] == "message" for e in client.events):
        await client.poll()
    [message] = [e[1] for e in client.events if e[0] == "message"]
    assert message["text"] == "hello without a jar"
    assert message["user"]["username"] == joined["you"]["username"]

    # The session stays bound: another token, another login cookie, no credentials: refused.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(server.url + "api/me", headers=user("alice")) as response:
            assert response.status == 200  # now holds alice's login cookie
        for headers in (user("bob"), {}, token("wrong")):
            for method in ("GET", "POST"):
                async with http.request(
                    method, client.url(), headers=headers, data=b"40" if method == "POST" else None
                ) as response:
                    assert response.status == 403, (headers, method)
    # A session opened with a login cookie stays bound to its user, token or not.
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(server.url + "api/me", headers=token(SHARED_TOKEN)) as response:
            assert response.status == 200  # now holds an anonymous user's login cookie
        browser = RawPolling(server, token(SHARED_TOKEN), http=http)
        await browser.handshake()  # cookie and token
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as bare:
            async with bare.get(browser.url(), headers=token(SHARED_TOKEN)) as response:
                assert response.status == 403
        assert (await browser.post("40"))[0] == 200
    # A second cookie-less client of the same shared token is its own user and session.
    other = await raw(token(SHARED_TOKEN), cookies=False)
    you = (await other.call("join", {"room": "no-cookies"}))["you"]
    assert you["username"] != joined["you"]["username"]


NODE_CLIENT = """
const { io } = require(process.argv[2]);
const [url, path, token] = process.argv.slice(3);
const socket = io(url, {
  path, transports: ["polling"], reconnection: false, timeout: 10000,
  extraHeaders: { Authorization: `token ${token}` },
});
const fail = (why) => { console.error(why); process.exit(1); };
setTimeout(() => fail("timed out"), 20000);
socket.on("connect_error", (e) => fail(`connect_error: ${e.message}`));
socket.on("disconnect", (reason) => fail(`disconnect: ${reason}`));
socket.on("message", (m) => {
  console.log(JSON.stringify({ message: m.text }));
  socket.off("disconnect");
  socket.close();
  process.exit(0);
});
socket.on("connect", () => {
  socket.emit("join", { room: "node-polling" }, (ack) => {
    if (!ack.ok) fail(JSON.stringify(ack));
    socket.emit("send", { room: "node-polling", text: "from node", client_id: "n-1" });
  });
});
"""


async def test_the_official_client_polls_with_a_token_and_no_cookies(server, tmp_path):
    module = Path(__file__).parents[1] / "node_modules" / "socket.io-client"
    node = shutil.which("node")
    if node is None or not module.is_dir():
        pytest.skip("needs node and node_modules/socket.io-client (jlpm install)")
    script = tmp_path / "client.js"
    script.write_text(NODE_CLIENT)
    origin = f"http://127.0.0.1:{server.port}"
    args = [node, str(script), str(module), origin, f"{server.base_url}{PATH}", SHARED_TOKEN]
    done = await asyncio.to_thread(subprocess.run, args, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout.decode().splitlines()[-1]) == {"message": "from node"}


# -- flaw 13: bodies refused before they are read ----------------------------------------------


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def raw_post(
    server: Any, query: str, length: int, headers: dict[str, str]
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Open a connection and send only the headers of a POST announcing ``length`` bytes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    lines = [
        f"POST {server.base_url}{PATH}?{query} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Content-Type: text/plain;charset=UTF-8",
        f"Content-Length: {length}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def status_of(reader: asyncio.StreamReader, timeout: float = 5.0) -> int:
    line = await asyncio.wait_for(reader.readline(), timeout)
    return int(line.split()[1])


HUGE = 200_000_000


async def test_an_unauthenticated_huge_body_is_refused_unread(server):
    query = "EIO=4&transport=polling&sid=whatever"
    # Only the headers: the refusal comes without the body.
    reader, writer = await raw_post(server, query, HUGE, {})
    try:
        assert await status_of(reader) == 403
    finally:
        writer.close()

    # The whole body, as fast as the server takes it: the server stops reading at once.
    before = rss_bytes(server.process.pid)
    reader, writer = await raw_post(server, query, HUGE, {})
    sent = 0
    chunk = b"x" * 1_000_000

    async def pour() -> None:
        nonlocal sent
        while sent < HUGE:
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)

    pouring = asyncio.create_task(pour())
    started = time.monotonic()
    try:
        status = await status_of(reader)
        assert status == 403
    except (ConnectionError, ValueError, IndexError):
        pass  # a reset may beat the status line to the client; the connection ended
    await asyncio.wait([pouring], timeout=10)
    assert pouring.done(), "the server kept reading the refused body"
    pouring.cancel()
    writer.close()
    elapsed = time.monotonic() - started
    grown = rss_bytes(server.process.pid) - before
    taken = f"{sent:,} bytes taken in {elapsed:.1f} s; the server grew by {grown:,} bytes"
    assert sent < 50_000_000 and grown < 50_000_000 and elapsed < 10, taken


async def test_an_oversized_body_of_a_user_is_refused_unread(server, raw):
    alice = await raw(user("alice"))
    query = f"EIO=4&transport=polling&sid={alice.sid}"
    reader, writer = await raw_post(server, query, MAX_TRANSPORT_BYTES + 1, user("alice"))
    try:
        assert await status_of(reader) == 413
    finally:
        writer.close()

    # Chunked, with no length announced: cut off once past the limit.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = [
        f"POST {server.base_url}{PATH}?{query} HTTP/1.1",
        f"Host: 127.0.0.1:{server.port}",
        "Transfer-Encoding: chunked",
        "Authorization: token token-alice",
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0
    piece = b"%x\r\n%s\r\n" % (65536, b"4" * 65536)
    with pytest.raises(ConnectionError):
        while sent < 50_000_000:
            writer.write(piece)
            await writer.drain()
            sent += 65536
    writer.close()
    assert sent < 20_000_000

    # Bodies within the limit still work: the session goes on polling.
    assert (await alice.call("join", {"room": "after-oversized"}))["ok"]
