"""Which ticket a window calls next.

1. A ticket transferred to this window by name (its own line), oldest place first.
2. With ``side_when_overdue``: the side ticket furthest past its queue's overdue
   threshold, if it is further past its threshold than the main work's head is.
3. Main work (主业): the smallest place ``(virtual_at, serial)`` over all main queues.
4. Side work (副业): the smallest place over all side queues.

The place is the issue time minus the class credit, so tickets of one class are
strictly first come, first served, and a later ticket can overtake a normal one
only if it was issued less than the largest class credit after it.
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


def heads(state: HallState, queues: tuple[str, ...]) -> list[Ticket]:
    return [t for q in queues if (t := state.head(state.queue_lines[q])) is not None]


def choose_next(hall: Hall, state: HallState, window: str, now: float) -> Choice | None:
    direct = state.head(state.window_lines[window])
    if direct is not None:
        return Choice(direct, "direct")
    profile = state.windows[window].profile
    main = min(heads(state, profile.main), key=lambda t: t.place, default=None)
    side_heads = heads(state, profile.side)
    if profile.side_when_overdue and side_heads:
        worst = max(side_heads, key=lambda t: overdue_ratio(hall, t, now))
        bar = max(1.0, overdue_ratio(hall, main, now) if main else 0.0)
        if overdue_ratio(hall, worst, now) > bar:
            return Choice(worst, "overdue_side")
    if main is not None:
        return Choice(main, "main")
    side = min(side_heads, key=lambda t: t.place, default=None)
    return Choice(side, "side") if side is not None else None
