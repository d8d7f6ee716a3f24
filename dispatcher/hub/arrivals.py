"""Arrivals: new connections take turns through their handshake, hello and welcome.

After a kill -9, a restart or a blip of the hall's network, every device reconnects
within a second or two. Each arrival costs the event loop its handshake, its hello
and its welcome; 2,320 of them at once fill every turn of the loop, and a caller
whose panel never went away waited 101-205 ms for a reply (bench_peak's storm, the
issue's goal is 100 ms). With ARRIVING_AT_ONCE arrivals at a time, the others wait
before the response to their handshake, which costs nothing, and the devices already
here are served between them: in one-minute storm trials the caller's p99 fell to
16-70 ms (32 at a time) and 36-79 ms (64), and every device was back as soon.

A turn is given back at the welcome (or the refusal), when the connection is lost,
or TURN_S after it was taken at the latest: connections that never say hello can
slow the hall's arrivals down, but never stop them.
"""

from __future__ import annotations

import asyncio

from websockets.asyncio.server import ServerConnection

ARRIVING_AT_ONCE = 32   # trials: caller p99 16-70 ms, 36-79 with 64; resync as soon
TURN_S = 1.0            # longer than a hello takes on a busy hall's network


class Arrivals:
    def __init__(self) -> None:
        self._turns = asyncio.Semaphore(ARRIVING_AT_ONCE)
        self._held: dict[ServerConnection, asyncio.TimerHandle] = {}

    async def take_turn(self, ws: ServerConnection) -> None:
        """Until it is this connection's turn to go on with its handshake."""
        await self._turns.acquire()
        self._held[ws] = asyncio.get_running_loop().call_later(TURN_S, self.give_back, ws)
        ws.connection_lost_waiter.add_done_callback(lambda _: self.give_back(ws))

    def give_back(self, ws: ServerConnection) -> None:
        """The connection's turn, if it still holds one, to the next arrival."""
        timer = self._held.pop(ws, None)
        if timer is not None:
            timer.cancel()
            self._turns.release()

    @property
    def arriving(self) -> int:
        """Connections holding a turn now."""
        return len(self._held)
