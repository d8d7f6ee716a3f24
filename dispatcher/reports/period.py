"""The report's period: the business days from..to, cut into buckets by day, week or month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

BY = ("day", "week", "month")


@dataclass(frozen=True)
class Period:
    start: date
    end: date           # included
    by: str = "month"

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def bucket(self, day: date) -> str:
        return bucket_of(day, self.by)

    def buckets(self) -> list[str]:
        return list(dict.fromkeys(self.bucket(d) for d in self.days()))

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} – {self.end.isoformat()}"


def bucket_of(day: date, by: str) -> str:
    """"2026-11-23" by day, "2026-W48" (ISO week) by week, "2026-11" by month."""
    if by == "day":
        return day.isoformat()
    if by == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def midnight(day: date, timezone: str) -> float:
    """Epoch seconds of the local midnight that begins ``day``."""
    return datetime.combine(day, datetime.min.time(), ZoneInfo(timezone)).timestamp()
