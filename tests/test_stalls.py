"""A stall of the hub's event loop is logged with what held it (hub/stalls.py): the
next bench or hall that sees a command wait without a slow collection can tell why."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest

from dispatcher.hub.stalls import StallWatch


def hold_the_loop(seconds: float) -> None:
    time.sleep(seconds)        # a loop held up without working: waiting for a core


def work_on_the_loop(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:   # a long piece of the loop's own work
        pass


async def watched(work: float, hold: Callable[[float], None] = hold_the_loop) -> None:
    watch = asyncio.ensure_future(StallWatch(beat=0.02, stall=0.05).run())
    await asyncio.sleep(0.1)
    hold(work)
    await asyncio.sleep(0.1)
    watch.cancel()


def stalls(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records
            if '"loop_stall"' in r.getMessage()]


def test_a_stall_is_logged_with_its_length_and_where_the_loop_was(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    asyncio.run(watched(0.3))
    [stall] = stalls(caplog)
    assert 250 <= stall["ms"] < 1000
    where = stall["where"]
    assert isinstance(where, list) and where[0].endswith("hold_the_loop"), where
    assert stall["cpu_ms"] < 50      # it waited: not the loop's own work


def test_a_stall_of_the_loops_own_work_shows_its_cpu(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    asyncio.run(watched(0.3, work_on_the_loop))
    [stall] = stalls(caplog)
    assert stall["cpu_ms"] >= 300 and stall["ms"] >= 250
    assert stall["where"][0].endswith("work_on_the_loop")


def test_a_loop_that_keeps_turning_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    asyncio.run(watched(0.0))
    assert stalls(caplog) == []
