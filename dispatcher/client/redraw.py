"""Redraw a device once per burst of events, not once per event.

One command's events reach a bridge as a burst of frames (``call_next`` that
finishes the current ticket: ``service_finished`` then ``ticket_called``). Drawing
after each frame shows the state between them for a moment — the LED strip's idle
text, the keypad's blank number — a flicker over every window at every call. The
bridges mark what changed and draw it once the frames stop for ``settle_s`` (they
arrive within a millisecond of each other), or after ``max_s`` at the latest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
SETTLE_S = 0.05
MAX_S = 0.3


class Redraw(Generic[K]):
    """``mark(key)`` as events arrive; ``draw(key, force)`` runs once per key after the
    burst (``force``: a snapshot asked to redraw even an unchanged key)."""

    def __init__(self, draw: Callable[[K, bool], None], *, settle_s: float = SETTLE_S,
                 max_s: float = MAX_S) -> None:
        self.draw, self.settle_s, self.max_s = draw, settle_s, max_s
        self.dirty: dict[K, bool] = {}          # key -> forced
        self._timer: asyncio.TimerHandle | None = None
        self._first = 0.0                       # when the oldest undrawn mark came

    def mark(self, key: K, force: bool = False) -> None:
        loop = asyncio.get_running_loop()
        if not self.dirty:
            self._first = loop.time()
        self.dirty[key] = self.dirty.get(key, False) or force
        if self._timer is not None:
            self._timer.cancel()
        wait = min(self.settle_s, max(0.0, self._first + self.max_s - loop.time()))
        self._timer = loop.call_later(wait, self.flush)

    def flush(self) -> None:
        """Draw every marked key now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        dirty, self.dirty = self.dirty, {}
        for key, force in dirty.items():
            self.draw(key, force)

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.dirty.clear()
