"""Windows' utilisation, arrivals by hour and weekday, and ratings by week.

Utilisation is the time a window held a ticket (from its call to the event that let
it go: finished, no-show, transferred, held or cancelled) over the hall's scheduled
opening time of the days it opened, as the simulator counts it; it can pass 100%
when windows work on after closing. The hot/cold spread of a zone is its windows'
highest utilisation minus its lowest.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..hall import Hall
from ..store.schema import events
from . import facts
from .logread import Bounds, in_range


@dataclass(frozen=True)
class Usage:
    bucket: str
    window: str
    zone: str
    busy_hours: float
    open_hours: float

    @property
    def utilisation(self) -> float:
        return self.busy_hours / self.open_hours if self.open_hours else 0.0


@dataclass(frozen=True)
class Spread:
    bucket: str
    zone: str          # "" for the whole hall
    mean: float
    stdev: float
    min: float
    max: float

    @property
    def spread(self) -> float:
        return self.max - self.min


@dataclass(frozen=True)
class Hourly:
    weekday: int       # 0 = Monday
    hour: int
    arrivals: int
    wait_mean: float   # minutes


@dataclass(frozen=True)
class WeekRating:
    week: str
    rated: int
    satisfied: int     # levels 3–5
    low: int           # levels 1–2: 差评

    @property
    def satisfaction(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def usage(conn: sa.Connection, hall: Hall, b: Bounds) -> tuple[list[Usage], list[Spread]]:
    """Each window's held time: its finished tickets' last holds (the facts) and the
    holds the flags ended (no-show, hold, transfer, cancellation)."""
    days, f, fl = facts.days_table, facts.facts_table.c, facts.flags_table.c
    finished = (sa.select(f.bucket, f.window, f.hold.label("hold"))
                .where(f.window.is_not(None)))
    flagged = (sa.select(days.c.bucket, fl.window, (fl.at - fl.call_at).label("hold"))
               .select_from(facts.flags_table.join(days, days.c.day == fl.day))
               .where(fl.call_at.is_not(None)))
    holds = sa.union_all(finished, flagged).subquery("holds")
    busy = {(bucket, w): s for bucket, w, s in conn.execute(
        sa.select(holds.c.bucket, holds.c.window, sa.func.sum(holds.c.hold))
        .group_by(holds.c.bucket, holds.c.window))}
    opened = dict(conn.execute(
        sa.select(days.c.bucket, sa.func.count(sa.distinct(events.c.day)))
        .select_from(events.join(days, days.c.day == events.c.day))
        .where(in_range(b, "day_opened")).group_by(days.c.bucket)).all())
    scheduled = sum(end - start for start, end in hall.hours.periods) * 60.0
    uses = [Usage(bucket, w.id, w.zone, busy.get((bucket, w.id), 0.0) / 3600,
                  n * scheduled / 3600)
            for bucket, n in sorted(opened.items()) for w in hall.windows.values()]
    return uses, spreads(hall, uses)


def spreads(hall: Hall, uses: list[Usage]) -> list[Spread]:
    found = []
    for bucket in dict.fromkeys(u.bucket for u in uses):
        for zone in ("", *hall.zones):
            shares = [u.utilisation for u in uses if u.bucket == bucket
                      and (not zone or u.zone == zone)]
            if shares:
                found.append(Spread(bucket, zone, statistics.fmean(shares),
                                    statistics.pstdev(shares), min(shares), max(shares)))
    return found


def hourly(conn: sa.Connection) -> list[Hourly]:
    f = facts.facts_table.c
    query = (sa.select(f.weekday, f.hour, sa.func.count(), sa.func.avg(f.wait) / 60)
             .group_by(f.weekday, f.hour).order_by(f.weekday, f.hour))
    return [Hourly(*row) for row in conn.execute(query)]


def ratings_by_week(conn: sa.Connection) -> list[WeekRating]:
    f = facts.facts_table.c

    def count(cond: Any) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((cond, 1), else_=0))

    query = (sa.select(f.week, sa.func.count(f.rating), count(f.rating >= 3),
                       count(f.rating <= 2))
             .group_by(f.week).order_by(f.week))
    return [WeekRating(*row) for row in conn.execute(query)]
