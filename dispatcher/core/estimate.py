"""Queue status and expected wait: pure reads of the state, time passed in.

The estimate (docs/dispatch-core.md, "Expected wait") is deliberately simple:

    expected wait = (ahead + 1/2) × mean service time / m

``m`` is the number of working windows calling the line (side work at half
weight), the mean service time is that of the queue's last RECENT completed
services today, or its configured ``service_minutes`` before there are any.
"""

from __future__ import annotations

import bisect
import math

from ..hall import Hall
from .errors import DispatchError
from .state import HallState, Ticket, TicketState, WindowState

RECENT = 20  # completed services the mean is taken over
SIDE_WEIGHT = 0.5  # a window that has the queue as side work gives it about half its time
_WORKING = (WindowState.IDLE, WindowState.CALLING, WindowState.SERVING)


def queue_status(hall: Hall, state: HallState, now: float) -> dict[str, dict]:
    """Per queue: tickets waiting in its line, the working windows that have it as main
    and as side work, and the expected wait of a ticket taken now."""
    status = {}
    for qid in hall.queues:
        waiting = len(state.queue_lines.get(qid, ()))
        main, side = working_windows(state, qid)
        status[qid] = {
            "waiting": waiting, "windows": main, "side_windows": side,
            "expected_wait_s": expected_wait(waiting, capacity(main, side),
                                             mean_service(hall, state, qid, now)),
        }
    return status


def ticket_status(hall: Hall, state: HallState, ticket_id: str, now: float) -> dict:
    """Where a ticket stands: its state, how many wait ahead of it in its line and,
    while it waits, its expected wait from now."""
    ticket = state.tickets.get(ticket_id)
    if ticket is None:
        raise DispatchError("unknown_ticket", f"no ticket {ticket_id} today", ticket=ticket_id)
    waiting = ticket.state is TicketState.WAITING
    ahead = bisect.bisect_left(state.line_of(ticket), (*ticket.place, ticket.id)) if waiting else 0
    wait = None
    if waiting:
        wait = expected_wait(ahead, _line_capacity(state, ticket),
                             mean_service(hall, state, ticket.queue, now))
    return {"ticket": ticket.id, "number": ticket.number, "queue": ticket.queue,
            "state": str(ticket.state), "window": ticket.window, "ahead": ahead,
            "expected_wait_s": wait}


def expected_wait(ahead: int, m: float, mean: float) -> float | None:
    """Seconds until a ticket with ``ahead`` tickets before it is called, when ``m``
    windows call the line and a service takes ``mean`` seconds; None when no window does.

    Together the windows finish one service every mean/m seconds; the ticket is called
    at the (ahead + 1)-th finish, and the first comes half an interval from a random
    moment on average."""
    if m <= 0:
        return None
    return (ahead + 0.5) * mean / m


def capacity(main: int, side: int) -> float:
    """Windows' worth of calling on a queue: side windows at half weight, and at least
    one whole window as soon as any working window calls it."""
    m = main + SIDE_WEIGHT * side
    return max(m, 1.0) if m > 0 else 0.0


def working_windows(state: HallState, queue: str) -> tuple[int, int]:
    """Open, unpaused windows that have the queue as main work, and as side work."""
    working = [w for w in state.windows.values() if w.state in _WORKING]
    return (sum(queue in w.profile.main for w in working),
            sum(queue in w.profile.side for w in working))


def _line_capacity(state: HallState, ticket: Ticket) -> float:
    """A ticket sent to a window by name waits for that window alone (it comes first)."""
    if ticket.window is not None:
        return 1.0 if state.windows[ticket.window].state in _WORKING else 0.0
    return capacity(*working_windows(state, ticket.queue))


def mean_service(hall: Hall, state: HallState, queue: str, now: float) -> float:
    """Mean seconds of the queue's last RECENT services finished by ``now`` today (from
    start, or from the call when the clerk never pressed start), else the configured
    ``service_minutes``."""
    done = state.service_times.get(queue, [])
    end = bisect.bisect_right(done, (now, math.inf))
    recent = done[max(0, end - RECENT):end]
    if not recent:
        return hall.queues[queue].service_seconds
    return sum(seconds for _, seconds in recent) / len(recent)
