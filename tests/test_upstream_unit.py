"""The relay's upstream connection while the class service cannot be reached: what it
holds, what it refuses, and that what it holds is bounded."""

from __future__ import annotations

import asyncio
import logging

from collab_widget.upstream import Upstream

from .jupyter import free_port


def unreachable(**kw: float) -> Upstream:
    # Nothing listens on this port: the upstream stays "connecting".
    url = f"http://127.0.0.1:{free_port()}/services/collab/"
    return Upstream(url, "token", logging.getLogger("test"), reconnect_delay=0.05, **kw)


async def test_while_away_sends_are_held_then_refused_and_the_rest_refused_at_once():
    up = unreachable(hold_seconds=0.3, max_held=2)
    up.start()
    try:
        await up.open("1")
        assert (await up.forward("1", "leave", {"room": "r"})) == {"ok": True}
        join = await up.forward("1", "join", {"room": "r"})
        assert join["error"]["code"] == "unavailable" and join["error"]["retry_after"] > 0
        held = [
            asyncio.create_task(up.forward("1", "send", {"room": "r", "text": t, "client_id": t}))
            for t in ("a", "b")
        ]
        await asyncio.sleep(0.05)
        assert up.summary()["held"] == 2
        third = await up.forward("1", "send", {"room": "r", "text": "c", "client_id": "c"})
        assert third["error"]["code"] == "unavailable"  # the bound: refused at once
        for answer in await asyncio.gather(*held):
            assert answer["error"]["code"] == "unavailable"  # after hold_seconds
        assert up.summary()["held"] == 0 and up.summary()["held_total"] == 2
        assert up.state == "connecting"
    finally:
        await up.close()
    assert up.state == "closed"


async def test_closing_answers_what_is_held():
    up = unreachable(hold_seconds=30)
    up.start()
    await up.open("1")
    held = asyncio.create_task(
        up.forward("1", "send", {"room": "r", "text": "x", "client_id": "x"})
    )
    await asyncio.sleep(0.05)
    await up.close_session("1")
    assert (await asyncio.wait_for(held, 2))["error"]["code"] == "unavailable"
    await up.close()
