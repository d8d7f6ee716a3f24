"""Clerk sign-in: a TOML file of clerk ids, names and scrypt PIN hashes.

File format (assets/halls/sample-clerks.toml)::

    [clerks.clerk-017]
    name = "王芳"
    salt = "9f2c…"        # hex, per clerk
    pin_hash = "…"        # hex of hashlib.scrypt(pin, salt=salt, n=2**14, r=8, p=1, dklen=32)

``load_clerks(path)`` raises ClerkFileError whose ``str()`` is one line
(``file: key: reason``). ``verify(clerk, pin)`` compares in constant time.
``hash_pin(pin)`` makes a new salt and hash (``python -m caller.clerks PIN``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class ClerkFileError(Exception):
    def __init__(self, file: str, key: str, reason: str) -> None:
        super().__init__(" ".join(f"{file}: {key}: {reason}".split()))


@dataclass(frozen=True)
class Clerk:
    id: str
    name: str
    salt: bytes
    pin_hash: bytes


def _scrypt(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, **SCRYPT)


def hash_pin(pin: str, salt: bytes | None = None) -> tuple[str, str]:
    salt = salt if salt is not None else os.urandom(16)
    return salt.hex(), _scrypt(pin, salt).hex()


def verify(clerk: Clerk, pin: str) -> bool:
    return hmac.compare_digest(_scrypt(pin, clerk.salt), clerk.pin_hash)


def load_clerks(path: str | os.PathLike[str]) -> dict[str, Clerk]:
    name = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ClerkFileError(name, "-", f"cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ClerkFileError(name, "-", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ClerkFileError(name, "-", f"not valid TOML ({exc})") from None
    table = data.get("clerks")
    if not isinstance(table, dict) or not table:
        raise ClerkFileError(name, "clerks", "missing: add [clerks.<id>] tables")
    out: dict[str, Clerk] = {}
    for cid, entry in table.items():
        key = f"clerks.{cid}"
        if not isinstance(entry, dict):
            raise ClerkFileError(name, key, "must be a table with name, salt, pin_hash")
        for f in ("name", "salt", "pin_hash"):
            if not isinstance(entry.get(f), str) or not entry[f].strip():
                raise ClerkFileError(name, f"{key}.{f}", "missing or not a text")
        try:
            salt, pin_hash = bytes.fromhex(entry["salt"]), bytes.fromhex(entry["pin_hash"])
        except ValueError:
            raise ClerkFileError(name, key, "salt and pin_hash must be hex") from None
        if len(pin_hash) != SCRYPT["dklen"]:
            raise ClerkFileError(name, f"{key}.pin_hash",
                                 f"must be {SCRYPT['dklen']} bytes (64 hex digits)")
        out[cid] = Clerk(id=cid, name=entry["name"].strip(), salt=salt, pin_hash=pin_hash)
    return out


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) != 2:
        sys.exit("usage: python -m caller.clerks PIN")
    s, h = hash_pin(sys.argv[1])
    print(f'salt = "{s}"\npin_hash = "{h}"')
