"""`onewindow serve`: open the store, start the hub, stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..hall import Hall
from ..service import HallService
from .devices import Device
from .people import People
from .server import Hub


@dataclass
class HallClock:
    """Real time, or for training and tests a clock started at a chosen hall time
    that runs ``speed`` times faster than the wall clock."""

    start_at: float | None = None
    speed: float = 1.0

    def __post_init__(self) -> None:
        self._origin = time.monotonic()

    def __call__(self) -> float:
        if self.start_at is None:
            return time.time()
        return self.start_at + (time.monotonic() - self._origin) * self.speed


def parse_start_at(text: str, hall: Hall) -> float:
    """'2026-11-23 09:30' in the hall's timezone → epoch seconds."""
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--start-at {text!r}: expected a time like '2026-11-23 09:30'"
                         ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(hall.timezone))
    return local.timestamp()


def run_hub(hall: Hall, devices: dict[str, Device], url: str, host: str, port: int,
            clock: HallClock, rate_limit: tuple[float, float] | None = (20.0, 60.0),
            people: People | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("websockets").setLevel(logging.WARNING)  # our log is JSON lines
    hub = Hub(lambda observer: HallService.open(hall, url, observer), devices, clock,
              rate_limit, people=people)
    try:
        asyncio.run(_serve(hub, host, port))
    finally:
        hub.service.close()
    return 0


async def _serve(hub: Hub, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))

    def ready(bound: int) -> None:
        print(f"onewindow hub listening on ws://{host}:{bound} "
              f"({hub.hall.name}, seq {hub.seq})", flush=True)

    await hub.serve_forever(host, port, ready, stop)
