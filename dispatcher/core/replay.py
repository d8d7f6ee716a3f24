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
from .state import WORKING, HallState, TicketState

OVERTIME = 1800.0     # windows keep calling this long after a period ends
LOOKBACK = 3600.0     # arrival rates: over the last hour of opening time
MAX_CALLS = 20000     # a bound on the replay's work: calls of the windows played
SPREAD = 1.0          # how far the first free times move to exponential order statistics
_Place = tuple[float, float, str]
ANY = "*"             # the line key of tickets any window may call
_Key = tuple[str, str]  # (queue, zone or ANY)


class _Line:
    """One line in the replay: its waiting tickets (places, sorted) and the citizens
    still to come, one stream per class: (tickets per second of opening time, credit)."""

    def __init__(self, places: list[_Place], streams: list[tuple[float, float]],
                 queue: str = "") -> None:
        self.places, self.next, self.streams, self.queue = places, 0, streams, queue
        self.came = [0] * len(streams)   # arrivals taken from each stream so far
        self.due = [math.inf] * len(streams)  # when each stream's next one comes
        self.soonest = math.inf          # the earliest of ``due``


class Replay:
    """The replay of one moment; ``run(targets)`` gives when each target is called."""

    def __init__(self, hall: Hall, state: HallState, now: float,
                 remaining: dict[str, float], means: dict[str, float],
                 markers: Iterable[str] = (), zone: str | None = None) -> None:
        """``markers``: queues a ticket is taken for now (``?queue``), at a kiosk of
        ``zone`` (None: the console's, which any window may call)."""
        self.hall, self.state, self.now, self.means = hall, state, now, means
        self.tickets = state.tickets
        self._groups: dict[str, tuple[tuple[_Line, ...], _Groups]] = {}
        self.lines: dict[_Key, _Line] = {}
        self.marked: dict[str, _Node] = {}   # ``?queue`` -> its line
        day = _day_periods(hall, now)
        self.periods = [(s, e) for s, e in day if e + OVERTIME > now]
        # what is left of each period from now: (its start, its length) for arrivals
        self.opening = [(start, e - start) for s, e in self.periods
                        if e > (start := max(s, now))]
        self.rates = _rates(hall, state, now, day)
        working = [w for w in state.windows.values() if w.state in WORKING]
        self.profiles = {w.id: w.profile for w in working}
        self.zones = {w.id: hall.windows[w.id].zone if w.id in hall.windows else None
                      for w in working}
        self.free = {w: now + t for w, t in spread(remaining, [w.id for w in working]).items()}
        nobody = _Line([], [])   # the own line of every window nobody was sent to
        self.direct = {w: _Line(list(line), []) if (line := state.window_lines.get(w))
                       else nobody for w in self.profiles}
        for queue in markers:
            key = (queue, line_key(hall, queue, zone))
            self.marked[f"?{queue}"] = key
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
        tickets, keys = self.state.tickets, {}   # line keys by zone, as found
        for place in self.state.queue_lines.get(queue, ()):
            zone = tickets[place[2]].zone
            key = keys.get(zone)
            if key is None:
                key = keys[zone] = line_key(self.hall, queue, zone)
            places[key].append(place)
        credits = self.hall.credits
        for key, line in places.items():
            streams = [(rate, credits.get(cls, 0.0))
                       for (q, z, cls), rate in sorted(self.rates.items())
                       if q == queue and z == key]
            found = self.lines[(queue, key)] = _Line(line, streams, queue)
            found.due = [self.arrival(stream, 1) for stream in streams]
            found.soonest = min(found.due, default=math.inf)

    def keys(self, window: str, queue: str) -> tuple[_Key, ...]:
        """The lines of the queue a window may call from."""
        zone = self.zones[window]
        if zone is None or self.hall.queues[queue].cross_zone:
            return ((queue, ANY),) if zone is not None else self.all_keys(queue)
        return ((queue, zone), (queue, ANY))

    def all_keys(self, queue: str) -> tuple[_Key, ...]:
        """Every line of the queue, in the order ``_split`` makes them."""
        q = self.hall.queues[queue]
        return tuple((queue, k) for k in dict.fromkeys((ANY, *(() if q.cross_zone
                                                               else q.zones))))

    # ------------------------------------------------------------- the clock

    def run(self, targets: set[str]) -> dict[str, float]:
        """Seconds from now until each target ticket id (``?queue`` for a marker) is
        called; a target not reached within MAX_CALLS calls is left out.

        Only the windows that can reach a target's line are played, through the lines
        they share (a window of another zone, calling from other lines, cannot delay
        it), one such group at a time, and MAX_CALLS counts the group's calls alone: a
        busy zone does not use up the budget of a quiet one's line. A target in no
        line (no longer waiting, or for a window that is not working) is never called."""
        groups: dict[frozenset[str], set[str]] = {}
        kinds = self._kinds() if targets else {}
        for target in targets:
            line = self.marked.get(target) if target.startswith("?") else \
                self._line_of(target)
            if line is not None:
                groups.setdefault(frozenset(self._component([line], kinds)), set()).add(target)
        found: dict[str, float] = {}
        free = sorted(self.free.items())
        for windows, wanted in groups.items():   # no two share a window or a line
            found.update(self._play([(w, t) for w, t in free if w in windows], wanted))
        return found

    def _play(self, free: list[tuple[str, float]], targets: set[str]) -> dict[str, float]:
        """The calls of the windows ``free`` (window, first free), in the order of their
        (time, window): when each target was called."""
        heap = [(t, w) for w, t in free]
        heapq.heapify(heap)
        found: dict[str, float] = {}
        calls, wanted, now, means = 0, len(targets), self.now, self.means
        call, in_hours, replace = self.call, self.in_hours, heapq.heapreplace
        # one entry per window, so the order of the calls is that of the (time, window)
        # keys alone: replacing the head in place pops in the same order as pop + push
        while heap and len(found) < wanted and calls < MAX_CALLS:
            at, window = heap[0]
            at = in_hours(at)
            taken = call(window, at)
            if taken is None:
                later = self.next_arrival(window, at)
                if later is not None:
                    replace(heap, (later, window))
                else:
                    heapq.heappop(heap)
                continue
            calls += 1
            ticket, queue = taken
            if ticket in targets:
                found[ticket] = at - now
            replace(heap, (at + (0.0 if ticket.startswith("?") else means[queue]), window))
        return found

    def _line_of(self, ticket_id: str) -> _Node | None:
        ticket = self.tickets.get(ticket_id)
        if ticket is None or ticket.state is not TicketState.WAITING:
            return None
        node: _Node
        if ticket.window is not None:
            node, line = ticket.window, self.direct.get(ticket.window)
        else:
            node = (ticket.queue, line_key(self.hall, ticket.queue, ticket.zone))
            line = self.line(node)
        if line is None:
            return None
        place = (*ticket.place, ticket.id)
        at = bisect.bisect_left(line.places, place)
        return node if line.places[at:at + 1] == [place] else None

    def _kinds(self) -> dict[_Kind, tuple[list[_Key], list[str]]]:
        """The working windows by zone and queues (they call from the same lines):
        those lines, and the windows."""
        kinds: dict[_Kind, tuple[list[_Key], list[str]]] = {}
        for window, profile in self.profiles.items():
            kind = (self.zones[window], profile.queues)
            found = kinds.get(kind)
            if found is None:
                found = kinds[kind] = ([k for q in profile.queues
                                        for k in self.keys(window, q)], [])
            found[1].append(window)
        return kinds

    def _component(self, lines: list[_Node], kinds: dict[_Kind, tuple[list[_Key], list[str]]]
                   ) -> set[str]:
        """The windows that call from the lines (a queue's, or a window's own), those
        that share a line with them, and so on."""
        callers: dict[_Key, list[_Kind]] = {}
        for kind, (keys, _) in kinds.items():
            for key in keys:
                callers.setdefault(key, []).append(kind)
        reached = {n for n in lines if isinstance(n, tuple)}
        todo, taken = list(reached), set()
        found = [(self.zones[n], self.profiles[n].queues) for n in lines if isinstance(n, str)]
        while found or todo:
            for kind in found:
                if kind not in taken:
                    taken.add(kind)
                    fresh = [k for k in kinds[kind][0] if k not in reached]
                    reached.update(fresh)
                    todo += fresh
            found = callers.get(todo.pop(), []) if todo else []
        return {w for kind in taken for w in kinds[kind][1]}

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
        main, side = self.groups(window)
        later = [t for line in (*main, *(line for lines in side for line in lines))
                 for t in line.due if t > at]
        return min(later) if later else None

    def arrival(self, stream: tuple[float, float], k: int) -> float:
        """When the k-th citizen of a stream comes: after k / rate seconds of opening."""
        left = k / stream[0]
        for start, length in self.opening:
            if left <= length:
                return start + left
            left -= length
        return math.inf

    # ------------------------------------------------------------- the rules

    def groups(self, window: str) -> tuple[tuple[_Line, ...], _Groups]:
        """The lines the window calls from: of its main work (in order), and of its side
        work per queue; the same every call (a queue's lines are all made at once),
        less those that can never give a ticket (nobody waits there, nobody comes)."""
        found = self._groups.get(window)
        if found is None:
            profile = self.profiles[window]
            side = tuple(self._live(window, q) for q in profile.side)
            found = self._groups[window] = (
                tuple(line for q in profile.main for line in self._live(window, q)),
                tuple(lines for lines in side if lines))
        return found

    def _live(self, window: str, queue: str) -> tuple[_Line, ...]:
        return tuple(line for k in self.keys(window, queue)
                     if (line := self.line(k)).places or line.streams)

    def take(self, head: _Head) -> tuple[str, str]:
        """The head called: (its ticket id, "" for a citizen still to come; its queue)."""
        _, source, line = head
        if source < 0:
            line.next += 1
            return line.places[line.next - 1][2], line.queue
        line.came[source] += 1
        line.due[source] = self.arrival(line.streams[source], line.came[source] + 1)
        line.soonest = min(line.due)
        return "", line.queue

    def call(self, window: str, at: float) -> tuple[str, str] | None:
        """What the window calls at ``at`` by the core's rules: (ticket id, queue)."""
        direct = self.direct[window]
        if direct.next < len(direct.places):
            direct.next += 1
            tid = direct.places[direct.next - 1][2]
            return tid, self.state.tickets[tid].queue
        main_lines, side_lines = self._groups.get(window) or self.groups(window)
        main = self.first(main_lines, at)
        if not side_lines:
            return self.take(main) if main is not None else None
        sides = [h for lines in side_lines if (h := self.first(lines, at)) is not None]
        if self.profiles[window].side_when_overdue and sides:
            worst = max(sides, key=lambda h: self.overdue(h, at))
            bar = max(1.0, self.overdue(main, at) if main else 0.0)
            if self.overdue(worst, at) > bar:
                return self.take(worst)
        chosen = main or min(sides, key=lambda h: h[0], default=None)
        return self.take(chosen) if chosen is not None else None

    def first(self, lines: tuple[_Line, ...], at: float) -> _Head | None:
        """The first ticket at ``at`` of the lines, by place (the first of equals): its
        place, where it comes from (-1: a waiting ticket, else the stream) and its line."""
        best = None
        for line in lines:
            if line.next < len(line.places):
                v, serial, _ = line.places[line.next]
                if best is None or (v, serial) < best[0]:
                    best = ((v, serial), -1, line)
            if line.soonest <= at:
                for i, came in enumerate(line.due):
                    if came <= at:
                        place = (came - line.streams[i][1], math.inf)
                        if best is None or place < best[0]:
                            best = (place, i, line)
        return best

    def overdue(self, head: _Head, at: float) -> float:
        """How far the head has waited at ``at``, as a share of its queue's threshold."""
        _, source, line = head
        if source < 0:
            ticket = self.tickets.get(line.places[line.next][2])
            issued = ticket.issued_at if ticket else self.now
        else:
            issued = line.due[source]
        return (at - issued) / self.hall.queues[line.queue].overdue_seconds


_Head = tuple[tuple[float, float], int, _Line]
_Node = _Key | str   # a line of a queue, or a window's own line (its id)
_Kind = tuple[str | None, tuple[str, ...]]   # windows by zone and queues
_Groups = tuple[tuple[_Line, ...], ...]


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
    issued = state.arrivals().since(since, now)
    if issued is None:   # issued after now: the clock was set back; walk the tickets
        issued = _issued_since(state, since, now)
    for (queue, zone, cls), n in issued.items():
        key = (queue, line_key(hall, queue, zone), cls)
        counts[key] = counts.get(key, 0) + n
    return {k: n / opened for k, n in counts.items()}


def _issued_since(state: HallState, since: float, now: float
                  ) -> dict[tuple[str, str | None, str], int]:
    """Tickets per (queue, zone, class) issued by ``now``, of the newest ones back to
    the first issued before ``since``."""
    counts: dict[tuple[str, str | None, str], int] = {}
    for ticket in reversed(state.tickets.values()):
        if ticket.issued_at < since:
            break
        if ticket.issued_at <= now:
            key = (ticket.queue, ticket.zone, ticket.ticket_class)
            counts[key] = counts.get(key, 0) + 1
    return counts
