"""Project events into the ``tickets`` and ``windows`` tables.

Each handler mirrors what ``HallState.apply`` does to the in-memory state, from
the event alone, inside the transaction that appends the event. Appointments,
notices, device reports, clerks' sign-ins and alerts have no table: they live in
the event log and the core's state (rebuilt from today's events), so their
handlers write nothing; the ticket a check-in issues comes as its own
``ticket_issued``. An event type with no handler is refused (KeyError), so the
append fails and writes nothing.

``Projector`` keeps the two things the events do not carry: the business day a
ticket belongs to (the last DayOpened) and, when the store knows the hall, each
window's planned profile (restored at DayOpened, as the core does).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa

from ..core import events as ev
from .schema import tickets, windows

Planned = Mapping[str, tuple[tuple[str, ...], tuple[str, ...], bool]]  # window -> profile
_AT_WINDOW = ("called", "serving")
_INSERT_TICKET = tickets.insert()  # built once: SQLAlchemy memoizes its cache key
# The window holding ticket "tid" (called or serving) becomes idle. Built once: an IN
# built per event leaves reference cycles that the hub's frozen collector keeps all day.
_RELEASE = windows.update().where(windows.c.id == (
    sa.select(tickets.c.window)
    .where(tickets.c.id == sa.bindparam("tid"), tickets.c.state.in_(_AT_WINDOW))
    .scalar_subquery()))


class Projector:
    """One transaction's projection. The rows of issued tickets wait and go in one
    statement (executemany) before any other event's, and at ``flush``: a batch of
    20 issues is one insert, not 20 (each statement holds the hub's GIL for some
    30 µs of SQLAlchemy)."""

    def __init__(self, conn: sa.Connection, seq: int, day: str | None, planned: Planned) -> None:
        self.conn, self.seq, self.day, self.planned = conn, seq, day, planned
        self.issued: list[dict[str, Any]] = []

    def project(self, seq: int, event: ev.Event) -> None:
        self.seq = seq
        if not isinstance(event, ev.TicketIssued):
            self.flush()
        _HANDLERS[type(event)](self, event)

    def flush(self) -> None:
        """Insert the issued tickets waiting: before any other statement, and at the
        end of the transaction."""
        if self.issued:
            self.conn.execute(_INSERT_TICKET, self.issued)
            self.issued = []

    # ------------------------------------------------------------ helpers

    def ticket(self, ticket_id: str, **values: Any) -> None:
        query = tickets.update().where(tickets.c.id == ticket_id).values(**values)
        result = self.conn.execute(query)
        if result.rowcount != 1:
            raise LookupError(f"event {self.seq}: no ticket {ticket_id} in the store")

    def window(self, window_id: str, **values: Any) -> None:
        values["updated_seq"] = self.seq
        query = windows.update().where(windows.c.id == window_id).values(**values)
        if self.conn.execute(query).rowcount == 0:
            self.conn.execute(windows.insert(), {"id": window_id, "state": "closed", **values})

    def release(self, ticket_id: str) -> None:
        """The window holding the ticket (if it is called or serving) becomes idle."""
        self.conn.execute(_RELEASE, {"tid": ticket_id, "ticket": None, "state": "idle",
                                     "updated_seq": self.seq})


def _profile(main: tuple[str, ...] | None, side: tuple[str, ...] | None,
             overdue: bool | None) -> dict[str, Any]:
    return {"main": None if main is None else json.dumps(list(main)),
            "side": None if side is None else json.dumps(list(side)),
            "side_when_overdue": overdue}


def _day_opened(p: Projector, e: ev.DayOpened) -> None:
    p.day = e.day
    closed = {"state": "closed", "ticket": None, "pause_reason": None, "updated_seq": p.seq}
    if not p.planned:  # the hall is unknown: profiles revert to "as planned" (NULL)
        p.conn.execute(windows.update(), {**closed, **_profile(None, None, None)})
        return
    p.conn.execute(windows.delete().where(windows.c.id.not_in(list(p.planned))))
    for wid, (main, side, overdue) in p.planned.items():
        p.window(wid, **closed, **_profile(main, side, overdue))


def _day_closed(p: Projector, e: ev.DayClosed) -> None:
    if e.closed_tickets:
        p.conn.execute(tickets.update().where(tickets.c.id == sa.bindparam("tid"))
                       .values(state="closed"), [{"tid": t} for t in e.closed_tickets])
    p.conn.execute(windows.update(), {"state": "closed", "ticket": None, "pause_reason": None,
                                      "updated_seq": p.seq})


def _issued(p: Projector, e: ev.TicketIssued) -> None:
    if p.day is None:
        raise LookupError(f"event {p.seq}: ticket {e.ticket} issued before any day_opened")
    p.issued.append({
        "id": e.ticket, "day": p.day, "prefix": e.prefix, "sequence": e.sequence,
        "serial": e.serial, "number": e.number, "queue": e.queue,
        "ticket_class": e.ticket_class, "issued_at": e.at, "virtual_at": e.virtual_at,
        "state": "waiting", "recalls": 0, "requeues": 0, "transfers": 0, "issued_seq": p.seq,
    })


def _called(p: Projector, e: ev.TicketCalled) -> None:
    p.ticket(e.ticket, state="called", window=e.window, called_at=e.at, started_at=None)
    p.window(e.window, state="calling", ticket=e.ticket)


def _recalled(p: Projector, e: ev.TicketRecalled) -> None:
    p.ticket(e.ticket, recalls=e.recalls)


def _started(p: Projector, e: ev.ServiceStarted) -> None:
    p.ticket(e.ticket, state="serving", started_at=e.at)
    p.window(e.window, state="serving")


def _finished(p: Projector, e: ev.ServiceFinished) -> None:
    p.release(e.ticket)
    p.ticket(e.ticket, state="done", finished_at=e.at, served_by=e.window)


def _no_show(p: Projector, e: ev.TicketNoShow) -> None:
    p.release(e.ticket)
    p.ticket(e.ticket, state="no_show", window=None)


def _requeued(p: Projector, e: ev.TicketRequeued) -> None:
    serial = {} if e.serial is None else {"serial": e.serial}  # None: an older event
    p.ticket(e.ticket, state="waiting", window=None, virtual_at=e.virtual_at,
             requeues=e.requeues, **serial)


def _transferred(p: Projector, e: ev.TicketTransferred) -> None:
    p.release(e.ticket)
    p.ticket(e.ticket, state="waiting", queue=e.to_queue, window=e.to_window,
             transfers=tickets.c.transfers + 1)


def _cancelled(p: Projector, e: ev.TicketCancelled) -> None:
    p.release(e.ticket)
    p.ticket(e.ticket, state="cancelled")


def _window_state(state: str) -> Callable[[Projector, Any], None]:
    def handler(p: Projector, e: Any) -> None:
        p.window(e.window, state=state, pause_reason=getattr(e, "reason", None))

    return handler


def _profile_changed(p: Projector, e: ev.ProfileChanged) -> None:
    p.window(e.window, **_profile(e.main, e.side, e.side_when_overdue))


def _evaluated(p: Projector, e: ev.TicketEvaluated) -> None:
    p.ticket(e.ticket, rating=e.level)


def _held(p: Projector, e: ev.TicketHeld) -> None:
    p.release(e.ticket)
    p.ticket(e.ticket, state="held", window=e.window)


def _log_only(p: Projector, e: ev.Event) -> None:
    """Kept in the event log alone (see the module's docstring)."""


_HANDLERS: dict[type[ev.Event], Callable[[Projector, Any], None]] = {
    ev.DayOpened: _day_opened,
    ev.DayClosed: _day_closed,
    ev.TicketIssued: _issued,
    ev.TicketCalled: _called,
    ev.TicketRecalled: _recalled,
    ev.ServiceStarted: _started,
    ev.ServiceFinished: _finished,
    ev.TicketNoShow: _no_show,
    ev.TicketRequeued: _requeued,
    ev.TicketTransferred: _transferred,
    ev.TicketCancelled: _cancelled,
    ev.WindowOpened: _window_state("idle"),
    ev.WindowClosed: _window_state("closed"),
    ev.WindowPaused: _window_state("paused"),
    ev.WindowResumed: _window_state("idle"),
    ev.ProfileChanged: _profile_changed,
    ev.TicketEvaluated: _evaluated,
    ev.AppointmentBooked: _log_only,
    ev.AppointmentCheckedIn: _log_only,
    ev.NoticePosted: _log_only,
    ev.DeviceReported: _log_only,
    ev.TicketHeld: _held,
    ev.ClerkSignedIn: _log_only,   # who worked where, and a rating's clerk and reason,
    ev.AlertRaised: _log_only,     # are read from the event log; so are alerts (and
    ev.AlertAcknowledged: _log_only,   # the actor who acknowledged one)
    ev.AlertCleared: _log_only,
    ev.SuggestionsPosted: _log_only,    # balancing suggestions, modes: the event log
    ev.SuggestionPredicted: _log_only,
    ev.BalancingSet: _log_only,
    ev.CaseOpened: _log_only,           # 差评 cases, and a finish's outcome (办件结果)
    ev.CaseUpdated: _log_only,          # and 办件编号: the event log
}
