"""One business day of the hall on a virtual clock, through the real dispatch core.

Events on the clock: a citizen arrives (``issue_ticket``), a window is free again
(``call_next``, which finishes the ticket it held, as the keypad's "next" does; or
``no_show``, or ``finish_service`` when nothing waits), a period opens
(``open_window``) or ends, and, under ``balanced`` (``capped``), the console applies
the moves of ``suggest_moves`` (``capped_moves``). Each clerk calls the next ticket
as soon as the window is free, and the citizen comes up at once (or never: a no-show, given up after
``no_show_grace_s``). An idle window calls as soon as a ticket it serves arrives
(a window with the queue as main work before one with it as side work, the longest
idle first). When a period ends the kiosks stop issuing, and windows keep calling
for ``overtime_minutes`` more; what still waits then is carried into the next
period, or at the end of the day left at closing.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ..core import Dispatcher, DispatchError
from ..core import commands as cmd
from ..core import events as ev
from ..core.outcomes import simulated_outcome
from ..core.policy import BALANCING, capped_moves, hall_for, suggest_moves, unit_for_big_loop
from ..core.state import TicketState, WindowState
from ..hall import Hall
from .arrivals import Arrival, open_periods
from .estimates import Estimates, estimates_at_issue
from .service import draw_service

# event kinds, in the order they are handled at one moment
_STOP, _FREE, _OPEN, _ARRIVE, _BALANCE = range(5)


@dataclass(frozen=True)
class SimOptions:
    policy: str = "loops+side"
    seed: int = 1
    no_show: dict[str, float] = field(default_factory=dict)  # queue ("*": any) -> probability
    no_show_grace_s: float = 60.0
    service_dist: str = "lognormal"   # for arrivals without service_seconds
    service_cv: float = 0.7
    rebalance_minutes: float = 1.0    # balanced: how often the console applies the moves
    overtime_minutes: float = 30.0
    day: str = "2026-11-23"           # a Monday
    estimates: bool = True            # record the estimators at each issue


@dataclass
class TicketRecord:
    arrival: Arrival
    ticket: str | None = None          # None: refused at the kiosk
    issued_at: float = 0.0
    called_at: float | None = None
    window: str | None = None
    no_show: bool = False
    estimates: Estimates | None = None

    @property
    def wait(self) -> float | None:
        return None if self.called_at is None else self.called_at - self.issued_at


@dataclass
class Outcome:
    hall: Hall
    options: SimOptions
    records: list[TicketRecord]
    busy: dict[str, float]             # window -> seconds holding a ticket
    open_seconds: float                # the scheduled opening time of the day
    closed_at: float                   # seconds after midnight: the last overtime's end
    moves: int = 0                     # balanced, capped: profile changes applied
    moved: dict[str, list[float]] = field(default_factory=dict)  # window -> when it moved


def day_start(hall: Hall, day: str) -> float:
    """Epoch seconds of the local midnight that begins ``day``."""
    return datetime.combine(date.fromisoformat(day), datetime.min.time(),
                            ZoneInfo(hall.timezone)).timestamp()


def simulate(hall: Hall, arrivals: list[Arrival], options: SimOptions) -> Outcome:
    return _Run(hall, arrivals, options).play()


class _Run:
    def __init__(self, hall: Hall, arrivals: list[Arrival], opts: SimOptions,
                 core: Dispatcher | None = None) -> None:
        self.hall, self.opts, self.arrivals = hall, opts, arrivals
        self.core = core if core is not None else Dispatcher(hall_for(hall, opts.policy))
        self.midnight = day_start(hall, opts.day)
        self.periods = open_periods(hall)
        self.records = [TicketRecord(a) for a in arrivals]
        self._draw(random.Random(opts.seed))
        self.by_ticket: dict[str, int] = {}
        self.heap: list[tuple[float, int, int, object]] = []
        self.seq = 0
        self.idle: dict[str, None] = {}            # idle windows, longest idle first
        self.stopped: set[str] = set()             # windows that call no more this period
        self.busy = dict.fromkeys(hall.windows, 0.0)
        self.moves = 0
        self.moved: dict[str, list[float]] = {}

    def _draw(self, rng: random.Random) -> None:
        """Every random choice up front, in a fixed order, one list per purpose, so every
        policy sees the same citizens: the same business, service times and no-shows."""
        n = len(self.arrivals)
        services = [draw_service(rng, self.hall.queues[a.queue].service_seconds,
                                 self.opts.service_dist, self.opts.service_cv)
                    for a in self.arrivals]
        self.service = [s if a.service_seconds is None else a.service_seconds
                        for a, s in zip(self.arrivals, services, strict=True)]
        chance = self.opts.no_show
        self.absent = [rng.random() < chance.get(a.queue, chance.get("*", 0.0))
                       for a in self.arrivals]
        self.unit_draw = [rng.random() for _ in range(n)]

    # ------------------------------------------------------------ the clock

    def push(self, at: float, kind: int, payload: object = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, kind, self.seq, payload))

    def play(self) -> Outcome:
        self.schedule()
        self.run_until(math.inf)
        return self.outcome()

    def schedule(self, since: float = -math.inf) -> None:
        """Put the arrivals, the periods' openings and ends and (under a balancing policy)
        the console's rounds on the clock, those at ``since`` (epoch seconds) or later."""
        for i, arrival in enumerate(self.arrivals):
            self.push(self.midnight + arrival.at, _ARRIVE, i)
        for (start, end), stop in zip(self.periods, self._overtime_ends(), strict=True):
            for at, kind, payload in ((start, _OPEN, None), (end, _STOP, False),
                                      (stop, _STOP, True)):
                if self.midnight + at >= since:
                    self.push(self.midnight + at, kind, payload)
        if self.opts.policy in BALANCING:
            self._schedule_balancing()

    def run_until(self, until: float) -> None:
        """Handle the events on the clock up to ``until`` (epoch seconds) included."""
        handlers = (self._stop, self._free, self._open, self._arrive, self._balance)
        while self.heap and self.heap[0][0] <= until:
            now, kind, _, payload = heapq.heappop(self.heap)
            handlers[kind](now, payload)

    def outcome(self) -> Outcome:
        open_seconds = sum(end - start for start, end in self.periods)
        return Outcome(self.hall, self.opts, self.records, self.busy, open_seconds,
                       self._overtime_ends()[-1], self.moves, self.moved)

    def _overtime_ends(self) -> list[float]:
        """When each period's overtime ends: at most when the next period opens, and
        before the business day rolls over (which would close every ticket)."""
        nexts = [start for start, _ in self.periods[1:]]
        nexts.append(24 * 3600.0 + self.hall.day_reset_minutes * 60 - 1)
        overtime = self.opts.overtime_minutes * 60
        return [min(end + overtime, nxt) for (_, end), nxt in zip(self.periods, nexts,
                                                                   strict=True)]

    def _schedule_balancing(self) -> None:
        step = self.opts.rebalance_minutes * 60
        for (start, _), stop in zip(self.periods, self._overtime_ends(), strict=True):
            at = start + step
            while at < stop:
                self.push(self.midnight + at, _BALANCE)
                at += step

    # ------------------------------------------------------------- handlers

    def _arrive(self, now: float, i: object) -> None:
        assert isinstance(i, int)
        record, arrival = self.records[i], self.arrivals[i]
        queue = arrival.queue
        if self.opts.policy == "dedicated" and self.hall.queues[queue].kind == "big_loop":
            queue = unit_for_big_loop(self.hall, arrival.zone, self.unit_draw[i])
        try:
            issued = self.core.execute(cmd.IssueTicket(queue, arrival.ticket_class,
                                                       arrival.zone), now)[-1]
        except DispatchError:
            return  # outside the opening hours: the kiosk refuses, the record keeps no ticket
        record.ticket, record.issued_at = issued.ticket, now
        self.by_ticket[issued.ticket] = i
        if self.opts.estimates:
            record.estimates = estimates_at_issue(self.core, issued.ticket, now)
        self._wake(queue, now)

    def _free(self, now: float, window: object) -> None:
        """The window is done with its ticket (served, or a no-show given up on). With
        ``call_next_finishes_current`` the clerk just presses next, as on the keypad."""
        assert isinstance(window, str)
        held = self.core.state.windows[window].ticket
        if held is not None and self.core.state.tickets[held].state is TicketState.CALLED \
                and self.absent[self.by_ticket[held]]:
            self.core.execute(cmd.NoShow(window), now)
            held = None
        calls = window not in self.stopped and self.core.choose_next(window, now) is not None
        if held is not None and not (calls and self.hall.call_next_finishes_current):
            self.core.execute(cmd.FinishService(window, **self._outcome(window)), now)
        if not calls or not self._call(window, now, checked=True):
            self._rest(window, now)

    def _outcome(self, window: str) -> dict[str, str]:
        """The outcome (办件结果) the clerk records for the ticket the window holds."""
        return simulated_outcome(self.core.hall, self.core.state, window)

    def _open(self, now: float, _: object) -> None:
        self.stopped.clear()
        for window, status in self.core.state.windows.items():
            if status.state is WindowState.CLOSED:
                self.core.execute(cmd.OpenWindow(window), now)
                self.idle[window] = None
        self._sweep(now)

    def _stop(self, now: float, final: object) -> None:
        """A period's end: idle windows close; with ``final`` (the overtime is over) the
        busy ones too, once their current ticket is done."""
        for window, status in self.core.state.windows.items():
            if status.state is WindowState.CLOSED:
                continue
            if final:
                self.stopped.add(window)
            if window in self.idle:
                self._rest(window, now)

    def _balance(self, now: float, _: object) -> None:
        hall, state = self.core.hall, self.core.state
        moves = (capped_moves(hall, state, now, self.moved) if self.opts.policy == "capped"
                 else suggest_moves(hall, state, now))
        for move in moves:
            try:
                events = self.core.execute(move, now)
            except DispatchError:
                continue  # e.g. a move that would leave a queue unserved: skip it
            for event in events:
                if isinstance(event, ev.ProfileChanged):
                    self.moves += 1
                    self.moved.setdefault(event.window, []).append(now)
        self._sweep(now)

    # -------------------------------------------------------------- windows

    def _call(self, window: str, now: float, checked: bool = False) -> bool:
        """The window calls its next ticket, if any (``checked``: the caller knows there
        is one); the citizen comes up or not."""
        if not checked and self.core.choose_next(window, now) is None:
            return False
        called = self.core.execute(cmd.CallNext(window, **self._outcome(window)), now)[-1]
        i = self.by_ticket[called.ticket]
        record = self.records[i]
        if record.called_at is None:
            record.called_at, record.window = now, window
        self.idle.pop(window, None)
        if self.absent[i]:
            record.no_show = True
            hold = self.opts.no_show_grace_s
        else:  # the citizen is at the desk at once; the service is timed from the call
            hold = self.service[i]
        self.busy[window] += hold
        self.push(now + hold, _FREE, window)
        return True

    def _rest(self, window: str, now: float) -> None:
        """Nothing to call: the window waits, or closes once its period is over."""
        self.idle.pop(window, None)
        if window in self.stopped or not self.hall.is_open(now):
            self.core.execute(cmd.CloseWindow(window), now)
        else:
            self.idle[window] = None

    def _wake(self, queue: str, now: float) -> None:
        """An idle window that serves the queue calls: main work before side work."""
        windows = self.core.state.windows
        for tier in ("main", "side"):
            for window in list(self.idle):
                if queue in getattr(windows[window].profile, tier) and self._call(window, now):
                    return

    def _sweep(self, now: float) -> None:
        for window in list(self.idle):
            self._call(window, now)


class LiveRun(_Run):
    """A run that takes over a live hall at ``now`` instead of starting the day: the
    forward simulation of ``dispatcher/simulator/forward.py``. ``core`` holds the live
    state (a copy: the run changes it), ``arrivals`` come after ``now``. A ticket waiting
    at ``now`` takes ``services[ticket]`` seconds once called; a window holding a
    ticket is free ``left[window]`` seconds after ``now``; idle windows call at once what
    they may; paused windows stay paused and closed ones closed until a period opens;
    nobody moves a window (profiles stay as they are)."""

    def __init__(self, core: Dispatcher, arrivals: list[Arrival], opts: SimOptions,
                 now: float, services: dict[str, float], left: dict[str, float]) -> None:
        super().__init__(core.hall, arrivals, replace(opts, policy="loops+side"), core)
        self.start = now
        state = core.state
        for ticket in sorted(services):
            self._adopt(ticket, services[ticket], at_window=False)
        for window, seconds in sorted(left.items()):
            held = state.windows[window].ticket
            assert held is not None, f"window {window} holds no ticket"
            self._adopt(held, 0.0, at_window=True)
            self.push(now + seconds, _FREE, window)
        self.idle.update((w, None) for w, s in sorted(state.windows.items())
                         if s.state is WindowState.IDLE)
        self._closed_at_start(now)
        self.schedule(since=now)
        self._sweep(now)

    def _adopt(self, ticket_id: str, service: float, at_window: bool) -> None:
        """A record for a ticket of the live state: waiting (its wait so far counts),
        or ``at_window``, already called."""
        ticket = self.core.state.tickets[ticket_id]
        zone = ticket.zone or self.hall.queues[ticket.queue].zones[0]
        arrival = Arrival(ticket.issued_at - self.midnight, zone, ticket.queue,
                          ticket.ticket_class, service)
        self.by_ticket[ticket_id] = len(self.records)
        self.records.append(TicketRecord(arrival, ticket_id, ticket.issued_at,
                                         ticket.called_at if at_window else None,
                                         ticket.window if at_window else None))
        self.service.append(service)
        self.absent.append(False)

    def _closed_at_start(self, now: float) -> None:
        """Between a period's end and the next opening, as if the run had seen the end:
        idle windows close, and after the overtime no window calls any more."""
        if self.hall.is_open(now):
            return
        ended = [self.midnight + stop for (_, end), stop
                 in zip(self.periods, self._overtime_ends(), strict=True)
                 if self.midnight + end <= now]
        if ended:
            self._stop(now, ended[-1] <= now)
