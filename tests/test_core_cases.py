"""差评 follow-up cases (pure core, the sample hall: a rating of 2 or 1 opens a case;
contact within 1 working day, close within 15; Mon–Fri, last period ends 17:00)."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest
from conftest import hall_time
from tiny_hall import Driver

from dispatcher.core import Dispatcher
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.cases import working_day_end
from dispatcher.hall import SAMPLE_HALL, Hall, HallConfigError, parse_hall


def served(d: Driver, window: str = "B01") -> str:
    """A quick_b ticket served and finished at ``window`` by clerk-017."""
    ticket = d.do(c.IssueTicket("quick_b", zone="B"))[-1].ticket
    if d.core.state.windows[window].state == "closed":
        d.do(c.OpenWindow(window))
        d.do(c.SignIn(window, "clerk-017"))
    d.do(c.CallTicket(window, ticket))
    d.do(c.FinishService(window))
    return ticket


def opened(events: list[ev.Event]) -> list[ev.CaseOpened]:
    return [e for e in events if isinstance(e, ev.CaseOpened)]


def case_alerts(events: list[ev.Event]) -> list[tuple[str, str]]:
    return [(e.NAME, e.id) for e in events
            if isinstance(e, ev.AlertRaised | ev.AlertCleared) and e.id.startswith("case_")]


@pytest.fixture
def d(sample_hall: Hall) -> Driver:
    return Driver(sample_hall, start="10:00")      # Monday 2026-11-23


# ------------------------------------------------------------------ opening


@pytest.mark.parametrize("level, opens", [(1, True), (2, True), (3, False), (5, False)])
def test_a_low_rating_opens_a_case_in_the_same_decision(d: Driver, level: int,
                                                        opens: bool) -> None:
    ticket = served(d)
    events = d.do(c.Evaluate(ticket, level, reason="态度不好" if opens else ""))
    assert isinstance(events[0], ev.TicketEvaluated)
    assert len(opened(events)) == int(opens)
    assert len(d.core.state.cases) == int(opens)


def test_the_case_names_ticket_window_clerk_level_reason_and_deadlines(
        d: Driver, sample_hall: Hall) -> None:
    ticket = served(d)
    [case] = opened(d.do(c.Evaluate(ticket, 1, reason="等了太久")))
    assert (case.case, case.ticket, case.number, case.window, case.clerk, case.level,
            case.reason) == ("C-20261123-001", ticket, "B001", "B01", "clerk-017", 1, "等了太久")
    assert case.contact_by == hall_time(sample_hall, "17:00", "2026-11-24")   # Tuesday
    assert case.close_by == hall_time(sample_hall, "17:00", "2026-12-14")     # 15 working days
    view = d.core.state.cases[case.case].view()
    assert view["state"] == "open" and view["steps"] == [] and view["opened_at"] == case.at
    second = served(d)
    assert opened(d.do(c.Evaluate(second, 2)))[0].case == "C-20261123-002"


@pytest.mark.parametrize("day, days, due_day", [
    ("2026-11-27", 1, "2026-11-30"),     # Friday: contact by Monday
    ("2026-11-28", 0, "2026-11-30"),     # Saturday, same working day: Monday
    ("2026-11-23", 0, "2026-11-23"),     # Monday, same day
    ("2026-11-23", 5, "2026-11-30"),
])
def test_working_days_skip_the_days_the_hall_is_shut(sample_hall: Hall, day: str, days: int,
                                                     due_day: str) -> None:
    assert working_day_end(sample_hall, day, days) == hall_time(sample_hall, "17:00", due_day)


def test_a_hall_without_cases_opens_none(sample_hall: Hall) -> None:
    raw = tomllib.loads(SAMPLE_HALL.read_text(encoding="utf-8"))
    del raw["cases"]
    d = Driver(parse_hall(raw, "no-cases.toml"), start="10:00")
    assert opened(d.do(c.Evaluate(served(d), 1))) == []


def test_close_before_contact_deadline_is_refused_at_load() -> None:
    raw = tomllib.loads(SAMPLE_HALL.read_text(encoding="utf-8"))
    broken = copy.deepcopy(raw)
    broken["cases"]["close_within_days"] = 0
    with pytest.raises(HallConfigError) as info:
        parse_hall(broken, "sample.toml")
    assert info.value.key == "cases.close_within_days"
    broken = copy.deepcopy(raw)
    broken["cases"]["open_at_or_below"] = 6
    with pytest.raises(HallConfigError) as info:
        parse_hall(broken, "sample.toml")
    assert info.value.key == "cases.open_at_or_below" and "5 or less" in info.value.reason


# ------------------------------------------------------------------ steps


def open_case(d: Driver) -> str:
    return opened(d.do(c.Evaluate(served(d), 2, reason="没说清楚")))[0].case


def test_steps_go_contacted_rectified_closed_with_who_and_when(d: Driver) -> None:
    case = open_case(d)
    for step in ("contacted", "rectified", "closed"):
        [updated] = d.do(c.UpdateCase(case, step, note=f" {step} 说明 ", by="staff-001"))
        assert updated == ev.CaseUpdated(d.now, case, step, f"{step} 说明", "staff-001")
    view = d.core.state.cases[case].view()
    assert view["state"] == "closed"
    assert [(s["step"], s["by"]) for s in view["steps"]] == [
        ("contacted", "staff-001"), ("rectified", "staff-001"), ("closed", "staff-001")]


def test_rectified_is_optional(d: Driver) -> None:
    case = open_case(d)
    d.do(c.UpdateCase(case, "contacted"))
    d.do(c.UpdateCase(case, "closed"))
    assert d.core.state.cases[case].state == "closed"


@pytest.mark.parametrize("done, step", [
    ((), "closed"), ((), "rectified"), (("contacted",), "contacted"),
    (("contacted", "closed"), "rectified"), (("contacted", "closed"), "closed"),
    (("contacted", "rectified"), "rectified"),
])
def test_steps_out_of_order_are_refused_and_change_nothing(d: Driver, done: tuple[str, ...],
                                                           step: str) -> None:
    case = open_case(d)
    for s in done:
        d.do(c.UpdateCase(case, s))
    err = d.rejects(c.UpdateCase(case, step), "case_step_out_of_order")
    assert case in err.message and step in err.message


def test_unknown_case_step_or_long_note_is_refused(d: Driver) -> None:
    case = open_case(d)
    d.rejects(c.UpdateCase("C-20261123-099", "contacted"), "unknown_case")
    assert d.rejects(c.UpdateCase(case, "apologised"), "bad_argument").details["field"] == "step"
    assert d.rejects(c.UpdateCase(case, "contacted", note="x" * 201),
                     "bad_argument").details["field"] == "note"


# ------------------------------------------------------- the next day, alerts


def test_open_cases_outlive_the_day_and_closed_ones_do_not(d: Driver,
                                                           sample_hall: Hall) -> None:
    still_open, done = open_case(d), open_case(d)
    d.do(c.UpdateCase(still_open, "contacted", by="staff-001"))
    d.do(c.UpdateCase(done, "contacted"))
    d.do(c.UpdateCase(done, "closed"))
    d.now = hall_time(sample_hall, "09:00", "2026-11-24")
    events = d.do(c.OpenWindow("B01"))
    opened_day = next(e for e in events if isinstance(e, ev.DayOpened))
    assert [x["id"] for x in opened_day.cases] == [still_open]
    assert list(d.core.state.cases) == [still_open]
    assert d.core.state.cases[still_open].steps[0]["by"] == "staff-001"
    # today's events alone rebuild it (a restart replays from the last day_opened)
    today = d.log[d.log.index(opened_day):]
    again = Dispatcher.replay(sample_hall, today)
    assert again.state.to_dict()["cases"] == d.core.state.to_dict()["cases"]
    # and it goes on: closed the next day; new cases number from 001 again
    d.do(c.UpdateCase(still_open, "closed"))
    assert open_case(d) == "C-20261124-001"


def test_an_overdue_case_raises_an_alert_until_its_step_is_taken(
        d: Driver, sample_hall: Hall) -> None:
    case = open_case(d)
    assert case_alerts(d.do(c.CheckAlerts())) == []
    d.now = hall_time(sample_hall, "17:00", "2026-11-24") - 2      # just before the deadline
    assert case_alerts(d.do(c.CheckAlerts())) == []                 # (a new day: opened)
    assert case_alerts(d.do(c.CheckAlerts(), after=3)) == [
        ("alert_raised", f"case_overdue:{case}")]
    d.do(c.UpdateCase(case, "contacted"))
    assert case_alerts(d.do(c.CheckAlerts())) == [("alert_cleared", f"case_overdue:{case}")]
    d.now = hall_time(sample_hall, "17:00", "2026-12-14")           # the close deadline
    assert case_alerts(d.do(c.CheckAlerts())) == [("alert_raised", f"case_overdue:{case}")]
    d.do(c.UpdateCase(case, "closed"))
    assert case_alerts(d.do(c.CheckAlerts())) == [("alert_cleared", f"case_overdue:{case}")]


def test_an_overdue_case_alerts_again_after_the_next_day_opens(d: Driver,
                                                              sample_hall: Hall) -> None:
    case = open_case(d)
    d.now = hall_time(sample_hall, "17:30", "2026-11-24")
    assert case_alerts(d.do(c.CheckAlerts())) == [("alert_raised", f"case_overdue:{case}")]
    d.now = hall_time(sample_hall, "09:00", "2026-11-25")           # the day drops alerts
    d.do(c.OpenWindow("B01"))
    assert d.core.state.alerts == {}
    assert case_alerts(d.do(c.CheckAlerts())) == [("alert_raised", f"case_overdue:{case}")]


def test_the_day_opened_of_an_older_store_carries_no_cases() -> None:
    old = {"name": "day_opened", "at": 1.0, "day": "2026-11-23"}
    assert ev.event_from_dict(old) == ev.DayOpened(1.0, "2026-11-23", ())


def test_a_case_view_round_trips_through_day_opened(d: Driver) -> None:
    case = open_case(d)
    d.do(c.UpdateCase(case, "contacted", note="电话", by="staff-002"))
    event = ev.DayOpened(d.now, "2026-11-24", (d.core.state.cases[case].view(),))
    back: Any = ev.event_from_dict(event.to_dict())
    assert back == event
