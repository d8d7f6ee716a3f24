"""Stalls of the hub's event loop, caught in the act.

Every reply, welcome and screen waits while the loop runs one long piece of work. A
slow garbage collection logs itself (collector.py); anything else did not, and a
reconnect storm still showed a caller's command waiting 176 ms with no collection
over 50 ms (bench/bench_peak.py). So the loop beats every BEAT seconds, and a
thread of its own looks at the beat: once the loop has been silent for STALL
seconds, it takes the stack the loop's thread is in. When the loop beats again, the
stall is logged (``loop_stall``: its ``ms`` and ``where``, the innermost frames of
that stack, innermost first), so an operator can see what held the hall up.

``cpu_ms`` says whose the stall was: the CPU the loop's thread itself used from the
beat before the stall to its end. A
stall of the loop's own work uses about as much CPU as it lasts; a loop that was
ready but waited (for a core, on a busy machine, or for the GIL another thread
held) used little.
The thread wakes BEAT a second and takes the GIL for a moment each time.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
import traceback

from .logs import log_json

BEAT = 0.05      # s between the loop's beats
STALL = 0.1      # s without a beat: a stall
FRAMES = 8       # innermost frames logged


class StallWatch:
    def __init__(self, beat: float = BEAT, stall: float = STALL) -> None:
        self.beat, self.stall = beat, stall
        self.last = time.monotonic()
        self.last_cpu = 0.0                      # the loop thread's CPU at the last beat
        self.where: list[str] | None = None      # the stack caught in the stall
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="stall-watch",
                                        daemon=True)

    async def run(self) -> None:
        """On the loop: beat until cancelled; log each stall as it ends."""
        self._loop_thread = threading.get_ident()
        self.last_cpu = time.thread_time()
        self._thread.start()
        try:
            while True:
                await asyncio.sleep(self.beat)
                now, cpu = time.monotonic(), time.thread_time()
                silent, self.last = now - self.last, now
                used, self.last_cpu = cpu - self.last_cpu, cpu
                if silent - self.beat >= self.stall:
                    log_json("loop_stall", ms=round((silent - self.beat) * 1e3, 1),
                             cpu_ms=round(used * 1e3, 1), where=self.where or [])
                self.where = None
        finally:
            self._stop.set()

    def _watch(self) -> None:
        while not self._stop.wait(self.beat):
            # looked at every beat: a stall of STALL is caught at least once
            if self.where is None and time.monotonic() - self.last >= self.stall:
                frame = sys._current_frames().get(self._loop_thread)
                if frame is not None:
                    self.where = innermost(frame)


def innermost(frame: object) -> list[str]:
    """The stack's innermost FRAMES frames as "file:line function", innermost first."""
    stack = traceback.extract_stack(frame)[-FRAMES:]   # type: ignore[arg-type]
    return [f"{_short(f.filename)}:{f.lineno} {f.name}" for f in reversed(stack)]


def _short(path: str) -> str:
    parts = path.replace("\\", "/").split("/")
    return "/".join(parts[-2:])
