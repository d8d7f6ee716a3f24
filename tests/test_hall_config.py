"""The hall file: the sample hall is the county "2+2" plan of seed 004, and every
broken hall file is refused with one line that names the file, the key and the reason.

Broken halls are the sample hall loaded with tomllib, changed in one place and given
to ``parse_hall(raw, "broken.toml")``; the few cases that need a real file use the
files under tests/halls/ or tmp_path.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import tomllib
from collections.abc import Callable
from datetime import time
from pathlib import Path

import pytest
from conftest import hall_time

from dispatcher.hall import SAMPLE_HALL, Hall, HallConfigError, load_hall, parse_hall

HALLS = Path(__file__).resolve().parent / "halls"
REPO = Path(__file__).resolve().parent.parent
SAMPLE: dict = tomllib.loads(SAMPLE_HALL.read_text(encoding="utf-8"))
GROUP = {w["ids"]: i for i, w in enumerate(SAMPLE["windows"])}  # "B19-B20" -> its index

UNIT_QUEUES = {
    "tax": "税务服务", "real_estate": "不动产登记", "marriage": "婚姻登记", "notary": "司法公证",
    "legal_aid": "法律援助", "police": "公安交警", "housing_fund": "住房公积金", "water": "供水",
    "power": "供电", "gas": "燃气", "tv": "广电", "telecom": "通信", "bus_card": "公交卡",
    "post": "邮政寄递",
}
LINES = {"consult": "咨询辅导", "complaint": "投诉处理", "results": "统一出件"}


def ids(prefix: str, first: int, last: int) -> set[str]:
    return {f"{prefix}{n:02d}" for n in range(first, last + 1)}


# ------------------------------------------------------------ the sample hall


def test_zone_a_is_the_enterprise_zone_with_15_windows_and_2_kiosks(sample_hall: Hall) -> None:
    zone = sample_hall.zones["A"]
    assert "法人" in zone.name
    assert zone.kiosks == ("K-A1", "K-A2")
    assert {w.id for w in sample_hall.windows.values() if w.zone == "A"} == ids("A", 1, 15)


def test_zone_b_is_the_individual_zone_with_40_windows_and_3_kiosks(sample_hall: Hall) -> None:
    zone = sample_hall.zones["B"]
    assert "自然人" in zone.name
    assert zone.kiosks == ("K-B1", "K-B2", "K-B3")
    assert {w.id for w in sample_hall.windows.values() if w.zone == "B"} == ids("B", 1, 40)


def test_the_hall_has_exactly_the_two_zones_and_55_windows(sample_hall: Hall) -> None:
    assert set(sample_hall.zones) == {"A", "B"}
    assert len(sample_hall.windows) == 55
    kiosks = [k for z in sample_hall.zones.values() for k in z.kiosks]
    assert len(kiosks) == len(set(kiosks)) == 5  # each kiosk belongs to one zone


@pytest.mark.parametrize("zone", ["A", "B"])
def test_each_zone_has_one_big_loop_quick_service_queue(sample_hall: Hall, zone: str) -> None:
    big = [q for q in sample_hall.queues.values() if q.kind == "big_loop" and zone in q.zones]
    assert len(big) == 1
    assert big[0].name == "马上办"
    assert big[0].zones == (zone,)  # zones do not share the big loop


def test_the_big_loop_is_served_by_most_windows_of_its_zone(sample_hall: Hall) -> None:
    for zone in ("A", "B"):
        (quick,) = (q.id for q in sample_hall.queues.values()
                    if q.kind == "big_loop" and zone in q.zones)
        pool = [w for w in sample_hall.windows.values() if quick in w.profile.main]
        assert pool and all(w.zone == zone for w in pool)
        assert len(pool) * 2 > sum(w.zone == zone for w in sample_hall.windows.values())


def test_the_unit_queues_of_the_small_loop(sample_hall: Hall) -> None:
    units = {q.id: q.name for q in sample_hall.queues.values() if q.kind == "unit"}
    assert units == UNIT_QUEUES


def test_consultation_complaints_and_result_collection_are_lines(sample_hall: Hall) -> None:
    lines = {q.id: q.name for q in sample_hall.queues.values() if q.kind == "line"}
    assert lines == LINES
    assert set(sample_hall.queues) == {"quick_a", "quick_b", *UNIT_QUEUES, *LINES}


def test_one_complaint_window(sample_hall: Hall) -> None:
    desks = [w for w in sample_hall.windows.values() if w.profile.main == ("complaint",)]
    assert [w.name for w in desks] == ["投诉处理窗口B35"]


def test_window_names_are_as_on_the_led(sample_hall: Hall) -> None:
    assert sample_hall.windows["B03"].name == "综合受理窗口B03"
    assert sample_hall.windows["A01"].name == "综合受理窗口A01"
    assert sample_hall.windows["A15"].name == "综合受理窗口A15"
    assert sample_hall.windows["B03"].name_en == "Window B03"
    assert sample_hall.windows["B33"].name_en == "Help Desk B33"
    for window in sample_hall.windows.values():
        assert window.name.endswith(window.id)
    names = [w.name for w in sample_hall.windows.values()]
    assert len(set(names)) == len(names)


def test_every_window_has_main_work_offered_in_its_zone(sample_hall: Hall) -> None:
    for window in sample_hall.windows.values():
        assert window.profile.main, window.id
        assert window.profile is sample_hall.profiles[window.profile_name]
        for qid in window.profile.queues:
            assert window.zone in sample_hall.queues[qid].zones, (window.id, qid)


def test_every_queue_is_some_windows_main_work(sample_hall: Hall) -> None:
    served = {q for w in sample_hall.windows.values() for q in w.profile.main}
    assert served == set(sample_hall.queues)


def test_prefixes_are_distinct_and_none_starts_another(sample_hall: Hall) -> None:
    prefixes = [q.prefix for q in sample_hall.queues.values()]
    for i, a in enumerate(prefixes):
        for b in prefixes[i + 1:]:
            assert not a.startswith(b) and not b.startswith(a)
    assert sample_hall.queue_by_prefix("B") is sample_hall.queues["quick_b"]
    assert sample_hall.queue_by_prefix("??") is None


def test_class_credits_and_rules(sample_hall: Hall) -> None:
    assert sample_hall.credits == {"normal": 0.0, "appointment": 600.0, "green": 1800.0}
    assert sample_hall.max_credit == 1800.0
    assert sample_hall.queues["tax"].overdue_seconds == 40 * 60
    assert sample_hall.queues["tax"].requeue_after == 3  # from [rules]
    assert sample_hall.max_requeues == 2
    assert sample_hall.call_next_finishes_current is True


def test_check_in_window_of_the_sample_hall(sample_hall: Hall) -> None:
    assert (sample_hall.check_in_early_minutes, sample_hall.check_in_late_minutes) == (30, 15)
    assert (sample_hall.check_in_early_seconds, sample_hall.check_in_late_seconds) == (1800, 900)


def test_check_in_window_and_service_time_have_defaults() -> None:
    raw = copy.deepcopy(SAMPLE)
    del raw["rules"]["check_in_early_minutes"], raw["rules"]["check_in_late_minutes"]
    del raw["queues"]["tax"]["service_minutes"]
    hall = parse_hall(raw, "ok.toml")
    assert (hall.check_in_early_minutes, hall.check_in_late_minutes) == (30, 15)
    assert hall.queues["tax"].service_seconds == 10 * 60
    assert hall.queues["water"].service_seconds == 6 * 60


def test_check_in_window_may_be_zero() -> None:
    raw = copy.deepcopy(SAMPLE)
    raw["rules"].update(check_in_early_minutes=0, check_in_late_minutes=0)
    hall = parse_hall(raw, "ok.toml")
    assert (hall.check_in_early_seconds, hall.check_in_late_seconds) == (0, 0)


def test_a_queue_may_override_requeue_after() -> None:
    raw = copy.deepcopy(SAMPLE)
    raw["queues"]["tax"]["requeue_after"] = 0
    hall = parse_hall(raw, "ok.toml")
    assert hall.queues["tax"].requeue_after == 0
    assert hall.queues["water"].requeue_after == 3


@pytest.mark.parametrize(("day", "hhmm", "business_day"), [
    ("2026-11-24", "02:59", "2026-11-23"),   # before the 03:00 reset: still yesterday
    ("2026-11-24", "03:00", "2026-11-24"),
    ("2026-11-23", "23:59", "2026-11-23"),
    ("2026-11-24", "00:00", "2026-11-23"),
    ("2026-11-24", "12:00", "2026-11-24"),
])
def test_business_day_respects_the_reset_time(
    sample_hall: Hall, day: str, hhmm: str, business_day: str
) -> None:
    assert sample_hall.day_reset_minutes == 180
    assert sample_hall.business_day(hall_time(sample_hall, hhmm, day)) == business_day


def test_business_day_is_in_the_halls_time_zone(sample_hall: Hall) -> None:
    # 2026-11-23 19:30 UTC is 03:30 on the 24th in Shanghai: past the reset
    assert sample_hall.business_day(1795462200.0) == "2026-11-24"


@pytest.mark.parametrize(("day", "hhmm", "is_open"), [
    ("2026-11-23", "08:59", False),  # Monday
    ("2026-11-23", "09:00", True),
    ("2026-11-23", "11:59", True),
    ("2026-11-23", "12:00", False),  # a period's end is not open
    ("2026-11-23", "12:30", False),  # lunch break
    ("2026-11-23", "13:00", True),
    ("2026-11-23", "16:59", True),
    ("2026-11-23", "17:00", False),
    ("2026-11-27", "10:00", True),   # Friday
    ("2026-11-28", "10:00", False),  # Saturday
    ("2026-11-29", "10:00", False),  # Sunday
])
def test_is_open_respects_days_and_periods(
    sample_hall: Hall, day: str, hhmm: str, is_open: bool
) -> None:
    assert sample_hall.is_open(hall_time(sample_hall, hhmm, day)) is is_open


# ---------------------------------------------------------- broken halls

Mutation = Callable[[dict], object]


def _set(*path: str | int, value: object) -> Mutation:
    """A change to the raw hall: set the value at path (keys and list indexes)."""
    def mutate(raw: dict) -> None:
        node = raw
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return mutate


def _drop(*path: str | int) -> Mutation:
    def mutate(raw: dict) -> None:
        node = raw
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]
    return mutate


def _both(*changes: Mutation) -> Mutation:
    def mutate(raw: dict) -> None:
        for change in changes:
            change(raw)
    return mutate


def _window(ids: str, field: str, value: object) -> Mutation:
    return _set("windows", GROUP[ids], field, value=value)


B19 = GROUP["B19-B20"]

# (case id, change, the key named, a fragment of the reason)
BROKEN: list[tuple[str, Mutation, str, str]] = [
    # unknown keys, at the top and nested
    ("unknown-top-level", _set("window", value=[]), "window", "unknown key"),
    ("unknown-in-hall", _set("hall", "tz", value="UTC"), "hall.tz", "unknown key"),
    ("unknown-in-hours", _set("hall", "hours", "holidays", value=["2026-10-01"]),
     "hall.hours.holidays", "unknown key"),
    ("unknown-in-queue", _set("queues", "tax", "overdue_minute", value=40),
     "queues.tax.overdue_minute", "unknown key"),
    ("unknown-in-window", _set("windows", 2, "zones", value=["A"]), "windows[2].zones",
     "unknown key"),
    ("unknown-in-rules", _set("rules", "max_requeue", value=2), "rules.max_requeue",
     "unknown key"),
    # missing required keys
    ("missing-hall", _drop("hall"), "hall", "required key is missing"),
    ("missing-hours", _drop("hall", "hours"), "hall.hours", "required key is missing"),
    ("missing-prefix", _drop("queues", "tax", "prefix"), "queues.tax.prefix",
     "required key is missing"),
    ("missing-profile", _drop("windows", 0, "profile"), "windows[0].profile",
     "required key is missing"),
    ("missing-main", _drop("profiles", "tax_b", "main"), "profiles.tax_b.main",
     "required key is missing"),
    # wrong types: TOML values are typed, nothing is guessed
    ("number-as-text", _set("queues", "tax", "overdue_minutes", value="40"),
     "queues.tax.overdue_minutes", "expected a number, got '40'"),
    ("bool-as-number", _set("queues", "tax", "service_minutes", value=True),
     "queues.tax.service_minutes", "expected a number, got true"),
    ("fraction-as-int", _set("rules", "max_requeues", value=2.5), "rules.max_requeues",
     "expected a whole number, got 2.5"),
    ("int-as-text", _set("rules", "requeue_after", value="3"), "rules.requeue_after",
     "expected a whole number"),
    ("check-in-negative", _set("rules", "check_in_early_minutes", value=-1),
     "rules.check_in_early_minutes", "must be 0 or more, got -1"),
    ("check-in-fraction", _set("rules", "check_in_late_minutes", value=7.5),
     "rules.check_in_late_minutes", "expected a whole number, got 7.5"),
    ("check-in-as-text", _set("rules", "check_in_early_minutes", value="30"),
     "rules.check_in_early_minutes", "expected a whole number, got '30'"),
    ("check-in-as-bool", _set("rules", "check_in_late_minutes", value=True),
     "rules.check_in_late_minutes", "expected a whole number, got true"),
    ("check-in-misspelt", _set("rules", "checkin_early_minutes", value=30),
     "rules.checkin_early_minutes", "unknown key"),
    ("zero-service", _set("queues", "tax", "service_minutes", value=0),
     "queues.tax.service_minutes", "must be more than 0, got 0"),
    ("negative-service", _set("queues", "tax", "service_minutes", value=-5),
     "queues.tax.service_minutes", "must be more than 0, got -5"),
    ("bool-as-text", _set("rules", "call_next_finishes_current", value="yes"),
     "rules.call_next_finishes_current", "expected true or false, got 'yes'"),
    ("list-as-text", _set("queues", "tax", "zones", value="A"), "queues.tax.zones",
     "expected a list"),
    ("table-as-text", _set("zones", "A", value="法人"), "zones.A", "expected a table"),
    ("windows-as-table", _set("windows", value={"ids": "A01"}), "windows", "expected a list"),
    ("time-unquoted", _set("hall", "day_reset", value=time(3, 0)), "hall.day_reset",
     "expected text in quotes, got the TOML date/time 03:00:00"),
    ("ids-as-number", _set("windows", 0, "ids", value=1), "windows[0].ids",
     "expected text in quotes"),
    ("bad-kind", _set("queues", "tax", "kind", value="small_loop"), "queues.tax.kind",
     "'small_loop' is not one of 'big_loop', 'unit' or 'line'"),
    ("zero-overdue", _set("queues", "tax", "overdue_minutes", value=0),
     "queues.tax.overdue_minutes", "must be more than 0"),
    ("negative-credit", _set("classes", "green_credit_minutes", value=-5),
     "classes.green_credit_minutes", "must be 0 or more, got -5"),
    ("empty-main", _set("profiles", "tax_b", "main", value=[]), "profiles.tax_b.main",
     "must not be empty"),
    ("empty-name", _set("hall", "name", value=""), "hall.name", "must not be empty"),
    ("empty-kiosk", _set("zones", "B", "kiosks", value=["K-B1", ""]), "zones.B.kiosks[1]",
     "must not be empty"),
    ("bad-prefix", _set("queues", "tax", "prefix", value="s"), "queues.tax.prefix",
     "'s' is not one or two capital letters"),
    ("long-prefix", _set("queues", "tax", "prefix", value="TAX"), "queues.tax.prefix",
     "is not one or two capital letters"),
    # profiles
    ("unknown-queue-in-main", _set("profiles", "tax_b", "main", value=["taxes"]),
     "profiles.tax_b.main[0]", "unknown queue 'taxes'"),
    ("unknown-queue-in-side", _set("profiles", "tax_b", "side", value=["quick_b", "quik_b"]),
     "profiles.tax_b.side[1]", "unknown queue 'quik_b'"),
    ("queue-twice", _set("profiles", "utilities", "main", value=["water", "power", "water"]),
     "profiles.utilities.main[2]", "queue 'water' is listed twice"),
    ("queue-main-and-side", _set("profiles", "tax_b", "side", value=["quick_b", "tax"]),
     "profiles.tax_b.side[1]", "queue 'tax' is already main work"),
    # windows
    ("window-in-two-groups", _window("B19-B20", "ids", "B18-B20"), f"windows[{B19}].ids",
     f"window B18 is already defined in windows[{GROUP['B05-B18']}]"),
    ("range-backwards", _window("B05-B18", "ids", "B09-B05"),
     f"windows[{GROUP['B05-B18']}].ids", "'B09-B05' runs backwards: B05 comes before B09"),
    ("range-two-letters", _window("B19-B20", "ids", "B19-C20"), f"windows[{B19}].ids",
     "both ends of a range need the same letters"),
    ("range-format", _window("B19-B20", "ids", "19-20"), f"windows[{B19}].ids",
     "'19-20' is not a window id like \"B03\" or a range"),
    ("range-lowercase", _window("B19-B20", "ids", "b19-b20"), f"windows[{B19}].ids",
     "is not a window id"),
    ("unknown-zone-in-window", _window("B24", "zone", "C"), f"windows[{GROUP['B24']}].zone",
     "unknown zone 'C'"),
    ("unknown-profile-in-window", _window("B24", "profile", "wedding"),
     f"windows[{GROUP['B24']}].profile", "unknown profile 'wedding'"),
    ("queue-not-in-zone", _window("A13", "profile", "marriage"),
     f"windows[{GROUP['A13']}].profile",
     "profile 'marriage' has queue 'marriage', which is not offered in zone A"),
    ("name-without-id", _window("A01-A10", "name", "综合受理窗口"),
     f"windows[{GROUP['A01-A10']}].name",
     "window A02 would be named '综合受理窗口' like window A01; put {id} in the name"),
    ("name-en-shared", _window("B35", "name_en", "Help Desk B33"),
     f"windows[{GROUP['B35']}].name_en", "like window B33"),
    # zones and queues
    ("unknown-zone-in-queue", _set("queues", "tax", "zones", value=["A", "C"]),
     "queues.tax.zones[1]", "unknown zone 'C'"),
    ("unknown-zone-balanced-by-the-hub", _set("balancing", "automatic", value=["B", "C"]),
     "balancing.automatic[1]", "unknown zone 'C'"),
    ("prefix-identical", _set("queues", "marriage", "prefix", value="S"),
     "queues.marriage.prefix", "prefix 'S' is already used by queue tax"),
    ("prefix-starts-an-earlier-one", _set("queues", "tax", "prefix", value="BA"),
     "queues.tax.prefix", "prefix 'BA' clashes with 'B' of queue quick_b"),
    ("prefix-is-the-start-of-a-later-one", _set("queues", "tax", "prefix", value="HA"),
     "queues.marriage.prefix", "prefix 'H' clashes with 'HA' of queue tax"),
    ("kiosk-in-two-zones", _set("zones", "B", "kiosks", value=["K-B1", "K-A2", "K-B3"]),
     "zones.B.kiosks[1]", "kiosk 'K-A2' is already in zone A"),
    ("kiosk-twice", _set("zones", "B", "kiosks", value=["K-B1", "K-B1"]),
     "zones.B.kiosks[1]", "kiosk 'K-B1' is listed twice"),
    ("zone-id", _set("zones", "区C", value=SAMPLE["zones"]["A"]), 'zones."区C"',
     "a zone id is letters, digits"),
    ("queue-id", _set("queues", "2tax", value=SAMPLE["queues"]["tax"]), "queues.2tax",
     "a queue id is letters, digits"),
    ("queue-unserved", _set("profiles", "complaint", value={"main": ["consult"],
                                                            "side": ["complaint"]}),
     "queues.complaint", "no window has this queue as main work"),
    ("new-queue-unserved", _set("queues", "tobacco", value={
        **SAMPLE["queues"]["tax"], "name": "烟草专卖", "prefix": "M"}),
     "queues.tobacco", "no window has this queue as main work"),
    # time
    ("bad-timezone", _set("hall", "timezone", value="Asia/Beijing"), "hall.timezone",
     "unknown time zone 'Asia/Beijing'"),
    ("timezone-not-a-key", _set("hall", "timezone", value="Asia/"), "hall.timezone",
     "unknown time zone"),
    ("day-reset-no-zero", _set("hall", "day_reset", value="3:00"), "hall.day_reset",
     "'3:00' is not a time HH:MM"),
    ("day-reset-24", _set("hall", "day_reset", value="24:00"), "hall.day_reset",
     "'24:00' is not a time HH:MM from 00:00 to 23:59"),
    ("bad-day", _set("hall", "hours", "days", value=["mon", "Tuesday"]), "hall.hours.days[1]",
     "'Tuesday' is not one of 'mon'"),
    ("no-periods", _set("hall", "hours", "periods", value=[]), "hall.hours.periods",
     "must not be empty"),
    ("period-format", _set("hall", "hours", "periods", value=["09:00-12:00", "1pm-5pm"]),
     "hall.hours.periods[1]", "'1pm-5pm' is not HH:MM-HH:MM"),
    ("period-tilde", _set("hall", "hours", "periods", value=["09:00~12:00"]),
     "hall.hours.periods[0]", "is not HH:MM-HH:MM"),
    ("period-backwards", _set("hall", "hours", "periods", value=["09:00-12:00", "17:00-13:00"]),
     "hall.hours.periods[1]", "'17:00-13:00' ends before it starts"),
    ("period-empty", _set("hall", "hours", "periods", value=["09:00-09:00"]),
     "hall.hours.periods[0]", "'09:00-09:00' is empty: it ends when it starts"),
    ("period-as-number", _set("hall", "hours", "periods", value=[9]),
     "hall.hours.periods[0]", "expected text in quotes, got 9"),
    # two changes: the first problem in the file is the one reported
    ("first-problem-wins", _both(_set("hall", "timezone", value="Mars"),
                                 _set("queues", "tax", "zones", value=["C"])),
     "hall.timezone", "unknown time zone 'Mars'"),
]


def assert_one_line_error(exc: HallConfigError, file: str, key: str, fragment: str) -> None:
    assert exc.file == file
    assert exc.key == key
    assert fragment in exc.reason
    assert str(exc) == f"{file}: {key}: {exc.reason}"
    assert len(str(exc).splitlines()) == 1
    for raw_words in ("Input should", "pydantic", "Traceback", "Value error"):
        assert raw_words not in str(exc)


@pytest.mark.parametrize(("change", "key", "fragment"),
                         [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_a_broken_hall_is_refused_with_file_key_and_reason(
    change: Mutation, key: str, fragment: str
) -> None:
    raw = copy.deepcopy(SAMPLE)
    change(raw)
    with pytest.raises(HallConfigError) as info:
        parse_hall(raw, "broken.toml")
    assert_one_line_error(info.value, "broken.toml", key, fragment)


def test_the_unchanged_sample_parses() -> None:
    """The broken cases fail for their change, not because the base is wrong."""
    parse_hall(copy.deepcopy(SAMPLE), "broken.toml")


def test_a_line_break_in_a_name_does_not_break_the_line() -> None:
    raw = copy.deepcopy(SAMPLE)
    raw["zones"]["A\nB"] = raw["zones"].pop("A")
    with pytest.raises(HallConfigError) as info:
        parse_hall(raw, "broken.toml")
    assert_one_line_error(info.value, "broken.toml", 'zones."A\\nB"', "a zone id is")


def test_invalid_toml_syntax() -> None:
    path = HALLS / "bad_syntax.toml"
    with pytest.raises(HallConfigError) as info:
        load_hall(path)
    assert_one_line_error(info.value, str(path), "-", "not valid TOML")
    assert "line 6" in info.value.reason


def test_not_utf8() -> None:
    path = HALLS / "gbk.toml"
    with pytest.raises(HallConfigError) as info:
        load_hall(path)
    assert_one_line_error(info.value, str(path), "-", "not UTF-8 text")
    assert "save the file as UTF-8" in info.value.reason


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(HallConfigError) as info:
        load_hall(path)
    assert_one_line_error(info.value, str(path), "-", "file not found")


def test_a_directory_is_not_a_hall_file() -> None:
    with pytest.raises(HallConfigError) as info:
        load_hall(HALLS)
    assert_one_line_error(info.value, str(HALLS), "-", "is a directory")


def test_an_empty_file_misses_the_hall_section(tmp_path: Path) -> None:
    path = tmp_path / "empty.toml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(HallConfigError) as info:
        load_hall(path)
    assert_one_line_error(info.value, str(path), "hall", "required key is missing")


def test_load_hall_reads_a_real_file_like_parse_hall(tmp_path: Path) -> None:
    text = SAMPLE_HALL.read_text(encoding="utf-8")
    path = tmp_path / "hall.toml"
    path.write_text(text.replace('ids = "B19-B20"', 'ids = "B20-B19"'), encoding="utf-8")
    with pytest.raises(HallConfigError) as info:
        load_hall(path)
    assert_one_line_error(info.value, str(path), f"windows[{B19}].ids", "runs backwards")
    assert load_hall(SAMPLE_HALL).source == str(SAMPLE_HALL)


# -------------------------------------------------------------------- CLI


def run_check(hall: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "check", "--hall", str(hall)],
        capture_output=True, text=True, encoding="utf-8", cwd=REPO, timeout=60, check=False,
    )


@pytest.mark.slow
def test_cli_check_accepts_the_sample_hall() -> None:
    result = run_check(SAMPLE_HALL)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "ok" in result.stdout and "55 windows" in result.stdout


@pytest.mark.slow
def test_cli_check_refuses_a_broken_hall_with_one_line(tmp_path: Path) -> None:
    text = SAMPLE_HALL.read_text(encoding="utf-8")
    path = tmp_path / "broken.toml"
    path.write_text(text.replace('ids = "B19-B20"', 'ids = "B20-B19"'), encoding="utf-8")
    result = run_check(path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {path}: windows[{B19}].ids: 'B20-B19' runs backwards: B19 comes before B20"
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "fragment"), [
    ("bad_syntax.toml", "not valid TOML"),
    ("gbk.toml", "not UTF-8 text"),
    ("missing.toml", "file not found"),
])
def test_cli_check_refuses_an_unreadable_file_with_one_line(name: str, fragment: str) -> None:
    path = HALLS / name
    result = run_check(path)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}: -: {fragment}")
    assert "Traceback" not in result.stderr


# ------------------------------------------------------------------- docs


def test_the_annotated_example_in_the_docs_loads() -> None:
    doc = (REPO / "docs" / "hall-config.md").read_text(encoding="utf-8")
    example = doc.split("```toml\n", 1)[1].split("```", 1)[0]
    hall = parse_hall(tomllib.loads(example), "docs/hall-config.md")
    assert set(hall.queues) == {"quick_b", "marriage", "consult", "results"}
    assert len(hall.windows) == 20
    assert hall.windows["B24"].name == "综合受理窗口B24"
    assert hall.windows["B33"].name_en == "Help Desk B33"
