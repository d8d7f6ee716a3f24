"""Alert rules (the hall file's ``[[alerts]]``), evaluated on the hall, the state and
the time: a pure function, no I/O.

``readings`` measures every subject of every rule (a waiting ticket, a queue, a
window, a device); ``active_alerts`` keeps those that should be active, with
hysteresis: an alert is raised when its value reaches the threshold and cleared
only when it falls below the threshold minus the hysteresis, so a value hovering
at the threshold does not flap. ``check_alerts`` compares that with
``state.alerts`` and decides the ``alert_raised`` and ``alert_cleared`` events.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..hall import AlertRule, Hall
from . import cases, estimate
from . import events as ev
from .errors import DispatchError
from .state import HallState, TicketState, WindowState, WindowStatus

DEFAULT_HYSTERESIS = 0.1   # a tenth of the threshold, when the rule gives none


@dataclass(frozen=True)
class Reading:
    """One rule's measure of one subject; ``id`` is ``rule:subject``."""

    rule: AlertRule
    subject: str
    value: float
    threshold: float

    @property
    def id(self) -> str:
        return f"{self.rule.name}:{self.subject}"

    @property
    def clear_below(self) -> float:
        rule = self.rule
        hysteresis = (rule.hysteresis if rule.hysteresis is not None
                      else self.threshold * DEFAULT_HYSTERESIS)
        return self.threshold - hysteresis


def readings(hall: Hall, state: HallState, now: float) -> Iterator[Reading]:
    for rule in hall.alerts:
        yield from _READERS[rule.kind](hall, state, rule, now)


def active_alerts(hall: Hall, state: HallState, now: float) -> dict[str, Reading]:
    """The alerts that should be active now: at or over the threshold, or already
    active and not yet below the threshold minus the hysteresis."""
    active = {}
    for r in readings(hall, state, now):
        if r.value >= r.threshold or (r.id in state.alerts and r.value >= r.clear_below):
            active[r.id] = r
    return active


def check_alerts(hall: Hall, state: HallState, now: float) -> list[ev.Event]:
    """``alert_cleared`` for each active alert that no longer holds, then
    ``alert_raised`` for each new one, in id order; [] when nothing changed."""
    active = active_alerts(hall, state, now)
    events: list[ev.Event] = [ev.AlertCleared(at=now, id=a)
                              for a in sorted(set(state.alerts) - set(active))]
    for aid in sorted(set(active) - set(state.alerts)):
        r = active[aid]
        events.append(ev.AlertRaised(at=now, id=aid, rule=r.rule.name, level=r.rule.level,
                                     subject=r.subject, value=r.value, threshold=r.threshold))
    return events


def acknowledge(state: HallState, alert_id: str, now: float, by: str = "") -> list[ev.Event]:
    """``alert_acknowledged``; [] if it already was (the first dispatcher's stays)."""
    alert = state.alerts.get(alert_id)
    if alert is None:
        raise DispatchError("unknown_alert", f"no active alert {alert_id!r}", alert=alert_id)
    if alert.acknowledged_at is not None:
        return []
    return [ev.AlertAcknowledged(at=now, id=alert_id, by=by)]


# ------------------------------------------------------------------ filters


def _queue_ok(hall: Hall, rule: AlertRule, queue: str) -> bool:
    if rule.queues and queue not in rule.queues:
        return False
    return not rule.zones or any(z in rule.zones for z in hall.queues[queue].zones)


def _window_ok(hall: Hall, rule: AlertRule, window: WindowStatus) -> bool:
    if rule.zones and hall.windows[window.id].zone not in rule.zones:
        return False
    return not rule.queues or any(q in rule.queues for q in window.profile.queues)


def _device_ok(hall: Hall, rule: AlertRule, device: str) -> bool:
    """A device (or part, "K-B1/printer") is in a zone if its kiosk is."""
    if not rule.zones:
        return True
    kiosk = device.split("/", 1)[0]
    return any(kiosk in hall.zones[z].kiosks for z in rule.zones)


# ------------------------------------------------------------------ readers


def _ticket_overdue(hall: Hall, state: HallState, rule: AlertRule,
                    now: float) -> Iterator[Reading]:
    for t in state.tickets.values():
        if t.state is TicketState.WAITING and _queue_ok(hall, rule, t.queue):
            threshold = rule.threshold or hall.queues[t.queue].overdue_seconds
            yield Reading(rule, t.id, now - t.issued_at, threshold)


def _queue_wait(hall: Hall, state: HallState, rule: AlertRule,
                now: float) -> Iterator[Reading]:
    for qid, status in estimate.queue_status(hall, state, now).items():
        wait = status["expected_wait_s"]
        if wait is not None and _queue_ok(hall, rule, qid):
            yield Reading(rule, qid, wait, rule.threshold or hall.queues[qid].overdue_seconds)


def _service_long(hall: Hall, state: HallState, rule: AlertRule,
                  now: float) -> Iterator[Reading]:
    for w in state.windows.values():
        ticket = state.tickets[w.ticket] if w.ticket else None
        if ticket is None or ticket.called_at is None or not _window_ok(hall, rule, w):
            continue
        yield Reading(rule, w.id, now - ticket.called_at, rule.threshold or 0.0)


def _pause_long(hall: Hall, state: HallState, rule: AlertRule,
                now: float) -> Iterator[Reading]:
    for w in state.windows.values():
        if w.state is WindowState.PAUSED and w.paused_at is not None \
                and _window_ok(hall, rule, w):
            yield Reading(rule, w.id, now - w.paused_at, rule.threshold or 0.0)


def _window_unstaffed(hall: Hall, state: HallState, rule: AlertRule,
                      now: float) -> Iterator[Reading]:
    """A closed window, or an open one with no clerk signed in, counted by the tickets
    waiting in its main queues (those of the rule's filter) and for it by name."""
    for w in state.windows.values():
        if (w.state is not WindowState.CLOSED and w.clerk) or not _window_ok(hall, rule, w):
            continue
        queues = [q for q in w.profile.main if not rule.queues or q in rule.queues]
        waiting = sum(len(state.queue_lines[q]) for q in queues)
        yield Reading(rule, w.id, float(waiting + len(state.window_lines[w.id])),
                      rule.threshold or 1.0)


def _printer(hall: Hall, state: HallState, rule: AlertRule, now: float) -> Iterator[Reading]:
    for device, report in state.devices.items():
        if device.endswith("/printer") and _device_ok(hall, rule, device):
            yield Reading(rule, device, float(report.status in rule.statuses), 1.0)


def _device_offline(hall: Hall, state: HallState, rule: AlertRule,
                    now: float) -> Iterator[Reading]:
    for device, report in state.devices.items():
        if report.status == "offline" and _device_ok(hall, rule, device):
            yield Reading(rule, device, now - report.since, rule.threshold or 0.0)


def _case_overdue(hall: Hall, state: HallState, rule: AlertRule,
                  now: float) -> Iterator[Reading]:
    """A 差评 case past its deadline: contact before contacted, close before closed;
    the value is the seconds past it (threshold: the rule's, else 0, at the deadline)."""
    for case in state.cases.values():
        deadline = cases.due(case.state, case.contact_by, case.close_by)
        zone_ok = not rule.zones or (case.window in hall.windows
                                     and hall.windows[case.window].zone in rule.zones)
        if deadline is not None and zone_ok:
            yield Reading(rule, case.id, now - deadline, rule.threshold or 0.0)


_READERS = {
    "ticket_overdue": _ticket_overdue,
    "queue_wait": _queue_wait,
    "service_long": _service_long,
    "pause_long": _pause_long,
    "window_unstaffed": _window_unstaffed,
    "printer": _printer,
    "device_offline": _device_offline,
    "case_overdue": _case_overdue,
}
