"""The supervision view: each hall's live figures, from the central store.

Each hall's events of its current business day (from its last ``day_opened``) are
replayed through the pure core (``Dispatcher.replay``); the replay is kept and only
the events shipped since are applied on the next refresh (a ``day_opened`` among them
rolls the state over, as in the hall). So the centre shows what the hall showed when
its last shipped event happened, and says how far behind that is.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..core.dispatcher import Dispatcher
from ..core.events import event_from_dict
from ..core.state import HallState, TicketState, WindowState
from ..hall import Hall

_HALLS = ("SELECT id, shipped_seq, shipped_recorded_at, head_seq, head_recorded_at, "
          "extract(epoch FROM seen_at) FROM {s}.halls ORDER BY id")
_DAY_START = ("SELECT max(seq) FROM {s}.events WHERE hall = %s AND name = 'day_opened'")
_SINCE = "SELECT seq, data FROM {s}.events WHERE hall = %s AND seq > %s ORDER BY seq"


@dataclass
class _Replayed:
    core: Dispatcher
    seq: int = 0           # the last seq applied
    at: float | None = None  # its time (the hall's clock)


class Supervision:
    """Keeps one replay per hall; ``refresh`` reads what was shipped since."""

    def __init__(self, engine: sa.Engine, schema: str, halls: dict[str, Hall],
                 default: Hall) -> None:
        self.engine, self.schema = engine, schema
        self.configs, self.default = halls, default
        self.replays: dict[str, _Replayed] = {}

    def refresh(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        s = self.schema
        with self.engine.connect() as conn:
            rows = conn.exec_driver_sql(_HALLS.format(s=s)).all()
            views = {r[0]: self._hall_view(conn, *r, now=now) for r in rows}
        return {"generated_at": now, "halls": views}

    def _replay(self, conn: sa.Connection, hall: str) -> _Replayed:
        known = self.replays.get(hall)
        config = self.configs.get(hall, self.default)
        if known is None:
            start = conn.exec_driver_sql(_DAY_START.format(s=self.schema), (hall,)).scalar()
            known = _Replayed(Dispatcher(config), 0 if start is None else start - 1)
            self.replays[hall] = known
        for seq, data in conn.exec_driver_sql(_SINCE.format(s=self.schema),
                                              (hall, known.seq)):
            event = event_from_dict(json.loads(data))
            known.core.apply(event)
            known.seq, known.at = seq, event.at
        return known

    def _hall_view(self, conn: sa.Connection, hall: str, shipped: int,
                   shipped_rec: float | None, head: int, head_rec: float | None,
                   seen: float | None, *, now: float) -> dict[str, Any]:
        replayed = self._replay(conn, hall)
        config = self.configs.get(hall, self.default)
        behind_s = 0.0
        if head > shipped and head_rec is not None and shipped_rec is not None:
            behind_s = max(0.0, head_rec - shipped_rec)
        return {
            "name": config.name, "name_en": config.name_en, "timezone": config.timezone,
            **figures(replayed.core.state, replayed.at),
            "shipping": {"shipped_seq": shipped, "hall_seq": head,
                         "behind_events": max(0, head - shipped),
                         "behind_seconds": round(behind_s, 1),
                         "last_contact_seconds": None if seen is None
                         else round(max(0.0, now - float(seen)), 1)},
        }


def figures(state: HallState, asof: float | None) -> dict[str, Any]:
    """Counts, waits, open windows and alerts of one hall's replayed state, as of the
    hall's last shipped event."""
    tickets = state.tickets.values()
    waiting = [t for t in tickets if t.state is TicketState.WAITING]
    called = [t.called_at - t.issued_at for t in tickets if t.called_at is not None]
    by_queue: dict[str, int] = {}
    for t in waiting:
        by_queue[t.queue] = by_queue.get(t.queue, 0) + 1
    windows = state.windows.values()
    return {
        "day": state.day, "day_closed": state.day_closed, "asof": asof,
        "issued": len(state.tickets),
        "served": sum(t.state is TicketState.DONE for t in tickets),
        "waiting": len(waiting), "waiting_by_queue": dict(sorted(by_queue.items())),
        "longest_wait_seconds": None if not waiting or asof is None
        else round(max(asof - t.issued_at for t in waiting), 1),
        "mean_wait_seconds": round(statistics.fmean(called), 1) if called else None,
        "windows_open": sum(w.state is not WindowState.CLOSED for w in windows),
        "windows_serving": sum(w.state is WindowState.SERVING for w in windows),
        "windows_total": len(state.windows),
        "alerts": [{"rule": a.rule, "level": a.level, "subject": a.subject,
                    "raised_at": a.raised_at, "acknowledged": a.acknowledged_at is not None}
                   for a in sorted(state.alerts.values(), key=lambda a: a.raised_at)],
    }
