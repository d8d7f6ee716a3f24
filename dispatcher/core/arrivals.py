"""Today's tickets in issue order, by (queue, zone, class): an index derived from the
state's tickets, so the replay's arrival rates (core/replay.py) count the last hour's
tickets by bisection instead of walking them (20,000 at the biggest hall's peak).

Not part of the state's value (no field, no snapshot, no equality): the state builds
it when first asked (``HallState.arrivals``), keeps it up to date as tickets are
issued or move to another queue, and builds it afresh whenever it no longer matches
its tickets (another day, a state decoded from a snapshot).
"""

from __future__ import annotations

import bisect
import math
import operator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .state import Ticket

Key = tuple[str, "str | None", str]   # (queue, zone, class)
_KEY = operator.attrgetter("queue", "zone", "ticket_class")
_ISSUED = operator.attrgetter("issued_at")


class Arrivals:
    def __init__(self, tickets: dict[str, Ticket]) -> None:
        self.tickets = tickets                  # the dict it indexes
        self.issued: list[float] = []           # issued_at, in issue order
        self.ordered = True                     # ... and never decreasing
        self.latest = -math.inf                 # ... the latest of them
        # the positions issued before every ticket after them (a clock set back leaves
        # some behind), and their times, increasing: the walk back from the newest
        # ticket stops at the last of them issued before its bound
        self.lows: list[int] = []
        self.low_times: list[float] = []
        self.positions: dict[Key, list[int]] = {}     # key -> positions, ascending
        # one int object a position for both lists (20,000 of 32 bytes each)
        order = list(range(len(tickets)))
        for at, key in zip(order, map(_KEY, tickets.values()), strict=True):   # ~20 ms
            line = self.positions.get(key)
            if line is None:
                self.positions[key] = [at]
            else:
                line.append(at)
        for at, issued in zip(order, map(_ISSUED, tickets.values()), strict=True):
            self._note(issued, at)

    def matches(self, tickets: dict[str, Ticket]) -> bool:
        return tickets is self.tickets and len(self.issued) == len(tickets)

    def add(self, ticket: Ticket) -> None:
        """A ticket issued (the newest)."""
        at = len(self.issued)
        self.positions.setdefault(_KEY(ticket), []).append(at)
        self._note(ticket.issued_at, at)

    def _note(self, issued: float, at: int) -> None:
        """The ticket at position ``at`` (the next) issued at ``issued``."""
        if issued < self.latest:
            self.ordered = False
        else:
            self.latest = issued
        low_times = self.low_times
        while low_times and low_times[-1] >= issued:
            self.lows.pop()
            low_times.pop()
        self.lows.append(at)
        low_times.append(issued)
        self.issued.append(issued)

    def moved(self, ticket: Ticket, queue: str) -> None:
        """A ticket now in another queue than ``queue`` (transferred; rare enough to
        look for its place in issue order)."""
        old, key = (queue, ticket.zone, ticket.ticket_class), _KEY(ticket)
        if key == old:
            return
        at = list(self.tickets).index(ticket.id)
        line = self.positions[old]
        line.pop(bisect.bisect_left(line, at))
        bisect.insort(self.positions.setdefault(key, []), at)

    def since(self, since: float, now: float) -> dict[Key, int] | None:
        """Tickets per key issued by ``now``, of the newest back to the first issued
        before ``since``; None when some of those were issued after ``now`` while
        issue times went back today (the caller walks the tickets)."""
        low = bisect.bisect_left(self.low_times, since)
        lo = self.lows[low - 1] + 1 if low else 0
        if self.ordered:
            hi = max(lo, bisect.bisect_right(self.issued, now))
        elif self.latest <= now:
            hi = len(self.issued)
        else:
            return None
        counts = {}
        for key, line in self.positions.items():
            n = bisect.bisect_left(line, hi) - bisect.bisect_left(line, lo)
            if n:
                counts[key] = n
        return counts
