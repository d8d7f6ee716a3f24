"""The wire protocol without a socket: parsing what clients send, and the schema."""

from __future__ import annotations

import json

import pytest

from dispatcher import protocol as p
from dispatcher.core.commands import COMMANDS, command_from_dict
from dispatcher.core.errors import DispatchError
from dispatcher.hub.schema import protocol_schema

HELLO = {"type": "hello", "role": "display", "device": "D-B", "token": "t"}


def error_of(frame: str | bytes) -> p.ProtocolError:
    with pytest.raises(p.ProtocolError) as info:
        p.parse_client_message(frame)
    return info.value


def test_a_hello_parses_with_and_without_last_seq() -> None:
    assert p.parse_client_message(json.dumps(HELLO)).last_seq is None
    hello = p.parse_client_message(json.dumps({**HELLO, "last_seq": 41, "future": 1}))
    assert isinstance(hello, p.Hello) and hello.last_seq == 41


@pytest.mark.parametrize(("frame", "code", "field"), [
    ("{", "bad_json", None),
    ("[1, 2]", "bad_json", None),
    (b'{"type": "hello"}', "binary_frame", None),
    ('{"type": "bye"}', "unknown_type", "type"),
    ('{"id": "1"}', "unknown_type", "type"),
    (json.dumps({**HELLO, "role": "admin"}), "bad_message", "role"),
    (json.dumps({**HELLO, "last_seq": -1}), "bad_message", "last_seq"),
    (json.dumps({**HELLO, "last_seq": "7"}), "bad_message", "last_seq"),
    ('{"type": "command", "name": "call_next"}', "bad_message", "id"),
    ('{"type": "command", "id": 7, "name": "call_next"}', "bad_message", "id"),
    ('{"type": "command", "id": "1", "name": "x", "args": []}', "bad_message", "args"),
    (json.dumps({"type": "query", "id": "x" * 65, "name": "snapshot"}), "bad_message", "id"),
])
def test_bad_frames_get_a_typed_error_naming_the_field(frame, code, field) -> None:
    err = error_of(frame)
    assert err.code == code, err.message
    assert err.details.get("field") == field
    assert err.code in p.PROTOCOL_ERRORS


def test_an_oversized_frame_is_refused_before_parsing() -> None:
    frame = json.dumps({"type": "command", "id": "1", "name": "x", "args": {"a": "字" * 30000}})
    err = error_of(frame)
    assert err.code == "frame_too_large" and str(p.MAX_FRAME_BYTES) in err.message


def test_the_id_of_an_unparsable_command_is_recovered_for_the_reply() -> None:
    assert p.message_id('{"type": "command", "id": "abc", "name": 5}') == "abc"
    assert p.message_id('{"type": "command", "id": 5}') is None
    assert p.message_id("not json") is None


SAMPLES = {"string": "x", "number": 1.5, "integer": 1, "boolean": False, "array": []}


def sample(prop: dict) -> object:
    kind = prop["type"]
    return SAMPLES[kind if isinstance(kind, str) else kind[0]]


def test_every_command_has_an_argument_schema_matching_its_parser() -> None:
    schemas = protocol_schema()["commands"]
    assert set(schemas) == set(COMMANDS)
    for name, schema in schemas.items():
        props = schema["properties"]
        command_from_dict(name, {f: sample(props[f]) for f in schema["required"]})
        for field in schema["required"]:  # leaving out any required argument is refused
            args = {f: sample(props[f]) for f in schema["required"] if f != field}
            with pytest.raises(DispatchError) as info:
                command_from_dict(name, args)
            assert info.value.details["field"] == field
        with pytest.raises(DispatchError):
            command_from_dict(name, {"no_such_argument": 1})


def test_the_hubs_own_commands_are_in_the_schema_and_a_sign_in_takes_a_pin() -> None:
    from dispatcher.hub.signin import STAFF_COMMANDS

    schema = protocol_schema()
    assert set(schema["hub_commands"]) == set(STAFF_COMMANDS)
    assert schema["hub_commands"]["staff_sign_in"]["required"] == ["staff", "pin"]
    assert "pin" in schema["commands"]["sign_in"]["properties"]
    assert "pin" not in schema["commands"]["sign_in"]["required"]


def test_the_envelope_schema_names_the_three_message_types() -> None:
    schema = protocol_schema()["messages"]
    assert {"Hello", "CommandMessage", "QueryMessage"} <= set(schema["$defs"])


def test_the_rate_limit_option_reads_rate_and_burst_and_refuses_nonsense() -> None:
    from dispatcher.cli import build_parser

    def limit(text: str) -> object:
        return build_parser().parse_args(["serve", "--rate-limit", text]).rate_limit

    assert limit("20:60") == (20.0, 60.0)
    assert limit("5") == (5.0, 15.0)           # the burst defaults to three seconds' worth
    assert limit("0") is None                  # off, for benchmarks
    for bad in ("fast", "-1", "10:0"):
        with pytest.raises(SystemExit):
            limit(bad)
