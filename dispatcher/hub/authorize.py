"""What each role may do. The console may do everything; a kiosk takes numbers for
its own zone; a caller acts for its own window(s); an evaluator (好差评 screen) rates
what its window served; displays and LED bridges only listen (and report their own
health)."""

from __future__ import annotations

import dataclasses

from ..core.commands import Command
from ..core.state import HallState, TicketState
from ..protocol import ProtocolError
from .devices import Device

_WINDOW_COMMANDS = {
    "call_next", "call_ticket", "recall", "start_service", "finish_service", "no_show",
    "pause", "resume", "open_window", "close_window", "hold", "call_back", "sign_in",
}
_CALLER_TICKET_COMMANDS = {"requeue", "transfer", "cancel"}
MAX_PARTS = 16   # parts a device may report on (a kiosk's printer, a bridge's strips)
ROLE_COMMANDS: dict[str, frozenset[str] | None] = {   # None: every command
    "kiosk": frozenset({"issue_ticket", "check_in", "report_device"}),
    "caller": frozenset(_WINDOW_COMMANDS | _CALLER_TICKET_COMMANDS | {"report_device"}),
    # 好差评 is the citizen's: only the rater at the window (never the clerk's panel)
    "evaluator": frozenset({"evaluate", "report_device"}),
    "display": frozenset({"report_device"}),
    "led": frozenset({"report_device"}),
    "console": None,   # everything but evaluate and the hub's own check_alerts
}
# the hub runs these on its clocks (alerts, balancing suggestions); no device may
HUB_ONLY = frozenset({"check_alerts", "post_suggestions", "predict_suggestion"})


def forbidden(message: str) -> ProtocolError:
    return ProtocolError("forbidden", message)


def authorize(device: Device, command: Command, state: HallState) -> Command:
    """Return the command as this device may send it (a kiosk's zone filled in), or
    raise ProtocolError("forbidden") saying why not."""
    allowed = ROLE_COMMANDS[device.role]
    if command.NAME in HUB_ONLY:
        raise forbidden(f"{command.NAME} is the hub's own: no device may send it "
                        f"(device {device.id})")
    if command.NAME == "evaluate" and device.role != "evaluator":
        raise forbidden(f"a {device.role} may not evaluate: 好差评 is the citizen's, at the "
                        f"window's evaluator (device {device.id})")
    if allowed is None:
        return command
    if command.NAME not in allowed:
        raise forbidden(f"a {device.role} may not {command.NAME} (device {device.id})")
    if command.NAME == "report_device":
        return _own_report(device, command, state)
    if device.role == "kiosk":
        return _kiosk(device, command)
    if command.NAME in _WINDOW_COMMANDS:
        window = command.window  # type: ignore[attr-defined]
        if window not in device.windows:
            raise forbidden(f"caller {device.id} acts for {', '.join(device.windows)}, "
                            f"not window {window}")
        return command
    _caller_ticket(device, command, state)
    return command


def _own_report(device: Device, command: Command, state: HallState) -> Command:
    reported = command.device  # type: ignore[attr-defined]
    if reported != device.id and not reported.startswith(device.id + "/"):
        raise forbidden(f"device {device.id} may report only itself or its parts "
                        f"({device.id}/...), not {reported}")
    parts = {d for d in state.devices if d.startswith(device.id + "/")}
    if reported not in state.devices and len(parts) >= MAX_PARTS:
        raise forbidden(f"device {device.id} already reports on {MAX_PARTS} parts; "
                        f"{reported} would be one too many")
    return command


def _kiosk(device: Device, command: Command) -> Command:
    zone = getattr(command, "zone", None)
    if zone is not None and zone != device.zone:
        raise forbidden(f"kiosk {device.id} serves zone {device.zone}, not {zone}")
    if getattr(command, "after_hours", False):
        raise forbidden("only the console may issue tickets after hours")
    return dataclasses.replace(command, zone=device.zone)  # type: ignore[call-arg]


def _caller_ticket(device: Device, command: Command, state: HallState) -> None:
    ticket = state.tickets.get(command.ticket)  # type: ignore[attr-defined]
    if ticket is None:
        return  # the core says unknown_ticket
    mine = set(device.windows)
    if command.NAME == "evaluate":
        ok = ticket.served_by in mine
    elif command.NAME == "requeue":
        ok = any(ticket.queue in state.windows[w].profile.queues for w in mine)
    else:  # transfer, cancel: a ticket this window holds, holds aside, or that waits for it
        ok = ticket.window in mine and ticket.state in (
            TicketState.CALLED, TicketState.SERVING, TicketState.WAITING, TicketState.HELD)
    if not ok:
        raise forbidden(f"{ticket.number} is not {command.NAME}-able from "
                        f"{', '.join(device.windows)}")
