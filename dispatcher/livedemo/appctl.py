"""What a device app does when the live demo runs it (``--record``): SIGTERM and
SIGINT quit the Qt loop, so the app closes its hub client and its record as on a
normal exit; SIGUSR1 grabs the app's window to a PNG (the demo's screenshots).

An app with an autopilot first winds it down: no new citizen or action is started,
and the app quits once the one in hand is over (a ticket printed and recorded, a
reply in), at most ``WIND_DOWN_S`` later."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

POLL_MS = 200      # Python's signal handlers run only when Python runs: a timer lets them
WIND_DOWN_S = 5.0


def control(widget: Any, grab_to: str | Path | None, autopilot: Any = None) -> QTimer:
    """Install the handlers for ``widget``'s app; return the timer that keeps them live.
    ``autopilot``: has ``stopping`` (set here) and ``quiet()`` (True when nothing is in
    hand)."""
    asked: dict[str, Any] = {"grab": False, "stop_by": None}

    def stop(_signum: int, _frame: object) -> None:
        if autopilot is not None:
            autopilot.stopping = True
        asked["stop_by"] = time.monotonic() + (WIND_DOWN_S if autopilot is not None else 0)

    def quit_when_quiet() -> None:
        by = asked["stop_by"]
        if by is None:
            return
        if time.monotonic() >= by or autopilot is None or autopilot.quiet():
            app = QApplication.instance()
            if app is not None:
                app.quit()

    def grab(_signum: int, _frame: object) -> None:
        asked["grab"] = True

    def poll() -> None:
        quit_when_quiet()
        if asked["grab"] and grab_to is not None:
            asked["grab"] = False
            path = Path(grab_to)
            path.parent.mkdir(parents=True, exist_ok=True)
            widget.grab().save(str(path))

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, grab)
    timer = QTimer(widget)
    timer.timeout.connect(poll)
    timer.start(POLL_MS)
    return timer


def grab_path(record: str | None) -> Path | None:
    """Where an app with ``--record FILE`` grabs its window: FILE with .png."""
    return Path(record).with_suffix(".png") if record else None
