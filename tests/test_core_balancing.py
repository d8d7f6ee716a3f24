"""Live balancing in the core (dispatcher/core/balancing.py): the moves suggested on
live state, a suggestion kept while it stands, applied once and audited, refused
when stale, the hourly cap, each zone's mode; replay rebuilds all of it."""

from __future__ import annotations

from dataclasses import replace

from tiny_hall import Driver, tiny_hall

from dispatcher.core import Dispatcher
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.balancing import balancing_view, candidates, is_automatic
from dispatcher.hall import Balancing

MIN = 60.0


def q3_runs_long(automatic: tuple[str, ...] = ()) -> Driver:
    """W3 serves q3 with three more waiting; W2 (q2, nothing waiting) is idle."""
    hall = tiny_hall()
    h = Driver(replace(hall, balancing=Balancing(automatic=automatic)))
    for window in ("W2", "W3"):
        h.do(c.OpenWindow(window))
    for _ in range(4):
        h.issue("q3")
    h.call("W3")
    return h


def post(h: Driver) -> list[ev.Event]:
    return h.do(c.PostSuggestions(candidates(h.core.hall, h.core.state, h.now)))


def test_a_window_with_slack_is_suggested_for_a_long_line_and_kept_while_it_stands() -> None:
    h = q3_runs_long()
    [posted] = post(h)
    assert isinstance(posted, ev.SuggestionsPosted)
    [s] = posted.suggestions
    assert (s["id"], s["window"], s["kind"], s["from_main"]) == ("S-0001", "W2", "lend",
                                                                 ["q2"])
    assert "q3" in s["main"] and "咨询 3 人等候" in s["reason"]
    assert s["queues"] == ["q1", "q2", "q3"] and s["predicted"] is None
    assert post(h) == []                                   # the same move: no new event
    assert h.do(c.PredictSuggestion("S-0001", {"mean_after": 4.0})) != []
    assert h.core.state.suggestions["S-0001"]["predicted"] == {"mean_after": 4.0}
    assert h.do(c.PredictSuggestion("S-0099", {"mean_after": 1.0})) == []   # gone: dropped


def test_applying_moves_the_window_once_and_the_next_ticket_goes_there() -> None:
    h = q3_runs_long()
    post(h)
    [moved] = h.do(c.ApplySuggestion("S-0001", by="staff-001"))
    assert isinstance(moved, ev.ProfileChanged)
    assert (moved.suggestion, moved.by, moved.automatic) == ("S-0001", "staff-001", False)
    assert moved.reason.startswith("咨询")
    assert h.core.state.moved == {"W2": [h.now]} and h.core.state.suggestions == {}
    assert h.core.ticket(h.call("W2").ticket).queue == "q3"
    h.rejects(c.ApplySuggestion("S-0001"), "stale_suggestion")
    replayed = Dispatcher.replay(h.core.hall, h.log)
    assert replayed.state.to_dict() == h.core.state.to_dict()


def test_a_suggestion_is_stale_once_its_window_moved_otherwise() -> None:
    h = q3_runs_long()
    post(h)
    h.do(c.SetProfile("W2", main=("q2", "q3"), reason="by hand", by="staff-002"))
    h.rejects(c.ApplySuggestion("S-0001", by="staff-001"), "stale_suggestion")
    [changed] = h.do(c.SetProfile("W2", main=("q2",), side=("q1",)))
    assert isinstance(changed, ev.ProfileChanged) and changed.reason == ""


def test_no_window_moves_more_than_the_hourly_cap() -> None:
    h = q3_runs_long()
    post(h)
    h.do(c.ApplySuggestion("S-0001", by="hub"))
    for _ in range(6):
        h.issue("q2")           # W2's own line runs long: it should go home, but not yet
    assert candidates(h.core.hall, h.core.state, h.now) == ()
    h.now += 60 * MIN
    [home] = candidates(h.core.hall, h.core.state, h.now)
    assert (home["window"], home["kind"], home["main"]) == ("W2", "return", ["q2"])
    assert "税务 6 人等候" in home["reason"]


def test_each_zone_starts_in_the_mode_of_the_hall_file_and_a_console_switches_it() -> None:
    h = q3_runs_long(automatic=("Z",))
    hall, state = h.core.hall, h.core.state
    assert is_automatic(hall, state, "Z") and not is_automatic(hall, state, "Y")
    [switched] = h.do(c.SetBalancing("Z", automatic=False, by="staff-001"))
    assert isinstance(switched, ev.BalancingSet) and switched.by == "staff-001"
    assert balancing_view(hall, h.core.state)["Z"] == {"automatic": False, "by": "staff-001",
                                                       "at": h.now}
    assert h.do(c.SetBalancing("Z", automatic=False)) == []
    h.rejects(c.SetBalancing("X", automatic=True), "bad_argument")
    h.rejects(c.SetProfile("W2", main=("q2",), reason="x" * 201), "bad_argument")
