"""The report's figures: GROUP BY over the per-ticket facts, per bucket and grouping.

One pass over the facts sums them per bucket and finest combination of zone, loop,
queue, class, window and clerk (the cube: a few hundred rows a month); each grouping
is then a GROUP BY over the cube. Percentiles need the values themselves: nearest rank
(``dispatcher/stats.py``), computed by the database (``ranks.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..hall import Hall
from . import facts, ranks
from .columns import GROUPINGS, key_name
from .period import Period
from .usage import Hourly, Spread, Usage, WeekRating, hourly, ratings_by_week, usage

Value = float | int | None
DIMENSIONS = ("hall", "zone", "loop", "queue", "class", "window", "clerk")
COUNTS = ("called", "served", "no_show", "requeued", "transferred", "cancelled", "held",
          "left", "overdue", "within")


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
    postgres = engine.dialect.name == "postgresql"
    options = {"isolation_level": "REPEATABLE READ"} if postgres else {}
    with engine.connect().execution_options(**options) as conn, conn.begin():
        if postgres:   # compiling these one-off queries (JIT) costs more than running them
            conn.exec_driver_sql("SET LOCAL jit = off")
        else:          # SQLite: sorts and scratch tables in memory
            conn.exec_driver_sql("PRAGMA temp_store=MEMORY")
        found = facts.fill(conn, hall, period)
        report = Report(hall, period, None if found is None else found.asof)
        if found is not None:
            cube = _cube(conn, hall)
            for grouping in GROUPINGS:
                report.rows += _grouped(conn, hall, period, cube, grouping)
            report.usage, report.spreads = usage(conn, hall, found)
            _add_usage(report)
            report.hourly = hourly(conn)
            report.weekly = ratings_by_week(conn)
        facts.scratch.drop_all(conn)
    return report


def _sums(hall: Hall) -> dict[str, Any]:
    """What the cube keeps per combination, as aggregates of the facts."""
    f, total = facts.facts_table.c, sa.func.sum

    def count(cond: Any) -> Any:
        return total(sa.case((cond, 1), else_=0))

    return {"issued": sa.func.count(), **{c: total(f[c]) for c in COUNTS},
            **{f"r{n}": count(f.rating == n) for n in range(5, 0, -1)},
            **{f"outcome:{code}": count(f.outcome == code) for code in hall.outcomes},
            "rated": sa.func.count(f.rating), "satisfied": count(f.rating >= 3),
            **{f"cases_{k}": total(f[f"case_{k}"]) for k in ("opened", "closed", "overdue")},
            "wait_sum": total(f.wait), "wait_max": sa.func.max(f.wait),
            "service_sum": total(f.service), "service_n": sa.func.count(f.service)}


def _cube(conn: sa.Connection, hall: Hall) -> sa.Table:
    f = facts.facts_table.c
    sums = _sums(hall)
    cube = sa.Table("report_cube", sa.MetaData(), sa.Column("bucket", sa.String(10)),
                    *(sa.Column(d, sa.String(64)) for d in DIMENSIONS),
                    *(sa.Column(k, sa.Float if k.endswith(("_sum", "_max")) else sa.Integer)
                      for k in sums), **facts.TEMP)
    cube.drop(conn, checkfirst=True)
    cube.create(conn)
    dims = [f.bucket, *(f[d] for d in DIMENSIONS)]
    query = sa.select(*dims, *(e.label(k) for k, e in sums.items())).group_by(*dims)
    conn.execute(cube.insert().from_select(["bucket", *DIMENSIONS, *sums], query))
    return cube


def _key(table: sa.Table, grouping: str) -> sa.ColumnElement[Any]:
    return table.c[grouping]


def _grouped(conn: sa.Connection, hall: Hall, period: Period, cube: sa.Table,
             grouping: str) -> list[Row]:
    c, key = cube.c, _key(cube, grouping)
    sums = [k for k in _sums(hall) if k != "wait_max"]
    query = (sa.select(c.bucket, key.label("gkey"), *(sa.func.sum(c[k]).label(k) for k in sums),
                       sa.func.max(c.wait_max).label("wait_max"))
             .where(key.is_not(None)).group_by(c.bucket, key))
    found = [dict(r) for r in conn.execute(query).mappings()]
    f = facts.facts_table.c
    fkey = _key(facts.facts_table, grouping)
    number = {b: i for i, b in enumerate(period.buckets())}   # sorts faster than text
    waits = ranks.percentiles(conn, f.bucket_no, fkey, f.wait, (50, 90),
                              {(number[r["bucket"]], r["gkey"]): r["issued"] for r in found})
    services = ranks.percentiles(conn, f.bucket_no, fkey, f.service, (90,),
                                 {(number[r["bucket"]], r["gkey"]): r["service_n"]
                                  for r in found})
    rows = [Row(r["bucket"], grouping, r["gkey"], key_name(hall, grouping, r["gkey"]),
                _values(r, (number[r["bucket"]], r["gkey"]), waits, services, grouping))
            for r in found]
    return sorted(rows, key=lambda row: (row.bucket, _order(hall, grouping, row.key)))


def _values(r: dict[str, Any], group: tuple[int, str], waits: ranks.Ranks,
            services: ranks.Ranks, grouping: str) -> dict[str, Value]:
    minutes = {k: (None if v is None else v / 60) for k, v in (
        ("wait_mean", r["wait_sum"] / r["issued"]), ("wait_max", r["wait_max"]),
        ("wait_p50", waits[group][50]), ("wait_p90", waits[group][90]),
        ("service_mean", r["service_sum"] / r["service_n"] if r["service_n"] else None),
        ("service_p90", services.get(group, {}).get(90)))}
    values: dict[str, Value] = {k: v for k, v in r.items() if k not in (
        "bucket", "gkey", "within", "satisfied", "wait_sum", "service_sum", "service_n")}
    values.update(minutes)
    values["within"] = r["within"] / r["issued"]
    values["satisfaction"] = r["satisfied"] / r["rated"] if r["rated"] else None
    if grouping in ("window", "clerk"):
        values["issued"] = None          # a window's rows are the tickets it finished
    return values


def _add_usage(report: Report) -> None:
    """Utilisation on the window rows; its mean and hot/cold spread on zone and hall rows."""
    by_window = {(u.bucket, u.window): u.utilisation for u in report.usage}
    by_zone = {(s.bucket, s.zone): s for s in report.spreads}
    for row in report.rows:
        if row.grouping == "window":
            row.values["utilisation"] = by_window.get((row.bucket, row.key))
        elif row.grouping in ("zone", "hall") and (row.bucket, row.key) in by_zone:
            spread = by_zone[row.bucket, row.key]
            row.values.update(utilisation=spread.mean, spread=spread.spread)


def _order(hall: Hall, grouping: str, key: str) -> tuple[int, str]:
    """The hall file's order for zones, queues and windows; else alphabetical."""
    known = {"zone": list(hall.zones), "queue": list(hall.queues),
             "window": list(hall.windows), "loop": ["big loop", "small loop", "lines"],
             "class": ["normal", "appointment", "green"]}.get(grouping, [])
    return (known.index(key), "") if key in known else (len(known), key)
