"""The Redis test harness itself: a real ``redis-server`` (tests/redisserver.py) that keeps its
data across restarts and kills, and the latency proxy in front of it (tests/delayproxy.py)."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .delayproxy import DelayProxy
from .redisserver import RedisServer

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A started Redis server with the append-only file, stopped after the test."""
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture
def proxy(redis_server: RedisServer) -> Iterator[DelayProxy]:
    """A DelayProxy (no delay yet) in front of ``redis_server``."""
    delay_proxy = DelayProxy("127.0.0.1", redis_server.port).start()
    yield delay_proxy
    delay_proxy.stop()


def no_retry_client(url: str) -> redis.Redis:
    """A client that reports a lost connection instead of reconnecting (redis-py >= 6
    retries three times by default)."""
    return redis.Redis.from_url(url, retry=Retry(NoBackoff(), 0), socket_timeout=5)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_server_answers_on_its_own_port(tmp_path: Path) -> None:
    with RedisServer(tmp_path) as server:
        assert server.port != 6379
        assert server.url == f"redis://127.0.0.1:{server.port}/0"
        assert server.ping()
        with server.client() as client:
            assert client.ping() is True
            assert client.config_get("appendonly") == {"appendonly": "yes"}
            assert client.config_get("save") == {"save": ""}
        assert server.process is not None
        pid = server.process.pid
    assert not alive(pid)
    assert not server.ping()
    assert (tmp_path / "redis.log").exists()


def test_data_survives_restart(redis_server: RedisServer) -> None:
    port = redis_server.port
    with redis_server.client() as client:
        client.set("greeting", "hello")
        client.rpush("list", "a", "b")
    redis_server.restart(downtime=0.2)
    assert redis_server.port == port
    with redis_server.client() as client:
        assert client.get("greeting") == b"hello"
        assert client.lrange("list", 0, -1) == [b"a", b"b"]


def test_data_written_a_second_before_a_kill_survives(redis_server: RedisServer) -> None:
    with redis_server.client() as client:
        client.set("durable", "yes")
    time.sleep(1.2)  # appendfsync everysec
    assert redis_server.process is not None
    pid = redis_server.process.pid
    redis_server.kill()
    assert not alive(pid)
    redis_server.start()
    with redis_server.client() as client:
        assert client.get("durable") == b"yes"


def test_without_appendonly_nothing_survives(tmp_path: Path) -> None:
    with RedisServer(tmp_path, appendonly=False) as server:
        with server.client() as client:
            client.set("volatile", "1")
        server.restart()
        with server.client() as client:
            assert client.get("volatile") is None


def test_proxy_adds_the_delay_to_a_round_trip(proxy: DelayProxy) -> None:
    delay = 0.1
    with redis.Redis.from_url(proxy.url_for()) as client:
        assert client.ping()  # connected (and the client's handshake done) without delay
        fastest = min(timed(client.ping) for _ in range(3))
        proxy.delay = delay
        slowest = max(timed(client.ping) for _ in range(3))
        proxy.delay = 0.0
        assert timed(client.ping) < 0.05
    assert fastest < 0.02
    assert 0.8 * delay <= slowest <= delay + 0.1


def test_proxy_delays_chunks_without_serializing_them(proxy: DelayProxy) -> None:
    """Two PINGs sent 50 ms apart both come back about ``delay`` after they were sent: the
    second one does not wait for the first one's round trip."""
    proxy.delay = 0.2
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        start = time.monotonic()
        sock.sendall(b"PING\r\n")
        time.sleep(0.05)
        sock.sendall(b"PING\r\n")
        received = b""
        while received.count(b"+PONG\r\n") < 2:
            received += sock.recv(64)
        elapsed = time.monotonic() - start
    assert received == b"+PONG\r\n+PONG\r\n"
    assert 0.24 <= elapsed <= 0.35


def test_cut_all_breaks_a_command_in_flight(proxy: DelayProxy) -> None:
    client = no_retry_client(proxy.url_for(db=0))
    try:
        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(client.blpop, ["nothing"], 10)
            deadline = time.monotonic() + 5
            while not proxy.links and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.1)  # the BLPOP reached the server
            assert proxy.cut_all() == 1
            with pytest.raises(redis.ConnectionError):
                waiting.result(5)
    finally:
        client.close()
    with no_retry_client(proxy.url_for()) as client:  # the proxy accepts new connections
        assert client.ping()
    assert proxy.connections == 2


def test_an_idle_connection_cut_is_replaced_silently(proxy: DelayProxy) -> None:
    """redis-py's pool checks a connection when a command takes it (``can_read``) and
    reconnects one that was closed meanwhile: a cut between commands raises nothing."""
    with no_retry_client(proxy.url_for()) as client:
        assert client.set("k", "v")
        assert proxy.cut_all() == 1
        time.sleep(0.05)
        assert client.get("k") == b"v"
    assert proxy.connections == 2


def test_proxy_resets_clients_while_the_server_is_down(
    redis_server: RedisServer, proxy: DelayProxy
) -> None:
    redis_server.stop()
    with no_retry_client(proxy.url_for()) as client, pytest.raises(redis.ConnectionError):
        client.ping()
    assert proxy.refused == 1
    redis_server.start()
    with no_retry_client(proxy.url_for()) as client:
        assert client.ping()


def timed(call: Callable[[], object]) -> float:
    """Seconds ``call()`` takes."""
    start = time.monotonic()
    call()
    return time.monotonic() - start
