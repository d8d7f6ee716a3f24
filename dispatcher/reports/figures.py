"""The report's figures: GROUP BY over the per-ticket facts, per bucket and grouping.

Percentiles are nearest-rank (``dispatcher/stats.py``), computed by the database:
the rank ⌈p·n/100⌉ of each group's ascending values, found with ROW_NUMBER().
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..hall import Hall
from . import facts
from .columns import GROUPINGS, key_name
from .period import Period
from .usage import Hourly, Spread, Usage, WeekRating, hourly, ratings_by_week, usage

Value = float | int | None


@dataclass(frozen=True)
class Row:
    bucket: str
    grouping: str
    key: str
    name: str
    values: dict[str, Value]


@dataclass
class Report:
    hall: Hall
    period: Period
    asof: float | None                      # the log's last event (None: no day opened)
    rows: list[Row] = field(default_factory=list)
    usage: list[Usage] = field(default_factory=list)
    spreads: list[Spread] = field(default_factory=list)
    hourly: list[Hourly] = field(default_factory=list)
    weekly: list[WeekRating] = field(default_factory=list)

    def table(self, grouping: str) -> list[Row]:
        return [r for r in self.rows if r.grouping == grouping]


def build_report(engine: sa.Engine, hall: Hall, period: Period) -> Report:
    """Every figure of the period, read in one transaction (one snapshot)."""
    isolation = "REPEATABLE READ" if engine.dialect.name == "postgresql" else None
    options = {"isolation_level": isolation} if isolation else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        found = facts.fill(conn, hall, period)
        report = Report(hall, period, None if found is None else found.asof)
        if found is not None:
            for grouping in GROUPINGS:
                report.rows += _grouped(conn, hall, grouping)
            report.usage, report.spreads = usage(conn, hall, found)
            report.hourly = hourly(conn)
            report.weekly = ratings_by_week(conn)
        facts.scratch.drop_all(conn)
    return report


def _key(grouping: str) -> sa.ColumnElement[Any]:
    f = facts.facts_table.c
    if grouping == "hall":
        return sa.literal("").label("key")
    return {"zone": f.zone, "loop": f.loop, "queue": f.queue, "class": f["class"],
            "window": f.window, "clerk": f.clerk}[grouping]


def _ranked(key: sa.ColumnElement[Any]) -> sa.Subquery:
    f = facts.facts_table.c
    part = (f.bucket, key)
    no_service = sa.case((f.service.is_(None), 1), else_=0)
    return (sa.select(facts.facts_table, key.label("gkey"),
                      sa.func.row_number().over(partition_by=part, order_by=f.wait).label("rw"),
                      sa.func.count(f.wait).over(partition_by=part).label("nw"),
                      sa.func.row_number().over(partition_by=part,
                                                order_by=(no_service, f.service)).label("rs"),
                      sa.func.count(f.service).over(partition_by=part).label("ns"))
            .where(key.is_not(None)).subquery("ranked"))


def _at_rank(value: Any, row: Any, n: Any, p: int) -> sa.ColumnElement[Any]:
    """The value of nearest rank ⌈p·n/100⌉ (integer arithmetic, as stats.rank)."""
    return sa.func.max(sa.case((row == (p * n + 99) // 100, value)))


def _grouped(conn: sa.Connection, hall: Hall, grouping: str) -> list[Row]:
    r = _ranked(_key(grouping))
    total = sa.func.sum
    counts = {c: total(r.c[c]) for c in ("called", "served", "no_show", "requeued",
                                         "transferred", "cancelled", "held", "left",
                                         "overdue")}
    levels = {f"r{n}": total(sa.case((r.c.rating == n, 1), else_=0)) for n in range(5, 0, -1)}
    outcomes = {f"outcome:{code}": total(sa.case((r.c.outcome == code, 1), else_=0))
                for code in hall.outcomes}
    query = sa.select(
        r.c.bucket, r.c.gkey, sa.func.count().label("issued"),
        *(e.label(k) for k, e in {**counts, **levels, **outcomes}.items()),
        (sa.func.avg(r.c.wait) / 60).label("wait_mean"),
        (_at_rank(r.c.wait, r.c.rw, r.c.nw, 50) / 60).label("wait_p50"),
        (_at_rank(r.c.wait, r.c.rw, r.c.nw, 90) / 60).label("wait_p90"),
        (sa.func.max(r.c.wait) / 60).label("wait_max"),
        total(r.c.within).label("within_n"),
        (sa.func.avg(r.c.service) / 60).label("service_mean"),
        (_at_rank(r.c.service, r.c.rs, r.c.ns, 90) / 60).label("service_p90"),
        sa.func.count(r.c.rating).label("rated"),
        total(sa.case((r.c.rating >= 3, 1), else_=0)).label("satisfied"),
        total(r.c.case_opened).label("cases_opened"),
        total(r.c.case_closed).label("cases_closed"),
        total(r.c.case_overdue).label("cases_overdue"),
    ).group_by(r.c.bucket, r.c.gkey).order_by(r.c.bucket, r.c.gkey)
    rows = []
    for found in conn.execute(query).mappings():
        values: dict[str, Value] = {k: v for k, v in found.items()
                                    if k not in ("bucket", "gkey", "within_n", "satisfied")}
        values["within"] = found["within_n"] / found["issued"]
        values["satisfaction"] = found["satisfied"] / found["rated"] if found["rated"] else None
        if grouping in ("window", "clerk"):
            values["issued"] = None          # a window's rows are the tickets it finished
        rows.append(Row(found["bucket"], grouping, found["gkey"],
                        key_name(hall, grouping, found["gkey"]), values))
    return sorted(rows, key=lambda row: (row.bucket, _order(hall, grouping, row.key)))


def _order(hall: Hall, grouping: str, key: str) -> tuple[int, str]:
    """The hall file's order for zones, queues and windows; else alphabetical."""
    known = {"zone": list(hall.zones), "queue": list(hall.queues),
             "window": list(hall.windows), "loop": ["big loop", "small loop", "lines"],
             "class": ["normal", "appointment", "green"]}.get(grouping, [])
    return (known.index(key), "") if key in known else (len(known), key)
