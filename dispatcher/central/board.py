"""The supervision screen's rows, from the view ``onewindow central`` serves (views.py).

Pure: the screen (screen.py) only draws these. Every text is Chinese first, English
second. A hall's shipping is **stale** (drawn red) when the centre has not heard from
its shipper for ``stale_after`` seconds, or the last event it holds is more than
``stale_after`` seconds of the hall's clock behind the hall's newest: its figures are
then old, whatever they say. A few events behind for a moment is normal (a batch in
flight) and drawn amber.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from ..console.model import LEVEL_WORDS, RULE_WORDS
from ..console.model import fmt_duration as duration

LIVE, BEHIND, STALE = "live", "behind", "stale"


@dataclass(frozen=True)
class Alert:
    hall: str
    level: str            # critical / warning
    words: str            # "等候超时 Ticket waiting too long"
    subject: str
    since: str            # hall-local HH:MM
    acknowledged: bool


@dataclass(frozen=True)
class HallRow:
    id: str
    name: str
    name_en: str
    day: str
    issued: int
    served: int
    waiting: int
    waiting_by_queue: dict[str, int]
    longest_wait: str
    mean_wait: str
    windows: str          # "12 / 15 开 open\n9 办理 serving"
    alerts: int
    critical: int
    shipping: str         # LIVE / BEHIND / STALE
    lag: str              # the words of the shipping cell
    asof: str             # hall-local time of the last event the centre holds
    alert_rows: list[Alert] = field(default_factory=list)


def local(at: float | None, timezone: str, seconds: bool = False) -> str:
    if at is None:
        return "—"
    return datetime.fromtimestamp(at, ZoneInfo(timezone)).strftime(
        "%H:%M:%S" if seconds else "%H:%M")


def shipping(ship: dict[str, Any], aged: float, stale_after: float) -> tuple[str, str]:
    """(LIVE / BEHIND / STALE, the words) of a hall's shipping; ``aged``: seconds since
    the view was made, added to its ``last_contact_seconds``."""
    contact = ship.get("last_contact_seconds")
    if contact is None:
        return STALE, "从未上报 never shipped"
    contact += aged
    behind_n, behind_s = ship.get("behind_events", 0), ship.get("behind_seconds", 0.0)
    if contact > stale_after:
        return STALE, f"失联 {duration(contact)} no contact"
    if behind_n and behind_s > stale_after:
        return STALE, f"落后 {behind_n} 件 · {duration(behind_s)} behind"
    if behind_n:
        return BEHIND, f"落后 {behind_n} 件 {behind_n} behind"
    return LIVE, "实时 live"


def hall_row(hall_id: str, h: dict[str, Any], aged: float, stale_after: float) -> HallRow:
    tz = h.get("timezone") or "Asia/Shanghai"
    alerts = [a for a in h.get("alerts", [])]
    state, lag = shipping(h.get("shipping") or {}, aged, stale_after)
    day = h.get("day") or "—"
    return HallRow(
        id=hall_id, name=h.get("name") or hall_id, name_en=h.get("name_en") or "",
        day=f"{day} 已日结 closed" if h.get("day_closed") else day,
        issued=h.get("issued", 0), served=h.get("served", 0), waiting=h.get("waiting", 0),
        waiting_by_queue=dict(h.get("waiting_by_queue") or {}),
        longest_wait=duration(h.get("longest_wait_seconds")),
        mean_wait=duration(h.get("mean_wait_seconds")),
        windows=f"{h.get('windows_open', 0)} / {h.get('windows_total', 0)} 开 open\n"
                f"{h.get('windows_serving', 0)} 办理 serving",
        alerts=len(alerts), critical=sum(a.get("level") == "critical" for a in alerts),
        shipping=state, lag=lag, asof=local(h.get("asof"), tz, seconds=True),
        alert_rows=[_alert(hall_id, a, tz) for a in alerts])


def _alert(hall_id: str, a: dict[str, Any], tz: str) -> Alert:
    zh, en = RULE_WORDS.get(a.get("rule", ""), (a.get("rule", ""), ""))
    return Alert(hall_id, a.get("level", "warning"), f"{zh} {en}".strip(),
                 a.get("subject") or "", local(a.get("raised_at"), tz),
                 bool(a.get("acknowledged")))


def level_words(level: str) -> str:
    zh, en = LEVEL_WORDS.get(level, (level, level))
    return f"{zh} {en}"


def rows(view: dict[str, Any], now: float, stale_after: float) -> list[HallRow]:
    """One row per hall, in hall id order; ``now`` by the centre's clock."""
    aged = max(0.0, now - float(view.get("generated_at") or now))
    return [hall_row(hall_id, h, aged, stale_after)
            for hall_id, h in sorted((view.get("halls") or {}).items())]
