"""办件结果: outcome codes in the hall file, and the core refusing to finish a ticket
of a queue that requires one without it (pure core, the sample hall)."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

import pytest
from tiny_hall import Driver

from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.hall import SAMPLE_HALL, Hall, HallConfigError, hall_layout, parse_hall


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return tomllib.loads(SAMPLE_HALL.read_text(encoding="utf-8"))


def at_window(hall: Hall, window: str, queue: str) -> Driver:
    """The sample hall at 09:30 on a Monday: ``window`` open, holding a ticket of
    ``queue`` it has started serving."""
    d = Driver(hall, start="09:30")
    ticket = d.do(c.IssueTicket(queue, zone=hall.windows[window].zone))[-1].ticket
    d.do(c.OpenWindow(window))
    if queue not in hall.windows[window].profile.queues:   # sent to it by name (转移)
        d.do(c.Transfer(ticket, to_window=window))
    d.do(c.CallNext(window))
    d.do(c.StartService(window))
    return d


def finished(events: list[ev.Event]) -> ev.ServiceFinished:
    [done] = [e for e in events if isinstance(e, ev.ServiceFinished)]
    return done


# ------------------------------------------------------------------ the file


def test_the_sample_hall_defines_the_four_outcomes_and_units_require_one(
        sample_hall: Hall) -> None:
    names = {o.code: (o.name, o.case_number) for o in sample_hall.outcomes.values()}
    assert names == {"done": ("已办结", True), "supplement": ("补正材料", True),
                     "rejected": ("不予受理", False), "consult_only": ("仅咨询", False)}
    required = {q.id for q in sample_hall.queues.values() if q.outcome_required}
    assert required == {q.id for q in sample_hall.queues.values() if q.kind == "unit"}
    defaults = {w.id: w.default_outcome for w in sample_hall.windows.values()
                if w.default_outcome}
    assert defaults == {"B03": "consult_only", "B04": "consult_only"}  # the keypads'
    layout = hall_layout(sample_hall)
    assert layout["outcomes"]["done"] == {"name": "已办结", "name_en": "Done",
                                          "case_number": True}
    assert layout["queues"]["tax"]["outcome_required"] is True
    assert layout["queues"]["quick_b"]["outcome_required"] is False


def _broken(raw: dict[str, Any], change: Any) -> HallConfigError:
    changed = copy.deepcopy(raw)
    change(changed)
    with pytest.raises(HallConfigError) as info:
        parse_hall(changed, "sample.toml")
    return info.value


def _window_group(raw: dict[str, Any], ids: str) -> dict[str, Any]:
    return next(w for w in raw["windows"] if w["ids"] == ids)


def test_an_unknown_default_outcome_is_refused_at_load(raw: dict[str, Any]) -> None:
    err = _broken(raw, lambda r: _window_group(r, "B03-B04").update(default_outcome="finished"))
    assert err.key.endswith(".default_outcome") and err.key.startswith("windows[")
    assert "unknown outcome 'finished'" in err.reason and "consult_only" in err.reason


def test_a_default_outcome_needing_a_case_number_is_refused(raw: dict[str, Any]) -> None:
    err = _broken(raw, lambda r: _window_group(r, "B03-B04").update(default_outcome="done"))
    assert "needs a case number" in err.reason and "办件编号" in err.reason
    assert str(err).count("\n") == 0


def test_a_queue_requiring_an_outcome_needs_codes(raw: dict[str, Any]) -> None:
    def no_codes(r: dict[str, Any]) -> None:
        del r["outcomes"]
        for w in r["windows"]:
            w.pop("default_outcome", None)

    err = _broken(raw, no_codes)
    assert err.key.endswith(".outcome_required") and "no [outcomes" in err.reason


def test_an_outcome_key_of_the_wrong_type_is_one_line(raw: dict[str, Any]) -> None:
    err = _broken(raw, lambda r: r["outcomes"]["done"].update(case_number="yes"))
    assert (err.key, err.reason) == ("outcomes.done.case_number",
                                     "expected true or false, got 'yes'")


# ------------------------------------------------------------------ finishing


def test_finishing_a_unit_ticket_without_an_outcome_is_refused(sample_hall: Hall) -> None:
    d = at_window(sample_hall, "B19", "tax")
    err = d.rejects(c.FinishService("B19"), "outcome_required")
    assert err.details["field"] == "outcome"
    assert "done" in err.message                      # says which codes there are


def test_finishing_with_an_outcome_records_it_on_the_ticket(sample_hall: Hall) -> None:
    d = at_window(sample_hall, "B19", "tax")
    ticket = d.core.state.windows["B19"].ticket
    done = finished(d.do(c.FinishService("B19", outcome="done", case_number=" KY-001 ")))
    assert (done.outcome, done.case_number, done.implicit) == ("done", "KY-001", False)
    t = d.core.ticket(ticket)
    assert (t.state, t.outcome, t.case_number) == ("done", "done", "KY-001")


def test_an_outcome_needing_a_case_number_is_refused_without_one(sample_hall: Hall) -> None:
    d = at_window(sample_hall, "B19", "tax")
    err = d.rejects(c.FinishService("B19", outcome="supplement", case_number="  "),
                    "outcome_required")
    assert "case number" in err.message and err.details["field"] == "case_number"
    d.do(c.FinishService("B19", outcome="rejected"))   # 不予受理 needs none


def test_an_unknown_outcome_is_a_bad_argument(sample_hall: Hall) -> None:
    d = at_window(sample_hall, "B19", "tax")
    err = d.rejects(c.FinishService("B19", outcome="finished"), "bad_argument")
    assert err.details["field"] == "outcome"
    err = d.rejects(c.FinishService("B19", outcome="rejected", case_number="x" * 65),
                    "bad_argument")
    assert err.details["field"] == "case_number"


def test_a_queue_without_the_requirement_finishes_as_before(sample_hall: Hall) -> None:
    d = at_window(sample_hall, "B01", "quick_b")
    done = finished(d.do(c.FinishService("B01")))
    assert (done.outcome, done.case_number) == ("", "")
    assert d.core.ticket(done.ticket).outcome is None


def test_call_next_finishing_a_unit_ticket_needs_the_outcome_too(sample_hall: Hall) -> None:
    d = at_window(sample_hall, "B19", "tax")
    d.do(c.IssueTicket("tax", zone="B"))
    d.rejects(c.CallNext("B19"), "outcome_required")
    held = d.core.state.windows["B19"].ticket
    got = d.do(c.CallNext("B19", outcome="done", case_number="KY-7"))
    assert finished(got).implicit and d.core.ticket(held).case_number == "KY-7"
    assert isinstance(got[-1], ev.TicketCalled)


def test_call_ticket_finishing_the_ticket_needs_the_outcome(sample_hall: Hall) -> None:
    """call_ticket finishes what the window holds as call_next does: no way round."""
    d = at_window(sample_hall, "B19", "tax")
    other = d.do(c.IssueTicket("tax", zone="B"))[-1].ticket
    d.rejects(c.CallTicket("B19", other), "outcome_required")
    d.do(c.CallTicket("B19", other, outcome="consult_only"))
    assert d.core.state.windows["B19"].ticket == other


def test_call_back_finishing_the_ticket_needs_the_outcome(sample_hall: Hall) -> None:
    d = at_window(sample_hall, "B19", "tax")
    first = d.core.state.windows["B19"].ticket
    other = d.do(c.IssueTicket("tax", zone="B"))[-1].ticket
    d.do(c.Hold("B19"))
    d.do(c.CallTicket("B19", other))
    d.rejects(c.CallBack("B19"), "outcome_required")
    finished(d.do(c.CallBack("B19", outcome="rejected")))
    assert d.core.ticket(other).outcome == "rejected"
    assert d.core.state.windows["B19"].ticket == first


def test_a_keypad_window_finishes_with_its_default_outcome(sample_hall: Hall) -> None:
    """B03 works with a keypad, which sends no outcome: its default_outcome applies
    to a unit ticket (here sent to it by name); an outcome given still wins."""
    d = at_window(sample_hall, "B03", "tax")
    other = d.do(c.IssueTicket("tax", zone="B"))[-1].ticket
    d.do(c.Transfer(other, to_window="B03"))
    got = d.do(c.CallNext("B03"))
    assert (finished(got).outcome, finished(got).case_number) == ("consult_only", "")
    done = finished(d.do(c.FinishService("B03", outcome="done", case_number="KY-9")))
    assert (done.outcome, done.case_number) == ("done", "KY-9")


def test_hold_transfer_and_no_show_are_not_finishes(sample_hall: Hall) -> None:
    d = at_window(sample_hall, "B19", "tax")
    held = d.core.state.windows["B19"].ticket
    d.do(c.Hold("B19"))                                # set aside: no outcome yet
    d.do(c.CallBack("B19"))
    d.do(c.Transfer(held, to_queue="real_estate"))     # moved on: no outcome either
    assert d.core.ticket(held).outcome is None
    d.do(c.OpenWindow("B21"))
    d.do(c.CallNext("B21"))
    d.do(c.NoShow("B21"))
    assert d.core.ticket(held).state == "no_show" and d.core.ticket(held).outcome is None


def test_an_older_service_finished_without_the_fields_still_reads() -> None:
    old = {"name": "service_finished", "at": 1.0, "ticket": "t", "window": "B01",
           "implicit": False}
    assert ev.event_from_dict(old) == ev.ServiceFinished(1.0, "t", "B01", False, "", "")
