"""The report of a simulated day agrees with the simulator's own report of that day.

The simulator plays the day with its core swapped for a HallService on a real store
(dispatcher/reports/simulated.py), so every command is committed and projected as in
the hall; the report then reads the store. Counts, percentiles, maxima and the share
within target are equal exactly; means are equal but for the order of the additions
(the database sums in its order, the simulator with math.fsum); utilisation to 1e-9
(the store keeps moments, the simulator adds durations).
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from dispatcher.hall import SAMPLE_HALL, Hall, load_hall
from dispatcher.reports import Period, build_report
from dispatcher.reports.columns import COLUMNS, shown
from dispatcher.reports.figures import ALL, TOTAL
from dispatcher.reports.simulated import simulate_stored
from dispatcher.simulator.engine import SimOptions, simulate
from dispatcher.simulator.generate import GenOptions, generate
from dispatcher.simulator.report import summary

DAY = "2026-11-25"     # a Wednesday


@pytest.fixture(scope="module")
def hall() -> Hall:
    return load_hall(SAMPLE_HALL)


@pytest.mark.parametrize("policy", ["loops+side", "capped"])
def test_a_simulated_day_reads_back_as_the_simulator_reports_it(
        db_url: str, hall: Hall, policy: str) -> None:
    # a lopsided demand and no overtime: under loops+side some tickets are left at closing
    arrivals = generate(hall, GenOptions(tickets=400, seed=5, mix_spread=1.5))
    options = SimOptions(policy=policy, seed=3, no_show={"*": 0.08}, day=DAY, estimates=False,
                         overtime_minutes=0)
    own = summary(simulate(hall, arrivals, options))
    stored = simulate_stored(hall, arrivals, options, db_url)
    assert summary(stored) == own          # the store changed nothing in the simulation
    engine = sa.create_engine(db_url)
    try:
        day = date.fromisoformat(DAY)
        report = build_report(engine, hall, Period(day, day, "day"))
    finally:
        engine.dispose()
    grouped = [r for r in report.rows if r.grouping in ("hall", "zone", "loop", "queue", "class")]
    rows = {("hall" if r.grouping == "hall" else f"{r.grouping} {r.key}"): r.values
            for r in grouped if r.bucket != TOTAL and r.values["issued"]}
    assert set(rows) == set(own["waits_min"])
    # a queue nobody took is a row of zeros; each table's total row is the hall's figures
    assert all(r.values["issued"] == 0 for r in grouped
               if r.bucket != TOTAL and r.grouping != "hall" and r.key != ALL
               and f"{r.grouping} {r.key}" not in own["waits_min"])
    totals = [r.values for r in grouped if (r.bucket, r.key) == (TOTAL, ALL)]
    assert len(totals) == 4 and all(
        {k: t[k] for k in ("issued", "wait_p50", "wait_p90", "wait_max", "within")}
        == {k: rows["hall"][k] for k in ("issued", "wait_p50", "wait_p90", "wait_max", "within")}
        for t in totals)
    hall_figures = own["waits_min"]["hall"]
    assert hall_figures["no_shows"] > 0 and (hall_figures["left"] > 0) == (policy == "loops+side")
    minutes = {c.key: c for c in COLUMNS}
    for group, sim in own["waits_min"].items():
        ours = rows[group]
        assert (ours["issued"], ours["no_show"], ours["left"]) == \
            (sim["tickets"], sim["no_shows"], sim["left"]), group
        assert (ours["wait_p50"], ours["wait_p90"], ours["wait_max"]) == \
            (sim["p50"], sim["p90"], sim["max"]), group
        assert ours["within"] == sim["within_target"], group
        assert ours["wait_mean"] == pytest.approx(sim["mean"], rel=1e-12), group
        for ours_key, sim_key in (("wait_mean", "mean"), ("wait_p90", "p90")):
            assert shown(minutes[ours_key], ours[ours_key]) == f"{sim[sim_key]:.1f}"
    spreads = {("hall" if s.zone == "" else f"zone {s.zone}"): s for s in report.spreads}
    for group, sim in own["utilisation"].items():
        s = spreads[group]
        assert (s.mean, s.stdev, s.min, s.max) == pytest.approx(
            (sim["mean"], sim["stdev"], sim["min"], sim["max"]), rel=1e-9), group
