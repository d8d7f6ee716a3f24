"""The hall's state for one business day, changed only by applying events.

Waiting tickets sit in exactly one line: their queue's line, or the line of the
window they were transferred to by name. Each line is kept sorted by the place
in line, ``(virtual_at, serial)``.
"""

from __future__ import annotations

import bisect
import itertools
from array import array
from dataclasses import dataclass, field
from enum import StrEnum
from sys import intern
from typing import Any

from ..hall import Hall, Profile
from . import events as ev
from .arrivals import Arrivals

HISTORY = 50   # a device's reports kept for the console's history of the day
_DERIVED = ("_arrivals", "_totals")   # indexes kept beside the fields (not the state)


class TicketState(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    HELD = "held"      # 挂起: set aside at its window until called back
    CLOSED = "closed"  # still open when the day ended


class WindowState(StrEnum):
    CLOSED = "closed"
    IDLE = "idle"
    CALLING = "calling"
    SERVING = "serving"
    PAUSED = "paused"


# the windows that call: open and not paused (a frozenset: a StrEnum hashes as fast as
# its str, where a tuple compares each member in turn)
WORKING = frozenset({WindowState.IDLE, WindowState.CALLING, WindowState.SERVING})


@dataclass
class Ticket:
    id: str
    number: str
    queue: str
    ticket_class: str
    issued_at: float
    virtual_at: float
    serial: float                      # issue order; a requeue into a tie may give a fraction
    state: TicketState = TicketState.WAITING
    window: str | None = None          # the window holding it, or the one it waits for
    called_at: float | None = None
    started_at: float | None = None
    finished_at: float | None = None
    recalls: int = 0
    requeues: int = 0
    transfers: int = 0
    served_by: str | None = None
    clerk: str | None = None           # the clerk at the window when it was called
    rating: int | None = None
    rating_reason: str | None = None
    outcome: str | None = None         # 办件结果: the hall file's outcome code, at 办结
    case_number: str | None = None     # 办件编号, when the outcome needs one
    zone: str | None = None            # taken at a kiosk of this zone (None: any window's)

    @property
    def place(self) -> tuple[float, float]:
        return (self.virtual_at, self.serial)


@dataclass
class WindowStatus:
    id: str
    profile: Profile
    state: WindowState = WindowState.CLOSED
    ticket: str | None = None
    pause_reason: str | None = None
    clerk: str | None = None
    paused_at: float | None = None     # when it was paused (pause_long alerts)


@dataclass
class Appointment:
    code: str
    queue: str
    slot_start: float
    slot_end: float
    ticket: str | None = None          # the ticket issued at check-in
    person: str = ""                   # booked by ID card: the holder's pseudonym


@dataclass
class DeviceStatus:
    status: str
    detail: str
    since: float                       # when this status (and detail) was first reported
    history: list[dict[str, Any]] = field(default_factory=list)  # the day's, last HISTORY


@dataclass
class Case:
    """A 差评 case (core/cases.py): opened by a low rating, followed up to closure.
    ``steps``: [{"step", "at", "by", "note"}]; ``state``: open or the last step."""

    id: str
    ticket: str
    number: str
    window: str
    clerk: str
    level: int
    reason: str
    opened_at: float
    contact_by: float
    close_by: float
    steps: list[dict[str, Any]] = field(default_factory=list)
    state: str = "open"

    def view(self) -> dict[str, Any]:
        return {**vars(self), "steps": [dict(x) for x in self.steps]}

    @classmethod
    def from_view(cls, view: dict[str, Any]) -> Case:
        return cls(**{**view, "steps": [dict(x) for x in view.get("steps", ())]})


@dataclass
class Alert:
    id: str
    rule: str
    level: str
    subject: str
    value: float                       # when it was raised
    threshold: float
    raised_at: float
    acknowledged_at: float | None = None
    acknowledged_by: str = ""


@dataclass
class HallState:
    day: str | None = None
    day_closed: bool = False
    serial: int = 0
    sequences: dict[str, int] = field(default_factory=dict)      # prefix -> last number
    tickets: dict[str, Ticket] = field(default_factory=dict)
    windows: dict[str, WindowStatus] = field(default_factory=dict)
    queue_lines: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    window_lines: dict[str, list[tuple[float, float, str]]] = field(default_factory=dict)
    planned_profiles: dict[str, Profile] = field(default_factory=dict)  # from the hall file
    appointments: dict[str, Appointment] = field(default_factory=dict)  # code -> booking
    notices: dict[str, str] = field(default_factory=dict)  # zone id, "" for the whole hall
    devices: dict[str, DeviceStatus] = field(default_factory=dict)
    # per queue, today's finished services as (finished_at, seconds), in finishing order
    service_times: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    held: dict[str, list[str]] = field(default_factory=dict)  # window -> tickets, oldest first
    alerts: dict[str, Alert] = field(default_factory=dict)  # id -> the alert, while active
    # live balancing (core/balancing.py): the moves suggested now, each zone's mode
    # once a console set it, and each window's move times today (the hourly cap)
    suggestions: dict[str, dict[str, Any]] = field(default_factory=dict)
    suggestion_serial: int = 0
    balancing: dict[str, dict[str, Any]] = field(default_factory=dict)
    moved: dict[str, list[float]] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)  # 差评: open, and today's closed
    tokens: dict[str, str] = field(default_factory=dict)  # status page token -> ticket id
    # ticket id -> the pseudonym of the ID card it was taken with (not in ticket views)
    holders: dict[str, str] = field(default_factory=dict)

    @classmethod
    def initial(cls, hall: Hall) -> HallState:
        return cls(planned_profiles={w.id: w.profile for w in hall.windows.values()},
                   queue_lines={q: [] for q in hall.queues}).next_day(None)

    def next_day(self, day: str | None) -> HallState:
        """The state right after the day rolls over: no tickets, appointments, notices,
        device reports or alerts, every window closed and back on the profile the hall file
        plans for it (the console's moves are for one day)."""
        return HallState(
            day=day,
            windows={w: WindowStatus(w, p) for w, p in self.planned_profiles.items()},
            queue_lines={q: [] for q in self.queue_lines},
            window_lines={w: [] for w in self.planned_profiles},
            planned_profiles=self.planned_profiles,
            cases={k: Case.from_view(c.view()) for k, c in self.cases.items()
                   if c.state != "closed"},
        )

    # ----------------------------------------------------------- lines

    def line_of(self, ticket: Ticket) -> list[tuple[float, float, str]]:
        if ticket.window is not None:
            return self.window_lines[ticket.window]
        return self.queue_lines[ticket.queue]

    def enter_line(self, ticket: Ticket) -> None:
        bisect.insort(self.line_of(ticket), (*ticket.place, ticket.id))

    def leave_line(self, ticket: Ticket) -> None:
        line = self.line_of(ticket)
        line.pop(bisect.bisect_left(line, (*ticket.place, ticket.id)))

    def head(self, line: list[tuple[float, float, str]]) -> Ticket | None:
        return self.tickets[line[0][2]] if line else None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled or copied without what is derived from the rest (the balancer
        pickles the state on the hub's event loop): it is built again when asked."""
        return {k: v for k, v in self.__dict__.items() if k not in _DERIVED}

    def arrivals(self) -> Arrivals:
        """Today's tickets in issue order (core/arrivals.py), built when first asked."""
        index = self.__dict__.get("_arrivals")
        if index is None or not index.matches(self.tickets):
            index = self.__dict__["_arrivals"] = Arrivals(self.tickets)
        return index

    def service_total(self, queue: str, end: int) -> float:
        """``sum`` of the seconds of the queue's first ``end`` services today, from
        running totals kept as services are added (a busy day has 20,000): Python
        before 3.12 sums floats one after the other, as they are kept."""
        done = self.service_times.get(queue, [])
        totals = self.__dict__.setdefault("_totals", {})
        kept = totals.get(queue)
        if kept is None or kept[0] is not done or len(kept[1]) > len(done) + 1:
            # doubles in an array: 8 bytes a service, not 32 (a float and its pointer)
            kept = totals[queue] = (done, array("d", [0.0]))
        running = kept[1]
        for _, seconds in itertools.islice(done, len(running) - 1, None):   # the new ones
            running.append(running[-1] + seconds)
        return running[end] if end else 0

    def waiting_in(self, queue: str) -> list[Ticket]:
        return [self.tickets[t] for _, _, t in self.queue_lines[queue]]

    def to_dict(self) -> dict:
        """A plain, JSON-ready picture of the whole state (equal states, equal dicts)."""
        return {
            "day": self.day,
            "day_closed": self.day_closed,
            "serial": self.serial,
            "sequences": dict(sorted(self.sequences.items())),
            "tickets": {tid: dict(vars(t)) for tid, t in sorted(self.tickets.items())},
            "windows": {
                wid: {"state": str(w.state), "ticket": w.ticket, "pause_reason": w.pause_reason,
                      "clerk": w.clerk, "held": list(self.held.get(wid, ())),
                      "main": list(w.profile.main), "side": list(w.profile.side),
                      "side_when_overdue": w.profile.side_when_overdue}
                for wid, w in sorted(self.windows.items())
            },
            "queue_lines": {q: [t for *_, t in line] for q, line in self.queue_lines.items()},
            "window_lines": {w: [t for *_, t in line] for w, line in self.window_lines.items()},
            "appointments": {code: dict(vars(a)) for code, a in sorted(self.appointments.items())},
            "notices": dict(sorted(self.notices.items())),
            "devices": {d: dict(vars(s)) for d, s in sorted(self.devices.items())},
            "service_times": {q: list(times) for q, times in sorted(self.service_times.items())},
            "alerts": {a: dict(vars(x)) for a, x in sorted(self.alerts.items())},
            "suggestions": dict(sorted(self.suggestions.items())),
            "balancing": dict(sorted(self.balancing.items())),
            "moved": dict(sorted(self.moved.items())),
            "cases": {k: c.view() for k, c in sorted(self.cases.items())},
            "holders": dict(sorted(self.holders.items())),
        }

    # ----------------------------------------------------------- apply

    def apply(self, event: ev.Event) -> None:
        _APPLY[type(event)](self, event)


def _release(state: HallState, ticket: Ticket) -> None:
    """The window holding the ticket lets go of it and becomes idle."""
    if ticket.state in (TicketState.CALLED, TicketState.SERVING) and ticket.window:
        window = state.windows[ticket.window]
        window.ticket = None
        window.state = WindowState.IDLE


def _day_opened(s: HallState, e: ev.DayOpened) -> None:
    fresh = s.next_day(e.day)
    fresh.cases = {c["id"]: Case.from_view(c) for c in e.cases}  # carried over
    s.__dict__.update(fresh.__dict__)
    s.__dict__.pop("_arrivals", None)   # derived from the tickets: gone with them
    s.__dict__.pop("_totals", None)     # ... and from the services


def _day_closed(s: HallState, e: ev.DayClosed) -> None:
    for tid in e.closed_tickets:
        ticket = s.tickets[tid]
        if ticket.state is TicketState.WAITING:
            s.leave_line(ticket)
        ticket.state = TicketState.CLOSED
    for window in s.windows.values():
        window.state, window.ticket, window.pause_reason = WindowState.CLOSED, None, None
    s.held.clear()
    s.alerts.clear()
    s.day_closed = True


def _issued(s: HallState, e: ev.TicketIssued) -> None:
    s.serial = e.serial
    s.sequences[e.prefix] = e.sequence
    # Queue and class interned: 20,000 tickets would hold a copy each (from JSON); a
    # place in line at the time of issue (no credit) is the same float object.
    virtual_at = e.at if e.virtual_at == e.at else e.virtual_at
    ticket = Ticket(e.ticket, e.number, intern(e.queue), intern(e.ticket_class), e.at,
                    virtual_at, e.serial, zone=e.zone)
    s.tickets[e.ticket] = ticket
    if (index := _arrivals(s)) is not None:
        index.add(ticket)
    s.enter_line(ticket)
    if e.status_token:
        s.tokens[e.status_token] = e.ticket
    if e.person:
        s.holders[e.ticket] = e.person


def _arrivals(s: HallState) -> Arrivals | None:
    """The arrivals index of these tickets, when built: to keep up to date."""
    index = s.__dict__.get("_arrivals")
    return index if index is not None and index.tickets is s.tickets else None


def _called(s: HallState, e: ev.TicketCalled) -> None:
    ticket = s.tickets[e.ticket]
    _leave_waiting(s, ticket)
    window = s.windows[e.window]
    ticket.state, ticket.window, ticket.called_at = TicketState.CALLED, window.id, e.at
    ticket.started_at, ticket.clerk = None, window.clerk
    window.state, window.ticket = WindowState.CALLING, e.ticket


def _leave_waiting(s: HallState, ticket: Ticket) -> None:
    """Out of its line, or off the held list of its window."""
    if ticket.state is TicketState.WAITING:
        s.leave_line(ticket)
    elif ticket.state is TicketState.HELD and ticket.window:
        s.held[ticket.window].remove(ticket.id)


def _held(s: HallState, e: ev.TicketHeld) -> None:
    ticket = s.tickets[e.ticket]
    _release(s, ticket)
    ticket.state, ticket.window = TicketState.HELD, intern(e.window)
    s.held.setdefault(e.window, []).append(e.ticket)


def _clerk(s: HallState, e: ev.ClerkSignedIn) -> None:
    s.windows[e.window].clerk = e.clerk or None


def _recalled(s: HallState, e: ev.TicketRecalled) -> None:
    s.tickets[e.ticket].recalls = e.recalls


def _started(s: HallState, e: ev.ServiceStarted) -> None:
    s.tickets[e.ticket].state = TicketState.SERVING
    s.tickets[e.ticket].started_at = e.at
    s.windows[e.window].state = WindowState.SERVING


def _finished(s: HallState, e: ev.ServiceFinished) -> None:
    ticket = s.tickets[e.ticket]
    _release(s, ticket)
    ticket.state, ticket.finished_at = TicketState.DONE, e.at
    ticket.served_by = intern(e.window)
    ticket.outcome, ticket.case_number = e.outcome or None, e.case_number or None
    began = ticket.started_at if ticket.started_at is not None else ticket.called_at
    if began is not None:
        s.service_times.setdefault(ticket.queue, []).append((e.at, e.at - began))


def _no_show(s: HallState, e: ev.TicketNoShow) -> None:
    ticket = s.tickets[e.ticket]
    _release(s, ticket)
    ticket.state, ticket.window = TicketState.NO_SHOW, None


def _requeued(s: HallState, e: ev.TicketRequeued) -> None:
    ticket = s.tickets[e.ticket]
    ticket.state, ticket.window = TicketState.WAITING, None
    ticket.virtual_at, ticket.requeues = e.virtual_at, e.requeues
    if e.serial is not None:
        ticket.serial = e.serial
    s.enter_line(ticket)


def _transferred(s: HallState, e: ev.TicketTransferred) -> None:
    ticket = s.tickets[e.ticket]
    if ticket.state is TicketState.WAITING:
        s.leave_line(ticket)
    _release(s, ticket)
    queue = ticket.queue
    ticket.state, ticket.queue = TicketState.WAITING, intern(e.to_queue)
    ticket.window = e.to_window and intern(e.to_window)
    if (index := _arrivals(s)) is not None:
        index.moved(ticket, queue)
    ticket.transfers += 1
    s.enter_line(ticket)


def _cancelled(s: HallState, e: ev.TicketCancelled) -> None:
    ticket = s.tickets[e.ticket]
    _leave_waiting(s, ticket)
    _release(s, ticket)
    ticket.state = TicketState.CANCELLED


def _window_state(state: WindowState, reason: bool = False):
    def apply(s: HallState, e: ev.Event) -> None:
        window = s.windows[e.window]  # type: ignore[attr-defined]
        window.state = state
        window.pause_reason = e.reason if reason else None  # type: ignore[attr-defined]
        window.paused_at = e.at if reason else None

    return apply


def _profile_changed(s: HallState, e: ev.ProfileChanged) -> None:
    s.windows[e.window].profile = Profile(e.main, e.side, e.side_when_overdue)
    s.moved.setdefault(e.window, []).append(e.at)
    s.suggestions.pop(e.suggestion, None)


def _evaluated(s: HallState, e: ev.TicketEvaluated) -> None:
    ticket = s.tickets[e.ticket]
    ticket.rating, ticket.rating_reason = e.level, e.reason or None


def _booked(s: HallState, e: ev.AppointmentBooked) -> None:
    s.appointments[e.code] = Appointment(e.code, e.queue, e.slot_start, e.slot_end,
                                         person=e.person)


def _checked_in(s: HallState, e: ev.AppointmentCheckedIn) -> None:
    s.appointments[e.code].ticket = e.ticket


def _notice(s: HallState, e: ev.NoticePosted) -> None:
    if e.text:
        s.notices[e.zone or ""] = e.text
    else:
        s.notices.pop(e.zone or "", None)


def _device(s: HallState, e: ev.DeviceReported) -> None:
    known = s.devices.get(e.device)
    history = [*(known.history if known else ()),
               {"at": e.at, "status": e.status, "detail": e.detail}][-HISTORY:]
    s.devices[e.device] = DeviceStatus(e.status, e.detail, e.at, history)


def _alert_raised(s: HallState, e: ev.AlertRaised) -> None:
    s.alerts[e.id] = Alert(e.id, e.rule, e.level, e.subject, e.value, e.threshold, e.at)


def _alert_acknowledged(s: HallState, e: ev.AlertAcknowledged) -> None:
    s.alerts[e.id].acknowledged_at = e.at
    s.alerts[e.id].acknowledged_by = e.by


def _suggestions_posted(s: HallState, e: ev.SuggestionsPosted) -> None:
    s.suggestions = {x["id"]: dict(x) for x in e.suggestions}
    s.suggestion_serial = max([s.suggestion_serial,
                               *(int(x["id"][2:]) for x in e.suggestions)])


def _suggestion_predicted(s: HallState, e: ev.SuggestionPredicted) -> None:
    s.suggestions[e.id] = {**s.suggestions[e.id], "predicted": e.predicted}


def _balancing_set(s: HallState, e: ev.BalancingSet) -> None:
    s.balancing[e.zone] = {"automatic": e.automatic, "by": e.by, "at": e.at}


def _case_opened(s: HallState, e: ev.CaseOpened) -> None:
    s.cases[e.case] = Case(e.case, e.ticket, e.number, e.window, e.clerk, e.level, e.reason,
                           e.at, e.contact_by, e.close_by)


def _case_updated(s: HallState, e: ev.CaseUpdated) -> None:
    case = s.cases[e.case]
    case.steps.append({"step": e.step, "at": e.at, "by": e.by, "note": e.note})
    case.state = e.step


def _alert_cleared(s: HallState, e: ev.AlertCleared) -> None:
    s.alerts.pop(e.id, None)


_APPLY = {
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
    ev.WindowOpened: _window_state(WindowState.IDLE),
    ev.WindowClosed: _window_state(WindowState.CLOSED),
    ev.WindowPaused: _window_state(WindowState.PAUSED, reason=True),
    ev.WindowResumed: _window_state(WindowState.IDLE),
    ev.ProfileChanged: _profile_changed,
    ev.TicketEvaluated: _evaluated,
    ev.AppointmentBooked: _booked,
    ev.AppointmentCheckedIn: _checked_in,
    ev.NoticePosted: _notice,
    ev.DeviceReported: _device,
    ev.TicketHeld: _held,
    ev.ClerkSignedIn: _clerk,
    ev.AlertRaised: _alert_raised,
    ev.AlertAcknowledged: _alert_acknowledged,
    ev.AlertCleared: _alert_cleared,
    ev.SuggestionsPosted: _suggestions_posted,
    ev.SuggestionPredicted: _suggestion_predicted,
    ev.BalancingSet: _balancing_set,
    ev.CaseOpened: _case_opened,
    ev.CaseUpdated: _case_updated,
}
