"""The dispatch core: commands in, events out, time passed in. No I/O.

``decide`` looks at the state and returns the events a command causes, or raises
DispatchError; it never changes the state. ``apply`` changes the state by one
event. The server commits the decided events to the store and only then applies
them and tells anyone; the simulator and the tests call ``execute`` (both steps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import replace

from ..hall import (
    TICKET_CLASSES,
    Hall,
    HallConfigError,
    Profile,
    Queue,
    check_profile,
    unserved_zones,
)
from . import alerts, balancing, cases, estimate
from . import commands as cmd
from . import events as ev
from .calls import call_back, call_next, call_ticket, hold, recall, sign_in
from .errors import DispatchError
from .lookups import current_ticket, find_ticket, find_window, working_window, wrong_state
from .outcomes import finish_event
from .selection import Choice, callable_by, choose_next
from .state import Appointment, HallState, Ticket, TicketState, WindowState

Decider = Callable[[Hall, HallState, "cmd.Command", float], list[ev.Event]]
Place = tuple[float, float]  # (virtual_at, serial)

MAX_CODE = 32          # an appointment code's length
MAX_TEXT = 200         # a notice's text, a device report's detail
MAX_DEVICE = 64        # a device id
DEVICE_STATUSES = ("ok", "paper_near_end", "paper_out", "cover_open", "offline", "error")


class Dispatcher:
    def __init__(self, hall: Hall, state: HallState | None = None) -> None:
        self.hall = hall
        self.state = state if state is not None else HallState.initial(hall)

    @classmethod
    def replay(cls, hall: Hall, events: Iterable[ev.Event]) -> Dispatcher:
        core = cls(hall)
        core.apply_all(events)
        return core

    def decide(self, command: cmd.Command, now: float) -> list[ev.Event]:
        state, events = self.state, []
        day = self.hall.business_day(now)
        if state.day != day:  # the first command of a new business day rolls it over
            if state.day is not None and not state.day_closed:
                events.append(_close_day_event(state, now))
            events.append(ev.DayOpened(at=now, day=day, cases=cases.open_cases(state)))
            state = state.next_day(day)
        elif state.day_closed:
            raise DispatchError("day_closed", f"business day {day} has been closed")
        return events + _DECIDERS[type(command)](self.hall, state, command, now)

    def apply(self, event: ev.Event) -> None:
        self.state.apply(event)

    def apply_all(self, events: Iterable[ev.Event]) -> None:
        for event in events:
            self.state.apply(event)

    def execute(self, command: cmd.Command, now: float) -> list[ev.Event]:
        events = self.decide(command, now)
        self.apply_all(events)
        return events

    # -------------------------------------------------------------- queries

    def choose_next(self, window: str, now: float) -> Choice | None:
        return choose_next(self.hall, self.state, window, now)

    def ticket(self, ticket_id: str) -> Ticket:
        return find_ticket(self.state, ticket_id)

    def waiting_ahead(self, ticket_id: str) -> int:
        """Tickets ahead of a waiting ticket in its own line."""
        ticket = self.ticket(ticket_id)
        if ticket.state is not TicketState.WAITING:
            return 0
        return self.state.line_of(ticket).index((*ticket.place, ticket.id))

    def queue_status(self, now: float) -> dict[str, dict]:
        return estimate.queue_status(self.hall, self.state, now)

    def ticket_status(self, ticket_id: str, now: float) -> dict:
        return estimate.ticket_status(self.hall, self.state, ticket_id, now)


# ------------------------------------------------------------------ lookups


# ----------------------------------------------------------------- deciders


def _close_day_event(state: HallState, now: float) -> ev.DayClosed:
    still_open = (TicketState.WAITING, TicketState.CALLED, TicketState.SERVING,
                  TicketState.NO_SHOW, TicketState.HELD)
    open_ids = tuple(t.id for t in state.tickets.values() if t.state in still_open)
    return ev.DayClosed(at=now, day=state.day or "", closed_tickets=open_ids)


def _issuable(hall: Hall, queue_id: str, ticket_class: str, zone: str | None) -> Queue:
    """The queue a kiosk of ``zone`` (None: the console) may issue a ticket for."""
    queue = hall.queues.get(queue_id)
    if queue is None:
        raise DispatchError("unknown_queue", f"no queue {queue_id!r}", queue=queue_id)
    if ticket_class not in TICKET_CLASSES:
        raise DispatchError("unknown_class", f"no ticket class {ticket_class!r}")
    if zone is not None and zone not in hall.zones:
        raise DispatchError("bad_argument", f"no zone {zone!r}", field="zone")
    if zone is not None and zone not in queue.zones:
        raise DispatchError("not_authorized", f"queue {queue.id} is not offered in zone "
                            f"{zone}", queue=queue.id, zone=zone)
    return queue


def _check_open(hall: Hall, now: float) -> None:
    if not hall.is_open(now):
        raise DispatchError("hall_closed", "the hall is outside its opening hours")


def _ticket_issued(hall: Hall, state: HallState, queue: Queue, ticket_class: str,
                   now: float, status_token: str = "") -> ev.TicketIssued:
    """The next number of the queue's prefix, placed by the class credit."""
    if status_token and status_token in state.tokens:
        raise DispatchError("bad_argument", "status_token is already another ticket's",
                            field="status_token")
    sequence = state.sequences.get(queue.prefix, 0) + 1
    number = f"{queue.prefix}{sequence:03d}"
    return ev.TicketIssued(
        at=now, ticket=f"{(state.day or '').replace('-', '')}-{number}", number=number,
        prefix=queue.prefix, sequence=sequence, serial=state.serial + 1, queue=queue.id,
        ticket_class=ticket_class, virtual_at=now - hall.credits[ticket_class],
        status_token=status_token,
    )


def _issue(hall: Hall, state: HallState, c: cmd.IssueTicket, now: float) -> list[ev.Event]:
    queue = _issuable(hall, c.queue, c.ticket_class, c.zone)
    if not c.after_hours:
        _check_open(hall, now)
    _check_holder(hall, state, queue, c.person)
    issued = _ticket_issued(hall, state, queue, c.ticket_class, now, c.status_token)
    return [replace(issued, zone=c.zone,  # the ticket keeps its kiosk's zone
                    person=c.person)]


def _check_holder(hall: Hall, state: HallState, queue: Queue, person: str) -> None:
    """One person (by ID card) holds at most [id_card] max_waiting_per_queue waiting
    tickets of a queue."""
    if not person:
        return
    held = [t for t, p in state.holders.items() if p == person
            and state.tickets[t].queue == queue.id
            and state.tickets[t].state is TicketState.WAITING]
    if len(held) >= hall.id_card_max_waiting:
        numbers = ", ".join(state.tickets[t].number for t in held)
        raise DispatchError("person_limit", f"this ID card already holds {len(held)} "
                            f"waiting ticket(s) of queue {queue.id} ({numbers}); the hall "
                            f"allows {hall.id_card_max_waiting}", queue=queue.id,
                            numbers=[state.tickets[t].number for t in held])


def _start(hall: Hall, state: HallState, c: cmd.StartService, now: float) -> list[ev.Event]:
    ticket = current_ticket(state, c.window, TicketState.CALLED)
    return [ev.ServiceStarted(at=now, ticket=ticket.id, window=c.window)]


def _finish(hall: Hall, state: HallState, c: cmd.FinishService, now: float) -> list[ev.Event]:
    ticket = current_ticket(state, c.window, TicketState.CALLED, TicketState.SERVING)
    return [finish_event(hall, ticket, c.window, now, c.outcome, c.case_number)]


def _no_show(hall: Hall, state: HallState, c: cmd.NoShow, now: float) -> list[ev.Event]:
    ticket = current_ticket(state, c.window, TicketState.CALLED)
    return [ev.TicketNoShow(at=now, ticket=ticket.id, window=c.window)]


def requeue_place(state: HallState, queue: str, behind: int, now: float,
                  serial: float, mine: Callable[[str], bool] | None = None) -> Place:
    """The place ``(virtual_at, serial)`` just behind the first `behind` waiting tickets
    of the queue and ahead of the next; ``serial`` is the ticket's own, kept if it can be.
    ``mine``: only the tickets it counts (those of its zone's line, issue 17)."""
    line = state.queue_lines[queue]
    if mine is not None:
        line = [entry for entry in line if mine(entry[2])]
    if not line:
        return now, serial
    if len(line) <= behind:
        return math.nextafter(line[-1][0], math.inf), serial
    hi_v, hi_s = line[behind][:2]
    if behind == 0:
        return hi_v - 1.0, serial
    return _between(line[behind - 1][:2], (hi_v, hi_s), serial)


def _between(lo: Place, hi: Place, serial: float) -> Place:
    """A place strictly after ``lo`` and strictly before ``hi`` (lo < hi)."""
    (lo_v, lo_s), (hi_v, hi_s) = lo, hi
    mid = (lo_v + hi_v) / 2
    if lo_v < mid < hi_v:
        return mid, serial
    # No time fits between them: both tied on lo_v, or hi_v is the next float after it.
    # Take lo_v and a serial after lo's (and before hi's if tied), since ties go by
    # serial; a fraction if need be (lo_s + 1 may be hi_s), never another's number.
    upper = hi_s if hi_v == lo_v else math.inf
    if lo_s < serial < upper:
        return lo_v, serial
    return lo_v, (lo_s + min(upper, lo_s + 1)) / 2


def _requeue(hall: Hall, state: HallState, c: cmd.Requeue, now: float) -> list[ev.Event]:
    ticket = find_ticket(state, c.ticket)
    if ticket.state is not TicketState.NO_SHOW:
        raise wrong_state(ticket, "re-queued (only a no-show can be)")
    if ticket.requeues >= hall.max_requeues:
        raise DispatchError("requeue_limit", f"{ticket.number} has been re-queued "
                            f"{ticket.requeues} times already", ticket=ticket.id)
    queue = hall.queues[ticket.queue]
    zone = ticket.zone if ticket.zone in queue.zones and not queue.cross_zone else None
    mine = (None if zone is None else
            lambda tid: callable_by(hall, state.tickets[tid], zone))  # its zone's line
    virtual_at, serial = requeue_place(state, queue.id, queue.requeue_after, now, ticket.serial,
                                       mine)
    return [ev.TicketRequeued(at=now, ticket=ticket.id, queue=queue.id, virtual_at=virtual_at,
                              requeues=ticket.requeues + 1, serial=serial)]


def _transfer(hall: Hall, state: HallState, c: cmd.Transfer, now: float) -> list[ev.Event]:
    if (c.to_queue is None) == (c.to_window is None):
        raise DispatchError("bad_argument", "transfer needs exactly one of to_queue and "
                            "to_window", field="to_queue")
    ticket = find_ticket(state, c.ticket)
    if ticket.state not in (TicketState.WAITING, TicketState.CALLED, TicketState.SERVING):
        raise wrong_state(ticket, "transferred")
    holder = ticket.window if ticket.state is not TicketState.WAITING else None
    to_queue = ticket.queue
    if c.to_queue is not None:
        if c.to_queue not in hall.queues:
            raise DispatchError("unknown_queue", f"no queue {c.to_queue!r}", queue=c.to_queue)
        if c.to_queue == ticket.queue and holder is None and ticket.window is None:
            raise DispatchError("bad_argument", f"{ticket.number} already waits in "
                                f"{c.to_queue}", field="to_queue")
        to_queue = c.to_queue
    else:
        target = find_window(state, c.to_window or "")
        if target.state is WindowState.CLOSED:
            raise DispatchError("window_closed", f"window {target.id} is closed",
                                window=target.id)
        if target.id in (holder, ticket.window):
            raise DispatchError("bad_argument", f"{ticket.number} is already with window "
                                f"{target.id}", field="to_window")
    return [ev.TicketTransferred(at=now, ticket=ticket.id, from_queue=ticket.queue,
                                 to_queue=to_queue, from_window=holder, to_window=c.to_window)]


def _cancel(hall: Hall, state: HallState, c: cmd.Cancel, now: float) -> list[ev.Event]:
    ticket = find_ticket(state, c.ticket)
    if ticket.state not in (TicketState.WAITING, TicketState.CALLED, TicketState.NO_SHOW,
                            TicketState.HELD):
        raise wrong_state(ticket, "cancelled")
    holder = ticket.window if ticket.state is TicketState.CALLED else None
    return [ev.TicketCancelled(at=now, ticket=ticket.id, window=holder, reason=c.reason)]


def _pause(hall: Hall, state: HallState, c: cmd.Pause, now: float) -> list[ev.Event]:
    if not c.reason.strip():
        raise DispatchError("bad_argument", "a pause needs a reason", field="reason")
    window = working_window(state, c.window)
    if window.ticket is not None:
        raise DispatchError("window_busy", f"window {c.window} holds "
                            f"{state.tickets[window.ticket].number}: finish it first",
                            window=c.window)
    return [ev.WindowPaused(at=now, window=c.window, reason=c.reason.strip())]


def _resume(hall: Hall, state: HallState, c: cmd.Resume, now: float) -> list[ev.Event]:
    window = find_window(state, c.window)
    if window.state is not WindowState.PAUSED:
        raise DispatchError("wrong_state", f"window {c.window} is {window.state}, not paused",
                            window=c.window)
    return [ev.WindowResumed(at=now, window=c.window)]


def _open(hall: Hall, state: HallState, c: cmd.OpenWindow, now: float) -> list[ev.Event]:
    window = find_window(state, c.window)
    if window.state is not WindowState.CLOSED:
        raise DispatchError("wrong_state", f"window {c.window} is already open "
                            f"({window.state})", window=c.window)
    return [ev.WindowOpened(at=now, window=c.window)]


def _close(hall: Hall, state: HallState, c: cmd.CloseWindow, now: float) -> list[ev.Event]:
    window = find_window(state, c.window)
    if window.state is WindowState.CLOSED:
        raise DispatchError("window_closed", f"window {c.window} is already closed",
                            window=c.window)
    if window.ticket is not None:
        raise DispatchError("window_busy", f"window {c.window} holds "
                            f"{state.tickets[window.ticket].number}: finish it first",
                            window=c.window)
    waiting = len(state.window_lines[c.window])
    if waiting:
        raise DispatchError("window_busy", f"{waiting} transferred ticket(s) wait for window "
                            f"{c.window}: transfer them first", window=c.window)
    return [ev.WindowClosed(at=now, window=c.window)]


def _set_profile(hall: Hall, state: HallState, c: cmd.SetProfile, now: float) -> list[ev.Event]:
    find_window(state, c.window)
    try:
        check_profile(hall, c.window, list(c.main), list(c.side))
    except HallConfigError as exc:
        raise DispatchError("bad_argument", exc.reason, field="profile") from None
    if not c.main:
        raise DispatchError("bad_argument", "a profile needs at least one main queue",
                            field="main")
    profiles = {w.id: w.profile for w in state.windows.values()}
    profiles[c.window] = Profile(c.main, c.side, c.side_when_overdue)
    served = {q for p in profiles.values() for q in p.main}
    unserved = sorted(set(hall.queues) - served)
    if unserved:
        raise DispatchError("queue_unserved", f"no window would serve queue {unserved[0]} as "
                            "main work", queue=unserved[0])
    stranded = unserved_zones(hall.queues, [(hall.windows[w].zone, p)
                                            for w, p in profiles.items()])
    if stranded:
        qid, zone = stranded[0]
        raise DispatchError("queue_unserved", f"no window of zone {zone} would serve queue "
                            f"{qid} as main work", queue=qid, zone=zone)
    reason = c.reason.strip()
    if len(reason) > MAX_TEXT:
        raise DispatchError("bad_argument", f"a move's reason is at most {MAX_TEXT} "
                            f"characters, not {len(reason)}", field="reason")
    return [ev.ProfileChanged(at=now, window=c.window, main=c.main, side=c.side,
                              side_when_overdue=c.side_when_overdue, reason=reason, by=c.by)]


def _evaluate(hall: Hall, state: HallState, c: cmd.Evaluate, now: float) -> list[ev.Event]:
    if not 1 <= c.level <= 5:
        raise DispatchError("bad_argument", f"a rating is 1 to 5, not {c.level}", field="level")
    ticket = find_ticket(state, c.ticket)
    if ticket.state is not TicketState.DONE:
        raise wrong_state(ticket, "rated before it is served")
    if ticket.rating is not None:
        raise DispatchError("already_evaluated", f"{ticket.number} was already rated "
                            f"{ticket.rating}", ticket=ticket.id)
    reason = c.reason.strip()
    if len(reason) > MAX_TEXT:
        raise DispatchError("bad_argument", f"a rating's reason is at most {MAX_TEXT} "
                            f"characters, not {len(reason)}", field="reason")
    evaluated = ev.TicketEvaluated(at=now, ticket=ticket.id, window=ticket.served_by or "",
                                   level=c.level, clerk=ticket.clerk or "", reason=reason)
    return [evaluated, *cases.opened(hall, state, ticket, evaluated)]


def _update_case(hall: Hall, state: HallState, c: cmd.UpdateCase,
                 now: float) -> list[ev.Event]:
    return cases.update(state, c, now)


def _close_day_cmd(hall: Hall, state: HallState, c: cmd.CloseDay, now: float) -> list[ev.Event]:
    return [_close_day_event(state, now)]


# ------------------------------------------------------------- appointments


def _book(hall: Hall, state: HallState, c: cmd.BookAppointment, now: float) -> list[ev.Event]:
    if not c.code.strip() or len(c.code) > MAX_CODE:
        raise DispatchError("bad_argument", f"an appointment code is 1 to {MAX_CODE} "
                            "characters", field="code")
    if c.queue not in hall.queues:
        raise DispatchError("unknown_queue", f"no queue {c.queue!r}", queue=c.queue)
    _check_slot(hall, c.slot_start, c.slot_end, state.day or "")
    if c.code in state.appointments:
        raise DispatchError("duplicate_appointment", f"appointment {c.code} is already "
                            "booked today", appointment=c.code)
    return [ev.AppointmentBooked(at=now, code=c.code, queue=c.queue, slot_start=c.slot_start,
                                 slot_end=c.slot_end, person=c.person)]


def _check_slot(hall: Hall, start: float, end: float, day: str) -> None:
    """A slot of today's business day (its end may be the day's very end)."""
    for field, value in (("slot_start", start), ("slot_end", end)):
        if not math.isfinite(value):
            raise DispatchError("bad_argument", f"{field} must be a finite time", field=field)
    if end <= start:
        raise DispatchError("bad_argument", "the slot must end after it starts",
                            field="slot_end")
    if hall.business_day(start) != day:
        raise DispatchError("bad_argument", f"the slot starts on business day "
                            f"{hall.business_day(start)}, not today ({day})", field="slot_start")
    if hall.business_day(end - 1.0) != day:  # its last second: it may end at the reset
        raise DispatchError("bad_argument", f"the slot ends after today's business day ({day})",
                            field="slot_end")


def _check_in(hall: Hall, state: HallState, c: cmd.CheckIn, now: float) -> list[ev.Event]:
    if bool(c.code) == bool(c.person):
        raise DispatchError("bad_argument", "check_in: give the appointment code or an ID "
                            "card, one of them", field="code")
    if c.person:
        booking = _booking_of(hall, state, c.person, now)
        try:
            return _check_in(hall, state, replace(c, code=booking.code, person=""), now)
        except DispatchError as exc:   # to a kiosk in the lobby: not the booking's code
            raise _without_code(exc, booking.code) from None
    booking = state.appointments.get(c.code)
    if booking is None:
        raise DispatchError("unknown_appointment", f"no appointment {c.code!r} today",
                            appointment=c.code)
    if booking.ticket is not None:
        held = state.tickets.get(booking.ticket)
        raise DispatchError("already_checked_in", f"appointment {c.code} is already checked "
                            f"in: ticket {held.number if held else booking.ticket}",
                            appointment=c.code, ticket=booking.ticket)
    queue = _issuable(hall, booking.queue, "appointment", c.zone)
    _check_in_window(hall, booking, now)
    _check_open(hall, now)
    person = booking.person or c.person
    _check_holder(hall, state, queue, person)
    issued = replace(_ticket_issued(hall, state, queue, "appointment", now, c.status_token),
                     zone=c.zone, person=person)
    return [issued, ev.AppointmentCheckedIn(at=now, code=c.code, ticket=issued.ticket)]


def _without_code(exc: DispatchError, code: str) -> DispatchError:
    details = {k: v for k, v in exc.details.items() if k != "appointment"}
    return DispatchError(exc.code, exc.message.replace(f"appointment {code} ", "the "
                                                       "appointment "), **details)


def _booking_of(hall: Hall, state: HallState, person: str, now: float) -> Appointment:
    """The ID card holder's appointment to check in now: of today's bookings by that
    card, the first whose check-in is open; else the next one not yet open (too_early),
    the last one missed (too_late) or the one checked in (already_checked_in)."""
    mine = sorted((a for a in state.appointments.values() if a.person == person),
                  key=lambda a: a.slot_start)
    if not mine:
        raise DispatchError("unknown_appointment", "no appointment today for this ID card",
                            by="id_card")
    waiting = [a for a in mine if a.ticket is None]
    for booking in waiting:
        opens = booking.slot_start - hall.check_in_early_seconds
        if opens <= now <= booking.slot_start + hall.check_in_late_seconds:
            return booking
    later = [a for a in waiting if a.slot_start - hall.check_in_early_seconds > now]
    return (later or waiting or mine)[0 if later else -1]


def _check_in_window(hall: Hall, booking: Appointment, now: float) -> None:
    opens = booking.slot_start - hall.check_in_early_seconds
    closes = booking.slot_start + hall.check_in_late_seconds
    if now < opens:
        raise DispatchError("too_early", f"check-in opens at {_hhmm(hall, opens)}",
                            appointment=booking.code, opens_at=opens)
    if now > closes:
        raise DispatchError("too_late", f"check-in closed at {_hhmm(hall, closes)}",
                            appointment=booking.code, closed_at=closes)


def _hhmm(hall: Hall, moment: float) -> str:
    return hall.local_time(moment).strftime("%H:%M")


# ------------------------------------------------------- notices and devices


def _notice(hall: Hall, state: HallState, c: cmd.PostNotice, now: float) -> list[ev.Event]:
    if c.zone is not None and c.zone not in hall.zones:
        raise DispatchError("bad_argument", f"no zone {c.zone!r}", field="zone")
    text = c.text.strip()
    if len(text) > MAX_TEXT:
        raise DispatchError("bad_argument", f"a notice is at most {MAX_TEXT} characters, "
                            f"not {len(text)}", field="text")
    return [ev.NoticePosted(at=now, text=text, zone=c.zone)]


def _report(hall: Hall, state: HallState, c: cmd.ReportDevice, now: float) -> list[ev.Event]:
    if not c.device or len(c.device) > MAX_DEVICE:
        raise DispatchError("bad_argument", f"a device id is 1 to {MAX_DEVICE} characters",
                            field="device")
    if c.status not in DEVICE_STATUSES:
        raise DispatchError("bad_argument", f"device status {c.status!r} is not one of "
                            f"{', '.join(DEVICE_STATUSES)}", field="status")
    if len(c.detail) > MAX_TEXT:
        raise DispatchError("bad_argument", f"a device report's detail is at most {MAX_TEXT} "
                            "characters", field="detail")
    known = state.devices.get(c.device)
    if known is not None and (known.status, known.detail) == (c.status, c.detail):
        return []  # a device repeating itself every few seconds must not flood the log
    return [ev.DeviceReported(at=now, device=c.device, status=c.status, detail=c.detail)]


def _check_alerts(hall: Hall, state: HallState, c: cmd.CheckAlerts,
                  now: float) -> list[ev.Event]:
    return alerts.check_alerts(hall, state, now)


def _acknowledge(hall: Hall, state: HallState, c: cmd.AcknowledgeAlert,
                 now: float) -> list[ev.Event]:
    return alerts.acknowledge(state, c.id, now, c.by)


def _post_suggestions(hall: Hall, state: HallState, c: cmd.PostSuggestions,
                      now: float) -> list[ev.Event]:
    return balancing.post(hall, state, c, now)


def _predict_suggestion(hall: Hall, state: HallState, c: cmd.PredictSuggestion,
                        now: float) -> list[ev.Event]:
    return balancing.predict(state, c, now)


def _apply_suggestion(hall: Hall, state: HallState, c: cmd.ApplySuggestion,
                      now: float) -> list[ev.Event]:
    """The suggested move, checked like any set_profile, marked with its suggestion."""
    suggestion = balancing.current(state, c.id)
    [moved] = _set_profile(hall, state, balancing.as_move(suggestion, c.by), now)
    return [replace(moved, suggestion=c.id, automatic=c.by == balancing.HUB)]


def _set_balancing(hall: Hall, state: HallState, c: cmd.SetBalancing,
                   now: float) -> list[ev.Event]:
    return balancing.set_mode(hall, state, c, now)


_DECIDERS: dict[type, Decider] = {
    cmd.IssueTicket: _issue,
    cmd.CallNext: call_next,
    cmd.CallTicket: call_ticket,
    cmd.Recall: recall,
    cmd.StartService: _start,
    cmd.FinishService: _finish,
    cmd.NoShow: _no_show,
    cmd.Requeue: _requeue,
    cmd.Transfer: _transfer,
    cmd.Cancel: _cancel,
    cmd.Pause: _pause,
    cmd.Resume: _resume,
    cmd.OpenWindow: _open,
    cmd.CloseWindow: _close,
    cmd.SetProfile: _set_profile,
    cmd.Evaluate: _evaluate,
    cmd.CloseDay: _close_day_cmd,
    cmd.BookAppointment: _book,
    cmd.CheckIn: _check_in,
    cmd.PostNotice: _notice,
    cmd.ReportDevice: _report,
    cmd.Hold: hold,
    cmd.CallBack: call_back,
    cmd.SignIn: sign_in,
    cmd.CheckAlerts: _check_alerts,
    cmd.AcknowledgeAlert: _acknowledge,
    cmd.UpdateCase: _update_case,
    cmd.PostSuggestions: _post_suggestions,
    cmd.PredictSuggestion: _predict_suggestion,
    cmd.ApplySuggestion: _apply_suggestion,
    cmd.SetBalancing: _set_balancing,
}
