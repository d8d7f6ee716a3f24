"""The LED strips' test double as a process of the demo: a pty pair that decodes the
strip protocol (display.led.FakeStrip) and acks like the strips would; the bridge
opens the printed path as its serial port. Each change of a strip's text is written
as a JSON line ``{"address", "text"}`` to ``--record FILE``.

    python -m dispatcher.livedemo.strip --record FILE     # prints: strip /dev/pts/N
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from caller.autopilot import Recorder
from display.led import FakeStrip


class RecordingStrip(FakeStrip):
    def __init__(self, record: str | None) -> None:
        self.record = Recorder(record)
        self.last: dict[int, str] = {}
        super().__init__()

    def received(self, data: bytes) -> None:
        super().received(data)
        for address, text in list(self.shows.items()):
            if self.last.get(address) != text:
                self.last[address] = text
                self.record.write(address=address, text=text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dispatcher.livedemo.strip")
    parser.add_argument("--record", help="JSON lines of each strip's new text")
    args = parser.parse_args(argv)
    strip = RecordingStrip(args.record)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"strip {strip.path}", flush=True)
    while not done.wait(0.5):
        pass
    strip.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
