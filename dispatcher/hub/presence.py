"""Which devices are connected: the hub is the witness, not the device.

Kept in the hub's memory (not in the event log: a display reconnecting must not
write to the store nor send an event to 2,500 screens) and told to the consoles
alone in ``presence`` frames (docs/protocol.md). Each device's history of the day
is its last HISTORY changes since the hub started; a restart starts it afresh and
every device counts as offline until it says hello again.
"""

from __future__ import annotations

from typing import Any

from .devices import Device

HISTORY = 50
# A device gone this long (seconds) is reported offline by the hub (``report_device``,
# detail DISCONNECTED), so the hall's device_offline alert rule sees it; a short
# blip (a display's network hiccup, a restart) is not written to the log.
OFFLINE_AFTER = 30.0
DISCONNECTED = "no connection to the hub"
RECONNECTED = "connected again"


class Presence:
    def __init__(self) -> None:
        self._seen: dict[str, dict[str, Any]] = {}

    def note(self, device: Device, online: bool, now: float) -> dict[str, Any] | None:
        """Record a change; the device's new view, or None when nothing changed."""
        known = self._seen.get(device.id)
        if known is not None and known["online"] == online:
            return None
        history = [*(known["history"] if known else ()), {"at": now, "online": online}]
        view = {"online": online, "since": now, "role": device.role,
                "history": history[-HISTORY:]}
        self._seen[device.id] = view
        return view

    def absent(self, now: float, after: float = OFFLINE_AFTER) -> list[str]:
        """The devices seen since the hub started and gone for ``after`` seconds."""
        return sorted(d for d, v in self._seen.items()
                      if not v["online"] and now - v["since"] >= after)

    def view(self, devices: dict[str, Device]) -> dict[str, dict[str, Any]]:
        """Every device of the devices file, connected or not (``since`` None: not seen
        since the hub started)."""
        return {d.id: self._seen.get(d.id) or {"online": False, "since": None,
                                               "role": d.role, "history": []}
                for d in devices.values()}
