"""Events: the facts the core decides. The event list is the hall's truth (全程留痕).

Each event is a frozen dataclass with a stable ``NAME`` and ``at`` (seconds since
the epoch, passed in by whoever drives the core). ``to_dict``/``event_from_dict``
give the JSON form the store keeps and the hub sends.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    NAME: ClassVar[str] = ""
    at: float

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.NAME}
        for name in _field_names(type(self)):
            value = getattr(self, name)
            data[name] = list(value) if isinstance(value, tuple) else value
        return data


@cache
def _field_names(cls: type[Event]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


@dataclass(frozen=True)
class DayOpened(Event):
    """``cases``: the 差评 cases still open, carried over from the day before (each as
    its view, core/cases.py), so today's events alone rebuild them."""

    NAME: ClassVar[str] = "day_opened"
    day: str
    cases: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class DayClosed(Event):
    """The day ends: every ticket still open is closed out, every window closes."""

    NAME: ClassVar[str] = "day_closed"
    day: str
    closed_tickets: tuple[str, ...] = ()


@dataclass(frozen=True)
class TicketIssued(Event):
    NAME: ClassVar[str] = "ticket_issued"
    ticket: str          # id: day + number, e.g. "20261123-B017"
    number: str          # as printed and announced: "B017"
    prefix: str
    sequence: int        # daily sequence of this prefix
    serial: int          # daily sequence over the whole hall: breaks virtual-time ties
    queue: str
    ticket_class: str
    virtual_at: float    # issue time minus the class credit: the place in line
    status_token: str = ""   # the ticket's status page: the hub's and its issuer's alone
    zone: str | None = None  # the kiosk's zone (None: the console's, or an event from before)
    person: str = ""         # taken by ID card: the holder's pseudonym (never the number)


@dataclass(frozen=True)
class TicketCalled(Event):
    NAME: ClassVar[str] = "ticket_called"
    ticket: str
    number: str
    window: str
    queue: str
    tier: str            # direct | main | side | overdue_side | named


@dataclass(frozen=True)
class TicketRecalled(Event):
    NAME: ClassVar[str] = "ticket_recalled"
    ticket: str
    number: str
    window: str
    recalls: int


@dataclass(frozen=True)
class ServiceStarted(Event):
    NAME: ClassVar[str] = "service_started"
    ticket: str
    window: str


@dataclass(frozen=True)
class ServiceFinished(Event):
    """``implicit``: finished by the clerk's next call rather than by 办结.
    ``outcome``: the hall file's outcome code (办件结果), "" when none was recorded;
    ``case_number``: the 办件编号, "" when none."""

    NAME: ClassVar[str] = "service_finished"
    ticket: str
    window: str
    implicit: bool = False
    outcome: str = ""
    case_number: str = ""


@dataclass(frozen=True)
class TicketNoShow(Event):
    NAME: ClassVar[str] = "ticket_no_show"
    ticket: str
    window: str


@dataclass(frozen=True)
class TicketRequeued(Event):
    """The new place is ``(virtual_at, serial)``. ``serial`` is the tie-breaker the
    ticket takes (a fraction when it goes between two tickets tied on virtual_at);
    None, in events stored before it existed, keeps the ticket's own serial."""

    NAME: ClassVar[str] = "ticket_requeued"
    ticket: str
    queue: str
    virtual_at: float
    requeues: int
    serial: float | None = None


@dataclass(frozen=True)
class TicketTransferred(Event):
    """To a queue (keeping virtual_at, its place in line) or to a named window."""

    NAME: ClassVar[str] = "ticket_transferred"
    ticket: str
    from_queue: str
    to_queue: str
    from_window: str | None
    to_window: str | None


@dataclass(frozen=True)
class TicketCancelled(Event):
    NAME: ClassVar[str] = "ticket_cancelled"
    ticket: str
    window: str | None
    reason: str


@dataclass(frozen=True)
class WindowOpened(Event):
    NAME: ClassVar[str] = "window_opened"
    window: str


@dataclass(frozen=True)
class WindowClosed(Event):
    NAME: ClassVar[str] = "window_closed"
    window: str


@dataclass(frozen=True)
class WindowPaused(Event):
    NAME: ClassVar[str] = "window_paused"
    window: str
    reason: str


@dataclass(frozen=True)
class WindowResumed(Event):
    NAME: ClassVar[str] = "window_resumed"
    window: str


@dataclass(frozen=True)
class ProfileChanged(Event):
    """A window moved. ``reason``: why (a console's words, or the suggestion's);
    ``suggestion``: the suggestion it applied, if any; ``by``: who (a staff id, "hub"
    for an automatic move); ``automatic``: made by the hub in an automatic zone."""

    NAME: ClassVar[str] = "profile_changed"
    window: str
    main: tuple[str, ...]
    side: tuple[str, ...]
    side_when_overdue: bool
    reason: str = ""
    suggestion: str = ""
    by: str = ""
    automatic: bool = False


@dataclass(frozen=True)
class TicketEvaluated(Event):
    """``clerk``: who served it ("" if nobody had signed in); ``reason``: a low
    rating's reason, "" when none was given."""

    NAME: ClassVar[str] = "ticket_evaluated"
    ticket: str
    window: str
    level: int
    clerk: str = ""
    reason: str = ""


@dataclass(frozen=True)
class TicketHeld(Event):
    """挂起: the citizen steps away (to fetch a document); the ticket waits aside
    for this window until the clerk calls it back."""

    NAME: ClassVar[str] = "ticket_held"
    ticket: str
    number: str
    window: str


@dataclass(frozen=True)
class ClerkSignedIn(Event):
    """The clerk now working at the window; ``clerk`` "" when the clerk signs out."""

    NAME: ClassVar[str] = "clerk_signed_in"
    window: str
    clerk: str


@dataclass(frozen=True)
class AppointmentBooked(Event):
    NAME: ClassVar[str] = "appointment_booked"
    code: str
    queue: str
    slot_start: float
    slot_end: float
    person: str = ""         # booked by ID card: the holder's pseudonym


@dataclass(frozen=True)
class AppointmentCheckedIn(Event):
    """Follows the TicketIssued of the appointment-class ticket it names."""

    NAME: ClassVar[str] = "appointment_checked_in"
    code: str
    ticket: str


@dataclass(frozen=True)
class NoticePosted(Event):
    """``zone`` None: the whole hall. Empty ``text`` takes the notice down."""

    NAME: ClassVar[str] = "notice_posted"
    text: str
    zone: str | None


@dataclass(frozen=True)
class DeviceReported(Event):
    NAME: ClassVar[str] = "device_reported"
    device: str
    status: str
    detail: str


@dataclass(frozen=True)
class CaseOpened(Event):
    """A low rating (level ≤ ``[cases] open_at_or_below``) opens a 差评 case, with its
    deadlines (epoch seconds) from the hall file's working days."""

    NAME: ClassVar[str] = "case_opened"
    case: str            # "C-20261123-001"
    ticket: str
    number: str
    window: str
    clerk: str
    level: int
    reason: str
    contact_by: float
    close_by: float


@dataclass(frozen=True)
class CaseUpdated(Event):
    """A case's next step: contacted, rectified or closed; ``by``: the staff member."""

    NAME: ClassVar[str] = "case_updated"
    case: str
    step: str
    note: str = ""
    by: str = ""


@dataclass(frozen=True)
class AlertRaised(Event):
    """An alert rule's condition holds (dispatcher/core/alerts.py). ``id`` is the rule
    and the subject, "ticket_overdue:20261123-B017"; ``value`` and ``threshold`` in
    the rule's unit (seconds, or waiting tickets), at the moment it was raised."""

    NAME: ClassVar[str] = "alert_raised"
    id: str
    rule: str
    level: str
    subject: str
    value: float
    threshold: float


@dataclass(frozen=True)
class AlertAcknowledged(Event):
    """A dispatcher saw it: ``by``, the staff id the hub signed in."""

    NAME: ClassVar[str] = "alert_acknowledged"
    id: str
    by: str = ""


@dataclass(frozen=True)
class AlertCleared(Event):
    NAME: ClassVar[str] = "alert_cleared"
    id: str


@dataclass(frozen=True)
class SuggestionsPosted(Event):
    """The balancing moves suggested now; they replace the current ones (``removed``:
    the ids of those no longer suggested)."""

    NAME: ClassVar[str] = "suggestions_posted"
    suggestions: tuple[dict[str, Any], ...]
    removed: tuple[str, ...] = ()


@dataclass(frozen=True)
class SuggestionPredicted(Event):
    NAME: ClassVar[str] = "suggestion_predicted"
    id: str
    predicted: dict[str, Any]


@dataclass(frozen=True)
class BalancingSet(Event):
    NAME: ClassVar[str] = "balancing_set"
    zone: str
    automatic: bool
    by: str = ""


EVENTS: dict[str, type[Event]] = {
    e.NAME: e
    for e in (
        DayOpened, DayClosed, TicketIssued, TicketCalled, TicketRecalled, ServiceStarted,
        ServiceFinished, TicketNoShow, TicketRequeued, TicketTransferred, TicketCancelled,
        WindowOpened, WindowClosed, WindowPaused, WindowResumed, ProfileChanged,
        TicketEvaluated, AppointmentBooked, AppointmentCheckedIn, NoticePosted, DeviceReported,
        TicketHeld, ClerkSignedIn, AlertRaised, AlertAcknowledged, AlertCleared,
        SuggestionsPosted, SuggestionPredicted, BalancingSet, CaseOpened, CaseUpdated,
    )
}


def event_from_dict(data: dict[str, Any]) -> Event:
    """The event of a ``to_dict`` form; a field added later with a default may be absent."""
    cls = EVENTS[data["name"]]
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in data and f.default is not dataclasses.MISSING:
            continue
        value = data[f.name]
        kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    return cls(**kwargs)
