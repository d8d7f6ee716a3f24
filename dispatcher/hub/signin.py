"""Who acts: people sign in with a PIN the hub checks, and every command's actor is
the person the hub has signed in, never a name a device sends.

- ``sign_in {"window", "clerk", "pin"}``: a clerk at a window (a caller for its own
  window, or the console). ``{"window", "clerk": ""}`` signs out, with no PIN.
- ``staff_sign_in {"staff", "pin"}`` / ``staff_sign_out {}``: dispatch staff at a
  console; a console acts only while someone is signed in at it.

The PIN is checked with scrypt off the event loop, and never stored: the digest
that tells a retry from a reused id leaves it out.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from ..core.commands import Command
from ..core.errors import DispatchError
from ..core.state import HallState
from ..protocol import CommandMessage, ProtocolError
from .devices import Device
from .people import Person

STAFF_COMMANDS = ("staff_sign_in", "staff_sign_out")   # the hub's own, not the core's
MAX_PIN = 64
SESSION_S = 12 * 3600     # a console's sign-in lasts a working day at most


class StaffSessions:
    """A console's staff sign-in outlives a dropped connection, not the hub: the
    sign-in reply carries a random session token the console's next hello resumes."""

    def __init__(self) -> None:
        self._by_token: dict[str, tuple[str, Person, float]] = {}

    def start(self, device: str, person: Person, now: float) -> str:
        token = secrets.token_urlsafe(24)
        self._by_token[token] = (device, person, now + SESSION_S)
        return token

    def end(self, device: str) -> None:
        for token in [t for t, (d, _, _) in self._by_token.items() if d == device]:
            del self._by_token[token]

    def resume(self, token: str | None, device: str, now: float) -> Person | None:
        found = self._by_token.get(token or "")
        if found is None or found[0] != device or now >= found[2]:
            return None
        return found[1]


def command_digest(msg: CommandMessage) -> str:
    """What makes a retry a retry: the command and its arguments, less the PIN."""
    args = {k: v for k, v in msg.args.items() if k != "pin"}
    text = json.dumps([msg.name, args], sort_keys=True, ensure_ascii=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def signs_someone_in(msg: CommandMessage) -> bool:
    return msg.name == "staff_sign_in" or (msg.name == "sign_in" and bool(
        msg.args.get("clerk")))


def pin_of(msg: CommandMessage) -> str:
    """The PIN a sign-in carries."""
    pin = msg.args.get("pin")
    if not isinstance(pin, str) or not 0 < len(pin) <= MAX_PIN:
        raise DispatchError("bad_argument", f"{msg.name}: pin must be the person's PIN, "
                            f"1 to {MAX_PIN} characters", field="pin")
    return pin


def core_args(msg: CommandMessage) -> dict[str, Any]:
    """The arguments the core's command takes: a sign-in's PIN is the hub's alone."""
    if msg.name != "sign_in":
        return msg.args
    return {k: v for k, v in msg.args.items() if k != "pin"}


def staff_id(device: Device, msg: CommandMessage) -> str:
    """The staff member a ``staff_sign_in`` names, from a console only."""
    if device.role != "console":
        raise ProtocolError("forbidden", f"only a console has staff sign-in, not a "
                            f"{device.role} (device {device.id})")
    unknown = sorted(set(msg.args) - {"staff", "pin"})
    if unknown:
        raise DispatchError("bad_argument", f"{msg.name}: unknown argument {unknown[0]!r}",
                            field=unknown[0])
    if msg.name == "staff_sign_out":
        return ""
    staff = msg.args.get("staff")
    if not isinstance(staff, str) or not 0 < len(staff) <= 64:
        raise DispatchError("bad_argument", "staff_sign_in: staff must be a staff id",
                            field="staff")
    return staff


def person_view(person: Person) -> dict[str, str]:
    return {"id": person.id, "name": person.name}


def actor_of(device: Device, command: Command, state: HallState, staff: Person | None
             ) -> str | None:
    """The person the store records as having done it: the staff member signed in at
    the console, or the clerk signed in at the caller's window (None when nobody is:
    a keypad's clerk, a citizen at a kiosk or an evaluator, a device reporting)."""
    if device.role == "console":
        if staff is None:
            raise ProtocolError("not_signed_in", "a dispatch staff member must sign in at "
                                "this console first (staff_sign_in)")
        return staff.id
    if device.role != "caller":
        return None
    window = getattr(command, "window", None)
    if window is None:
        ticket = state.tickets.get(getattr(command, "ticket", ""))
        window = ticket and (ticket.window or ticket.served_by)
    status = state.windows.get(window) if isinstance(window, str) else None
    return status.clerk or None if status is not None else None
