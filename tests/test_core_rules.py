"""The dispatch core's rules, one behaviour a citizen, clerk or dispatcher would notice per test."""

from __future__ import annotations

import math

import pytest
from conftest import hall_time
from tiny_hall import Driver, tiny_hall

from dispatcher.core import Dispatcher, DispatchError, TicketState, WindowState
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.commands import command_from_dict

MIN = 60.0
Hall = Driver  # a core on a test hall with a clock that only moves forward


@pytest.fixture
def hall() -> Hall:
    h = Hall()
    for window in ("W1", "W2", "W3"):
        h.do(c.OpenWindow(window))
    return h


# ------------------------------------------------------------------ numbers


def test_numbers_are_prefix_plus_daily_sequence_per_prefix(hall: Hall) -> None:
    numbers = [hall.number(hall.issue(q)) for q in ("q1", "q1", "q2", "q1", "q3")]
    assert numbers == ["A001", "A002", "S001", "A003", "C001"]


def test_numbers_restart_after_the_reset_time_and_never_within_a_day(hall: Hall) -> None:
    hall.issue()
    hall.do(c.CloseDay())
    hall.rejects(c.IssueTicket("q1"), "day_closed")  # same business day: no number reused
    hall.now = hall_time(hall.core.hall, "02:59", day="2026-11-24")  # still the 23rd's day
    hall.rejects(c.IssueTicket("q1"), "day_closed")
    hall.now = hall_time(hall.core.hall, "03:00", day="2026-11-24")
    events = hall.do(c.IssueTicket("q1"), after=0)
    assert [type(e) for e in events] == [ev.DayOpened, ev.TicketIssued]
    assert events[-1].number == "A001" and events[-1].ticket == "20261124-A001"


def test_a_day_left_open_is_closed_out_by_the_next_day(hall: Hall) -> None:
    waiting = hall.issue()
    hall.now = hall_time(hall.core.hall, "08:00", day="2026-11-24")
    events = hall.do(c.IssueTicket("q1"), after=0)
    assert isinstance(events[0], ev.DayClosed) and events[0].closed_tickets == (waiting,)
    assert all(w.state is WindowState.CLOSED for w in hall.core.state.windows.values())


# -------------------------------------------------------------- issuing


def test_kiosk_of_one_zone_cannot_issue_for_another(sample_hall) -> None:
    h = Hall(sample_hall)
    assert h.do(c.IssueTicket("quick_b", zone="B"))[-1].number == "B001"
    h.rejects(c.IssueTicket("quick_b", zone="A"), "not_authorized")
    h.rejects(c.IssueTicket("quick_b", zone="C"), "bad_argument")


def test_no_tickets_outside_opening_hours_unless_extended(sample_hall) -> None:
    h = Hall(sample_hall, start="12:10")  # lunch break
    h.rejects(c.IssueTicket("quick_b"), "hall_closed")
    assert h.do(c.IssueTicket("quick_b", after_hours=True))[-1].number == "B001"
    h.now = hall_time(sample_hall, "09:00", day="2026-11-28")  # a Saturday
    h.rejects(c.IssueTicket("quick_b"), "hall_closed")


def test_unknown_queue_and_class_are_refused(hall: Hall) -> None:
    hall.rejects(c.IssueTicket("nope"), "unknown_queue")
    hall.rejects(c.IssueTicket("q1", "vip"), "unknown_class")


# ----------------------------------------------------------------- order


def test_one_queue_is_first_come_first_served(hall: Hall) -> None:
    tickets = [hall.issue() for _ in range(4)]
    assert [hall.call("W3").ticket for _ in range(4)] == tickets


def test_green_channel_goes_ahead_of_at_most_its_credit(hall: Hall) -> None:
    early = hall.issue()                        # waits 31 minutes before the green ticket
    recent = hall.issue(after=20 * MIN)         # issued 11 minutes before it
    green = hall.issue(ticket_class="green", after=11 * MIN)
    order = [hall.call("W3").ticket for _ in range(3)]
    assert order == [early, green, recent]


def test_appointment_credit_is_smaller_than_green(hall: Hall) -> None:
    walk_in = hall.issue()
    appointment = hall.issue(ticket_class="appointment", after=5 * MIN)
    green = hall.issue(ticket_class="green", after=1)
    assert [hall.call("W3").ticket for _ in range(3)] == [green, appointment, walk_in]


def test_main_work_before_side_work_and_side_when_main_is_empty(hall: Hall) -> None:
    side = hall.issue("q2")
    main = hall.issue("q1", after=MIN)
    first = hall.call("W1")
    assert (first.ticket, first.tier) == (main, "main")
    second = hall.call("W1")
    assert (second.ticket, second.tier) == (side, "side")


def test_overdue_side_work_is_taken_before_fresher_main_work(hall: Hall) -> None:
    side = hall.issue("q2")                      # q2 runs over its 10 minutes
    main = hall.issue("q1", after=11 * MIN)
    call = hall.call("W1")                       # W1 helps q2 when it runs over
    assert (call.ticket, call.tier) == (side, "overdue_side")
    assert hall.call("W1").ticket == main
    late = hall.issue("q1", after=MIN)
    hall.issue("q2", after=11 * MIN)
    # W2 does not help when side work runs over: its profile does not say so
    hall.do(c.FinishService("W1"))
    assert hall.call("W2").tier == "main"
    assert hall.call("W3").ticket == late


def test_main_work_further_over_its_threshold_still_comes_first(hall: Hall) -> None:
    main = hall.issue("q1")
    hall.issue("q2", after=5 * MIN)
    hall.now += 12 * MIN                         # main waited 17 min, side 12 min
    assert hall.call("W1").ticket == main


def test_main_queues_are_merged_by_place(hall: Hall) -> None:
    a = hall.issue("q1")
    b = hall.issue("q3")
    d = hall.issue("q1")
    assert [hall.call("W3").ticket for _ in range(3)] == [a, b, d]


# ------------------------------------------------------------ the window


def test_call_next_while_serving_finishes_the_current_ticket(hall: Hall) -> None:
    first, second = hall.issue(), hall.issue()
    hall.call("W3")
    hall.do(c.StartService("W3"))
    events = hall.do(c.CallNext("W3"))
    assert events[0] == ev.ServiceFinished(at=hall.now, ticket=first, window="W3", implicit=True)
    assert events[1].ticket == second
    assert hall.core.ticket(first).state is TicketState.DONE


def test_call_next_can_be_made_to_refuse_while_holding_a_ticket() -> None:
    h = Hall(tiny_hall(call_next_finishes_current=False))
    h.do(c.OpenWindow("W3"))
    h.issue(), h.issue()
    h.call("W3")
    h.rejects(c.CallNext("W3"), "window_busy")


def test_empty_queue_changes_nothing_even_while_serving(hall: Hall) -> None:
    hall.issue()
    hall.call("W3")
    hall.rejects(c.CallNext("W3"), "queue_empty")
    assert hall.core.state.windows["W3"].state is WindowState.CALLING


def test_a_window_never_holds_two_tickets_and_a_ticket_never_two_windows(hall: Hall) -> None:
    ticket = hall.issue()
    hall.call("W1")
    hall.rejects(c.CallTicket("W3", ticket), "wrong_state")
    hall.rejects(c.CallNext("W3"), "queue_empty")


def test_closed_and_paused_windows_do_not_call(hall: Hall) -> None:
    hall.issue()
    hall.do(c.Pause("W1", "午休 lunch"))
    assert hall.rejects(c.CallNext("W1"), "window_paused").message.endswith("(午休 lunch)")
    hall.do(c.Resume("W1"))
    hall.do(c.CloseWindow("W1"))
    hall.rejects(c.CallNext("W1"), "window_closed")
    hall.rejects(c.Resume("W1"), "wrong_state")
    hall.rejects(c.CallNext("W9"), "unknown_window")


def test_pause_needs_a_reason_and_a_free_window(hall: Hall) -> None:
    hall.issue()
    hall.rejects(c.Pause("W1", "  "), "bad_argument")
    hall.call("W1")
    hall.rejects(c.Pause("W1", "break"), "window_busy")
    hall.rejects(c.CloseWindow("W1"), "window_busy")


def test_recall_counts_and_start_then_finish(hall: Hall) -> None:
    ticket = hall.issue()
    hall.rejects(c.Recall("W3"), "window_idle")
    hall.call("W3")
    assert hall.do(c.Recall("W3"))[0].recalls == 1
    assert hall.do(c.Recall("W3"))[0].recalls == 2
    hall.do(c.StartService("W3"))
    hall.rejects(c.Recall("W3"), "wrong_state")
    hall.rejects(c.NoShow("W3"), "wrong_state")  # the citizen is at the desk
    hall.do(c.FinishService("W3"))
    t = hall.core.ticket(ticket)
    assert (t.state, t.served_by, t.recalls) == (TicketState.DONE, "W3", 2)
    assert t.called_at < t.started_at < t.finished_at


# -------------------------------------------------------- no-show, requeue


def test_a_returning_no_show_goes_in_behind_the_next_tickets(hall: Hall) -> None:
    late = hall.issue()
    others = [hall.issue() for _ in range(3)]
    hall.call("W3")
    hall.do(c.NoShow("W3"))
    assert hall.core.ticket(late).state is TicketState.NO_SHOW
    hall.do(c.Requeue(late))  # the hall requeues behind 2 tickets
    assert [hall.call("W3").ticket for _ in range(4)] == [*others[:2], late, others[2]]


def test_requeue_at_the_end_of_a_short_line_and_its_limit(hall: Hall) -> None:
    ticket = hall.issue()
    hall.call("W3")
    hall.do(c.NoShow("W3"))
    for _ in range(2):
        hall.do(c.Requeue(ticket))
        later = hall.issue()
        assert hall.call("W3").ticket == ticket  # nobody else was waiting when it came back
        hall.do(c.NoShow("W3"))
        assert hall.call("W3").ticket == later
    hall.rejects(c.Requeue(ticket), "requeue_limit")


def test_a_returning_no_show_goes_between_tickets_tied_on_virtual_time(hall: Hall) -> None:
    """Three tickets taken in the same second tie on virtual_at and go by serial: the
    no-show must come back behind exactly two of them, not behind the whole tie."""
    late = hall.issue("q3")
    tied = [hall.issue("q3", after=0 if i else 1) for i in range(3)]
    assert len({hall.core.ticket(t).virtual_at for t in tied}) == 1
    hall.call("W3")
    hall.do(c.NoShow("W3"))
    requeued = hall.do(c.Requeue(late))[0]
    assert hall.core.ticket(late).serial == requeued.serial
    assert [hall.call("W3").ticket for _ in range(4)] == [tied[0], tied[1], late, tied[2]]


def test_a_returning_no_show_goes_between_tickets_one_float_apart(hall: Hall) -> None:
    """No time lies between the two tickets it must go between, and the no-show's own
    serial is larger than the second one's (it was called by name out of turn)."""
    first, second = hall.issue("q3"), hall.issue("q3")
    hall.now = math.nextafter(hall.now, math.inf)
    third = hall.issue("q3", after=0)
    absent = hall.issue("q3")
    hall.do(c.CallTicket("W3", absent))
    hall.do(c.NoShow("W3"))
    hall.do(c.Requeue(absent))
    assert [hall.call("W3").ticket for _ in range(4)] == [first, second, absent, third]


def test_a_requeue_stored_before_it_carried_a_serial_still_replays(hall: Hall) -> None:
    ticket = hall.issue()
    hall.call("W3")
    hall.do(c.NoShow("W3"))
    event = hall.do(c.Requeue(ticket))[0]
    old = {k: v for k, v in event.to_dict().items() if k != "serial"}
    assert ev.event_from_dict(old) == ev.TicketRequeued(
        at=event.at, ticket=ticket, queue="q1", virtual_at=event.virtual_at, requeues=1)
    log = [*hall.log[:-1], ev.event_from_dict(old)]
    replayed = Dispatcher.replay(hall.core.hall, log)
    assert replayed.state.to_dict() == hall.core.state.to_dict()  # it kept its own serial


def test_a_no_show_can_be_called_by_name(hall: Hall) -> None:
    ticket = hall.issue()
    hall.call("W3")
    hall.do(c.NoShow("W3"))
    call = hall.do(c.CallTicket("W1", ticket))[-1]
    assert (call.ticket, call.tier) == (ticket, "named")
    hall.rejects(c.Requeue(ticket), "wrong_state")


def test_a_window_may_not_call_by_name_what_it_does_not_serve(hall: Hall) -> None:
    ticket = hall.issue("q3")
    hall.rejects(c.CallTicket("W2", ticket), "not_authorized")
    hall.rejects(c.CallTicket("W2", "20261123-Z999"), "unknown_ticket")


# --------------------------------------------------------------- transfer


def test_a_mis_taken_ticket_keeps_its_place_in_the_right_queue(hall: Hall) -> None:
    wrong = hall.issue("q2")                   # took tax, needed 马上办
    later = [hall.issue("q1") for _ in range(2)]
    assert hall.call("W2").ticket == wrong
    hall.do(c.Transfer(wrong, to_queue="q1"))
    assert hall.core.state.windows["W2"].state is WindowState.IDLE
    assert [hall.call("W3").ticket for _ in range(3)] == [wrong, *later]
    assert hall.core.ticket(wrong).transfers == 1


def test_a_ticket_sent_to_a_named_window_is_its_next_call_and_no_one_elses(hall: Hall) -> None:
    first, sent = hall.issue(), hall.issue()
    hall.call("W3")                             # W3 takes the first
    hall.do(c.Transfer(sent, to_window="W2"))
    hall.rejects(c.CallTicket("W1", sent), "not_authorized")
    assert hall.core.choose_next("W1", hall.now) is None
    call = hall.call("W2")
    assert (call.ticket, call.tier) == (sent, "direct")
    assert first != sent


def test_transfer_errors(hall: Hall) -> None:
    ticket = hall.issue()
    hall.rejects(c.Transfer(ticket), "bad_argument")
    hall.rejects(c.Transfer(ticket, to_queue="q1", to_window="W1"), "bad_argument")
    hall.rejects(c.Transfer(ticket, to_queue="q1"), "bad_argument")  # already there
    hall.rejects(c.Transfer(ticket, to_queue="qx"), "unknown_queue")
    hall.do(c.CloseWindow("W2"))
    hall.rejects(c.Transfer(ticket, to_window="W2"), "window_closed")
    hall.do(c.Transfer(ticket, to_window="W1"))
    hall.rejects(c.CloseWindow("W1"), "window_busy")  # someone is sent to it


def test_cancel_frees_the_window_but_not_a_ticket_in_service(hall: Hall) -> None:
    a, b = hall.issue(), hall.issue()
    hall.do(c.Cancel(b, "left"))
    hall.call("W3")
    hall.do(c.Cancel(a, "wrong hall"))
    assert hall.core.state.windows["W3"].state is WindowState.IDLE
    hall.rejects(c.Cancel(a), "wrong_state")
    c_ = hall.issue()
    hall.call("W3")
    hall.do(c.StartService("W3"))
    hall.rejects(c.Cancel(c_), "wrong_state")


# ---------------------------------------------------------------- profile


def test_the_console_moves_a_window_between_loops_for_the_day(hall: Hall) -> None:
    tax = hall.issue("q2")
    hall.do(c.SetProfile("W1", main=("q2",), side=("q1",)))
    assert hall.call("W1").ticket == tax
    hall.now = hall_time(hall.core.hall, "09:00", day="2026-11-24")
    hall.do(c.OpenWindow("W1"), after=0)
    assert hall.core.state.windows["W1"].profile.main == ("q1",)  # back to the plan


def test_a_profile_change_must_leave_every_queue_served(hall: Hall) -> None:
    hall.rejects(c.SetProfile("W3", main=("q1",)), "queue_unserved")  # q3 only on W3
    hall.rejects(c.SetProfile("W3", main=("qx",)), "bad_argument")
    hall.rejects(c.SetProfile("W3", main=("q3",), side=("q3",)), "bad_argument")
    hall.rejects(c.SetProfile("W3", main=()), "bad_argument")


# ------------------------------------------------------------- evaluation


def test_a_served_ticket_is_rated_once_on_the_five_level_scale(hall: Hall) -> None:
    ticket = hall.issue()
    hall.rejects(c.Evaluate(ticket, 5), "wrong_state")
    hall.call("W3")
    hall.do(c.FinishService("W3"))
    hall.rejects(c.Evaluate(ticket, 6), "bad_argument")
    hall.rejects(c.Evaluate(ticket, 0), "bad_argument")
    assert hall.do(c.Evaluate(ticket, 4))[0] == ev.TicketEvaluated(
        at=hall.now, ticket=ticket, window="W3", level=4)
    hall.rejects(c.Evaluate(ticket, 1), "already_evaluated")


# ---------------------------------------------------------- bad input parse


@pytest.mark.parametrize(
    ("name", "args", "field"),
    [
        ("issue_ticket", {}, "queue"),
        ("issue_ticket", {"queue": 3}, "queue"),
        ("issue_ticket", {"queue": ""}, "queue"),
        ("issue_ticket", {"queue": "q1", "after_hours": "yes"}, "after_hours"),
        ("issue_ticket", {"queue": "q1", "colour": "red"}, "colour"),
        ("evaluate", {"ticket": "x", "level": "5"}, "level"),
        ("evaluate", {"ticket": "x", "level": True}, "level"),
        ("set_profile", {"window": "W1", "main": "q1"}, "main"),
        ("transfer", {"ticket": "x", "to_queue": 1}, "to_queue"),
        ("launch_rocket", {}, "name"),
    ],
)
def test_bad_command_input_names_the_field(name: str, args: dict, field: str) -> None:
    with pytest.raises(DispatchError) as info:
        command_from_dict(name, args)
    assert (info.value.code, info.value.details["field"]) == ("bad_argument", field)


def test_commands_parse_from_json_form() -> None:
    assert command_from_dict("set_profile", {"window": "W1", "main": ["q1"]}) == c.SetProfile(
        "W1", ("q1",))
    assert command_from_dict("close_day", {}) == c.CloseDay()
    # a text argument whose default is empty may be given empty
    assert command_from_dict("cancel", {"ticket": "x", "reason": ""}) == c.Cancel("x")


# -------------------------------------------------------------- starvation


def test_a_normal_ticket_is_not_starved_by_an_endless_green_channel(hall: Hall) -> None:
    """The bound: nothing issued more than the largest class credit (30 min) after a
    normal ticket is called before it. Here one window serves a ticket every two
    minutes while a green-channel ticket arrives every minute, for three hours."""
    hall.do(c.CloseWindow("W1"))
    hall.do(c.CloseWindow("W2"))
    normal = hall.issue("q3")
    issued_at = hall.core.ticket(normal).issued_at
    called_before: list[str] = []
    for minute in range(180):
        hall.issue("q3", "green", after=60 - 1)
        if minute % 2 == 0:
            call = hall.call("W3")
            if call.ticket == normal:
                break
            called_before.append(call.ticket)
    assert hall.core.ticket(normal).state is TicketState.CALLED
    latest = max(hall.core.ticket(t).issued_at for t in called_before)
    assert latest <= issued_at + hall.core.hall.max_credit
    assert len(called_before) <= 30
