"""The predicted effect of a move (dispatcher/simulator/forward.py): the simulator run
forward from a live state, with and without the move."""

from __future__ import annotations

import copy

import pytest
from conftest import hall_time
from tiny_hall import Driver

from dispatcher.core import DispatchError
from dispatcher.core import commands as c
from dispatcher.hall import ASSETS
from dispatcher.simulator.arrivals import read_arrivals
from dispatcher.simulator.engine import SimOptions, _Run, simulate
from dispatcher.simulator.forward import arrival_rates, predict_move, predict_moves
from dispatcher.simulator.forward_check import Settings, _CheckedRun, error_table
from dispatcher.simulator.generate import GenOptions, generate
from dispatcher.simulator.theory import pooled_hall

HOUR = 3600.0


def _long_tax_line() -> Driver:
    """The tiny hall at 09:30: q2 (served by W2 alone, W1 paused) has 12 tickets waiting,
    issued over the last half hour; W3 (q3 and q1) is idle."""
    d = Driver(start="09:00")
    for window in ("W1", "W2", "W3"):
        d.do(c.OpenWindow(window))
    d.do(c.Pause("W1", "培训"))
    for _ in range(13):
        d.issue("q2", after=120.0)
    d.call("W2")
    return d


def _lend_w3_to_q2() -> c.SetProfile:
    return c.SetProfile("W3", ("q3", "q1", "q2"))


def test_the_live_state_is_not_changed() -> None:
    d = _long_tax_line()
    before, kept = d.core.state.to_dict(), copy.deepcopy(d.core.state)
    predict_move(d.core.hall, d.core.state, d.now, _lend_w3_to_q2(), runs=2)
    assert d.core.state.to_dict() == before
    assert d.core.state == kept


def test_it_is_deterministic_for_a_seed_and_varies_with_it() -> None:
    d = _long_tax_line()
    hall, state, move = d.core.hall, d.core.state, _lend_w3_to_q2()
    first = predict_move(hall, state, d.now, move, runs=3, seed=4)
    assert predict_move(hall, state, d.now, move, runs=3, seed=4) == first
    assert predict_move(hall, state, d.now, move, runs=3, seed=5) != first


def test_lending_an_idle_window_to_a_long_queue_shortens_its_wait() -> None:
    d = _long_tax_line()
    effect = predict_move(d.core.hall, d.core.state, d.now, _lend_w3_to_q2())
    assert effect.queues == ("q1", "q2", "q3")
    # 12 five-minute tickets waiting (up to 24 minutes so far) and 13 an hour more (the
    # last hour's rate): W2 alone (load 1.08) falls further behind all hour, with W3 the
    # line clears. The paused W1 stays paused, or it would clear the line too.
    assert effect.before["q2"] > 30
    assert effect.after["q2"] < 0.7 * effect.before["q2"]
    assert effect.mean_after < effect.mean_before
    assert effect.worst_after < effect.worst_before == effect.before["q2"]
    assert effect.to_dict()["queues"]["q2"] == {"before": round(effect.before["q2"], 2),
                                                "after": round(effect.after["q2"], 2)}


def test_several_moves_share_the_runs_without_a_move_and_predict_the_same() -> None:
    d = _long_tax_line()
    moves = [_lend_w3_to_q2(), c.SetProfile("W2", ("q2",))]
    together = predict_moves(d.core.hall, d.core.state, d.now, moves, runs=3)
    alone = [predict_move(d.core.hall, d.core.state, d.now, m, runs=3) for m in moves]
    assert together == alone
    assert together[0].queues != together[1].queues


def test_a_move_on_an_empty_hall_predicts_no_change() -> None:
    d = Driver(start="09:00")
    for window in ("W1", "W2", "W3"):
        d.do(c.OpenWindow(window))
    effect = predict_move(d.core.hall, d.core.state, d.now, _lend_w3_to_q2())
    assert effect.tickets == 0
    assert effect.mean_before == effect.mean_after == 0.0
    assert effect.worst_before == effect.worst_after == 0.0


def test_a_move_the_core_refuses_is_refused() -> None:
    d = _long_tax_line()
    with pytest.raises(DispatchError) as info:  # W2 is the only window with q2 as main work
        predict_move(d.core.hall, d.core.state, d.now, c.SetProfile("W2", ("q1",)))
    assert info.value.code == "queue_unserved"


def test_arrival_rates_are_the_last_hour_of_opening_time(sample_hall) -> None:
    """At 13:30 the last hour of opening time is 11:30-12:00 and 13:00-13:30."""
    arrivals = read_arrivals(ASSETS / "arrivals" / "busy-day.csv", sample_hall)
    run = _Run(sample_hall, arrivals, SimOptions(estimates=False))
    run.schedule()
    now = run.midnight + 13.5 * HOUR
    run.run_until(now)
    periods = [(run.midnight + 9 * HOUR, run.midnight + 12 * HOUR),
               (run.midnight + 13 * HOUR, run.midnight + 17 * HOUR)]
    rates = arrival_rates(run.core.state, now, periods)
    counted = sum(1 for a in arrivals if 11.5 * HOUR <= a.at < 12 * HOUR
                  or 13 * HOUR <= a.at <= 13.5 * HOUR)
    assert sum(rates.values()) * HOUR == pytest.approx(counted)
    assert arrival_rates(run.core.state, run.midnight + 8 * HOUR, periods) == {}


def test_forward_from_an_mg1_hall_gives_pollaczek_khinchine() -> None:
    """One window, Poisson arrivals at 6 an hour (the last hour's), lognormal service of
    mean 5 minutes and cv 0.7 (the last hour's services): an M/G/1 queue at load 0.5,
    whose mean wait is exactly ρ/(1−ρ) × S × (1 + cv²)/2 = 3.725 minutes
    (Pollaczek–Khinchine). Forward over 19 hours from an empty hall, 48 runs (about
    5,500 tickets, 0.4 s): over seeds 0-19 the prediction's mean was 3.68 minutes (the
    first tickets find the hall empty), its deviation 0.21, its range 3.12 to 4.06, so
    ±20% (0.75 minutes) is 3.5 deviations away whatever the seed."""
    hall = pooled_hall(1, 300.0)
    d = Driver(hall, start="03:00")
    d.do(c.OpenWindow("W1"))
    for i in range(6):  # issued at 03:05, 03:15, ... 03:55, each served 300 s
        d.issue("q", after=300.0 if i == 0 else 299.0)
        d.call("W1")
        d.do(c.FinishService("W1"), after=300.0)
    assert d.now == hall_time(hall, "04:00", seconds=2)
    effect = predict_move(hall, d.core.state, d.now, c.SetProfile("W1", ("q",)),
                          horizon=19 * HOUR, runs=48)
    assert effect.mean_before == effect.mean_after  # the move changes nothing
    assert effect.mean_before == pytest.approx(3.725, rel=0.2)


def test_the_check_forks_the_day_without_changing_it(sample_hall) -> None:
    """forward_check predicts and measures each move in forks of the day: the day itself
    goes on exactly as the plain simulation (a lighter day than the busy one, for time)."""
    day = generate(sample_hall, GenOptions(tickets=600, seed=2))
    opts = SimOptions(policy="capped", estimates=False)
    run = _CheckedRun(sample_hall, day, opts, Settings(horizon=1800.0, runs=2))
    checked, plain = run.play(), simulate(sample_hall, day, opts)
    assert [(r.called_at, r.window) for r in checked.records] == \
        [(r.called_at, r.window) for r in plain.records]
    assert checked.moves == plain.moves >= len(run.checks) > 10
    for check in run.checks:
        assert check.measured.queues == check.predicted.queues
        assert check.measured.tickets > 0
    assert f"| mean wait with the move | {len(run.checks)} |" in error_table(run.checks)
