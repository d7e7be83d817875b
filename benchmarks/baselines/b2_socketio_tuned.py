"""B2: B1 with permessage-deflate off and ``TCP_NODELAY`` on (two lines of configuration).

python -m benchmarks.baselines.b2_socketio_tuned --port 8002
"""

from __future__ import annotations

import asyncio
from typing import Any

import socketio
import tornado.web

from .b1_socketio import build_server, handler_class, parse_port, serve


def tuned_handler_class(sio: socketio.AsyncServer) -> type[tornado.web.RequestHandler]:
    base: Any = handler_class(sio)

    class TunedHandler(base):  # type: ignore[misc, valid-type]
        def get_compression_options(self) -> dict[str, Any] | None:
            return None

        async def open(self, *args: Any, **kwargs: Any) -> None:
            self.set_nodelay(True)
            await super().open(*args, **kwargs)

    return TunedHandler


if __name__ == "__main__":
    asyncio.run(serve(parse_port(), tuned_handler_class(build_server())))
