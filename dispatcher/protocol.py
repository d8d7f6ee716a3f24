"""The hub's wire protocol: JSON text frames over one websocket per device.

Sans-I/O, like the core: this module parses what a client sends and builds what
the server sends, and knows nothing of sockets. The server, the client library
and the tests share it. docs/protocol.md documents every message;
``client_message_schema()`` is the machine-readable JSON Schema of what a
client may send, and the same pydantic models validate every frame.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from . import compact_json

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024       # larger frames get frame_too_large and are dropped
HARD_FRAME_LIMIT = 1024 * 1024    # larger still: the websocket closes with 1009
ROLES = ("kiosk", "caller", "evaluator", "display", "led", "console")
QUERIES = ("snapshot", "queue_status", "ticket_status", "window_status", "floor")

# Errors of the protocol layer (the core's own codes are in core/errors.py).
PROTOCOL_ERRORS: dict[str, str] = {
    "bad_json": "the frame is not a JSON object",
    "bad_message": "a field of the message is missing or has the wrong type",
    "unknown_type": "the message type is not hello, command or query",
    "unknown_command": "no such command",
    "unknown_query": "no such query",
    "frame_too_large": f"frames are limited to {MAX_FRAME_BYTES} bytes",
    "binary_frame": "only text frames carry JSON",
    "rate_limited": "over the connection's rate limit (in tokens by cost): slow down",

    "hello_first": "the first message must be a hello",
    "already_hello": "hello was already said on this connection",
    "bad_credentials": "device, role or token not accepted",

    "forbidden": "this device may not do that",
    "id_conflict": "this command id was already used for another command",
    "wrong_pin": "the person's id or PIN is wrong",
    "sign_in_locked": "too many wrong PINs: wait retry_after seconds",
    "not_signed_in": "nobody is signed in here to act",
    "store_failed": "the hall could not save it; nothing was done, try again",
    "lagging": "the connection fell too far behind; reconnect with last_seq",
    "shutting_down": "the hub is stopping; reconnect",
}
CLOSE_POLICY = 1008     # websocket close code after a refused hello or a flood
CLOSE_LAGGING = 4000    # reconnect with last_seq


class ProtocolError(Exception):
    """A frame the hub refuses, with a stable code from PROTOCOL_ERRORS."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        assert code in PROTOCOL_ERRORS, code
        super().__init__(message)
        self.code, self.message, self.details = code, message, details

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.details}


# ----------------------------------------------------------- client → server


class _Message(BaseModel):
    # Unknown fields are ignored: a newer device may send more than we know.
    model_config = ConfigDict(strict=True, frozen=True)


_Id = Annotated[str, Field(min_length=1, max_length=64)]
_Name = Annotated[str, Field(min_length=1, max_length=64)]


class Hello(_Message):
    type: Literal["hello"]
    role: Literal["kiosk", "caller", "evaluator", "display", "led", "console"]
    device: Annotated[str, Field(min_length=1, max_length=64)]
    token: Annotated[str, Field(min_length=1, max_length=256)]
    last_seq: Annotated[int, Field(ge=0)] | None = None
    protocol: int = PROTOCOL_VERSION
    # a console's staff sign-in to resume: the token from the staff_sign_in reply
    session: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    # the device reads "events" frames: the events of one commit in one frame
    batch: bool = False


class CommandMessage(_Message):
    type: Literal["command"]
    id: _Id             # unique per device: a repeat returns the first reply, acts once
    name: _Name
    args: dict[str, Any] = {}


class QueryMessage(_Message):
    type: Literal["query"]
    id: _Id
    name: _Name
    args: dict[str, Any] = {}


ClientMessage = Annotated[Hello | CommandMessage | QueryMessage, Field(discriminator="type")]
_CLIENT = TypeAdapter(ClientMessage)


def client_message_schema() -> dict[str, Any]:
    """The JSON Schema of every message a client may send."""
    return _CLIENT.json_schema()


def parse_client_message(frame: str | bytes) -> Hello | CommandMessage | QueryMessage:
    """Parse one frame from a client, or raise ProtocolError saying what is wrong."""
    if isinstance(frame, bytes):
        raise ProtocolError("binary_frame", "send JSON in text frames, not binary frames")
    if len(frame) > MAX_FRAME_BYTES // 4 and len(frame.encode()) > MAX_FRAME_BYTES:
        raise ProtocolError("frame_too_large", f"the frame has {len(frame.encode())} bytes; "
                            f"the limit is {MAX_FRAME_BYTES}")
    try:
        raw = json.loads(frame, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", f"the frame is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError("bad_json", "a message is a JSON object, not "
                            f"{type(raw).__name__}")
    if _has_lone_surrogate(frame, raw):
        raise ProtocolError("bad_json", "the frame escapes a lone UTF-16 surrogate "
                            "(like \\ud800), which is no character")
    kind = raw.get("type")
    if kind not in ("hello", "command", "query"):
        raise ProtocolError("unknown_type", f"unknown message type {_show(kind)}; expected "
                            "hello, command or query", field="type")
    try:
        return _CLIENT.validate_python(raw)
    except ValidationError as exc:
        raise _bad_message(kind, exc) from None


def _no_constant(name: str) -> Any:
    """NaN, Infinity and -Infinity are not JSON (RFC 8259), only Python's extension."""
    raise ValueError(f"{name} is not a JSON number")


def _has_lone_surrogate(frame: str, raw: dict[str, Any]) -> bool:
    """JSON may spell a lone surrogate as an escape; it decodes to a str that cannot be
    encoded, stored or echoed back. Only frames with a \\u escape need the full check."""
    if "\\u" not in frame:
        return False
    try:
        json.dumps(raw, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True
    return False


def _bad_message(kind: str, exc: ValidationError) -> ProtocolError:
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"] if p != kind]
    field = ".".join(loc) or "message"
    return ProtocolError("bad_message", f"{kind}: {field}: {err['msg']}", field=field)


def _show(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def message_id(frame: str | bytes) -> str | None:
    """The id of a command or query frame that failed to parse, so the error reply can
    name it; None when there is none to find."""
    try:
        raw = json.loads(frame)
    except (ValueError, RecursionError, TypeError):
        return None
    value = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return None
    return None if any("\ud800" <= ch <= "\udfff" for ch in value) else value


# ----------------------------------------------------------- server → client


_ESCAPED = json.JSONEncoder(separators=(",", ":"))


def encode(message: dict[str, Any]) -> str:
    text = compact_json.dumps(message)
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate got this far: send it escaped
        text = _ESCAPED.encode(message)
    return text


def welcome(seq: int, role: str, device: str, resync: str,
            snapshot: dict[str, Any] | None, server_time: float,
            staff: dict[str, str] | None = None, clock_speed: float = 1.0) -> str:
    """``resync`` is "events" (the missed events follow, in order) or "snapshot";
    ``staff`` the person signed in at a console whose session resumed; ``clock_speed``
    how many hall seconds the hub's clock runs a real second (a training hub: more)."""
    message = {"type": "welcome", "protocol": PROTOCOL_VERSION, "seq": seq, "role": role,
               "device": device, "resync": resync, "server_time": server_time,
               "clock_speed": clock_speed, "snapshot": snapshot}
    if role == "console":
        message["staff"] = staff
    return encode(message)


def reply_ok(message_id: str, result: dict[str, Any]) -> str:
    return encode({"type": "reply", "id": message_id, "ok": True, "result": result})


def reply_error(message_id: str, error: dict[str, Any]) -> str:
    return encode({"type": "reply", "id": message_id, "ok": False, "error": error})


def error_frame(error: dict[str, Any]) -> str:
    """An error that answers no command (a frame that could not be parsed, a refused
    hello)."""
    return encode({"type": "error", "error": error})


def event_frame(seq: int, name: str, data: dict[str, Any], changes: dict[str, Any]) -> str:
    return encode({"type": "event", "seq": seq, "name": name, "data": data,
                   "changes": changes})


EVENTS_FRAME_LIMIT = 256 * 1024   # characters of event frames joined into one "events"


def events_frames(frames: list[str]) -> list[str]:
    """Encoded event frames joined into "events" frames, in order, each kept well
    under the client's frame limit (one event is never split)."""
    out: list[str] = []
    chunk: list[str] = []
    size = 0
    for frame in frames:
        if chunk and size + len(frame) > EVENTS_FRAME_LIMIT:
            out.append(_events(chunk))
            chunk, size = [], 0
        chunk.append(frame)
        size += len(frame) + 1
    if chunk:
        out.append(_events(chunk))
    return out


def _events(frames: list[str]) -> str:
    return '{"type":"events","events":[' + ",".join(frames) + "]}"


def presence_frame(device: str, presence: dict[str, Any]) -> str:
    """To the consoles: a device connected or went (no seq: not an event)."""
    return encode({"type": "presence", "device": device, "presence": presence})
