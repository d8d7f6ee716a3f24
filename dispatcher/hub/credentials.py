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
from dataclasses import dataclass

from ..hall import Hall
from .devices import Device, load_devices
from .people import Person, load_people

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
