"""The dispatch console's floor measures: pure reads of the hall, the state, a short
history of the day and the time passed in (no I/O).

``FloorHistory`` is a fold over the day's events: after each one it notes, from the
state just after it, every window whose "open" (idle, calling or serving: a paused or
closed window is not open for work) or "busy" (holding a ticket) changed, and every
queue whose waiting count changed. The hub feeds it every event it applies (also the
day's events again when it rebuilds its state from the store), so it survives a restart.

``floor(hall, state, now, history)`` answers the console's ``floor`` query:

* per window, its utilisation over the last hour: the seconds it held a ticket in the
  last 60 minutes ÷ the seconds it was open in them (None when it was never open);
* per zone, the hot/cold measure: the spread of those utilisations across the zone's
  windows that were open in the hour (population standard deviation, max − min), with
  the hottest and the coldest window;
* per queue, the tickets waiting, the longest wait so far, the expected wait of a ticket
  taken now (core/estimate.py) and its waiting count every 30 s over the last 30 min.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

from ..hall import Hall
from . import estimate
from . import events as ev
from .state import HallState, WindowState

HOUR_S = 3600.0
TREND_S = 1800.0           # the trend covers the last 30 minutes
TREND_STEP_S = 30.0        # ... one sample every 30 s
_OPEN = (WindowState.IDLE, WindowState.CALLING, WindowState.SERVING)


@dataclass
class FloorHistory:
    """Per window (at, open, busy) and per queue (at, waiting) transitions of today,
    oldest first; older than an hour they are dropped (the last one kept as the start)."""

    windows: dict[str, list[tuple[float, bool, bool]]] = field(default_factory=dict)
    queues: dict[str, list[tuple[float, int]]] = field(default_factory=dict)
    last_seq: int = 0

    def note(self, seq: int, event: ev.Event, state: HallState) -> None:
        """Fold one event, with ``state`` as it is just after it."""
        if seq <= self.last_seq or isinstance(event, ev.DayOpened):
            self.windows, self.queues = {}, {}     # a rebuild replays the day, or a new day
        self.last_seq = seq
        at = event.at
        windows, queues = _touched(event, state)
        for wid in windows:
            w = state.windows[wid]
            mark = (w.state in _OPEN, w.ticket is not None)
            line = self.windows.setdefault(wid, [])
            if not line or line[-1][1:] != mark:
                line.append((at, *mark))
                _prune(line, at)
        for qid in queues:
            waiting = len(state.queue_lines.get(qid, ()))
            line_q = self.queues.setdefault(qid, [])
            if not line_q or line_q[-1][1] != waiting:
                line_q.append((at, waiting))
                _prune(line_q, at)


_WINDOW_FIELDS = ("window", "from_window", "to_window")
_QUEUE_FIELDS = ("queue", "from_queue", "to_queue")


def _touched(event: ev.Event, state: HallState) -> tuple[list[str], list[str]]:
    """The windows and queues an event can have changed: those it names, and its
    ticket's queue; every one for the day's opening and closing. (A window's state
    changes only by events naming it, a line's length only by events naming its
    queue or one of its tickets.) Keeps the fold's cost per event independent of
    the hall's size."""
    if isinstance(event, ev.DayOpened | ev.DayClosed):
        return list(state.windows), list(state.queue_lines)
    data = vars(event)
    windows = [w for k in _WINDOW_FIELDS if (w := data.get(k)) in state.windows]
    queues = {q for k in _QUEUE_FIELDS if isinstance(q := data.get(k), str)}
    ticket = state.tickets.get(data.get("ticket") or "")
    if ticket is not None:
        queues.add(ticket.queue)
    return windows, sorted(queues)


def _prune(line: list[Any], at: float) -> None:
    """Drop what ended more than an hour before ``at`` (every 64 entries, cheaply)."""
    if len(line) % 64:
        return
    keep = bisect.bisect_left(line, at - HOUR_S, key=lambda t: t[0])
    del line[:max(0, keep - 1)]


def utilisation(line: list[tuple[float, bool, bool]], now: float,
                horizon: float = HOUR_S) -> tuple[float, float]:
    """(seconds open, seconds busy) of one window in [now − horizon, now]."""
    start = now - horizon
    open_s = busy_s = 0.0
    for i, (at, is_open, busy) in enumerate(line):
        end = line[i + 1][0] if i + 1 < len(line) else now
        span = min(end, now) - max(at, start)
        if span <= 0:
            continue
        open_s += span if is_open else 0.0
        busy_s += span if busy else 0.0
    return open_s, busy_s


def trend(line: list[tuple[float, int]], now: float, span: float = TREND_S,
          step: float = TREND_S / 60) -> list[int]:
    """The waiting count at now − span + step, …, now (61 samples for 30 min at 30 s);
    0 before the first note."""
    times = [t for t, _ in line]
    out = []
    for k in range(int(span // step), -1, -1):
        i = bisect.bisect_right(times, now - k * step) - 1
        out.append(line[i][1] if i >= 0 else 0)
    return out


def zone_spread(utils: dict[str, float]) -> dict[str, Any]:
    """The hot/cold measure of one zone from its open windows' utilisations."""
    if not utils:
        return {"windows": 0, "mean": None, "stdev": None, "spread": None,
                "hottest": None, "coldest": None}
    values = list(utils.values())
    mean = sum(values) / len(values)
    stdev = math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))
    hottest = max(sorted(utils), key=lambda w: utils[w])
    coldest = min(sorted(utils), key=lambda w: utils[w])
    return {"windows": len(values), "mean": round(mean, 4), "stdev": round(stdev, 4),
            "spread": round(utils[hottest] - utils[coldest], 4),
            "hottest": hottest, "coldest": coldest}


def floor(hall: Hall, state: HallState, now: float,
          history: FloorHistory | None = None) -> dict[str, Any]:
    """The console's floor: windows' utilisation, zones' hot/cold, queues' waits."""
    history = history or FloorHistory()
    windows: dict[str, dict[str, Any]] = {}
    by_zone: dict[str, dict[str, float]] = {z: {} for z in hall.zones}
    for wid in state.windows:
        open_s, busy_s = utilisation(history.windows.get(wid, []), now)
        util = round(busy_s / open_s, 4) if open_s > 0 else None
        windows[wid] = {"utilisation": util, "open_s": round(open_s, 1),
                        "busy_s": round(busy_s, 1)}
        zone = hall.windows[wid].zone if wid in hall.windows else None
        if util is not None and zone in by_zone:
            by_zone[zone][wid] = util
    status = estimate.queue_status(hall, state, now)
    queues = {}
    for qid in hall.queues:
        waiting = state.waiting_in(qid) if qid in state.queue_lines else []
        longest = max((now - t.issued_at for t in waiting), default=None)
        queues[qid] = {"waiting": len(waiting),
                       "longest_wait_s": round(longest, 1) if longest is not None else None,
                       "expected_wait_s": status[qid]["expected_wait_s"],
                       "trend": trend(history.queues.get(qid, []), now)}
    return {"at": now, "horizon_s": HOUR_S, "trend_step_s": TREND_STEP_S,
            "windows": windows, "zones": {z: zone_spread(u) for z, u in by_zone.items()},
            "queues": queues}
