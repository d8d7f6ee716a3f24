"""What the serial-bus device drivers (LED strips, caller keypads) share about their
framing profiles: TOML files found by name or path, hex bytes written as "A0 90",
and unknown keys refused, each error naming the profile and the key."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any


def hex_bytes(value: Any, key: str, what: str, error: type[Exception],
              example: str) -> bytes:
    """``"FF 68"`` (or bytes, or one int 0–255) as bytes; ``what`` names the profile
    kind in the error ("keypad profile")."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, int) and 0 <= value <= 255:
        return bytes([value])
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        raise error(f"{what} {key} = {value!r}: expected hex bytes like \"{example}\"") \
            from None


def one_byte(value: Any, key: str, what: str, error: type[Exception], example: str) -> int:
    data = hex_bytes(value, key, what, error, example)
    if len(data) != 1:
        raise error(f"{what} {key} = {value!r}: expected one hex byte")
    return data[0]


def reject_unknown(cls: type, data: dict[str, Any], name: str, what: str,
                   error: type[Exception]) -> None:
    """Refuse keys the profile dataclass ``cls`` does not have."""
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise error(f"{what} {name or data.get('name', '?')}: unknown keys {unknown}; "
                    f"known: {sorted(known)}")


def read_profile(name_or_path: str | Path, folder: Path, what: str,
                 error: type[Exception]) -> tuple[dict[str, Any], str]:
    """A profile's TOML by name (``folder``/NAME.toml) or by path, and its name."""
    path = Path(name_or_path)
    if not path.suffix:
        path = folder / f"{name_or_path}.toml"
    if not path.is_file():
        names = sorted(p.stem for p in folder.glob("*.toml"))
        raise error(f"no {what} {name_or_path!r}; known: {names} or a TOML path")
    with path.open("rb") as fh:
        return tomllib.load(fh), path.stem
