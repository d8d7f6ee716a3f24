"""Typed rejections of the dispatch core. A rejected command changes nothing."""

from __future__ import annotations

from typing import Any

# Stable codes: clients, tests and third-party devices match on these strings.
ERROR_CODES: dict[str, str] = {
    "unknown_queue": "no such queue in this hall",
    "unknown_window": "no such window in this hall",
    "unknown_ticket": "no such ticket today",
    "unknown_class": "ticket class is not normal, appointment or green",
    "bad_argument": "an argument is missing or has the wrong value",
    "hall_closed": "the hall is outside its opening hours",
    "day_closed": "today has been closed; the next day starts at the reset time",
    "window_closed": "the window is closed",
    "window_paused": "the window is paused",
    "window_busy": "the window already holds a ticket",
    "window_idle": "the window holds no ticket",
    "queue_empty": "nothing is waiting for this window",
    "not_authorized": "this window or zone may not take that queue",
    "queue_unserved": "the change would leave a queue that no window serves as main work",
    "wrong_state": "the ticket is not in a state that allows this",
    "requeue_limit": "the ticket has been re-queued as often as allowed",
    "already_evaluated": "the ticket has already been rated",
    "duplicate_appointment": "an appointment with this code is already booked today",
    "unknown_appointment": "no appointment with this code today",
    "already_checked_in": "the appointment has already been checked in",
    "too_early": "check-in for this appointment has not opened yet",
    "too_late": "check-in for this appointment has closed",
    "hold_limit": "the window already holds as many tickets aside as allowed",
    "nothing_held": "no such ticket is held aside at this window",
    "unknown_alert": "no such alert is active",
    "outcome_required": "this ticket's queue needs an outcome (and its case number) to finish",
    "unknown_case": "no such 差评 case is open or closed today",
    "case_step_out_of_order": "a case goes contacted, (rectified,) closed, in that order",
    "stale_suggestion": "the balancing move is no longer suggested, or its window has moved",
    "person_limit": "this ID card already holds as many waiting tickets of the queue as allowed",
    "bad_id_card": "the ID card's number is not a valid resident ID number",
}


class DispatchError(Exception):
    """A command the core refuses. ``code`` is one of ERROR_CODES."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        assert code in ERROR_CODES, code
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}

    def __repr__(self) -> str:
        return f"DispatchError({self.code!r}, {self.message!r})"
