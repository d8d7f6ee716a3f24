"""Python's cyclic garbage collector, kept out of the command path.

A full collection walks every object the hub holds: the day's state, the resync
ring, 2,000 connections. At the biggest hall's peak that took 40–430 ms on the
2-core bench machine (bench/bench_peak.py, timed with ``gc.callbacks``), a pause
that every reply and every screen waits through; Python starts one whenever what
survived earlier collections has grown by a quarter, which a hub filling its day
and its connections does every few seconds.

So what the hub has built is moved out of the collector's sight (``gc.freeze``):
after its start, then every FREEZE_EVERY seconds; collections walk only what is
younger. A frozen object is still freed by reference counting like any other; only
garbage in reference cycles among frozen objects (a closed connection's, say) waits
for a full collection, which the hub runs when it has been idle for IDLE seconds (at
night, or in a lull), at most once every FULL_EVERY seconds.

Python's own full collections are switched off too. Python counts what reached the
oldest generation since its last full collection, and the hub never has one before
its first idle moment, so Python ran one every ten young collections: cheap while
only a second's survivors are unfrozen, but in a reconnect storm 2,000 connections
are built within that second, and each of those collections walked them all again
(one of 89 ms in bench_peak's storm, beside many just under the 50 ms that is
logged). Young collections still free the cycles that die young, which is most.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable

from .logs import log_json

FREEZE_EVERY = 1.0       # s between freezes of what survived
IDLE = 2.0               # s without a command: a full collection is not in anyone's way
FULL_EVERY = 3600.0      # s: full collections at most this often


SLOW = 0.05              # s: a collection that took longer is logged
NEVER = 2**31 - 1        # young collections between Python's own full ones: none


def freeze() -> None:
    """After the start: what the start built is kept for the day (frozen at once: a
    collection first would add 100-160 ms to a start at the biggest hall; the start's
    own cyclic garbage waits for the first full collection). From now on a slow
    collection is logged (``slow_collection``, with its generation and ms), and
    Python starts no full collection of its own."""
    gc.freeze()
    young, older, _ = gc.get_threshold()
    gc.set_threshold(young, older, NEVER)
    began = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        elif (took := time.perf_counter() - began[0]) >= SLOW:
            log_json("slow_collection", generation=info["generation"],
                     ms=round(took * 1e3, 1))
    gc.callbacks.append(watch)


async def keep_collections_short(activity: Callable[[], int],
                                 clock: Callable[[], float] = time.monotonic,
                                 tick: float = FREEZE_EVERY) -> None:
    """Freeze what survived every FREEZE_EVERY s; collect in full once idle (the
    ``activity`` count, commands committed, unchanged for IDLE s) and FULL_EVERY s
    after the last full collection. Looks every ``tick`` seconds."""
    last_full = last_freeze = quiet_since = clock()
    seen = activity()
    while True:
        await asyncio.sleep(tick)
        now, count = clock(), activity()
        if count != seen:
            seen, quiet_since = count, now
        if now - last_full >= FULL_EVERY and now - quiet_since >= IDLE:
            last_full = last_freeze = now
            took, freed = collect_all()
            log_json("full_collection", ms=round(took * 1e3, 1), freed=freed)
        elif now - last_freeze >= FREEZE_EVERY:
            last_freeze = now
            gc.freeze()


def collect_all() -> tuple[float, int]:
    """Unfreeze, collect everything, freeze again: the seconds it took, and how many
    objects it found unreachable (cyclic garbage: about one a ticket in a test hub)."""
    began = time.perf_counter()
    gc.unfreeze()
    freed = gc.collect()
    gc.freeze()
    return time.perf_counter() - began, freed
