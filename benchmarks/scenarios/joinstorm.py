"""Scenario 4: a join storm; ``clients`` connected clients join one room within ``spread``.

Measured from the first join: when every join was acknowledged, and (ours only) when every
client holds the full member list, built from its join ack's ``members`` and the ``joined``
events it receives. The baselines keep no member list: for them that figure is n/a.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterable
from typing import Any

from ..config import JoinStormParams
from ..eio import EioClient, Target
from ..procstat import Snapshot, Window
from .common import (
    LoopLag,
    close_all,
    connect_many,
    join_payload,
    mark_window,
    sleep_until,
    validity,
)

ROOM = "bench-storm"
JOINED = b'42["joined",'
NAME = re.compile(rb'"username": ?"([^"]*)"')


class Storm:
    def __init__(self, clients: int) -> None:
        self.size = clients
        self.started = 0
        self.acked = 0
        self.last_ack = 0
        self.full = 0
        self.last_full = 0
        self.last_join = 0  # when the last join was sent
        self.member_lists = False
        self.errors: list[Any] = []
        self.done = asyncio.get_running_loop().create_future()

    def on_event(self, client: EioClient, packet: bytes, now: int) -> None:
        # Only ``joined`` matters; its username is found without decoding the JSON (bytes
        # are kept as they are: only their number matters).
        if not packet.startswith(JOINED):
            return
        match = NAME.search(packet)
        if match is not None:
            self._members(client, (match.group(1),), now)

    def _members(self, client: EioClient, usernames: Iterable[bytes], now: int) -> None:
        known: set[bytes] | None = client.tag
        if known is None or len(known) >= self.size:
            return
        known.update(usernames)
        if len(known) >= self.size:
            self.full += 1
            self.last_full = now
            self._check()

    def on_ack(self, client: EioClient, future: asyncio.Future[Any]) -> None:
        # Acks arrive raw (bytes): the usernames of a member list are found with a regular
        # expression instead of decoding up to 300 members per ack.
        now = time.time_ns()
        if future.cancelled() or future.exception() is not None:
            self.errors.append(repr(future.exception()))
            return
        ack: bytes = future.result()
        if not ack.startswith(b'[{"ok":true') and not ack.startswith(b'[{"ok": true'):
            self.errors.append(ack[:200].decode(errors="replace"))
            return
        self.acked += 1
        self.last_ack = now
        if b'"members"' in ack:
            self.member_lists = True
            self._members(client, NAME.findall(ack), now)
        self._check()

    def _check(self) -> None:
        complete = self.acked >= self.size and (not self.member_lists or self.full >= self.size)
        if complete and not self.done.done():
            self.done.set_result(None)


async def run_joinstorm(target: Target, p: JoinStormParams) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    storm = Storm(p.clients)
    clients = await connect_many(target, p.clients, storm.on_event)
    for client in clients:
        client.tag = set()
        client.raw_acks = True
    await asyncio.sleep(0.5)
    lag = LoopLag().start()
    mark_window("joinstorm")
    before = Snapshot.take(target.pid)
    storm.started = time.time_ns()
    start = loop.time()
    for index, client in enumerate(clients):
        await sleep_until(start + p.spread * index / p.clients)
        future = client.call("join", join_payload(ROOM))
        storm.last_join = time.time_ns()
        future.add_done_callback(lambda f, c=client: storm.on_ack(c, f))
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.shield(storm.done), p.timeout)
    except asyncio.TimeoutError:
        timed_out = True
    after = Snapshot.take(target.pid)
    window = Window.between(before, after)
    result: dict[str, Any] = {
        **window.as_dict(),
        "clients": p.clients,
        "spread_s": p.spread,
        "acked": storm.acked,
        "all_acked_s": round((storm.last_ack - storm.started) / 1e9, 3)
        if storm.acked >= p.clients
        else None,
        "member_lists": storm.member_lists,
        "full_member_list_clients": storm.full if storm.member_lists else None,
        "all_full_member_list_s": round((storm.last_full - storm.started) / 1e9, 3)
        if storm.member_lists and storm.full >= p.clients
        else None,
        # the figure: how long the last joiner's arrival took to reach everyone
        "full_after_last_join_s": round((storm.last_full - storm.last_join) / 1e9, 3)
        if storm.member_lists and storm.full >= p.clients
        else None,
        "timed_out": timed_out,
        "errors": len(storm.errors),
        "first_error": storm.errors[0] if storm.errors else None,
        "loop_lag": lag.stop(),
        **validity(window),
    }
    close_all(clients)
    return result
