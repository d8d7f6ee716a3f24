"""Who a person is, by their ID card: the hub's word, never a device's.

A kiosk that read a second-generation ID card sends the card's number in the
``id_card`` argument of ``issue_ticket`` or ``check_in`` (a console may book an
appointment with one). Before anything else looks at the command (the digest that
tells a retry from a reused id, the core, the store, the log) the hub replaces it by
``person``: HMAC-SHA256 of the number under the hall's own secret. So the store and
the event log hold a pseudonym that finds the person's appointment and counts their
waiting tickets, and nothing from which the number can be had back without the
secret (an ID number has too few possibilities for a plain hash: about 10^10).

The secret is the hall's: ``--id-secret FILE``, else ``$ONEWINDOW_ID_SECRET``, else
the file ``id-secret`` in the hub's ``--data`` folder, made (32 random bytes, mode
600) on the first start. There is no default secret. Losing it only means that
today's bookings made by ID card cannot be found by card; changing it mid-day does.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import stat
from datetime import date
from pathlib import Path
from typing import Any

from ..core.errors import DispatchError

SECRET_FILE = "id-secret"
ENV = "ONEWINDOW_ID_SECRET"
MIN_SECRET = 32                  # bytes: as strong as the HMAC-SHA256 it keys
#: the commands that may carry an ID number, and take the person instead
ID_COMMANDS = ("issue_ticket", "check_in", "book_appointment")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)   # 2^(17-i) mod 11
CHECK_CHARS = "10X98765432"    # ISO 7064 MOD 11-2: the check character by sum mod 11
NUMBER = re.compile(r"^\d{17}[\dX]$")


class IdentityError(ValueError):
    """The secret cannot be had; one line for the operator."""


def check_char(first17: str) -> str:
    """The 18th character of an ID number (GB 11643) from its first 17 digits."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def number_problem(number: str) -> str | None:
    """Why ``number`` is not a resident ID number (None: it is one). Never echoes it.
    The kiosk checks the card it read with this, and the hub again: it trusts no device."""
    if not NUMBER.match(number):
        return "an ID number is 17 digits and a digit or X"
    if check_char(number[:17]) != number[17]:
        return "the ID number's check digit is wrong"
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "the ID number's birth date is not a date"
    return None


class Identity:
    """Turns an ID number into the hall's pseudonym for that person."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET:
            raise IdentityError(f"the ID secret is {len(secret)} bytes; it must be at "
                                f"least {MIN_SECRET}")
        self._secret = secret

    def person(self, number: str) -> str:
        digest = hmac.new(self._secret, number.upper().encode(), hashlib.sha256)
        return digest.hexdigest()[:32]

    def pseudonymize(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        """A command's arguments with ``id_card`` replaced by ``person``. A device may
        not name the person itself; a number that is not one is refused without being
        echoed."""
        if "person" in args:
            raise DispatchError("bad_argument", f"{name}: person is the hub's to say: "
                                "send the card's number as id_card", field="person")
        if "id_card" not in args:
            return args
        if name not in ID_COMMANDS:
            raise DispatchError("bad_argument", f"{name}: unknown argument 'id_card'",
                                field="id_card")
        number = args["id_card"]
        problem = (number_problem(number.upper()) if isinstance(number, str)
                   else "id_card must be the ID number as a string")
        if problem:
            raise DispatchError("bad_id_card", f"{name}: {problem}", field="id_card")
        out = {k: v for k, v in args.items() if k != "id_card"}
        out["person"] = self.person(number)
        return out


def load_secret(flag: str | None, data_dir: str | Path) -> bytes:
    """The hall's secret: the ``--id-secret`` file, ``$ONEWINDOW_ID_SECRET``, or the
    data folder's file (made on first use). IdentityError says what is wrong."""
    if flag:
        return _read(Path(flag), "--id-secret")
    env = os.environ.get(ENV)
    if env is not None:
        return _checked(env.strip().encode(), f"${ENV}")
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        _create(path)
    return _read(path, "the data folder's")


def _checked(secret: bytes, where: str) -> bytes:
    if len(secret) < MIN_SECRET:
        raise IdentityError(f"{where}: the ID secret is {len(secret)} bytes; it must be "
                            f"at least {MIN_SECRET} (make one: python -c 'import secrets; "
                            "print(secrets.token_hex(32))')")
    return secret


def _read(path: Path, where: str) -> bytes:
    try:
        mode = path.stat().st_mode
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise IdentityError(f"{where} {path}: cannot read it: {exc.strerror or exc}"
                            ) from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise IdentityError(f"{where} {path}: others may read it; make it the hub's "
                            f"alone: chmod 600 {path}")
    return _checked(secret, f"{where} {path}")


def _create(path: Path) -> None:
    """Write a fresh secret atomically: two hubs starting at once get the same one."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)           # fails if another hub made it first: keep theirs
        except FileExistsError:
            pass
        finally:
            with contextlib.suppress(OSError):
                tmp.unlink()
    except OSError as exc:
        raise IdentityError(f"cannot make the ID secret {path}: {exc.strerror or exc}"
                            ) from None
