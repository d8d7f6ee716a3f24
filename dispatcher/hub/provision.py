"""Provisioning many devices at once: id ranges and the installer's token list.

A hall of 300 windows has 300 callers, 300 evaluators and more. The devices file
takes a range entry instead of one entry per device::

    [[devices]]
    ids = "C-B01..C-B40"            # C-B01, C-B02, … C-B40 (the first one's width)
    role = "caller"
    windows = "B01..B40"            # one window each, in order (a list: all share it)
    name = "叫号器 {id}"
    token_hashes = ["sha256$…", …]  # one per device, in order

and ``onewindow token --devices C-B01..C-B40 --role caller --windows B01..B40
--tokens FILE`` writes that entry to stdout and the tokens themselves to FILE: a
new file only its owner can read (mode 0600, never overwritten), one line per
device, for the installer to give each device its own.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from .devices import Role, device_id_problem, hash_token, new_token
from .ranges import expand_range, windows_per_device

__all__ = ["Batch", "expand_range", "provision", "provision_command", "windows_per_device",
           "write_sealed"]
ROLES = get_args(Role)

@dataclass(frozen=True)
class Batch:
    """Devices to provision: ids, a role, each one's windows, a zone and a name."""

    ids: list[str]
    role: str
    windows: list[list[str]]
    zone: str | None = None
    name: str = ""


def provision(batch: Batch) -> tuple[str, list[tuple[str, str]]]:
    """(the devices file's entry with a fresh token hash per device, [(id, token)])."""
    tokens = [(device, new_token()) for device in batch.ids]
    lines = ["[[devices]]", f'ids = "{batch.ids[0]}..{batch.ids[-1]}"'
             if len(batch.ids) > 1 else f'ids = "{batch.ids[0]}"', f'role = "{batch.role}"']
    if batch.zone:
        lines.append(f'zone = "{batch.zone}"')
    if any(batch.windows):
        ranged = all(len(w) == 1 for w in batch.windows) and len(
            {w[0] for w in batch.windows}) == len(batch.windows)
        lines.append(f'windows = "{batch.windows[0][0]}..{batch.windows[-1][0]}"'
                     if ranged and len(batch.ids) > 1 else
                     "windows = [" + ", ".join(f'"{w}"' for w in batch.windows[0]) + "]")
    if batch.name:
        lines.append(f'name = "{batch.name}"')
    lines.append("token_hashes = [")
    lines += [f'  "{hash_token(token)}",  # {device}' for device, token in tokens]
    lines.append("]")
    return "\n".join(lines) + "\n", tokens


def write_sealed(path: str | Path, tokens: list[tuple[str, str]]) -> None:
    """The installer's list: a new file (never an existing one), readable by its owner
    only, a TOML table of device id → token."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("# device tokens: give each device its own, then destroy this file\n")
        out.writelines(f'"{device}" = "{token}"\n' for device, token in tokens)


def provision_command(args: argparse.Namespace) -> int:
    """``onewindow token --devices FIRST..LAST --role R --tokens FILE``."""
    problem = _batch_problem(args)
    if problem:
        print(f"error: token --devices: {problem}", file=sys.stderr)
        return 2
    ids = expand_range(args.devices)
    windows = windows_per_device(ids, _windows_arg(args.windows))
    entry, tokens = provision(Batch(ids, args.role, windows, args.zone, args.name))
    try:
        write_sealed(args.tokens, tokens)
    except FileExistsError:
        print(f"error: token --tokens {args.tokens}: the file exists; tokens are never "
              "written over (move it away or pick another name)", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: token --tokens {args.tokens}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"# {len(ids)} devices; their tokens are in {args.tokens} (mode 0600): give each "
          "device its own, then destroy the file. Paste this into the devices file:")
    print(entry, end="")
    return 0


def _windows_arg(text: str | None) -> str | list[str] | None:
    if text is None or ".." in text:
        return text
    return [w.strip() for w in text.split(",") if w.strip()]


def _batch_problem(args: argparse.Namespace) -> str | None:
    if args.role not in ROLES:
        return f"--role is needed, one of {', '.join(ROLES)} (got {args.role!r})"
    if not args.tokens:
        return "--tokens FILE is needed: the tokens go to a file only you can read"
    try:
        ids = expand_range(args.devices)
        windows_per_device(ids, _windows_arg(args.windows))
    except ValueError as exc:
        return str(exc)
    bad = next((p for p in map(device_id_problem, ids) if p), None)
    if bad:
        return bad
    if args.role in ("caller", "evaluator") and not args.windows:
        return f"a {args.role} needs --windows"
    return None
