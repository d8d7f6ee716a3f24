"""The machine-readable schema of the protocol: the envelope (from the pydantic models
that validate every frame) and each command's arguments (from the core's command
dataclasses, which parse them), so the schema cannot drift from the code."""

from __future__ import annotations

import dataclasses
from typing import Any, get_type_hints

from ..core.commands import COMMANDS
from ..protocol import client_message_schema
from .signin import MAX_PIN

_JSON_TYPES: dict[Any, dict[str, Any]] = {
    str: {"type": "string", "minLength": 1},
    str | None: {"type": ["string", "null"], "minLength": 1},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    tuple[str, ...]: {"type": "array", "items": {"type": "string"}},
    dict[str, Any]: {"type": "object"},
    tuple[dict[str, Any], ...]: {"type": "array", "items": {"type": "object"}},
}
_HUBS = ("by", "status_token", "person")   # the hub fills these in (the person signed
# in, a ticket's status page token, an ID card's pseudonym); a device may not send them
_ID_CARD = {"type": "string", "pattern": "^[0-9]{17}[0-9X]$",
            "description": "a resident ID card's number; the hub keeps only its keyed hash"}


def command_args_schema(name: str) -> dict[str, Any]:
    cls = COMMANDS[name]
    hints = get_type_hints(cls)
    properties, required = {}, []
    for f in dataclasses.fields(cls):
        if f.name in _HUBS:
            continue
        properties[f.name] = dict(_JSON_TYPES[hints[f.name]])
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            required.append(f.name)
        elif f.default is not dataclasses.MISSING:
            properties[f.name]["default"] = (list(f.default) if isinstance(f.default, tuple)
                                             else f.default)
    return {"type": "object", "properties": properties, "required": required,
            "additionalProperties": False}


_PIN = {"type": "string", "minLength": 1, "maxLength": MAX_PIN,
        "description": "the person's PIN, checked by the hub and never stored"}
HUB_COMMANDS: dict[str, dict[str, Any]] = {
    "staff_sign_in": {"type": "object", "properties": {
        "staff": {"type": "string", "minLength": 1, "maxLength": 64}, "pin": _PIN},
        "required": ["staff", "pin"], "additionalProperties": False},
    "staff_sign_out": {"type": "object", "properties": {}, "required": [],
                       "additionalProperties": False},
}


def protocol_schema() -> dict[str, Any]:
    commands = {name: command_args_schema(name) for name in sorted(COMMANDS)}
    commands["sign_in"]["properties"]["pin"] = {
        **_PIN, "description": "required to sign a clerk in; left out to sign out"}
    for name in ("issue_ticket", "check_in", "book_appointment"):
        commands[name]["properties"]["id_card"] = dict(_ID_CARD)
    return {"messages": client_message_schema(), "commands": commands,
            "hub_commands": HUB_COMMANDS}

