"""The accuracy command (dispatcher/simulator/accuracy.py) on two generated busy days:
a smoke test with a recorded expectation (issue 17). The figures move when the
estimator, the simulator or the generator changes: then re-run

    python -m dispatcher.simulator.accuracy --days 2 --json

and record the new ones here, with the reason in docs/dispatch.md ("Expected wait")."""

from __future__ import annotations

import json

import pytest

from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.simulator import accuracy

# per policy and estimator: RMSE, MAE (minutes), bias (share of the mean wait), share
# over the printed wait by max(5 min, 25%), tickets printed > 60 min that waited < 15
RECORDED = {  # since zones are kept apart (issue 17; zone A runs over capacity on seed 1)
    "balanced": {"printed": (5.179, 1.459, 0.0306, 0.0189, 0),
                 "projected": (22.728, 4.054, 0.3003, 0.0664, 40),
                 "naive": (7.817, 3.187, -0.5008, 0.2139, 0),
                 "les": (8.783, 3.587, -0.1385, 0.1231, 5)},
    "loops+side": {"printed": (6.566, 2.305, -0.0111, 0.05, 0),
                   "projected": (8.059, 3.168, -0.0669, 0.0861, 0),
                   "naive": (17.667, 5.985, -0.3722, 0.2255, 0),
                   "les": (19.813, 7.498, -0.3071, 0.2372, 10)},
}


@pytest.fixture(scope="module")
def two_days() -> dict:
    hall = load_hall(SAMPLE_HALL)
    return {policy: accuracy.report([row for seed in (1, 2)
                                     for row in accuracy.measure_day(hall, seed, policy)],
                                    oracle=False)
            for policy in accuracy.POLICIES}


def test_the_figures_are_the_recorded_ones(two_days: dict) -> None:
    for policy, estimators in RECORDED.items():
        for name, (rmse, mae, bias, over, hours) in estimators.items():
            got = two_days[policy]["all"][name]["overall"]
            assert (got["rmse"], got["mae"], got["bias"], got["over"]) == pytest.approx(
                (rmse, mae, bias, over), abs=6e-4), (policy, name)
            assert got["hours_for_minutes"] == hours, (policy, name)


def test_the_printed_wait_meets_the_goal_on_these_days(two_days: dict) -> None:
    for policy in accuracy.POLICIES:
        block = two_days[policy]["all"]
        printed = block["printed"]["overall"]
        assert printed["rmse"] <= 0.75 * block["naive"]["overall"]["rmse"]
        assert printed["rmse"] <= 0.75 * block["les"]["overall"]["rmse"]
        assert abs(printed["bias"]) <= 0.05 and printed["over"] <= 0.10
        assert printed["hours_for_minutes"] == 0
        worst = block["printed"]["worst_day"]
        assert worst["seed"] in (1, 2) and worst["rmse"] >= printed["rmse"] * 0.5


def test_the_breakdowns_cover_every_ticket(two_days: dict) -> None:
    block = two_days["balanced"]["all"]["printed"]
    total = block["overall"]["tickets"]
    assert sum(f["tickets"] for f in block["by_hour"].values()) == total
    assert sum(f["tickets"] for f in block["by_ahead"].values()) == total
    assert list(block["by_ahead"]) == ["0", "1–2", "3–5", "6–10", "11–20", "21–50", "51+"]


def test_the_command_prints_the_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert accuracy.main(["--days", "1", "--policy", "balanced", "--breakdown"]) == 0
    out = capsys.readouterr().out
    assert "| balanced | printed | 2147 |" in out and "| balanced: hour |" in out
    assert accuracy.main(["--days", "1", "--policy", "balanced", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["balanced"]["all"]["printed"]["worst_day"]["seed"] == 1
