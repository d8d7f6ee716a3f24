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
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..hall import ASSETS, Hall, HallConfigError, read_model
from .ranges import expand_range, windows_per_device

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


class _DeviceRange(BaseModel):
    """``[[devices]]``: many devices in one entry (dispatcher/hub/provision.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    ids: str
    role: Role
    token_hashes: list[Annotated[str, Field(pattern=TOKEN_HASH)]] = Field(min_length=1)
    expires: Any = None
    zone: str | None = None
    windows: str | list[str] | None = None   # a range: one each; a list: all share it
    name: str = ""                           # may say {id}

    def entries(self) -> list[_DeviceFile]:
        ids = expand_range(self.ids)
        if len(ids) != len(self.token_hashes):
            raise ValueError(f"{len(ids)} devices in {self.ids!r} but "
                             f"{len(self.token_hashes)} token_hashes: one each, in order")
        windows = windows_per_device(ids, self.windows)
        return [_DeviceFile(id=i, role=self.role, token_hash=h, expires=self.expires,
                            zone=self.zone, windows=w, name=self.name.replace("{id}", i))
                for i, h, w in zip(ids, self.token_hashes, windows, strict=True)]


class _DevicesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    device: list[_DeviceFile] = []
    devices: list[_DeviceRange] = []


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
    parsed = read_model(path, _DevicesFile, "devices file")
    return _build(_entries(parsed, source), hall, source)


def _entries(parsed: _DevicesFile, source: str) -> list[tuple[str, _DeviceFile]]:
    """(where in the file, entry): single entries, then each range's devices; at least
    one device in all."""
    entries = [(f"device[{i}]", d) for i, d in enumerate(parsed.device)]
    for i, batch in enumerate(parsed.devices):
        try:
            entries += [(f"devices[{i}]({d.id})", d) for d in batch.entries()]
        except (ValueError, ValidationError) as exc:
            raise HallConfigError(source, f"devices[{i}]", _first_error(exc)) from None
    if not entries:
        raise HallConfigError(source, "device", "no devices: add [[device]] entries "
                              "(or [[devices]] ranges) made with `onewindow token`")
    return entries


def _first_error(exc: ValueError | ValidationError) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors(include_url=False)[0]
        return f"{'.'.join(map(str, err['loc']))}: {err['msg']}"
    return str(exc)


def _build(entries: list[tuple[str, _DeviceFile]], hall: Hall, source: str
           ) -> dict[str, Device]:
    devices: dict[str, Device] = {}
    for key, d in entries:
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
