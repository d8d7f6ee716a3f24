"""The devices allowed to talk to the hub, from a TOML file of token hashes.

A token is a long random string given to one device; the file keeps only a salted
hash of it, self-describing: ``token_hash = "sha256$<salt hex>$<hex of
sha256(salt + token)>"`` (a token is high-entropy, so a fast hash is enough, unlike
a PIN). ``onewindow token --device ID`` makes a token and prints the line to paste.
An entry may say ``expires = 2027-06-30`` (a TOML date: from 00:00 that day, hall
time) or a date-time (local ones in the hall's timezone): from then on its hello
is refused like a wrong token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..hall import ASSETS, Hall, HallConfigError

SAMPLE_DEVICES = ASSETS / "halls" / "sample-devices.toml"
Role = Literal["kiosk", "caller", "evaluator", "display", "led", "console"]


_WINDOWED = ("caller", "evaluator")
DEVICE_ID = re.compile(r"^[A-Za-z0-9_./-]{1,64}$")
TOKEN_HASH = r"^sha256\$(?:[0-9a-f]{2}){8,64}\$[0-9a-f]{64}$"


class _DeviceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    id: Annotated[str, Field(pattern=DEVICE_ID.pattern)]
    role: Role
    token_hash: Annotated[str, Field(pattern=TOKEN_HASH)]
    expires: Any = None              # a TOML date or date-time, checked in _build
    zone: str | None = None          # a kiosk's zone; a display may show one zone
    windows: list[str] = []          # a caller's or an evaluator's window(s)
    name: str = ""


class _DevicesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    device: list[_DeviceFile] = Field(min_length=1)


@dataclass(frozen=True)
class Device:
    id: str
    role: str
    token_hash: str = field(repr=False)
    zone: str | None = None
    windows: tuple[str, ...] = ()
    name: str = ""
    expires_at: float | None = None  # epoch seconds; None: never

    def token_matches(self, token: str) -> bool:
        _, salt, _ = self.token_hash.split("$")
        return hmac.compare_digest(hash_token(token, bytes.fromhex(salt)), self.token_hash)

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def hash_token(token: str, salt: bytes | None = None) -> str:
    """``sha256$<salt hex>$<hex of sha256(salt + token)>``, a fresh salt by default."""
    salt = secrets.token_bytes(16) if salt is None else salt
    return f"sha256${salt.hex()}${hashlib.sha256(salt + token.encode()).hexdigest()}"


def device_id_problem(text: str) -> str | None:
    """Why ``text`` cannot be a device id, or None when it can."""
    if not text.strip():
        return "the device id is empty"
    if len(text) > 64:
        return f"the device id is {len(text)} characters long: at most 64"
    if not DEVICE_ID.fullmatch(text):
        return (f"the device id {text!r} may hold only letters, digits and - _ / . "
                "(no spaces)")
    return None


def new_token() -> str:
    return secrets.token_urlsafe(24)


def load_devices(path: str | Path, hall: Hall) -> dict[str, Device]:
    """Read and check a devices file against the hall; HallConfigError names the
    file, the key and the problem."""
    source = str(path)
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        parsed = _DevicesFile.model_validate(raw)
    except OSError as exc:
        raise HallConfigError(source, "-", f"cannot read the file: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise HallConfigError(source, "-", f"not valid TOML: {exc}") from None
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        key = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"])
        raise HallConfigError(source, key.replace(".[", "["), err["msg"]) from None
    return _build(parsed, hall, source)


def _build(parsed: _DevicesFile, hall: Hall, source: str) -> dict[str, Device]:
    devices: dict[str, Device] = {}
    for i, d in enumerate(parsed.device):
        key = f"device[{i}]"
        if d.id in devices:
            raise HallConfigError(source, f"{key}.id", f"device {d.id} is listed twice")
        if d.role == "kiosk" and d.zone is None:
            raise HallConfigError(source, f"{key}.zone", "a kiosk needs the zone it serves")
        if d.zone is not None and d.zone not in hall.zones:
            raise HallConfigError(source, f"{key}.zone", f"no zone {d.zone!r} in the hall")
        if d.role in _WINDOWED and not d.windows:
            raise HallConfigError(source, f"{key}.windows", f"a {d.role} needs its window(s)")
        if d.windows and d.role not in _WINDOWED:
            raise HallConfigError(source, f"{key}.windows",
                                  "only a caller or an evaluator has windows")
        for w in d.windows:
            if w not in hall.windows:
                raise HallConfigError(source, f"{key}.windows", f"no window {w!r} in the hall")
        expires_at = _expires_at(d.expires, hall, source, f"{key}.expires")
        devices[d.id] = Device(d.id, d.role, d.token_hash, d.zone, tuple(d.windows), d.name,
                               expires_at)
    return devices


def _expires_at(value: object, hall: Hall, source: str, key: str) -> float | None:
    """A TOML date (from 00:00 that day) or date-time; local ones in the hall's zone."""
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time())
    else:
        raise HallConfigError(source, key, "expected a TOML date like 2027-06-30 or a "
                              f"date-time like 2027-06-30T18:00:00, got {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(hall.timezone))
    return moment.timestamp()
