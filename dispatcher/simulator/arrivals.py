"""Arrival files: ``time,zone,queue,class[,service_seconds]``, one row per ticket.

``time`` is a wall-clock time of the simulated day (``09:12:30``), a date and time
(``2026-11-24 09:12:30``: a trace of several days, one simulated day per calendar
day, counted from the file's first date; rows without a date are on that day) or
seconds from the first day's opening (``732.5``; 86,400 and more are later days).
``service_seconds``, when present, is how long the citizen's business takes at the
window (0 allowed: a citizen done at once); otherwise the simulator draws it.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

from ..hall import TICKET_CLASSES, Hall

FIELDS = ("time", "zone", "queue", "class", "service_seconds")


class ArrivalError(ValueError):
    """A row that cannot be used: ``file:line: reason``."""


DAY = 86400.0


@dataclass(frozen=True)
class Arrival:
    at: float                  # seconds after the local midnight of the simulated day
                               # (of a trace's first day: later days are at + k × DAY)
    zone: str
    queue: str
    ticket_class: str = "normal"
    service_seconds: float | None = None


def open_periods(hall: Hall) -> list[tuple[float, float]]:
    """The business day's opening periods as seconds after midnight, [start, end), cut
    to begin at the day's reset time (before it, the clock is still on yesterday)."""
    reset = hall.day_reset_minutes * 60.0
    periods = [(max(start * 60.0, reset), end * 60.0) for start, end in hall.hours.periods]
    return sorted((s, e) for s, e in periods if e > s)


def opening_seconds(hall: Hall) -> float:
    """Seconds after midnight at which the hall first opens."""
    return open_periods(hall)[0][0]


def parse_time(text: str, opening: float) -> float:
    """``HH:MM[:SS]`` as seconds after midnight, or plain seconds after ``opening``."""
    text = text.strip()
    if ":" not in text:
        after = float(text)
        if not 0 <= after < math.inf:
            raise ValueError(f"time {text!r}: seconds from opening must be 0 or more")
        return opening + after
    parts = [float(p) for p in text.split(":")]
    if len(parts) == 2:
        parts.append(0.0)
    if len(parts) != 3:
        raise ValueError(f"{text!r} is not HH:MM:SS")
    hours, minutes, seconds = parts
    if not (0 <= hours < 24 and 0 <= minutes < 60 and 0 <= seconds < 60):
        raise ValueError(f"time {text!r} is not a time of day (00:00:00 to 23:59:59)")
    return hours * 3600 + minutes * 60 + seconds


def format_time(at: float) -> str:
    whole = int(at)
    frac = at - whole
    text = f"{whole // 3600:02d}:{whole // 60 % 60:02d}:{whole % 60:02d}"
    return text + f"{frac:.3f}"[1:] if frac >= 0.0005 else text


def read_arrivals(path: str | Path, hall: Hall) -> list[Arrival]:
    """The arrivals of a CSV file, checked against the hall and sorted by time."""
    return read_trace(path, hall)[1]


def read_trace(path: str | Path, hall: Hall) -> tuple[str | None, list[Arrival]]:
    """``read_arrivals``, and the file's first date (None when no row has one)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ArrivalError(f"{path}: cannot read the arrivals file: {reason}") from None
    return parse_trace(text, hall, str(path))


def parse_arrivals(text: str, hall: Hall, source: str = "<arrivals>") -> list[Arrival]:
    return parse_trace(text, hall, source)[1]


def parse_trace(text: str, hall: Hall,
                source: str = "<arrivals>") -> tuple[str | None, list[Arrival]]:
    """The arrivals and the first date of the rows that carry one (else None): a dated
    row is at its time of day plus a DAY per day after that date."""
    reader = csv.DictReader(io.StringIO(text))
    missing = {"time", "zone", "queue", "class"} - set(reader.fieldnames or ())
    if missing:
        raise ArrivalError(f"{source}:1: missing column(s) {', '.join(sorted(missing))}")
    opening = opening_seconds(hall)
    rows: list[tuple[date | None, Arrival]] = []
    for line, row in enumerate(reader, start=2):
        try:
            rows.append(_arrival(row, hall, opening))
        except (ValueError, TypeError) as exc:
            raise ArrivalError(f"{source}:{line}: {exc}") from None
    first = min((d for d, _ in rows if d is not None), default=None)
    found = [a if d is None or first is None else
             replace(a, at=a.at + (d - first).days * DAY) for d, a in rows]
    return (first.isoformat() if first else None), sorted(found, key=lambda a: a.at)


def split_days(arrivals: list[Arrival]) -> list[tuple[int, list[Arrival]]]:
    """A trace's arrivals per calendar day: (days after the first, that day's arrivals
    with times of that day), the days with arrivals only, in order."""
    days: dict[int, list[Arrival]] = {}
    for a in arrivals:
        k = int(a.at // DAY)
        days.setdefault(k, []).append(replace(a, at=a.at - k * DAY))
    return sorted(days.items())


def _arrival(row: dict, hall: Hall, opening: float) -> tuple[date | None, Arrival]:
    queue, zone = row["queue"].strip(), row["zone"].strip()
    if queue not in hall.queues:
        raise ValueError(f"no queue {queue!r} in the hall")
    if zone not in hall.queues[queue].zones:
        raise ValueError(f"queue {queue} is not offered in zone {zone!r}")
    ticket_class = (row["class"] or "normal").strip()
    if ticket_class not in TICKET_CLASSES:
        raise ValueError(f"no ticket class {ticket_class!r}")
    service = (row.get("service_seconds") or "").strip()
    seconds = float(service) if service else None
    if seconds is not None and not 0 <= seconds < math.inf:
        raise ValueError(f"service_seconds must be 0 or more, got {service}")
    day, clock = _split_date(row["time"])
    return day, Arrival(parse_time(clock, opening), zone, queue, ticket_class, seconds)


def _split_date(text: str) -> tuple[date | None, str]:
    """``2026-11-24 09:12`` or ``2026-11-24T09:12`` -> (the date, ``09:12``)."""
    text = text.strip()
    if len(text) > 10 and text[4] == "-" and text[10] in " T":
        try:
            return date.fromisoformat(text[:10]), text[11:]
        except ValueError:
            raise ValueError(f"{text!r}: {text[:10]!r} is not a date (YYYY-MM-DD)") from None
    return None, text


def write_arrivals(arrivals: Iterable[Arrival], out: io.TextIOBase) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(FIELDS)
    for a in arrivals:
        service = "" if a.service_seconds is None else f"{a.service_seconds:.1f}"
        writer.writerow((format_time(a.at), a.zone, a.queue, a.ticket_class, service))
