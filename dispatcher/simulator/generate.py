"""Arrival files for a day profile: non-homogeneous over the day, Poisson given the count.

Given the number of tickets N, the arrival times of a non-homogeneous Poisson day are
N independent draws from its intensity, normalised; so a day is N draws from the
profile's shape (zero while the hall is closed: the lunch break, the night).

The business of each ticket is drawn from a mix: each queue in proportion to the
tickets its windows can serve (its main windows' time ÷ its service time), times a
lognormal factor of spread ``mix_spread`` for today (the hall was staffed for the
average day; today's demand differs). The zone is drawn among the queue's zones in
proportion to the windows there that call it; the service time from the queue's
``service_minutes`` with the chosen distribution.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass

from ..hall import Hall
from .arrivals import Arrival, open_periods
from .service import draw_service

# Shapes of a day: (hour, relative intensity) knots, linear in between.
DAY_PROFILES: dict[str, tuple[tuple[float, float], ...]] = {
    "flat": ((0, 1.0), (24, 1.0)),
    "morning-peak": ((9, 1.6), (10, 2.0), (11, 1.4), (12, 0.8), (13, 0.8), (15, 0.7),
                     (17, 0.4)),
    "two-peaks": ((9, 1.0), (10, 1.8), (11.5, 1.0), (12, 0.6), (13, 0.8), (15, 1.5),
                  (16.5, 0.8), (17, 0.5)),
}


@dataclass(frozen=True)
class GenOptions:
    day_profile: str = "two-peaks"
    tickets: int | None = None      # None: as many as make ``load``
    load: float = 0.85              # offered work ÷ the windows' open time
    seed: int = 1
    mix_spread: float = 0.5
    green: float = 0.03
    appointment: float = 0.05
    service_dist: str = "lognormal"
    service_cv: float = 0.7


def intensity(profile: str, hour: float) -> float:
    knots = DAY_PROFILES[profile]
    hours = [h for h, _ in knots]
    i = bisect.bisect_right(hours, hour)
    if i == 0:
        return knots[0][1]
    if i == len(knots):
        return knots[-1][1]
    (h0, v0), (h1, v1) = knots[i - 1], knots[i]
    return v0 + (v1 - v0) * (hour - h0) / (h1 - h0)


def queue_capacity(hall: Hall) -> dict[str, float]:
    """Tickets per second each queue's main windows can serve (a window with several
    main queues split evenly between them)."""
    cap = dict.fromkeys(hall.queues, 0.0)
    for window in hall.windows.values():
        for q in window.profile.main:
            cap[q] += 1.0 / len(window.profile.main) / hall.queues[q].service_seconds
    return cap


def generate(hall: Hall, opts: GenOptions) -> list[Arrival]:
    if opts.day_profile not in DAY_PROFILES:
        raise ValueError(f"unknown day profile {opts.day_profile!r}: one of "
                         f"{', '.join(DAY_PROFILES)}")
    rng = random.Random(opts.seed)
    mix = _mix(hall, rng, opts.mix_spread)
    n = opts.tickets if opts.tickets is not None else _tickets_for_load(hall, mix, opts.load)
    times = _times(hall, opts.day_profile, n, rng)
    queues, weights = list(mix), list(mix.values())
    zones = {q: _zone_weights(hall, q) for q in queues}
    arrivals = []
    for at in times:
        queue = rng.choices(queues, weights)[0] if len(queues) > 1 else queues[0]
        zone = rng.choices(*zones[queue])[0] if len(zones[queue][0]) > 1 else zones[queue][0][0]
        cls = _class(rng, opts)
        service = draw_service(rng, hall.queues[queue].service_seconds, opts.service_dist,
                               opts.service_cv)
        arrivals.append(Arrival(at, zone, queue, cls, round(service, 1) or 0.1))
    return arrivals


def _mix(hall: Hall, rng: random.Random, spread: float) -> dict[str, float]:
    cap = queue_capacity(hall)
    factors = {q: rng.lognormvariate(-spread * spread / 2, spread) if spread else 1.0
               for q in sorted(cap)}
    raw = {q: cap[q] * factors[q] for q in cap}
    total = sum(raw.values())
    return {q: w / total for q, w in raw.items()}


def offered_load(hall: Hall, arrivals: list[Arrival]) -> float:
    """The arrivals' service work ÷ the windows' open time."""
    work = sum(a.service_seconds or hall.queues[a.queue].service_seconds for a in arrivals)
    return work / (len(hall.windows) * _open_seconds(hall))


def _open_seconds(hall: Hall) -> float:
    return sum(end - start for start, end in open_periods(hall))


def _tickets_for_load(hall: Hall, mix: dict[str, float], load: float) -> int:
    mean = sum(share * hall.queues[q].service_seconds for q, share in mix.items())
    return round(load * len(hall.windows) * _open_seconds(hall) / mean)


def _times(hall: Hall, profile: str, n: int, rng: random.Random) -> list[float]:
    """n arrival times (seconds after midnight) drawn from the profile, minute by minute."""
    minutes = [m for start, end in open_periods(hall)
               for m in range(math.ceil(start / 60), math.floor(end / 60))]
    cumulative, total = [], 0.0
    for m in minutes:
        total += intensity(profile, (m + 0.5) / 60)
        cumulative.append(total)
    picks = (bisect.bisect_right(cumulative, rng.random() * total) for _ in range(n))
    return sorted(60.0 * minutes[min(i, len(minutes) - 1)] + 60.0 * rng.random()
                  for i in picks)


def _zone_weights(hall: Hall, queue: str) -> tuple[list[str], list[int]]:
    """The queue's zones, and in each the windows that call it (all 1 if none do)."""
    zones = list(hall.queues[queue].zones)
    weights = [sum(w.zone == z and queue in w.profile.queues for w in hall.windows.values())
               for z in zones]
    return zones, weights if any(weights) else [1] * len(zones)


def _class(rng: random.Random, opts: GenOptions) -> str:
    u = rng.random()
    if u < opts.green:
        return "green"
    return "appointment" if u < opts.green + opts.appointment else "normal"
