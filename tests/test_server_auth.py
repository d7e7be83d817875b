"""No unauthenticated connection on any transport; Jupyter's origin and XSRF rules hold."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import socketio

from collab_widget.client import CollabClient

from .jupyter import SHARED_TOKEN

PATH = "collab/socket.io/"
EVIL = "http://evil.example"


def token(user: str) -> dict[str, str]:
    return {"Authorization": f"token token-{user}"}


async def handshake(server, headers=None, cookies=None, transport="polling"):
    """One Engine.IO handshake by hand: (status, body or None)."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, cookies=cookies) as http:
        url = f"{server.url}{PATH}?EIO=4&transport={transport}"
        if transport == "websocket":
            try:
                async with http.ws_connect(url.replace("http", "ws", 1), headers=headers) as ws:
                    message = await ws.receive(timeout=5)
                    return 101, message.data
            except aiohttp.WSServerHandshakeError as error:
                return error.status, None
        async with http.get(url, headers=headers) as response:
            return response.status, await response.text()


async def login_cookie(server) -> dict[str, str]:
    """The login cookie Jupyter gives a token-authenticated browser, with nothing else."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as http:
        async with http.get(server.url + "api/me", headers=token("alice")) as response:
            assert response.status == 200
        cookies = {c.key: c.value for c in jar if c.key.startswith("username-")}
    assert cookies, "Jupyter set no login cookie"
    return cookies


@pytest.mark.parametrize("transport", ["polling", "websocket"])
@pytest.mark.parametrize(
    "headers",
    [None, {"Authorization": "token wrong"}, {"Authorization": "token "}],
    ids=["no-credentials", "wrong-token", "empty-token"],
)
async def test_handshake_without_valid_credentials_is_refused(server, transport, headers):
    status, _ = await handshake(server, headers=headers, transport=transport)
    assert status == 403


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_handshake_with_token_is_accepted(server, transport):
    status, body = await handshake(server, headers=token("alice"), transport=transport)
    assert status in (200, 101)
    assert body.startswith("0{") and '"sid"' in body


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_client_without_token_cannot_connect(server, transport):
    client = CollabClient(server.url, transports=[transport])
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect()
    assert not client.connected


@pytest.mark.parametrize("transport", ["polling", "websocket"])
async def test_foreign_origin_is_refused_with_cookie_auth(server, transport):
    cookies = await login_cookie(server)
    own = f"http://127.0.0.1:{server.port}"
    status, _ = await handshake(server, {"Origin": own}, cookies, transport)
    assert status in (200, 101), "the same origin with the login cookie must work"
    status, _ = await handshake(server, {"Origin": EVIL}, cookies, transport)
    assert status == 403


async def test_polling_post_needs_xsrf_when_cookie_authenticated(server):
    cookies = {**await login_cookie(server), "_xsrf": "s3cr3t-xsrf"}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookies=cookies, cookie_jar=jar) as http:
        base = f"{server.url}{PATH}?EIO=4&transport=polling"
        async with http.get(base) as response:
            assert response.status == 200
            sid = (await response.text()).split('"sid":"')[1].split('"')[0]
        url = f"{base}&sid={sid}"
        async with http.post(url, data="40") as response:
            assert response.status == 403
        async with http.post(url, data="40", headers={"X-XSRFToken": "wrong"}) as response:
            assert response.status == 403
        async with http.post(url, data="40", headers={"X-XSRFToken": "s3cr3t-xsrf"}) as response:
            assert response.status == 200
            assert await response.text() == "OK"


async def test_cookie_client_with_xsrf_header_works_like_a_browser(server):
    cookies = await login_cookie(server)
    cookie = "; ".join(f"{k}={v}" for k, v in {**cookies, "_xsrf": "tok"}.items())
    client = CollabClient(
        server.url, headers={"Cookie": cookie, "X-XSRFToken": "tok"}, transports=["polling"]
    )
    await client.connect()
    try:
        ack = await client.join("cookie-room")
        assert ack["you"]["username"] == "alice"
    finally:
        await client.disconnect()


async def test_a_session_id_is_useless_to_another_user(server):
    async with aiohttp.ClientSession() as http:
        base = f"{server.url}{PATH}?EIO=4&transport=polling"
        async with http.get(base, headers=token("alice")) as response:
            sid = (await response.text()).split('"sid":"')[1].split('"')[0]
        async with http.get(f"{base}&sid={sid}", headers=token("bob")) as response:
            assert response.status == 403
        async with http.post(f"{base}&sid={sid}", data="40", headers=token("bob")) as response:
            assert response.status == 403
        async with http.post(f"{base}&sid={sid}", data="40", headers=token("alice")) as response:
            assert response.status == 200


async def test_identity_comes_from_the_server_not_the_client(server):
    client = CollabClient(server.url, token="token-bob", transports=["websocket"])
    client.sio.connection_auth = {"username": "alice", "display_name": "Mallory"}
    await client.connect()
    try:
        ack = await client.join("who")
        assert ack["you"]["username"] == "bob"
        assert ack["you"]["display_name"] == "Bob Tester"
    finally:
        await client.disconnect()


async def test_shared_token_gives_each_browser_its_own_anonymous_user(server):
    a = CollabClient(server.url, token=SHARED_TOKEN, transports=["polling"])
    b = CollabClient(server.url, token=SHARED_TOKEN, transports=["websocket"])
    await a.connect()
    await b.connect()
    try:
        you_a = (await a.join("anon"))["you"]
        ack_b = await b.join("anon")
        assert you_a["username"] != ack_b["you"]["username"]
        assert you_a["display_name"].startswith("Anonymous ")
        assert len(ack_b["members"]) == 2
    finally:
        await a.disconnect()
        await b.disconnect()


async def test_connects_and_disconnects_are_logged(server, connect):
    client = await connect("carol", transports=["websocket"])
    await client.disconnect()

    for _ in range(50):
        log = server.log()
        if "collab: disconnect user=carol" in log:
            break
        await asyncio.sleep(0.1)
    assert "collab: connect user=carol (Carol Tester) transport=websocket" in log
    assert "collab: disconnect user=carol (Carol Tester) transport=websocket" in log
    assert "reason=client disconnect" in log


async def test_a_user_whose_username_the_service_shortens_keeps_their_polling_session(server):
    """The session binding compares Jupyter's users as Jupyter resolved them, not the
    service's cleaned copy: a 200-character username (kept by the service as a digest) can
    still use its own session on every polling request."""
    client = CollabClient(server.url, token="token-long", transports=["polling"])
    await client.connect()
    try:
        ack = await client.join("long-names")
        assert ack["you"]["username"] != "long" + "g" * 196  # the service's shortened copy
        assert (await client.send("long-names", "still me"))["text"] == "still me"
    finally:
        await client.disconnect()
