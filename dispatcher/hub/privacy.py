"""What a person in the lobby may see, and who else sees more.

Lobby devices (wall displays, LED bridges, kiosks) get the *public* view of every
event: numbers, windows, states, counts, notices. Clerk ids, ratings and their
reasons, cancel reasons, appointment codes and device faults are *private*: they
go to the console, and to a caller or evaluator only for its own window(s).

The public fields are listed per event (an allow-list): a new event or field is
private until it is named here, and tests/test_hub_privacy.py fails for an event
missing from the list.
"""

from __future__ import annotations

from typing import Any

from .devices import Device

# Every event's data fields a lobby device may read ("at" and "name" always).
PUBLIC_EVENT_FIELDS: dict[str, frozenset[str]] = {
    name: frozenset(fields) for name, fields in {
        "day_opened": ("day",),
        "day_closed": ("day", "closed_tickets"),
        "ticket_issued": ("ticket", "number", "prefix", "sequence", "serial", "queue",
                          "ticket_class", "virtual_at"),
        "ticket_called": ("ticket", "number", "window", "queue", "tier"),
        "ticket_recalled": ("ticket", "number", "window", "recalls"),
        "service_started": ("ticket", "window"),
        "service_finished": ("ticket", "window", "implicit"),
        "ticket_no_show": ("ticket", "window"),
        "ticket_requeued": ("ticket", "queue", "virtual_at", "requeues", "serial"),
        "ticket_transferred": ("ticket", "from_queue", "to_queue", "from_window",
                               "to_window"),
        "ticket_cancelled": ("ticket", "window"),
        "window_opened": ("window",),
        "window_closed": ("window",),
        "window_paused": ("window", "reason"),   # a reason from the panel's list: 午休 …
        "window_resumed": ("window",),
        "profile_changed": ("window", "main", "side", "side_when_overdue"),
        "ticket_evaluated": ("ticket", "window"),
        "ticket_held": ("ticket", "number", "window"),
        "clerk_signed_in": ("window",),
        "appointment_booked": ("queue",),
        "appointment_checked_in": ("ticket",),
        "notice_posted": ("text", "zone"),
        "device_reported": (),
        "alert_raised": (),           # alerts are the console's (docs/protocol.md)
        "alert_acknowledged": (),
        "alert_cleared": (),
        "suggestions_posted": (),     # balancing is the console's
        "suggestion_predicted": (),
        "balancing_set": (),
        "case_opened": (),            # 差评 cases are the console's alone
        "case_updated": (),
    }.items()
}
PUBLIC_TICKET_FIELDS = frozenset({
    "id", "number", "queue", "ticket_class", "issued_at", "virtual_at", "serial", "state",
    "window", "called_at", "started_at", "finished_at", "recalls", "requeues", "transfers",
    "served_by"})
PRIVATE_WINDOW_FIELDS = frozenset({"clerk"})
PUBLIC_CHANGES = frozenset({"windows", "waiting", "tickets", "day", "day_closed", "reset",
                            "notices"})
LOBBY_ROLES = frozenset({"display", "led", "kiosk"})
# fields no device's frame carries, the console's included: a ticket's status page
# token goes back only to the kiosk that issued it, in its reply (docs/phone.md); an
# ID card holder's pseudonym stays in the hub (docs/security.md, "ID card data")
HUB_ONLY_FIELDS = frozenset({"status_token", "person"})
# events only the console sees in full, whatever window they name
CONSOLE_ONLY_EVENTS = frozenset({"case_opened", "case_updated"})
WINDOWED_ROLES = frozenset({"caller", "evaluator"})


def without_secrets(data: dict[str, Any]) -> dict[str, Any]:
    """An event's data as any device may be sent it, in full or in part."""
    return {k: v for k, v in data.items() if k not in HUB_ONLY_FIELDS}


def public_data(name: str, data: dict[str, Any]) -> dict[str, Any]:
    allowed = PUBLIC_EVENT_FIELDS.get(name, frozenset())
    return {k: v for k, v in data.items() if k == "at" or k in allowed}


def public_ticket(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k in PUBLIC_TICKET_FIELDS}


def public_window(view: dict[str, Any]) -> dict[str, Any]:
    return {k: (None if k in PRIVATE_WINDOW_FIELDS else v) for k, v in view.items()}


def public_changes(changes: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in changes.items() if k in PUBLIC_CHANGES}
    if "windows" in out:
        out["windows"] = {w: public_window(v) for w, v in out["windows"].items()}
    if "tickets" in out:
        out["tickets"] = {t: public_ticket(v) for t, v in out["tickets"].items()}
    return out


def concerned_windows(data: dict[str, Any], changes: dict[str, Any],
                      name: str = "") -> frozenset[str]:
    """The windows whose devices see this event in full: the windows it names, and
    the window that served or holds a ticket it changed. (A day's opening or closing
    names none: every window's device gets its public view; nor does a console-only
    event such as a 差评 case's, though it names the window rated.)"""
    if name in CONSOLE_ONLY_EVENTS:
        return frozenset()
    windows = {data[f] for f in ("window", "from_window", "to_window") if data.get(f)}
    for t in changes.get("tickets", {}).values():
        windows |= {w for w in (t.get("window"), t.get("served_by")) if w}
    return frozenset(windows)


def sees_in_full(device: Device, windows: frozenset[str]) -> bool:
    if device.role == "console":
        return True
    return device.role in WINDOWED_ROLES and not windows.isdisjoint(device.windows)


def window_for(device: Device | None, window: str, view: dict[str, Any]) -> dict[str, Any]:
    """A window's view as ``device`` may see it (None: a device not known, public)."""
    if device is not None and sees_in_full(device, frozenset((window,))):
        return view
    return public_window(view)


def ticket_for(device: Device | None, view: dict[str, Any]) -> dict[str, Any]:
    """A ticket's view as ``device`` may see it: in full at the console and at the
    window that holds or served it (None: a device not known, public)."""
    windows = frozenset(w for w in (view.get("window"), view.get("served_by")) if w)
    if device is not None and sees_in_full(device, windows):
        return view
    return public_ticket(view)
