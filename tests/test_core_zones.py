"""Zones (issue 17): a ticket keeps the zone of the kiosk it was taken at, and a window
calls from a queue's line only the tickets of its own zone, unless the hall file makes
the queue one line across its zones (``cross_zone = true``)."""

from __future__ import annotations

import pytest
from tiny_hall import Driver, tiny_hall_raw, zoned_hall

from dispatcher.core import Dispatcher
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.estimate import queue_status, ticket_status
from dispatcher.core.selection import callable_by
from dispatcher.hall import SAMPLE_HALL, HallConfigError, load_hall, parse_hall

MIN = 60.0


def opened(cross_zone: bool = False, *windows: str) -> Driver:
    h = Driver(zoned_hall(cross_zone))
    for window in windows or ("W1", "W2", "W3"):
        h.do(c.OpenWindow(window))
    return h


def issue(h: Driver, queue: str, zone: str | None, ticket_class: str = "normal",
          after: float = 1.0) -> str:
    return h.do(c.IssueTicket(queue, ticket_class, zone), after)[-1].ticket


def test_a_ticket_keeps_the_zone_of_its_kiosk_in_its_event_and_state() -> None:
    h = opened()
    [issued] = h.do(c.IssueTicket("q1", zone="Y"))
    assert isinstance(issued, ev.TicketIssued) and issued.zone == "Y"
    assert ev.event_from_dict(issued.to_dict()) == issued
    assert h.core.ticket(issued.ticket).zone == "Y"
    console = issue(h, "q1", None)
    assert h.core.ticket(console).zone is None


def test_a_window_does_not_call_a_ticket_taken_in_another_zone() -> None:
    """The zone-Y ticket came first; W1 (zone Z) skips it for the zone-Z one, and W2
    (zone Y) calls it."""
    h = opened()
    from_y = issue(h, "q1", "Y")
    from_z = issue(h, "q1", "Z")
    assert h.call("W1").ticket == from_z
    assert h.call("W2").ticket == from_y


def test_with_nothing_of_its_zone_waiting_a_window_calls_nothing() -> None:
    h = opened(False, "W1")
    issue(h, "q1", "Y")
    err = h.rejects(c.CallNext("W1"), "queue_empty")
    assert "W1" in err.message


def test_side_work_keeps_to_the_zone_too() -> None:
    """W1 helps q2 as side work: only zone Z's q2 tickets."""
    h = opened(False, "W1")
    issue(h, "q2", "Y")
    mine = issue(h, "q2", "Z")
    called = h.call("W1")
    assert (called.ticket, called.tier) == (mine, "side")


def test_a_cross_zone_queue_is_one_line_across_the_zones() -> None:
    h = opened(True, "W1", "W3")
    from_y = issue(h, "q2", "Y")
    issue(h, "q2", "Z")
    assert h.call("W3").ticket == from_y


def test_order_and_credits_hold_within_a_zone() -> None:
    """In zone Y's part of the line: a green ticket 20 minutes later goes first (30
    minutes' credit), then the normal tickets first come, first served."""
    h = opened(False, "W2")
    first = issue(h, "q1", "Y")
    second = issue(h, "q1", "Y", after=60)
    issue(h, "q1", "Z", after=60)
    green = issue(h, "q1", "Y", "green", after=20 * MIN)
    assert [h.call("W2").ticket for _ in range(3)] == [green, first, second]


def test_a_ticket_from_before_zones_were_recorded_is_any_windows() -> None:
    """An old ticket_issued without a zone replays as before: any window calls it."""
    h = opened()
    [issued] = h.do(c.IssueTicket("q1", zone="Y"))
    old = {k: v for k, v in issued.to_dict().items() if k != "zone"}
    replayed = Dispatcher.replay(h.core.hall, [*h.log[:-1], ev.event_from_dict(old)])
    assert replayed.state.tickets[issued.ticket].zone is None
    assert replayed.execute(c.CallNext("W1"), h.now + 1)[-1].ticket == issued.ticket


def test_a_transfer_keeps_the_zone_and_the_place() -> None:
    """A zone-Y ticket sent from q1 to q2 waits for zone Y's q2 windows, in its place;
    sent to q3 (offered in zone Z only) any window serving q3 may call it."""
    h = opened(False, "W1", "W3")
    moved = issue(h, "q1", "Y")
    place = h.core.ticket(moved).place
    h.do(c.Transfer(moved, to_queue="q2"))
    assert h.core.ticket(moved).place == place and h.core.ticket(moved).zone == "Y"
    h.rejects(c.CallNext("W1"), "queue_empty")
    h.do(c.Transfer(moved, to_queue="q3"))
    assert h.call("W3").ticket == moved


def test_a_named_call_is_the_clerks_choice() -> None:
    """call_ticket names the ticket (a citizen at the desk with it): not refused."""
    h = opened(False, "W1")
    from_y = issue(h, "q1", "Y")
    assert h.do(c.CallTicket("W1", from_y))[-1].ticket == from_y


def test_a_move_may_not_leave_a_zone_without_a_window_for_its_tickets() -> None:
    h = opened()
    err = h.rejects(c.SetProfile("W2", ("q1",)), "queue_unserved")
    assert err.message == "no window of zone Y would serve queue q2 as main work"
    Driver(zoned_hall(True)).do(c.SetProfile("W2", ("q1",)))  # one line: W3 serves it


def test_the_wait_counts_only_the_citizens_own_line() -> None:
    """Five zone-Z tickets wait for q1; a zone-Y ticket has none ahead of it, and the
    kiosk of zone Y promises a wait with nobody ahead."""
    h = opened(False, "W1", "W2")
    h.do(c.IssueTicket("q1", zone="Y"))
    h.call("W2")                                 # W2 is busy for a while
    for _ in range(5):
        issue(h, "q1", "Z")
    h.call("W1")
    mine = issue(h, "q1", "Y")
    status = ticket_status(h.core.hall, h.core.state, mine, h.now)
    assert status["ahead"] == 0
    assert status["expected_wait_s"] < 5 * MIN   # W2's rest, not 4 Z tickets at W1
    zone_y = queue_status(h.core.hall, h.core.state, h.now, zone="Y")["q1"]
    zone_z = queue_status(h.core.hall, h.core.state, h.now, zone="Z")["q1"]
    assert (zone_y["waiting"], zone_z["waiting"]) == (1, 4)
    assert (zone_y["windows"], zone_z["windows"]) == (1, 1)
    assert zone_y["expected_wait_s"] < zone_z["expected_wait_s"]
    z_ticket = issue(h, "q1", "Z")
    assert ticket_status(h.core.hall, h.core.state, z_ticket, h.now)["ahead"] == 4


def test_the_hall_file_says_which_queues_cross_zones() -> None:
    hall = load_hall(SAMPLE_HALL)
    crossing = {q.id for q in hall.queues.values() if q.cross_zone}
    assert crossing == {"post", "complaint", "results"}
    apart = {q.id for q in hall.queues.values() if len(q.zones) > 1 and not q.cross_zone}
    assert apart == {"tax", "real_estate", "notary", "housing_fund", "consult"}


@pytest.mark.parametrize(("change", "key", "reason"), [
    (lambda raw: raw["windows"][1].update(zone="Z"), "queues.q1",
     "no window of zone Y has this queue as main work (主业), and its tickets taken in "
     "zone Y may not be called from another zone: add one, or set cross_zone = true"),
    (lambda raw: raw["queues"]["q3"].update(cross_zone=True), "queues.q3.cross_zone",
     "the queue is offered in zone Z only: there is no other zone to call it from"),
    (lambda raw: raw["queues"]["q2"].update(cross_zone="yes"), "queues.q2.cross_zone",
     "expected true or false, got 'yes'"),
])
def test_cross_zone_is_checked_at_load(change, key: str, reason: str) -> None:
    raw = tiny_hall_raw()
    raw["queues"]["q1"]["zones"] = ["Z", "Y"]
    raw["windows"][1]["zone"] = "Y"
    raw["profiles"]["p2"] = {"main": ["q2", "q1"]}
    raw["windows"][1]["profile"] = "p2"
    change(raw)
    with pytest.raises(HallConfigError) as info:
        parse_hall(raw, "zones.toml")
    assert str(info.value) == f"zones.toml: {key}: {reason}"


def test_a_returning_no_show_goes_behind_tickets_of_its_own_zone() -> None:
    """过号重排 (requeue_after 2): behind two of zone Y's waiting tickets, however many
    of zone Z's wait in the same queue's line."""
    h = opened(False, "W2")
    absent = issue(h, "q1", "Y")
    assert h.call("W2").ticket == absent
    h.do(c.NoShow("W2"))
    for _ in range(3):
        issue(h, "q1", "Z")
    first, second, third = (issue(h, "q1", "Y") for _ in range(3))
    h.do(c.Requeue(absent))
    assert [h.call("W2").ticket for _ in range(4)] == [first, second, absent, third]


def test_in_a_queue_of_one_zone_everyone_ahead_counts() -> None:
    """q3 is offered in zone Z only, so its windows call every ticket of its line: a
    ticket's count ahead is its place in the line, whatever zone the ones ahead were
    taken in (the count takes no scan of the line: a long line stays cheap)."""
    h = opened(False, "W1", "W3")
    moved = issue(h, "q1", "Y")
    h.do(c.Transfer(moved, to_queue="q3"))      # a zone-Y ticket in zone Z's queue
    for _ in range(3):
        issue(h, "q3", "Z")
    last = issue(h, "q3", "Z")
    hall, state = h.core.hall, h.core.state
    line = state.queue_lines["q3"]
    assert sum(callable_by(hall, state.tickets[tid], "Z") for *_, tid in line[:4]) == 4
    assert ticket_status(hall, state, last, h.now)["ahead"] == 4
    assert queue_status(hall, state, h.now, zone="Z")["q3"]["waiting"] == 5
    assert h.call("W3").ticket == moved          # and it is called first, in its place
