"""统计报表 against hand-computed values: a small fixed event log, on SQLite and PostgreSQL.

The hall: zone Z (kiosk K1; windows W1, W2) and zone Y (kiosk K2; window W3), open
00:00–23:59 every day (86,340 s a day); queues q1 (马上办, prefix A, outcome required,
offered in both zones), q2 (prefix S) and q3 (prefix C); every target 10 minutes. Day 1
(2026-11-23), times from 09:00:

- A001 (K1, Z) issued 09:00, called W1 09:05, started 09:06, finished 09:10 "done",
  rated 5: wait 300 s, service 240 s, W1 held it 300 s.
- A002 (K2, Y) issued 09:01, called W1 09:11 (wait 600 s = the target: within),
  no-show 09:12 (60 s), re-queued 09:13, called again 09:14, finished 09:15 "consult"
  (service 60 s from the call, 60 s held), rated 2: a case, contacted and closed.
- S001 (K1, Z), the only ticket of q2: issued 09:02, called W2 09:20 (wait 1,080 s:
  overdue), held 09:21 (60 s), called back 09:23, started 09:24, finished 09:30 (360 s;
  held 420 s).
- C001 (K2, Y, q3) issued 09:30, never called: waits until the day closes at 10:00
  (1,800 s), left.
- A003 (K1, Z) issued 09:31, cancelled 09:36 while waiting (300 s).
- A004 (K2, Y, green) issued 09:40, called W3 09:42 (wait 120 s), transferred to q2
  09:43 (W3 held it 60 s), called W2 09:45 (clerk-c signed in there at 09:44), started
  09:46, finished 09:50 (240 s; held 300 s), rated 1: a case never closed, overdue
  (cases close within 0 working days: by 23:59).

Day 2 (2026-11-24) opens at 09:00 and closes at 09:30 without a ticket.
Clerks: clerk-a at W1, clerk-b at W2 until clerk-c at 09:44; nobody at W3.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import hall_time

from dispatcher.core import commands as c
from dispatcher.hall import Hall, parse_hall
from dispatcher.reports import Period, Report, build_report
from dispatcher.service import HallService
from dispatcher.stats import percentile, rank

DAY1, DAY2 = "2026-11-23", "2026-11-24"
OPEN_S = 86340.0     # 00:00–23:59
MIN = 60.0


def report_hall() -> Hall:
    queue = {"zones": ["Z"], "overdue_minutes": 10, "service_minutes": 5}
    raw = {
        "hall": {"name": "测试大厅", "name_en": "Test Hall", "timezone": "Asia/Shanghai",
                 "day_reset": "03:00",
                 "hours": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                           "periods": ["00:00-23:59"]}},
        "zones": {"Z": {"name": "甲区", "name_en": "Zone Z", "kiosks": ["K1"]},
                  "Y": {"name": "乙区", "name_en": "Zone Y", "kiosks": ["K2"]}},
        "outcomes": {"done": {"name": "已办结", "name_en": "Done"},
                     "consult": {"name": "仅咨询", "name_en": "Consultation"}},
        "cases": {"open_at_or_below": 2, "contact_within_days": 0, "close_within_days": 0},
        "queues": {
            "q1": {**queue, "name": "马上办", "name_en": "Quick", "kind": "big_loop",
                   "prefix": "A", "zones": ["Z", "Y"], "outcome_required": True},
            "q2": {**queue, "name": "税务", "name_en": "Tax", "kind": "unit", "prefix": "S"},
            "q3": {**queue, "name": "咨询", "name_en": "Help", "kind": "line", "prefix": "C",
                   "zones": ["Z", "Y"]},
        },
        "profiles": {"p1": {"main": ["q1"]}, "p2": {"main": ["q2", "q3"]},
                     "p3": {"main": ["q1"]}},
        "windows": [
            {"ids": "W1", "name": "窗口W1", "zone": "Z", "profile": "p1"},
            {"ids": "W2", "name": "窗口W2", "zone": "Z", "profile": "p2"},
            {"ids": "W3", "name": "窗口W3", "zone": "Y", "profile": "p3"},
        ],
        "classes": {"appointment_credit_minutes": 10, "green_credit_minutes": 0},
        "rules": {"requeue_after": 0, "max_requeues": 2},
    }
    return parse_hall(raw, "report-test.toml")


def play(hall: Hall, url: str) -> None:
    day1 = [
        ("09:00:00", c.SignIn("W1", "clerk-a")), ("09:00:00", c.SignIn("W2", "clerk-b")),
        ("09:00:00", c.OpenWindow("W1")), ("09:00:00", c.OpenWindow("W2")),
        ("09:00:00", c.OpenWindow("W3")),
        ("09:00:00", c.IssueTicket("q1", zone="Z")), ("09:01:00", c.IssueTicket("q1", zone="Y")),
        ("09:02:00", c.IssueTicket("q2", zone="Z")),
        ("09:05:00", c.CallNext("W1")), ("09:06:00", c.StartService("W1")),
        ("09:10:00", c.FinishService("W1", outcome="done")),
        ("09:10:30", c.Evaluate("20261123-A001", 5)),
        ("09:11:00", c.CallNext("W1")), ("09:12:00", c.NoShow("W1")),
        ("09:13:00", c.Requeue("20261123-A002")), ("09:14:00", c.CallNext("W1")),
        ("09:15:00", c.FinishService("W1", outcome="consult")),
        ("09:15:30", c.Evaluate("20261123-A002", 2)),
        ("09:16:00", c.UpdateCase("C-20261123-001", "contacted")),
        ("09:17:00", c.UpdateCase("C-20261123-001", "closed")),
        ("09:20:00", c.CallNext("W2")), ("09:21:00", c.Hold("W2")),
        ("09:23:00", c.CallBack("W2", "20261123-S001")), ("09:24:00", c.StartService("W2")),
        ("09:30:00", c.FinishService("W2")),
        ("09:30:00", c.IssueTicket("q3", zone="Y")), ("09:31:00", c.IssueTicket("q1", zone="Z")),
        ("09:36:00", c.Cancel("20261123-A003", "left the hall")),
        ("09:40:00", c.IssueTicket("q1", "green", zone="Y")),
        ("09:42:00", c.CallNext("W3")), ("09:43:00", c.Transfer("20261123-A004", to_queue="q2")),
        ("09:44:00", c.SignIn("W2", "clerk-c")),
        ("09:45:00", c.CallTicket("W2", "20261123-A004")), ("09:46:00", c.StartService("W2")),
        ("09:50:00", c.FinishService("W2")), ("09:50:30", c.Evaluate("20261123-A004", 1)),
        ("10:00:00", c.CloseDay()),
    ]
    day2 = [("09:00:00", c.OpenWindow("W1")), ("09:30:00", c.CloseDay())]
    kiosk = {"Z": "K1", "Y": "K2"}
    with HallService.open(hall, url) as service:
        for day, commands in ((DAY1, day1), (DAY2, day2)):
            for hhmm, command in commands:
                device = kiosk[command.zone] if isinstance(command, c.IssueTicket) else "test"
                service.execute(command, hall_time(hall, hhmm, day), device=device)


@pytest.fixture(scope="module")
def hall() -> Hall:
    return report_hall()


@pytest.fixture
def played(db_url: str, hall: Hall) -> sa.Engine:
    play(hall, db_url)
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


def row(report: Report, grouping: str, key: str, bucket: str = DAY1) -> dict:
    found = [r for r in report.table(grouping) if (r.bucket, r.key) == (bucket, key)]
    assert len(found) == 1, (grouping, key, bucket, [(r.bucket, r.key) for r in
                                                     report.table(grouping)])
    return found[0].values


def check(values: dict, expected: dict) -> None:
    """Every column of the row: the expected ones as given, the rest zero or none."""
    for key, value in values.items():
        want = expected.get(key, None if key in NONE_BY_DEFAULT else 0)
        if isinstance(want, float):
            assert value == pytest.approx(want, rel=1e-12, abs=1e-12), key
        else:
            assert value == want, key
    assert set(expected) <= set(values), set(expected) - set(values)


NONE_BY_DEFAULT = {"service_mean", "service_p90", "satisfaction", "utilisation", "spread"}


def test_percentile_is_nearest_rank_on_one_two_and_three_values() -> None:
    assert [percentile([7.0], p) for p in (0, 50, 90, 100)] == [7.0] * 4
    assert [percentile([3.0, 1.0], p) for p in (50, 90, 100)] == [1.0, 3.0, 3.0]
    assert [percentile([5.0, 1.0, 3.0], p) for p in (33, 34, 50, 67, 90)] == \
        [1.0, 3.0, 3.0, 5.0, 5.0]
    assert rank(90, 70) == 63          # not 64: 0.9 * 70 is 63.00000000000001
    assert rank(50, 2) == 1 and rank(90, 10) == 9 and rank(0, 5) == 1
    with pytest.raises(ValueError):
        percentile([], 50)


def test_every_figure_of_a_small_log_by_hand(played: sa.Engine, hall: Hall) -> None:
    from datetime import date

    report = build_report(played, hall, Period(date(2026, 11, 23), date(2026, 11, 24), "day"))
    assert report.asof == hall_time(hall, "09:30", DAY2)
    outcomes = {"outcome:done": 1, "outcome:consult": 1}
    check(row(report, "hall", ""), {
        "issued": 6, "called": 4, "served": 4, "no_show": 1, "requeued": 1, "transferred": 1,
        "cancelled": 1, "held": 1, "left": 1, "overdue": 2, "within": 0.5,
        "wait_mean": 700 / MIN, "wait_p50": 5.0, "wait_p90": 30.0, "wait_max": 30.0,
        "service_mean": 3.75, "service_p90": 6.0, **outcomes,
        "rated": 3, "r5": 1, "r2": 1, "r1": 1, "satisfaction": 1 / 3,
        "cases_opened": 2, "cases_closed": 1, "cases_overdue": 1,
        "utilisation": (420 + 780 + 60) / 3 / OPEN_S, "spread": (780 - 60) / OPEN_S})
    check(row(report, "zone", "Z"), {
        "issued": 3, "called": 2, "served": 2, "cancelled": 1, "held": 1, "overdue": 1,
        "within": 1 / 3, "wait_mean": 560 / MIN, "wait_p50": 5.0, "wait_p90": 18.0,
        "wait_max": 18.0, "service_mean": 5.0, "service_p90": 6.0, "outcome:done": 1,
        "rated": 1, "r5": 1, "satisfaction": 1.0,
        "utilisation": (420 + 780) / 2 / OPEN_S, "spread": (780 - 420) / OPEN_S})
    check(row(report, "zone", "Y"), {
        "issued": 3, "called": 2, "served": 2, "no_show": 1, "requeued": 1, "transferred": 1,
        "left": 1, "overdue": 1, "within": 2 / 3, "wait_mean": 840 / MIN, "wait_p50": 10.0,
        "wait_p90": 30.0, "wait_max": 30.0, "service_mean": 2.5, "service_p90": 4.0,
        "outcome:consult": 1, "rated": 2, "r2": 1, "r1": 1, "satisfaction": 0.0,
        "cases_opened": 2, "cases_closed": 1, "cases_overdue": 1,
        "utilisation": 60 / OPEN_S, "spread": 0.0})
    q1 = {"issued": 4, "called": 3, "served": 3, "no_show": 1, "requeued": 1, "transferred": 1,
          "cancelled": 1, "within": 0.75, "wait_mean": 330 / MIN, "wait_p50": 5.0,
          "wait_p90": 10.0, "wait_max": 10.0, "service_mean": 3.0, "service_p90": 4.0,
          **outcomes, "rated": 3, "r5": 1, "r2": 1, "r1": 1, "satisfaction": 1 / 3,
          "cases_opened": 2, "cases_closed": 1, "cases_overdue": 1}
    check(row(report, "queue", "q1"), q1)
    check(row(report, "loop", "big loop"), q1)
    one = {"issued": 1, "called": 1, "served": 1, "held": 1, "overdue": 1, "within": 0.0,
           "wait_mean": 18.0, "wait_p50": 18.0, "wait_p90": 18.0, "wait_max": 18.0,
           "service_mean": 6.0, "service_p90": 6.0}
    check(row(report, "queue", "q2"), one)           # the queue with one ticket
    check(row(report, "loop", "small loop"), one)
    left = {"issued": 1, "left": 1, "overdue": 1, "within": 0.0, "wait_mean": 30.0,
            "wait_p50": 30.0, "wait_p90": 30.0, "wait_max": 30.0}
    check(row(report, "queue", "q3"), left)
    check(row(report, "class", "green"), {
        "issued": 1, "called": 1, "served": 1, "transferred": 1, "within": 1.0,
        "wait_mean": 2.0, "wait_p50": 2.0, "wait_p90": 2.0, "wait_max": 2.0,
        "service_mean": 4.0, "service_p90": 4.0, "rated": 1, "r1": 1, "satisfaction": 0.0,
        "cases_opened": 1, "cases_overdue": 1})
    assert row(report, "class", "normal")["issued"] == 5
    # windows and clerks: the tickets they finished (issued is not theirs to count)
    check(row(report, "window", "W1"), {
        "issued": None, "called": 2, "served": 2, "no_show": 1, "requeued": 1,
        "within": 1.0, "wait_mean": 7.5, "wait_p50": 5.0, "wait_p90": 10.0, "wait_max": 10.0,
        "service_mean": 2.5, "service_p90": 4.0, **outcomes, "rated": 2, "r5": 1, "r2": 1,
        "satisfaction": 0.5, "cases_opened": 1, "cases_closed": 1,
        "utilisation": 420 / OPEN_S})
    w2 = {"issued": None, "called": 2, "served": 2, "held": 1, "transferred": 1,
          "overdue": 1, "within": 0.5, "wait_mean": 10.0, "wait_p50": 2.0, "wait_p90": 18.0,
          "wait_max": 18.0, "service_mean": 5.0, "service_p90": 6.0, "rated": 1, "r1": 1,
          "satisfaction": 0.0, "cases_opened": 1, "cases_overdue": 1,
          "utilisation": 780 / OPEN_S}
    check(row(report, "window", "W2"), w2)
    assert not [r for r in report.table("window") if r.key == "W3"]   # finished nothing
    assert {r.key for r in report.table("clerk")} == {"clerk-a", "clerk-b", "clerk-c"}
    check(row(report, "clerk", "clerk-b"), {
        "issued": None, "called": 1, "served": 1, "held": 1, "overdue": 1, "within": 0.0,
        "wait_mean": 18.0, "wait_p50": 18.0, "wait_p90": 18.0, "wait_max": 18.0,
        "service_mean": 6.0, "service_p90": 6.0})
    assert row(report, "clerk", "clerk-c")["rated"] == 1
    # the day with no tickets: no rows, but its windows were open all day and idle
    assert not [r for r in report.rows if r.bucket == DAY2]
    busy = {(u.bucket, u.window): u.busy_hours * 3600 for u in report.usage}
    assert busy == pytest.approx({(DAY1, "W1"): 420, (DAY1, "W2"): 780, (DAY1, "W3"): 60,
                                  (DAY2, "W1"): 0, (DAY2, "W2"): 0, (DAY2, "W3"): 0})
    assert {u.open_hours * 3600 for u in report.usage} == {OPEN_S}
    day2 = [s for s in report.spreads if s.bucket == DAY2]
    assert [(s.zone, s.mean, s.spread) for s in day2] == [("", 0, 0), ("Z", 0, 0), ("Y", 0, 0)]
    assert [(h.weekday, h.hour, h.arrivals) for h in report.hourly] == [(0, 9, 6)]
    assert report.hourly[0].wait_mean == pytest.approx(700 / MIN)
    assert [(w.week, w.rated, w.satisfied, w.low) for w in report.weekly] == \
        [("2026-W48", 3, 1, 2)]


def test_a_month_counts_both_days_open(played: sa.Engine, hall: Hall) -> None:
    from datetime import date

    report = build_report(played, hall, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert {r.bucket for r in report.rows} == {"2026-11"}
    hall_row = row(report, "hall", "", "2026-11")
    assert (hall_row["issued"], hall_row["wait_p90"]) == (6, 30.0)
    assert hall_row["utilisation"] == pytest.approx((420 + 780 + 60) / 3 / (2 * OPEN_S))


def test_a_period_without_a_business_day(played: sa.Engine, hall: Hall) -> None:
    from datetime import date

    report = build_report(played, hall, Period(date(2026, 12, 1), date(2026, 12, 31)))
    assert report.asof is None and report.rows == [] and report.usage == []


def test_a_day_still_open_counts_its_waiting_tickets_up_to_the_last_event(
        db_url: str, hall: Hall) -> None:
    """Today, before 日结: a ticket not yet called has waited until the log's last event."""
    from datetime import date

    with HallService.open(hall, db_url) as service:
        for hhmm, command in (("09:00", c.OpenWindow("W1")),
                              ("09:10", c.IssueTicket("q1", zone="Z")),
                              ("09:25", c.OpenWindow("W2"))):
            service.execute(command, hall_time(hall, hhmm, DAY1), device="K1")
    engine = sa.create_engine(db_url)
    try:
        day = date(2026, 11, 23)
        by_week = build_report(engine, hall, Period(day, day, "week"))
    finally:
        engine.dispose()
    values = row(by_week, "hall", "", "2026-W48")
    assert (values["issued"], values["left"], values["called"]) == (1, 1, 0)
    assert values["wait_max"] == 15.0 and values["within"] == 0.0
