"""The hall simulator (dispatcher/simulator): arrival files, the day generator, the
engine on the sample hall, the report and the `onewindow simulate` command."""

from __future__ import annotations

import json
import tomllib
from collections import Counter
from dataclasses import replace

import pytest
from tiny_hall import tiny_hall, zoned_hall

from dispatcher.cli import main
from dispatcher.core.policy import POLICIES
from dispatcher.hall import (
    ASSETS,
    SAMPLE_HALL,
    WEEKDAYS,
    Balancing,
    HallConfigError,
    Hours,
    parse_hall,
)
from dispatcher.simulator import Arrival, SimOptions, simulate
from dispatcher.simulator.arrivals import ArrivalError, parse_arrivals, read_arrivals
from dispatcher.simulator.generate import GenOptions, generate, offered_load
from dispatcher.simulator.report import AcrossZones, across_zones, summary, utilisation
from dispatcher.simulator.theory import pooled_hall

HOUR = 3600.0


@pytest.fixture(scope="module")
def busy_day(sample_hall) -> list[Arrival]:
    return generate(sample_hall, GenOptions(seed=1))


# ------------------------------------------------------------------ arrivals


def test_arrival_times_are_wall_clock_or_seconds_from_opening(sample_hall) -> None:
    text = ("time,zone,queue,class,service_seconds\n"
            "09:30:15,B,quick_b,normal,\n"
            "90,A,tax,green,300\n")
    late, early = sorted(parse_arrivals(text, sample_hall), key=lambda a: -a.at)
    assert late == Arrival(9.5 * HOUR + 15, "B", "quick_b", "normal", None)
    assert early == Arrival(9 * HOUR + 90, "A", "tax", "green", 300.0)


@pytest.mark.parametrize(("row", "reason"), [
    ("09:00:00,B,nope,normal", "no queue 'nope'"),
    ("09:00:00,A,marriage,normal", "not offered in zone 'A'"),
    ("09:00:00,B,quick_b,vip", "no ticket class 'vip'"),
    ("nine,B,quick_b,normal", "could not convert"),
    ("09:00:00,B,quick_b,normal,-5", "service_seconds must be 0 or more"),
    ("09:00:00,B,quick_b,normal,inf", "service_seconds must be 0 or more"),
    ("25:00:00,B,quick_b,normal", "not a time of day"),
    ("09:61:00,B,quick_b,normal", "not a time of day"),
    ("nan,B,quick_b,normal", "seconds from opening must be 0 or more"),
    ("-5,B,quick_b,normal", "seconds from opening must be 0 or more"),
])
def test_a_bad_row_is_refused_with_its_line(sample_hall, row: str, reason: str) -> None:
    text = "time,zone,queue,class,service_seconds\n09:00:00,B,quick_b,normal,\n" + row + "\n"
    with pytest.raises(ArrivalError, match=f"day.csv:3: .*{reason}"):
        parse_arrivals(text, sample_hall, "day.csv")


def test_a_missing_arrivals_file_is_one_line(sample_hall, tmp_path) -> None:
    from dispatcher.simulator.arrivals import read_arrivals

    with pytest.raises(ArrivalError, match=r"nope\.csv: cannot read the arrivals file: No such"):
        read_arrivals(tmp_path / "nope.csv", sample_hall)


# ----------------------------------------------------------------- generator


def test_a_generated_day_follows_its_profile_and_skips_lunch(sample_hall) -> None:
    day = generate(sample_hall, GenOptions(day_profile="two-peaks", tickets=4000, seed=3))
    hours = Counter(int(a.at // HOUR) for a in day)
    assert len(day) == 4000 and set(hours) == {9, 10, 11, 13, 14, 15, 16}   # 12-13 closed
    assert hours[10] > 1.3 * hours[13] and hours[15] > 1.15 * hours[13]     # two peaks
    assert hours[15] > 1.3 * hours[16]
    flat = Counter(int(a.at // HOUR) for a in generate(
        sample_hall, GenOptions(day_profile="flat", tickets=20_000, seed=3)))
    assert max(flat.values()) < 1.1 * min(flat.values())     # each hour ±5% of 2857


def test_generating_is_deterministic_for_a_seed_and_makes_the_load(sample_hall) -> None:
    one = generate(sample_hall, GenOptions(seed=5))
    assert one == generate(sample_hall, GenOptions(seed=5))
    assert one != generate(sample_hall, GenOptions(seed=6))
    assert offered_load(sample_hall, one) == pytest.approx(0.85, abs=0.04)
    assert all(a.zone in sample_hall.queues[a.queue].zones for a in one)


# -------------------------------------------------------------------- engine


def test_a_day_is_deterministic_for_a_seed(sample_hall, busy_day) -> None:
    opts = SimOptions(policy="balanced", seed=4, no_show={"*": 0.05})
    morning = busy_day[:800]
    first = summary(simulate(sample_hall, morning, opts))
    assert first == summary(simulate(sample_hall, morning, opts))
    assert first["waits_min"]["hall"]["no_shows"] > 0


def test_balanced_starves_no_class_on_a_busy_day(sample_hall) -> None:
    """The bound in docs/dispatch.md: under balanced, on a busy day (85% load, two
    peaks), every ticket of every class is called, none later than twice its queue's
    overdue threshold, in every zone whose windows can carry its work (a zone kept
    apart cannot be helped by the other's windows: zone A runs over 100% on seeds 1
    and 3). The hall file's own loops+side breaks it in zone B on the same days."""
    for seed, saturated in ((1, {"A"}), (2, set()), (3, {"A"})):
        day = generate(sample_hall, GenOptions(seed=seed))
        for policy, holds in (("balanced", True), ("loops+side", False)):
            out = simulate(sample_hall, day, SimOptions(policy=policy, estimates=False))
            if policy == "balanced":  # its windows are as busy as the zone's work makes them
                over = {z for z in sample_hall.zones if utilisation(out, z).mean > 1.0}
                assert over == saturated, (seed, over)
            late = [r for r in out.records if r.arrival.zone not in saturated and (
                r.wait is None
                or r.wait > 2 * sample_hall.queues[r.arrival.queue].overdue_seconds)]
            classes = {r.arrival.ticket_class for r in out.records}
            assert classes == {"normal", "green", "appointment"}
            assert (not late) is holds, (seed, policy, len(late))


def test_no_ticket_is_called_across_zones_where_the_hall_file_forbids_it(
        sample_hall, busy_day) -> None:
    """Issue 17: under every policy, no ticket of a queue that keeps its zones apart is
    called to another zone's window; the cross_zone queues (post, complaints, result
    collection) are, and the pooled bound calls anything anywhere."""
    for policy in POLICIES:
        out = simulate(sample_hall, busy_day, SimOptions(policy=policy, estimates=False))
        across = across_zones(out)
        assert across.not_allowed == 0, (policy, across)
        assert across.called > 0, policy
        report = summary(out)["across_zones"]
        assert report == {"called": across.called, "not_allowed": 0}
        if policy != "pooled":
            kinds = {r.arrival.queue for r in out.records if r.window is not None
                     and sample_hall.windows[r.window].zone != r.arrival.zone}
            assert kinds <= {"post", "complaint", "results"}, (policy, kinds)


def test_the_count_of_calls_across_zones_judges_by_the_hall_file() -> None:
    """Zone Y's q2 tickets called at W3 (zone Z) when q2 is cross_zone; judged by a
    file that keeps q2's zones apart, every one of them is a call not allowed."""
    day = [Arrival(10 * HOUR + 60 * i, "Y", "q2", "normal", 600.0) for i in range(12)]
    opts = SimOptions(policy="loops+side", estimates=False)
    apart = simulate(zoned_hall(False), day, opts)
    assert across_zones(apart) == AcrossZones(0, 0)
    crossing = simulate(zoned_hall(True), day, opts)
    across = across_zones(crossing)
    assert across.called > 0 and across.not_allowed == 0
    judged = replace(crossing, hall=zoned_hall(False))
    assert across_zones(judged) == AcrossZones(across.called, across.called)


def test_a_window_with_no_work_left_closes_and_what_waits_is_left(sample_hall) -> None:
    hall = tiny_hall()
    day = [Arrival(10 * HOUR + i, "Z", "q3", "normal", 3600.0) for i in range(30)]
    out = simulate(hall, day, SimOptions(policy="loops", overtime_minutes=0))
    report = summary(out)["waits_min"]["queue q3"]
    # W3 alone calls q3: one ticket an hour from 10:00 until 23:59
    assert report["tickets"] == 30 and report["left"] == 30 - 14
    assert out.busy["W3"] == pytest.approx(14 * 3600)


def test_a_short_break_cuts_the_overtime_and_the_afternoon_goes_on() -> None:
    # periods 09:00-12:00 and 12:10-17:00: the morning's overtime ends at 12:10, and a
    # window still busy then goes on calling in the afternoon
    hall = replace(pooled_hall(1, 3600.0), hours=Hours(tuple(WEEKDAYS), ((540, 720),
                                                                          (730, 1020))))
    day = [Arrival(11 * HOUR + 59 * 60 + i, "Z", "q", "normal", 3600.0) for i in range(3)]
    out = simulate(hall, day, SimOptions(policy="loops", overtime_minutes=30))
    assert [r.wait is not None for r in out.records] == [True, True, True]
    assert out.records[2].called_at - out.records[0].called_at == pytest.approx(2 * HOUR)


def test_a_no_show_is_called_given_up_on_and_the_window_goes_on(sample_hall) -> None:
    hall = tiny_hall()
    day = [Arrival(10 * HOUR + i, "Z", "q3", "normal", 600.0) for i in range(3)]
    out = simulate(hall, day, SimOptions(policy="loops", no_show={"q3": 1.0},
                                         no_show_grace_s=60))
    assert [r.no_show for r in out.records] == [True, True, True]
    assert [r.wait for r in out.records] == [0.0, 59.0, 118.0]  # one grace minute each


def test_arrivals_while_the_hall_is_closed_are_refused(sample_hall) -> None:
    day = [Arrival(12.5 * HOUR, "B", "quick_b"), Arrival(13.5 * HOUR, "B", "quick_b")]
    report = summary(simulate(sample_hall, day, SimOptions()))
    assert report["refused"] == 1 and report["waits_min"]["hall"]["tickets"] == 1


def test_dedicated_sends_big_loop_business_to_the_units(sample_hall, busy_day) -> None:
    out = simulate(sample_hall, busy_day[:300], SimOptions(policy="dedicated"))
    quick = [r for r in out.records if r.arrival.queue == "quick_b" and r.ticket]
    prefixes = {r.ticket.split("-")[1][0] for r in quick}
    assert len(prefixes) > 3 and prefixes.isdisjoint({"A", "B"})   # no 马上办 numbers


def test_the_printed_estimate_is_the_cores_ticket_status_at_issue(sample_hall) -> None:
    day = [Arrival(9 * HOUR + i, "B", "marriage") for i in range(4)]
    out = simulate(sample_hall, day, SimOptions(policy="loops"))
    # one marriage window (B24): called at once, then after 1, 2, 3 configured services
    printed = [r.estimates.printed for r in out.records]
    assert printed == pytest.approx([0, 20 * 60 - 1, 40 * 60 - 2, 60 * 60 - 3], abs=1)


# ----------------------------------------------------------------------- CLI


def test_the_command_generates_a_file_and_reports_it(tmp_path, capsys) -> None:
    csv = tmp_path / "day.csv"
    assert main(["simulate", "--generate", "--hall", str(SAMPLE_HALL), "--tickets", "200",
                 "--day-profile", "morning-peak", "--seed", "2", "--out", str(csv)]) == 0
    assert csv.read_text().splitlines()[0] == "time,zone,queue,class,service_seconds"
    assert main(["simulate", "--arrivals", str(csv), "--policy", "balanced", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tickets"] == 200 and report["policy"] == "balanced"
    assert {"zone A", "zone B", "loop big loop", "loop small loop", "queue quick_b",
            "class normal"} <= set(report["waits_min"])
    assert set(report["estimators"]) == {"printed", "projected", "naive", "simple"}
    assert main(["simulate", "--arrivals", str(csv), "--policy", "all"]) == 0
    assert "| zone-pooled |" in capsys.readouterr().out


def test_the_command_says_what_is_wrong_with_an_arrival_file(tmp_path, capsys) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("time,zone,queue\n09:00,B,quick_b\n")
    assert main(["simulate", "--arrivals", str(csv)]) == 2
    assert "missing column(s) class" in capsys.readouterr().err


# ------------------------------------------------------- capped balancing


def _most_moves_in_an_hour(moved: dict[str, list[float]]) -> int:
    """The most moves of one window in any 60 minutes (each window's times, sorted)."""
    return max((sum(1 for u in times if t <= u < t + HOUR) for times in moved.values()
                for t in times), default=0)


@pytest.fixture(scope="module")
def busy_file(sample_hall) -> list[Arrival]:
    return read_arrivals(ASSETS / "arrivals" / "busy-day.csv", sample_hall)


def _capped(hall, arrivals: list[Arrival], rules: Balancing):
    return simulate(replace(hall, balancing=rules), arrivals,
                    SimOptions(policy="capped", estimates=False))


def test_without_the_cap_a_window_moves_4_times_in_an_hour(sample_hall, busy_file) -> None:
    uncapped = _capped(sample_hall, busy_file, Balancing(1000, 0.02, 0.25))
    assert _most_moves_in_an_hour(uncapped.moved) == 4  # so a cap of 1 or 2 binds


@pytest.mark.parametrize("cap", [1, 2])
def test_capped_moves_no_window_more_than_the_cap_in_any_hour(sample_hall, busy_file,
                                                              cap: int) -> None:
    capped = _capped(sample_hall, busy_file, Balancing(cap, 0.02, 0.25))
    assert capped.moves == sum(map(len, capped.moved.values())) > 0
    assert _most_moves_in_an_hour(capped.moved) == cap


def _mean_wait(outcome) -> float:
    waits = [r.wait or 0.0 for r in outcome.records if r.ticket is not None]
    return sum(waits) / len(waits)


@pytest.fixture(scope="module")
def busy_capped_vs_balanced(sample_hall, busy_file):
    opts = SimOptions(policy="capped", estimates=False)
    return (simulate(sample_hall, busy_file, opts),
            simulate(sample_hall, busy_file, replace(opts, policy="balanced")))


def test_capped_on_the_busy_day_moves_111_where_balanced_moves_793(
        busy_capped_vs_balanced) -> None:
    """Issue 15's aim was under 60 moves; with each zone calling its own tickets
    (issue 17) zone A runs over capacity on this day and its lent windows are sent
    home and lent again: 111 moves (docs/dispatch.md, "Live balancing with a cap")."""
    capped, balanced = busy_capped_vs_balanced
    assert balanced.moves == 793
    assert capped.moves == 111
    assert _most_moves_in_an_hour(capped.moved) <= 1
    assert all(r.called_at is not None for r in capped.records if r.ticket)


def test_capped_mean_wait_within_1_15_of_balanced_on_the_busy_day(
        busy_capped_vs_balanced) -> None:
    capped, balanced = busy_capped_vs_balanced
    assert _mean_wait(capped) <= 1.15 * _mean_wait(balanced)


@pytest.mark.parametrize(("key", "value", "reason"), [
    ("max_moves_per_window_hour", 0, "must be 1 or more, got 0"),
    ("max_moves_per_window_hour", 1.5, "expected a whole number, got 1.5"),
    ("recall_at", -1, "must be more than 0, got -1"),
    ("recall_at", True, "expected a number, got true"),
    ("lend_at", 0, "must be more than 0, got 0"),
    ("lend_at", "0.5", "expected a number, got '0.5'"),
    ("moves", 3, "unknown key"),
])
def test_balancing_setting_is_checked_at_load(key: str, value: object, reason: str) -> None:
    raw = tomllib.loads(SAMPLE_HALL.read_text(encoding="utf-8"))
    raw["balancing"][key] = value
    with pytest.raises(HallConfigError) as caught:
        parse_hall(raw, "hall.toml")
    assert str(caught.value) == f"hall.toml: balancing.{key}: {reason}"


def test_balancing_setting_of_the_sample_hall_and_its_defaults(sample_hall) -> None:
    assert sample_hall.balancing == Balancing(1, 0.05, 0.5)
    raw = tomllib.loads(SAMPLE_HALL.read_text(encoding="utf-8"))
    raw["balancing"] = {"max_moves_per_window_hour": 4}
    assert parse_hall(raw).balancing == Balancing(4, 0.05, 0.5)


def test_the_docs_quote_the_figures_the_script_regenerates(capsys) -> None:
    """Issue 17: docs/dispatch.md's tables come from `python -m
    dispatcher.simulator.docs_figures`; seed 5's row of the per-seed table, as the
    script prints it now, is the row the page shows."""
    from dispatcher.simulator import docs_figures

    assert docs_figures.main(["--only", "seeds", "--seeds", "5"]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines()
               if line.startswith("| 5 |"))
    docs = (ASSETS.parent / "docs" / "dispatch.md").read_text(encoding="utf-8")
    assert row in docs.splitlines()
    assert "| 5 | 11.14 | 2.67 |" in row   # not the stale 8.9 nor 9.07 of before zones


def test_the_figures_script_says_what_is_wrong_in_one_line(capsys) -> None:
    from dispatcher.simulator import docs_figures

    with pytest.raises(SystemExit) as info:
        docs_figures.main(["--seeds", "5-1"])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --seeds '5-1' is not FIRST-LAST, like 1-5 (see: python -m "
                   "dispatcher.simulator.docs_figures --help)"]
