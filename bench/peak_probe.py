"""The storm probe of bench/bench_peak.py: one caller panel in a process of its own.

    python -m bench.peak_probe      (its orders as one JSON line on stdin)

A real caller panel is alone in its process; a probe in the bench's own loop also
waits behind the hundreds of callers and kiosks that loop reconnects at the same
time, and its latencies would be partly the bench's. So this process reconnects one
caller (retrying every 50 ms, with the ``last_seq`` it was given), then sends
``call_next`` every ``gap`` seconds (``most`` at most) until it reads ``stop``, and prints:

    back T            its welcome (T: time.monotonic(), the same clock as the parent's)
    resynced T        the events that brought it to the welcome's seq
    took T0 SECONDS   each command: when it was sent and how long its reply took
    done              once stopped

stdin: {"url", "device", "token", "last_seq", "window", "gap", "most"}, then ``stop``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from bench.peak_wire import Device

RETRY = 0.05     # s between attempts while the hub is down, as the bench's probe did
WAIT = 60.0      # s: a reply that takes longer is a failure, not a figure


async def reconnect(orders: dict[str, Any]) -> Device:
    while True:
        await asyncio.sleep(RETRY)
        device = Device(orders["url"], "caller", orders["device"], orders["token"])
        device.last_seq = orders["last_seq"]
        try:
            await device.hello(WAIT)
            return device
        except (OSError, TimeoutError):
            device.abort()


async def resynced(device: Device) -> float:
    while device.resynced_at is None:
        await asyncio.sleep(0.005)
    return device.resynced_at


async def stopped(reader: asyncio.StreamReader) -> None:
    while (line := await reader.readline()) and line.strip() != b"stop":
        pass


async def probe(orders: dict[str, Any], reader: asyncio.StreamReader) -> None:
    device = await reconnect(orders)
    say(f"back {time.monotonic()}")
    asyncio.ensure_future(resynced(device)).add_done_callback(
        lambda f: say(f"resynced {f.result()}"))
    stop = asyncio.ensure_future(stopped(reader))
    for _ in range(orders["most"]):
        if stop.done():
            break
        t0 = time.monotonic()
        reply = await asyncio.wait_for(
            device.send_command("call_next", window=orders["window"]), WAIT)
        if not reply.get("ok"):
            raise RuntimeError(f"{orders['device']} call_next refused: {reply}")
        say(f"took {t0} {time.monotonic() - t0}")
        await asyncio.wait([stop], timeout=orders["gap"])
    await stop
    device.close()
    say("done")


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    orders = json.loads(await reader.readline())
    await probe(orders, reader)


if __name__ == "__main__":
    asyncio.run(main())
