"""Queue status and expected wait (docs/dispatch-core.md, "Expected wait"): what a
kiosk prints on the ticket and a display shows per queue.

The tiny hall: q1 is main work of W1 and W3 and side work of W2; q2 is main work of
W2 and side work of W1; q3 is W3's alone. Every queue is configured at 5 minutes.

The estimate projects the calls ahead of the ticket: the first comes when the first
window that may call the line is free (at once if one is idle), the others at the
rate the windows call the line. An open window that was never called on is idle.
"""

from __future__ import annotations

import pytest
from tiny_hall import Driver

from dispatcher.core import DispatchError, TicketState
from dispatcher.core import commands as c
from dispatcher.core.estimate import SIDE_BUSY, expected_wait, queue_status, ticket_status

MIN = 60.0
CONFIGURED = 5 * MIN


def hall_with(*windows: str) -> Driver:
    h = Driver()
    for window in windows:
        h.do(c.OpenWindow(window))
    return h


def status(h: Driver, queue: str) -> dict:
    return queue_status(h.core.hall, h.core.state, h.now, projected=True)[queue]


def serve(h: Driver, window: str, minutes: float, started: bool = True) -> None:
    """The window calls its next ticket and is done with it ``minutes`` later."""
    h.do(c.CallNext(window))
    if started:
        h.do(c.StartService(window), after=0)
    h.do(c.FinishService(window), after=minutes * MIN)


def test_the_first_estimator_is_half_a_service_more_than_the_tickets_ahead() -> None:
    # kept for comparison: the simulator reports it beside the projection
    assert expected_wait(ahead=0, m=1, mean=300) == 150
    assert expected_wait(ahead=3, m=2, mean=300) == 525
    assert expected_wait(ahead=3, m=0, mean=300) is None


def test_an_idle_window_calls_at_once_then_one_service_per_ticket_ahead() -> None:
    h = hall_with("W1", "W2", "W3")
    assert status(h, "q3") == {"waiting": 0, "windows": 1, "side_windows": 0,
                               "expected_wait_s": 0.0, "expected_wait_range_s": None}
    for _ in range(3):
        h.issue("q3")
    assert status(h, "q3")["waiting"] == 3
    assert status(h, "q3")["expected_wait_s"] == pytest.approx(3 * CONFIGURED)


def test_a_busy_window_is_free_when_its_service_is_expected_to_end() -> None:
    h = hall_with("W3")
    h.issue("q3")
    h.do(c.CallNext("W3"))
    h.do(c.StartService("W3"), after=0)
    h.now += 1 * MIN                            # one of the configured five minutes gone
    assert status(h, "q3")["expected_wait_s"] == 4 * MIN
    h.issue("q3", after=0)
    h.issue("q3", after=0)
    assert status(h, "q3")["expected_wait_s"] == 4 * MIN + 2 * CONFIGURED
    h.now += 10 * MIN                           # overrunning: soon over, a quarter of a mean
    assert status(h, "q3")["expected_wait_s"] == 0.25 * CONFIGURED + 2 * CONFIGURED


def test_a_long_service_is_expected_to_go_on_like_the_long_ones_of_late() -> None:
    h = hall_with("W3")
    for _ in range(4):
        h.issue("q3")
    for minutes in (1, 1, 7):
        serve(h, "W3", minutes)
    h.do(c.CallNext("W3"))
    h.do(c.StartService("W3"), after=0)
    h.now += 2 * MIN      # past the two 1-minute services: like the 7-minute one, 5 to go
    assert status(h, "q3")["expected_wait_s"] == pytest.approx(5 * MIN)


def test_doubling_the_windows_halves_the_wait() -> None:
    one, two = hall_with("W1"), hall_with("W1", "W3")
    for h in (one, two):
        for _ in range(4):
            h.issue("q1")
    assert (status(one, "q1")["windows"], status(two, "q1")["windows"]) == (1, 2)
    assert status(two, "q1")["expected_wait_s"] == status(one, "q1")["expected_wait_s"] / 2


def test_a_side_window_calls_the_line_while_its_main_work_is_empty() -> None:
    both = hall_with("W1", "W2")
    for _ in range(3):
        both.issue("q2")
    assert (status(both, "q2")["windows"], status(both, "q2")["side_windows"]) == (1, 1)
    assert status(both, "q2")["expected_wait_s"] == pytest.approx(3 * CONFIGURED / 2)
    both.issue("q1")                            # W1's own main work comes first now
    assert status(both, "q2")["expected_wait_s"] == pytest.approx(
        3 * CONFIGURED / (1 + SIDE_BUSY))
    side_only = hall_with("W1")
    side_only.issue("q2")
    assert status(side_only, "q2")["expected_wait_s"] == CONFIGURED


def test_a_window_with_two_main_lines_shares_itself_by_their_length() -> None:
    h = hall_with("W1", "W3")
    for _ in range(2):
        h.issue("q3")
    h.issue("q1")
    # W1 calls only q1 (one call per 5 minutes); W3 has q1 and q3 as main work, 2 and 2
    # tickets up to the asked one: half its calls go to q1
    assert status(h, "q1")["expected_wait_s"] == pytest.approx(
        1 / (1 / CONFIGURED + 0.5 / CONFIGURED))


def test_no_estimate_while_no_window_calls_the_queue() -> None:
    h = hall_with("W1", "W2")
    h.issue("q3")
    assert status(h, "q3") == {"waiting": 1, "windows": 0, "side_windows": 0,
                               "expected_wait_s": None, "expected_wait_range_s": None}
    h.do(c.OpenWindow("W3"))
    h.do(c.Pause("W3", "午休"))
    assert status(h, "q3")["expected_wait_s"] is None      # paused: not calling
    h.do(c.Resume("W3"))
    assert status(h, "q3")["expected_wait_s"] == 1 * CONFIGURED


def test_once_tickets_are_served_their_service_times_are_used() -> None:
    h = hall_with("W3")
    for _ in range(3):
        h.issue("q3")
    serve(h, "W3", minutes=2)
    assert status(h, "q3")["expected_wait_s"] == 2 * 2 * MIN
    serve(h, "W3", minutes=4, started=False)    # never started: timed from the call
    assert status(h, "q3")["expected_wait_s"] == 1 * 3 * MIN


def test_only_the_last_20_services_count() -> None:
    h = hall_with("W3")
    for _ in range(22):
        h.issue("q3")
    serve(h, "W3", minutes=10)                  # a slow start of the morning...
    for _ in range(20):
        serve(h, "W3", minutes=1)               # ...forgotten after 20 quick ones
    assert status(h, "q3")["expected_wait_s"] == 1 * MIN


def test_each_queue_has_its_own_service_time() -> None:
    h = hall_with("W1", "W3")
    h.issue("q1")
    serve(h, "W1", minutes=20)
    h.issue("q3")
    h.issue("q3")
    assert status(h, "q3")["expected_wait_s"] == 2 * CONFIGURED
    h.do(c.Pause("W3", "午休"))
    h.issue("q1")
    h.issue("q1")
    assert status(h, "q1")["expected_wait_s"] == 2 * 20 * MIN


def test_a_ticket_is_told_what_the_queue_promised_when_it_was_taken() -> None:
    h = hall_with("W3")
    for _ in range(2):
        h.issue("q3")
    promised = queue_status(h.core.hall, h.core.state, h.now)["q3"]["expected_wait_s"]
    assert promised == status(h, "q3")["expected_wait_s"] == 2 * CONFIGURED
    mine = h.issue("q3")
    assert ticket_status(h.core.hall, h.core.state, mine, h.now) == {
        "ticket": mine, "number": "C003", "queue": "q3", "state": "waiting", "window": None,
        "ahead": 2, "expected_wait_s": promised, "expected_wait_range_s": [
            promised * 0.56, promised * 1.43]}
    h.call("W3")
    assert ticket_status(h.core.hall, h.core.state, mine, h.now)["ahead"] == 1


def test_a_called_ticket_waits_no_more() -> None:
    h = hall_with("W3")
    ticket = h.issue("q3")
    h.call("W3")
    got = ticket_status(h.core.hall, h.core.state, ticket, h.now)
    assert (got["state"], got["window"], got["ahead"], got["expected_wait_s"]) == (
        "called", "W3", 0, None)


def test_a_ticket_sent_to_a_window_waits_for_that_window_alone() -> None:
    h = hall_with("W1", "W2", "W3")
    first, second = h.issue("q1"), h.issue("q1")
    h.do(c.Transfer(first, to_window="W2"))
    h.do(c.Transfer(second, to_window="W2"))
    got = ticket_status(h.core.hall, h.core.state, second, h.now)
    assert (got["window"], got["ahead"], got["expected_wait_s"]) == ("W2", 1, 1 * CONFIGURED)


def test_an_unknown_ticket_is_refused() -> None:
    h = hall_with("W3")
    with pytest.raises(DispatchError) as info:
        ticket_status(h.core.hall, h.core.state, "20261123-C999", h.now)
    assert info.value.code == "unknown_ticket"


def test_the_dispatcher_answers_the_same() -> None:
    h = hall_with("W1", "W3")
    ticket = h.issue("q3")
    assert h.core.queue_status(h.now) == queue_status(h.core.hall, h.core.state, h.now)
    assert h.core.ticket_status(ticket, h.now)["ahead"] == 0
    assert h.core.ticket(ticket).state is TicketState.WAITING
