"""Commands: what a device or a person asks the hall to do.

Each is a frozen dataclass with a stable ``NAME`` (the protocol's command name).
``command_from_dict`` builds one from JSON-like input and rejects bad input with
a DispatchError("bad_argument", ...), so the hub and the tests share one parser.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, get_type_hints

from .errors import DispatchError


@dataclass(frozen=True)
class Command:
    NAME: ClassVar[str] = ""


@dataclass(frozen=True)
class IssueTicket(Command):
    """Take a number. ``zone``: the kiosk's zone, checked against the queue's zones.
    ``after_hours``: the console's extended service (延时服务) past the opening hours."""

    NAME: ClassVar[str] = "issue_ticket"
    queue: str
    ticket_class: str = "normal"
    zone: str | None = None
    after_hours: bool = False
    status_token: str = ""   # the ticket's status page (/t/<token>): the hub's, never a device's
    person: str = ""         # the ID card holder's pseudonym (hub/identity.py): the hub's


@dataclass(frozen=True)
class CallNext(Command):
    """``outcome``/``case_number``: for the ticket the call finishes (办结), if any."""

    NAME: ClassVar[str] = "call_next"
    window: str
    outcome: str | None = None
    case_number: str = ""


@dataclass(frozen=True)
class CallTicket(Command):
    """Call a named ticket: a returning no-show, an appointment, a ticket in hand."""

    NAME: ClassVar[str] = "call_ticket"
    window: str
    ticket: str
    outcome: str | None = None       # for the ticket the call finishes, as call_next
    case_number: str = ""


@dataclass(frozen=True)
class Recall(Command):
    NAME: ClassVar[str] = "recall"
    window: str


@dataclass(frozen=True)
class StartService(Command):
    NAME: ClassVar[str] = "start_service"
    window: str


@dataclass(frozen=True)
class FinishService(Command):
    """办结. ``outcome``: an ``[outcomes]`` code of the hall file (None: the window's
    default_outcome when its queue requires one); ``case_number``: the 办件编号."""

    NAME: ClassVar[str] = "finish_service"
    window: str
    outcome: str | None = None
    case_number: str = ""


@dataclass(frozen=True)
class NoShow(Command):
    NAME: ClassVar[str] = "no_show"
    window: str


@dataclass(frozen=True)
class Requeue(Command):
    """过号重排: a no-show who came back goes in behind the queue's requeue_after tickets."""

    NAME: ClassVar[str] = "requeue"
    ticket: str


@dataclass(frozen=True)
class Transfer(Command):
    """Move a mis-taken ticket to another queue, keeping its place, or to a named window."""

    NAME: ClassVar[str] = "transfer"
    ticket: str
    to_queue: str | None = None
    to_window: str | None = None


@dataclass(frozen=True)
class Cancel(Command):
    NAME: ClassVar[str] = "cancel"
    ticket: str
    reason: str = ""


@dataclass(frozen=True)
class Pause(Command):
    NAME: ClassVar[str] = "pause"
    window: str
    reason: str


@dataclass(frozen=True)
class Resume(Command):
    NAME: ClassVar[str] = "resume"
    window: str


@dataclass(frozen=True)
class OpenWindow(Command):
    NAME: ClassVar[str] = "open_window"
    window: str


@dataclass(frozen=True)
class CloseWindow(Command):
    NAME: ClassVar[str] = "close_window"
    window: str


@dataclass(frozen=True)
class SetProfile(Command):
    """Move a window (between the big loop and a unit, or any change of its main and
    side queues). ``reason``: why, for the audit trail; ``by``: stamped by the hub."""

    NAME: ClassVar[str] = "set_profile"
    window: str
    main: tuple[str, ...]
    side: tuple[str, ...] = ()
    side_when_overdue: bool = False
    reason: str = ""
    by: str = ""


@dataclass(frozen=True)
class Evaluate(Command):
    """好差评: 5 非常满意, 4 满意, 3 基本满意, 2 不满意, 1 非常不满意."""

    NAME: ClassVar[str] = "evaluate"
    ticket: str
    level: int
    reason: str = ""


@dataclass(frozen=True)
class Hold(Command):
    """挂起: set aside the ticket the window holds while the citizen fetches something."""

    NAME: ClassVar[str] = "hold"
    window: str


@dataclass(frozen=True)
class CallBack(Command):
    """回呼: call a ticket held at this window (``ticket`` None: the one held longest),
    ahead of any new work."""

    NAME: ClassVar[str] = "call_back"
    window: str
    ticket: str | None = None
    outcome: str | None = None       # for the ticket the call finishes, as call_next
    case_number: str = ""


@dataclass(frozen=True)
class SignIn(Command):
    """The clerk working at a window (its panel checked the PIN); "" signs out."""

    NAME: ClassVar[str] = "sign_in"
    window: str
    clerk: str = ""


@dataclass(frozen=True)
class CloseDay(Command):
    NAME: ClassVar[str] = "close_day"


@dataclass(frozen=True)
class BookAppointment(Command):
    """预约: the booking platform (or the console) pushes one of today's booked slots.
    ``slot_start``/``slot_end``: epoch seconds."""

    NAME: ClassVar[str] = "book_appointment"
    code: str
    queue: str
    slot_start: float
    slot_end: float
    person: str = ""         # booked by ID card: its holder's pseudonym (the hub's)


@dataclass(frozen=True)
class CheckIn(Command):
    """预约签到: the citizen checks in at a kiosk and gets an appointment-class ticket.
    ``zone``: the kiosk's zone, checked against the booked queue's zones."""

    NAME: ClassVar[str] = "check_in"
    code: str = ""           # the appointment code, or "" to find it by ``person``
    zone: str | None = None
    status_token: str = ""   # as issue_ticket's
    person: str = ""         # as issue_ticket's: check in by ID card


@dataclass(frozen=True)
class PostNotice(Command):
    """公告: the scrolling line on the wall displays. Empty text clears it;
    ``zone`` None is the whole hall."""

    NAME: ClassVar[str] = "notice"
    text: str = ""
    zone: str | None = None


@dataclass(frozen=True)
class ReportDevice(Command):
    """A device's health (a kiosk's printer out of paper, an LED strip offline)."""

    NAME: ClassVar[str] = "report_device"
    device: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class UpdateCase(Command):
    """A 差评 case's next step (the console): contacted → rectified (optional) → closed."""

    NAME: ClassVar[str] = "update_case"
    case: str
    step: str
    note: str = ""
    by: str = ""


@dataclass(frozen=True)
class CheckAlerts(Command):
    """The hub's own clock tick: raise and clear alerts (dispatcher/core/alerts.py)."""

    NAME: ClassVar[str] = "check_alerts"


@dataclass(frozen=True)
class AcknowledgeAlert(Command):
    NAME: ClassVar[str] = "acknowledge_alert"
    id: str
    by: str = ""


@dataclass(frozen=True)
class PostSuggestions(Command):
    """The hub's own: the balancing moves it suggests now (dispatcher/core/balancing.py),
    each a dict as ``balancing.suggestion`` makes it; they replace the current ones."""

    NAME: ClassVar[str] = "post_suggestions"
    suggestions: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class PredictSuggestion(Command):
    """The hub's own: the predicted effect of a suggestion, from the forward simulation."""

    NAME: ClassVar[str] = "predict_suggestion"
    id: str
    predicted: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ApplySuggestion(Command):
    """Make a suggested move (the console's one click, or the hub in an automatic zone)."""

    NAME: ClassVar[str] = "apply_suggestion"
    id: str
    by: str = ""


@dataclass(frozen=True)
class SetBalancing(Command):
    """Switch a zone's balancing to automatic (the hub makes the moves) or manual."""

    NAME: ClassVar[str] = "set_balancing"
    zone: str
    automatic: bool
    by: str = ""


COMMANDS: dict[str, type[Command]] = {
    c.NAME: c
    for c in (
        IssueTicket, CallNext, CallTicket, Recall, StartService, FinishService, NoShow,
        Requeue, Transfer, Cancel, Pause, Resume, OpenWindow, CloseWindow, SetProfile,
        Evaluate, CloseDay, BookAppointment, CheckIn, PostNotice, ReportDevice, Hold, CallBack,
        SignIn, CheckAlerts, AcknowledgeAlert, PostSuggestions, PredictSuggestion,
        ApplySuggestion, SetBalancing, UpdateCase,
    )
}


def _coerce(name: str, field: str, hint: Any, value: Any, empty_ok: bool = False) -> Any:
    """``empty_ok``: a text field whose default is "" (a notice's text, a reason)."""
    def bad(expected: str) -> DispatchError:
        return DispatchError("bad_argument", f"{name}: {field} must be {expected}", field=field)

    if hint in (str, "str"):
        if not isinstance(value, str) or not (value or empty_ok):
            raise bad("a string" if empty_ok else "a non-empty string")
        return value
    if hint == str | None:
        if value is not None and (not isinstance(value, str) or not value):
            raise bad("a non-empty string or null")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad("a finite number")
        number = float(value) if abs(value) < 1e300 else math.inf  # no OverflowError
        if not math.isfinite(number):
            raise bad("a finite number")
        return number
    if hint == tuple[str, ...]:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    if hint == dict[str, Any]:
        if not isinstance(value, dict):
            raise bad("an object")
        return value
    if hint == tuple[dict[str, Any], ...]:
        if not isinstance(value, list | tuple) or not all(isinstance(v, dict) for v in value):
            raise bad("a list of objects")
        return tuple(value)
    raise AssertionError(f"no coercion for {hint}")


@cache
def _hints(cls: type[Command]) -> dict[str, Any]:
    return get_type_hints(cls)


@cache
def command_fields(cls: type[Command]) -> dict[str, dataclasses.Field[Any]]:
    """A command class's fields by name, looked up once."""
    return {f.name: f for f in dataclasses.fields(cls)}


def command_from_dict(name: str, args: dict[str, Any]) -> Command:
    """Build a command from its protocol name and JSON arguments, checking every type."""
    cls = COMMANDS.get(name)
    if cls is None:
        raise DispatchError("bad_argument", f"unknown command {name!r}", field="name")
    if not isinstance(args, dict):
        raise DispatchError("bad_argument", f"{name}: args must be an object", field="args")
    fields = command_fields(cls)
    unknown = sorted(set(args) - set(fields))
    if unknown:
        raise DispatchError("bad_argument", f"{name}: unknown argument {unknown[0]!r}",
                            field=unknown[0])
    hints = _hints(cls)
    values = {}
    for fname, f in fields.items():
        if fname not in args:
            no_default = f.default is dataclasses.MISSING
            if no_default and f.default_factory is dataclasses.MISSING:
                raise DispatchError("bad_argument", f"{name}: {fname} is required", field=fname)
            continue
        values[fname] = _coerce(name, fname, hints[fname], args[fname], f.default == "")
    return cls(**values)


def command_to_dict(cmd: Command) -> dict[str, Any]:
    return {f.name: (list(v) if isinstance(v := getattr(cmd, f.name), tuple) else v)
            for f in dataclasses.fields(cmd)}
