"""办件结果: the outcome a ticket is finished with (办结), checked against the hall file.

A queue with ``outcome_required`` is finished only with an outcome code of the hall
file's ``[outcomes]``: the command's, or else the finishing window's
``default_outcome`` (a keypad window, which cannot ask). A code that needs the
办件编号 needs a non-empty ``case_number``. Every path that finishes a ticket
(finish_service, and call_next, call_ticket and call_back finishing the ticket the
window holds) goes through ``finish_event``.
"""

from __future__ import annotations

from ..hall import Hall
from . import events as ev
from .errors import DispatchError
from .state import HallState, Ticket

MAX_CASE_NUMBER = 64   # a 办件编号's length


def recorded_outcome(hall: Hall, ticket: Ticket, window: str, outcome: str | None,
                     case_number: str) -> tuple[str, str]:
    """(outcome, case_number) to record for ``ticket`` finished at ``window``; "" for
    none. Raises bad_argument for an unknown code or an over-long case number, and
    outcome_required when the queue needs an outcome (or the code a case number)."""
    case_number = case_number.strip()
    if len(case_number) > MAX_CASE_NUMBER:
        raise DispatchError("bad_argument", f"a case number is at most {MAX_CASE_NUMBER} "
                            "characters", field="case_number")
    if outcome is not None and outcome not in hall.outcomes:
        known = ", ".join(hall.outcomes) or "none"
        raise DispatchError("bad_argument", f"no outcome {outcome!r} in this hall (known: "
                            f"{known})", field="outcome")
    if outcome is None:
        return _default(hall, ticket, window), case_number
    if hall.outcomes[outcome].case_number and not case_number:
        raise DispatchError("outcome_required", f"outcome {outcome} "
                            f"({hall.outcomes[outcome].name}) needs the case number (办件编号) "
                            f"of {ticket.number}", ticket=ticket.id, outcome=outcome,
                            field="case_number")
    return outcome, case_number


def _default(hall: Hall, ticket: Ticket, window: str) -> str:
    """No outcome given: none when the queue needs none, else the window's default."""
    queue = hall.queues[ticket.queue]
    if not queue.outcome_required:
        return ""
    default = hall.windows[window].default_outcome
    if default is None:
        raise DispatchError("outcome_required", f"{ticket.number} ({queue.name}) needs an "
                            f"outcome (办件结果) to finish: one of {', '.join(hall.outcomes)}",
                            ticket=ticket.id, queue=queue.id, field="outcome")
    return default


def finish_event(hall: Hall, ticket: Ticket, window: str, now: float, outcome: str | None,
                 case_number: str, implicit: bool = False) -> ev.ServiceFinished:
    code, number = recorded_outcome(hall, ticket, window, outcome, case_number)
    return ev.ServiceFinished(at=now, ticket=ticket.id, window=window, implicit=implicit,
                              outcome=code, case_number=number)


def simulated_outcome(hall: Hall, state: HallState, window: str) -> dict[str, str]:
    """What a simulated clerk (the simulator, the demo) records when ``window``
    finishes the ticket it holds: nothing unless the ticket's queue requires an
    outcome and the window has no default; then the hall's first code, with a made-up
    办件编号 if that code needs one. As keyword arguments of FinishService/CallNext."""
    held = state.windows[window].ticket
    if held is None or hall.windows[window].default_outcome is not None:
        return {}
    if not hall.queues[state.tickets[held].queue].outcome_required:
        return {}
    code = next(iter(hall.outcomes))
    return {"outcome": code,
            "case_number": f"SIM-{held}" if hall.outcomes[code].case_number else ""}
