"""Running a headless device bridge (LED strips, keypads) from the command line."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Protocol


class Bridge(Protocol):
    def run(self) -> Awaitable[None]: ...
    def close(self) -> Awaitable[None]: ...


def run_bridge(make: Callable[[], Bridge]) -> int:
    """Run the bridge ``make`` builds (inside the event loop) until Ctrl-C: exit code 0,
    or 1 with a one-line error when it stops on its own (the hub refused the device)."""

    async def main() -> None:
        bridge = make()
        try:
            await bridge.run()
        finally:
            await bridge.close()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except Exception as exc:   # HubRefused: wrong token or device
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0
