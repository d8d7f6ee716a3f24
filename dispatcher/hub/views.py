"""What clients see: snapshots for each role, and the changes each event makes.

Every event frame carries ``changes``: the new view of each window, ticket and
queue count the event touched, read from the state right after the event was
applied. A client keeps its picture right by merging them (see
dispatcher/client/view.py) without knowing the dispatch rules, and a snapshot is
the same views for everything, so "snapshot + events" and "a fresh snapshot"
give the same picture.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from itertools import islice
from typing import Any

from ..core import events as ev
from ..core.balancing import balancing_view
from ..core.state import HallState
from ..hall import Hall, hall_layout
from .devices import Device
from .privacy import HUB_ONLY_FIELDS, ticket_for, window_for

RECENT_CALLS = 20
RECENT_OWN = 20           # a caller's own finished tickets in its snapshot
RECENT_CONSOLE = 200      # the console's
LOOK_BACK = 2_000         # tickets looked through for them, newest first
LINE_HEAD = 50            # the first tickets of a queue's line a snapshot lists, at most
HEADS_IN_ALL = 500        # ... shared by its queues (each keeps 10 at least): so a hall of
HEAD_MIN = 10             # many queues cannot grow a welcome towards the frame limit
_WINDOW_FIELDS = ("window", "from_window", "to_window")
_QUEUE_FIELDS = ("queue", "from_queue", "to_queue")
_DAY_EVENTS = (ev.DayOpened.NAME, ev.DayClosed.NAME)
_CASE_EVENTS = (ev.CaseOpened.NAME, ev.CaseUpdated.NAME)


def window_view(state: HallState, window_id: str) -> dict[str, Any]:
    w = state.windows[window_id]
    ticket = state.tickets.get(w.ticket) if w.ticket else None
    return {"state": str(w.state), "ticket": w.ticket,
            "number": ticket.number if ticket else None, "pause_reason": w.pause_reason,
            "main": list(w.profile.main), "side": list(w.profile.side),
            "side_when_overdue": w.profile.side_when_overdue,
            "waiting": len(state.window_lines.get(window_id, ())), "clerk": w.clerk,
            "held": [{"ticket": t, "number": state.tickets[t].number}
                     for t in state.held.get(window_id, ())]}


def ticket_view(state: HallState, ticket_id: str) -> dict[str, Any]:
    view = dict(vars(state.tickets[ticket_id]))
    view["state"] = str(view["state"])
    return view


def _plain(value: Any) -> Any:
    """Dataclass-or-dict state entries (appointments, devices) as JSON-ready dicts,
    without what stays in the hub (an appointment's ID card pseudonym)."""
    if not hasattr(value, "__dict__"):
        return value
    return {k: v for k, v in vars(value).items() if k not in HUB_ONLY_FIELDS}


class RecentCalls:
    """The last calls and recalls, newest last: what a wall display lists."""

    def __init__(self) -> None:
        self.calls: deque[dict[str, Any]] = deque(maxlen=RECENT_CALLS)

    def note(self, event: ev.Event) -> None:
        if isinstance(event, ev.DayOpened):
            self.calls.clear()
        elif isinstance(event, ev.TicketCalled | ev.TicketRecalled):
            self.calls.append({"ticket": event.ticket, "number": event.number,
                               "window": event.window, "at": event.at,
                               "recall": isinstance(event, ev.TicketRecalled)})


def changes_for(event: ev.Event, state: HallState, hall: Hall | None = None
                ) -> dict[str, Any]:
    """The views the event changed, read from ``state`` just after applying it (with
    the ``hall``, a day's opening also gives each zone's balancing mode afresh)."""
    data = event.to_dict()
    if event.NAME in _CASE_EVENTS:   # the console's alone: no ticket or window view, which
        return _case_changes(data, state)   # the rated window's caller would merge as public
    if event.NAME in _DAY_EVENTS:
        windows: Iterable[str] = state.windows
        queues: Iterable[str] = state.queue_lines
        tickets: list[str] = list(data.get("closed_tickets", ()))
    else:
        windows = {data[f] for f in _WINDOW_FIELDS if data.get(f) in state.windows}
        tickets = [data["ticket"]] if data.get("ticket") in state.tickets else []
        queues = {data[f] for f in _QUEUE_FIELDS if data.get(f) in state.queue_lines}
        queues |= {state.tickets[t].queue for t in tickets}
        windows |= {state.tickets[t].window for t in tickets if state.tickets[t].window}
    changes: dict[str, Any] = {
        "windows": {w: window_view(state, w) for w in windows},
        "waiting": {q: len(state.queue_lines[q]) for q in queues},
        "tickets": {t: ticket_view(state, t) for t in tickets},
    }
    if event.NAME in _DAY_EVENTS:
        changes["day"], changes["day_closed"] = state.day, state.day_closed
    if isinstance(event, ev.DayOpened):
        changes["reset"] = True
        if hall is not None:
            changes["balancing"] = balancing_view(hall, state)
    changes.update(_extra_changes(data, state))
    changes.update(_case_changes(data, state))
    return changes


def _extra_changes(data: dict[str, Any], state: HallState) -> dict[str, Any]:
    name = data["name"]
    if name == "notice_posted" or name in _DAY_EVENTS:
        return {"notices": dict(getattr(state, "notices", {}))}
    if name == "device_reported":
        device = data["device"]
        return {"devices": {device: _plain(getattr(state, "devices", {}).get(device))}}
    if name in _BALANCING_EVENTS:
        return _balancing_changes(data, state)
    if name.startswith("alert_"):
        alert = getattr(state, "alerts", {}).get(data["id"])
        return {"alerts": {data["id"]: _plain(alert) if alert else None}}
    if name.startswith("appointment_"):
        code = data["code"]
        return {"appointments": {code: _plain(getattr(state, "appointments", {}).get(code))}}
    return {}


def _case_changes(data: dict[str, Any], state: HallState) -> dict[str, Any]:
    """差评 cases (the console's): the one a case event touched; at a day's opening,
    which resets every map, every case it carried over."""
    if data["name"] in _CASE_EVENTS:
        return {"cases": {data["case"]: state.cases[data["case"]].view()}}
    if data["name"] == ev.DayOpened.NAME:
        return {"cases": cases_view(state)}
    return {}


def cases_view(state: HallState) -> dict[str, dict[str, Any]]:
    return {k: c.view() for k, c in state.cases.items()}


_BALANCING_EVENTS = ("suggestions_posted", "suggestion_predicted", "profile_changed",
                     "balancing_set")


def _balancing_changes(data: dict[str, Any], state: HallState) -> dict[str, Any]:
    """The suggestions (and zone modes) an event touched; None for those gone."""
    name = data["name"]
    if name == "balancing_set":
        return {"balancing": {data["zone"]: dict(state.balancing[data["zone"]])}}
    if name == "suggestions_posted":
        touched = [s["id"] for s in data["suggestions"]] + list(data["removed"])
    else:
        touched = [data.get("id") or data.get("suggestion")]
    return {"suggestions": {i: state.suggestions.get(i) for i in touched if i}}


KEEPS_TICKETS = ("caller", "console")   # the roles whose picture holds ticket records


def snapshot(hall: Hall, state: HallState, recent: RecentCalls, device: Device,
             presence: dict[str, Any] | None = None) -> dict[str, Any]:
    """The picture a device starts from: what its role needs and nothing more. Its
    size follows what is live (windows, tickets waiting or at a window), not the
    day's ticket count."""
    snap: dict[str, Any] = {
        "day": state.day, "day_closed": state.day_closed, "hall": hall_layout(hall),
        "windows": {w: window_for(device, w, window_view(state, w)) for w in state.windows},
        "waiting": {q: len(line) for q, line in state.queue_lines.items()},
        "recent_calls": list(recent.calls),
        "notices": dict(getattr(state, "notices", {})),
    }
    if device.zone is not None:
        snap["zone"] = device.zone
    if device.role in ("caller", "evaluator"):
        snap["my_windows"] = list(device.windows)
    if device.role in KEEPS_TICKETS:
        snap["tickets"] = _snapshot_tickets(state, device)
    if device.role == "console":
        snap["devices"] = {k: _plain(v) for k, v in getattr(state, "devices", {}).items()}
        snap["appointments"] = {k: _plain(v)
                                for k, v in getattr(state, "appointments", {}).items()}
        snap["alerts"] = {k: _plain(v) for k, v in getattr(state, "alerts", {}).items()}
        snap["cases"] = cases_view(state)
        snap["suggestions"] = dict(state.suggestions)
        snap["balancing"] = balancing_view(hall, state)
        snap["presence"] = presence or {}
    return snap


def live_tickets(state: HallState, device: Device) -> set[str]:
    """The tickets live now that the device needs, found from the lines (no day
    scan): the head of each queue it may call from (every queue for the
    console; the queues of its windows' profiles for a caller), every ticket waiting
    for, held aside at or called to its windows. The counts in ``waiting`` are whole;
    a line longer than its head is cut, so no snapshot outgrows a frame."""
    full = device.role == "console"
    mine = set(state.windows) if full else set(device.windows)
    queues = set(state.queue_lines) if full else {
        q for w in mine if w in state.windows for q in state.windows[w].profile.queues}
    head = max(HEAD_MIN, min(LINE_HEAD, HEADS_IN_ALL // max(len(queues), 1)))
    live = {t for q in queues for _, _, t in state.queue_lines.get(q, ())[:head]}
    live |= {t for w in mine for _, _, t in state.window_lines.get(w, ())}
    live |= {t for w in mine for t in state.held.get(w, ())}
    live |= {state.windows[w].ticket for w in mine if w in state.windows
             and state.windows[w].ticket}
    return live


def _snapshot_tickets(state: HallState, device: Device) -> dict[str, dict[str, Any]]:
    """The live tickets it needs, and the latest finished ones it may look back on:
    a caller its own windows' last RECENT_OWN, the console the hall's last
    RECENT_CONSOLE."""
    full, mine = device.role == "console", set(device.windows)
    wanted = live_tickets(state, device)
    keep = RECENT_CONSOLE if full else RECENT_OWN
    for ticket in islice(reversed(state.tickets.values()), LOOK_BACK):
        if keep <= 0:
            break
        if ticket.id not in wanted and (full or ticket.served_by in mine):
            wanted.add(ticket.id)
            keep -= 1
    return {t: ticket_for(device, ticket_view(state, t))
            for t in sorted(wanted, key=lambda t: state.tickets[t].serial)}
