"""Lookups the deciders share: a ticket, a window, what a window holds, each
refused with the DispatchError a client is told."""

from __future__ import annotations

from .errors import DispatchError
from .state import HallState, Ticket, TicketState, WindowState, WindowStatus


def find_ticket(state: HallState, ticket_id: str) -> Ticket:
    try:
        return state.tickets[ticket_id]
    except KeyError:
        raise DispatchError("unknown_ticket", f"no ticket {ticket_id} today",
                            ticket=ticket_id) from None


def find_window(state: HallState, window_id: str) -> WindowStatus:
    try:
        return state.windows[window_id]
    except KeyError:
        raise DispatchError("unknown_window", f"no window {window_id} in this hall",
                            window=window_id) from None


def working_window(state: HallState, window_id: str) -> WindowStatus:
    """A window that may call: open and not paused."""
    window = find_window(state, window_id)
    if window.state is WindowState.CLOSED:
        raise DispatchError("window_closed", f"window {window_id} is closed", window=window_id)
    if window.state is WindowState.PAUSED:
        raise DispatchError("window_paused", f"window {window_id} is paused "
                            f"({window.pause_reason})", window=window_id)
    return window


def current_ticket(state: HallState, window_id: str, *allowed: TicketState) -> Ticket:
    """The ticket a window holds, which must be in one of the allowed states."""
    window = find_window(state, window_id)
    if window.ticket is None:
        raise DispatchError("window_idle", f"window {window_id} holds no ticket",
                            window=window_id)
    ticket = state.tickets[window.ticket]
    if ticket.state not in allowed:
        raise DispatchError("wrong_state", f"{ticket.number} is {ticket.state}",
                            ticket=ticket.id, state=str(ticket.state))
    return ticket


def wrong_state(ticket: Ticket, action: str) -> DispatchError:
    return DispatchError("wrong_state", f"{ticket.number} is {ticket.state} and cannot be "
                         f"{action}", ticket=ticket.id, state=str(ticket.state))
