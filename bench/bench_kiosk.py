"""Touch to printed: from a citizen's first touch on the kiosk to the ticket's bytes
written to the printer, through the real app (offscreen), the real hub and a
virtual printer in its own process (`onewindow printer-sim` on TCP).

    python -m bench.bench_kiosk [--tickets 40] [--rounds 5] [--breakdown]

Path measured: click 马上办 → click 取号 → QtHubClient → hub (durable commit) → reply
→ slip → ESC/POS (native) → printer status query → bytes written. Floor, in the
same run and interleaved ticket by ticket: a bare websocket `issue_ticket` (same
hub, same commit) and the same ticket's bytes written to the same printer over a
bare socket: what any kiosk must at least do. Between tickets (untimed) the bench
waits for the printer-sim to finish drawing the last one (``settle_printer``), so
neither path waits for the simulator's own work. ``--breakdown`` also prints, per
ticket, where the kiosk's time went (click → hub reply, slip + ESC/POS, the rest).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from hub_process import HubProcess, RawClient, sample_token
from PySide6.QtWidgets import QApplication

from dispatcher.client.qt import QtHubClient
from kiosk.app import KioskWindow
from printers import Printer
from printers.samples import sample_slip


class StampingPrinter(Printer):
    """A Printer that notes when a ticket's bytes have been written to the printer
    (before it goes on to confirm the paper came out, which is the printer's time)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.written: list[float] = []
        self.composing: list[float] = []      # seconds spent in ticket_bytes, per ticket

    def ticket_bytes(self, slip) -> bytes:
        start = time.monotonic()
        data = super().ticket_bytes(slip)
        self.composing.append(time.monotonic() - start)
        return data

    def _open(self):
        conn = super()._open()
        write = conn.write

        def stamped(data: bytes) -> None:
            write(data)
            if len(data) > 64:        # the ticket, not a status question
                self.written.append(time.monotonic())

        conn.write = stamped  # type: ignore[method-assign]
        return conn


def start_printer_sim(out: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "dispatcher.cli", "printer-sim", "--port",
                             "0", "--out", str(out)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"tcp://[\d.]+:\d+", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"printer-sim did not start: {line!r}")
    return proc, match.group(0)


def pump(app: QApplication, until, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the kiosk did not get there in time")
        app.processEvents()
        time.sleep(0.0005)


def kiosk_ticket(app: QApplication, window: KioskWindow, printer: StampingPrinter,
                 steps: dict[str, list[float]] | None = None) -> float:
    pump(app, lambda: window.model.screen == "home")
    count = len(printer.written)
    start = time.monotonic()
    window.buttons["quick"].click()
    app.processEvents()
    window.buttons["take"].click()
    pump(app, lambda: len(printer.written) > count)
    elapsed = printer.written[-1] - start
    if steps is not None:
        steps["click → hub reply"].append(window.replied[-1] - start)
        steps["slip + ESC/POS"].append(printer.composing[-1])
        steps["touch → bytes written"].append(elapsed)
    pump(app, lambda: window.model.screen == "done")
    window.buttons["home"].click()
    return elapsed


def floor_ticket(loop: asyncio.AbstractEventLoop, client: RawClient, host: str, port: int,
                 data: bytes) -> float:
    start = time.monotonic()
    reply = loop.run_until_complete(client.command("issue_ticket", queue="quick_b"))
    assert reply["ok"], reply
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(data)
    return time.monotonic() - start


def stamp_replies(window: KioskWindow) -> None:
    """Note when each hub reply reaches the kiosk's handler (``window.replied``)."""
    on_reply = window._on_reply
    window.replied = []  # type: ignore[attr-defined]

    def stamped(ok: bool, payload: dict) -> None:
        window.replied.append(time.monotonic())  # type: ignore[attr-defined]
        on_reply(ok, payload)

    window._on_reply = stamped  # type: ignore[method-assign]


def settle_printer(host: str, port: int) -> None:
    """Untimed: wait until the printer-sim has finished with the tickets sent so far.
    The sim draws each ticket to a PNG under the lock its status answers take, so a
    status question right after the floor's ticket would wait for that drawing (40 ms
    and more on a busy machine), which a real printer, answering DLE EOT at once while
    it prints, does not make anyone wait for."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"\x10\x04\x01")          # DLE EOT 1: answered once the sim is free
        sock.recv(1)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=40, help="tickets a round and path")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--breakdown", action="store_true",
                        help="also print where the kiosk's time went (medians)")
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    work = Path(tempfile.mkdtemp(prefix="bench_kiosk_"))
    sim, url = start_printer_sim(work / "tickets")
    host, port = url.removeprefix("tcp://").split(":")
    hub = HubProcess(f"sqlite:///{work / 'hall.db'}", extra=["--rate-limit", "0"]).start()
    qt_client = QtHubClient(hub.url, "kiosk", "K-B1", sample_token("K-B1"))
    printer = StampingPrinter(url)
    window = KioskWindow(qt_client, printer, "K-B1", poll_printer_s=3600)
    window.resize(1080, 1920)
    stamp_replies(window)
    qt_client.start()
    loop = asyncio.new_event_loop()
    raw = loop.run_until_complete(RawClient.hello(hub.url, "kiosk", "K-B2"))
    data = printer.ticket_bytes(sample_slip())
    rows: dict[str, list[tuple[float, float]]] = {"kiosk": [], "floor": []}
    steps: dict[str, list[float]] | None = None
    if args.breakdown:
        steps = {"click → hub reply": [], "slip + ESC/POS": [], "touch → bytes written": []}
    try:
        pump(app, lambda: qt_client.connected and window.model.screen == "home")
        kiosk_ticket(app, window, printer)                     # warm-up, not timed
        for round_ in range(args.rounds):
            ours, bare = [], []
            for _ in range(args.tickets):
                ours.append(kiosk_ticket(app, window, printer, steps))
                bare.append(floor_ticket(loop, raw, host, int(port), data))
                settle_printer(host, int(port))
            for name, values in (("kiosk", ours), ("floor", bare)):
                rows[name].append((pct(values, 50), pct(values, 99)))
            print(f"  round {round_ + 1}/{args.rounds}: kiosk p50 {rows['kiosk'][-1][0]:.1f} "
                  f"ms, floor p50 {rows['floor'][-1][0]:.1f} ms", flush=True)
    finally:
        qt_client.close(timeout=2)
        loop.run_until_complete(raw.close())
        hub.kill()
        sim.terminate()
        sim.wait(10)
    report(rows, args, len(data))
    if steps is not None:
        print("\nwhere the kiosk's time went, median of all tickets:")
        for name, values in steps.items():
            print(f"  {name:30} {pct(values, 50):8.2f} ms")
    return 0


def report(rows: dict[str, list[tuple[float, float]]], args: argparse.Namespace,
           size: int) -> None:
    med = {k: (statistics.median(p50 for p50, _ in v), statistics.median(p99 for _, p99 in v))
           for k, v in rows.items()}
    print(f"\n== touch → ticket bytes written, {args.tickets} tickets × {args.rounds} rounds, "
          f"medians; native 80 mm ticket of {size} bytes; 2 CPUs, shared machine")
    print(f"{'path':55} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'kiosk app: 2 clicks → hub → slip → ESC/POS → status → write':55} "
          f"{med['kiosk'][0]:8.1f} {med['kiosk'][1]:8.1f}")
    print(f"{'floor: bare websocket issue + bare socket write':55} "
          f"{med['floor'][0]:8.1f} {med['floor'][1]:8.1f}")
    print(f"{'ratio kiosk / floor':55} {med['kiosk'][0] / med['floor'][0]:7.2f}x "
          f"{med['kiosk'][1] / med['floor'][1]:7.2f}x")


if __name__ == "__main__":
    sys.exit(main())
