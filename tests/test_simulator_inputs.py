"""Simulator inputs (issue 17): traces of several days, one simulated day per
calendar day, and zero-length services."""

from __future__ import annotations

import json

import pytest

from dispatcher.cli import main
from dispatcher.simulator.arrivals import DAY, Arrival, parse_trace, split_days
from dispatcher.simulator.engine import SimOptions, simulate

HOUR = 3600.0
TRACE = ("time,zone,queue,class,service_seconds\n"
         "2026-11-24 09:00:30,B,quick_b,normal,120\n"
         "2026-11-23T10:00:00,B,quick_b,normal,0.0\n"
         "09:05:00,B,quick_b,green,60\n"
         "2026-11-29 10:00:00,B,quick_b,normal,60\n")


def test_a_trace_of_several_days_is_counted_from_its_first_date(sample_hall) -> None:
    first, arrivals = parse_trace(TRACE, sample_hall)
    assert first == "2026-11-23"
    assert [a.at for a in arrivals] == [9 * HOUR + 300, 10 * HOUR, DAY + 9 * HOUR + 30,
                                        6 * DAY + 10 * HOUR]
    days = split_days(arrivals)
    assert [(k, [a.at for a in day]) for k, day in days] == [
        (0, [9 * HOUR + 300, 10 * HOUR]), (1, [9 * HOUR + 30]), (6, [10 * HOUR])]


def test_seconds_beyond_a_day_are_later_days(sample_hall) -> None:
    text = "time,zone,queue,class\n90000,B,quick_b,normal\n"
    first, (arrival,) = parse_trace(text, sample_hall)
    assert first is None and split_days([arrival])[0][0] == 1


def test_a_bad_date_says_its_line(sample_hall) -> None:
    from dispatcher.simulator.arrivals import ArrivalError
    with pytest.raises(ArrivalError, match=r"t\.csv:2: .*'2026-13-01' is not a date"):
        parse_trace("time,zone,queue,class\n2026-13-01 09:00,B,quick_b,normal\n",
                    sample_hall, "t.csv")


def test_a_zero_length_service_is_served_in_no_time(sample_hall) -> None:
    arrivals = [Arrival(9 * HOUR + 60, "B", "quick_b", "normal", 0.0),
                Arrival(9 * HOUR + 60.5, "B", "quick_b", "normal", 30.0)]
    out = simulate(sample_hall, arrivals, SimOptions(policy="loops+side"))
    assert all(r.wait == 0.0 for r in out.records)
    assert sum(out.busy.values()) == pytest.approx(30.0)


def test_simulate_plays_each_day_of_a_trace(tmp_path, capsys) -> None:
    trace = tmp_path / "trace.csv"
    trace.write_text(TRACE, encoding="utf-8")
    assert main(["simulate", "--arrivals", str(trace), "--policy", "balanced", "--json"]) == 0
    captured = capsys.readouterr()
    days = json.loads(captured.out)
    assert [(d["day"], d["report"]["tickets"]) for d in days] == [("2026-11-23", 2),
                                                                  ("2026-11-24", 1)]
    assert "2026-11-29" in captured.err and "closed" in captured.err
