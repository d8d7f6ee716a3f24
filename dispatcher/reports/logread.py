"""What only the event log knows, read by ``seq`` range into small scratch tables.

The events of the business days from..to lie between the first ``day_opened`` of
``from`` and the first ``day_opened`` after ``to``, so every read here walks the
``(name, seq)`` index. The ``tickets`` projection already holds a ticket's last call,
finish, state and rating; the log adds the rest:

- **flags**: each no-show, hold, transfer and cancellation, with the call it ended
  (the ticket's last ``ticket_called`` before it, found by walking back from the
  flag: the projection keeps only a ticket's last call, so the first call and the
  earlier holds of a window are read here);
- **finishes**: the outcome code (办件结果) of each ``service_finished``;
- **sign-ins**: who worked at each window from when (``clerk_signed_in``);
- **cases**: each 差评 case opened in the period, closed (at any later time) or
  overdue (closed after its close-by deadline, or still open past it at the log's end);
- **closes**: when each day was closed (日结): a ticket never called waited until then.

A ticket called more than once was let go of in between (no-show, hold, transfer),
so the first call is the earliest of the projection's last call and the calls the
flags found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..store.schema import events, tickets
from .period import Period

FLAGS = ("ticket_no_show", "ticket_held", "ticket_transferred", "ticket_cancelled")


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


def in_range(b: Bounds, *names: str) -> sa.ColumnElement[bool]:
    return sa.and_(events.c.name.in_(names), events.c.seq.between(b.lo, b.hi))


def issued(b: Bounds) -> sa.Select[Any]:
    """The device (a kiosk: the ticket's zone) of each ``ticket_issued``."""
    return sa.select(events.c.seq, events.c.device).where(in_range(b, "ticket_issued"))


def flags(d: str, b: Bounds) -> sa.Select[Any]:
    """Each flag event: ticket, seq, name, window (transfers: the window it left), at,
    and ``call_at``, the ticket's last call before it (None if it held no window)."""
    name = events.c.name
    window = sa.case((name == "ticket_transferred", jfield(d, "from_window")),
                     else_=jfield(d, "window"))
    f = (sa.select(events.c.day, jfield(d, "ticket").label("ticket"), events.c.seq, name,
                   window.label("window"), events.c.at)
         .where(in_range(b, *FLAGS)).subquery("f"))
    call = events.alias("call")
    contains = sa.func.strpos if d == "postgresql" else sa.func.instr
    issued = (sa.select(tickets.c.issued_seq).where(tickets.c.id == f.c.ticket)
              .correlate(f).scalar_subquery())
    last_call = (sa.select(call.c.at)
                 .where(call.c.name == "ticket_called", call.c.seq < f.c.seq,
                        call.c.seq > issued,
                        contains(call.c.data, f.c.ticket) > 0,   # cheap, before the JSON
                        jfield(d, "ticket", call.c.data) == f.c.ticket)
                 .order_by(call.c.seq.desc()).limit(1).scalar_subquery())
    return sa.select(f, sa.case((f.c.window.is_not(None), last_call)).label("call_at"))


def per_ticket(flags_table: sa.Table) -> sa.Select[Any]:
    f = flags_table.c

    def seen(kind: str) -> sa.ColumnElement[Any]:
        return sa.func.max(sa.case((f.name == kind, 1), else_=0))

    return (sa.select(f.ticket, sa.func.min(f.call_at).label("first_call"),
                      seen("ticket_no_show").label("no_show"),
                      seen("ticket_held").label("held"),
                      sa.func.min(sa.case((f.name == "ticket_cancelled", f.at)))
                      .label("cancelled_at"))
            .group_by(f.ticket))


def finishes(d: str, b: Bounds) -> sa.Select[Any]:
    """The finishes that recorded an outcome (one finish a ticket: done is final)."""
    contains = sa.func.strpos if d == "postgresql" else sa.func.instr
    outcome = jfield(d, "outcome")
    return (sa.select(jfield(d, "ticket").label("ticket"), outcome.label("outcome"))
            .where(in_range(b, "service_finished"),
                   # cheap, before the JSON: the store writes no outcome as "outcome":""
                   contains(events.c.data, '"outcome":""') == 0,
                   outcome != ""))


def signins(d: str, b: Bounds) -> sa.Select[Any]:
    """Each sign-in with the moment the next one at its window replaced it (None: the
    day's last). Sign-ins do not outlive the day: the day's opening resets the clerks."""
    window = jfield(d, "window")
    until = sa.func.lead(events.c.at).over(partition_by=(window, events.c.day),
                                           order_by=(events.c.at, events.c.seq))
    return (sa.select(window.label("window"), events.c.day, events.c.seq, events.c.at,
                      until.label("until"), jfield(d, "clerk").label("clerk"))
            .where(in_range(b, "clerk_signed_in")))


def cases(d: str, b: Bounds) -> sa.Select[Any]:
    opened = (sa.select(jfield(d, "ticket").label("ticket"), jfield(d, "case").label("case"),
                        sa.cast(jfield(d, "close_by"), sa.Float).label("close_by"))
              .where(in_range(b, "case_opened")).subquery("opened"))
    contains = sa.func.strpos if d == "postgresql" else sa.func.instr
    steps = (sa.select(jfield(d, "case").label("case"), jfield(d, "step").label("step"),
                       events.c.at)
             .where(events.c.name == "case_updated", events.c.seq >= b.lo,
                    contains(events.c.data, '"closed"') > 0)    # cheap, before the JSON
             .subquery("steps"))
    closed = (sa.select(steps.c.case, sa.func.min(steps.c.at).label("closed_at"))
              .where(steps.c.step == "closed").group_by(steps.c.case).subquery("closed"))
    late = sa.or_(closed.c.closed_at > opened.c.close_by,
                  sa.and_(closed.c.closed_at.is_(None), opened.c.close_by < b.asof))
    return (sa.select(opened.c.ticket, sa.func.count().label("opened"),
                      sa.func.count(closed.c.closed_at).label("closed"),
                      sa.func.sum(sa.case((late, 1), else_=0)).label("overdue"))
            .select_from(opened.outerjoin(closed, closed.c.case == opened.c.case))
            .group_by(opened.c.ticket))


def closes(b: Bounds) -> sa.Subquery:
    return (sa.select(events.c.day, sa.func.max(events.c.at).label("closed_at"))
            .where(in_range(b, "day_closed")).group_by(events.c.day).subquery("closes"))
