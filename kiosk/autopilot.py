"""Simulated citizens at a kiosk, for the live demo (`onewindow kiosk --autopilot PLAN`).

The plan (JSON) names an arrivals file and the speed of the hub's clock:
``{"arrivals": "arrivals.csv", "speed": 10}`` (the path relative to the plan). The
citizens come at the times of the arrivals file (the simulator's format:
``time,zone,queue,class``, made by dispatcher.simulator.generate) and take their
numbers through the kiosk's own buttons, as a person would: 马上办 → 取号 (or 绿色通道),
帮助办 → the unit → 取号. Rows of other zones are left to their own kiosk. Times are
the hall's (the hub's clock), so a hub run faster than real time brings them faster.
Each ticket the kiosk hands out is written to ``--record FILE`` as a JSON line.
"""

from __future__ import annotations

import csv
import json
import time
from collections import deque
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QTimer

from caller.autopilot import Recorder

TICK_MS = 150
TOUCH_GAP_S = 0.15         # between two touches of one citizen
LATE_S = 120.0             # rows this much before the kiosk's start were someone else's


def read_plan(path: str | Path) -> tuple[list[tuple[float, str, str, str]], float]:
    """The arrivals and the hub clock's speed of a plan file; ValueError says what is
    wrong."""
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
        arrivals, speed = Path(path).parent / plan["arrivals"], float(plan.get("speed", 1))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"--autopilot {path}: expected a JSON plan like "
                         f'{{"arrivals": "arrivals.csv", "speed": 10}} ({exc})') from None
    if not 0 < speed < 10_000:
        raise ValueError(f"--autopilot {path}: speed {speed:g} must be above 0")
    return read_rows(arrivals), speed


def read_rows(path: str | Path) -> list[tuple[float, str, str, str]]:
    """(seconds after local midnight, zone, queue, class) per row; ValueError says
    which line is wrong."""
    rows = []
    try:
        with Path(path).open(encoding="utf-8", newline="") as f:
            for n, row in enumerate(csv.DictReader(f), start=2):
                try:
                    rows.append((_seconds(row["time"]), row["zone"], row["queue"],
                                 row.get("class") or "normal"))
                except (KeyError, ValueError, TypeError):
                    raise ValueError(f"--autopilot {path}:{n}: expected time,zone,queue,"
                                     "class like 09:12:30,B,quick_b,normal") from None
    except OSError as exc:
        raise ValueError(f"--autopilot {path}: {exc.strerror or exc}") from None
    return sorted(rows)


def _seconds(text: str) -> float:
    parts = [float(p) for p in text.strip().split(":")]
    if len(parts) not in (2, 3):
        raise ValueError(text)
    h, m, s = [*parts, 0.0][:3]
    return h * 3600 + m * 60 + s


class KioskAutopilot:
    def __init__(self, window: Any, rows: list[tuple[float, str, str, str]],
                 record: str | None = None, speed: float = 1.0) -> None:
        self.window, self.rows = window, rows
        self.record = Recorder(record)
        self.queue: deque[tuple[float, str, str, str]] | None = None
        self.steps: list[str] = []
        self.current: tuple[float, str, str, str] | None = None
        self.next_touch = 0.0
        self.last_result: int | None = None
        self.issued = 0
        self.stopping = False      # the demo is stopping: no new citizen
        self.timer = QTimer(window)
        self.timer.timeout.connect(self.tick)
        self.timer.start(TICK_MS)

    def hall_seconds(self) -> float:
        view = self.window.hub.view
        zone = ZoneInfo(view.hall.get("timezone") or "Asia/Shanghai")
        local = datetime.fromtimestamp(self.window.hub.server_now(), zone)
        return local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6

    def tick(self) -> None:
        model = self.window.model
        if not self.window.hub.view.loaded or model.zone is None:
            return
        now = self.hall_seconds()
        if self.queue is None:
            self.queue = deque(r for r in self.rows if r[1] == model.zone and r[0] >= now - LATE_S)
        if time.monotonic() < self.next_touch:
            return
        if model.screen in ("done", "failed"):
            self._handed_out(now)
            return
        if self.current is None:
            if self.stopping or model.screen != "home" or model.busy or not self.queue \
                    or self.queue[0][0] > now:
                return
            self.current = self.queue.popleft()
            self.steps = self._steps(self.current)
            if not self.steps:            # a queue this kiosk does not offer
                self.current = None
                return
        if self.steps:
            self._press(self.steps[0])

    def quiet(self) -> bool:
        """No citizen in hand: none pressing, no ticket in flight or unrecorded."""
        model = self.window.model
        recorded = model.screen not in ("done", "failed") or id(model.result) == \
            self.last_result
        return self.current is None and not model.busy and model.screen != "printing" \
            and recorded

    def _steps(self, row: tuple[float, str, str, str]) -> list[str]:
        _, _, queue, ticket_class = row
        model = self.window.model
        last = "green" if ticket_class == "green" else "take"
        if queue == model.big_loop:
            return ["quick", last]
        if queue in model.units:
            return ["help", f"unit:{queue}", last]
        return []

    def _press(self, target: str) -> None:
        button = self.window.buttons.get(target)
        if button is None or not button.isEnabled():
            if self.window.model.screen == "home" and target != "quick" and target != "help":
                self.current, self.steps = None, []      # the citizen was sent home: gone
            return
        self.steps.pop(0)
        self.next_touch = time.monotonic() + TOUCH_GAP_S
        button.click()
        if not self.steps:
            self.current = None

    def _handed_out(self, now: float) -> None:
        model = self.window.model
        if id(model.result) != self.last_result:
            self.last_result = id(model.result)
            ticket = model.ticket or {}
            self.issued += 1
            self.record.write(number=ticket.get("number", ""), ticket=ticket.get("id", ""),
                              queue=ticket.get("queue", ""),
                              ticket_class=ticket.get("ticket_class", ""),
                              printed=model.screen == "done", at=now)
            self.next_touch = time.monotonic() + 0.3   # the citizen takes the ticket
            return
        home = self.window.buttons.get("home")
        if home is not None:
            home.click()
