"""The demo hall's own credentials, minted into its data directory on first start.

Never the published sample tokens and PINs (assets/halls/sample-*.toml): each device
gets a fresh token (dispatcher.hub.devices.new_token; the hub's file keeps only its
hash), each window a clerk with a fresh PIN, and the console a staff member. The
tokens and PINs themselves are kept in ``secrets.json`` (mode 0600), which the demo's
own processes read; a second start reuses them, so the day goes on.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..hall import Hall
from ..hub.devices import hash_token, new_token
from ..hub.people import hash_pin

KIOSKS = {"K-A1": "A", "K-B1": "B"}
PANELS = ("A01", "B01", "B02")            # windows with a real caller panel on screen
EVALUATOR = "B01"                          # the window with a real 好差评 pad
WALL_ZONE = "B"
LED_WINDOWS = ("B01", "B02", "B03", "B04", "B05", "B06", "B07", "B08")
STAFF = "staff-001"
SIM_DESKS = 4          # the simulated clerks' caller devices: each its own connection
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "芳强敏静磊洋艳勇军杰娟涛明超秀霞平刚"


@dataclass(frozen=True)
class Credentials:
    folder: Path
    tokens: dict[str, str]             # device id → token
    pins: dict[str, str]               # person id → PIN
    sim_windows: tuple[str, ...]       # windows the simulated clerks work

    @property
    def devices_file(self) -> Path:
        return self.folder / "devices.toml"

    @property
    def clerks_file(self) -> Path:
        return self.folder / "clerks.toml"

    @property
    def secrets_file(self) -> Path:
        return self.folder / "secrets.json"


def clerk_of(window: str) -> str:
    return f"clerk-{window}"


def provision(folder: str | Path, hall: Hall) -> Credentials:
    """The demo's credentials in ``folder``: read back when there, minted when not."""
    folder = Path(folder)
    found = folder / "secrets.json"
    if found.is_file() and (folder / "devices.toml").is_file() and \
            (folder / "clerks.toml").is_file():
        saved = json.loads(found.read_text(encoding="utf-8"))
        wanted = {d["id"] for d in _devices(hall)[0]}
        if set(saved.get("windows", ())) == set(hall.windows) and \
                wanted == set(saved.get("tokens", ())):
            return Credentials(folder, saved["tokens"], saved["pins"],
                               tuple(saved["sim_windows"]))
    return _mint(folder, hall)


def _devices(hall: Hall) -> tuple[list[dict[str, Any]], tuple[str, ...]]:
    sim = tuple(w for w in hall.windows if w not in PANELS)
    devices: list[dict[str, Any]] = [
        *({"id": k, "role": "kiosk", "zone": z, "name": f"取号机 {k}"} for k, z in KIOSKS.items()),
        *({"id": f"C-{w}", "role": "caller", "windows": [w], "name": f"叫号器 {w}"}
          for w in PANELS),
        {"id": f"E-{EVALUATOR}", "role": "evaluator", "windows": [EVALUATOR],
         "name": f"评价器 {EVALUATOR}"},
        {"id": f"D-{WALL_ZONE}", "role": "display", "zone": WALL_ZONE, "name": "叫号屏 B区"},
        {"id": "LED-1", "role": "led", "name": "LED 条屏 B01–B08"},
        {"id": "CONSOLE-1", "role": "console", "name": "调度台"},
        *({"id": f"C-SIM{i + 1}", "role": "caller", "windows": list(sim[i::SIM_DESKS]),
           "name": f"模拟柜员 {i + 1}"} for i in range(SIM_DESKS)),
        {"id": "E-SIM", "role": "evaluator", "windows": [w for w in hall.windows
                                                         if w != EVALUATOR],
         "name": "模拟评价"},
    ]
    return devices, sim


def _mint(folder: Path, hall: Hall) -> Credentials:
    folder.mkdir(parents=True, exist_ok=True)
    devices, sim = _devices(hall)
    tokens = {d["id"]: new_token() for d in devices}
    lines = ["# The demo hall's devices: made by `onewindow demo` with fresh tokens",
             "# (kept in secrets.json beside this file, never committed).", ""]
    for d in devices:
        lines.append("[[device]]")
        for key, value in d.items():
            lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
        lines += [f'token_hash = "{hash_token(tokens[d["id"]])}"', ""]
    pins = {clerk_of(w): f"{secrets.randbelow(10**6):06d}" for w in hall.windows}
    pins[STAFF] = f"{secrets.randbelow(10**6):06d}"
    people = ["# The demo hall's clerks (one per window) and its dispatcher: fresh PINs,",
              "# made by `onewindow demo`; only the scrypt hashes are here.", ""]
    for i, (person, pin) in enumerate(pins.items()):
        kind = "staff" if person == STAFF else "clerks"
        name = SURNAMES[i % len(SURNAMES)] + GIVEN[(i * 7) % len(GIVEN)]
        salt, digest = hash_pin(pin)
        people += [f"[{kind}.{person}]", f'name = "{name}"', f'salt = "{salt}"',
                   f'pin_hash = "{digest}"', ""]
    (folder / "devices.toml").write_text("\n".join(lines), encoding="utf-8")
    (folder / "clerks.toml").write_text("\n".join(people), encoding="utf-8")
    secret = folder / "secrets.json"
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump({"tokens": tokens, "pins": pins, "sim_windows": list(sim),
                   "windows": list(hall.windows)}, f, ensure_ascii=False, indent=1)
    return Credentials(folder, tokens, pins, sim)


def desks(creds: Credentials) -> dict[str, list[str]]:
    """The simulated clerks' caller devices and the windows of each."""
    return {f"C-SIM{i + 1}": list(creds.sim_windows[i::SIM_DESKS]) for i in range(SIM_DESKS)}


def load_credentials(folder: str | Path) -> Credentials:
    folder = Path(folder)
    saved = json.loads((folder / "secrets.json").read_text(encoding="utf-8"))
    return Credentials(folder, saved["tokens"], saved["pins"], tuple(saved["sim_windows"]))
