"""Rereading the devices and clerks files while the hub runs (SIGHUP).

Rotation and revocation need no restart: edit the devices file (a new token hash,
an entry removed, an ``expires``) or the clerks file, then ``kill -HUP`` the hub.
``Hub.reload_credentials`` loads both with these functions; a file that fails to
load changes nothing. Each live device is then checked with ``why_closed``:
removed, changed (token, role, zone or windows) or expired closes it (1008,
``credentials_changed``); a device whose token is still good reconnects at once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .. import protocol as p
from ..core.commands import Command, SignIn
from ..hall import Hall, HallConfigError
from ..service import HallService
from .devices import Device, load_devices
from .logs import log_json
from .people import People, Person, load_people
from .signin import StaffSessions

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from .server import Client

CLOSE_REASON = "credentials_changed"


@dataclass(frozen=True)
class CredentialFiles:
    """The files the hub was started with, to reread on SIGHUP."""

    devices: str | os.PathLike[str]
    clerks: str | os.PathLike[str] | None = None


def load_credentials(files: CredentialFiles, hall: Hall
                     ) -> tuple[dict[str, Device], dict[str, Person] | None]:
    """Both files, or HallConfigError for the first that fails (nothing half-loaded).
    The people are None when the hub has no clerks file."""
    devices = load_devices(files.devices, hall)
    people = load_people(files.clerks) if files.clerks is not None else None
    return devices, people


def why_closed(connected: Device, entry: Device | None, now: float) -> str | None:
    """Why a live session of ``connected`` must end now that the file has ``entry``
    for its id: "removed", "changed", "expired", or None when it may go on."""
    if entry is None:
        return "removed"
    if _credentials(entry) != _credentials(connected):
        return "changed"
    if entry.expired(now):
        return "expired"
    return None


def _credentials(d: Device) -> tuple[object, ...]:
    """What a session was let in with (its name and expiry may change under it)."""
    return d.role, d.token_hash, d.zone, d.windows


class CredentialReload:
    """A mixin of ``Hub``: SIGHUP's reload, and closing what it no longer lets in.
    It uses the hub's devices, people, sessions, service and live connections, and
    its ``run_own`` and ``_close_later``."""

    hall: Hall
    service: HallService
    devices: dict[str, Device]
    people: People
    sessions: StaffSessions
    live: dict[ServerConnection, Client]
    clock: Callable[[], float]

    def run_own(self, command: Command, actor: str | None = "hub") -> None: ...

    def reload_credentials(self, files: CredentialFiles) -> bool:
        """SIGHUP: reread the devices (and clerks) file, then close each live device
        whose entry is gone, changed or expired. A file that fails to load changes
        nothing and logs one line."""
        try:
            devices, people = load_credentials(files, self.hall)
        except HallConfigError as exc:
            log_json("reload_failed", error=str(exc))
            return False
        self.devices = devices
        if people is not None:
            before, self.people.people = self.people.people, people  # backoff carries on
            self._sign_out_changed({pid for pid, p in before.items() if people.get(pid) != p})
        closed = self.close_stale()
        log_json("reloaded", devices=len(devices), people=len(self.people.people),
                 closed=closed)
        return True

    def _sign_out_changed(self, gone: set[str]) -> None:
        """People removed from the clerks file, or whose PIN changed (a leaked PIN is
        the usual reason), are signed out wherever they are signed in."""
        for client in self.live.values():
            if client.staff is not None and client.staff.id in gone:
                client.staff = None
                self.sessions.end(client.device.id)
        for window, status in self.service.core.state.windows.items():
            if status.clerk in gone:
                self._system_command(SignIn(window=window, clerk=""))
        if gone:
            log_json("signed_out", people=sorted(gone))

    def _system_command(self, command: Command) -> None:
        """A command of the hub itself (no device, no actor), told to everyone."""
        self.run_own(command, actor=None)

    def close_stale(self) -> list[str]:
        """Close (1008) each live device removed from the list, changed or expired."""
        now, closed = time.time(), list[str]()
        for ws, client in list(self.live.items()):
            why = why_closed(client.device, self.devices.get(client.device.id), now)
            if why is None:
                continue
            self.live.pop(ws, None)
            client.closing = True           # what it sends meanwhile is dropped unread
            log_json(CLOSE_REASON, device=client.device.id, why=why)
            self._close_later(ws, p.CLOSE_POLICY, CLOSE_REASON)
            closed.append(client.device.id)
        return closed

    def _expired(self, device: Device) -> bool:
        """Refused at hello like a wrong token; only the log says why."""
        if not device.expired(time.time()):
            return False
        log_json("expired", device=device.id, expires_at=device.expires_at)
        return True
