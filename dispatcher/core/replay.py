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

Zones: a queue that keeps its zones apart (no ``cross_zone``) is played as one line
per zone, plus one of the tickets any window may call (no zone of the queue's:
selection.callable_by), and a window calls from its own zone's line and that one; so a
ticket waits only behind what is ahead in its own line.
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
ANY = "*"             # the line key of tickets any window may call
_Key = tuple[str, str]  # (queue, zone or ANY)


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
                 markers: Iterable[str] = (), zone: str | None = None) -> None:
        """``markers``: queues a ticket is taken for now (``?queue``), at a kiosk of
        ``zone`` (None: the console's, which any window may call)."""
        self.hall, self.state, self.now, self.means = hall, state, now, means
        day = _day_periods(hall, now)
        self.periods = [(s, e) for s, e in day if e + OVERTIME > now]
        self.rates = _rates(hall, state, now, day)
        working = [w for w in state.windows.values() if w.state in _WORKING]
        self.profiles = {w.id: w.profile for w in working}
        self.zones = {w.id: hall.windows[w.id].zone if w.id in hall.windows else None
                      for w in working}
        self.free = {w: now + t for w, t in spread(remaining, [w.id for w in working]).items()}
        self.lines: dict[_Key, _Line] = {}
        self.direct = {w.id: _Line(list(state.window_lines.get(w.id, ())), [])
                       for w in working}
        for queue in markers:
            key = (queue, line_key(hall, queue, zone))
            bisect.insort(self.line(key).places, (now, math.inf, f"?{queue}"))

    def line(self, key: _Key) -> _Line:
        found = self.lines.get(key)
        if found is None:
            self._split(key[0])
            found = self.lines[key]
        return found

    def _split(self, queue: str) -> None:
        """The queue's lines, one per zone key, with their streams of arrivals."""
        places: dict[str, list[_Place]] = {ANY: []}
        if not self.hall.queues[queue].cross_zone:
            places.update({z: [] for z in self.hall.queues[queue].zones})
        tickets = self.state.tickets
        for place in self.state.queue_lines.get(queue, ()):
            places[line_key(self.hall, queue, tickets[place[2]].zone)].append(place)
        credits = self.hall.credits
        for key, line in places.items():
            streams = [(rate, credits.get(cls, 0.0))
                       for (q, z, cls), rate in sorted(self.rates.items())
                       if q == queue and z == key]
            found = self.lines[(queue, key)] = _Line(line, streams)
            found.due = [self.arrival(stream, 1) for stream in streams]

    def keys(self, window: str, queue: str) -> tuple[_Key, ...]:
        """The lines of the queue a window may call from."""
        zone = self.zones[window]
        if zone is None or self.hall.queues[queue].cross_zone:
            return ((queue, ANY),) if zone is not None else self.all_keys(queue)
        return ((queue, zone), (queue, ANY))

    def all_keys(self, queue: str) -> tuple[_Key, ...]:
        self.line((queue, ANY))
        return tuple(k for k in self.lines if k[0] == queue)

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
        later = [t for q in self.profiles[window].queues for k in self.keys(window, q)
                 for t in self.line(k).due if t > at]
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

    def head(self, key: _Key, at: float) -> tuple[tuple[float, float], float, int] | None:
        """The line's first ticket at ``at``: its place, when it was issued, and where
        it comes from (-1: a waiting ticket, else the stream)."""
        line = self.line(key)
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

    def take(self, key: _Key, source: int) -> str:
        line = self.line(key)
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
        main = _first(self.heads(window, profile.main, at))
        sides = self.heads(window, profile.side, at)
        if profile.side_when_overdue and sides:
            worst = max(sides, key=lambda hq: self.overdue(hq, at))
            bar = max(1.0, self.overdue(main, at) if main else 0.0)
            if self.overdue(worst, at) > bar:
                return self.take(worst[1], worst[0][2]), worst[1][0]
        chosen = main or _first(sides)
        if chosen is None:
            return None
        return self.take(chosen[1], chosen[0][2]), chosen[1][0]

    def heads(self, window: str, queues: tuple[str, ...], at: float) -> list[_Head]:
        """The first ticket at ``at`` of each queue, of the lines the window calls."""
        found = []
        for queue in queues:
            best = _first((h, k) for k in self.keys(window, queue) if (h := self.head(k, at)))
            if best is not None:
                found.append(best)
        return found

    def overdue(self, head: _Head, at: float) -> float:
        return (at - head[0][1]) / self.hall.queues[head[1][0]].overdue_seconds


_Head = tuple[tuple[tuple[float, float], float, int], _Key]


def _first(heads: Iterable[_Head]) -> _Head | None:
    return min(heads, key=lambda hq: hq[0][0], default=None)


def line_key(hall: Hall, queue: str, zone: str | None) -> str:
    """The replay's line of a ticket of the queue taken in ``zone``: the zone's own,
    or ANY when any window may call it (selection.callable_by)."""
    q = hall.queues[queue]
    return zone if zone is not None and not q.cross_zone and zone in q.zones else ANY


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


def _rates(hall: Hall, state: HallState, now: float,
           periods: list[tuple[float, float]]) -> dict[tuple[str, str, str], float]:
    """Tickets per second of opening time per (queue, line key, class), over the last
    LOOKBACK seconds of opening time (the day so far when it has been open less)."""
    opened, since = 0.0, now
    for start, end in reversed(periods):
        if start >= now or opened >= LOOKBACK:
            continue
        take = min(min(end, now) - start, LOOKBACK - opened)
        opened += take
        since = min(end, now) - take
    if opened <= 0:
        return {}
    counts: dict[tuple[str, str, str], int] = {}
    for ticket in reversed(state.tickets.values()):
        if ticket.issued_at < since:
            break
        if ticket.issued_at <= now:
            key = (ticket.queue, line_key(hall, ticket.queue, ticket.zone), ticket.ticket_class)
            counts[key] = counts.get(key, 0) + 1
    return {k: n / opened for k, n in counts.items()}
