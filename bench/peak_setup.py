"""The peak bench's hall and devices: a generated hall file and bulk provisioning.

The hall (modelled on assets/halls/sample.toml, reduced to what the load touches):
``zones`` zones A, B, … each with one 马上办 big-loop queue served by its share of
the windows; windows A01… in zone A and so on. Devices are provisioned the way an
installer does it, with ``onewindow token --devices FIRST..LAST --role R --tokens
FILE`` (one call per range): per zone its kiosks (K-A01…) and one caller per window
(C-A01… for A01…), and the listeners D-0001… as hall displays (no zone: the public
view of every event, the heaviest a display can be).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from bench.peak_wire import read_tokens

ROOT = Path(__file__).resolve().parent.parent
ZONE_IDS = "ABCDEFGH"


@dataclass
class Plan:
    """Who is where: windows and kiosks per zone, listener ids."""

    windows: int
    kiosks: int
    listeners: int
    zones: int
    zone_windows: dict[str, list[str]] = field(default_factory=dict)
    zone_kiosks: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 1 <= self.zones <= len(ZONE_IDS):
            raise ValueError(f"zones: 1 to {len(ZONE_IDS)}")
        if self.windows < self.zones or self.kiosks < self.zones:
            raise ValueError("every zone needs a window and a kiosk")
        width = max(2, len(str(self.windows)))
        for z, zone in enumerate(ZONE_IDS[:self.zones]):
            count = len(range(z, self.windows, self.zones))
            self.zone_windows[zone] = [f"{zone}{i:0{width}d}" for i in range(1, count + 1)]
            kiosks = len(range(z, self.kiosks, self.zones))
            self.zone_kiosks[zone] = [f"K-{zone}{i:02d}" for i in range(1, kiosks + 1)]

    @property
    def zone_ids(self) -> list[str]:
        return list(self.zone_windows)

    def listener_ids(self) -> list[str]:
        width = max(4, len(str(self.listeners)))
        return [f"D-{i:0{width}d}" for i in range(1, self.listeners + 1)]

    def caller(self, window: str) -> str:
        return f"C-{window}"

    def queue(self, zone: str) -> str:
        return f"quick_{zone.lower()}"


def hall_toml(plan: Plan) -> str:
    lines = ['[hall]', 'name = "峰值测试大厅"', 'name_en = "Peak bench hall"',
             'timezone = "Asia/Shanghai"', "",
             "[hall.hours]",
             'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]',
             'periods = ["07:00-21:00"]', ""]
    for zone in plan.zone_ids:
        kiosks = ", ".join(f'"{k}"' for k in plan.zone_kiosks[zone])
        lines += [f"[zones.{zone}]", f'name = "综合服务区{zone}"', f'name_en = "Zone {zone}"',
                  f"kiosks = [{kiosks}]", ""]
    for zone in plan.zone_ids:
        q = plan.queue(zone)
        lines += [f"[queues.{q}]", 'name = "马上办"', 'name_en = "Quick Service"',
                  'kind = "big_loop"', f'zones = ["{zone}"]', f'prefix = "{zone}"',
                  "overdue_minutes = 30", "service_minutes = 1", "",
                  f"[profiles.{q}]", f'main = ["{q}"]', ""]
    for zone in plan.zone_ids:
        ws = plan.zone_windows[zone]
        ids = ws[0] if len(ws) == 1 else f"{ws[0]}-{ws[-1]}"
        lines += ["[[windows]]", f'ids = "{ids}"', 'name = "综合受理窗口{id}"',
                  f'zone = "{zone}"', f'profile = "{plan.queue(zone)}"', ""]
    return "\n".join(lines)


def _token_range(out_dir: Path, tag: str, ids: list[str], role: str,
                 extra: list[str]) -> tuple[str, dict[str, str]]:
    """One `onewindow token --devices` call: the devices-file entry and the tokens."""
    tokens = out_dir / f"tokens-{tag}.toml"
    span = ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]}"
    done = subprocess.run(
        [sys.executable, "-m", "dispatcher.cli", "token", "--devices", span, "--role", role,
         "--tokens", str(tokens), *extra], cwd=ROOT, capture_output=True, text=True,
        check=False)
    if done.returncode != 0:
        raise RuntimeError(f"onewindow token --devices {span}: {done.stderr.strip()}")
    got = read_tokens(tokens)
    if sorted(got) != sorted(ids):
        raise RuntimeError(f"onewindow token --devices {span} made {len(got)} tokens, "
                           f"expected {len(ids)}")
    return done.stdout, got


def provision(plan: Plan, out_dir: Path) -> tuple[Path, Path, dict[str, str]]:
    """(hall file, devices file, every device's token)."""
    hall = out_dir / "hall.toml"
    hall.write_text(hall_toml(plan), encoding="utf-8")
    entries: list[str] = []
    tokens: dict[str, str] = {}
    for zone in plan.zone_ids:
        ws = plan.zone_windows[zone]
        span = ws[0] if len(ws) == 1 else f"{ws[0]}..{ws[-1]}"
        for tag, ids, role, extra in (
                (f"kiosks-{zone}", plan.zone_kiosks[zone], "kiosk", ["--zone", zone]),
                (f"callers-{zone}", [plan.caller(w) for w in ws], "caller",
                 ["--windows", span])):
            entry, got = _token_range(out_dir, tag, ids, role, extra)
            entries.append(entry)
            tokens.update(got)
    entry, got = _token_range(out_dir, "listeners", plan.listener_ids(), "display", [])
    entries.append(entry)
    tokens.update(got)
    devices = out_dir / "devices.toml"
    devices.write_text("\n".join(e for e in entries), encoding="utf-8")
    return hall, devices, tokens
