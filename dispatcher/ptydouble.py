"""The base of a serial device's test double: a pty pair, and a thread that hands
whatever the host writes to ``received``. The fake LED strip (display/led.py) and
the fake caller keypad (caller/keypad.py) are built on it, so a driver under test
opens ``path`` like a real /dev/ttyUSB0."""

from __future__ import annotations

import contextlib
import os
import select
import threading
import tty
from collections.abc import Callable


class PtyDevice:
    thread_name = "pty-device"

    def __init__(self) -> None:
        """Subclasses set up their own state first: the reader starts here."""
        self.changed = threading.Condition()
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self._master)
        self.path = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()

    def received(self, data: bytes) -> None:
        """Bytes the host wrote (called on the reader thread)."""
        raise NotImplementedError

    def write(self, data: bytes) -> None:
        """Send bytes to the host, as the device would."""
        os.write(self._master, data)

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyDevice:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            self.received(data)
