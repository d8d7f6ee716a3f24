"""The people who sign in: clerks at windows, dispatch staff at the console.

The hub, not a device, decides who a person is: a caller panel sends the clerk id
and the PIN typed at the window, and the hub checks it against this file. The file
keeps only a salt and an scrypt hash per person (a PIN is short, so a slow hash)::

    [clerks.clerk-017]
    name = "王芳"
    salt = "9f2c…"        # hex, per person
    pin_hash = "…"        # hex of hashlib.scrypt(pin, salt=salt, n=2**14, r=8, p=1, dklen=32)

    [staff.staff-001]     # 窗口调度岗: may sign in at a console
    name = "赵磊"
    salt = "…"
    pin_hash = "…"

``python -m dispatcher.hub.people PIN`` prints a salt and hash to paste.
Wrong PINs back off: after ``FREE_TRIES`` failures in a row for one person at one
device, each next try waits twice as long as the last (from 1 s up to 5 min).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..hall import HallConfigError
from ..protocol import ProtocolError

SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
FREE_TRIES = 3
MAX_LOCK_S = 300.0
Kind = Literal["clerks", "staff"]
KINDS: tuple[Kind, ...] = ("clerks", "staff")


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    kind: Kind
    salt: bytes = field(repr=False)
    pin_hash: bytes = field(repr=False)


def _scrypt(pin: str, salt: bytes) -> bytes:
    return hashlib.scrypt(pin.encode("utf-8"), salt=salt, **SCRYPT)


def hash_pin(pin: str, salt: bytes | None = None) -> tuple[str, str]:
    salt = salt if salt is not None else os.urandom(16)
    return salt.hex(), _scrypt(pin, salt).hex()


_DUMMY = Person("-", "-", "clerks", b"\0" * 16, b"\0" * 32)


def pin_matches(person: Person | None, pin: str) -> bool:
    """Constant-time; an unknown person costs the same scrypt as a known one."""
    target = person or _DUMMY
    ok = hmac.compare_digest(_scrypt(pin, target.salt), target.pin_hash)
    return ok and person is not None


@dataclass
class _Failures:
    count: int = 0
    locked_until: float = 0.0


class People:
    """The clerks and staff of a hall, and the wrong-PIN backoff per (device, person)."""

    def __init__(self, people: dict[str, Person], source: str = "") -> None:
        self.people, self.source = people, source
        self._failures: dict[tuple[str, str], _Failures] = {}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> People:
        return cls(load_people(path), str(path))

    def get(self, person_id: str, kind: Kind) -> Person | None:
        person = self.people.get(person_id)
        return person if person is not None and person.kind == kind else None

    def locked(self, device: str, person_id: str, now: float) -> ProtocolError | None:
        """The refusal to give before even hashing, while this pair is backing off."""
        f = self._failures.get((device, person_id))
        if f is None or now >= f.locked_until:
            return None
        wait = f.locked_until - now
        return ProtocolError("sign_in_locked", f"too many wrong PINs for {person_id}: "
                             f"try again in {wait:.0f} s", retry_after=round(wait, 1))

    def settle(self, device: str, person_id: str, kind: Kind, ok: bool, now: float
               ) -> Person:
        """After the PIN was checked (off the event loop): the person, or the refusal."""
        key = (device, person_id)
        if ok:
            self._failures.pop(key, None)
            person = self.get(person_id, kind)
            assert person is not None
            return person
        f = self._failures.setdefault(key, _Failures())
        f.count += 1
        if f.count >= FREE_TRIES:
            f.locked_until = now + min(MAX_LOCK_S, 2.0 ** (f.count - FREE_TRIES))
        while len(self._failures) > 10_000:   # bounded: forget the oldest
            self._failures.pop(next(iter(self._failures)))
        what = "clerk id" if kind == "clerks" else "staff id"
        raise ProtocolError("wrong_pin", f"wrong {what} or PIN")


def load_people(path: str | os.PathLike[str]) -> dict[str, Person]:
    """Read the file; HallConfigError names the file, the key and the problem."""
    name = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise HallConfigError(name, "-", f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise HallConfigError(name, "-", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise HallConfigError(name, "-", f"not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(KINDS))
    if unknown:
        raise HallConfigError(name, unknown[0], "unknown table: expected [clerks.<id>] "
                              "or [staff.<id>]")
    if not any(isinstance(data.get(k), dict) and data[k] for k in KINDS):
        raise HallConfigError(name, "clerks", "missing: add [clerks.<id>] tables")
    out: dict[str, Person] = {}
    for kind in KINDS:
        for pid, entry in (data.get(kind) or {}).items():
            if pid in out:
                raise HallConfigError(name, f"{kind}.{pid}", "listed as a clerk and as staff")
            out[pid] = _person(name, kind, pid, entry)
    return out


def _person(source: str, kind: Kind, pid: str, entry: object) -> Person:
    key = f"{kind}.{pid}"
    if not isinstance(entry, dict):
        raise HallConfigError(source, key, "must be a table with name, salt, pin_hash")
    for f in ("name", "salt", "pin_hash"):
        if not isinstance(entry.get(f), str) or not entry[f].strip():
            raise HallConfigError(source, f"{key}.{f}", "missing or not a text")
    extra = sorted(set(entry) - {"name", "salt", "pin_hash"})
    if extra:
        raise HallConfigError(source, f"{key}.{extra[0]}", "unknown key")
    try:
        salt, pin_hash = bytes.fromhex(entry["salt"]), bytes.fromhex(entry["pin_hash"])
    except ValueError:
        raise HallConfigError(source, key, "salt and pin_hash must be hex") from None
    if len(pin_hash) != SCRYPT["dklen"]:
        raise HallConfigError(source, f"{key}.pin_hash",
                              f"must be {SCRYPT['dklen']} bytes (64 hex digits)")
    return Person(pid, entry["name"].strip(), kind, salt, pin_hash)


if __name__ == "__main__":  # pragma: no cover
    if len(sys.argv) != 2 or not sys.argv[1]:
        sys.exit("usage: python -m dispatcher.hub.people PIN")
    s, h = hash_pin(sys.argv[1])
    print(f'salt = "{s}"\npin_hash = "{h}"')
