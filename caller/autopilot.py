"""Simulated clerks and citizens at a window, for the live demo (`onewindow demo`).

``ClerkScript`` is a clerk's day at one window with no I/O: given the window as the
hub's view shows it and the hall time, it says what to press next — open the window,
call the next citizen, wait for them to walk up (recall once, then mark a no-show),
start, serve for a drawn time, finish with an outcome, sometimes transfer a
mis-taken 马上办 ticket to a unit. The caller panel's autopilot (``PanelAutopilot``)
presses the panel's own buttons by it; the live demo's simulated clerks
(dispatcher/livedemo/clerks.py) run one per window over the client library.

``EvaluatorAutopilot`` is the citizen at the 好差评 pad: when the pad asks for a
rating it taps one, now and then a low one with a reason.

Times are hall seconds (the hub's clock, which a demo hub runs faster than real
time), so the pace is the hall's whatever the speed.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ARRIVE_S = (15.0, 45.0)       # a called citizen walks up to the window in this long
REST_S = (5.0, 20.0)          # the clerk's pause between two citizens
RECALL_AFTER_S = (10.0, 20.0)
RETRY_S = 20.0                # nothing to call: look again after this long
DEFAULT_SERVICE_S = 600.0
RATING_WEIGHTS = {5: 70, 4: 20, 3: 6, 2: 3, 1: 1}
RATE_SHARE = 0.6              # citizens who rate at the pad


@dataclass
class ClerkScript:
    """One clerk at one window. ``next_action(now, window_view, ...)`` returns
    ``(action, extra)`` in caller.model's action words, or None (nothing yet)."""

    window: str
    rng: random.Random
    service_s: dict[str, float] = field(default_factory=dict)   # queue → mean seconds
    no_show: float = 0.05
    mis_taken: float = 0.03
    ticket: str | None = None
    fate: str = ""             # for the ticket at the window: start, no_show, transfer
    due: float = 0.0
    recalled: bool = False
    phase: str = ""

    def next_action(self, now: float, w: dict[str, Any] | None, queue: str = "",
                    layout: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]] | None:
        """``w``: the window's view; ``queue``: the queue of the ticket it holds;
        ``layout``: the hall layout of the hub's snapshot (queues, outcomes)."""
        if not w:
            return None
        state, ticket = w.get("state"), w.get("ticket")
        if state == "closed":
            return "open", {}
        if state == "paused":
            return "resume", {}
        if state == "idle":
            return self._idle(now)
        if ticket != self.ticket or state != self.phase:
            self._enter(now, state, ticket, queue, layout or {})
            return None
        if now < self.due:
            return None
        if state == "calling":
            return self._at_desk(now, ticket, queue, layout or {})
        if state == "serving":
            return "finish", self.outcome(queue, layout or {})
        return None

    def failed(self, now: float) -> None:
        """The hub refused what was pressed (nothing waiting, a race): wait, then look
        again."""
        self.phase, self.due = "retry", now + RETRY_S

    def _idle(self, now: float) -> tuple[str, dict[str, Any]] | None:
        if self.phase not in ("idle", "retry"):
            self.phase, self.ticket = "idle", None
            self.due = now + self.rng.uniform(*REST_S)
        return ("call_next", {}) if now >= self.due else None

    def _enter(self, now: float, state: str | None, ticket: str | None, queue: str,
               layout: dict[str, Any]) -> None:
        self.phase = str(state)
        if state == "calling" and ticket != self.ticket:
            self.ticket, self.recalled = ticket, False
            self.due = now + self.rng.uniform(*ARRIVE_S)
            kind = (layout.get("queues") or {}).get(queue, {}).get("kind")
            roll = self.rng.random()
            self.fate = ("no_show" if roll < self.no_show else
                         "transfer" if roll < self.no_show + self.mis_taken
                         and kind == "big_loop" and self._units(queue, layout) else "start")
        elif state == "serving":
            self.ticket = ticket
            mean = self.service_s.get(queue, DEFAULT_SERVICE_S)
            self.due = now + min(self.rng.expovariate(1 / mean), 3 * mean)

    def _at_desk(self, now: float, ticket: str | None, queue: str,
                 layout: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        if self.fate == "no_show":
            if not self.recalled:
                self.recalled = True
                self.due = now + self.rng.uniform(*RECALL_AFTER_S)
                return "recall", {}
            return "no_show", {}
        if self.fate == "transfer":
            self.fate = "start"   # once: a refused transfer is not tried again
            units = self._units(queue, layout)
            if units:
                return "transfer", {"ticket": ticket, "to_queue": self.rng.choice(units)}
        return "start", {}

    @staticmethod
    def _units(queue: str, layout: dict[str, Any]) -> list[str]:
        queues = layout.get("queues") or {}
        zones = set(queues.get(queue, {}).get("zones") or ())
        return [q for q, info in queues.items()
                if info.get("kind") == "unit" and zones & set(info.get("zones") or ())]

    def outcome(self, queue: str, layout: dict[str, Any]) -> dict[str, Any]:
        """The 办件结果 the clerk records at 办结, where the queue requires one."""
        queues, outcomes = layout.get("queues") or {}, layout.get("outcomes") or {}
        if not queues.get(queue, {}).get("outcome_required") or not outcomes:
            return {}
        codes = list(outcomes)
        code = codes[0] if self.rng.random() < 0.8 else self.rng.choice(codes)
        extra: dict[str, Any] = {"outcome": code}
        if (outcomes[code] or {}).get("case_number"):
            extra["case_number"] = f"YCT-{self.rng.randrange(10**6):06d}"
        return extra


def rating(rng: random.Random) -> int:
    return rng.choices(list(RATING_WEIGHTS), weights=list(RATING_WEIGHTS.values()))[0]


class Recorder:
    """JSON lines of what a device did or showed, for the demo's summary."""

    def __init__(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        self._file = self.path.open("a", encoding="utf-8") if self.path else None

    def write(self, **entry: Any) -> None:
        if self._file is not None:
            self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
            self._file.flush()


def load_plan(path: str | Path) -> dict[str, Any]:
    """The autopilot's plan file (JSON): clerk, seed, service_s per queue, no_show,
    mis_taken, speed (of the hub's clock); ValueError says what is wrong."""
    try:
        plan = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"--autopilot {path}: {exc}") from None
    if not isinstance(plan, dict) or not isinstance(plan.get("clerk"), str):
        raise ValueError(f"--autopilot {path}: expected a JSON object with a clerk id")
    problem = _plan_problem(plan)
    if problem:
        raise ValueError(f"--autopilot {path}: {problem}")
    return plan


def _plan_problem(plan: dict[str, Any]) -> str | None:
    def number(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    if not number(plan.get("speed", 1)) or not 0 < plan.get("speed", 1) < 10_000:
        return "speed must be a number above 0"
    if not isinstance(plan.get("seed", 1), int):
        return "seed must be a whole number"
    for key in ("no_show", "mis_taken"):
        if not number(plan.get(key, 0)) or not 0 <= plan.get(key, 0) <= 1:
            return f"{key} must be a share from 0 to 1"
    service = plan.get("service_s", {})
    if not isinstance(service, dict) or not all(number(v) and v > 0 for v in service.values()):
        return "service_s must map queue ids to seconds above 0"
    return None


class PanelAutopilot:
    """Signs the plan's clerk in on the panel's own sign-in page (the PIN from the
    environment) and works the window through the panel's own actions."""

    TICK_MS = 250

    def __init__(self, panel: Any, plan: dict[str, Any], pin: str,
                 record: str | None = None) -> None:
        from PySide6.QtCore import QTimer

        self.panel, self.pin, self.clerk = panel, pin, plan["clerk"]
        self.record = Recorder(record)
        self.script = ClerkScript(panel.window_id, random.Random(plan.get("seed", 1)),
                                  {k: float(v) for k, v in (plan.get("service_s") or {}).items()},
                                  float(plan.get("no_show", 0.05)),
                                  float(plan.get("mis_taken", 0.03)))
        self._sent = False
        self.sign_ins = 3          # tries left; the hub backs off wrong PINs
        self.stopping = False      # the demo is stopping: no new action
        self.timer = QTimer(panel)
        self.timer.timeout.connect(self.tick)
        self.timer.start(self.TICK_MS)

    def tick(self) -> None:
        panel = self.panel
        if self.stopping or not panel.connected or panel.signing_in or \
                panel.pending is not None:
            return
        if self._sent:     # the reply is in: a refusal (nothing to call) waits a while
            self._sent = False
            from dispatcher.client.touch import RED

            if RED in panel.message.styleSheet():
                self.script.failed(panel.hub.server_now())
                return
        if panel.clerk is None:
            if panel.locked_until is None and self.sign_ins > 0:   # a wrong PIN: not hammered
                self.sign_ins -= 1
                panel.clerk_edit.setText(self.clerk)
                panel.pin_edit.setText(self.pin)
                panel.sign_in_button.click()
            return
        view, now = panel.hub.view, panel.hub.server_now()
        w = view.window(panel.window_id)
        queue = self._queue(view, w)
        step = self.script.next_action(now, w, queue, view.hall)
        if step is None:
            return
        action, extra = step
        number = (w or {}).get("number") or ""
        if panel.act(action, **extra):
            self.record.write(action=action, number=number, at=now)
            self._sent = True
        else:
            self.script.failed(now)

    def quiet(self) -> bool:
        return self.panel.pending is None and not self.panel.signing_in

    @staticmethod
    def _queue(view: Any, w: dict[str, Any] | None) -> str:
        ticket = view.ticket(w["ticket"]) if w and w.get("ticket") else None
        if ticket and ticket.get("queue"):
            return str(ticket["queue"])
        main = (w or {}).get("main") or []
        return str(main[0]) if main else ""


class EvaluatorAutopilot:
    """The citizen at the pad: rates (60 %) a few seconds after the pad asks, by its own
    buttons; a low rating picks a reason."""

    TICK_MS = 300

    def __init__(self, screen: Any, seed: int = 1, record: str | None = None) -> None:
        from PySide6.QtCore import QTimer

        self.screen, self.rng, self.clock = screen, random.Random(seed), time.monotonic
        self.record = Recorder(record)
        self.ticket: str | None = None
        self.at = 0.0
        self.rates = False
        self.rated: dict[str, Any] | None = None   # tapped, until the hub's answer shows
        self.stopping = False
        self.timer = QTimer(screen)
        self.timer.timeout.connect(self.tick)
        self.timer.start(self.TICK_MS)

    def quiet(self) -> bool:
        return self.screen.model.shown != "sending"

    def tick(self) -> None:
        model = self.screen.model
        shown = model.shown
        if self.rated is not None and shown in ("thanks", "already", "failed", "idle"):
            if shown == "thanks":          # the hub took it
                self.record.write(action="rate", **self.rated)
            self.rated = None
        if self.stopping or shown not in ("rating", "reason"):
            return
        if model.ticket != self.ticket:
            self.ticket, self.at = model.ticket, self.clock() + self.rng.uniform(1.0, 3.0)
            self.rates = self.rng.random() < RATE_SHARE
            return
        if not self.rates or self.clock() < self.at:
            return
        if shown == "rating":
            level = rating(self.rng)
            self.rated = {"ticket": model.ticket, "number": model.number, "level": level}
            self._tap(f"level:{level}")
        else:
            targets = [t for t in self.screen.buttons if t.startswith("reason:")] or ["skip"]
            self._tap(self.rng.choice(targets))

    def _tap(self, target: str) -> None:
        button = self.screen.buttons.get(target)
        if button is not None:
            button.click()
        else:
            self.screen.touch(target)
        self.at = self.clock() + 0.5
