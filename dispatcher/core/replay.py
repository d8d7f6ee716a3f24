"""The expected wait by replaying the calls ahead of a ticket (docs/dispatch.md,
"Expected wait").

From the live state the working windows are played forward on a deterministic clock
with the core's own call rules (core/selection.py): a window holding a ticket is free
after its expected rest (``estimate._View.remaining``), then calls what the rules give
it (a ticket sent to it by name, an overdue side ticket, main work by place, side work)
and holds it for its queue's mean service. Citizens still to come join the lines at
each queue's and class's rate over the last hour of opening time, in their place (so a
green ticket's credit overtakes, and a window that serves a line as side work is kept
busy by its own). Windows keep calling ``OVERTIME`` past a period's end and start
again when the next one opens; nobody moves a window. A ticket's expected wait is when
it is called. No random draw: the same state gives the same answer.
"""

from __future__ import annotations

import bisect
import heapq
import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..hall import Hall
from .state import HallState, WindowState

OVERTIME = 1800.0     # windows keep calling this long after a period ends
LOOKBACK = 3600.0     # arrival rates: over the last hour of opening time
MAX_CALLS = 20000     # a bound on the replay's work
SPREAD = 1.0          # how far the first free times move to exponential order statistics
_WORKING = (WindowState.IDLE, WindowState.CALLING, WindowState.SERVING)
_Place = tuple[float, float, str]


class _Line:
    """One line in the replay: its waiting tickets (places, sorted) and the citizens
    still to come, one stream per class: (tickets per second of opening time, credit)."""

    def __init__(self, places: list[_Place], streams: list[tuple[float, float]]) -> None:
        self.places, self.next, self.streams = places, 0, streams
        self.came = [0] * len(streams)   # arrivals taken from each stream so far
        self.due = [math.inf] * len(streams)  # when each stream's next one comes


class Replay:
    """The replay of one moment; ``run(targets)`` gives when each target is called."""

    def __init__(self, hall: Hall, state: HallState, now: float,
                 remaining: dict[str, float], means: dict[str, float],
                 markers: Iterable[str] = ()) -> None:
        self.hall, self.state, self.now, self.means = hall, state, now, means
        day = _day_periods(hall, now)
        self.periods = [(s, e) for s, e in day if e + OVERTIME > now]
        self.rates = _rates(state, now, day)
        working = [w for w in state.windows.values() if w.state in _WORKING]
        self.profiles = {w.id: w.profile for w in working}
        self.free = {w: now + t for w, t in spread(remaining, [w.id for w in working]).items()}
        self.lines: dict[str, _Line] = {}
        self.direct = {w.id: _Line(list(state.window_lines.get(w.id, ())), [])
                       for w in working}
        for queue in markers:
            bisect.insort(self.line(queue).places, (now, math.inf, f"?{queue}"))

    def line(self, queue: str) -> _Line:
        found = self.lines.get(queue)
        if found is None:
            credits = self.hall.credits
            streams = [(rate, credits.get(cls, 0.0))
                       for (q, cls), rate in sorted(self.rates.items()) if q == queue]
            found = self.lines[queue] = _Line(list(self.state.queue_lines.get(queue, ())),
                                              streams)
            found.due = [self.arrival(stream, 1) for stream in streams]
        return found

    # ------------------------------------------------------------- the clock

    def run(self, targets: set[str]) -> dict[str, float]:
        """Seconds from now until each target ticket id (``?queue`` for a marker) is
        called; a target not reached within MAX_CALLS calls is left out."""
        heap = [(t, w) for w, t in sorted(self.free.items())]
        heapq.heapify(heap)
        found: dict[str, float] = {}
        calls = 0
        while heap and len(found) < len(targets) and calls < MAX_CALLS:
            at, window = heapq.heappop(heap)
            at = self.in_hours(at)
            taken = self.call(window, at)
            if taken is None:
                later = self.next_arrival(window, at)
                if later is not None:
                    heapq.heappush(heap, (later, window))
                continue
            calls += 1
            ticket, queue = taken
            if ticket in targets:
                found[ticket] = at - self.now
            hold = 0.0 if ticket.startswith("?") else self.means[queue]
            heapq.heappush(heap, (at + hold, window))
        return found

    def in_hours(self, at: float) -> float:
        """When a window free at ``at`` may call: at once within a period or its
        overtime, else when the next period opens; after the day's last, at once (a
        ticket the day cannot serve is told how long it would take if it went on)."""
        for start, end in self.periods:
            if at < start:
                return start
            if at < end + OVERTIME:
                return at
        return at

    def next_arrival(self, window: str, at: float) -> float | None:
        """When the next citizen comes to one of the window's lines after ``at``."""
        later = [t for q in self.profiles[window].queues for t in self.line(q).due
                 if t > at]
        return min(later) if later else None

    def arrival(self, stream: tuple[float, float], k: int) -> float:
        """When the k-th citizen of a stream comes: after k / rate seconds of opening."""
        left = k / stream[0]
        for start, end in self.periods:
            start = max(start, self.now)
            if end <= start:
                continue
            if left <= end - start:
                return start + left
            left -= end - start
        return math.inf

    # ------------------------------------------------------------- the rules

    def head(self, queue: str, at: float) -> tuple[tuple[float, float], float, int] | None:
        """The line's first ticket at ``at``: its place, when it was issued, and where
        it comes from (-1: a waiting ticket, else the stream)."""
        line = self.line(queue)
        best = None
        if line.next < len(line.places):
            v, serial, tid = line.places[line.next]
            ticket = self.state.tickets.get(tid)
            best = ((v, serial), ticket.issued_at if ticket else self.now, -1)
        for i, came in enumerate(line.due):
            if came <= at:
                place = (came - line.streams[i][1], math.inf)
                if best is None or place < best[0]:
                    best = (place, came, i)
        return best

    def take(self, queue: str, source: int) -> str:
        line = self.line(queue)
        if source < 0:
            line.next += 1
            return line.places[line.next - 1][2]
        line.came[source] += 1
        line.due[source] = self.arrival(line.streams[source], line.came[source] + 1)
        return ""

    def call(self, window: str, at: float) -> tuple[str, str] | None:
        """What the window calls at ``at`` by the core's rules: (ticket id, queue)."""
        direct = self.direct[window]
        if direct.next < len(direct.places):
            direct.next += 1
            tid = direct.places[direct.next - 1][2]
            return tid, self.state.tickets[tid].queue
        profile = self.profiles[window]
        main = _first((h, q) for q in profile.main if (h := self.head(q, at)))
        sides = [(h, q) for q in profile.side if (h := self.head(q, at))]
        if profile.side_when_overdue and sides:
            worst = max(sides, key=lambda hq: self.overdue(hq, at))
            bar = max(1.0, self.overdue(main, at) if main else 0.0)
            if self.overdue(worst, at) > bar:
                return self.take(worst[1], worst[0][2]), worst[1]
        chosen = main or _first(sides)
        if chosen is None:
            return None
        return self.take(chosen[1], chosen[0][2]), chosen[1]

    def overdue(self, head: tuple[tuple[tuple[float, float], float, int], str],
                at: float) -> float:
        return (at - head[0][1]) / self.hall.queues[head[1]].overdue_seconds


def _first(heads: Iterable[tuple[tuple[tuple[float, float], float, int], str]]
           ) -> tuple[tuple[tuple[float, float], float, int], str] | None:
    return min(heads, key=lambda hq: hq[0][0], default=None)


def spread(remaining: dict[str, float], windows: list[str]) -> dict[str, float]:
    """When each window is first free, in seconds from now: its expected rest
    ``remaining``, moved SPREAD of the way to the expected order statistics of
    independent exponential rests of those means (the first of many busy windows is
    free sooner than the soonest expected rest; the last later than the latest)."""
    busy = sorted((remaining[w], w) for w in windows if remaining.get(w, 0.0) > 0)
    found = {w: 0.0 for w in windows}
    rate = sum(1.0 / r for r, _ in busy)
    at = 0.0
    for r, w in busy:
        at += 1.0 / rate
        rate -= 1.0 / r
        found[w] = min(r, SPREAD * at + (1.0 - SPREAD) * r)
    return found


def _day_periods(hall: Hall, now: float) -> list[tuple[float, float]]:
    """The business day's opening periods as epoch seconds."""
    day = datetime.fromisoformat(hall.business_day(now))
    midnight = datetime.combine(day.date(), datetime.min.time(), ZoneInfo(hall.timezone))
    return sorted(((midnight + timedelta(minutes=s)).timestamp(),
                   (midnight + timedelta(minutes=e)).timestamp())
                  for s, e in hall.hours.periods)


def _rates(state: HallState, now: float,
           periods: list[tuple[float, float]]) -> dict[tuple[str, str], float]:
    """Tickets per second of opening time per (queue, class), over the last LOOKBACK
    seconds of opening time (the day so far when it has been open less)."""
    opened, since = 0.0, now
    for start, end in reversed(periods):
        if start >= now or opened >= LOOKBACK:
            continue
        take = min(min(end, now) - start, LOOKBACK - opened)
        opened += take
        since = min(end, now) - take
    if opened <= 0:
        return {}
    counts: dict[tuple[str, str], int] = {}
    for ticket in reversed(state.tickets.values()):
        if ticket.issued_at < since:
            break
        if ticket.issued_at <= now:
            key = (ticket.queue, ticket.ticket_class)
            counts[key] = counts.get(key, 0) + 1
    return {k: n / opened for k, n in counts.items()}
