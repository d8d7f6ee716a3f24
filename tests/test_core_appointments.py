"""Appointments (预约签到): the booking platform pushes today's slots, the citizen checks
in at a kiosk within the check-in window and gets an appointment-class ticket."""

from __future__ import annotations

import math

import pytest
import sqlalchemy as sa
from conftest import hall_time
from tiny_hall import Driver, tiny_hall

from dispatcher.core import Dispatcher, DispatchError, TicketState
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.core.commands import command_from_dict
from dispatcher.hall import Hall
from dispatcher.service import HallService
from dispatcher.store import tickets

MIN = 60.0


def slot(h: Driver, hhmm: str, minutes: float = 30, day: str = "2026-11-23") -> tuple[float, float]:
    start = hall_time(h.core.hall, hhmm, day)
    return start, start + minutes * MIN


def book(h: Driver, code: str, queue: str = "q1", at: str = "10:00") -> ev.AppointmentBooked:
    return h.do(c.BookAppointment(code, queue, *slot(h, at)))[-1]


def at(h: Driver, hhmm: str, seconds: float = 0) -> None:
    h.now = hall_time(h.core.hall, hhmm, seconds=seconds)


def check_in(h: Driver, code: str, zone: str | None = None) -> list[ev.Event]:
    return h.do(c.CheckIn(code, zone), after=0)


@pytest.fixture
def hall() -> Driver:
    h = Driver(start="08:00")
    for window in ("W1", "W2", "W3"):
        h.do(c.OpenWindow(window))
    return h


# ---------------------------------------------------------------- booking


def test_a_booking_is_kept_for_check_in(hall: Driver) -> None:
    start, end = slot(hall, "10:00")
    booked = hall.do(c.BookAppointment("YY-0001", "q2", start, end))
    assert booked == [ev.AppointmentBooked(at=hall.now, code="YY-0001", queue="q2",
                                           slot_start=start, slot_end=end)]
    appointment = hall.core.state.appointments["YY-0001"]
    assert (appointment.queue, appointment.slot_start, appointment.ticket) == ("q2", start, None)


def test_a_code_is_booked_once_a_day_even_after_check_in(hall: Driver) -> None:
    book(hall, "YY-0001", at="08:30")
    hall.rejects(c.BookAppointment("YY-0001", "q2", *slot(hall, "11:00")), "duplicate_appointment")
    check_in(hall, "YY-0001")
    hall.rejects(c.BookAppointment("YY-0001", "q1", *slot(hall, "11:00")), "duplicate_appointment")


@pytest.mark.parametrize(("code", "queue", "start", "minutes", "error", "field"), [
    ("YY-1", "qx", "10:00", 30, "unknown_queue", None),
    ("YY-1", "q1", "10:00", 0, "bad_argument", "slot_end"),
    ("YY-1", "q1", "10:00", -30, "bad_argument", "slot_end"),
    ("", "q1", "10:00", 30, "bad_argument", "code"),
    ("   ", "q1", "10:00", 30, "bad_argument", "code"),
    ("Y" * 33, "q1", "10:00", 30, "bad_argument", "code"),
    ("YY-1", "q1", "02:30", 30, "bad_argument", "slot_start"),   # before the reset: yesterday
])
def test_bad_bookings_are_refused(hall: Driver, code: str, queue: str, start: str,
                                  minutes: float, error: str, field: str | None) -> None:
    refused = hall.rejects(c.BookAppointment(code, queue, *slot(hall, start, minutes)), error)
    assert refused.details.get("field") == field


def test_a_slot_must_lie_in_todays_business_day(hall: Driver) -> None:
    tomorrow = slot(hall, "10:00", day="2026-11-24")
    refused = hall.rejects(c.BookAppointment("YY-1", "q1", *tomorrow), "bad_argument")
    assert "2026-11-24" in refused.message and refused.details["field"] == "slot_start"
    late = hall_time(hall.core.hall, "02:30", day="2026-11-24")   # ends after the 03:00 reset
    hall.rejects(c.BookAppointment("YY-1", "q1", late, late + 60 * MIN), "bad_argument")
    reset = hall_time(hall.core.hall, "03:00", day="2026-11-24")  # ends exactly at the reset
    hall.do(c.BookAppointment("YY-2", "q1", reset - 30 * MIN, reset))
    hall.rejects(c.BookAppointment("YY-3", "q1", math.nan, reset), "bad_argument")
    hall.do(c.BookAppointment("Y" * 32, "q1", *slot(hall, "10:00")))


# ---------------------------------------------------------------- check-in


def test_check_in_issues_an_appointment_ticket_of_the_booked_queue(hall: Driver) -> None:
    book(hall, "YY-0001", queue="q2", at="10:00")
    at(hall, "09:40")
    issued, checked = check_in(hall, "YY-0001")
    assert isinstance(issued, ev.TicketIssued)
    assert (issued.queue, issued.ticket_class, issued.number) == ("q2", "appointment", "S001")
    assert checked == ev.AppointmentCheckedIn(at=hall.now, code="YY-0001", ticket=issued.ticket)
    assert hall.core.state.appointments["YY-0001"].ticket == issued.ticket
    assert hall.core.ticket(issued.ticket).state is TicketState.WAITING


def test_check_in_numbers_are_shared_with_the_queues_walk_ins(hall: Driver) -> None:
    book(hall, "YY-0001")
    at(hall, "09:45")
    first = hall.issue("q1")
    checked_in = check_in(hall, "YY-0001")[0].ticket
    after = hall.issue("q1")
    assert [hall.number(t) for t in (first, checked_in, after)] == ["A001", "A002", "A003"]


def test_a_checked_in_appointment_goes_ahead_by_the_appointment_credit(hall: Driver) -> None:
    book(hall, "YY-0001", queue="q3")
    at(hall, "09:40")
    early = hall.issue("q3", after=0)            # 15 minutes before the check-in
    recent = hall.issue("q3", after=10 * MIN)    # 5 minutes before it
    appointment = check_in(hall, "YY-0001")[0].ticket
    assert hall.core.ticket(appointment).virtual_at == hall.now - 10 * MIN
    assert [hall.call("W3").ticket for _ in range(3)] == [early, appointment, recent]


@pytest.mark.parametrize(("hhmm", "seconds", "error", "message"), [
    ("09:29", 59, "too_early", "check-in opens at 09:30"),
    ("09:30", 0, None, None),
    ("10:15", 0, None, None),
    ("10:15", 1, "too_late", "check-in closed at 10:15"),
    ("09:00", 0, "too_early", "check-in opens at 09:30"),
])
def test_check_in_opens_30_minutes_before_the_slot_and_closes_15_after_it_starts(
        hall: Driver, hhmm: str, seconds: float, error: str | None, message: str | None) -> None:
    book(hall, "YY-0001", at="10:00")
    at(hall, hhmm, seconds)
    if error is None:
        assert check_in(hall, "YY-0001")[-1].code == "YY-0001"
        return
    refused = hall.rejects(c.CheckIn("YY-0001"), error, after=0)
    assert refused.message == message


def test_the_check_in_window_follows_the_hall_rules() -> None:
    h = Driver(tiny_hall(check_in_early_minutes=5, check_in_late_minutes=0), start="08:00")
    book(h, "YY-0001", at="10:00")
    at(h, "09:54", seconds=59)
    refused = h.rejects(c.CheckIn("YY-0001"), "too_early", after=0)
    assert refused.message == "check-in opens at 09:55"
    at(h, "10:00", seconds=1)
    refused = h.rejects(c.CheckIn("YY-0001"), "too_late", after=0)
    assert refused.message == "check-in closed at 10:00"
    at(h, "10:00")
    check_in(h, "YY-0001")


def test_an_unknown_code_and_a_second_check_in_are_refused(hall: Driver) -> None:
    book(hall, "YY-0001")
    at(hall, "09:50")
    hall.rejects(c.CheckIn("YY-9999"), "unknown_appointment")
    check_in(hall, "YY-0001")
    refused = hall.rejects(c.CheckIn("YY-0001"), "already_checked_in")
    assert "A001" in refused.message  # the citizen is told the number they already have
    assert len(hall.core.state.tickets) == 1


def test_a_kiosk_checks_in_only_for_queues_of_its_zone(sample_hall: Hall) -> None:
    h = Driver(sample_hall, start="08:00")
    book(h, "YY-0001", queue="marriage")   # zone B only
    at(h, "09:50")
    h.rejects(c.CheckIn("YY-0001", zone="A"), "not_authorized")
    h.rejects(c.CheckIn("YY-0001", zone="C"), "bad_argument")
    assert check_in(h, "YY-0001", zone="B")[0].number == "H001"


def test_no_check_in_while_the_hall_is_closed(sample_hall: Hall) -> None:
    h = Driver(sample_hall, start="08:00")
    book(h, "YY-0001", queue="tax", at="13:00")
    at(h, "12:40")                                   # lunch: inside the check-in window
    h.rejects(c.CheckIn("YY-0001"), "hall_closed", after=0)
    at(h, "13:00")
    assert check_in(h, "YY-0001")[0].ticket_class == "appointment"


def test_appointments_are_for_one_business_day(hall: Driver) -> None:
    book(hall, "YY-0001")
    hall.now = hall_time(hall.core.hall, "09:50", day="2026-11-24")
    hall.rejects(c.CheckIn("YY-0001"), "unknown_appointment")
    hall.do(c.BookAppointment("YY-0001", "q1", *slot(hall, "10:00", day="2026-11-24")), after=0)
    assert list(hall.core.state.appointments) == ["YY-0001"]
    assert check_in(hall, "YY-0001")[0].ticket == "20261124-A001"


def test_replaying_the_log_rebuilds_the_appointments(hall: Driver) -> None:
    book(hall, "YY-0001")
    book(hall, "YY-0002", queue="q2", at="11:00")
    at(hall, "09:50")
    check_in(hall, "YY-0001")
    log = [ev.event_from_dict(e.to_dict()) for e in hall.log]
    assert log == hall.log
    replayed = Dispatcher.replay(hall.core.hall, log)
    assert replayed.state.to_dict() == hall.core.state.to_dict()
    assert replayed.state.to_dict()["appointments"]["YY-0001"]["ticket"] == "20261123-A001"


# ------------------------------------------------------------------- input


def test_booking_and_check_in_parse_from_json_form() -> None:
    booked = command_from_dict("book_appointment", {
        "code": "YY-1", "queue": "q1", "slot_start": 1795400000, "slot_end": 1795401800.5})
    assert booked == c.BookAppointment("YY-1", "q1", 1795400000.0, 1795401800.5)
    assert isinstance(booked.slot_start, float)
    assert command_from_dict("check_in", {"code": "YY-1", "zone": "B"}) == c.CheckIn("YY-1", "B")


@pytest.mark.parametrize("value", ["10:00", True, None, math.nan, math.inf, 10**400, [1]])
def test_a_slot_time_must_be_a_finite_number(value: object) -> None:
    with pytest.raises(DispatchError) as info:
        command_from_dict("book_appointment", {"code": "YY-1", "queue": "q1",
                                               "slot_start": value, "slot_end": 1795401800})
    assert (info.value.code, info.value.details["field"]) == ("bad_argument", "slot_start")


# ------------------------------------------------------------------- store


def test_a_checked_in_ticket_is_stored_and_survives_a_restart(sample_hall: Hall,
                                                              db_url: str) -> None:
    start = hall_time(sample_hall, "10:00")
    with HallService.open(sample_hall, db_url) as svc:
        svc.execute(c.BookAppointment("YY-0001", "quick_b", start, start + 30 * MIN),
                    start - 60 * MIN)
        issued = svc.execute(c.CheckIn("YY-0001", "B"), start - 10 * MIN)[0][1]
        before = svc.core.state.to_dict()
    with HallService.open(sample_hall, db_url) as again:
        assert again.core.state.to_dict() == before
        with again.store.engine.connect() as conn:
            row = conn.execute(sa.select(tickets).where(tickets.c.id == issued.ticket)
                               ).mappings().one()
    assert (row["number"], row["ticket_class"], row["state"]) == ("B001", "appointment",
                                                                  "waiting")
    assert row["virtual_at"] == issued.virtual_at
