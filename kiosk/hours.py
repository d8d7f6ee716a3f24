"""The hall's opening hours as the kiosk sees them (no Qt here).

The hub refuses ``issue_ticket`` outside the hall's hours (``hall_closed``); the
kiosk shows 已停止取号 instead of letting people tap and fail, and comes back by
itself when the hall opens. The hours are the hall file's (``[hall.hours]``:
``days`` and ``periods`` like "09:00-12:00"), taken from the hub's hall layout
when it carries them, else from the kiosk's config (kiosk/config.py); the clock is
the hub's (its training clock when it runs one), so kiosk and hub agree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
DAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_PERIOD = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")


class HoursError(ValueError):
    """Opening hours that cannot be used; ``str()`` says which part and why."""


@dataclass(frozen=True)
class OpeningHours:
    days: tuple[int, ...]                     # 0 = Monday
    periods: tuple[tuple[int, int], ...]      # minutes from midnight, [start, end)

    @classmethod
    def parse(cls, raw: Any, where: str = "hours") -> OpeningHours:
        """From ``{"days": ["mon", …], "periods": ["09:00-12:00", …]}``."""
        if not isinstance(raw, dict):
            raise HoursError(f"{where}: expected a table with days and periods")
        days, periods = raw.get("days"), raw.get("periods")
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            raise HoursError(f"{where}.days: expected a list of {', '.join(DAYS)}, "
                             f"got {days!r}")
        if not isinstance(periods, list) or not periods:
            raise HoursError(f"{where}.periods: expected a list like [\"09:00-12:00\"]")
        spans = []
        for i, period in enumerate(periods):
            match = _PERIOD.match(period) if isinstance(period, str) else None
            if not match:
                raise HoursError(f"{where}.periods[{i}]: {period!r} is not HH:MM-HH:MM")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            if h2 * 60 + m2 <= h1 * 60 + m1:
                raise HoursError(f"{where}.periods[{i}]: {period!r} ends before it starts")
            spans.append((h1 * 60 + m1, h2 * 60 + m2))
        return cls(tuple(sorted({DAYS.index(d) for d in days})), tuple(sorted(spans)))

    def open_at(self, local: datetime) -> bool:
        minute = local.hour * 60 + local.minute
        return local.weekday() in self.days and any(a <= minute < b for a, b in self.periods)

    def text(self, sep: str = " ") -> tuple[str, str]:
        """("周一至周五 09:00–12:00, 13:00–17:00", "Mon–Fri 09:00–12:00, 13:00–17:00"),
        days and times joined by ``sep``; no days when the hall opens every day."""
        spans = ", ".join(f"{_hhmm(a)}–{_hhmm(b)}" for a, b in self.periods)
        if len(self.days) == 7:
            return spans, spans
        zh, en = _day_ranges(self.days)
        return f"{zh}{sep}{spans}", f"{en}{sep}{spans}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _day_ranges(days: tuple[int, ...]) -> tuple[str, str]:
    """Runs of consecutive days: (0,1,2,3,4) → 周一至周五 / Mon–Fri; (0,2) → 周一、周三."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    zh = "、".join(DAYS_ZH[r[0]] if len(r) == 1 else f"{DAYS_ZH[r[0]]}至{DAYS_ZH[r[-1]]}"
                  for r in runs)
    en = ", ".join(DAYS_EN[r[0]] if len(r) == 1 else f"{DAYS_EN[r[0]]}–{DAYS_EN[r[-1]]}"
                   for r in runs)
    return zh, en
