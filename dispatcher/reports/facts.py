"""One row per ticket of the period, built by the database into a temporary table.

The facts join the ``tickets`` projection with what only the event log knows: the
first call (the wait ends there), no-shows (a day's close turns a no-show into
``closed``), holds, cancellations, the outcome code of the finish, the clerk signed
in at the finishing window, the kiosk's zone and the 差评 case of a rating. Events
are read by ``seq`` range through the ``(name, seq)`` index: the events of the
business days from..to lie between the first ``day_opened`` of ``from`` and the
first ``day_opened`` after ``to``. Every grouping of ``figures.py`` is then a GROUP
BY over this table, so nothing loops over tickets in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..hall import Hall
from ..store.schema import events, tickets
from .period import Period, bucket_of, midnight

LOOPS = {"big_loop": "big loop", "unit": "small loop", "line": "lines"}  # as the simulator
TICKET_EVENTS = ("ticket_called", "ticket_no_show", "ticket_held", "ticket_cancelled",
                 "service_finished")

scratch = sa.MetaData()
days_table = sa.Table(
    "report_days", scratch,
    sa.Column("day", sa.String(10), primary_key=True), sa.Column("bucket", sa.String(10)),
    sa.Column("week", sa.String(10)), sa.Column("midnight", sa.Float),
    sa.Column("weekday", sa.Integer), prefixes=["TEMPORARY"])
_INT = ("hour", "weekday", "called", "within", "overdue", "served", "no_show", "held",
        "cancelled", "requeued", "transferred", "left", "rating", "case_opened",
        "case_closed", "case_overdue")
_TEXT = ("id", "day", "bucket", "week", "queue", "zone", "loop", "class", "window", "clerk",
         "outcome")
ticket_events = sa.Table(
    "report_ticket_events", scratch, sa.Column("ticket", sa.String(32), primary_key=True),
    sa.Column("first_call", sa.Float), sa.Column("no_show", sa.Integer),
    sa.Column("held", sa.Integer), sa.Column("cancelled_at", sa.Float),
    sa.Column("outcome", sa.String(64)), prefixes=["TEMPORARY"])
clerks_table = sa.Table(
    "report_clerks", scratch, sa.Column("ticket", sa.String(32), primary_key=True),
    sa.Column("clerk", sa.String(64)), prefixes=["TEMPORARY"])
facts_table = sa.Table(
    "report_facts", scratch,
    *(sa.Column(c, sa.String(64)) for c in _TEXT),
    *(sa.Column(c, sa.Integer) for c in _INT),
    sa.Column("wait", sa.Float), sa.Column("service", sa.Float), prefixes=["TEMPORARY"])


@dataclass(frozen=True)
class Bounds:
    lo: int            # first seq of the period's events
    hi: int            # last seq
    asof: float        # the time of the log's last event: "now" for open cases and days


def jfield(dialect: str, key: str, col: Any = events.c.data) -> sa.ColumnElement[Any]:
    """The text (SQLite: the value) of a top-level key of an event's JSON."""
    if dialect == "postgresql":
        return sa.cast(col, postgresql.JSON).op("->>")(sa.literal_column(f"'{key}'"))
    return sa.func.json_extract(col, sa.literal_column(f"'$.{key}'"))


def floor(dialect: str, expr: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    """The integer part of a non-negative number (PostgreSQL's CAST rounds)."""
    if dialect == "postgresql":
        return sa.cast(sa.func.floor(expr), sa.Integer)
    return sa.cast(expr, sa.Integer)


def bounds(conn: sa.Connection, period: Period) -> Bounds | None:
    """The seq range of the period's business days, or None when none opened."""
    first_open = sa.select(sa.func.min(events.c.seq)).where(events.c.name == "day_opened")
    lo = conn.scalar(first_open.where(events.c.day >= period.start.isoformat(),
                                      events.c.day <= period.end.isoformat()))
    if lo is None:
        return None
    after = conn.scalar(first_open.where(events.c.day > period.end.isoformat()))
    last = conn.scalar(sa.select(sa.func.max(events.c.seq)))
    asof = conn.scalar(sa.select(events.c.at).where(events.c.seq == last))
    return Bounds(lo, last if after is None else after - 1, asof)


def fill(conn: sa.Connection, hall: Hall, period: Period) -> Bounds | None:
    """Create and fill the temporary ``report_days`` and ``report_facts``."""
    scratch.drop_all(conn, checkfirst=True)
    scratch.create_all(conn)
    conn.execute(days_table.insert(), [_day_row(hall, period, d) for d in period.days()])
    found = bounds(conn, period)
    if found is not None:
        d = conn.dialect.name
        _insert(conn, ticket_events, _per_ticket(d, found))
        _insert(conn, clerks_table, _clerks(d, found))
        _insert(conn, facts_table, _facts_query(d, hall, period, found))
    return found


def _insert(conn: sa.Connection, table: sa.Table, query: sa.Select[Any]) -> None:
    """INSERT INTO a scratch table SELECT …: the rows never leave the database. Each
    step gets its own table with a primary key, so the joins after it are lookups."""
    conn.execute(table.insert().from_select(list(query.selected_columns.keys()), query))


def _day_row(hall: Hall, period: Period, d: date) -> dict[str, Any]:
    return {"day": d.isoformat(), "bucket": period.bucket(d), "week": bucket_of(d, "week"),
            "midnight": midnight(d, hall.timezone), "weekday": d.weekday()}


def _in_range(b: Bounds, *names: str) -> sa.ColumnElement[bool]:
    return sa.and_(events.c.name.in_(names), events.c.seq.between(b.lo, b.hi))


def _per_ticket(d: str, b: Bounds) -> sa.Select[Any]:
    """Per ticket: the first call, no-show, held, cancelled, the finish's outcome."""
    name = events.c.name
    raw = (sa.select(jfield(d, "ticket").label("ticket"), name, events.c.at,
                     sa.case((name == "service_finished", jfield(d, "outcome"))).label("outcome"))
           .where(_in_range(b, *TICKET_EVENTS)).subquery("raw"))

    def flag(kind: str) -> sa.ColumnElement[Any]:
        return sa.func.max(sa.case((raw.c.name == kind, 1), else_=0))

    return (sa.select(raw.c.ticket,
                      sa.func.min(sa.case((raw.c.name == "ticket_called", raw.c.at)))
                      .label("first_call"),
                      flag("ticket_no_show").label("no_show"), flag("ticket_held").label("held"),
                      sa.func.min(sa.case((raw.c.name == "ticket_cancelled", raw.c.at)))
                      .label("cancelled_at"),
                      sa.func.max(raw.c.outcome).label("outcome"))
            .group_by(raw.c.ticket))


def _clerks(d: str, b: Bounds) -> sa.Select[Any]:
    """The clerk signed in at the window when each ticket was finished: sign-ins and
    finishes of a window in seq order, each finish taking the last sign-in's clerk."""
    name, signed = events.c.name, events.c.name == "clerk_signed_in"
    marks = (sa.select(events.c.seq, name, jfield(d, "window").label("window"),
                       sa.case((signed, jfield(d, "clerk"))).label("clerk"),
                       sa.case((name == "service_finished", jfield(d, "ticket"))).label("ticket"))
             .where(_in_range(b, "clerk_signed_in", "service_finished")).subquery("marks"))
    run = sa.func.sum(sa.case((marks.c.name == "clerk_signed_in", 1), else_=0)).over(
        partition_by=marks.c.window, order_by=marks.c.seq)
    grouped = sa.select(marks.c.ticket, marks.c.window, marks.c.clerk, run.label("grp")
                        ).subquery("grouped")
    clerk = sa.func.max(grouped.c.clerk).over(partition_by=(grouped.c.window, grouped.c.grp))
    spans = sa.select(grouped.c.ticket, clerk.label("clerk")).subquery("spans")
    return (sa.select(spans.c.ticket, sa.func.nullif(spans.c.clerk, "").label("clerk"))
            .where(spans.c.ticket.is_not(None)))


def _cases(d: str, b: Bounds) -> sa.Subquery:
    """Per ticket: a 差评 case opened, closed (by now), overdue (closed after, or still
    open past, its close-by deadline)."""
    opened = (sa.select(jfield(d, "ticket").label("ticket"), jfield(d, "case").label("case"),
                        sa.cast(jfield(d, "close_by"), sa.Float).label("close_by"))
              .where(_in_range(b, "case_opened")).subquery("opened"))
    steps = (sa.select(jfield(d, "case").label("case"), jfield(d, "step").label("step"),
                       events.c.at)
             .where(events.c.name == "case_updated", events.c.seq >= b.lo).subquery("steps"))
    closed = (sa.select(steps.c.case, sa.func.min(steps.c.at).label("closed_at"))
              .where(steps.c.step == "closed").group_by(steps.c.case).subquery("closed"))
    late = sa.or_(closed.c.closed_at > opened.c.close_by,
                  sa.and_(closed.c.closed_at.is_(None), opened.c.close_by < b.asof))
    return (sa.select(opened.c.ticket, sa.literal(1).label("opened"),
                      sa.case((closed.c.closed_at.is_not(None), 1), else_=0).label("closed"),
                      sa.case((late, 1), else_=0).label("overdue"))
            .select_from(opened.outerjoin(closed, closed.c.case == opened.c.case))
            .subquery("cs"))


def _closes(b: Bounds) -> sa.Subquery:
    return (sa.select(events.c.day, sa.func.max(events.c.at).label("closed_at"))
            .where(_in_range(b, "day_closed")).group_by(events.c.day).subquery("closes"))


def _by_prefix(hall: Hall, value: Any, pick: Any, else_: Any = None) -> sa.ColumnElement[Any]:
    whens = {q.prefix: pick(q) for q in hall.queues.values()}
    return sa.case(whens, value=value, else_=else_)


def _facts_query(d: str, hall: Hall, period: Period, b: Bounds) -> sa.Select[Any]:
    t, days, issued = tickets, days_table, events.alias("issued")
    pt, ck, cs, closes = ticket_events, clerks_table, _cases(d, b), _closes(b)
    kiosks = {k: z.id for z in hall.zones.values() for k in z.kiosks}
    planned = _by_prefix(hall, t.c.prefix, lambda q: q.zones[0])
    zone = sa.case(kiosks, value=issued.c.device, else_=planned) if kiosks else planned
    target = _by_prefix(hall, t.c.prefix, lambda q: q.overdue_seconds)
    end = sa.func.coalesce(pt.c.first_call, pt.c.cancelled_at, closes.c.closed_at, b.asof)
    wait = end - t.c.issued_at
    done = t.c.state == "done"

    def yes(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.case((cond, 1), else_=0)

    columns = {
        "id": t.c.id, "day": t.c.day, "bucket": days.c.bucket, "week": days.c.week,
        "queue": _by_prefix(hall, t.c.prefix, lambda q: q.id, t.c.queue), "zone": zone,
        "loop": _by_prefix(hall, t.c.prefix, lambda q: LOOPS[q.kind]),
        "class": t.c.ticket_class,
        "window": sa.case((done, t.c.served_by)), "clerk": sa.case((done, ck.c.clerk)),
        "outcome": sa.func.nullif(pt.c.outcome, ""),
        "hour": floor(d, (t.c.issued_at - days.c.midnight) / 3600),
        "weekday": days.c.weekday,
        "called": yes(pt.c.first_call.is_not(None)),
        "within": yes(sa.and_(pt.c.first_call.is_not(None), wait <= target)),
        "overdue": yes(wait > target), "served": yes(done),
        "no_show": sa.func.coalesce(pt.c.no_show, 0), "held": sa.func.coalesce(pt.c.held, 0),
        "cancelled": yes(t.c.state == "cancelled"), "requeued": yes(t.c.requeues > 0),
        "transferred": yes(t.c.transfers > 0),
        "left": yes(sa.and_(pt.c.first_call.is_(None), pt.c.cancelled_at.is_(None))),
        "rating": t.c.rating, "case_opened": sa.func.coalesce(cs.c.opened, 0),
        "case_closed": sa.func.coalesce(cs.c.closed, 0),
        "case_overdue": sa.func.coalesce(cs.c.overdue, 0),
        "wait": wait,
        "service": sa.case((done, t.c.finished_at - sa.func.coalesce(t.c.started_at,
                                                                      t.c.called_at))),
    }
    joined = (t.join(days, days.c.day == t.c.day)
              .join(issued, issued.c.seq == t.c.issued_seq)
              .outerjoin(pt, pt.c.ticket == t.c.id)
              .outerjoin(ck, ck.c.ticket == t.c.id)
              .outerjoin(cs, cs.c.ticket == t.c.id)
              .outerjoin(closes, closes.c.day == t.c.day))
    return (sa.select(*(expr.label(name) for name, expr in columns.items())).select_from(joined)
            .where(t.c.day.between(period.start.isoformat(), period.end.isoformat())))
