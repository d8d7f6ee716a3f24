"""`onewindow demo`: a morning in the sample hall, through the real core and store.

A small discrete-event loop plays the citizens (arrivals by queue, the green
channel, appointments, no-shows who come back) and the clerks (call, start,
finish, transfer a mis-taken ticket, 好差评). Every command goes through
HallService, so it is decided by the core and committed to the store before it
is printed. At the end the figures are read back from the store's tables.
"""

from __future__ import annotations

import heapq
import json
import random
import statistics
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from .core import DispatchError
from .core import commands as c
from .core import events as ev
from .core.outcomes import simulated_outcome
from .hall import Hall
from .service import HallService
from .stats import percentile
from .store import events as events_table
from .store import tickets as tickets_table

RATINGS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
Out = Callable[[str], None]


@dataclass(frozen=True)
class DemoOptions:
    minutes: float = 60.0    # how long tickets are issued, in hall minutes
    speed: float = 120.0     # hall seconds per real second; 0: as fast as possible
    load: float = 1.0        # arrivals as a share of the windows' capacity: a morning rush
    seed: int = 7
    no_show: float = 0.05
    mis_taken: float = 0.03


def demo_day(today: date | None = None) -> date:
    day = today or date.today()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def arrival_rates(hall: Hall, load: float) -> dict[str, float]:
    """Tickets per second per queue: each window's capacity shared among its main work."""
    rates = dict.fromkeys(hall.queues, 0.0)
    for window in hall.windows.values():
        for qid in window.profile.main:
            rates[qid] += 1 / hall.queues[qid].service_seconds / len(window.profile.main)
    return {q: r * load for q, r in rates.items()}


class Demo:
    def __init__(self, service: HallService, start: float, opts: DemoOptions, out: Out) -> None:
        self.service, self.hall, self.opts, self.out = service, service.hall, opts, out
        self.rng = random.Random(opts.seed)
        self.now = start
        self.end_of_issue = start + opts.minutes * 60
        self.agenda: list[tuple[float, int, str, str]] = []
        self.counter = 0

    def at(self, when: float, kind: str, arg: str) -> None:
        self.counter += 1
        heapq.heappush(self.agenda, (when, self.counter, kind, arg))

    def do(self, command: c.Command) -> list[ev.Event]:
        return [e for _, e in self.service.execute(command, self.now, device="demo")]

    def say(self, text: str) -> None:
        self.out(f"{self.hall.local_time(self.now):%H:%M:%S}  {text}")

    def run(self) -> None:
        for window in self.hall.windows:
            self.do(c.OpenWindow(window))
            self.at(self.now + self.rng.uniform(0, 60), "free", window)
        for queue, rate in arrival_rates(self.hall, self.opts.load).items():
            if rate > 0:
                self.at(self.now + self.rng.expovariate(rate), "arrive", queue)
        self.say(f"开门 {self.hall.name}: {len(self.hall.windows)} 个窗口 windows open")
        clock = time.monotonic()
        while self.agenda:
            when, _, kind, arg = heapq.heappop(self.agenda)
            if self.opts.speed > 0:
                clock += (when - self.now) / self.opts.speed
                time.sleep(max(0.0, clock - time.monotonic()))
            self.now = when
            getattr(self, f"_{kind}")(arg)
        self.do(c.CloseDay())
        self.say("日结 day closed")

    # ------------------------------------------------------------ happenings

    def _arrive(self, queue: str) -> None:
        if self.now >= self.end_of_issue:
            return
        roll = self.rng.random()
        ticket_class = "green" if roll < 0.05 else "appointment" if roll < 0.12 else "normal"
        self.do(c.IssueTicket(queue, ticket_class))
        rate = arrival_rates(self.hall, self.opts.load)[queue]
        self.at(self.now + self.rng.expovariate(rate), "arrive", queue)

    def _free(self, window: str) -> None:
        try:
            called = self.do(c.CallNext(window))[-1]
        except DispatchError:  # nothing waiting: look again shortly
            if self.now < self.end_of_issue or self._anyone_waiting():
                self.at(self.now + 20, "free", window)
            return
        assert isinstance(called, ev.TicketCalled)
        name = self.hall.windows[window].name
        self.say(f"叫号 请 {called.number} 号 到 {name} 办理   "
                 f"Now serving {called.number} at {self.hall.windows[window].name_en}")
        self.at(self.now + self.rng.uniform(15, 45), "arrives_at_desk", window)

    def _arrives_at_desk(self, window: str) -> None:
        ticket = self.service.core.state.windows[window].ticket
        assert ticket is not None
        number = self.service.core.ticket(ticket).number
        if self.rng.random() < self.opts.no_show:
            self.do(c.Recall(window))
            self.do(c.NoShow(window))
            self.say(f"过号 {number} did not come")
            if self.rng.random() < 0.5:
                self.do(c.Requeue(ticket))
                self.say(f"过号重排 {number} came back and waits again")
            self.at(self.now + 5, "free", window)
            return
        queue = self.service.core.ticket(ticket).queue
        if self.rng.random() < self.opts.mis_taken and self.hall.queues[queue].kind == "big_loop":
            self._transfer(window, ticket, number)
            return
        self.do(c.StartService(window))
        service = self.rng.expovariate(1 / self.hall.queues[queue].service_seconds)
        self.at(self.now + service, "done", window)

    def _transfer(self, window: str, ticket: str, number: str) -> None:
        zone = self.hall.windows[window].zone
        units = [q.id for q in self.hall.queues.values() if q.kind == "unit" and zone in q.zones]
        target = self.rng.choice(units)
        self.do(c.Transfer(ticket, to_queue=target))
        self.say(f"转移 {number} → {self.hall.queues[target].name}, keeping its place")
        self.at(self.now + 5, "free", window)

    def _done(self, window: str) -> None:
        ticket = self.service.core.state.windows[window].ticket
        self.do(c.FinishService(window, **simulated_outcome(self.hall, self.service.core.state,
                                                            window)))
        if ticket and self.rng.random() < 0.6:
            level = self.rng.choices([5, 4, 3, 2, 1], weights=[70, 20, 6, 3, 1])[0]
            self.do(c.Evaluate(ticket, level))
        self.at(self.now + self.rng.uniform(5, 20), "free", window)

    def _anyone_waiting(self) -> bool:
        state = self.service.core.state
        return any(state.queue_lines.values()) or any(state.window_lines.values())


def _pad(text: str, width: int) -> str:
    """Left-align in a terminal, where a Chinese character takes two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
    return text + " " * max(0, width - used)


def summary(service: HallService, day: str) -> list[str]:
    """The day's figures, read back from the store's tables."""
    with service.store.engine.connect() as conn:
        rows = conn.execute(sa.select(tickets_table).where(tickets_table.c.day == day)).all()
        no_show_events = conn.execute(sa.select(events_table.c.data).where(
            events_table.c.day == day, events_table.c.name == ev.TicketNoShow.NAME)).all()
    no_shows = {json.loads(data)["ticket"] for (data,) in no_show_events}
    lines = ["", f"{_pad('queue 队列', 22)}{'issued':>7}{'served':>7}{'no-show':>8}"
             f"{'mean wait':>11}{'p90 wait':>10}{'rating':>8}"]
    for qid, queue in service.hall.queues.items():
        mine = [r for r in rows if r.queue == qid]
        if not mine:
            continue
        waits = sorted((r.called_at - r.issued_at) / 60 for r in mine if r.called_at)
        rated = [r.rating for r in mine if r.rating]
        p90 = percentile(waits, 90) if waits else 0.0
        lines.append(
            f"{_pad(f'{queue.prefix} {queue.name}', 22)}{len(mine):>7}"
            f"{sum(r.state == 'done' for r in mine):>7}"
            f"{sum(r.id in no_shows for r in mine):>8}"
            f"{statistics.fmean(waits) if waits else 0:>7.1f} min{p90:>6.1f} min"
            f"{statistics.fmean(rated) if rated else 0:>8.2f}")
    lines.append(f"{len(rows)} tickets issued, {sum(r.state == 'done' for r in rows)} served; "
                 f"ratings 1–5 ({', '.join(f'{k} {v}' for k, v in RATINGS.items())})")
    return lines


def run_demo(hall: Hall, url: str, opts: DemoOptions, out: Out = print) -> str:
    """Play a morning; return the business day it was played on."""
    day, opening = demo_day(), min(p[0] for p in hall.hours.periods)
    start_at = datetime.combine(day, dt_time(opening // 60, opening % 60),
                                ZoneInfo(hall.timezone)).timestamp()
    with HallService.open(hall, url) as service:
        Demo(service, start_at, opts, out).run()
        business_day = hall.business_day(start_at)
        for line in summary(service, business_day):
            out(line)
    return business_day
