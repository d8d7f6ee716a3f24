"""The floor for bench/bench_hub.py: a bare websockets server, no hub, no store.

    python -m bench.hub_floor

Serves on a free port of 127.0.0.1 (prints "floor listening on ws://127.0.0.1:PORT"),
with the hub's websockets settings (dispatcher/hub/server.py: no compression, the
same frame limit and pings). A connection to path /caller is the caller; every
other connection is a display and only listens. Each message from the caller holds
one or more frames joined by newlines (compact JSON never holds a raw newline):
each is broadcast, synchronously as the hub does, to every connection (the caller
too, like the hub), then the caller gets a short reply. Stops on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

from bench.hub_listeners import raise_nofile
from dispatcher.protocol import HARD_FRAME_LIMIT

REPLY = '{"type":"reply","ok":true}'


class Floor:
    def __init__(self) -> None:
        self.live: set[ServerConnection] = set()

    async def handler(self, ws: ServerConnection) -> None:
        self.live.add(ws)
        try:
            if ws.request is not None and ws.request.path == "/caller":
                async for message in ws:
                    conns = list(self.live)
                    for frame in str(message).split("\n"):
                        broadcast(conns, frame)
                    broadcast([ws], REPLY)
            else:
                await ws.wait_closed()
        except ConnectionClosed:
            pass
        finally:
            self.live.discard(ws)


async def serve_floor(handler: Callable[[ServerConnection], Awaitable[None]]) -> None:
    """``handler`` on a free port with the hub's websockets settings, until SIGTERM
    (bench/commit_floor.py serves its own)."""
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    async with serve(handler, "127.0.0.1", 0, max_size=HARD_FRAME_LIMIT,
                     ping_interval=20, ping_timeout=20, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"floor listening on ws://127.0.0.1:{port}", flush=True)
        await stop


def main() -> None:
    raise_nofile()
    asyncio.run(serve_floor(Floor().handler))


if __name__ == "__main__":
    main()
