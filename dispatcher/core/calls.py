"""Deciders of calling: call next, call a named ticket, recall, hold and call back
(挂起/回呼), and the clerk signing in at a window (whose calls then carry the clerk)."""

from __future__ import annotations

from ..hall import Hall
from . import commands as cmd
from . import events as ev
from .errors import DispatchError
from .lookups import current_ticket, find_ticket, find_window, working_window, wrong_state
from .outcomes import finish_event
from .selection import choose_next
from .state import HallState, Ticket, TicketState, WindowStatus

MAX_CLERK = 64  # a clerk id's length
MAX_HELD = 5    # tickets set aside at one window at a time


def finish_current(hall: Hall, state: HallState, window: WindowStatus, now: float,
                   c: cmd.CallNext | cmd.CallTicket | cmd.CallBack) -> list[ev.Event]:
    """Calling while holding a ticket: finish it first (a keypad's 'next') with the
    command's outcome (core/outcomes.py), or refuse."""
    if window.ticket is None:
        return []
    if not hall.call_next_finishes_current:
        raise DispatchError("window_busy", f"window {window.id} still holds "
                            f"{state.tickets[window.ticket].number}", window=window.id)
    return [finish_event(hall, state.tickets[window.ticket], window.id, now, c.outcome,
                         c.case_number, implicit=True)]


def called(ticket: Ticket, window: str, tier: str, now: float) -> ev.TicketCalled:
    return ev.TicketCalled(at=now, ticket=ticket.id, number=ticket.number, window=window,
                           queue=ticket.queue, tier=tier)


def call_next(hall: Hall, state: HallState, c: cmd.CallNext, now: float) -> list[ev.Event]:
    window = working_window(state, c.window)
    choice = choose_next(hall, state, c.window, now)
    if choice is None:
        raise DispatchError("queue_empty", f"nothing is waiting for window {c.window}",
                            window=c.window)
    finished = finish_current(hall, state, window, now, c)
    return [*finished, called(choice.ticket, c.window, choice.tier, now)]


def call_ticket(hall: Hall, state: HallState, c: cmd.CallTicket, now: float) -> list[ev.Event]:
    window = working_window(state, c.window)
    ticket = find_ticket(state, c.ticket)
    if ticket.state not in (TicketState.WAITING, TicketState.NO_SHOW):
        raise wrong_state(ticket, "called")
    waits_here = ticket.state is TicketState.WAITING and ticket.window == c.window
    waits_elsewhere = ticket.state is TicketState.WAITING and ticket.window not in (None, c.window)
    if waits_elsewhere or (not waits_here and ticket.queue not in window.profile.queues):
        raise DispatchError("not_authorized", f"window {c.window} does not serve "
                            f"{ticket.number}", window=c.window, ticket=ticket.id)
    finished = finish_current(hall, state, window, now, c)
    return [*finished, called(ticket, c.window, "named", now)]


def recall(hall: Hall, state: HallState, c: cmd.Recall, now: float) -> list[ev.Event]:
    ticket = current_ticket(state, c.window, TicketState.CALLED)
    return [ev.TicketRecalled(at=now, ticket=ticket.id, number=ticket.number, window=c.window,
                              recalls=ticket.recalls + 1)]


def hold(hall: Hall, state: HallState, c: cmd.Hold, now: float) -> list[ev.Event]:
    ticket = current_ticket(state, c.window, TicketState.CALLED, TicketState.SERVING)
    if len(state.held.get(c.window, ())) >= MAX_HELD:
        raise DispatchError("hold_limit", f"window {c.window} already holds {MAX_HELD} "
                            "tickets aside: call one back first", window=c.window)
    return [ev.TicketHeld(at=now, ticket=ticket.id, number=ticket.number, window=c.window)]


def call_back(hall: Hall, state: HallState, c: cmd.CallBack, now: float) -> list[ev.Event]:
    window = working_window(state, c.window)
    held = state.held.get(c.window, [])
    if c.ticket is None and not held:
        raise DispatchError("nothing_held", f"window {c.window} holds no ticket aside",
                            window=c.window)
    ticket = find_ticket(state, c.ticket or held[0])
    if ticket.id not in held:
        raise DispatchError("nothing_held", f"{ticket.number} is not held aside at window "
                            f"{c.window}", window=c.window, ticket=ticket.id)
    finished = finish_current(hall, state, window, now, c)
    return [*finished, called(ticket, c.window, "call_back", now)]


def sign_in(hall: Hall, state: HallState, c: cmd.SignIn, now: float) -> list[ev.Event]:
    window = find_window(state, c.window)
    clerk = c.clerk.strip()
    if len(clerk) > MAX_CLERK:
        raise DispatchError("bad_argument", f"a clerk id is at most {MAX_CLERK} characters",
                            field="clerk")
    if clerk == (window.clerk or ""):
        return []  # a panel signing in again after a reconnect changes nothing
    return [ev.ClerkSignedIn(at=now, window=c.window, clerk=clerk)]
