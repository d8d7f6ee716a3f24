"""Which ticket a window calls next.

1. A ticket transferred to this window by name (its own line), oldest place first.
2. With ``side_when_overdue``: the side ticket furthest past its queue's overdue
   threshold, if it is further past its threshold than the main work's head is.
3. Main work (主业): the smallest place ``(virtual_at, serial)`` over all main queues.
4. Side work (副业): the smallest place over all side queues.

The place is the issue time minus the class credit, so tickets of one class are
strictly first come, first served, and a later ticket can overtake a normal one
only if it was issued less than the largest class credit after it.

Zones: a window calls from a queue's line only the tickets taken in its own zone
(``callable_by``), unless the queue is ``cross_zone`` in the hall file; so the head
of a line for a window is the first such ticket, and the order above holds within
each zone's part of the line.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..hall import Hall
from .state import HallState, Ticket


@dataclass(frozen=True)
class Choice:
    ticket: Ticket
    tier: str  # direct | overdue_side | main | side


def overdue_ratio(hall: Hall, ticket: Ticket, now: float) -> float:
    """How far a ticket has waited, as a share of its queue's overdue threshold."""
    return (now - ticket.issued_at) / hall.queues[ticket.queue].overdue_seconds


def callable_by(hall: Hall, ticket: Ticket, zone: str | None) -> bool:
    """May a window of ``zone`` call this ticket from its queue's line? Yes when the
    ticket was taken in that zone, when its queue is ``cross_zone``, or when the ticket
    has no zone of its queue's: issued at the console or before tickets kept their
    zone (None), or transferred into a queue its zone does not offer."""
    if zone is None or ticket.zone is None or ticket.zone == zone:
        return True
    queue = hall.queues[ticket.queue]
    return queue.cross_zone or ticket.zone not in queue.zones


def head_for(hall: Hall, state: HallState, queue: str, zone: str | None) -> Ticket | None:
    """The first ticket of the queue's line that a window of ``zone`` may call."""
    tickets = state.tickets
    for _, _, tid in state.queue_lines[queue]:
        ticket = tickets[tid]
        if callable_by(hall, ticket, zone):
            return ticket
    return None


def heads(state: HallState, queues: tuple[str, ...], hall: Hall | None = None,
          zone: str | None = None) -> list[Ticket]:
    """The heads of the lines, for a window of ``zone`` (None: of the whole lines)."""
    if hall is None or zone is None:
        return [t for q in queues if (t := state.head(state.queue_lines[q])) is not None]
    return [t for q in queues if (t := head_for(hall, state, q, zone)) is not None]


def window_zone(hall: Hall, window: str) -> str | None:
    found = hall.windows.get(window)
    return found.zone if found is not None else None


def choose_next(hall: Hall, state: HallState, window: str, now: float) -> Choice | None:
    direct = state.head(state.window_lines[window])
    if direct is not None:
        return Choice(direct, "direct")
    profile = state.windows[window].profile
    zone = window_zone(hall, window)
    main = min(heads(state, profile.main, hall, zone), key=lambda t: t.place, default=None)
    side_heads = heads(state, profile.side, hall, zone)
    if profile.side_when_overdue and side_heads:
        worst = max(side_heads, key=lambda t: overdue_ratio(hall, t, now))
        bar = max(1.0, overdue_ratio(hall, main, now) if main else 0.0)
        if overdue_ratio(hall, worst, now) > bar:
            return Choice(worst, "overdue_side")
    if main is not None:
        return Choice(main, "main")
    side = min(side_heads, key=lambda t: t.place, default=None)
    return Choice(side, "side") if side is not None else None
