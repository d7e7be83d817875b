"""The scenarios, each a coroutine ``run_*(target, params) -> dict`` run by the load generator."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..config import Suite
from ..eio import Target
from .browser import run_browser
from .chat import run_chat, run_chat_stall, run_stall
from .connections import run_connections
from .hub import run_hub_chat, run_hub_hop, run_hub_presence
from .joinstorm import run_joinstorm
from .presence import run_presence, run_presence_large, run_ramp
from .scaleout import (
    run_redis_chat,
    run_redis_chat_max,
    run_redis_presence,
    run_redis_presence_max,
)

COMBINED = "chat+stall"
Runner = Callable[[Target, Suite], Awaitable[dict[str, Any]]]


async def _presence(target: Target, suite: Suite) -> dict[str, Any]:
    # ours coalesces (measured at the full rate); the baselines relay (measured by a ramp).
    if target.name == "ours":
        return {
            "mode": "coalesced",
            **await run_presence(target, suite.presence, suite.ramp),
        }
    return {"mode": "relay", **await run_ramp(target, suite.ramp)}


SCENARIOS: dict[str, Runner] = {
    "chat": lambda target, suite: run_chat(target, suite.chat),
    "presence": _presence,
    "connections": lambda target, suite: run_connections(target, suite.connections),
    "joinstorm": lambda target, suite: run_joinstorm(target, suite.joinstorm),
    "stall": lambda target, suite: run_stall(target, suite.stall),
    # ours only: a lecture hall (1,000 members).
    "presence-1000": lambda target, suite: run_presence_large(target, suite.presence_large),
    # Scenarios 1 and 5 in one run: results {"chat": ..., "stall": ...}.
    COMBINED: lambda target, suite: run_chat_stall(target, suite.chat, suite.stall),
    # The class service (the variant in the target: a shape of relays, or single/relay).
    "hub-chat": run_hub_chat,
    "hub-presence": run_hub_presence,
    "hub-hop": run_hub_hop,
    # Several service processes through Redis (the variant: deployment[/shape]).
    "redis-chat": run_redis_chat,
    "redis-presence": run_redis_presence,
    "redis-chat-max": run_redis_chat_max,
    "redis-presence-max": run_redis_presence_max,
    # One Chromium tab in a room under presence load (ours serving JupyterLab).
    "browser": run_browser,
}
