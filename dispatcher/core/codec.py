"""The core's state and events as bytes and back, exactly: what a snapshot keeps.

``encode_state``/``decode_state`` turn a whole ``HallState`` (and the console's floor
history folded up to it, core/floor.py) into zlib-compressed JSON and back to an
equal state (the same types too: enums, tuples in lines), so that a
start from a snapshot and a start from every event of the day agree. Every field of
``HallState`` needs an entry in ``_FIELDS``: a field added without one makes
``encode_state`` raise, so no snapshot is written rather than a wrong one.

``decode_events`` is ``event_from_dict`` over many rows, with each event class's
fields looked up once instead of once an event (a third of a start's decoding).

``CODE_DIGEST`` changes whenever the core's or the hall model's source does; a
snapshot written by other code is ignored (dispatcher/store/snapshots.py), as is one
of another hall (``hall_digest``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from sys import intern
from typing import Any

from .. import compact_json
from .. import hall as hall_module
from ..hall import Hall, Profile
from . import events as ev
from .floor import FloorHistory
from .state import (
    Alert,
    Appointment,
    Case,
    DeviceStatus,
    HallState,
    Ticket,
    TicketState,
    WindowState,
    WindowStatus,
)

_CHUNK = 100   # tickets encoded per json.dumps call: a writer thread lets the GIL go between


def _code_digest() -> str:
    sources = [*sorted(Path(__file__).parent.glob("*.py")), Path(hall_module.__file__)]
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:32]


CODE_DIGEST = _code_digest()


def hall_digest(hall: Hall) -> str:
    """The hall's configuration as the core sees it (its repr holds no sets)."""
    return hashlib.sha256(repr(hall).encode()).hexdigest()[:32]


# ------------------------------------------------------------------ events

def _event_fields(cls: type[ev.Event]) -> tuple[tuple[str, ...], dict[str, Any], bool]:
    """(field names, defaults, whether __init__ may be skipped: no default_factory and
    no __post_init__, so setting the fields is all it does)."""
    fields = dataclasses.fields(cls)
    plain = not hasattr(cls, "__post_init__") and all(
        f.default_factory is dataclasses.MISSING for f in fields)
    return (tuple(f.name for f in fields),
            {f.name: f.default for f in fields if f.default is not dataclasses.MISSING},
            plain)


_EVENT_FIELDS = {name: (cls, *_event_fields(cls)) for name, cls in ev.EVENTS.items()}


def decode_event(data: dict[str, Any]) -> ev.Event:
    """Exactly ``event_from_dict`` (lists become tuples, a field with a default may be
    absent), without the frozen dataclass's __init__ where it only sets the fields (it
    sets each through object.__setattr__: a third of a start's decoding)."""
    cls, names, defaults, plain = _EVENT_FIELDS[data["name"]]
    if not plain:
        return ev.event_from_dict(data)
    values = {}
    for name in names:   # in field order, as __init__ would set them
        if name in data:
            value = data[name]
            values[name] = tuple(value) if type(value) is list else value
        else:
            values[name] = defaults[name]   # KeyError, as event_from_dict: no default
    event = object.__new__(cls)
    event.__dict__.update(values)
    return event


def decode_events(rows: Iterable[tuple[int, str]]) -> list[tuple[int, ev.Event]]:
    loads = json.loads
    return [(seq, decode_event(loads(data))) for seq, data in rows]


# ------------------------------------------------------------------ state

def _records(cls: type) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """A dict of dataclass records as {key: [field values in order]}; ``_FIXES`` turns
    a field's JSON form back into its type."""
    names = [f.name for f in dataclasses.fields(cls)]
    fixes = [(names.index(n), convert) for n, convert in _FIXES.get(cls, {}).items()]

    def encode(records: dict[str, Any]) -> dict[str, list[Any]]:
        return {k: [_plain(getattr(r, n)) for n in names] for k, r in records.items()}

    def decode(data: dict[str, list[Any]]) -> dict[str, Any]:
        if len(names) != len(next(iter(data.values()), names)):
            raise ValueError(f"{cls.__name__}: the snapshot has other fields")
        for values in data.values():
            for i, convert in fixes:
                if values[i] is not None:
                    values[i] = convert(values[i])
        return {k: cls(*values) for k, values in data.items()}

    return encode, decode


def _plain(value: Any) -> Any:
    if isinstance(value, Profile):
        return [list(value.main), list(value.side), value.side_when_overdue]
    return value


def _profile(value: list[Any]) -> Profile:
    return Profile(tuple(value[0]), tuple(value[1]), value[2])


def _tuples(data: dict[str, list[list[Any]]]) -> dict[str, list[tuple[Any, ...]]]:
    return {k: [tuple(x) for x in items] for k, items in data.items()}


# A ticket's ids of queue, class and window are interned, as state.py does: from JSON
# each of 20,000 tickets would hold its own copies.
_FIXES: dict[type, dict[str, Callable[[Any], Any]]] = {
    Ticket: {"state": TicketState, "queue": intern, "ticket_class": intern,
             "window": intern, "served_by": intern},
    WindowStatus: {"state": WindowState, "profile": _profile},
}


def _same(value: Any) -> Any:
    return value


def _tuples_out(data: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[list[Any]]]:
    return {k: [list(x) for x in items] for k, items in data.items()}


# field -> (to JSON, from JSON); planned_profiles is the hall file's, never stored
_FIELDS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]] = {
    "day": (_same, _same),
    "day_closed": (_same, _same),
    "serial": (_same, _same),
    "sequences": (_same, _same),
    "tickets": _records(Ticket),
    "windows": _records(WindowStatus),
    "queue_lines": (_tuples_out, _tuples),
    "window_lines": (_tuples_out, _tuples),
    "appointments": _records(Appointment),
    "notices": (_same, _same),
    "devices": _records(DeviceStatus),
    "service_times": (_tuples_out, _tuples),
    "held": (_same, _same),
    "alerts": _records(Alert),
    "suggestions": (_same, _same),
    "suggestion_serial": (_same, _same),
    "balancing": (_same, _same),
    "moved": (_same, _same),
    "cases": _records(Case),
    "tokens": (_same, _same),
    "holders": (_same, _same),
}


class CodecError(Exception):
    """The state has a field this codec does not know: no snapshot of it."""


def encode_state(state: HallState, floor: FloorHistory | None = None) -> bytes:
    """The state (and the floor history folded up to it) as zlib-compressed JSON."""
    missing = {f.name for f in dataclasses.fields(HallState)} - set(_FIELDS) \
        - {"planned_profiles"}
    if missing:
        raise CodecError(f"HallState fields without a codec: {sorted(missing)}")
    parts = []
    for name, (to_json, _) in _FIELDS.items():
        value = to_json(getattr(state, name))
        if name == "tickets":
            parts.append(_dumps_chunked(name, value))
        else:
            parts.append(json.dumps(name) + ":" + _dumps(value))
    if floor is not None:
        parts.append('"_floor":' + _dumps(
            {"windows": _tuples_out(floor.windows), "queues": _tuples_out(floor.queues),
             "last_seq": floor.last_seq}))
    return zlib.compress(("{" + ",".join(parts) + "}").encode(), 1)


def _dumps(value: Any) -> str:
    return compact_json.dumps(value)


def _dumps_chunked(name: str, value: dict[str, Any]) -> str:
    items = list(value.items())
    chunks = [_dumps(dict(items[i:i + _CHUNK]))[1:-1] for i in range(0, len(items), _CHUNK)]
    return json.dumps(name) + ":{" + ",".join(c for c in chunks if c) + "}"


def decode_state(blob: bytes, hall: Hall) -> tuple[HallState, FloorHistory | None]:
    data = json.loads(zlib.decompress(blob))
    state = HallState.initial(hall)
    for name, (_, from_json) in _FIELDS.items():
        setattr(state, name, from_json(data[name]))
    floor = data.get("_floor")
    if floor is None:
        return state, None
    return state, FloorHistory(_tuples(floor["windows"]), _tuples(floor["queues"]),
                               floor["last_seq"])
