"""One row per ticket of the period, built by the database into a temporary table.

The ``tickets`` projection joined with what ``logread.py`` reads from the event log
(first call, no-show, hold, cancellation, outcome, clerk, 差评 case, the day's close)
and with the hall file (queue, zone, loop and target of each number's prefix; the
kiosk's zone). Every grouping of ``figures.py`` is then a GROUP BY over this table:
nothing loops over tickets in Python. Each step has its own scratch table with a
primary key, so the joins after it are lookups; they are dropped at the end.

The queue, zone and loop of a ticket are those it was issued for (its number's
prefix and its kiosk), kept after a transfer; a ticket issued at the console counts
in its queue's first zone.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from ..hall import Hall
from ..store.schema import tickets
from . import logread
from .logread import Bounds
from .period import Period, bucket_of, midnight

LOOPS = {"big_loop": "big loop", "unit": "small loop", "line": "lines"}  # as the simulator
TEMP = {"prefixes": ["TEMPORARY"]}

scratch = sa.MetaData()
days_table = sa.Table(
    "report_days", scratch, sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("bucket", sa.String(10)), sa.Column("bucket_no", sa.Integer),
    sa.Column("week", sa.String(10)),
    sa.Column("midnight", sa.Float), sa.Column("weekday", sa.Integer), **TEMP)
issued_table = sa.Table(
    "report_issued", scratch, sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("device", sa.String(64)), **TEMP)
flags_table = sa.Table(
    "report_flags", scratch, sa.Column("day", sa.String(10)), sa.Column("ticket", sa.String(32)),
    sa.Column("seq", sa.Integer),
    sa.Column("name", sa.String(32)), sa.Column("window", sa.String(32)),
    sa.Column("at", sa.Float), sa.Column("call_at", sa.Float), **TEMP)
flagged_table = sa.Table(
    "report_flagged", scratch, sa.Column("ticket", sa.String(32), primary_key=True),
    sa.Column("first_call", sa.Float), sa.Column("no_show", sa.Integer),
    sa.Column("held", sa.Integer), sa.Column("cancelled_at", sa.Float), **TEMP)
finishes_table = sa.Table(
    "report_finishes", scratch, sa.Column("ticket", sa.String(32), primary_key=True),
    sa.Column("outcome", sa.String(64)), **TEMP)
signins_table = sa.Table(      # who worked at a window from ``at`` until ``until``
    "report_signins", scratch, sa.Column("window", sa.String(32), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True), sa.Column("at", sa.Float),
    sa.Column("until", sa.Float), sa.Column("clerk", sa.String(64)), **TEMP)
cases_table = sa.Table(
    "report_cases", scratch, sa.Column("ticket", sa.String(32), primary_key=True),
    sa.Column("opened", sa.Integer), sa.Column("closed", sa.Integer),
    sa.Column("overdue", sa.Integer), **TEMP)
_INT = ("bucket_no", "hour", "weekday", "called", "within", "overdue", "served", "no_show", "held",
        "cancelled", "requeued", "transferred", "left", "rating", "case_opened",
        "case_closed", "case_overdue")
_TEXT = ("id", "day", "bucket", "week", "hall", "queue", "zone", "loop", "class", "window", "clerk",
         "outcome")
facts_table = sa.Table(
    "report_facts", scratch, *(sa.Column(c, sa.String(64)) for c in _TEXT),
    *(sa.Column(c, sa.Integer) for c in _INT), sa.Column("wait", sa.Float),
    sa.Column("service", sa.Float), sa.Column("hold", sa.Float), **TEMP)


def fill(conn: sa.Connection, hall: Hall, period: Period) -> Bounds | None:
    """Create and fill the scratch tables; None when no day of the period opened."""
    scratch.drop_all(conn, checkfirst=True)
    scratch.create_all(conn)
    conn.execute(days_table.insert(), [_day_row(hall, period, d) for d in period.days()])
    found = logread.bounds(conn, period)
    if found is not None:
        d = conn.dialect.name
        _insert(conn, issued_table, logread.issued(found))
        _insert(conn, flags_table, logread.flags(d, found))
        _insert(conn, flagged_table, logread.per_ticket(flags_table))
        _insert(conn, finishes_table, logread.finishes(d, found))
        _insert(conn, signins_table, logread.signins(d, found))
        _insert(conn, cases_table, logread.cases(d, found))
        _insert(conn, facts_table, _facts_query(d, hall, period, found), analyze=False)
    return found


def _insert(conn: sa.Connection, table: sa.Table, query: sa.Select[Any],
            analyze: bool = True) -> None:
    """INSERT INTO a scratch table SELECT …: the rows never leave the database.
    PostgreSQL never analyzes a temporary table by itself: without its size the planner
    guesses the joins after it wrong (the facts are only grouped: no need there)."""
    conn.execute(table.insert().from_select(list(query.selected_columns.keys()), query))
    if analyze and conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ANALYZE {table.name}")


def _day_row(hall: Hall, period: Period, d: date) -> dict[str, Any]:
    return {"day": d.isoformat(), "bucket": period.bucket(d),
            "bucket_no": period.buckets().index(period.bucket(d)), "week": bucket_of(d, "week"),
            "midnight": midnight(d, hall.timezone), "weekday": d.weekday()}


def floor(dialect: str, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The integer part of a non-negative number (PostgreSQL's CAST rounds)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(expr), sa.Integer)
    return sa.cast(expr, sa.Integer)


def _by_prefix(hall: Hall, value: Any, pick: Any, else_: Any = None) -> sa.ColumnElement[Any]:
    whens = {q.prefix: pick(q) for q in hall.queues.values()}
    return sa.case(whens, value=value, else_=else_)


def _facts_query(d: str, hall: Hall, period: Period, b: Bounds) -> sa.Select[Any]:
    t, days, issued = tickets, days_table, issued_table
    fl, fin, cs, closes = flagged_table, finishes_table, cases_table, logread.closes(b)
    si = signins_table
    kiosks = {k: z.id for z in hall.zones.values() for k in z.kiosks}
    planned = _by_prefix(hall, t.c.prefix, lambda q: q.zones[0])
    zone = sa.case(kiosks, value=issued.c.device, else_=planned) if kiosks else planned
    target = _by_prefix(hall, t.c.prefix, lambda q: q.overdue_seconds)
    first_call = sa.case((sa.or_(t.c.called_at.is_(None), fl.c.first_call < t.c.called_at),
                          fl.c.first_call), else_=t.c.called_at)
    end = sa.func.coalesce(first_call, fl.c.cancelled_at, closes.c.closed_at, b.asof)
    wait = end - t.c.issued_at
    done = t.c.state == "done"

    def yes(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.case((cond, 1), else_=0)

    columns = {
        "id": t.c.id, "day": t.c.day, "bucket": days.c.bucket, "bucket_no": days.c.bucket_no,
        "week": days.c.week,
        "hall": sa.literal(""),   # the whole hall: one group
        "queue": _by_prefix(hall, t.c.prefix, lambda q: q.id, t.c.queue), "zone": zone,
        "loop": _by_prefix(hall, t.c.prefix, lambda q: LOOPS[q.kind]),
        "class": t.c.ticket_class,
        "window": sa.case((done, t.c.served_by)),
        "clerk": sa.case((done, sa.func.nullif(si.c.clerk, ""))),
        "outcome": fin.c.outcome,
        "hour": floor(d, (t.c.issued_at - days.c.midnight) / 3600),
        "weekday": days.c.weekday,
        "called": yes(first_call.is_not(None)),
        "within": yes(sa.and_(first_call.is_not(None), wait <= target)),
        "overdue": yes(wait > target), "served": yes(done),
        "no_show": sa.func.coalesce(fl.c.no_show, 0), "held": sa.func.coalesce(fl.c.held, 0),
        "cancelled": yes(t.c.state == "cancelled"), "requeued": yes(t.c.requeues > 0),
        "transferred": yes(t.c.transfers > 0),
        "left": yes(sa.and_(first_call.is_(None), fl.c.cancelled_at.is_(None))),
        "rating": t.c.rating, "case_opened": sa.func.coalesce(cs.c.opened, 0),
        "case_closed": sa.func.coalesce(cs.c.closed, 0),
        "case_overdue": sa.func.coalesce(cs.c.overdue, 0),
        "wait": wait,
        "service": sa.case((done, t.c.finished_at - sa.func.coalesce(t.c.started_at,
                                                                      t.c.called_at))),
        "hold": sa.case((done, t.c.finished_at - t.c.called_at)),   # the last call's hold
    }
    joined = (t.join(days, days.c.day == t.c.day)
              .join(issued, issued.c.seq == t.c.issued_seq)
              .outerjoin(fl, fl.c.ticket == t.c.id)
              .outerjoin(fin, fin.c.ticket == t.c.id)
              .outerjoin(cs, cs.c.ticket == t.c.id)
              .outerjoin(si, sa.and_(   # the sign-in in force at the finishing window
                  si.c.window == t.c.served_by, si.c.day == t.c.day,
                  si.c.at <= t.c.finished_at,
                  sa.or_(si.c.until.is_(None), si.c.until > t.c.finished_at)))
              .outerjoin(closes, closes.c.day == t.c.day))
    return (sa.select(*(expr.label(name) for name, expr in columns.items())).select_from(joined)
            .where(t.c.day.between(period.start.isoformat(), period.end.isoformat())))
