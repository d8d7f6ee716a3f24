"""A year of a large hall, written straight into a store: the events and projection rows
the core and the store would have written, made without deciding each command.

Each business day: ``day_opened``; at each window ``clerk_signed_in`` and
``window_opened``; the day's tickets, each issued at a kiosk of its window's zone,
called when its window is free (first in, first out per window), sometimes a
no-show, else ``service_started`` and ``service_finished`` (with the outcome code a
queue requires); 60% rated, a rating of 2 or less opening a 差评 case, most of them
contacted and closed later that day; at closing ``window_closed`` and ``day_closed``.
Events are built by the core's own event classes (``to_dict``) and dumped as the store
dumps them; the ``tickets`` rows are what the projection would hold. It is a generator
of shapes and volumes, not a model of a hall: every window has its own line.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from dispatcher.core import events as ev
from dispatcher.core.cases import working_day_end
from dispatcher.hall import WEEKDAYS, Hall
from dispatcher.reports.period import midnight
from dispatcher.store.store import _dumps

LEVELS, WEIGHTS = (5, 4, 3, 2, 1), (70, 20, 6, 3, 1)
CLASSES, CLASS_WEIGHTS = ("normal", "appointment", "green"), (85, 10, 5)


@dataclass
class Day:
    events: list[tuple[Any, ...]] = field(default_factory=list)   # rows of the events table
    tickets: list[dict[str, Any]] = field(default_factory=list)    # rows of the tickets table


def open_days(hall: Hall, start: date, count: int) -> list[date]:
    """The first ``count`` opening days of the hall from ``start`` on."""
    found, d = [], start
    while len(found) < count:
        if WEEKDAYS[d.weekday()] in hall.hours.days:
            found.append(d)
        d += timedelta(days=1)
    return found


class YearGenerator:
    def __init__(self, hall: Hall, tickets_per_day: int = 3000, seed: int = 1) -> None:
        self.hall, self.per_day, self.rng = hall, tickets_per_day, random.Random(seed)
        self.seq = 0
        self.kiosk = {z.id: z.kiosks[0] for z in hall.zones.values()}
        open_minutes = sum(end - start for start, end in hall.hours.periods)
        # each window's work ≈ 85% of its open time
        self.service_mean = 0.85 * open_minutes * 60 * len(hall.windows) / tickets_per_day

    def days(self, days: list[date]) -> Iterator[Day]:
        for d in days:
            yield self.day(d)

    def day(self, d: date) -> Day:
        hall, rng, iso = self.hall, self.rng, d.isoformat()
        base = midnight(d, hall.timezone)
        first, last = hall.hours.periods[0][0] * 60, hall.hours.periods[-1][1] * 60
        items: list[tuple[float, int, ev.Event, str | None, dict[str, Any] | None]] = []

        def add(event: ev.Event, device: str | None = None,
                ticket: dict[str, Any] | None = None) -> None:
            items.append((event.at, len(items), event, device, ticket))

        add(ev.DayOpened(at=base + first - 300, day=iso))
        for w in hall.windows:
            add(ev.ClerkSignedIn(at=base + first - 120, window=w, clerk=f"clerk-{w}"))
            add(ev.WindowOpened(at=base + first - 60, window=w))
        arrivals = sorted(self._arrival(base) for _ in range(self.per_day))
        free = dict.fromkeys(hall.windows, base + first)
        sequences: dict[str, int] = {}
        open_ids: list[str] = []
        day_rows: list[dict[str, Any]] = []
        case_no = 0
        for serial, at in enumerate(arrivals, 1):
            window = rng.choice(list(hall.windows.values()))
            queue = hall.queues[rng.choice(window.profile.main)]
            sequences[queue.prefix] = sequence = sequences.get(queue.prefix, 0) + 1
            number = f"{queue.prefix}{sequence:03d}"
            tid = f"{iso.replace('-', '')}-{number}"
            klass = rng.choices(CLASSES, CLASS_WEIGHTS)[0]
            row = {"id": tid, "day": iso, "prefix": queue.prefix, "sequence": sequence,
                   "serial": float(serial), "number": number, "queue": queue.id,
                   "ticket_class": klass, "issued_at": at,
                   "virtual_at": at - hall.credits[klass], "state": "waiting",
                   "window": None, "called_at": None, "started_at": None,
                   "finished_at": None, "recalls": 0, "requeues": 0, "transfers": 0,
                   "served_by": None, "rating": None, "issued_seq": 0}
            day_rows.append(row)
            add(ev.TicketIssued(at=at, ticket=tid, number=number, prefix=queue.prefix,
                                sequence=sequence, serial=serial, queue=queue.id,
                                ticket_class=klass, virtual_at=row["virtual_at"]),
                self.kiosk[window.zone], row)
            called = max(at, free[window.id])
            if called > base + last + 1800:       # past the overtime: left at closing
                open_ids.append(tid)
                continue
            device = f"C-{window.id}"
            add(ev.TicketCalled(at=called, ticket=tid, number=number, window=window.id,
                                queue=queue.id, tier="main"), device)
            row.update(window=window.id, called_at=called, state="called")
            if rng.random() < 0.05:
                free[window.id] = called + 60
                add(ev.TicketNoShow(at=called + 60, ticket=tid, window=window.id), device)
                row.update(state="no_show", window=None)
                open_ids.append(tid)
                continue
            started = called + rng.uniform(10, 40)
            finished = started + rng.expovariate(1 / self.service_mean)
            free[window.id] = finished
            outcome, case_number = self._outcome(queue.id, window.id, tid)
            add(ev.ServiceStarted(at=started, ticket=tid, window=window.id), device)
            add(ev.ServiceFinished(at=finished, ticket=tid, window=window.id,
                                   outcome=outcome, case_number=case_number), device)
            row.update(state="done", started_at=started, finished_at=finished,
                       served_by=window.id)
            if rng.random() < 0.6:
                level = rng.choices(LEVELS, WEIGHTS)[0]
                row["rating"] = level
                rated = finished + 20
                add(ev.TicketEvaluated(at=rated, ticket=tid, window=window.id, level=level,
                                       clerk=f"clerk-{window.id}"), f"E-{window.id}")
                if level <= hall.cases.open_at_or_below:
                    case_no += 1
                    self._case(add, iso, case_no, tid, number, window.id, level, rated)
        close = max(base + last + 3600, max(item[0] for item in items) + 120)
        for w in hall.windows:
            add(ev.WindowClosed(at=close - 60, window=w))
        add(ev.DayClosed(at=close, day=iso, closed_tickets=tuple(open_ids)))
        closed = set(open_ids)          # 日结 closes those waiting and the no-shows
        for row in day_rows:
            if row["id"] in closed:
                row["state"] = "closed"
        return self._rows(iso, items)

    def _arrival(self, base: float) -> float:
        """A moment in one of the opening periods, the periods weighted by length."""
        periods = self.hall.hours.periods
        start, end = self.rng.choices(periods, [e - s for s, e in periods])[0]
        return base + self.rng.uniform(start * 60, end * 60)

    def _outcome(self, queue: str, window: str, tid: str) -> tuple[str, str]:
        hall = self.hall
        if not hall.queues[queue].outcome_required:
            return "", ""
        code = hall.windows[window].default_outcome or self.rng.choice(list(hall.outcomes))
        return code, (f"GEN-{tid}" if hall.outcomes[code].case_number else "")

    def _case(self, add: Any, iso: str, n: int, tid: str, number: str, window: str,
              level: int, at: float) -> None:
        rules, case = self.hall.cases, f"C-{iso.replace('-', '')}-{n:03d}"
        add(ev.CaseOpened(at=at, case=case, ticket=tid, number=number, window=window,
                          clerk=f"clerk-{window}", level=level, reason="",
                          contact_by=working_day_end(self.hall, iso, rules.contact_within_days),
                          close_by=working_day_end(self.hall, iso, rules.close_within_days)))
        if self.rng.random() < 0.9:
            add(ev.CaseUpdated(at=at + 600, case=case, step="contacted", by="staff-001"))
            add(ev.CaseUpdated(at=at + 1200, case=case, step="closed", by="staff-001"))

    def _rows(self, iso: str, items: list[Any]) -> Day:
        day = Day()
        items.sort(key=lambda item: (item[0], item[1]))
        for at, _, event, device, ticket in items:
            self.seq += 1
            day.events.append((self.seq, iso, at, event.NAME, _dumps(event), device, None,
                               None, None, at))
            if ticket is not None:
                ticket["issued_seq"] = self.seq
                day.tickets.append(ticket)
        return day
