"""Queries: questions a device asks that change nothing (not logged, not deduped)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core import estimate
from ..core.errors import DispatchError
from ..core.floor import floor
from ..protocol import QUERIES, ProtocolError
from .devices import Device
from .privacy import window_for
from .views import snapshot, window_view

if TYPE_CHECKING:
    from .server import Hub


def _arg(name: str, args: dict[str, Any], key: str, required: bool) -> str | None:
    value = args.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise DispatchError("bad_argument", f"{name}: {key} must be a non-empty string",
                            field=key)
    return value


def _check_args(name: str, args: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(args) - allowed)
    if unknown:
        raise DispatchError("bad_argument", f"{name}: unknown argument {unknown[0]!r}",
                            field=unknown[0])


def run_query(hub: Hub, device: Device | None, name: str, args: dict[str, Any]
              ) -> dict[str, Any]:
    if name not in QUERIES:
        raise ProtocolError("unknown_query", f"no query {name!r}; queries are "
                            f"{', '.join(QUERIES)}", field="name")
    state, now = hub.service.core.state, hub.clock()
    if name == "snapshot":
        _check_args(name, args, set())
        assert device is not None
        return {"seq": hub.seq, "snapshot": snapshot(hub.hall, state, hub.recent, device,
                                                     hub.presence_for(device))}
    if name == "ticket_status":
        _check_args(name, args, {"ticket"})
        ticket = _arg(name, args, "ticket", True)
        return estimate.ticket_status(hub.hall, state, ticket or "", now)
    if name == "queue_status":
        _check_args(name, args, {"zone"})
        zone = _arg(name, args, "zone", False) or (device.zone if device else None)
        if zone is not None and zone not in hub.hall.zones:
            raise DispatchError("bad_argument", f"no zone {zone!r}", field="zone")
        status = estimate.queue_status(hub.hall, state, now, zone=zone)
        return {"zone": zone, "queues": {q: s for q, s in status.items()
                                         if zone is None or zone in hub.hall.queues[q].zones}}
    if name == "floor":
        _check_args(name, args, set())
        if device is None or device.role != "console":
            raise ProtocolError("forbidden", "the floor is the dispatch console's")
        return floor(hub.hall, state, now, hub.floor)
    _check_args(name, args, {"window"})
    window = _arg(name, args, "window", False)
    if window is not None and window not in state.windows:
        raise DispatchError("unknown_window", f"no window {window} in this hall", window=window)
    wanted = [window] if window else list(state.windows)
    return {"windows": {w: window_for(device, w, window_view(state, w)) for w in wanted}}
