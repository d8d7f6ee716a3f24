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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from dataclasses import field as default
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .outcomes import (
    CaseRules,
    CasesFile,
    Outcome,
    OutcomeFile,
    build_cases,
    build_outcomes,
    check_defaults,
    check_required,
    outcomes_layout,
)

ASSETS = Path(__file__).resolve().parent.parent / "assets"
SAMPLE_HALL = ASSETS / "halls" / "sample.toml"

QueueKind = Literal["big_loop", "unit", "line"]
TICKET_CLASSES = ("normal", "appointment", "green")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
_PERIOD = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
_ID = r"^[A-Za-z][A-Za-z0-9_-]*$"
_PREFIX = r"^[A-Z]{1,2}$"
_IDS = r"^[A-Z]+\d+(-[A-Z]+\d+)?$"
_ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$"   # a name printed on tickets, strips
_FORMATS = {  # what a hall manager is told a string pattern means
    _ONE_LINE: "one line of text (no line break or control character)",
    _HHMM: 'a time HH:MM from 00:00 to 23:59, like "03:00"',
    _PREFIX: 'one or two capital letters, like "B"',
    _IDS: 'a window id like "B03" or a range like "B01-B16"',
}
_LINE_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class HallConfigError(ValueError):
    """A hall file that cannot be used. ``str()`` is one line: file: key: reason."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(_one_line(f"{file}: {key}: {reason}"))


def _one_line(text: str) -> str:
    """Escape control characters and line breaks, so a message is always one line."""
    return _LINE_BREAKS.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


# ---------------------------------------------------------------- file shape


class _Model(BaseModel):
    # strict: TOML has real types, so "yes" is no boolean and "2" is no number
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class HoursFile(_Model):
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    periods: list[str] = Field(min_length=1)


class HallSection(_Model):
    name: str = Field(min_length=1, pattern=_ONE_LINE)
    name_en: str = Field(min_length=1, pattern=_ONE_LINE)
    timezone: str = "Asia/Shanghai"
    day_reset: str = Field("03:00", pattern=_HHMM)
    hours: HoursFile
    public_url: str = ""   # the hall's address on citizens' phones: each ticket's QR page


class ZoneFile(_Model):
    name: str = Field(min_length=1, pattern=_ONE_LINE)
    name_en: str = Field(min_length=1, pattern=_ONE_LINE)
    kiosks: list[Annotated[str, Field(min_length=1)]] = []


class QueueFile(_Model):
    name: str = Field(min_length=1, pattern=_ONE_LINE)
    name_en: str = Field(min_length=1, pattern=_ONE_LINE)
    name_en_short: str | None = Field(None, min_length=1, pattern=_ONE_LINE)  # for walls
    kind: QueueKind
    zones: list[str] = Field(min_length=1)
    prefix: str = Field(pattern=_PREFIX)
    overdue_minutes: float = Field(gt=0)
    service_minutes: float = Field(10, gt=0)
    requeue_after: int | None = Field(None, ge=0)
    outcome_required: bool = False     # 办结 needs an outcome code ([outcomes])
    cross_zone: bool = False           # a window of one zone may call another zone's tickets


class ProfileFile(_Model):
    main: list[str] = Field(min_length=1)
    side: list[str] = []
    side_when_overdue: bool = False


class WindowGroupFile(_Model):
    ids: str = Field(pattern=_IDS)
    name: str = Field(min_length=1, pattern=_ONE_LINE)
    name_en: str = Field("Window {id}", min_length=1, pattern=_ONE_LINE)
    zone: str
    profile: str
    default_outcome: str | None = None   # what a keypad's 办结 records


class ClassesFile(_Model):
    appointment_credit_minutes: float = Field(10, ge=0)
    green_credit_minutes: float = Field(30, ge=0)


class RulesFile(_Model):
    requeue_after: int = Field(3, ge=0)
    max_requeues: int = Field(2, ge=0)
    call_next_finishes_current: bool = True
    check_in_early_minutes: int = Field(30, ge=0)
    check_in_late_minutes: int = Field(15, ge=0)


class BalancingFile(_Model):
    max_moves_per_window_hour: int = Field(1, ge=1)
    lend_at: float = Field(0.05, gt=0)
    recall_at: float = Field(0.5, gt=0)
    automatic: list[str] = []          # zones the hub balances by itself from the day's start


AlertKind = Literal["ticket_overdue", "queue_wait", "service_long", "pause_long",
                    "window_unstaffed", "printer", "device_offline", "case_overdue"]
ALERT_LEVELS = ("warning", "critical")
PRINTER_STATUSES = ("paper_near_end", "paper_out", "cover_open", "offline", "error")


class AlertRuleFile(_Model):
    kind: AlertKind
    name: str | None = Field(None, pattern=_ID)
    level: Literal["warning", "critical"] = "warning"
    threshold: float | None = Field(None, gt=0)
    hysteresis: float | None = Field(None, ge=0)
    queues: list[str] = []
    zones: list[str] = []
    statuses: list[Literal["paper_near_end", "paper_out", "cover_open", "offline",
                           "error"]] = []


class IdCardFile(_Model):
    """``[id_card]``: tickets taken with a second-generation ID card (身份证取号)."""

    max_waiting_per_queue: int = Field(1, ge=1, le=20)


class HallFile(_Model):
    hall: HallSection
    zones: dict[str, ZoneFile] = Field(min_length=1)
    queues: dict[str, QueueFile] = Field(min_length=1)
    profiles: dict[str, ProfileFile] = Field(min_length=1)
    windows: list[WindowGroupFile] = Field(min_length=1)
    classes: ClassesFile = ClassesFile()
    rules: RulesFile = RulesFile()
    balancing: BalancingFile = BalancingFile()
    alerts: list[AlertRuleFile] = []
    outcomes: dict[str, OutcomeFile] = {}
    cases: CasesFile | None = None
    id_card: IdCardFile = IdCardFile()


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
    outcome_required: bool = False
    name_en_short: str = ""     # the English name's abbreviation, where it does not fit
    cross_zone: bool = False    # one line across its zones (else each zone calls its own)


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
    default_outcome: str | None = None


@dataclass(frozen=True)
class Balancing:
    """``[balancing]``: how the ``capped`` policy may move windows (docs/hall-config.md)."""

    max_moves_per_window_hour: int = 1  # in any 60 minutes, lends and returns alike
    lend_at: float = 0.05               # lend to a line past this share of its overdue time
    recall_at: float = 0.5              # send a lent window home past this on its own line
    automatic: tuple[str, ...] = ()     # zones balanced by the hub itself at the day's start


@dataclass(frozen=True)
class AlertRule:
    """One ``[[alerts]]`` rule. ``threshold``: seconds (a count of waiting tickets for
    window_unstaffed, 1 for printer); None for ticket_overdue and queue_wait means
    each queue's overdue threshold. ``hysteresis`` in the same unit; None: a tenth of
    the threshold. Empty ``queues``/``zones``: no filter."""

    name: str
    kind: str
    level: str
    threshold: float | None
    hysteresis: float | None
    queues: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    statuses: tuple[str, ...] = PRINTER_STATUSES


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
    check_in_early_minutes: int  # 预约签到 opens this long before the slot starts
    check_in_late_minutes: int   # ... and closes this long after it started
    balancing: Balancing = Balancing()
    alerts: tuple[AlertRule, ...] = ()  # [[alerts]]: evaluated by dispatcher/core/alerts.py
    outcomes: Mapping[str, Outcome] = default(default_factory=dict)  # [outcomes.<code>]
    cases: CaseRules = default(default_factory=CaseRules)   # [cases]: 差评 follow-up
    id_card_max_waiting: int = 1   # [id_card]: one person's waiting tickets per queue
    public_url: str = ""   # "https://hall.example": /t/<token> is a ticket's page; "": none

    @property
    def max_credit(self) -> float:
        return max(self.credits.values())

    @property
    def check_in_early_seconds(self) -> float:
        return self.check_in_early_minutes * 60.0

    @property
    def check_in_late_seconds(self) -> float:
        return self.check_in_late_minutes * 60.0

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


def read_toml(path: Path, error: Callable[[str, str, str], Exception] = HallConfigError,
              what: str = "hall file") -> dict:
    """The TOML table in ``path``, or ``error(file, "-", reason)`` saying why not."""
    name = str(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(name, "-", "file not found") from None
    except IsADirectoryError:
        raise error(name, "-", f"is a directory, not a {what}") from None
    except OSError as exc:
        raise error(name, "-", f"cannot read the file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise error(name, "-", f"not UTF-8 text ({exc.reason} at byte {exc.start}); "
                    "save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(name, "-", f"not valid TOML: {exc}") from None


M = TypeVar("M", bound=BaseModel)


def read_model(path: str | Path, model: type[M], what: str) -> M:
    """``path`` read as TOML and validated by ``model``; HallConfigError names the file,
    the key (``device[2].zone``) and the problem."""
    source = str(path)
    raw = read_toml(Path(path), what=what)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise HallConfigError(source, _key(err["loc"]), err["msg"]) from None


def load_hall(path: str | Path) -> Hall:
    """Read, validate and build a hall file; raise HallConfigError on any problem."""
    path = Path(path)
    return parse_hall(read_toml(path), str(path))


def parse_hall(raw: dict, source: str = "<hall>") -> Hall:
    try:
        model = HallFile.model_validate(raw)
    except ValidationError as exc:
        raise HallConfigError(source, *toml_error(exc)) from None
    return _build(model, source)


def toml_error(exc: ValidationError) -> tuple[str, str]:
    """The first error of a TOML file's validation as (key, reason) in the file's own
    words: ('queues.tax.zones[1]', "'Q' is not one of ...")."""
    err = exc.errors()[0]
    return _key(err["loc"]), _reason(err)


def _key(loc: tuple) -> str:
    """('queues', 'tax', 'zones', 1) -> 'queues.tax.zones[1]'; odd names are quoted as in TOML."""
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
            continue
        name = str(part) if re.fullmatch(r"[A-Za-z0-9_-]+", str(part)) else _quote(str(part))
        key += f".{name}" if key else name
    return key or "-"


def _quote(name: str) -> str:
    return '"' + _one_line(name.replace("\\", "\\\\").replace('"', '\\"')) + '"'


# pydantic's error types, told in the words of the hall file (TOML)
_REASONS = {
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
    "string_type": "expected text in quotes, got {got}",
    "int_type": "expected a whole number, got {got}",
    "float_type": "expected a number, got {got}",
    "bool_type": "expected true or false, got {got}",
    "list_type": "expected a list [...], got {got}",
    "dict_type": "expected a table, got {got}",
    "model_type": "expected a table, got {got}",
    "literal_error": "{got} is not one of {expected}",
    "greater_than": "must be more than {gt:g}, got {got}",
    "greater_than_equal": "must be {ge:g} or more, got {got}",
    "less_than_equal": "must be {le:g} or less, got {got}",
    "too_short": "must not be empty",
    "string_too_short": "must not be empty",
    "string_pattern_mismatch": "{got} is not {format}",
}


def _reason(err: dict) -> str:
    template = _REASONS.get(err["type"])
    if template is None:
        return str(err["msg"]).removeprefix("Value error, ")
    ctx = {**err.get("ctx", {}), "got": _show(err.get("input"))}
    ctx["format"] = _FORMATS.get(str(ctx.get("pattern")), "in the expected format")
    return template.format(**ctx)


def _show(value: object) -> str:
    """A value as the hall manager wrote it, short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, date | time):
        return f"the TOML date/time {value.isoformat()}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
    if m1[1] != m2[1]:
        raise ValueError(f"{spec!r}: both ends of a range need the same letters")
    if int(m2[2]) < int(m1[2]):
        raise ValueError(f"{spec!r} runs backwards: {last} comes before {first}")
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
    outcomes = build_outcomes(f.outcomes, check.fail)
    queues = _build_queues(f, outcomes, check)
    profiles = _build_profiles(f, queues, check)
    windows = _build_windows(f, zones, queues, profiles, check)
    check_defaults([w.default_outcome for w in f.windows], outcomes, check.fail)
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
        check_in_early_minutes=f.rules.check_in_early_minutes,
        check_in_late_minutes=f.rules.check_in_late_minutes,
        balancing=_balancing(f, check),
        alerts=_build_alerts(f, queues, check),
        outcomes=outcomes,
        cases=build_cases(f.cases, check.fail),
        id_card_max_waiting=f.id_card.max_waiting_per_queue,
        public_url=_public_url(f.hall.public_url, check),
    )


def _check_hall_section(h: HallSection, check: _Checker) -> None:
    try:
        ZoneInfo(h.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        check.fail("hall.timezone", f"unknown time zone {h.timezone!r}")
    for i, period in enumerate(h.hours.periods):
        key = f"hall.hours.periods[{i}]"
        if not re.fullmatch(_PERIOD, period):
            check.fail(key, f'{period!r} is not HH:MM-HH:MM, like "09:00-12:00"')
        start, end = _minutes(period[:5]), _minutes(period[6:])
        if end < start:
            check.fail(key, f"{period!r} ends before it starts")
        if end == start:
            check.fail(key, f"{period!r} is empty: it ends when it starts")


def _public_url(url: str, check: _Checker) -> str:
    """The base of the phone pages' addresses, without a trailing slash; "" for none."""
    if not url:
        return ""
    bad = _LINE_BREAKS.search(url) or " " in url
    parts = None if bad else urlsplit(url)
    if (parts is None or parts.scheme not in ("http", "https") or not parts.hostname
            or parts.query or parts.fragment or "@" in parts.netloc):
        check.fail("hall.public_url", f"{url!r} is not an address like "
                   '"https://hall.example" (http or https, a host, no ? or #)')
    try:
        parts.port  # noqa: B018 -- raises on a port out of range
    except ValueError:
        check.fail("hall.public_url", f"{url!r} has a bad port")
    return url.rstrip("/")


def _build_zones(f: HallFile, check: _Checker) -> dict[str, Zone]:
    seen: dict[str, str] = {}
    zones = {}
    for zid, z in f.zones.items():
        if not re.fullmatch(_ID, zid):
            check.fail(_key(("zones", zid)), "a zone id is letters, digits, '_' or '-'")
        for i, kiosk in enumerate(z.kiosks):
            if kiosk in seen:
                where = ("listed twice" if seen[kiosk] == zid
                         else f"already in zone {seen[kiosk]}: a kiosk belongs to one zone")
                check.fail(f"zones.{zid}.kiosks[{i}]", f"kiosk {kiosk!r} is {where}")
            seen[kiosk] = zid
        zones[zid] = Zone(zid, z.name, z.name_en, tuple(z.kiosks))
    return zones


def _build_queues(f: HallFile, outcomes: dict[str, Outcome],
                  check: _Checker) -> dict[str, Queue]:
    prefixes: dict[str, str] = {}
    queues = {}
    for qid, q in f.queues.items():
        key = _key(("queues", qid))
        if not re.fullmatch(_ID, qid):
            check.fail(key, "a queue id is letters, digits, '_' or '-'")
        for i, zone in enumerate(q.zones):
            if zone not in f.zones:
                check.fail(f"{key}.zones[{i}]", f"unknown zone {zone!r}")
        _check_prefix(q.prefix, prefixes, f"{key}.prefix", check)
        prefixes[q.prefix] = qid
        requeue_after = q.requeue_after if q.requeue_after is not None else f.rules.requeue_after
        check_required(key, q.outcome_required, outcomes, check.fail)
        if q.name_en_short is not None and len(q.name_en_short) >= len(q.name_en):
            check.fail(f"{key}.name_en_short", f"{q.name_en_short!r} is not shorter than "
                       f"name_en {q.name_en!r}")
        queues[qid] = Queue(
            qid, q.name, q.name_en, q.kind, tuple(q.zones), q.prefix,
            q.overdue_minutes * 60, q.service_minutes * 60, requeue_after, q.outcome_required,
            q.name_en_short or "", q.cross_zone,
        )
        if q.cross_zone and len(set(q.zones)) < 2:
            check.fail(f"{key}.cross_zone", f"the queue is offered in zone {q.zones[0]} only: "
                       "there is no other zone to call it from")
    return queues


def _check_prefix(prefix: str, prefixes: dict[str, str], key: str, check: _Checker) -> None:
    """Numbers are prefix + sequence: no prefix may equal or start another (B / BA)."""
    if prefix in prefixes:
        check.fail(key, f"prefix {prefix!r} is already used by queue {prefixes[prefix]}")
    clash = next((p for p in prefixes if p.startswith(prefix) or prefix.startswith(p)), None)
    if clash is not None:
        check.fail(key, f"prefix {prefix!r} clashes with {clash!r} of queue {prefixes[clash]}: "
                   "one starts with the other")


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
        _check_profile_queues(_key(("profiles", pid)), p.main, p.side, queues, check)
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
    named: dict[tuple[str, str], str] = {}  # (field, name) -> the window that has it
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
                check.fail(f"{key}.ids",
                           f"window {wid} is already defined in windows[{defined_in[wid]}]")
            defined_in[wid] = g
            name, name_en = _window_names(group, wid, key, named, check)
            windows[wid] = Window(wid, name, name_en, group.zone, group.profile, profile,
                                  group.default_outcome)
    _check_every_queue_served(queues, windows, check)
    return windows


def _window_names(
    group: WindowGroupFile, wid: str, key: str, named: dict[tuple[str, str], str], check: _Checker
) -> tuple[str, str]:
    """The window's LED names, {id} filled in; two windows may not share a name."""
    names = (group.name.replace("{id}", wid), group.name_en.replace("{id}", wid))
    for field, name in zip(("name", "name_en"), names, strict=True):
        other = named.setdefault((field, name), wid)
        if other != wid:
            check.fail(f"{key}.{field}", f"window {wid} would be named {name!r} like window "
                       f"{other}; put {{id}} in the name")
    return names


def _check_every_queue_served(
    queues: dict[str, Queue], windows: dict[str, Window], check: _Checker
) -> None:
    # A queue that is no window's main work could wait for ever: refuse it at load.
    served = {qid for w in windows.values() for qid in w.profile.main}
    for qid in queues:
        if qid not in served:
            check.fail(f"queues.{qid}", "no window has this queue as main work (主业)")
    # Without cross_zone each zone calls its own tickets: each needs a main window there.
    for qid, zone in unserved_zones(queues, [(w.zone, w.profile) for w in windows.values()]):
        check.fail(f"queues.{qid}", f"no window of zone {zone} has this queue as main work "
                   f"(主业), and its tickets taken in zone {zone} may not be called from "
                   "another zone: add one, or set cross_zone = true")


def unserved_zones(queues: dict[str, Queue],
                   windows: Iterable[tuple[str, Profile]]) -> list[tuple[str, str]]:
    """(queue, zone) pairs of the queues that keep their zones apart (no cross_zone)
    where no window of the zone has the queue as main work."""
    served = {(zone, qid) for zone, profile in windows for qid in profile.main}
    return [(qid, zone) for qid, q in queues.items() if not q.cross_zone
            for zone in q.zones if (zone, qid) not in served]


_ALERT_UNITS = {  # kind -> the threshold's unit in the file, seconds per unit (None: none)
    "ticket_overdue": ("minutes", 60.0), "queue_wait": ("minutes", 60.0),
    "service_long": ("minutes", 60.0), "pause_long": ("minutes", 60.0),
    "window_unstaffed": ("waiting tickets", 1.0), "device_offline": ("seconds", 1.0),
    "case_overdue": ("hours past the deadline", 3600.0),
    "printer": None,
}
_ALERT_DEFAULTS = {"window_unstaffed": 1.0}  # else None: required, or the queue's overdue
_QUEUE_FILTERED = ("ticket_overdue", "queue_wait", "service_long", "pause_long",
                   "window_unstaffed")


def _balancing(f: HallFile, check: _Checker) -> Balancing:
    for i, zone in enumerate(f.balancing.automatic):
        if zone not in f.zones:
            check.fail(f"balancing.automatic[{i}]", f"unknown zone {zone!r}")
    b = f.balancing
    return Balancing(b.max_moves_per_window_hour, b.lend_at, b.recall_at, tuple(b.automatic))


def _build_alerts(f: HallFile, queues: dict[str, Queue], check: _Checker) -> tuple[AlertRule, ...]:
    names: dict[str, int] = {}
    rules = []
    for i, a in enumerate(f.alerts):
        key = f"alerts[{i}]"
        name = a.name or a.kind
        if name in names:
            check.fail(f"{key}.name", f"rule {name!r} is already alerts[{names[name]}]; give "
                       "each rule of one kind its own name")
        names[name] = i
        _check_alert_filters(a, key, f, queues, check)
        threshold, hysteresis = _alert_threshold(a, key, check)
        rules.append(AlertRule(name, a.kind, a.level, threshold, hysteresis, tuple(a.queues),
                               tuple(a.zones), tuple(a.statuses) or PRINTER_STATUSES))
    return tuple(rules)


def _check_alert_filters(a: AlertRuleFile, key: str, f: HallFile, queues: dict[str, Queue],
                         check: _Checker) -> None:
    if a.queues and a.kind not in _QUEUE_FILTERED:
        check.fail(f"{key}.queues", f"a {a.kind} rule has no queue filter")
    for j, qid in enumerate(a.queues):
        if qid not in queues:
            check.fail(f"{key}.queues[{j}]", f"unknown queue {qid!r}")
    for j, zone in enumerate(a.zones):
        if zone not in f.zones:
            check.fail(f"{key}.zones[{j}]", f"unknown zone {zone!r}")
    if a.statuses and a.kind != "printer":
        check.fail(f"{key}.statuses", "only a printer rule has statuses")


def _alert_threshold(a: AlertRuleFile, key: str,
                     check: _Checker) -> tuple[float | None, float | None]:
    """(threshold, hysteresis) in seconds (or tickets); None: the default."""
    unit = _ALERT_UNITS[a.kind]
    if unit is None:
        if a.threshold is not None or a.hysteresis is not None:
            check.fail(f"{key}.threshold" if a.threshold is not None else f"{key}.hysteresis",
                       f"a {a.kind} rule has no threshold: it alerts on the statuses")
        return 1.0, 0.0
    threshold = a.threshold if a.threshold is not None else _ALERT_DEFAULTS.get(a.kind)
    if threshold is None and a.kind not in ("ticket_overdue", "queue_wait", "case_overdue"):
        check.fail(f"{key}.threshold", f"required key is missing ({unit[0]})")
    if a.hysteresis is not None and threshold is not None and a.hysteresis >= threshold:
        check.fail(f"{key}.hysteresis", f"must be less than the threshold ({threshold:g} "
                   f"{unit[0]}), got {a.hysteresis:g}")
    scale = unit[1]
    return (None if threshold is None else threshold * scale,
            None if a.hysteresis is None else a.hysteresis * scale)


def check_profile(hall: Hall, window: str, main: list[str], side: list[str]) -> None:
    """Validate a profile given at run time (the console's set_profile) for a window."""
    check = _Checker("set_profile")
    _check_profile_queues("profile", main, side, hall.queues, check)
    zone = hall.windows[window].zone
    for qid in main + side:
        if zone not in hall.queues[qid].zones:
            check.fail("profile", f"queue {qid!r} is not offered in zone {zone}")


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def hall_layout(hall: Hall) -> dict[str, Any]:
    """The names of the hall, its zones, queues and windows, as the hub's snapshot
    carries them (``snapshot["hall"]``): what every device shows."""
    return {
        "name": hall.name, "name_en": hall.name_en, "timezone": hall.timezone,
        "public_url": hall.public_url,
        "call_next_finishes_current": hall.call_next_finishes_current,
        "hours": {"days": list(hall.hours.days),
                  "periods": [f"{_hhmm(a)}-{_hhmm(b)}" for a, b in hall.hours.periods]},
        "zones": {z.id: {"name": z.name, "name_en": z.name_en} for z in hall.zones.values()},
        "queues": {q.id: {"name": q.name, "name_en": q.name_en,
                          "name_en_short": q.name_en_short, "prefix": q.prefix,
                          "kind": q.kind, "zones": list(q.zones),
                          "outcome_required": q.outcome_required}
                   for q in hall.queues.values()},
        "outcomes": outcomes_layout(hall.outcomes),
        "windows": {w.id: {"name": w.name, "name_en": w.name_en, "zone": w.zone}
                    for w in hall.windows.values()},
    }
