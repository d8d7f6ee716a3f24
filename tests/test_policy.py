"""Dispatch policies (dispatcher/core/policy.py): the profiles each gives the sample
hall, and the moves ``balanced`` suggests, applied through the real core."""

from __future__ import annotations

from collections import Counter

import pytest
from tiny_hall import Driver, zoned_hall

from dispatcher.core import Dispatcher
from dispatcher.core import commands as c
from dispatcher.core.policy import (
    POLICIES,
    big_loop_units,
    hall_for,
    policy_profiles,
    suggest_moves,
    unit_for_big_loop,
)
from dispatcher.hall import Hall, Profile


def kinds(hall: Hall, queues: tuple[str, ...]) -> set[str]:
    return {hall.queues[q].kind for q in queues}


def test_dedicated_has_no_big_loop_and_deals_its_windows_to_the_units(sample_hall) -> None:
    profiles = policy_profiles(sample_hall, "dedicated")
    assert all("big_loop" not in kinds(sample_hall, p.queues) for p in profiles.values())
    assert all(not p.side for p in profiles.values())
    # zone A's ten big-loop windows go to A's units, most to the units with most windows
    dealt = Counter(profiles[f"A{n:02d}"].main[0] for n in range(1, 11))
    shares = big_loop_units(sample_hall, "A")
    assert sum(dealt.values()) == 10 and set(dealt) <= set(shares)
    assert all(abs(dealt[q] - 10 * s) < 1 for q, s in shares.items())
    assert profiles["B24"] == Profile(("marriage",))      # a unit window keeps its unit


def test_a_big_loop_ticket_goes_to_a_unit_as_the_big_loop_windows_went(sample_hall) -> None:
    profiles = policy_profiles(sample_hall, "dedicated")
    loop_windows = [w for w, window in sample_hall.windows.items()
                    if window.zone == "B" and window.profile.main == ("quick_b",)]
    dealt = Counter(profiles[w].main[0] for w in loop_windows)
    draws = Counter(unit_for_big_loop(sample_hall, "B", (i + 0.5) / 2200) for i in range(2200))
    assert draws == {q: 100 * n for q, n in dealt.items()}     # 22 windows, 100 draws each
    assert all("B" in sample_hall.queues[q].zones for q in draws)


def test_the_loops_keep_the_hall_files_main_work_and_add_side_work_in_turn(sample_hall) -> None:
    loops = policy_profiles(sample_hall, "loops")
    side = policy_profiles(sample_hall, "loops+side")
    balanced = policy_profiles(sample_hall, "balanced")
    for wid, window in sample_hall.windows.items():
        assert loops[wid] == Profile(window.profile.main)
        assert side[wid] == Profile(window.profile.main, window.profile.side)
        assert balanced[wid].side_when_overdue == bool(window.profile.side)


def test_pooled_windows_call_everything_and_zone_pooled_what_their_zone_offers(
        sample_hall) -> None:
    pooled = policy_profiles(sample_hall, "pooled")
    zoned = policy_profiles(sample_hall, "zone-pooled")
    assert all(set(p.main) == set(sample_hall.queues) for p in pooled.values())
    assert "marriage" not in zoned["A01"].main and "marriage" in zoned["B01"].main
    assert "quick_a" in zoned["A01"].main and "quick_a" not in zoned["B01"].main


@pytest.mark.parametrize("policy", POLICIES)
def test_the_core_runs_each_policys_hall(sample_hall, policy: str) -> None:
    core = Dispatcher(hall_for(sample_hall, policy))
    assert core.state.windows["B05"].profile == policy_profiles(sample_hall, policy)["B05"]


def test_unknown_policy_is_refused(sample_hall) -> None:
    with pytest.raises(ValueError, match="unknown policy"):
        policy_profiles(sample_hall, "fastest")


# ------------------------------------------------------------- suggest_moves
# tiny hall: W1 main q1 (side q2), W2 main q2 (side q1), W3 main q3 + q1; 5-minute
# services, q1's overdue threshold 10 minutes.


def apply(h: Driver) -> list[c.SetProfile]:
    moves = suggest_moves(h.core.hall, h.core.state, h.now)
    for move in moves:
        h.do(move, after=0)       # the core accepts every suggested move
    return moves


def test_a_long_line_borrows_a_window_with_slack_until_its_own_line_needs_it() -> None:
    h = Driver()
    for window in ("W1", "W2"):
        h.do(c.OpenWindow(window))
    for _ in range(4):
        h.issue("q1")            # 4 × 5 min for one window: twice q1's threshold
    assert apply(h) == [c.SetProfile("W2", ("q2", "q1"), (), False)]
    assert apply(h) == []        # lent already: nothing more to do
    h.issue("q2")                # W2's own line: 5 minutes of work, over RECALL_AT
    assert apply(h) == [c.SetProfile("W2", ("q2",), ("q1",), False)]   # home again


def test_no_window_is_lent_while_its_own_main_work_waits() -> None:
    h = Driver()
    for window in ("W1", "W2"):
        h.do(c.OpenWindow(window))
    for _ in range(4):
        h.issue("q1")
    for _ in range(2):
        h.issue("q2")            # W2 has its own line to call
    assert apply(h) == []


def test_no_moves_while_nothing_waits() -> None:
    h = Driver()
    for window in ("W1", "W2", "W3"):
        h.do(c.OpenWindow(window))
    h.issue("q1")
    h.do(c.CallNext("W1"))
    assert apply(h) == []


def test_a_zones_long_line_borrows_only_from_its_own_zone() -> None:
    """Zoned tiny hall (q2 kept apart: W2 calls zone Y's, W1 and W3 zone Z's): zone Y's
    long q2 line is not lent W1 of zone Z, which could not call one of its tickets;
    zone Z's long q2 line is."""
    h = Driver(zoned_hall())
    for window in ("W1", "W2"):
        h.do(c.OpenWindow(window))
    for _ in range(4):
        h.do(c.IssueTicket("q2", zone="Y"))
    assert apply(h) == []
    for _ in range(4):
        h.do(c.IssueTicket("q2", zone="Z"))
    assert apply(h) == [c.SetProfile("W1", ("q1", "q2"), (), True)]


def test_the_pooled_bound_lets_any_window_call_any_ticket(sample_hall) -> None:
    """pooled ignores zones (every queue one line across the hall); zone-pooled keeps
    them: a zone B tax ticket is A01's under pooled only."""
    for policy, crosses in (("pooled", True), ("zone-pooled", False)):
        h = Driver(hall_for(sample_hall, policy), start="09:30")
        h.do(c.OpenWindow("A01"))
        from_b = h.do(c.IssueTicket("tax", zone="B"))[-1].ticket
        if crosses:
            assert h.call("A01").ticket == from_b
        else:
            h.rejects(c.CallNext("A01"), "queue_empty")
