"""The devices allowed to talk to the hub, from a TOML file of token hashes.

A token is a long random string given to one device; the file keeps only its
SHA-256 (a token is high-entropy, so a fast hash is enough, unlike a PIN).
``onewindow token --device ID`` makes a token and prints the line to paste.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..hall import ASSETS, Hall, HallConfigError

SAMPLE_DEVICES = ASSETS / "halls" / "sample-devices.toml"
Role = Literal["kiosk", "caller", "evaluator", "display", "led", "console"]


_WINDOWED = ("caller", "evaluator")


class _DeviceFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    id: Annotated[str, Field(min_length=1, max_length=64)]
    role: Role
    token_sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
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
    token_sha256: str
    zone: str | None = None
    windows: tuple[str, ...] = ()
    name: str = ""

    def token_matches(self, token: str) -> bool:
        return hmac.compare_digest(hash_token(token), self.token_sha256)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


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
        devices[d.id] = Device(d.id, d.role, d.token_sha256, d.zone, tuple(d.windows), d.name)
    return devices
