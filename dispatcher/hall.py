"""The hall's configuration: zones, queues, profiles and windows, loaded from TOML.

Loading is two steps: pydantic checks the shape of the file (types, unknown keys),
then `_build` checks the cross-references (a profile naming an unknown queue, a
window defined twice, two queues with one prefix) and builds the frozen `Hall`
the dispatch core reads. Every problem is a `HallConfigError` whose text is one
line: ``file: key: reason``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLE_HALL = ASSETS / "halls" / "sample.toml"

QueueKind = Literal["big_loop", "unit", "line"]
TICKET_CLASSES = ("normal", "appointment", "green")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
_PERIOD = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
_ID = r"^[A-Za-z][A-Za-z0-9_-]*$"


class HallConfigError(ValueError):
    """A hall file that cannot be used. ``str()`` is one line: file: key: reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"{file}: {key}: {reason}")


# ---------------------------------------------------------------- file shape


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HoursFile(_Model):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    periods: list[str] = Field(min_length=1)


class HallSection(_Model):
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    day_reset: str = Field("03:00", pattern=_HHMM)
    hours: HoursFile


class ZoneFile(_Model):
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    kiosks: list[str] = []


class QueueFile(_Model):
    name: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    kind: QueueKind
    zones: list[str] = Field(min_length=1)
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$")
    overdue_minutes: float = Field(gt=0)
    service_minutes: float = Field(gt=0)
    requeue_after: int | None = Field(None, ge=0)


class ProfileFile(_Model):
    main: list[str] = Field(min_length=1)
    side: list[str] = []
    side_when_overdue: bool = False


class WindowGroupFile(_Model):
    ids: str = Field(pattern=r"^[A-Z]+\d+(-[A-Z]+\d+)?$")
    name: str = Field(min_length=1)
    name_en: str = Field("Window {id}", min_length=1)
    zone: str
    profile: str


class ClassesFile(_Model):
    appointment_credit_minutes: float = Field(10, ge=0)
    green_credit_minutes: float = Field(30, ge=0)


class RulesFile(_Model):
    requeue_after: int = Field(3, ge=0)
    max_requeues: int = Field(2, ge=0)
    call_next_finishes_current: bool = True


class HallFile(_Model):
    hall: HallSection
    zones: dict[str, ZoneFile] = Field(min_length=1)
    queues: dict[str, QueueFile] = Field(min_length=1)
    profiles: dict[str, ProfileFile] = Field(min_length=1)
    windows: list[WindowGroupFile] = Field(min_length=1)
    classes: ClassesFile = ClassesFile()
    rules: RulesFile = RulesFile()


# ------------------------------------------------------------ runtime model


@dataclass(frozen=True)
class Zone:
    id: str
    name: str
    name_en: str
    kiosks: tuple[str, ...]


@dataclass(frozen=True)
class Queue:
    id: str
    name: str
    name_en: str
    kind: QueueKind
    zones: tuple[str, ...]
    prefix: str
    overdue_seconds: float
    service_seconds: float
    requeue_after: int


@dataclass(frozen=True)
class Profile:
    """What a window serves: main work (主业) first, side work (副业) when main is empty.

    With ``side_when_overdue`` a side queue whose oldest ticket is further past its
    overdue threshold than the main work is taken first.
    """

    main: tuple[str, ...]
    side: tuple[str, ...] = ()
    side_when_overdue: bool = False

    @property
    def queues(self) -> tuple[str, ...]:
        return self.main + self.side


@dataclass(frozen=True)
class Window:
    id: str
    name: str
    name_en: str
    zone: str
    profile_name: str
    profile: Profile


@dataclass(frozen=True)
class Hours:
    days: tuple[str, ...]
    periods: tuple[tuple[int, int], ...]  # minutes after midnight, [start, end)

    def open_at(self, local: datetime) -> bool:
        if WEEKDAYS[local.weekday()] not in self.days:
            return False
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in self.periods)


@dataclass(frozen=True)
class Hall:
    source: str
    name: str
    name_en: str
    timezone: str
    day_reset_minutes: int
    hours: Hours
    zones: dict[str, Zone]
    queues: dict[str, Queue]
    profiles: dict[str, Profile]
    windows: dict[str, Window]
    credits: dict[str, float]  # seconds subtracted from the issue time, per class
    max_requeues: int
    call_next_finishes_current: bool

    @property
    def max_credit(self) -> float:
        return max(self.credits.values())

    def local_time(self, now: float) -> datetime:
        return datetime.fromtimestamp(now, ZoneInfo(self.timezone))

    def business_day(self, now: float) -> str:
        """The day a moment belongs to: the local date, shifted by the reset time."""
        shifted = self.local_time(now) - timedelta(minutes=self.day_reset_minutes)
        return shifted.date().isoformat()

    def is_open(self, now: float) -> bool:
        return self.hours.open_at(self.local_time(now))

    def queue_by_prefix(self, prefix: str) -> Queue | None:
        return next((q for q in self.queues.values() if q.prefix == prefix), None)


# ------------------------------------------------------------------ loading


def load_hall(path: str | Path) -> Hall:
    """Read, validate and build a hall file; raise HallConfigError on any problem."""
    path = Path(path)
    name = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HallConfigError(name, "-", "file not found") from None
    except UnicodeDecodeError as exc:
        raise HallConfigError(name, "-", f"not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise HallConfigError(name, "-", f"not valid TOML: {exc}") from None
    return parse_hall(raw, name)


def parse_hall(raw: dict, source: str = "<hall>") -> Hall:
    try:
        model = HallFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise HallConfigError(source, _key(err["loc"]), _reason(err)) from None
    return _build(model, source)


def _key(loc: tuple) -> str:
    key = ""
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key or "-"


def _reason(err: dict) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    if err["type"] == "missing":
        return "required key is missing"
    if err["type"] == "string_pattern_mismatch":
        return f"{err['input']!r} has the wrong format"
    return err["msg"].removeprefix("Value error, ")


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _expand_ids(spec: str) -> list[str]:
    """'B01-B16' -> ['B01', ..., 'B16']; 'B37' -> ['B37']."""
    first, _, last = spec.partition("-")
    if not last:
        return [first]
    m1 = re.fullmatch(r"([A-Z]+)(\d+)", first)
    m2 = re.fullmatch(r"([A-Z]+)(\d+)", last)
    assert m1 and m2  # guaranteed by the pattern on WindowGroupFile.ids
    if m1[1] != m2[1] or int(m2[2]) < int(m1[2]):
        raise ValueError(f"{spec!r} is not a rising range with one letter prefix")
    width = len(m1[2])
    return [f"{m1[1]}{n:0{width}d}" for n in range(int(m1[2]), int(m2[2]) + 1)]


class _Checker:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, reason: str) -> NoReturn:
        raise HallConfigError(self.source, key, reason)


def _build(f: HallFile, source: str) -> Hall:
    check = _Checker(source)
    _check_hall_section(f.hall, check)
    zones = _build_zones(f, check)
    queues = _build_queues(f, check)
    profiles = _build_profiles(f, queues, check)
    windows = _build_windows(f, zones, queues, profiles, check)
    periods = tuple((_minutes(p[:5]), _minutes(p[6:])) for p in f.hall.hours.periods)
    return Hall(
        source=source,
        name=f.hall.name,
        name_en=f.hall.name_en,
        timezone=f.hall.timezone,
        day_reset_minutes=_minutes(f.hall.day_reset),
        hours=Hours(tuple(f.hall.hours.days), periods),
        zones=zones,
        queues=queues,
        profiles=profiles,
        windows=windows,
        credits={
            "normal": 0.0,
            "appointment": f.classes.appointment_credit_minutes * 60,
            "green": f.classes.green_credit_minutes * 60,
        },
        max_requeues=f.rules.max_requeues,
        call_next_finishes_current=f.rules.call_next_finishes_current,
    )


def _check_hall_section(h: HallSection, check: _Checker) -> None:
    try:
        ZoneInfo(h.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        check.fail("hall.timezone", f"unknown time zone {h.timezone!r}")
    for i, period in enumerate(h.hours.periods):
        key = f"hall.hours.periods[{i}]"
        if not re.fullmatch(_PERIOD, period):
            check.fail(key, f"{period!r} is not HH:MM-HH:MM")
        if _minutes(period[:5]) >= _minutes(period[6:]):
            check.fail(key, f"{period!r} ends before it starts")


def _build_zones(f: HallFile, check: _Checker) -> dict[str, Zone]:
    seen: dict[str, str] = {}
    zones = {}
    for zid, z in f.zones.items():
        if not re.fullmatch(_ID, zid):
            check.fail(f"zones.{zid}", "a zone id is letters, digits, '_' or '-'")
        for i, kiosk in enumerate(z.kiosks):
            if kiosk in seen:
                check.fail(f"zones.{zid}.kiosks[{i}]", f"kiosk {kiosk} is already in zone {seen[kiosk]}")
            seen[kiosk] = zid
        zones[zid] = Zone(zid, z.name, z.name_en, tuple(z.kiosks))
    return zones


def _build_queues(f: HallFile, check: _Checker) -> dict[str, Queue]:
    prefixes: dict[str, str] = {}
    queues = {}
    for qid, q in f.queues.items():
        key = f"queues.{qid}"
        if not re.fullmatch(_ID, qid):
            check.fail(key, "a queue id is letters, digits, '_' or '-'")
        for i, zone in enumerate(q.zones):
            if zone not in f.zones:
                check.fail(f"{key}.zones[{i}]", f"unknown zone {zone!r}")
        clash = next((p for p in prefixes if p.startswith(q.prefix) or q.prefix.startswith(p)), None)
        if clash is not None:
            check.fail(f"{key}.prefix", f"prefix {q.prefix!r} clashes with {clash!r} of queue {prefixes[clash]}")
        prefixes[q.prefix] = qid
        requeue_after = q.requeue_after if q.requeue_after is not None else f.rules.requeue_after
        queues[qid] = Queue(
            qid, q.name, q.name_en, q.kind, tuple(q.zones), q.prefix,
            q.overdue_minutes * 60, q.service_minutes * 60, requeue_after,
        )
    return queues


def _check_profile_queues(
    key: str, main: list[str], side: list[str], queues: dict[str, Queue], check: _Checker
) -> None:
    for part, names in (("main", main), ("side", side)):
        for i, qid in enumerate(names):
            if qid not in queues:
                check.fail(f"{key}.{part}[{i}]", f"unknown queue {qid!r}")
            if names.index(qid) != i:
                check.fail(f"{key}.{part}[{i}]", f"queue {qid!r} is listed twice")
    for i, qid in enumerate(side):
        if qid in main:
            check.fail(f"{key}.side[{i}]", f"queue {qid!r} is already main work")


def _build_profiles(f: HallFile, queues: dict[str, Queue], check: _Checker) -> dict[str, Profile]:
    profiles = {}
    for pid, p in f.profiles.items():
        _check_profile_queues(f"profiles.{pid}", p.main, p.side, queues, check)
        profiles[pid] = Profile(tuple(p.main), tuple(p.side), p.side_when_overdue)
    return profiles


def _build_windows(
    f: HallFile,
    zones: dict[str, Zone],
    queues: dict[str, Queue],
    profiles: dict[str, Profile],
    check: _Checker,
) -> dict[str, Window]:
    windows: dict[str, Window] = {}
    defined_in: dict[str, int] = {}
    for g, group in enumerate(f.windows):
        key = f"windows[{g}]"
        if group.zone not in zones:
            check.fail(f"{key}.zone", f"unknown zone {group.zone!r}")
        if group.profile not in profiles:
            check.fail(f"{key}.profile", f"unknown profile {group.profile!r}")
        profile = profiles[group.profile]
        for qid in profile.queues:
            if group.zone not in queues[qid].zones:
                check.fail(f"{key}.profile", f"profile {group.profile!r} has queue {qid!r}, "
                           f"which is not offered in zone {group.zone}")
        try:
            ids = _expand_ids(group.ids)
        except ValueError as exc:
            check.fail(f"{key}.ids", str(exc))
        for wid in ids:
            if wid in defined_in:
                check.fail(f"{key}.ids", f"window {wid} is already defined in windows[{defined_in[wid]}]")
            defined_in[wid] = g
            name, name_en = (t.replace("{id}", wid) for t in (group.name, group.name_en))
            windows[wid] = Window(wid, name, name_en, group.zone, group.profile, profile)
    _check_every_queue_served(queues, windows, check)
    return windows


def _check_every_queue_served(
    queues: dict[str, Queue], windows: dict[str, Window], check: _Checker
) -> None:
    # A queue that is no window's main work could wait for ever: refuse it at load.
    served = {qid for w in windows.values() for qid in w.profile.main}
    for qid in queues:
        if qid not in served:
            check.fail(f"queues.{qid}", "no window has this queue as main work (主业)")


def check_profile(hall: Hall, window: str, main: list[str], side: list[str]) -> None:
    """Validate a profile given at run time (the console's set_profile) for a window."""
    check = _Checker("set_profile")
    _check_profile_queues("profile", main, side, hall.queues, check)
    zone = hall.windows[window].zone
    for qid in main + side:
        if zone not in hall.queues[qid].zones:
            check.fail("profile", f"queue {qid!r} is not offered in zone {zone}")
