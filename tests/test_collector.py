"""The hub keeps Python's garbage collector out of its command path (hub/collector.py):
what survived is frozen out of the collector's walks as the day goes on, and a full
collection, which walks everything and frees cycles among the frozen, runs only once
the hall is idle."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref
from collections.abc import Iterator

import pytest

from dispatcher.hub import collector


class Node:
    other: Node


async def run_for(activity: list[int], step: float) -> None:
    """The collector's loop, one look per count of commands in ``activity``, ``step``
    seconds apart by its clock."""
    now = [0.0]
    counts = iter(activity)
    task = asyncio.ensure_future(collector.keep_collections_short(
        lambda: next(counts, activity[-1]), lambda: now[0], tick=0))
    for _ in range(len(activity) + 2):
        await asyncio.sleep(0)
        now[0] += step
    task.cancel()


@pytest.fixture(autouse=True)
def unfrozen() -> Iterator[None]:
    """Each test as the collector found it: nothing frozen, Python's own thresholds
    and callbacks (collector.freeze changes them for the hub's process)."""
    threshold, callbacks = gc.get_threshold(), list(gc.callbacks)
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.callbacks[:] = callbacks


def frozen_cycle() -> weakref.ref[Node]:
    """Two objects that refer to each other and to nothing else, frozen."""
    a, b = Node(), Node()
    a.other, b.other = b, a
    gc.freeze()
    return weakref.ref(a)


def test_what_survived_is_frozen_while_the_hall_is_busy(caplog: pytest.LogCaptureFixture
                                                         ) -> None:
    caplog.set_level("INFO")
    cycle = frozen_cycle()
    gc.unfreeze()
    busy = list(range(100))           # a command committed at every look
    asyncio.run(run_for(busy, collector.FREEZE_EVERY))
    assert gc.get_freeze_count() > 0
    assert "full_collection" not in caplog.text      # never in anyone's way
    gc.collect()
    assert cycle() is not None       # frozen: the collections did not walk it


def test_a_cycle_among_frozen_objects_is_freed_once_the_hall_is_idle(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    cycle = frozen_cycle()
    gc.collect()
    assert cycle() is not None
    looks = int(collector.FULL_EVERY / collector.IDLE)
    busy_then_idle = list(range(looks)) + [looks] * 5     # an hour busy, then quiet
    asyncio.run(run_for(busy_then_idle, collector.IDLE))
    assert cycle() is None
    assert caplog.text.count('"full_collection"') == 1
    full = [json.loads(r.getMessage()) for r in caplog.records
            if "full_collection" in r.getMessage()]
    assert full[0]["freed"] >= 2          # the cycle's two objects at least
    assert gc.get_freeze_count() > 0                       # frozen again after it


def test_a_slow_collection_is_logged_with_its_generation(
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level("INFO")
    monkeypatch.setattr(collector, "SLOW", 0.0)      # every collection counts as slow
    collector.freeze()
    gc.collect(1)
    logged = [r.getMessage() for r in caplog.records if "slow_collection" in r.getMessage()]
    assert any('"generation": 1' in line and '"ms": ' in line for line in logged), logged


def test_a_storm_of_new_objects_starts_no_full_collection_after_the_freeze() -> None:
    """A reconnect storm builds thousands of connections within a second: only young
    collections may walk them. (Python, left to itself, ran a full one every ten young
    collections, walking all of them again each time.)"""
    walked: list[int] = []
    gc.collect()
    collector.freeze()
    gc.callbacks.append(lambda phase, info: phase == "start" and walked.append(
        info["generation"]))
    # more survivors than the process held: what would make Python walk them all
    kept = [[i] for i in range(len(gc.get_objects()) + 100_000)]
    assert len(kept) > 100_000 and walked, "no young collection ran"
    assert 2 not in walked, f"{walked.count(2)} full collections"
