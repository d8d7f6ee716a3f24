"""挂起/回呼 (hold and call back), the clerk at a window, and a rating's reason."""

from __future__ import annotations

import pytest
from tiny_hall import Driver

from dispatcher.core import TicketState, WindowState
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.calls import MAX_HELD

Hall = Driver


@pytest.fixture
def hall() -> Hall:
    h = Hall()
    for window in ("W1", "W2", "W3"):
        h.do(c.OpenWindow(window))
    return h


def test_a_held_ticket_waits_aside_and_the_window_calls_on(hall: Hall) -> None:
    first, second = hall.issue(), hall.issue()
    hall.call("W1")
    hall.do(c.StartService("W1"))
    held = hall.do(c.Hold("W1"))[-1]
    assert isinstance(held, ev.TicketHeld) and held.ticket == first
    assert hall.core.ticket(first).state is TicketState.HELD
    assert hall.core.state.windows["W1"].state is WindowState.IDLE
    assert hall.call("W1").ticket == second       # the window goes on with new work
    assert hall.core.ticket(first).state is TicketState.HELD


def test_call_back_comes_ahead_of_new_work_oldest_held_first(hall: Hall) -> None:
    a, b, newer = hall.issue(), hall.issue(), hall.issue()
    hall.call("W1")
    hall.do(c.Hold("W1"))
    hall.call("W1")
    hall.do(c.Hold("W1"))
    back = hall.do(c.CallBack("W1"))[-1]
    assert (back.ticket, back.tier) == (a, "call_back")
    # calling back while holding a ticket finishes it first, as call_next does
    events = hall.do(c.CallBack("W1"))
    assert [type(e) for e in events] == [ev.ServiceFinished, ev.TicketCalled]
    assert events[-1].ticket == b
    assert hall.core.state.queue_lines["q1"][0][2] == newer  # still waiting, not overtaken


def test_a_named_call_back_and_its_refusals(hall: Hall) -> None:
    a, b = hall.issue(), hall.issue()
    hall.rejects(c.CallBack("W1"), "nothing_held")
    hall.call("W1")
    hall.do(c.Hold("W1"))
    hall.call("W1")
    hall.do(c.Hold("W1"))
    hall.rejects(c.CallBack("W2", a), "nothing_held")          # held at W1, not W2
    hall.rejects(c.CallBack("W1", "20261123-A999"), "unknown_ticket")
    assert hall.do(c.CallBack("W1", b))[-1].ticket == b
    hall.do(c.FinishService("W1"))
    hall.do(c.Pause("W1", "午休"))
    hall.rejects(c.CallBack("W1"), "window_paused")
    hall.rejects(c.Hold("W2"), "window_idle")


def test_holding_is_limited_per_window(hall: Hall) -> None:
    for _ in range(MAX_HELD + 1):
        hall.issue()
    for _ in range(MAX_HELD):
        hall.call("W1")
        hall.do(c.Hold("W1"))
    hall.call("W1")
    hall.rejects(c.Hold("W1"), "hold_limit")


def test_a_held_ticket_can_be_cancelled_and_is_closed_at_the_end_of_the_day(hall: Hall) -> None:
    a, b = hall.issue(), hall.issue()
    hall.call("W1")
    hall.do(c.Hold("W1"))
    hall.do(c.Cancel(a, "did not come back"))
    assert hall.core.ticket(a).state is TicketState.CANCELLED
    assert hall.core.state.held["W1"] == []
    hall.call("W1")
    hall.do(c.Hold("W1"))
    closed = hall.do(c.CloseDay())[-1]
    assert b in closed.closed_tickets and hall.core.ticket(b).state is TicketState.CLOSED
    assert not any(hall.core.state.held.values())


def test_a_held_ticket_is_not_transferred_or_no_showed(hall: Hall) -> None:
    a = hall.issue()
    hall.call("W1")
    hall.do(c.Hold("W1"))
    hall.rejects(c.Transfer(a, to_queue="q2"), "wrong_state")
    hall.rejects(c.NoShow("W1"), "window_idle")


def test_calls_and_ratings_carry_the_clerk_at_the_window(hall: Hall) -> None:
    assert hall.do(c.SignIn("W1", "clerk-017"))[-1] == ev.ClerkSignedIn(
        at=hall.now, window="W1", clerk="clerk-017")
    assert hall.do(c.SignIn("W1", "clerk-017")) == []       # a reconnecting panel: no event
    a = hall.issue()
    hall.call("W1")
    hall.do(c.SignIn("W1", "clerk-018"))                    # a shift change mid-service
    hall.do(c.FinishService("W1"))
    rated = hall.do(c.Evaluate(a, 2, reason=" 等候时间长 "))[-1]
    assert (rated.clerk, rated.reason, rated.window) == ("clerk-017", "等候时间长", "W1")
    assert hall.core.ticket(a).rating_reason == "等候时间长"
    hall.do(c.SignIn("W1", ""))
    assert hall.core.state.windows["W1"].clerk is None
    hall.rejects(c.SignIn("W1", "x" * 65), "bad_argument")
    hall.rejects(c.SignIn("W9", "clerk-017"), "unknown_window")


def test_a_rating_reason_is_bounded(hall: Hall) -> None:
    a = hall.issue()
    hall.call("W1")
    hall.do(c.FinishService("W1"))
    hall.rejects(c.Evaluate(a, 1, reason="太慢" * 101), "bad_argument")
    assert hall.do(c.Evaluate(a, 1))[-1].reason == ""
