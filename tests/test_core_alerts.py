"""Alert rules evaluated in the core (dispatcher/core/alerts.py): each kind raises and
clears, hysteresis keeps a value at the threshold from flapping, an acknowledgement
stays until the alert clears, and replaying the events rebuilds the same alerts."""

from __future__ import annotations

from typing import get_args

import pytest
from tiny_hall import Driver, tiny_hall

from dispatcher.core import Dispatcher, estimate
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.alerts import active_alerts
from dispatcher.hall import AlertKind, Hall, HallConfigError

MIN = 60.0


def driver(*rules: dict) -> Driver:
    return Driver(tiny_hall(alerts=list(rules)))


def check(h: Driver, after: float = 1.0) -> list[ev.Event]:
    return h.do(c.CheckAlerts(), after)


def names(events: list[ev.Event]) -> list[tuple[str, str]]:
    return [(e.NAME, e.id) for e in events if e.NAME.startswith("alert_")]  # type: ignore[attr-defined]


def test_a_ticket_waiting_past_its_queues_threshold_raises_and_its_call_clears() -> None:
    h = driver({"kind": "ticket_overdue", "level": "critical"})
    h.do(c.OpenWindow("W1"))
    ticket = h.issue("q1")
    assert names(check(h, 9 * MIN)) == []
    raised = check(h, 1 * MIN)
    assert names(raised) == [("alert_raised", f"ticket_overdue:{ticket}")]
    alert = raised[-1]
    assert isinstance(alert, ev.AlertRaised)
    assert (alert.rule, alert.level, alert.subject) == ("ticket_overdue", "critical", ticket)
    assert alert.threshold == 10 * MIN  # q1's overdue_minutes
    assert alert.value >= 10 * MIN
    assert check(h) == []  # still overdue: nothing new
    h.call("W1")
    assert names(check(h)) == [("alert_cleared", f"ticket_overdue:{ticket}")]
    assert h.core.state.alerts == {}


def test_a_rules_queue_filter_and_own_threshold() -> None:
    h = driver({"kind": "ticket_overdue", "threshold": 2, "queues": ["q2"]})
    h.issue("q1")
    late = h.issue("q2")
    assert names(check(h, 2 * MIN)) == [("alert_raised", f"ticket_overdue:{late}")]


def test_the_expected_wait_of_a_queue_raises_and_clears_with_hysteresis() -> None:
    # q3 only: a q1 ticket taken now would wait behind W3's q3 line too (the replay)
    h = driver({"kind": "queue_wait", "threshold": 20, "hysteresis": 5, "queues": ["q3"]})
    h.do(c.OpenWindow("W3"))
    tickets = []
    while True:
        tickets.append(h.issue("q3"))
        wait = estimate.queue_status(h.core.hall, h.core.state, h.now + 1)["q3"]["expected_wait_s"]
        events = check(h)
        if wait >= 20 * MIN:
            assert names(events) == [("alert_raised", "queue_wait:q3")]
            break
        assert events == []
    for ticket in reversed(tickets):
        h.do(c.Cancel(ticket, "test"))
        wait = estimate.queue_status(h.core.hall, h.core.state, h.now + 1)["q3"]["expected_wait_s"]
        events = check(h)
        if wait < 15 * MIN:
            assert names(events) == [("alert_cleared", "queue_wait:q3")]
            break
        assert events == [], f"cleared at {wait} s, not below 15 minutes"
    else:
        pytest.fail("the alert never cleared")


def test_a_long_service_raises_and_its_finish_clears() -> None:
    h = driver({"kind": "service_long", "threshold": 15})
    h.do(c.OpenWindow("W1"))
    h.issue("q1")
    h.call("W1")
    h.do(c.StartService("W1"))
    assert check(h, 14 * MIN) == []
    assert names(check(h, 1 * MIN)) == [("alert_raised", "service_long:W1")]
    h.do(c.FinishService("W1"))
    assert names(check(h)) == [("alert_cleared", "service_long:W1")]


def test_a_long_pause_raises_and_resuming_clears() -> None:
    h = driver({"kind": "pause_long", "threshold": 30, "zones": ["Z"]})
    h.do(c.OpenWindow("W2"))
    h.do(c.Pause("W2", "午休"))
    assert check(h, 29 * MIN) == []
    assert names(check(h, 1 * MIN)) == [("alert_raised", "pause_long:W2")]
    h.do(c.Resume("W2"))
    assert names(check(h)) == [("alert_cleared", "pause_long:W2")]


def test_a_window_closed_or_without_a_clerk_while_its_queues_wait() -> None:
    h = driver({"kind": "window_unstaffed", "queues": ["q2"]})
    h.do(c.OpenWindow("W2"))
    h.do(c.SignIn("W2", "clerk-7"))
    assert check(h) == []  # nothing waits
    h.issue("q2")
    assert check(h) == []  # W2 is open with its clerk; W1 has q2 only as side work
    h.do(c.SignIn("W2", ""))
    assert names(check(h)) == [("alert_raised", "window_unstaffed:W2")]
    h.do(c.SignIn("W2", "clerk-8"))
    assert names(check(h)) == [("alert_cleared", "window_unstaffed:W2")]
    h.do(c.CloseWindow("W2"))
    assert names(check(h)) == [("alert_raised", "window_unstaffed:W2")]


def test_hysteresis_keeps_an_alert_at_its_threshold_from_flapping() -> None:
    h = driver({"kind": "window_unstaffed", "threshold": 3, "hysteresis": 1,
                "queues": ["q3"]})
    ids = [h.issue("q3") for _ in range(3)]
    assert names(check(h)) == [("alert_raised", "window_unstaffed:W3")]
    for _ in range(3):  # 2, 3, 2, 3 ... waiting: no event
        h.do(c.Cancel(ids.pop(), "test"))
        assert check(h) == []
        ids.append(h.issue("q3"))
        assert check(h) == []
    h.do(c.Cancel(ids.pop(), "test"))
    h.do(c.Cancel(ids.pop(), "test"))  # 1 waiting: below 3 - 1
    assert names(check(h)) == [("alert_cleared", "window_unstaffed:W3")]
    ids.append(h.issue("q3"))  # 2 waiting: under the threshold, no new alert
    assert check(h) == []


def test_a_printer_low_or_out_of_paper_and_a_statuses_filter() -> None:
    h = driver({"kind": "printer", "statuses": ["paper_near_end"]},
               {"kind": "printer", "name": "printer_stopped", "level": "critical",
                "statuses": ["paper_out", "offline"], "zones": ["Z"]})
    h.do(c.ReportDevice("K1/printer", "paper_near_end"))
    h.do(c.ReportDevice("K1", "paper_out"))  # not a printer part
    assert names(check(h)) == [("alert_raised", "printer:K1/printer")]
    h.do(c.ReportDevice("K1/printer", "paper_out"))
    assert names(check(h)) == [("alert_cleared", "printer:K1/printer"),
                               ("alert_raised", "printer_stopped:K1/printer")]
    h.do(c.ReportDevice("K2/printer", "offline", "状态未知 no status answer"))
    assert check(h) == []  # K2 is in zone Y
    h.do(c.ReportDevice("K1/printer", "ok"))
    assert names(check(h)) == [("alert_cleared", "printer_stopped:K1/printer")]


def test_a_device_offline_longer_than_its_threshold() -> None:
    h = driver({"kind": "device_offline", "threshold": 60})
    h.do(c.ReportDevice("LED-1/W1", "offline", "no answer"))
    assert check(h, 59) == []  # 59 s after the report
    assert names(check(h, 1)) == [("alert_raised", "device_offline:LED-1/W1")]
    h.do(c.ReportDevice("LED-1/W1", "ok"))
    assert names(check(h)) == [("alert_cleared", "device_offline:LED-1/W1")]


def test_an_acknowledged_alert_stays_acknowledged_until_it_clears() -> None:
    h = driver({"kind": "pause_long", "threshold": 1})
    h.do(c.OpenWindow("W1"))
    h.do(c.Pause("W1", "午休"))
    check(h, MIN)
    assert names(h.do(c.AcknowledgeAlert("pause_long:W1"))) == [
        ("alert_acknowledged", "pause_long:W1")]
    acknowledged = h.core.state.alerts["pause_long:W1"].acknowledged_at
    assert acknowledged == h.now
    assert h.do(c.AcknowledgeAlert("pause_long:W1")) == []  # the first one stays
    assert check(h, MIN) == []
    assert h.core.state.alerts["pause_long:W1"].acknowledged_at == acknowledged
    h.do(c.Resume("W1"))
    check(h)
    h.do(c.Pause("W1", "午休"))
    raised = check(h, MIN)
    assert names(raised) == [("alert_raised", "pause_long:W1")]
    assert h.core.state.alerts["pause_long:W1"].acknowledged_at is None
    h.rejects(c.AcknowledgeAlert("pause_long:W2"), "unknown_alert")


def test_the_state_rebuilt_from_the_events_has_the_same_alerts() -> None:
    h = driver({"kind": "ticket_overdue"}, {"kind": "pause_long", "threshold": 5},
               {"kind": "device_offline", "threshold": 30})
    h.do(c.OpenWindow("W1"))
    h.do(c.OpenWindow("W2"))
    h.issue("q1")
    h.issue("q2")
    h.do(c.Pause("W2", "午休"))
    h.do(c.ReportDevice("K1/printer", "offline"))
    check(h, 11 * MIN)
    h.do(c.AcknowledgeAlert("pause_long:W2"))
    h.call("W1")
    check(h)
    assert len(h.core.state.alerts) == 3
    replayed = Dispatcher.replay(h.core.hall, h.log)
    assert replayed.state.to_dict() == h.core.state.to_dict()
    assert active_alerts(h.core.hall, replayed.state, h.now).keys() == h.core.state.alerts.keys()


def test_the_close_of_day_clears_every_alert() -> None:
    h = driver({"kind": "ticket_overdue"})
    h.issue("q1")
    check(h, 11 * MIN)
    assert h.core.state.alerts
    h.do(c.CloseDay())
    assert h.core.state.alerts == {}


# ---------------------------------------------------------------- the hall file


@pytest.mark.parametrize(("rule", "message"), [
    ({"kind": "too_hot"}, "alerts[0].kind: 'too_hot' is not one of"),
    ({"kind": "pause_long"}, "alerts[0].threshold: required key is missing (minutes)"),
    ({"kind": "device_offline"}, "alerts[0].threshold: required key is missing (seconds)"),
    ({"kind": "pause_long", "threshold": 5, "hysteresis": 5},
     "alerts[0].hysteresis: must be less than the threshold (5 minutes), got 5"),
    ({"kind": "printer", "threshold": 1}, "alerts[0].threshold: a printer rule has no "
     "threshold"),
    ({"kind": "ticket_overdue", "queues": ["q9"]}, "alerts[0].queues[0]: unknown queue 'q9'"),
    ({"kind": "printer", "queues": ["q1"]}, "alerts[0].queues: a printer rule has no queue"),
    ({"kind": "queue_wait", "zones": ["X"]}, "alerts[0].zones[0]: unknown zone 'X'"),
    ({"kind": "queue_wait", "statuses": ["paper_out"]},
     "alerts[0].statuses: only a printer rule has statuses"),
    ({"kind": "queue_wait", "level": "panic"}, "alerts[0].level: 'panic' is not one of"),
    ({"kind": "queue_wait", "threshold": "10"}, "alerts[0].threshold: expected a number"),
])
def test_a_bad_alert_rule_is_refused_at_load_in_one_line(rule: dict, message: str) -> None:
    with pytest.raises(HallConfigError) as info:
        tiny_hall(alerts=[rule])
    assert str(info.value).startswith(f"tiny.toml: {message}"), str(info.value)
    assert "\n" not in str(info.value)


def test_two_rules_of_one_kind_need_their_own_names() -> None:
    with pytest.raises(HallConfigError) as info:
        tiny_hall(alerts=[{"kind": "ticket_overdue"},
                          {"kind": "ticket_overdue", "threshold": 60}])
    assert str(info.value).startswith("tiny.toml: alerts[1].name: rule 'ticket_overdue' is "
                                      "already alerts[0]")
    hall = tiny_hall(alerts=[{"kind": "ticket_overdue"},
                             {"kind": "ticket_overdue", "name": "very", "threshold": 60}])
    assert [(r.name, r.threshold) for r in hall.alerts] == [("ticket_overdue", None),
                                                             ("very", 3600.0)]


def test_the_sample_hall_has_alert_rules(sample_hall: Hall) -> None:
    kinds = {r.kind for r in sample_hall.alerts}
    assert kinds == {"ticket_overdue", "queue_wait", "service_long", "pause_long",
                     "window_unstaffed", "printer", "device_offline", "case_overdue"}
    assert kinds == set(get_args(AlertKind)), "a rule of every kind"
