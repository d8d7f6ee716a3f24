"""HallView: a device's picture of the hall, kept by merging event ``changes``.

The picture has exactly the shape of the role's snapshot (docs/protocol.md §1), so
``view.to_dict()`` can be compared with a snapshot fetched fresh. The view knows
no dispatch rules: each event frame carries the new views of what it touched.

Two things are not in ``changes`` and are taken from the event itself: the day
(``day_opened`` sets ``day`` and clears ``day_closed``; ``day_closed`` sets it),
and the recent calls (``ticket_called``/``ticket_recalled``). A ``reset`` (the
day rolled over) forgets every per-day map: tickets, recent calls, appointments
and device reports, as the hub's state does.

Everything stored is a private copy, so a frame handed to a view can be handed to
another view (another thread's) without sharing mutable dicts.
"""

from __future__ import annotations

import copy
from typing import Any

RECENT_CALLS = 20
_CALL_EVENTS = {"ticket_called": False, "ticket_recalled": True}   # name -> recall
_MERGED = ("windows", "waiting")           # every role has these maps
# only the roles that get them (the console: alerts, 差评 cases, balancing suggestions,
# each zone's balancing mode, device presence)
_MERGED_IF_KEPT = ("tickets", "devices", "appointments", "alerts", "cases", "suggestions",
                   "balancing", "presence")


class SeqGap(Exception):
    """An event frame skipped a seq: the picture cannot be trusted; resync."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(f"event seq {got} arrived, expected {expected}")
        self.expected, self.got = expected, got


class HallView:
    def __init__(self) -> None:
        self._snap: dict[str, Any] = {}
        self._seq: int | None = None
        self.duplicates = 0      # frames ignored because their seq was already applied
        self.applied = 0         # event frames applied since the last load

    # ------------------------------------------------------------ updates

    def load(self, snapshot: dict[str, Any], seq: int) -> None:
        """Replace the picture with ``snapshot``, the hall as of ``seq``."""
        self._snap = copy.deepcopy(snapshot)
        self._snap.setdefault("recent_calls", [])
        self._seq = seq
        self.applied = 0

    def apply(self, frame: dict[str, Any]) -> bool:
        """Merge one event frame. False for a frame already applied (ignored, counted);
        SeqGap when a seq was skipped; ValueError before any ``load``."""
        if self._seq is None:
            raise ValueError("apply() before load(): the view has no picture yet")
        seq = frame["seq"]
        if seq <= self._seq:
            self.duplicates += 1
            return False
        if seq != self._seq + 1:
            raise SeqGap(self._seq + 1, seq)
        self._merge(frame["name"], frame.get("data") or {},
                    copy.deepcopy(frame.get("changes") or {}))
        self._seq = seq
        self.applied += 1
        return True

    def _merge(self, name: str, data: dict[str, Any], changes: dict[str, Any]) -> None:
        snap = self._snap
        if changes.get("reset"):
            self._reset()
        if name == "day_opened":
            snap["day"], snap["day_closed"] = data.get("day"), False
        elif name == "day_closed":
            snap["day_closed"] = True
        for key in _MERGED:
            snap.setdefault(key, {}).update(changes.get(key) or {})
        for key in _MERGED_IF_KEPT:
            if key in snap:
                _merge_map(snap[key], changes.get(key) or {})
        if "notices" in changes:
            snap["notices"] = changes["notices"]
        if name in _CALL_EVENTS:
            self._note_call(data, recall=_CALL_EVENTS[name])

    def note_presence(self, frame: dict[str, Any]) -> None:
        """A ``presence`` frame (consoles only): a device connected or went. Not an
        event: no seq, nothing to resync; a snapshot brings the whole picture."""
        if "presence" in self._snap:
            self._snap["presence"][frame["device"]] = copy.deepcopy(frame["presence"])

    def _reset(self) -> None:
        self._snap["recent_calls"] = []
        for key in _MERGED_IF_KEPT:
            if key in self._snap and key != "presence":   # who is connected outlives a day
                self._snap[key] = {}

    def _note_call(self, data: dict[str, Any], recall: bool) -> None:
        calls = self._snap["recent_calls"]
        calls.append({"ticket": data.get("ticket"), "number": data.get("number"),
                      "window": data.get("window"), "at": data.get("at"), "recall": recall})
        del calls[:-RECENT_CALLS]

    # ------------------------------------------------------------ reading

    @property
    def loaded(self) -> bool:
        return self._seq is not None

    @property
    def seq(self) -> int | None:
        """The seq of the last event in the picture; None before the first load."""
        return self._seq

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the picture, in the shape of the role's snapshot."""
        return copy.deepcopy(self._snap)

    @property
    def day(self) -> str | None:
        return self._snap.get("day")

    @property
    def day_closed(self) -> bool:
        return bool(self._snap.get("day_closed"))

    @property
    def hall(self) -> dict[str, Any]:
        """The static layout: name, timezone, zones, queues and windows with names."""
        return self._snap.get("hall", {})

    @property
    def zone(self) -> str | None:
        """A kiosk's or zone display's zone."""
        return self._snap.get("zone")

    @property
    def my_windows(self) -> list[str]:
        """A caller's windows."""
        return self._snap.get("my_windows", [])

    @property
    def windows(self) -> dict[str, dict[str, Any]]:
        return self._snap.get("windows", {})

    @property
    def waiting(self) -> dict[str, int]:
        return self._snap.get("waiting", {})

    @property
    def tickets(self) -> dict[str, dict[str, Any]]:
        """Every ticket of the day (callers and the console only; else empty)."""
        return self._snap.get("tickets", {})

    @property
    def recent_calls(self) -> list[dict[str, Any]]:
        """The last calls and recalls, newest last."""
        return self._snap.get("recent_calls", [])

    @property
    def notices(self) -> dict[str, str]:
        """Notice text by zone id; "" is the whole hall."""
        return self._snap.get("notices", {})

    @property
    def devices(self) -> dict[str, Any]:
        return self._snap.get("devices", {})

    @property
    def appointments(self) -> dict[str, Any]:
        return self._snap.get("appointments", {})

    @property
    def alerts(self) -> dict[str, Any]:
        return self._snap.get("alerts", {})

    @property
    def cases(self) -> dict[str, Any]:
        return self._snap.get("cases", {})

    @property
    def suggestions(self) -> dict[str, Any]:
        return self._snap.get("suggestions", {})

    @property
    def balancing(self) -> dict[str, Any]:
        return self._snap.get("balancing", {})

    @property
    def presence(self) -> dict[str, Any]:
        return self._snap.get("presence", {})

    def window(self, window_id: str) -> dict[str, Any] | None:
        return self.windows.get(window_id)

    def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        return self.tickets.get(ticket_id)

    def queue_name(self, queue_id: str, lang: str = "zh") -> str:
        return _name(self.hall.get("queues", {}), queue_id, lang)

    def window_name(self, window_id: str, lang: str = "zh") -> str:
        return _name(self.hall.get("windows", {}), window_id, lang)

    def zone_name(self, zone_id: str, lang: str = "zh") -> str:
        return _name(self.hall.get("zones", {}), zone_id, lang)

    def notice_for(self, zone: str | None = None) -> str:
        """The zone's notice, else the hall-wide one, else ""."""
        return (zone and self.notices.get(zone)) or self.notices.get("", "")

    def windows_in(self, zone: str) -> list[str]:
        layout = self.hall.get("windows", {})
        return [w for w in self.windows if layout.get(w, {}).get("zone") == zone]

    def queues_in(self, zone: str) -> list[str]:
        return [q for q, info in self.hall.get("queues", {}).items()
                if zone in info.get("zones", ())]


def _merge_map(target: dict[str, Any], update: dict[str, Any]) -> None:
    """Entries replace whole; a None entry means the thing is gone."""
    for key, value in update.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value


def _name(table: dict[str, Any], key: str, lang: str) -> str:
    entry = table.get(key) or {}
    if lang == "en":
        return entry.get("name_en") or entry.get("name") or key
    return entry.get("name") or key
