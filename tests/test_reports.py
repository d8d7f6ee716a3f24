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
Clerks: clerk-a at W1, clerk-b at W2 until clerk-c at 09:44; clerk-d at W3, who
finishes nothing (nor does W3: the ticket it called was transferred away).

By day over both days, every table has a row of zeros for a key that had no ticket
(day 2's queues, W3, clerk-d), the period's total per key, and its total row.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import hall_time

from dispatcher.core import commands as c
from dispatcher.hall import Hall, parse_hall
from dispatcher.reports import Period, Report, build_report
from dispatcher.reports.figures import ALL, TOTAL
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
                   "prefix": "A", "zones": ["Z", "Y"], "outcome_required": True,
                   "cross_zone": True},
            "q2": {**queue, "name": "税务", "name_en": "Tax", "kind": "unit", "prefix": "S"},
            "q3": {**queue, "name": "咨询", "name_en": "Help", "kind": "line", "prefix": "C",
                   "zones": ["Z", "Y"], "cross_zone": True},
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
        ("09:00:00", c.SignIn("W3", "clerk-d")),
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
NO_WAITS = dict.fromkeys(("wait_mean", "wait_p50", "wait_p90", "wait_max", "within"))


def test_percentile_is_nearest_rank_on_one_two_and_three_values() -> None:
    assert [percentile([7.0], p) for p in (0, 50, 90, 100)] == [7.0] * 4
    assert [percentile([3.0, 1.0], p) for p in (50, 90, 100)] == [1.0, 3.0, 3.0]
    assert [percentile([5.0, 1.0, 3.0], p) for p in (33, 34, 50, 67, 90)] == \
        [1.0, 3.0, 3.0, 5.0, 5.0]
    assert rank(7, 100) == 7           # not 8: 0.07 * 100 is 7.000000000000001
    assert rank(90, 70) == 63
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
    # W3 was open and held A004 a minute, clerk-d was signed in there: neither finished
    check(row(report, "window", "W3"), {"issued": None, **NO_WAITS, "utilisation": 60 / OPEN_S})
    check(row(report, "clerk", "clerk-d"), {"issued": None, **NO_WAITS})
    assert [r.key for r in report.table("clerk")] == [
        "clerk-a", "clerk-b", "clerk-c", "clerk-d",            # day 1 (nobody signed in on day 2)
        "clerk-a", "clerk-b", "clerk-c", "clerk-d", ALL]       # the period's totals
    check(row(report, "clerk", "clerk-b"), {
        "issued": None, "called": 1, "served": 1, "held": 1, "overdue": 1, "within": 0.0,
        "wait_mean": 18.0, "wait_p50": 18.0, "wait_p90": 18.0, "wait_max": 18.0,
        "service_mean": 6.0, "service_p90": 6.0})
    assert row(report, "clerk", "clerk-c")["rated"] == 1
    # the day with no tickets: every key of the hall file with zeros, its windows idle
    check(row(report, "hall", "", DAY2), {"issued": 0, **NO_WAITS, "utilisation": 0.0,
                                          "spread": 0.0})
    for queue in ("q1", "q2", "q3"):
        check(row(report, "queue", queue, DAY2), {"issued": 0, **NO_WAITS})
    for window in ("W1", "W2", "W3"):
        check(row(report, "window", window, DAY2), {"issued": None, **NO_WAITS,
                                                    "utilisation": 0.0})
    assert [r.key for r in report.table("zone") if r.bucket == DAY2] == ["Z", "Y"]
    assert [r.key for r in report.table("class") if r.bucket == DAY2] == [
        "normal", "appointment", "green"]
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


def test_the_period_totals_by_hand(played: sa.Engine, hall: Hall) -> None:
    """By day over both days: each key's total over the period, then the table's total
    row, from the rows' own tickets (percentiles recomputed, not a mean of means)."""
    from datetime import date

    report = build_report(played, hall, Period(date(2026, 11, 23), date(2026, 11, 24), "day"))
    for grouping in ("hall", "zone", "queue", "window", "clerk"):
        buckets = [r.bucket for r in report.table(grouping)]
        assert buckets[-1] == TOTAL and TOTAL not in buckets[:buckets.index(TOTAL)]
    assert [r.key for r in report.table("zone") if r.bucket == TOTAL] == ["Z", "Y", ALL]
    assert [r.key for r in report.table("hall") if r.bucket == TOTAL] == [""]
    outcomes = {"outcome:done": 1, "outcome:consult": 1}
    ratings = {"rated": 3, "r5": 1, "r2": 1, "r1": 1, "satisfaction": 1 / 3,
               "cases_opened": 2, "cases_closed": 1, "cases_overdue": 1}
    whole = {"issued": 6, "called": 4, "served": 4, "no_show": 1, "requeued": 1,
             "transferred": 1, "cancelled": 1, "held": 1, "left": 1, "overdue": 2,
             "within": 0.5, "wait_mean": 700 / MIN, "wait_p50": 5.0, "wait_p90": 30.0,
             "wait_max": 30.0, "service_mean": 3.75, "service_p90": 6.0, **outcomes,
             **ratings, "utilisation": (420 + 780 + 60) / 3 / (2 * OPEN_S),
             "spread": (780 - 60) / (2 * OPEN_S)}
    check(row(report, "hall", "", TOTAL), whole)
    check(row(report, "zone", ALL, TOTAL), whole)             # the zones' tickets: the hall's
    check(row(report, "queue", ALL, TOTAL), {k: v for k, v in whole.items()
                                             if k not in ("utilisation", "spread")})
    check(row(report, "zone", "Z", TOTAL), {
        "issued": 3, "called": 2, "served": 2, "cancelled": 1, "held": 1, "overdue": 1,
        "within": 1 / 3, "wait_mean": 560 / MIN, "wait_p50": 5.0, "wait_p90": 18.0,
        "wait_max": 18.0, "service_mean": 5.0, "service_p90": 6.0, "outcome:done": 1,
        "rated": 1, "r5": 1, "satisfaction": 1.0,
        "utilisation": (420 + 780) / 2 / (2 * OPEN_S), "spread": (780 - 420) / (2 * OPEN_S)})
    check(row(report, "window", "W3", TOTAL), {"issued": None, **NO_WAITS,
                                               "utilisation": 60 / (2 * OPEN_S)})
    # the four tickets finished: waits 5, 10, 18, 2 min; service 4, 1, 6, 4 min
    finished = {"issued": None, "called": 4, "served": 4, "no_show": 1, "requeued": 1,
                "transferred": 1, "held": 1, "overdue": 1, "within": 0.75,
                "wait_mean": 8.75, "wait_p50": 5.0, "wait_p90": 18.0, "wait_max": 18.0,
                "service_mean": 3.75, "service_p90": 6.0, **outcomes, **ratings}
    check(row(report, "window", ALL, TOTAL),
          {**finished, "utilisation": (420 + 780 + 60) / (3 * 2 * OPEN_S)})
    check(row(report, "clerk", ALL, TOTAL), finished)
    check(row(report, "clerk", "clerk-d", TOTAL), {"issued": None, **NO_WAITS})


def test_a_month_counts_both_days_open(played: sa.Engine, hall: Hall) -> None:
    from datetime import date

    report = build_report(played, hall, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert {r.bucket for r in report.rows} == {"2026-11", TOTAL}
    assert {r.key for r in report.rows if r.bucket == TOTAL} == {ALL}   # one bucket: no more
    assert not report.table("hall")[1:]
    hall_row = row(report, "hall", "", "2026-11")
    assert (hall_row["issued"], hall_row["wait_p90"]) == (6, 30.0)
    assert hall_row["utilisation"] == pytest.approx((420 + 780 + 60) / 3 / (2 * OPEN_S))
    windows = row(report, "window", ALL, TOTAL)
    assert (windows["served"], windows["wait_p50"], windows["wait_p90"]) == (4, 5.0, 18.0)
    assert windows["utilisation"] == pytest.approx((420 + 780 + 60) / (3 * 2 * OPEN_S))


def test_a_total_recomputes_its_percentiles(db_url: str, hall: Hall) -> None:
    """Day 1: waits of 1, 2 and 9 minutes; day 2: 6. The two days' total is the median
    and p90 of the four waits (2 and 9), not of the days' (2 and 6); the mean 4.5, not 5."""
    from datetime import date

    days = {DAY1: [("09:00", c.IssueTicket("q1", zone="Z")) for _ in range(3)]
            + [step for hhmm in ("09:01", "09:02", "09:09") for step in (
                (hhmm, c.CallNext("W1")), (hhmm, c.FinishService("W1", outcome="done")))],
            DAY2: [("09:00", c.IssueTicket("q1", zone="Z")), ("09:06", c.CallNext("W1")),
                   ("09:06", c.FinishService("W1", outcome="done"))]}
    with HallService.open(hall, db_url) as service:
        for day, steps in days.items():
            for hhmm, command in [("08:59", c.OpenWindow("W1")), *steps, ("10:00", c.CloseDay())]:
                service.execute(command, hall_time(hall, hhmm, day), device="K1")
    engine = sa.create_engine(db_url)
    try:
        report = build_report(engine, hall,
                              Period(date(2026, 11, 23), date(2026, 11, 24), "day"))
    finally:
        engine.dispose()
    waits = ("wait_p50", "wait_p90", "wait_mean", "wait_max")
    for grouping, key in (("hall", ""), ("queue", "q1"), ("window", "W1")):
        figures = {b: [row(report, grouping, key, b)[w] for w in waits]
                   for b in (DAY1, DAY2, TOTAL)}
        assert figures == {DAY1: [2.0, 9.0, 4.0, 9.0], DAY2: [6.0, 6.0, 6.0, 6.0],
                           TOTAL: [2.0, 9.0, 4.5, 9.0]}, grouping
    assert [row(report, "queue", ALL, TOTAL)[w] for w in waits] == [2.0, 9.0, 4.5, 9.0]
    assert row(report, "hall", "", TOTAL)["issued"] == 4


def test_the_database_ranks_as_stats_py(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Groups of 1…150 values (with ties) over two buckets: every percentile the database
    computes, per bucket and over the period, is stats.percentile's, by each road:
    sorted per group (many keys), read off the hall's order (few keys; a grouping's
    total) on SQLite; percentile_disc on PostgreSQL. The
    p7 and p14 are there for floating point: 0.07 × 100 is 7.000000000000001."""
    import random

    from dispatcher.reports import facts, ranks

    monkeypatch.setattr(ranks, "WANTED", {"wait": (7, 14, 50, 90), "service": (90,)})

    rng = random.Random(7)
    sizes = [*range(1, 151), 200, 70 * 7]
    rows = [{"bucket_no": rng.choice((0, 1)), "hall": "", "zone": f"g{n:03d}",
             "class": rng.choice("abc"), "window": rng.choice(["W1", None]),
             "wait": float(rng.randint(0, 3 * n)), "service": rng.random() * 600}
            for n in sizes for _ in range(n)]

    def level(grouping: str, by_bucket: bool, by_key: bool) -> ranks.Level:
        found: dict[ranks.Group, tuple[int, int]] = {}
        for r in rows:
            if r[grouping] is not None:
                group = (r["bucket_no"] if by_bucket else ranks.TOTAL,
                         r[grouping] if by_key else None)
                n = found.get(group, (0, 0))[0] + 1
                found[group] = (n, n)
        return ranks.Level(grouping, by_bucket, by_key, found)

    levels = [level("hall", True, True), level("zone", True, True), level("class", True, True),
              level("hall", False, True), level("zone", False, True),
              level("class", False, True), level("window", False, False)]
    assert len(levels[1].counts) > ranks.FEW >= len(levels[2].counts)
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn, conn.begin():
            facts.scratch.create_all(conn)
            conn.execute(facts.facts_table.insert(), rows)
            found = ranks.percentiles(conn, levels)
            facts.scratch.drop_all(conn)
    finally:
        engine.dispose()
    for lv in levels:
        for group in lv.counts:
            mine = [r for r in rows if r[lv.grouping] is not None
                    and group[0] in (ranks.TOTAL, r["bucket_no"])
                    and group[1] in (None, r[lv.grouping])]
            assert found[lv.grouping, group] == {
                "wait": {p: percentile([r["wait"] for r in mine], p) for p in (7, 14, 50, 90)},
                "service": {90: percentile([r["service"] for r in mine], 90)}}, (lv, group)
