"""The report's figures: GROUP BY over the per-ticket facts, per bucket and grouping.

One pass over the facts sums them per bucket and finest combination of zone, loop,
queue, class, window and clerk (the cube: a few hundred rows a month); each grouping
is then a GROUP BY over the cube, given a row of zeros for each key the period knew
but that had no ticket, and ends with the period's totals added up from its rows.
Percentiles need the values themselves: nearest rank (``dispatcher/stats.py``),
computed by the database (``ranks.py``) for every row and total, never averaged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..hall import Hall
from . import facts, ranks
from .columns import ALL_NAMES, CLASS_NAMES, GROUPINGS, key_name
from .period import Period
from .usage import Hourly, Spread, Usage, WeekRating, hourly, ratings_by_week, spreads, usage

Value = float | int | None
DIMENSIONS = ("hall", "zone", "loop", "queue", "class", "window", "clerk")
TOTAL = "合计 total"      # the bucket of the period's totals
ALL = "*"                # the key of a grouping's total row: every key
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
            report.usage, report.spreads = usage(conn, hall, found)
            cube = _cube(conn, hall)
            tables = {g: _table(conn, hall, period, cube, g, report.usage) for g in GROUPINGS}
            waits = ranks.percentiles(conn, _levels(period, tables))
            for grouping, sums in tables.items():
                report.rows += _rows(hall, period, grouping, sums, waits)
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
    # grouped by the bucket's number, not its name, and not by the hall (one value):
    # the sort under the GROUP BY compares fewer and cheaper keys
    dims = [f.bucket_no, *(f[d] for d in DIMENSIONS if d != "hall")]
    query = (sa.select(sa.func.min(f.bucket), sa.func.min(f.hall), *dims[1:],
                       *(e.label(k) for k, e in sums.items())).group_by(*dims))
    conn.execute(cube.insert().from_select(["bucket", *DIMENSIONS, *sums], query))
    return cube


Sums = dict[tuple[str, str], dict[str, Any]]     # (bucket, key) → the group's sums


def _table(conn: sa.Connection, hall: Hall, period: Period, cube: sa.Table, grouping: str,
           uses: list[Usage]) -> Sums:
    """The grouping's sums per bucket and key, with a row of zeros for each key the
    period knew but that had no ticket (a window that finished nothing, a clerk signed
    in for nothing, a queue nobody took), then the period's totals: per key (when there
    is more than one bucket) and for every key (``ALL``; not for the hall, one key)."""
    c, key = cube.c, cube.c[grouping]
    sums = [k for k in _sums(hall) if k != "wait_max"]
    query = (sa.select(c.bucket, key.label("gkey"), *(sa.func.sum(c[k]).label(k) for k in sums),
                       sa.func.max(c.wait_max).label("wait_max"))
             .where(key.is_not(None)).group_by(c.bucket, key))
    found: Sums = {(r["bucket"], r["gkey"]): dict(r) for r in conn.execute(query).mappings()}
    zero = {**dict.fromkeys(sums, 0), "wait_max": None}
    for bucket, k in _known(conn, hall, grouping, uses):
        found.setdefault((bucket, k), {**zero, "bucket": bucket, "gkey": k})
    order = {b: i for i, b in enumerate(period.buckets())}
    table = dict(sorted(found.items(), key=lambda item: (order[item[0][0]],
                                                         _order(hall, grouping, item[0][1]))))
    keys = list(dict.fromkeys(k for _, k in sorted(found, key=lambda bk: _order(hall, grouping,
                                                                              bk[1]))))
    if not found:
        return table
    if len(period.buckets()) > 1:
        for k in keys:
            table[TOTAL, k] = _added([v for (_, kk), v in found.items() if kk == k], TOTAL, k)
    if grouping != "hall":
        table[TOTAL, ALL] = _added(list(found.values()), TOTAL, ALL)
    return table


def _known(conn: sa.Connection, hall: Hall, grouping: str, uses: list[Usage]
           ) -> list[tuple[str, str]]:
    """(bucket, key) of each key a bucket in which the hall opened must show: the hall
    file's zones, loops, queues, classes and windows; the clerks who signed in."""
    buckets = list(dict.fromkeys(u.bucket for u in uses))
    if grouping == "clerk":
        si, days = facts.signins_table.c, facts.days_table.c
        return [(b, k) for b, k in conn.execute(
            sa.select(days.bucket, si.clerk).distinct()
            .select_from(facts.signins_table.join(facts.days_table, days.day == si.day))
            .where(si.clerk.is_not(None), si.clerk != ""))]
    keys = {"hall": [""], "zone": list(hall.zones),
            "loop": list(dict.fromkeys(facts.LOOPS[q.kind] for q in hall.queues.values())),
            "queue": list(hall.queues), "class": list(CLASS_NAMES),
            "window": list(hall.windows)}[grouping]
    return [(b, k) for b in buckets for k in keys]


def _added(rows: list[dict[str, Any]], bucket: str, key: str) -> dict[str, Any]:
    """The groups' sums added up (the maximum of their maxima): a total from its rows."""
    total: dict[str, Any] = {"bucket": bucket, "gkey": key}
    for name in rows[0]:
        if name in ("bucket", "gkey"):
            continue
        values = [r[name] for r in rows if r[name] is not None]
        total[name] = (max(values, default=None) if name == "wait_max"
                       else sum(values))
    return total


def _levels(period: Period, tables: dict[str, Sums]) -> list[ranks.Level]:
    """The groups whose percentiles the database computes: every (bucket, key); the
    period's per-key totals, unless one bucket is the period; each grouping's total
    unless its tickets are the hall's (every grouping but window and clerk)."""
    number = {b: i for i, b in enumerate(period.buckets())}

    def counts(sums: Sums, keep: Any) -> dict[ranks.Group, tuple[int, int]]:
        return {(number.get(b, ranks.TOTAL), None if k == ALL else k):
                (v["issued"], v["service_n"]) for (b, k), v in sums.items() if keep(b, k)}

    hall_total = _total(tables["hall"])
    levels = []
    for grouping, sums in tables.items():
        levels.append(ranks.Level(grouping, True, True, counts(sums, lambda b, k: b != TOTAL)))
        if len(number) > 1:
            levels.append(ranks.Level(grouping, False, True,
                                      counts(sums, lambda b, k: b == TOTAL and k != ALL)))
        own = sums.get((TOTAL, ALL))
        if own is not None and _n(own) != _n(hall_total):
            levels.append(ranks.Level(grouping, False, False,
                                      counts(sums, lambda b, k: (b, k) == (TOTAL, ALL))))
    return levels


def _total(sums: Sums) -> dict[str, Any]:
    """The hall's whole period: its total row, or its one bucket's."""
    return sums.get((TOTAL, ""), next(iter(sums.values()), {}))


def _n(sums: dict[str, Any]) -> tuple[int, int]:
    return sums.get("issued", 0), sums.get("service_n", 0)


def _rows(hall: Hall, period: Period, grouping: str, table: Sums,
          found: dict[tuple[str, ranks.Group], ranks.Found]) -> list[Row]:
    number = {b: i for i, b in enumerate(period.buckets())}
    rows = []
    for (bucket, key), r in table.items():
        group: ranks.Group = (number.get(bucket, ranks.TOTAL), None if key == ALL else key)
        got = _reused(grouping, group, found, len(number) == 1) if r["issued"] else {}
        name = ALL_NAMES[grouping] if key == ALL else key_name(hall, grouping, key)
        rows.append(Row(bucket, grouping, key, name, _values(r, got, grouping)))
    return rows


def _reused(grouping: str, group: ranks.Group,
            found: dict[tuple[str, ranks.Group], ranks.Found], single: bool) -> ranks.Found:
    """A group's percentiles, or those of the group with the same tickets: a key over a
    period of one bucket is that bucket's; a total with the hall's tickets is the hall's."""
    if (grouping, group) in found:
        return found[grouping, group]
    if group[1] is not None:                  # one bucket: the period's total is its row
        return next(v for (g, (_, k)), v in found.items() if (g, k) == (grouping, group[1]))
    return _reused("hall", (0 if single else ranks.TOTAL, ""), found, single)


def _values(r: dict[str, Any], got: ranks.Found, grouping: str) -> dict[str, Value]:
    n = r["issued"]
    waits, services = got.get("wait", {}), got.get("service", {})
    minutes = {k: (None if v is None else v / 60) for k, v in (
        ("wait_mean", r["wait_sum"] / n if n else None), ("wait_max", r["wait_max"]),
        ("wait_p50", waits.get(50)), ("wait_p90", waits.get(90)),
        ("service_mean", r["service_sum"] / r["service_n"] if r["service_n"] else None),
        ("service_p90", services.get(90)))}
    values: dict[str, Value] = {k: v for k, v in r.items() if k not in (
        "bucket", "gkey", "within", "satisfied", "wait_sum", "service_sum", "service_n")}
    values.update(minutes)
    values["within"] = r["within"] / n if n else None
    values["satisfaction"] = r["satisfied"] / r["rated"] if r["rated"] else None
    if grouping in ("window", "clerk"):
        values["issued"] = None          # a window's rows are the tickets it finished
    return values


def _add_usage(report: Report) -> None:
    """Utilisation on the window rows; its mean and hot/cold spread on zone and hall rows.
    The period's: each window's held hours over its open hours, all buckets added."""
    whole = [Usage(TOTAL, w, uses[0].zone, sum(u.busy_hours for u in uses),
                   sum(u.open_hours for u in uses))
             for w, uses in _by_window(report.usage).items()]
    by_window = {(u.bucket, u.window): u.utilisation for u in [*report.usage, *whole]}
    busy, opened = sum(u.busy_hours for u in whole), sum(u.open_hours for u in whole)
    by_window[TOTAL, ALL] = busy / opened if opened else 0.0
    by_zone = {(s.bucket, s.zone): s for s in [*report.spreads, *spreads(report.hall, whole)]}
    for row in report.rows:
        zone = "" if row.key == ALL else row.key
        if row.grouping == "window":
            row.values["utilisation"] = by_window.get((row.bucket, row.key))
        elif row.grouping in ("zone", "hall") and (row.bucket, zone) in by_zone:
            spread = by_zone[row.bucket, zone]
            row.values.update(utilisation=spread.mean, spread=spread.spread)


def _by_window(uses: list[Usage]) -> dict[str, list[Usage]]:
    found: dict[str, list[Usage]] = {}
    for u in uses:
        found.setdefault(u.window, []).append(u)
    return found


def _order(hall: Hall, grouping: str, key: str) -> tuple[int, str]:
    """The hall file's order for zones, queues and windows; else alphabetical."""
    known = {"zone": list(hall.zones), "queue": list(hall.queues),
             "window": list(hall.windows), "loop": ["big loop", "small loop", "lines"],
             "class": ["normal", "appointment", "green"]}.get(grouping, [])
    return (known.index(key), "") if key in known else (len(known), key)
