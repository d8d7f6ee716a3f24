"""差评 follow-up: a low rating opens a case, tracked to closure against deadlines.

A rating at or below the hall file's ``[cases] open_at_or_below`` opens a case in
the same decision as its ``ticket_evaluated``. Its deadlines count **working
days**: the hall's opening days (``[hall.hours] days``; no holiday calendar). A
deadline of N working days is the end of the last opening period of the N-th
working day after the business day the case was opened (N = 0: that day itself,
or the next working day when the hall is shut that day). With the sample hall
(Mon–Fri, 09:00–12:00 and 13:00–17:00, contact within 1, close within 15) a case
opened on Friday must be contacted by Monday 17:00.

A case steps through contacted → rectified (optional) → closed, in that order,
each step with who and when (``update_case``, the console's). Open cases outlive
the day: ``day_opened`` carries them (``open_cases``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..hall import WEEKDAYS, Hall
from . import commands as cmd
from . import events as ev
from .errors import DispatchError
from .state import HallState, Ticket

MAX_NOTE = 200
#: a step → the case states it may follow
STEPS: dict[str, tuple[str, ...]] = {
    "contacted": ("open",),
    "rectified": ("contacted",),
    "closed": ("contacted", "rectified"),
}


def working_day_end(hall: Hall, day: str, working_days: int) -> float:
    """The end (epoch seconds) of the N-th working day after business day ``day``."""
    d = date.fromisoformat(day)
    counted = 0
    while counted < working_days or not _working(hall, d):
        d += timedelta(days=1)
        counted += _working(hall, d)
    end = max(e for _, e in hall.hours.periods)
    local = datetime.combine(d, time(0), tzinfo=ZoneInfo(hall.timezone))
    return (local + timedelta(minutes=end)).timestamp()


def _working(hall: Hall, d: date) -> bool:
    return WEEKDAYS[d.weekday()] in hall.hours.days


def opened(hall: Hall, state: HallState, ticket: Ticket, evaluated: ev.TicketEvaluated
           ) -> list[ev.Event]:
    """``case_opened`` for a rating at or below the hall's threshold, else []."""
    if evaluated.level > hall.cases.open_at_or_below:
        return []
    day = state.day or hall.business_day(evaluated.at)
    rules = hall.cases
    return [ev.CaseOpened(
        at=evaluated.at, case=_next_id(state, day), ticket=ticket.id, number=ticket.number,
        window=evaluated.window, clerk=evaluated.clerk, level=evaluated.level,
        reason=evaluated.reason,
        contact_by=working_day_end(hall, day, rules.contact_within_days),
        close_by=working_day_end(hall, day, rules.close_within_days))]


def _next_id(state: HallState, day: str) -> str:
    prefix = f"C-{day.replace('-', '')}-"
    return f"{prefix}{sum(1 for c in state.cases if c.startswith(prefix)) + 1:03d}"


def update(state: HallState, c: cmd.UpdateCase, now: float) -> list[ev.Event]:
    case = state.cases.get(c.case)
    if case is None:
        raise DispatchError("unknown_case", f"no case {c.case!r} open (or closed today)",
                            case=c.case)
    if c.step not in STEPS:
        raise DispatchError("bad_argument", f"a case step is one of {', '.join(STEPS)}, not "
                            f"{c.step!r}", field="step")
    if case.state not in STEPS[c.step]:
        raise DispatchError("case_step_out_of_order", f"case {case.id} is {case.state}: "
                            f"{c.step} comes only after {' or '.join(STEPS[c.step])}",
                            case=case.id, state=case.state)
    note = c.note.strip()
    if len(note) > MAX_NOTE:
        raise DispatchError("bad_argument", f"a case note is at most {MAX_NOTE} characters, "
                            f"not {len(note)}", field="note")
    return [ev.CaseUpdated(at=now, case=case.id, step=c.step, note=note, by=c.by)]


def open_cases(state: HallState) -> tuple[dict[str, Any], ...]:
    """The cases a new day carries over: every one not closed, as views."""
    return tuple(c.view() for _, c in sorted(state.cases.items()) if c.state != "closed")


def due(case_state: str, contact_by: float, close_by: float) -> float | None:
    """The deadline a case runs against now: contact before contacted, close until
    closed; None once closed."""
    if case_state == "open":
        return contact_by
    return None if case_state == "closed" else close_by
