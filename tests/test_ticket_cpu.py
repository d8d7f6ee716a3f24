"""The hub's CPU per ticket (issue 22): the faster paths give byte for byte what the
straightforward ones gave, over many random days.

The reference is the replay of core/replay.py as it was before (every working window
played, the last hour's tickets walked for the arrival rates), kept here verbatim;
the printed waits (``ticket_status``, ``queue_status``) of the core now must equal
its own on random halls, lines and clocks, with MAX_CALLS as it is and small enough
to cut the replays short.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import json
import math
import pickle
import random
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import pytest
from conftest import hall_time
from tiny_hall import tiny_hall_raw

from dispatcher import protocol
from dispatcher.core import Dispatcher, DispatchError, estimate, replay
from dispatcher.core import commands as c
from dispatcher.core.events import Event
from dispatcher.core.replay import (
    ANY,
    LOOKBACK,
    OVERTIME,
    _day_periods,
    _Key,
    _Place,
    line_key,
    spread,
)
from dispatcher.core.state import HallState, TicketState, WindowState
from dispatcher.hall import Hall, parse_hall
from dispatcher.hub.privacy import public_changes, public_data
from dispatcher.hub.views import changes_for

_WORKING = (WindowState.IDLE, WindowState.CALLING, WindowState.SERVING)


class Cap:
    """The reference's MAX_CALLS, as the test sets it."""

    max_calls = replay.MAX_CALLS

# ------------------------------------------------------------ the reference, verbatim


class _RefLine:
    """One line in the replay: its waiting tickets (places, sorted) and the citizens
    still to come, one stream per class: (tickets per second of opening time, credit)."""

    def __init__(self, places: list[_Place], streams: list[tuple[float, float]]) -> None:
        self.places, self.next, self.streams = places, 0, streams
        self.came = [0] * len(streams)   # arrivals taken from each stream so far
        self.due = [math.inf] * len(streams)  # when each stream's next one comes


class ReferenceReplay:
    """The replay of one moment; ``run(targets)`` gives when each target is called."""

    def __init__(self, hall: Hall, state: HallState, now: float,
                 remaining: dict[str, float], means: dict[str, float],
                 markers: Iterable[str] = (), zone: str | None = None) -> None:
        """``markers``: queues a ticket is taken for now (``?queue``), at a kiosk of
        ``zone`` (None: the console's, which any window may call)."""
        self.hall, self.state, self.now, self.means = hall, state, now, means
        day = _day_periods(hall, now)
        self.periods = [(s, e) for s, e in day if e + OVERTIME > now]
        self.rates = _ref_rates(hall, state, now, day)
        working = [w for w in state.windows.values() if w.state in _WORKING]
        self.profiles = {w.id: w.profile for w in working}
        self.zones = {w.id: hall.windows[w.id].zone if w.id in hall.windows else None
                      for w in working}
        self.free = {w: now + t for w, t in spread(remaining, [w.id for w in working]).items()}
        self.lines: dict[_Key, _RefLine] = {}
        self.direct = {w.id: _RefLine(list(state.window_lines.get(w.id, ())), [])
                       for w in working}
        self.zone = zone
        for queue in markers:
            key = (queue, line_key(hall, queue, zone))
            bisect.insort(self.line(key).places, (now, math.inf, f"?{queue}"))

    def line(self, key: _Key) -> _RefLine:
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
            found = self.lines[(queue, key)] = _RefLine(line, streams)
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
        called; a target not reached within MAX_CALLS calls of the windows that can
        reach it (``reaching``) is left out. Every window is played."""
        heap = [(t, w) for w, t in sorted(self.free.items())]
        heapq.heapify(heap)
        found: dict[str, float] = {}
        reach = {t: self.reaching({t}) for t in targets}
        calls = dict.fromkeys(targets, 0)   # each target's windows' calls so far
        while heap and any(t not in found and calls[t] < Cap.max_calls for t in targets):
            at, window = heapq.heappop(heap)
            at = self.in_hours(at)
            taken = self.call(window, at)
            if taken is None:
                later = self.next_arrival(window, at)
                if later is not None:
                    heapq.heappush(heap, (later, window))
                continue
            ticket, queue = taken
            for t in targets:
                calls[t] += reach[t] is None or window in reach[t]
            if ticket in targets and calls[ticket] <= Cap.max_calls:
                found[ticket] = at - self.now
            hold = 0.0 if ticket.startswith("?") else self.means[queue]
            heapq.heappush(heap, (at + hold, window))
        return found

    def reaching(self, targets: set[str]) -> set[str] | None:
        """The windows that call from a target's line (its queue's, or the window's it
        was sent to), those that call from a line of theirs, and so on; None (every
        window) when a target waits in no line."""
        lines: set[_Key | str] = set()
        for target in targets:
            if target.startswith("?"):
                lines.add((target[1:], line_key(self.hall, target[1:], self.zone)))
                continue
            ticket = self.state.tickets.get(target)
            if ticket is None or ticket.state is not TicketState.WAITING:
                return None
            lines.add(ticket.window if ticket.window is not None else
                      (ticket.queue, line_key(self.hall, ticket.queue, ticket.zone)))
        calls_from = {w: {w, *(k for q in p.queues for k in self.keys(w, q))}
                      for w, p in self.profiles.items()}
        windows: set[str] = set()
        while more := {w for w, from_ in calls_from.items()
                       if w not in windows and from_ & lines}:
            windows |= more
            lines |= {k for w in more for k in calls_from[w]}
        return windows

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


def _ref_rates(hall: Hall, state: HallState, now: float,
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


# ------------------------------------------------------------ random halls and days


def random_hall(rng: random.Random) -> Hall:
    """Two or three zones, four queues (some offered in several zones, some one line
    across them), windows of every zone with main and side work, and opening hours
    with a gap or around the clock."""
    raw = tiny_hall_raw()
    zones = ["Z", "Y", "X"][:rng.choice((2, 3))]
    raw["zones"] = {z: {"name": f"区{z}", "name_en": f"Zone {z}", "kiosks": [f"K{z}"]}
                    for z in zones}
    queue = {"kind": "unit", "overdue_minutes": rng.choice((5, 10, 30)),
             "service_minutes": rng.choice((1, 3, 5))}
    raw["queues"] = {
        f"q{i}": {**queue, "name": f"队{i}", "name_en": f"Q{i}", "prefix": "ABCD"[i],
                  "zones": sorted(rng.sample(zones, rng.randint(1, len(zones)))),
                  "cross_zone": rng.random() < 0.3}
        for i in range(4)}
    names = list(raw["queues"])
    raw["profiles"] = {}
    raw["windows"] = []
    for n in range(rng.randint(3, 9)):
        main = rng.sample(names, rng.randint(1, 2))
        side = rng.sample([q for q in names if q not in main], rng.randint(0, 2))
        raw["profiles"][f"p{n}"] = {"main": main, "side": side,
                                    "side_when_overdue": rng.random() < 0.5}
        raw["windows"].append({"ids": f"W{n}", "name": f"窗口{n}", "zone": rng.choice(zones),
                               "profile": f"p{n}"})
    if rng.random() < 0.5:
        raw["hall"]["hours"]["periods"] = ["08:00-11:30", "13:00-17:00"]
    try:
        return parse_hall(raw, "random.toml")
    except Exception:   # a queue no window of a zone serves: draw again
        return random_hall(rng)


class Day:
    """Random commands on a core, the clock moving forward (and now and then back a
    little: a hub's clock may be set back)."""

    def __init__(self, hall: Hall, rng: random.Random, back: float = 0.03) -> None:
        self.core, self.rng, self.back = Dispatcher(hall), rng, back
        self.now = hall_time(hall, rng.choice(("07:50", "09:00", "12:00", "16:50")))

    def step(self) -> list[Event]:
        """One random command (most are refused: a window with nothing to call…);
        the events it made."""
        rng, hall, state = self.rng, self.core.hall, self.core.state
        self.now += rng.expovariate(1 / 40) - (30 if rng.random() < self.back else 0)
        windows = list(hall.windows)
        waiting = [t.id for t in state.tickets.values() if t.state is TicketState.WAITING]
        no_show = [t.id for t in state.tickets.values() if t.state is TicketState.NO_SHOW]
        roll = rng.random()
        if roll < 0.45:
            queue = rng.choice(list(hall.queues))
            zone = rng.choice([None, *hall.queues[queue].zones])
            command: c.Command = c.IssueTicket(
                queue, rng.choice(("normal", "normal", "green", "appointment")), zone,
                after_hours=True)
        elif roll < 0.65:
            command = c.CallNext(rng.choice(windows))
        elif roll < 0.75:
            command = c.FinishService(rng.choice(windows))
        elif roll < 0.8:
            command = c.NoShow(rng.choice(windows))
        elif roll < 0.83 and no_show:
            command = c.Requeue(rng.choice(no_show))
        elif roll < 0.87 and waiting:
            command = (c.Transfer(rng.choice(waiting), to_queue=rng.choice(list(hall.queues)))
                       if rng.random() < 0.6 else
                       c.Transfer(rng.choice(waiting), to_window=rng.choice(windows)))
        elif roll < 0.95:
            command = c.OpenWindow(rng.choice(windows))
        elif roll < 0.98:
            command = c.Pause(rng.choice(windows), "午休")
        else:
            command = c.Resume(rng.choice(windows))
        try:
            return self.core.execute(command, self.now)
        except DispatchError:
            return []


def reference_day_mean(hall: Hall, state: HallState, queue: str, now: float) -> float:
    """estimate.day_mean_service as it was: every service of the day summed each time."""
    done = state.service_times.get(queue, [])
    end = bisect.bisect_right(done, (now, math.inf))
    total = sum(seconds for _, seconds in itertools.islice(done, end))
    return max((estimate.PRIOR * hall.queues[queue].service_seconds + total)
               / (estimate.PRIOR + end), estimate.MIN_SERVICE)


@contextmanager
def the_reference() -> Iterator[None]:
    """The estimate module replaying as before."""
    kept = estimate.Replay, estimate.day_mean_service
    estimate.Replay = ReferenceReplay   # type: ignore[assignment,misc]
    estimate.day_mean_service = reference_day_mean
    try:
        yield
    finally:
        estimate.Replay, estimate.day_mean_service = kept   # type: ignore[misc]


def printed(day: Day, ticket: str | None, zone: str | None) -> str:
    hall, state = day.core.hall, day.core.state
    if ticket is not None:
        return json.dumps(estimate.ticket_status(hall, state, ticket, day.now))
    return json.dumps(estimate.queue_status(hall, state, day.now, zone=zone))


def compared(day: Day, rng: random.Random) -> int:
    """The printed waits of a few waiting tickets and of a ticket taken now at each
    kiosk (and the console), now and by the reference; how many were compared."""
    state = day.core.state
    waiting = [t.id for t in state.tickets.values() if t.state is TicketState.WAITING]
    asked = [(t, None) for t in rng.sample(waiting, min(3, len(waiting)))]
    asked += [(None, z) for z in (None, *day.core.hall.zones)]
    for ticket, zone in asked:
        now = printed(day, ticket, zone)
        with the_reference():
            before = printed(day, ticket, zone)
        assert now == before, (ticket, zone)
    return len(asked)


@pytest.mark.parametrize("max_calls", [replay.MAX_CALLS, 40, 3])
@pytest.mark.parametrize("seed", range(12))
def test_the_printed_waits_are_the_replay_of_every_window(seed: int, max_calls: int,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """On random halls and days: every printed wait equals the reference's, with
    MAX_CALLS as it is and so small that the replays are cut short (where playing only
    the windows that reach a ticket would give another answer than playing all)."""
    monkeypatch.setattr(replay, "MAX_CALLS", max_calls)
    monkeypatch.setattr(Cap, "max_calls", max_calls)
    rng = random.Random(seed)
    day = Day(random_hall(rng), rng, back=0.03 if seed % 3 == 0 else 0.0)
    checked = 0
    for step in range(400):
        day.step()
        if step % 25 == 24:
            checked += compared(day, rng)
    assert checked > 50


def four_zones(waiting: dict[str, int]) -> tuple[Hall, Dispatcher, float]:
    """Four zones, one queue each, windows A1-A9 … D1-D9 of which D1 alone is open in
    zone D and all in the others; ``waiting`` tickets in each zone's line."""
    raw = tiny_hall_raw()
    zones = "ABCD"
    raw["zones"] = {z: {"name": z, "name_en": z, "kiosks": [f"K{z}"]} for z in zones}
    raw["queues"] = {f"q{z}": {"kind": "big_loop", "name": z, "name_en": z, "prefix": z,
                               "zones": [z], "overdue_minutes": 30, "service_minutes": 1}
                     for z in zones}
    raw["profiles"] = {f"p{z}": {"main": [f"q{z}"]} for z in zones}
    raw["windows"] = [{"ids": f"{z}1-{z}9", "name": "窗口{id}", "zone": z, "profile": f"p{z}"}
                      for z in zones]
    hall = parse_hall(raw, "four.toml")
    core = Dispatcher(hall)
    now = hall_time(hall, "09:00")
    for w in hall.windows:
        if w[0] != "D" or w == "D1":
            core.execute(c.OpenWindow(w), now)
    for i in range(max(waiting.values())):
        for z in zones:
            if i < waiting[z]:
                core.execute(c.IssueTicket(f"q{z}", zone=z), now + i)
    return hall, core, now + max(waiting.values())


@contextmanager
def plays(counted: list[tuple[int, int]]) -> Iterator[None]:
    """Each replay's windows played and targets found, into ``counted``."""
    kept = replay.Replay._play

    def counting(self: replay.Replay, free: list, targets: set[str]) -> dict[str, float]:
        found = kept(self, free, targets)
        counted.append((len(free), len(found)))
        return found

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(replay.Replay, "_play", counting)
        yield


def test_a_zone_with_one_window_is_told_as_before_and_played_alone() -> None:
    """Four zones, one queue each, one window open in zone D and many in the others:
    a ticket of D is told the same wait as by the reference, and its replay plays
    only zone D's window."""
    hall, core, now = four_zones(dict.fromkeys("ABCD", 400))
    last = core.state.queue_lines["qD"][-1][2]
    played: list[tuple[int, int]] = []
    with plays(played):
        told = estimate.ticket_status(hall, core.state, last, now)
    with the_reference():
        assert told == estimate.ticket_status(hall, core.state, last, now)
    assert played == [(1, 1)]


def test_a_busy_zone_does_not_use_up_the_budget_of_a_quiet_ones_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """MAX_CALLS bounds the calls of the windows that can reach the ticket: zone D's
    one window reaches the 150th ticket of its line, though the 27 windows of the
    other zones would make more than MAX_CALLS calls before, so D's ticket is told its
    replay's wait, as with no budget at all (every window played, the budget used up,
    it would get the fallback projection)."""
    monkeypatch.setattr(replay, "MAX_CALLS", 200)
    hall, core, now = four_zones({"A": 400, "B": 400, "C": 400, "D": 150})
    last = core.state.queue_lines["qD"][-1][2]
    played: list[tuple[int, int]] = []
    with plays(played):
        told = estimate.ticket_status(hall, core.state, last, now)
    assert played == [(1, 1)]
    played.clear()
    with plays(played):   # a kiosk of D asks: D's next ticket, and every other queue's
        status = estimate.queue_status(hall, core.state, now, zone="D")
    assert (1, 1) in played   # D's window alone, for D's line, within its own budget
    monkeypatch.setattr(replay, "MAX_CALLS", 10**6)   # what no budget gives
    with the_reference():
        assert told == estimate.ticket_status(hall, core.state, last, now)
        assert status["qD"] == estimate.queue_status(hall, core.state, now, zone="D")["qD"]


@pytest.mark.parametrize("back", [0.0, 0.05])
@pytest.mark.parametrize("seed", range(4))
def test_the_arrivals_index_counts_what_walking_the_tickets_counts(seed: int, back: float
                                                                   ) -> None:
    """The tickets per (queue, zone, class) of the last hour: from the index (kept up
    to date through issues and transfers) as from walking the newest tickets back,
    whatever the bounds, one of them a ticket's issue time to the microsecond, and
    with the clock set back now and then (the index answers whenever no ticket was
    issued after ``now``)."""
    rng = random.Random(seed)
    day = Day(random_hall(rng), rng, back=back)
    for step in range(600):
        day.step()
        tickets = list(day.core.state.tickets.values())
        if step % 20 or not tickets:
            continue
        index = day.core.state.arrivals()
        for _ in range(10):
            since = rng.choice(tickets).issued_at - rng.choice((0.0, 0.0, 1e-6, 600.0))
            now = rng.choice((day.now, rng.choice(tickets).issued_at, since + 3600))
            counted = index.since(since, now)
            assert counted is not None or now < max(t.issued_at for t in tickets)
            if counted is not None:
                assert counted == replay._issued_since(day.core.state, since, now)
    assert index.ordered == (back == 0.0) and len(index.issued) == len(tickets) > 100


def reference_encode(message: dict) -> str:
    """protocol.encode as it was (an encoder made for each frame)."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode()
    except UnicodeEncodeError:
        text = json.dumps(message, separators=(",", ":"))
    return text


@pytest.mark.parametrize("seed", range(3))
def test_every_event_frame_is_encoded_as_before(seed: int) -> None:
    """Each event of a random day, in full and as the lobby sees it, and a reply with a
    lone surrogate (sent escaped): the same text as before."""
    rng = random.Random(seed)
    day = Day(random_hall(rng), rng)
    frames = 0
    for _ in range(400):
        for event in day.step():
            data = event.to_dict()
            name = data.pop("name")
            changes = changes_for(event, day.core.state, day.core.hall)
            for shown, seen in ((data, changes),
                                (public_data(name, data), public_changes(changes))):
                message = {"type": "event", "seq": frames, "name": name, "data": shown,
                           "changes": seen}
                assert protocol.event_frame(frames, name, shown, seen) == \
                    reference_encode(message)
            frames += 1
    lone = {"type": "reply", "id": "x", "ok": True, "result": {"text": "a\ud800b"}}
    assert protocol.encode(lone) == reference_encode(lone)
    assert "\\ud800" in protocol.encode(lone)
    assert frames > 50


def test_a_pickled_state_leaves_its_indexes_behind_and_builds_them_again() -> None:
    """The balancer pickles the state on the hub's event loop: the arrivals index and
    the running totals stay out of the pickle, and the copy answers the same."""
    rng = random.Random(7)
    day = Day(random_hall(rng), rng, back=0.0)
    for _ in range(300):
        day.step()
    state = day.core.state
    since = day.now - LOOKBACK
    counted = state.arrivals().since(since, day.now)
    totals = {q: state.service_total(q, len(t)) for q, t in state.service_times.items()}
    kept = pickle.dumps(state)
    copy = pickle.loads(kept)
    assert b"_arrivals" not in kept and b"_totals" not in kept and copy == state
    assert copy.arrivals().since(since, day.now) == counted
    assert {q: copy.service_total(q, len(t)) for q, t in copy.service_times.items()} == totals
