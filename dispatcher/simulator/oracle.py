"""The forward-simulation oracle of the expected wait: from the exact live state at a
ticket's issue, the rest of the day played ``runs`` times through the same core, with
arrivals at the day's rates of the last hour (``forward.Model``), running services
drawn given how long they have lasted and, under ``balanced`` and ``capped``, the
console's moves going on as in the simulator. The estimate is the mean over the runs
of when the ticket is called (a run that never calls it counts until the day's end)."""

from __future__ import annotations

import random
from dataclasses import replace

from ..core import Dispatcher
from ..core.policy import BALANCING
from ..core.state import HallState
from ..hall import Hall
from .engine import _BALANCE, LiveRun, SimOptions
from .forward import Model, live_copy

STEP = 600.0      # how far the runs advance between looks at the ticket


def oracle_wait(hall: Hall, state: HallState, now: float, ticket: str, opts: SimOptions,
                runs: int = 4, seed: int = 0) -> float:
    """Mean seconds until ``ticket`` is called over ``runs`` forward runs from now."""
    model = Model.of(hall, state, now)
    day = state.day or hall.business_day(now)
    waits = []
    for i in range(runs):
        draw = model.draw(random.Random(f"oracle:{seed}:{ticket}:{i}"), 14 * 3600.0)
        core = Dispatcher(hall, live_copy(state))
        run = LiveRun(core, draw.arrivals, SimOptions(estimates=False, day=day), now,
                      draw.services, draw.left)
        if opts.policy in BALANCING:
            _go_on_balancing(run, opts, now)
        record = run.records[run.by_ticket[ticket]]
        at = now
        while record.called_at is None and run.heap:
            at += STEP
            run.run_until(at)
        waits.append((record.called_at if record.called_at is not None else at) - now)
    return sum(waits) / len(waits)


def _go_on_balancing(run: LiveRun, opts: SimOptions, now: float) -> None:
    """The console's rounds after ``now``, on the simulator's grid, under its policy."""
    run.opts = replace(run.opts, policy=opts.policy, rebalance_minutes=opts.rebalance_minutes)
    step = opts.rebalance_minutes * 60
    for (start, _), stop in zip(run.periods, run._overtime_ends(), strict=True):
        at = start + step
        while at < stop:
            if run.midnight + at > now:
                run.push(run.midnight + at, _BALANCE)
            at += step
