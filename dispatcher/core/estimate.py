"""Queue status and expected wait: pure reads of the state, time passed in.

The printed estimate (docs/dispatch.md, "Expected wait") replays the calls ahead of
the ticket with the core's own rules (core/replay.py, since issue 17), and where it
is 10 minutes or more comes with a calibrated range (``wait_range``). The projection
it replaced is kept for comparison (``projected=True``), and used when the replay
does not reach the ticket; it projects the calls ahead of the ticket:

    expected wait = T₁ + ahead / R

``R`` is the rate at which the windows that may call the line will call it: each
working window gives ``share / cycle``, where ``share`` is the part of its calls that
will go to this line (its main lines in proportion to their length; a side window
only while its main work is empty, else a little) and ``cycle`` the mean length of
its calls. ``T₁``, the wait for the first of those calls, is ``1 / Σ share / r``
with ``r`` each window's expected remaining time on the ticket it holds (0 when it
is idle), from the queue's recent service times and how long the ticket has been
at the desk. Mean service times are the queue's last RECENT services today, or its
configured ``service_minutes`` before there are any.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import sys
from collections.abc import Iterable

from ..hall import Hall
from .errors import DispatchError
from .replay import Replay
from .selection import callable_by
from .state import WORKING, HallState, Ticket, TicketState, WindowStatus

RECENT = 20  # completed services the mean is taken over
SIDE_WEIGHT = 0.5  # the first estimator: a side window gives the queue about half its time
SIDE_BUSY = 0.1  # a side window whose main work waits: calls the line only when overdue
PRIOR = 5  # the replay's mean service: the configured mean counts as this many services
# The printed range: 80% of the waits fell within these factors of the replay's wait on
# ten generated busy days under loops+side (seeds 101-110: 20,000 tickets; the 10th and
# 90th percentiles of wait ÷ estimate), by the wait (seconds, up to); under balanced the
# spread is narrower, so the range is wider than it needs there. Under RANGE_FROM the
# wait alone is printed (the spread is a few minutes). Measured on seeds 1-30 by
# dispatcher/simulator/accuracy.py (docs/dispatch.md, "Expected wait").
RANGE_SHARE = 0.8
RANGE_FROM = 600.0
WAIT_RANGE = ((1200.0, 0.56, 1.43), (2400.0, 0.71, 1.39), (4800.0, 0.70, 1.32),
              (math.inf, 0.71, 1.15))
MIN_SERVICE = 1.0  # seconds: a mean of zero-length services divides nothing by zero
RESIDUAL_FLOOR = 0.25  # before any service is known: at least this share of a mean is left
_SECONDS = operator.itemgetter(1)
# sum() adds floats one after the other before Python 3.12 (since, it compensates):
# there a running total gives the same, without walking the day's services each time
_RUNNING_SUM = sys.version_info < (3, 12)


def queue_status(hall: Hall, state: HallState, now: float,
                 projected: bool = False, zone: str | None = None) -> dict[str, dict]:
    """Per queue: tickets waiting in its line, the working windows that have it as main
    and as side work, and the expected wait of a ticket taken now (the replay; with
    ``projected``, the projection printed before issue 17). ``zone``: taken at a kiosk
    of that zone, so only that zone's line and windows count where the queue keeps its
    zones apart (None: the whole hall, as a ticket the console issues)."""
    view = _View(hall, state, now)
    status = {}
    for qid in hall.queues:
        waiting = zone_waiting(hall, state, qid, zone)
        main, side = working_windows(state, qid, hall, zone)
        status[qid] = {"waiting": waiting, "windows": main, "side_windows": side,
                       "expected_wait_s": None}
    served = [q for q, s in status.items() if s["windows"] or s["side_windows"]]
    found = {} if projected else view.replay(served, {f"?{q}" for q in served}, zone)
    for qid in served:
        wait = found.get(f"?{qid}")
        status[qid]["expected_wait_s"] = (wait if wait is not None else
                                          view.wait(qid, status[qid]["waiting"], zone))
    for qs in status.values():
        qs["expected_wait_range_s"] = wait_range(qs["expected_wait_s"])
    return status


def ticket_status(hall: Hall, state: HallState, ticket_id: str, now: float,
                  projected: bool = False) -> dict:
    """Where a ticket stands: its state, how many wait ahead of it in its line and,
    while it waits, its expected wait from now (the replay; with ``projected``, the
    projection printed before issue 17, kept for the comparison)."""
    ticket = state.tickets.get(ticket_id)
    if ticket is None:
        raise DispatchError("unknown_ticket", f"no ticket {ticket_id} today", ticket=ticket_id)
    waiting = ticket.state is TicketState.WAITING
    ahead = _ahead(hall, state, ticket) if waiting else 0
    wait = _ticket_wait(hall, state, ticket, ahead, now, projected) if waiting else None
    return {"ticket": ticket.id, "number": ticket.number, "queue": ticket.queue,
            "state": str(ticket.state), "window": ticket.window, "ahead": ahead,
            "expected_wait_s": wait, "expected_wait_range_s": wait_range(wait)}


def _ahead(hall: Hall, state: HallState, ticket: Ticket) -> int:
    """Tickets ahead of a waiting ticket in its own line: of its queue's line, those a
    window of its zone may call (all of them when any window may call it)."""
    line = state.line_of(ticket)
    at = bisect.bisect_left(line, (*ticket.place, ticket.id))
    if ticket.window is not None or _open(hall, ticket) or _one_zone(hall, ticket.queue):
        return at
    return sum(callable_by(hall, state.tickets[tid], ticket.zone) for *_, tid in line[:at])


def _one_zone(hall: Hall, queue: str) -> bool:
    """A queue offered in one zone: its windows may call every ticket of its line (one
    taken elsewhere is in a queue its zone does not offer: callable_by), so nobody
    ahead needs looking at. It keeps the count O(1) on long lines."""
    return len(hall.queues[queue].zones) <= 1


def _open(hall: Hall, ticket: Ticket) -> bool:
    """Any window may call the ticket (no zone of its queue's, or a cross_zone queue)."""
    queue = hall.queues[ticket.queue]
    return ticket.zone is None or queue.cross_zone or ticket.zone not in queue.zones


def zone_waiting(hall: Hall, state: HallState, queue: str, zone: str | None) -> int:
    """Tickets of the queue's line that a ticket taken now in ``zone`` waits behind."""
    line = state.queue_lines.get(queue, ())
    if zone is None or hall.queues[queue].cross_zone or zone not in hall.queues[queue].zones \
            or _one_zone(hall, queue):
        return len(line)
    return sum(callable_by(hall, state.tickets[tid], zone) for *_, tid in line)


def wait_range(wait: float | None) -> list[float] | None:
    """[low, high] seconds that RANGE_SHARE of citizens told ``wait`` waited within,
    when the wait is RANGE_FROM or more; else None (the wait alone is printed)."""
    if wait is None or wait < RANGE_FROM:
        return None
    low, high = next((lo, hi) for upto, lo, hi in WAIT_RANGE if wait < upto)
    return [wait * low, wait * high]


def _ticket_wait(hall: Hall, state: HallState, ticket: Ticket, ahead: int,
                 now: float, projected: bool = False) -> float | None:
    view = _View(hall, state, now)
    if ticket.window is None:
        projection = view.wait(ticket.queue, ahead, None if _open(hall, ticket) else ticket.zone)
        if projected or projection is None:
            return projection  # None: no working window may call the line
        return view.replay((), {ticket.id}).get(ticket.id, projection)
    # sent to a window by name: it waits for that window alone, and comes first there
    window = state.windows[ticket.window]
    if window.state not in WORKING:
        return None
    return view.remaining(window) + ahead * mean_service(hall, state, ticket.queue, now)


class _View:
    """One moment of the hall, computed lazily once for all the queues asked about."""

    def __init__(self, hall: Hall, state: HallState, now: float) -> None:
        self.hall, self.state, self.now = hall, state, now
        self.working = [w for w in state.windows.values() if w.state in WORKING]
        self.lengths = {q: len(line) for q, line in state.queue_lines.items()}
        self._means: dict[str, float] = {}
        self._left: dict[str, float] = {}
        self._tiers: dict[tuple[str, ...], tuple[int, float]] = {}
        self._durations: dict[str, tuple[list[float], list[float]]] = {}

    def mean(self, queue: str) -> float:
        mean = self._means.get(queue)
        if mean is None:
            mean = self._means[queue] = mean_service(self.hall, self.state, queue, self.now)
        return mean

    def remaining(self, window: WindowStatus) -> float:
        """Expected seconds until the window is free to call again."""
        if window.ticket is None:
            return 0.0
        if window.id not in self._left:
            ticket = self.state.tickets[window.ticket]
            began = ticket.started_at if ticket.started_at is not None else ticket.called_at
            elapsed = self.now - (began if began is not None else self.now)
            durations, tails = self.durations(ticket.queue)
            self._left[window.id] = _residual(durations, elapsed, self.mean(ticket.queue),
                                              tails)
        return self._left[window.id]

    def durations(self, queue: str) -> tuple[list[float], list[float]]:
        """The queue's recent service times, sorted, and the sums of their tails."""
        found = self._durations.get(queue)
        if found is None:
            durations = sorted(s for _, s in _recent(self.state, queue, self.now))
            tails = list(itertools.accumulate(reversed(durations)))[::-1]
            found = self._durations[queue] = (durations, tails)
        return found

    def replay(self, markers: Iterable[str], targets: set[str],
               zone: str | None = None) -> dict[str, float]:
        """When each target (a ticket id, or ``?queue``: a ticket taken now in ``zone``)
        is called, by the replay of core/replay.py."""
        remaining = {w.id: self.remaining(w) for w in self.working}
        means = {q: day_mean_service(self.hall, self.state, q, self.now)
                 for q in self.hall.queues}
        return Replay(self.hall, self.state, self.now, remaining, means, markers,
                      zone).run(targets)

    def wait(self, queue: str, ahead: int, zone: str | None = None) -> float | None:
        """The projected wait of the ticket with ``ahead`` tickets before it in the line,
        called by the windows of ``zone`` where the queue keeps its zones apart."""
        first = rate = 0.0
        for window in self.working:
            if not _calls_zone(self.hall, window.id, queue, zone):
                continue
            share, cycle = self.share(window, queue, ahead + 1)
            if share <= 0.0:
                continue
            left = self.remaining(window)
            if left <= 0.0:
                first = math.inf  # an idle window calls at once
            elif first < math.inf:
                first += share / left
            rate += share / cycle
        if rate <= 0.0:
            return None
        return (1.0 / first if first > 0.0 else 0.0) + ahead / rate

    def share(self, window: WindowStatus, queue: str, mine: int) -> tuple[float, float]:
        """The part of the window's calls that go to the line, and its mean call length.
        ``mine``: the tickets of the line up to and including the ticket asked about."""
        profile = window.profile
        if queue in profile.main:
            tier = profile.main
        elif queue in profile.side:
            if self.tier(profile.main)[0]:
                return SIDE_BUSY, self.mean(queue)
            tier = profile.side
        else:
            return 0.0, 0.0
        tickets, work = self.tier(tier)
        n = self.lengths[queue]
        mine = max(n, mine)
        tickets += mine - n
        return mine / tickets, (work + (mine - n) * self.mean(queue)) / tickets

    def tier(self, queues: tuple[str, ...]) -> tuple[int, float]:
        """Tickets waiting in the lines, and their expected work in seconds."""
        sums = self._tiers.get(queues)
        if sums is None:
            lengths = self.lengths
            sums = (sum(lengths[q] for q in queues),
                    sum(lengths[q] * self.mean(q) for q in queues if lengths[q]))
            self._tiers[queues] = sums
        return sums


def residual(hall: Hall, state: HallState, queue: str, elapsed: float, now: float,
             mean: float) -> float:
    """Expected seconds left of a service of the queue that has lasted ``elapsed``: the
    mean excess over ``elapsed`` of the queue's recent services that lasted longer
    (a long service tends to go on); before there are any, ``mean − elapsed``, at least
    RESIDUAL_FLOOR of a mean."""
    return _residual(sorted(s for _, s in _recent(state, queue, now)), elapsed, mean)


def _residual(durations: list[float], elapsed: float, mean: float,
              tails: list[float] | None = None) -> float:
    """``residual`` on the recent durations, sorted; ``tails[i]``: the sum of
    ``durations[i:]``, when the caller has it."""
    if not durations:
        return max(mean - elapsed, RESIDUAL_FLOOR * mean)
    i = bisect.bisect_right(durations, elapsed)
    longer = len(durations) - i
    if not longer:
        return RESIDUAL_FLOOR * mean  # longer than any of late: it should end soon
    tail = tails[i] if tails is not None else sum(durations[i:])
    return tail / longer - elapsed


def expected_wait(ahead: int, m: float, mean: float) -> float | None:
    """The first estimator, kept for comparison (the simulator reports both): seconds
    until a ticket with ``ahead`` tickets before it is called, when ``m`` windows call
    the line and a service takes ``mean`` seconds, as if every window were busy with a
    service half done; None when no window calls."""
    if m <= 0:
        return None
    return (ahead + 0.5) * mean / m


def capacity(main: int, side: int) -> float:
    """Windows' worth of calling on a queue for the first estimator: side windows at
    half weight, and at least one whole window as soon as any working window calls it."""
    m = main + SIDE_WEIGHT * side
    return max(m, 1.0) if m > 0 else 0.0


def _calls_zone(hall: Hall, window: str, queue: str, zone: str | None) -> bool:
    """May the window call the tickets of the queue taken in ``zone``?"""
    q = hall.queues[queue]
    if zone is None or q.cross_zone or zone not in q.zones or window not in hall.windows:
        return True
    return hall.windows[window].zone == zone


def working_windows(state: HallState, queue: str, hall: Hall | None = None,
                    zone: str | None = None) -> tuple[int, int]:
    """Open, unpaused windows that have the queue as main work, and as side work (of
    them, those that call the tickets taken in ``zone``, given the hall)."""
    working = [w for w in state.windows.values() if w.state in WORKING
               and (hall is None or _calls_zone(hall, w.id, queue, zone))]
    return (sum(queue in w.profile.main for w in working),
            sum(queue in w.profile.side for w in working))


def _recent(state: HallState, queue: str, now: float) -> list[tuple[float, float]]:
    done = state.service_times.get(queue, [])
    end = bisect.bisect_right(done, (now, math.inf))
    return done[max(0, end - RECENT):end]


def day_mean_service(hall: Hall, state: HallState, queue: str, now: float) -> float:
    """The replay's mean service of the queue: of all its services finished today by
    ``now``, with the configured ``service_minutes`` counted as PRIOR services more (a
    mean of the last RECENT alone strays by a sixth of itself, cv 0.7, and a long line
    multiplies that)."""
    done = state.service_times.get(queue, [])
    end = bisect.bisect_right(done, (now, math.inf))
    total = (state.service_total(queue, end) if _RUNNING_SUM else
             sum(map(_SECONDS, itertools.islice(done, end))))
    return max((PRIOR * hall.queues[queue].service_seconds + total) / (PRIOR + end),
               MIN_SERVICE)


def mean_service(hall: Hall, state: HallState, queue: str, now: float) -> float:
    """Mean seconds of the queue's last RECENT services finished by ``now`` today (from
    start, or from the call when the clerk never pressed start), else the configured
    ``service_minutes``."""
    recent = _recent(state, queue, now)
    if not recent:
        return hall.queues[queue].service_seconds
    return max(sum(seconds for _, seconds in recent) / len(recent), MIN_SERVICE)
