"""Properties of the dispatch core over random command sequences (hypothesis).

After every step: no ticket is held by two windows and no window holds two; every
waiting ticket is in exactly one line; nothing is lost and no number is issued
twice in a day; a rejected command changes nothing; a returning no-show has exactly
requeue_after tickets ahead of it (fewer in a shorter line); a check-in's ticket is an
appointment ticket of the booked queue, taken inside the check-in window, and no
ticket belongs to two appointments; a device's last report is what staff see.
Every call is checked against the state before it: the window takes the smallest
place of the tier it calls from (FIFO by virtual arrival time), and the starvation
bound holds. At the end, replaying the event list rebuilds the same state, and once
every window works, every waiting ticket is called. The same machine runs on a hall of
two zones (issue 17), where a window calls only its own zone's tickets of a queue that
keeps its zones apart: the order and the bound are checked within that part of a line.
"""

from __future__ import annotations

from conftest import hall_time
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from tiny_hall import tiny_hall, zoned_hall

from dispatcher.core import Dispatcher, DispatchError, Ticket, TicketState, WindowState
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.dispatcher import DEVICE_STATUSES
from dispatcher.core.selection import callable_by, overdue_ratio

HALL = tiny_hall()
QUEUES = ["q1", "q2", "q3"]
WINDOWS = ["W1", "W2", "W3"]
queues = st.sampled_from([*QUEUES, "qx"])
windows = st.sampled_from([*WINDOWS, "W9"])
pick = st.integers(min_value=0, max_value=200)
codes = st.sampled_from(["P1", "P2", "P3"])
bad_codes = st.sampled_from(["", "P" * 33])
zones = st.sampled_from([None, "Z", "Y", "X"])  # Y offers no queue, X is no zone
kiosk_zones = st.sampled_from([None, "Z", "Y", "Y"])  # None: the console


class HallMachine(RuleBasedStateMachine):
    hall = HALL

    def __init__(self) -> None:
        super().__init__()
        self.core = Dispatcher(self.hall)
        self.now = hall_time(self.hall, "08:00")
        self.log: list[ev.Event] = []
        self.numbers: set[tuple[str, str]] = set()
        self.rejected: set[str] = set()

    # --------------------------------------------------------- running

    def run(self, command: c.Command) -> list[ev.Event] | None:
        """The command's events once applied, or None when it was rejected."""
        before = self.core.state.to_dict()
        try:
            events = self.core.decide(command, self.now)
        except DispatchError as exc:
            assert self.core.state.to_dict() == before, f"{command} changed state on {exc}"
            self.rejected.add(exc.code)
            return None
        assert self.core.state.to_dict() == before, "decide must not change the state"
        if not any(isinstance(e, ev.DayOpened) for e in events):
            for event in events:
                if isinstance(event, ev.TicketCalled):
                    self.check_call(event)
        places = {t.id: t.place for t in self.core.state.tickets.values()}
        self.core.apply_all(events)
        self.log.extend(events)
        for event in events:
            self.check_after(event, places)
        return events

    def ticket_id(self, index: int) -> str:
        tickets = list(self.core.state.tickets)
        return tickets[index % len(tickets)] if tickets else "20261123-A999"

    # ----------------------------------------------------------- oracle

    def check_call(self, call: ev.TicketCalled) -> None:
        """The called ticket is the one the rules say, judged from the state before."""
        state, window = self.core.state, self.core.state.windows[call.window]
        chosen = state.tickets[call.ticket]
        waiting = [t for t in state.tickets.values() if t.state is TicketState.WAITING]
        direct = [t for t in waiting if t.window == call.window]
        if call.tier == "named":
            assert chosen.state in (TicketState.WAITING, TicketState.NO_SHOW)
            return
        if call.tier == "call_back":
            assert chosen.state is TicketState.HELD and chosen.window == call.window
            return
        if call.tier == "direct":
            assert chosen.place == min(t.place for t in direct)
            return
        assert not direct, "a ticket sent to this window by name must come first"
        profile = window.profile
        zone = self.hall.windows[call.window].zone
        mine = [t for t in waiting if t.window is None and callable_by(self.hall, t, zone)]
        main = [t for t in mine if t.queue in profile.main]
        side = [t for t in mine if t.queue in profile.side]
        assert callable_by(self.hall, chosen, zone), "a ticket of another zone was called"
        heads = [min((t for t in side if t.queue == q), key=lambda t: t.place)
                 for q in {t.queue for t in side}]
        first = min(main, key=lambda t: t.place) if main else None
        main_ratio = overdue_ratio(self.hall, first, self.now) if first else 0
        bar = max(1.0, main_ratio)
        overdue = [h for h in heads if overdue_ratio(self.hall, h, self.now) > bar]
        if call.tier == "overdue_side":
            assert profile.side_when_overdue and chosen in overdue
            mine = overdue_ratio(self.hall, chosen, self.now)
            assert all(mine >= overdue_ratio(self.hall, h, self.now) for h in heads)
            return
        assert not (profile.side_when_overdue and overdue), "overdue side work was skipped"
        tier = main if call.tier == "main" else side
        assert call.tier in ("main", "side") and (call.tier == "main" or not main)
        assert chosen.place == min(t.place for t in tier), "not first come, first served"
        if call.tier == "main":
            self.check_starvation_bound(chosen, main)

    def check_starvation_bound(self, chosen: Ticket, main: list[Ticket]) -> None:
        """No ticket issued more than the largest class credit after a waiting normal
        ticket is called before it from the same main work (re-queued no-shows aside)."""
        if chosen.requeues:
            return
        for t in main:
            if t.ticket_class == "normal" and not t.requeues:
                assert chosen.issued_at <= t.issued_at + self.hall.max_credit, (chosen, t)

    def check_after(self, event: ev.Event, places: dict[str, tuple[float, float]]) -> None:
        if isinstance(event, ev.TicketIssued):
            key = (self.core.state.day, event.number)
            assert key not in self.numbers, f"number {key} issued twice"
            self.numbers.add(key)
        if isinstance(event, ev.TicketTransferred):
            assert self.core.state.tickets[event.ticket].place == places[event.ticket]
        if isinstance(event, ev.TicketRequeued):
            self.check_requeue(event)
        if isinstance(event, ev.AppointmentCheckedIn):
            self.check_check_in(event)

    def check_requeue(self, event: ev.TicketRequeued) -> None:
        """Exactly requeue_after tickets (or all, in a shorter line) are ahead of it in
        its zone's part of the line, however many share their virtual time."""
        state = self.core.state
        ticket = state.tickets[event.ticket]
        queue = self.hall.queues[event.queue]
        zone = ticket.zone if ticket.zone in queue.zones and not queue.cross_zone else None
        line = [e for e in state.queue_lines[event.queue]   # its zone's part of the line
                if callable_by(self.hall, state.tickets[e[2]], zone)]
        ahead = line.index((*ticket.place, ticket.id))
        assert ahead == min(queue.requeue_after, len(line) - 1)

    def check_check_in(self, event: ev.AppointmentCheckedIn) -> None:
        """The ticket was issued just now, for the booked queue, inside the window."""
        booking = self.core.state.appointments[event.code]
        ticket = self.core.state.tickets[event.ticket]
        assert (ticket.queue, ticket.ticket_class) == (booking.queue, "appointment")
        assert ticket.issued_at == event.at == self.now
        assert booking.slot_start - self.hall.check_in_early_seconds <= self.now
        assert self.now <= booking.slot_start + self.hall.check_in_late_seconds

    # ------------------------------------------------------------ rules

    @initialize()
    def open_windows(self) -> None:
        for window in WINDOWS:
            self.run(c.OpenWindow(window))

    @rule(step=st.integers(min_value=0, max_value=60))
    def time_passes(self, step: int) -> None:
        # Mostly minutes; rarely the day is closed, or a night passes and it rolls over.
        if step == 59:
            self.run(c.CloseDay())
        self.now += 20 * 3600 if step >= 59 else step * 23.0

    # Issuing and calling are what a hall mostly does: each has three rules' weight.
    @rule(queue=queues, ticket_class=st.sampled_from(["normal", "appointment", "green", "vip"]),
          zone=kiosk_zones)
    def issue(self, queue: str, ticket_class: str, zone: str | None) -> None:
        self.run(c.IssueTicket(queue, ticket_class, zone))

    issue_more = issue
    issue_again = issue

    @rule(queue=queues, count=st.integers(min_value=2, max_value=4), zone=kiosk_zones)
    def issue_in_one_second(self, queue: str, count: int, zone: str | None) -> None:
        """Several kiosks at once: tickets tied on virtual time, ordered by serial."""
        for _ in range(count):
            self.run(c.IssueTicket(queue, zone=zone))

    @rule(window=windows)
    def call_next(self, window: str) -> None:
        self.run(c.CallNext(window))

    call_more = call_next
    call_again = call_next

    @rule(window=windows, index=pick)
    def call_ticket(self, window: str, index: int) -> None:
        self.run(c.CallTicket(window, self.ticket_id(index)))

    @rule(window=windows, action=st.sampled_from([c.Recall, c.StartService, c.FinishService,
                                                   c.NoShow, c.Resume, c.OpenWindow,
                                                   c.CloseWindow]))
    def window_action(self, window: str, action: type) -> None:
        self.run(action(window))

    @rule(window=windows)
    def hold(self, window: str) -> None:
        self.run(c.Hold(window))

    @rule(window=windows)
    def a_citizen_steps_away_and_returns(self, window: str) -> None:
        if self.run(c.CallNext(window)) is not None and self.run(c.Hold(window)) is not None:
            self.run(c.CallBack(window))

    @rule(window=windows, index=st.none() | pick)
    def call_back(self, window: str, index: int | None) -> None:
        self.run(c.CallBack(window, None if index is None else self.ticket_id(index)))

    @rule(window=windows, reason=st.sampled_from(["午休", "", "meeting"]))
    def pause(self, window: str, reason: str) -> None:
        self.run(c.Pause(window, reason))

    @rule(index=pick)
    def requeue(self, index: int) -> None:
        self.run(c.Requeue(self.ticket_id(index)))

    @rule(window=windows)
    def call_a_no_show(self, window: str) -> None:
        if self.run(c.CallNext(window)) is not None:
            self.run(c.NoShow(window))

    @rule(index=pick)
    def a_no_show_returns(self, index: int) -> None:
        absent = [t.id for t in self.core.state.tickets.values()
                  if t.state is TicketState.NO_SHOW]
        if absent:
            self.run(c.Requeue(absent[index % len(absent)]))

    @rule(index=pick, queue=st.none() | queues, window=st.none() | windows)
    def transfer(self, index: int, queue: str | None, window: str | None) -> None:
        self.run(c.Transfer(self.ticket_id(index), to_queue=queue, to_window=window))

    @rule(index=pick)
    def cancel(self, index: int) -> None:
        self.run(c.Cancel(self.ticket_id(index), "left"))

    @rule(window=windows, main=st.lists(queues, max_size=3), side=st.lists(queues, max_size=2),
          flag=st.booleans())
    def set_profile(self, window: str, main: list[str], side: list[str], flag: bool) -> None:
        self.run(c.SetProfile(window, tuple(main), tuple(side), flag))

    @rule(index=pick, level=st.integers(min_value=0, max_value=6))
    def evaluate(self, index: int, level: int) -> None:
        self.run(c.Evaluate(self.ticket_id(index), level))

    # The slot starts this many minutes from now: too late, in the window, too early.
    @rule(code=codes | bad_codes, queue=queues, offset=st.sampled_from([-40, -5, 10, 40, 90]),
          minutes=st.sampled_from([30, 30, 0]))
    def book(self, code: str, queue: str, offset: int, minutes: int) -> None:
        start = self.now + offset * 60.0
        self.run(c.BookAppointment(code, queue, start, start + minutes * 60.0))

    book_more = book

    @rule(code=codes, zone=zones)
    def check_in(self, code: str, zone: str | None) -> None:
        self.run(c.CheckIn(code, zone))

    check_in_again = check_in

    @rule(code=codes, offset=st.sampled_from([-40, -5, 40]))
    def a_citizen_books_and_comes(self, code: str, offset: int) -> None:
        """Book for today and come at once (too late, on time, too early), twice."""
        start = self.now + offset * 60.0
        self.run(c.BookAppointment(code, "q1", start, start + 1800.0))
        self.run(c.CheckIn(code, "Z"))
        self.run(c.CheckIn(code, "Z"))

    @rule(text=st.sampled_from(["", "午休 12:00-13:00", " ", "x" * 201]), zone=zones)
    def notice(self, text: str, zone: str | None) -> None:
        if self.run(c.PostNotice(text, zone)) is not None:
            assert self.core.state.notices.get(zone or "", "") == text.strip()

    @rule(device=st.sampled_from(["K1", "K1/printer", "LED-W1"]),
          status=st.sampled_from([*DEVICE_STATUSES[:3], "jammed"]),
          detail=st.sampled_from(["", "roll empty"]))
    def report_device(self, device: str, status: str, detail: str) -> None:
        if self.run(c.ReportDevice(device, status, detail)) is not None:
            now = self.core.state.devices[device]
            assert (now.status, now.detail) == (status, detail)

    # ------------------------------------------------------- invariants

    @invariant()
    def windows_and_tickets_agree(self) -> None:
        state = self.core.state
        holders: dict[str, str] = {}
        for window in state.windows.values():
            if window.ticket is None:
                assert window.state not in (WindowState.CALLING, WindowState.SERVING)
                continue
            assert window.ticket not in holders, "one ticket held by two windows"
            holders[window.ticket] = window.id
            ticket = state.tickets[window.ticket]
            assert ticket.window == window.id
            expected = {TicketState.CALLED: WindowState.CALLING,
                        TicketState.SERVING: WindowState.SERVING}
            assert expected[ticket.state] is window.state
        for ticket in state.tickets.values():
            held = ticket.state in (TicketState.CALLED, TicketState.SERVING)
            assert held == (ticket.id in holders), f"{ticket.id} {ticket.state} lost its window"

    @invariant()
    def every_waiting_ticket_is_in_exactly_one_line(self) -> None:
        state = self.core.state
        lines = [*state.queue_lines.values(), *state.window_lines.values()]
        in_lines = [entry[2] for line in lines for entry in line]
        waiting = [t.id for t in state.tickets.values() if t.state is TicketState.WAITING]
        assert sorted(in_lines) == sorted(waiting)
        for line in lines:
            assert line == sorted(line)
        for ticket in state.tickets.values():
            if ticket.state is TicketState.WAITING:
                expected = (state.window_lines[ticket.window] if ticket.window
                            else state.queue_lines[ticket.queue])
                assert (*ticket.place, ticket.id) in expected

    @invariant()
    def held_tickets_wait_aside_at_their_window_only(self) -> None:
        state = self.core.state
        listed = [(w, t) for w, ids in state.held.items() for t in ids]
        held = [(t.window, t.id) for t in state.tickets.values() if t.state is TicketState.HELD]
        assert sorted(listed) == sorted(held)

    @invariant()
    def each_check_in_has_its_own_appointment_ticket(self) -> None:
        state = self.core.state
        linked = [a.ticket for a in state.appointments.values() if a.ticket is not None]
        assert len(linked) == len(set(linked)), "one ticket checked in for two appointments"
        for ticket in linked:
            assert state.tickets[ticket].ticket_class == "appointment"

    @invariant()
    def nothing_lost(self) -> None:
        issued_today = 0
        for event in self.log:
            if isinstance(event, ev.DayOpened):
                issued_today = 0
            issued_today += isinstance(event, ev.TicketIssued)
        assert len(self.core.state.tickets) == issued_today

    def teardown(self) -> None:
        replayed = Dispatcher.replay(self.hall, self.log)
        assert replayed.state.to_dict() == self.core.state.to_dict()
        self.drain()

    def drain(self) -> None:
        """Once every window is open and calling, every waiting ticket is called."""
        state = self.core.state
        if state.day_closed or state.day != self.hall.business_day(self.now):
            return  # a night has passed: yesterday's tickets are closed out, not called
        for window in WINDOWS:
            status = state.windows[window].state
            if status is WindowState.PAUSED:
                self.run(c.Resume(window))
            elif status is WindowState.CLOSED:
                self.run(c.OpenWindow(window))
        for _ in range(len(state.tickets) + 1):
            called = 0
            for window in WINDOWS:
                before = len(self.log)
                self.run(c.CallNext(window))
                called += len(self.log) > before
            if not called:
                break
        stuck = [t.id for t in state.tickets.values() if t.state is TicketState.WAITING]
        assert not stuck, f"tickets left waiting with every window calling: {stuck}"


HallMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=80, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestHallMachine = HallMachine.TestCase


class ZonedMachine(HallMachine):
    """The tiny hall in zones Z and Y: q1 and q2 kept apart by zone (W2 is zone Y's)."""

    hall = zoned_hall()


ZonedMachine.TestCase.settings = HallMachine.TestCase.settings
TestZonedMachine = ZonedMachine.TestCase


def test_the_random_runs_reach_every_rejection() -> None:
    """The machine must exercise the rules, not only bounce off them: run it and
    check that the commonest rejections and calls from every tier occur."""
    seen_codes: set[str] = set()
    seen_tiers: set[str] = set()

    class Recording(HallMachine):
        def teardown(self) -> None:
            seen_codes.update(self.rejected)
            seen_tiers.update(e.tier for e in self.log if isinstance(e, ev.TicketCalled))
            super().teardown()

    # derandomize does not make hypothesis's stateful runs repeat exactly between
    # processes (the examples differ with what else the process imported), and at 150
    # examples queue_unserved, the rarest, was sometimes missed in the whole suite.
    Recording.TestCase.settings = settings(max_examples=300, stateful_step_count=60,
                                           deadline=None, database=None, derandomize=True,
                                           suppress_health_check=[HealthCheck.too_slow])
    Recording.TestCase().runTest()
    assert {"queue_empty", "unknown_queue", "wrong_state", "window_busy", "bad_argument",
            "unknown_class", "not_authorized", "queue_unserved", "duplicate_appointment",
            "unknown_appointment", "already_checked_in", "too_early", "too_late",
            "nothing_held"} <= seen_codes
    assert {"main", "side", "named", "call_back"} <= seen_tiers
