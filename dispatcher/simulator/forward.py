"""The predicted effect of a balancing move: the simulator run forward from the live
state, with and without the move (docs/dispatch.md, "Predicted effect of a move, and
its error").

The model of the next ``horizon`` seconds, from the live state at ``now``:

- the tickets waiting at ``now`` stay waiting, in their places; their waits so far count;
- a window holding a ticket is free after the rest of a service drawn from the queue's
  lognormal (mean ``estimate.mean_service``, cv ``CV``) *conditioned on the time it
  has already taken* (a long service tends to go on); idle windows call at once what
  they may; paused and closed windows stay so until a period of the hall opens, and
  when a period ends windows close as in the simulator (30 minutes' overtime);
- arrivals: Poisson per (queue, class) at the rates issued over the last ``LOOKBACK``
  seconds of opening time (the day so far when the hall has been open less), only
  while the hall is open; their service times drawn like the running ones;
- no no-shows, no further moves (every window keeps its profile but the moved one);
- measured: each ticket waiting at ``now`` or issued within the horizon, its wait until
  called; a ticket not called by the end of the horizon counts with the wait it has
  then (a lower bound, as the simulator counts a ticket left at closing).

Each run draws its citizens once and plays them twice, without and with the move
(common random numbers), through the same dispatch core as the simulator.
"""

from __future__ import annotations

import bisect
import copy
import itertools
import math
import random
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from statistics import NormalDist

from ..core import Dispatcher
from ..core.commands import SetProfile
from ..core.estimate import mean_service
from ..core.state import HallState, TicketState
from ..hall import Hall
from .arrivals import Arrival, open_periods
from .engine import LiveRun, SimOptions, TicketRecord, day_start

CV = 0.7             # the simulator's lognormal service times
LOOKBACK = 3600.0    # arrival rates: over the last hour of opening time
_LIVE = (TicketState.WAITING, TicketState.CALLED, TicketState.SERVING, TicketState.HELD)
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Effect:
    """A move's predicted effect on the mean wait of the queues it involves (minutes)."""

    queues: tuple[str, ...]            # the moved window's main and side queues, before and after
    horizon_minutes: float
    runs: int
    before: dict[str, float]           # per queue, the mean wait without the move
    after: dict[str, float]            # ... and with it
    mean_before: float                 # over the tickets of all the queues involved
    mean_after: float
    worst_before: float                # the largest of the queues' mean waits
    worst_after: float
    tickets: int = 0                   # tickets measured, over all runs (per variant)
    spread: float = 0.0                # standard deviation over the runs of one run's
                                       # effect on the mean: how far one hour may stray

    def to_dict(self) -> dict:
        """The ``predicted`` object of a suggestion (docs/protocol.md)."""
        return {"horizon_minutes": self.horizon_minutes, "runs": self.runs,
                "mean_before": round(self.mean_before, 2),
                "mean_after": round(self.mean_after, 2),
                "worst_before": round(self.worst_before, 2),
                "worst_after": round(self.worst_after, 2),
                "spread": round(self.spread, 2),
                "queues": {q: {"before": round(self.before[q], 2),
                               "after": round(self.after[q], 2)} for q in self.queues}}


@dataclass(frozen=True)
class Draw:
    """The citizens of one run: who comes (with their service times), how long each
    waiting ticket's service will take, when each busy window is free."""

    arrivals: list[Arrival]
    services: dict[str, float]         # waiting ticket -> seconds at the window
    left: dict[str, float]             # busy window -> seconds until it is free


def predict_move(hall: Hall, state: HallState, now: float, move: SetProfile, *,
                 horizon: float = 3600.0, runs: int = 8, seed: int = 0,
                 rates: dict[tuple[str, str], float] | None = None,
                 means: dict[str, float] | None = None) -> Effect:
    """The move's predicted effect over ``horizon`` seconds: ``runs`` forward runs from
    the live state, each played without and with the move on the same draws. Pure: the
    state is not changed. Raises DispatchError when the core refuses the move.
    ``rates`` (tickets per second per (queue, class)) and ``means`` (service seconds per
    queue) replace the ones read from the state, for a better forecast than the day's."""
    return predict_moves(hall, state, now, [move], horizon=horizon, runs=runs, seed=seed,
                         rates=rates, means=means)[0]


def predict_moves(hall: Hall, state: HallState, now: float, moves: Sequence[SetProfile], *,
                  horizon: float = 3600.0, runs: int = 8, seed: int = 0,
                  rates: dict[tuple[str, str], float] | None = None,
                  means: dict[str, float] | None = None) -> list[Effect]:
    """``predict_move`` for several moves at one moment, the runs without a move shared:
    each effect is the one ``predict_move`` gives for the move alone, for k moves in
    (k + 1) / 2k of the time."""
    for move in moves:  # refused moves fail here, the state untouched
        Dispatcher(hall, state).decide(move, now)
    model = Model.of(hall, state, now, rates, means)
    sets = [involved_queues(state, move) for move in moves]
    before = [{q: [] for q in queues} for queues in sets]
    after = [{q: [] for q in queues} for queues in sets]
    effects: list[list[float]] = [[] for _ in moves]
    for i in range(runs):
        draw = model.draw(random.Random(f"forward:{seed}:{i}"), horizon)
        base = play(hall, state, now, draw, None, horizon)
        for k, move in enumerate(moves):
            moved = play(hall, state, now, draw, move, horizon)
            effects[k].append(_collect(after[k], moved) - _collect(before[k], base))
    return [replace(effect(queues, horizon, runs, b, a),
                    spread=statistics.stdev(e) if len(e) > 1 else 0.0)
            for queues, b, a, e in zip(sets, before, after, effects, strict=True)]


def _collect(waits: dict[str, list[float]], found: list[tuple[str, float]]) -> float:
    """The run's waits of the queues in ``waits`` added to them; their mean in minutes."""
    mine = [w for q, w in found if q in waits]
    for queue, wait in found:
        if queue in waits:
            waits[queue].append(wait)
    return _mean(mine) / 60


def involved_queues(state: HallState, move: SetProfile) -> tuple[str, ...]:
    """The moved window's main and side queues, now and after the move."""
    now = state.windows[move.window].profile
    return tuple(sorted({*now.main, *now.side, *move.main, *move.side}))


def effect(queues: tuple[str, ...], horizon: float, runs: int,
           before: dict[str, list[float]], after: dict[str, list[float]]) -> Effect:
    """Per-queue and ticket-weighted mean waits (seconds in, minutes out)."""
    def means(waits: dict[str, list[float]]) -> dict[str, float]:
        return {q: _mean(waits[q]) / 60 for q in queues}

    def pooled(waits: dict[str, list[float]]) -> float:
        return _mean(list(itertools.chain.from_iterable(waits.values()))) / 60

    b, a = means(before), means(after)
    return Effect(queues, horizon / 60, runs, b, a, pooled(before), pooled(after),
                  max(b.values(), default=0.0), max(a.values(), default=0.0),
                  sum(map(len, before.values())))


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


# ------------------------------------------------------------------ the model


@dataclass(frozen=True)
class Model:
    """What the forward runs draw from, read once from the live state."""

    hall: Hall
    now: float
    rates: dict[tuple[str, str], float]      # (queue, class) -> tickets per second
    means: dict[str, float]                  # queue -> mean service seconds
    periods: list[tuple[float, float]]       # the day's opening periods, epoch seconds
    midnight: float
    waiting: list[tuple[str, str]]           # (ticket, queue) waiting now, by id
    busy: list[tuple[str, str, float]]       # (window, queue, seconds at it so far), by id
    # queue -> (zone, cumulative share) of its tickets of today by kiosk zone, where the
    # queue keeps its zones apart: where the citizens to come take their numbers
    zones: dict[str, list[tuple[str, float]]] = field(default_factory=dict)

    @classmethod
    def of(cls, hall: Hall, state: HallState, now: float,
           rates: dict[tuple[str, str], float] | None = None,
           means: dict[str, float] | None = None) -> Model:
        midnight = day_start(hall, state.day or hall.business_day(now))
        periods = [(midnight + s, midnight + e) for s, e in open_periods(hall)]
        waiting = sorted((t.id, t.queue) for t in state.tickets.values()
                         if t.state is TicketState.WAITING)
        busy = []
        for wid, window in sorted(state.windows.items()):
            if window.ticket is not None:
                ticket = state.tickets[window.ticket]
                began = ticket.started_at if ticket.started_at is not None else ticket.called_at
                busy.append((wid, ticket.queue, now - (began if began is not None else now)))
        if means is None:
            means = {q: mean_service(hall, state, q, now) for q in hall.queues}
        if rates is None:
            rates = arrival_rates(state, now, periods)
        return cls(hall, now, rates, means, periods, midnight, waiting, busy,
                   zone_shares(hall, state, now))

    def draw(self, rng: random.Random, horizon: float) -> Draw:
        services = {t: self.service(rng, q) for t, q in self.waiting}
        left = {w: self.service(rng, q, elapsed) for w, q, elapsed in self.busy}
        return Draw(self.arrivals(rng, horizon), services, left)

    def service(self, rng: random.Random, queue: str, elapsed: float = 0.0) -> float:
        """A lognormal service time of the queue, or, for one that has lasted ``elapsed``
        seconds, the rest of one drawn given that it lasted that long."""
        sigma = math.sqrt(math.log(1.0 + CV * CV))
        mu = math.log(self.means[queue]) - sigma * sigma / 2
        low = _NORMAL.cdf((math.log(elapsed) - mu) / sigma) if elapsed > 0 else 0.0
        u = low + (1.0 - low) * rng.random()
        u = min(max(u, 1e-12), 1.0 - 1e-12)
        return max(math.exp(mu + sigma * _NORMAL.inv_cdf(u)) - elapsed, 0.0)

    def arrivals(self, rng: random.Random, horizon: float) -> list[Arrival]:
        """Poisson arrivals over the opening time within the horizon."""
        total = sum(self.rates.values())
        if total <= 0:
            return []
        keys = list(self.rates)
        cumulative = list(itertools.accumulate(self.rates[k] for k in keys))
        found = []
        for start, end in self.periods:
            at, stop = max(start, self.now), min(end, self.now + horizon)
            while stop > at:
                at += rng.expovariate(total)
                if at >= stop:
                    break
                queue, ticket_class = keys[bisect.bisect_right(cumulative,
                                                               rng.random() * total)]
                found.append(Arrival(at - self.midnight, self.zone(rng, queue),
                                     queue, ticket_class, self.service(rng, queue)))
        return found

    def zone(self, rng: random.Random, queue: str) -> str:
        """The kiosk zone of a citizen to come (a draw only where the zone matters)."""
        shares = self.zones.get(queue)
        if not shares:
            return self.hall.queues[queue].zones[0]
        u = rng.random()
        return next((z for z, upto in shares if u < upto), shares[-1][0])


def zone_shares(hall: Hall, state: HallState, now: float) -> dict[str, list[tuple[str, float]]]:
    """Per queue offered in several zones and kept apart, the cumulative share of each
    zone among today's tickets of the queue issued by ``now`` (those with a zone)."""
    counts = Counter((t.queue, t.zone) for t in state.tickets.values()
                     if t.issued_at <= now and t.zone is not None)
    found = {}
    for qid, queue in hall.queues.items():
        if queue.cross_zone or len(queue.zones) < 2:
            continue
        n = [counts[(qid, z)] for z in queue.zones]
        if sum(n):
            found[qid] = list(zip(queue.zones, itertools.accumulate(x / sum(n) for x in n),
                                  strict=True))
    return found


def arrival_rates(state: HallState, now: float, periods: list[tuple[float, float]],
                  lookback: float = LOOKBACK) -> dict[tuple[str, str], float]:
    """Tickets per second per (queue, class) issued over the last ``lookback`` seconds of
    opening time before ``now`` (the day so far if the hall has been open less)."""
    since, open_s = now, 0.0
    for start, end in reversed(periods):
        if start >= now or open_s >= lookback:
            continue
        stretch = min(end, now) - start
        take = min(stretch, lookback - open_s)
        open_s += take
        since = min(end, now) - take
    if open_s <= 0:
        return {}
    counts = Counter((t.queue, t.ticket_class) for t in state.tickets.values()
                     if since <= t.issued_at <= now)
    return {k: n / open_s for k, n in sorted(counts.items())}


# ------------------------------------------------------------------ the runs


def play(hall: Hall, state: HallState, now: float, draw: Draw, move: SetProfile | None,
         horizon: float) -> list[tuple[str, float]]:
    """One forward run on a copy of the state: (queue, wait seconds) per ticket measured."""
    core = Dispatcher(hall, live_copy(state))
    if move is not None:
        core.execute(move, now)
    day = state.day or hall.business_day(now)
    run = LiveRun(core, draw.arrivals, SimOptions(estimates=False, day=day), now,
                  draw.services, draw.left)
    run.run_until(now + horizon)
    return waits(run.records, set(draw.services), now, now + horizon)


def waits(records: Iterable[TicketRecord], waiting: set[str], since: float,
          until: float) -> list[tuple[str, float]]:
    """(queue, seconds) of each ticket in ``waiting`` or issued after ``since``: its wait
    until called, or until ``until`` if it was not called by then."""
    found = []
    for r in records:
        if r.ticket is None or not (r.ticket in waiting or since < r.issued_at <= until):
            continue
        called = r.called_at if r.called_at is not None and r.called_at <= until else until
        found.append((r.arrival.queue, called - r.issued_at))
    return found


def live_copy(state: HallState) -> HallState:
    """What a forward run needs of the state, sharing nothing it could change: the
    tickets waiting, held or at a window, the lines, the windows and the numbering."""
    return HallState(
        day=state.day, day_closed=state.day_closed, serial=state.serial,
        sequences=dict(state.sequences),
        tickets={tid: copy.copy(t) for tid, t in state.tickets.items() if t.state in _LIVE},
        windows={w: copy.copy(s) for w, s in state.windows.items()},
        queue_lines={q: list(line) for q, line in state.queue_lines.items()},
        window_lines={w: list(line) for w, line in state.window_lines.items()},
        planned_profiles=dict(state.planned_profiles),
        held={w: list(ts) for w, ts in state.held.items()},
    )
