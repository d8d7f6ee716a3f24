"""What a simulated day comes to: waits per zone, loop and queue, windows' utilisation,
no-shows, tickets left at closing, and each estimator's error against the actual wait.

A ticket still waiting when the day's overtime ran out is counted in the waits with
the wait it had by then (a lower bound: it never got a window), so a policy that
leaves tickets behind is not flattered by leaving them out.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from ..core.policy import hall_for
from ..hall import TICKET_CLASSES
from ..stats import percentile
from .engine import Outcome, TicketRecord, day_start
from .estimates import ESTIMATORS

LOOPS = {"big_loop": "big loop", "unit": "small loop", "line": "lines"}
WITHIN = 300.0  # an estimate within ±5 minutes of the actual wait counts as right


@dataclass(frozen=True)
class WaitStats:
    tickets: int
    mean: float        # minutes
    p50: float
    p90: float
    p95: float
    max: float
    within_target: float   # share called within their queue's overdue_minutes
    no_shows: int
    left: int              # never called: still waiting at closing


def closing(outcome: Outcome) -> float:
    """When the last period's overtime ended: a ticket still waiting then was left."""
    return day_start(outcome.hall, outcome.options.day) + outcome.closed_at


def wait_of(record: TicketRecord, closed: float) -> float:
    return record.wait if record.wait is not None else closed - record.issued_at


def wait_stats(outcome: Outcome, records: list[TicketRecord]) -> WaitStats | None:
    issued = [r for r in records if r.ticket is not None]
    if not issued:
        return None
    closed = closing(outcome)
    waits = sorted(wait_of(r, closed) / 60 for r in issued)
    queues = outcome.hall.queues
    on_time = sum(r.wait is not None and r.wait <= queues[r.arrival.queue].overdue_seconds
                  for r in issued)
    return WaitStats(len(issued), statistics.fmean(waits), percentile(waits, 50),
                     percentile(waits, 90), percentile(waits, 95), waits[-1],
                     on_time / len(issued), sum(r.no_show for r in issued),
                     sum(r.wait is None for r in issued))


def groups(outcome: Outcome) -> dict[str, list[TicketRecord]]:
    """The records by hall, zone, loop, queue (the queue the citizen came for) and
    ticket class, in the hall file's order."""
    hall = outcome.hall
    keys = (("zone", tuple(hall.zones), lambda r: r.arrival.zone),
            ("loop", tuple(LOOPS.values()), lambda r: LOOPS[hall.queues[r.arrival.queue].kind]),
            ("queue", tuple(hall.queues), lambda r: r.arrival.queue),
            ("class", TICKET_CLASSES, lambda r: r.arrival.ticket_class))
    found: dict[str, list[TicketRecord]] = {"hall": list(outcome.records)}
    for prefix, order, key in keys:
        by: dict[str, list[TicketRecord]] = {}
        for record in outcome.records:
            by.setdefault(key(record), []).append(record)
        found.update({f"{prefix} {k}": by[k] for k in order if k in by})
    return found


@dataclass(frozen=True)
class Utilisation:
    mean: float
    stdev: float
    min: float
    max: float


def utilisation(outcome: Outcome, zone: str | None = None) -> Utilisation:
    """Each window's time holding a ticket over the hall's opening time (overtime makes
    more than 1 possible)."""
    shares = [busy / outcome.open_seconds for w, busy in sorted(outcome.busy.items())
              if zone is None or outcome.hall.windows[w].zone == zone]
    return Utilisation(statistics.fmean(shares), statistics.pstdev(shares), min(shares),
                       max(shares))


@dataclass(frozen=True)
class Accuracy:
    tickets: int
    mae: float          # minutes
    within: float       # share within ±5 minutes
    bias: float         # mean (estimate − actual), minutes


def accuracy(outcome: Outcome) -> dict[str, Accuracy]:
    """Each estimator's error on the tickets that were called and had an estimate."""
    found = {}
    for name in ESTIMATORS:
        pairs = [(getattr(r.estimates, name), r.wait) for r in outcome.records
                 if r.estimates is not None and r.wait is not None
                 and getattr(r.estimates, name) is not None]
        if not pairs:
            continue
        errors = [(e - w) / 60 for e, w in pairs]
        found[name] = Accuracy(len(pairs), statistics.fmean(abs(x) for x in errors),
                               sum(abs(x) * 60 <= WITHIN for x in errors) / len(pairs),
                               statistics.fmean(errors))
    return found


@dataclass(frozen=True)
class AcrossZones:
    called: int        # tickets called to a window of another zone than their kiosk's
    not_allowed: int   # of them, of a queue that keeps its zones apart (no cross_zone)


def across_zones(outcome: Outcome) -> AcrossZones:
    """Tickets called across zones, under the policy's hall (``pooled`` lets any window
    call any ticket; the hall file lets only its ``cross_zone`` queues)."""
    hall = outcome.hall
    policy_hall = hall_for(hall, outcome.options.policy)
    called = not_allowed = 0
    for r in outcome.records:
        if r.window is None or r.window not in hall.windows:
            continue
        if hall.windows[r.window].zone != r.arrival.zone:
            called += 1
            queue = policy_hall.queues[_queue_called(outcome, r)]
            not_allowed += not queue.cross_zone and r.arrival.zone in queue.zones
    return AcrossZones(called, not_allowed)


def _queue_called(outcome: Outcome, record: TicketRecord) -> str:
    """The queue the ticket was called from: its own, or under ``dedicated`` the unit
    a big-loop ticket was dealt to (its number's prefix)."""
    prefix = (record.ticket or "").rsplit("-", 1)[-1].rstrip("0123456789")
    return next((q.id for q in outcome.hall.queues.values() if q.prefix == prefix),
                record.arrival.queue)


def summary(outcome: Outcome) -> dict:
    """The whole report as plain data (the --json output)."""
    return {
        "policy": outcome.options.policy,
        "seed": outcome.options.seed,
        "tickets": len(outcome.records),
        "refused": sum(r.ticket is None for r in outcome.records),
        "moves": outcome.moves,
        "waits_min": {k: vars(s) for k, recs in groups(outcome).items()
                      if (s := wait_stats(outcome, recs)) is not None},
        "utilisation": {"hall": vars(utilisation(outcome)),
                        **{f"zone {w.zone}": vars(utilisation(outcome, w.zone))
                           for w in outcome.hall.windows.values()}},
        "estimators": {name: vars(a) for name, a in accuracy(outcome).items()},
        "across_zones": vars(across_zones(outcome)),
    }
