"""The hall end to end, as separate processes over real websockets.

A real `onewindow serve` on a fresh SQLite store with the demo's own minted tokens
and PINs; a real `onewindow printer-sim`; the kiosk app (offscreen) whose simulated
citizen presses its own buttons; the caller panel app whose simulated clerk signs in
with a PIN and calls, starts and finishes through the panel's own actions; the zone B
wall with its voice queue; the LED bridge onto a strip double on a pty; the 好差评 pad
app whose citizen rates. Then the hub is killed with SIGKILL mid-day and restarted on
the same store and port, and every device goes on: nothing lost, nothing shown twice.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.livedemo.provision import clerk_of, provision
from dispatcher.livedemo.strip import RecordingStrip

ROOT = Path(__file__).resolve().parent.parent
DAY = "2026-11-23"                  # a Monday: the hall is open
SPEED = 10                          # hall seconds per real second
EVALUATOR_SEED = 4                  # its citizens rate the first two services (5 and 5)
CLERK_SEED = 9                      # serves B001 for 121 hall seconds, B002 for 5


class Proc:
    """One part of the hall: a subprocess with its output in a log file."""

    def __init__(self, name: str, cmd: list[str], folder: Path, env: dict[str, str],
                 ready: str | None = None) -> None:
        self.name, self.log = name, folder / f"{name}.log"
        self.found = ""
        out = subprocess.PIPE if ready else self.log.open("w")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=self.log.open("a"),
                                     stdin=subprocess.DEVNULL, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1",
                                          "QT_QPA_PLATFORM": "offscreen", **env})
        if ready:
            assert self.proc.stdout is not None
            line = self.proc.stdout.readline()
            match = re.search(ready, line)
            assert match, f"{name} did not start: {line!r} {self.log.read_text()[-2000:]}"
            self.found = match.group(1)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.alive():
            self.proc.send_signal(sig)
        return self.proc.wait(15)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0,
             parts: list[Proc] | None = None) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        for part in parts or []:
            assert part.alive(), f"{part.name} died: {part.log.read_text()[-3000:]}"
        time.sleep(0.2)
    logs = "\n".join(f"--- {p.name}\n{p.log.read_text()[-1500:]}" for p in parts or [])
    raise AssertionError(f"timed out waiting for {what}\n{logs}")


def jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def printed(folder: Path) -> list[list[str]]:
    return [json.loads(p.read_text(encoding="utf-8"))["lines"]
            for p in sorted(folder.glob("ticket-*.json"))]


def report_row(db: str) -> dict[str, str]:
    """`onewindow report`'s hall row for the day, as its CSV has it."""
    run = subprocess.run([sys.executable, "-m", "dispatcher.cli", "report", "--db", db,
                          "--from", DAY, "--to", DAY, "--format", "csv"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=True)
    rows = list(csv.DictReader(io.StringIO(run.stdout.lstrip("\ufeff"))))
    return next(r for r in rows if r["分组 grouping"] == "hall")


@pytest.fixture
def hall_parts(tmp_path):
    parts: list[Proc] = []
    yield parts
    for part in reversed(parts):
        if part.alive():
            part.proc.kill()
            part.proc.wait(10)


def test_a_ticket_goes_through_every_device_and_survives_a_hub_kill(tmp_path, hall_parts
                                                                     ) -> None:
    hall = load_hall(SAMPLE_HALL)
    creds = provision(tmp_path / "creds", hall)
    assert not any(t == f"sample-{d}" for d, t in creds.tokens.items())   # minted, not the
    sample = (ROOT / "assets/halls/sample-devices.toml").read_text()     # published ones
    assert not any(line in sample for line in creds.devices_file.read_text().splitlines()
                   if line.startswith("token_hash"))
    db = f"sqlite:///{tmp_path / 'hall.db'}"
    cli = [sys.executable, "-m", "dispatcher.cli"]

    def token(device: str) -> dict[str, str]:
        return {"ONEWINDOW_TOKEN": creds.tokens[device]}

    def start_hub(at: str, port: int = 0) -> Proc:
        hub = Proc("hub", [*cli, "serve", "--db", db, "--devices", str(creds.devices_file),
                           "--clerks", str(creds.clerks_file), "--port", str(port),
                           "--start-at", f"{DAY} {at}", "--speed", str(SPEED),
                           "--balance-every", "86400"], tmp_path, {},
                   ready=r"listening on (ws://\S+)")
        hall_parts.append(hub)
        return hub

    hub = start_hub("09:30")
    url, port = hub.found, int(hub.found.rsplit(":", 1)[1])
    printer = Proc("printer", [*cli, "printer-sim", "--port", "0", "--out",
                               str(tmp_path / "printer")], tmp_path, {},
                   ready=r"virtual printer (tcp://\S+)")
    hall_parts.append(printer)
    strip = RecordingStrip(str(tmp_path / "strip.jsonl"))
    (tmp_path / "arrivals.csv").write_text(
        "time,zone,queue,class\n09:30:20,B,quick_b,normal\n09:45:00,B,quick_b,normal\n",
        encoding="utf-8")
    (tmp_path / "kiosk.json").write_text(json.dumps({"arrivals": "arrivals.csv",
                                                     "speed": SPEED}))
    (tmp_path / "clerk.json").write_text(json.dumps({
        "clerk": clerk_of("B01"), "seed": CLERK_SEED, "speed": SPEED, "no_show": 0,
        "mis_taken": 0, "service_s": {"quick_b": 60}}))
    rec = {name: tmp_path / f"{name}.jsonl" for name in ("kiosk", "caller", "wall", "rater")}
    devices = [
        Proc("led", [*cli, "led-bridge", "--port", strip.path, "--server", url, "--device",
                     "LED-1", "--map", "B01=1,B02=2"], tmp_path, token("LED-1")),
        Proc("wall", [*cli, "display", "--server", url, "--device", "D-B", "--layout",
                      "1080p", "--voice", "silent", "--record", str(rec["wall"])], tmp_path,
             token("D-B")),
        Proc("kiosk", [*cli, "kiosk", "--server", url, "--device", "K-B1", "--printer",
                       printer.found, "--no-fullscreen", "--autopilot",
                       str(tmp_path / "kiosk.json"), "--record", str(rec["kiosk"])], tmp_path,
             token("K-B1")),
        Proc("caller", [*cli, "caller", "--window", "B01", "--server", url, "--device",
                        "C-B01", "--autopilot", str(tmp_path / "clerk.json"), "--record",
                        str(rec["caller"])], tmp_path,
             {**token("C-B01"), "ONEWINDOW_PIN": creds.pins[clerk_of("B01")]}),
        Proc("rater", [*cli, "evaluator", "--window", "B01", "--server", url, "--device",
                       "E-B01", "--autopilot", str(EVALUATOR_SEED), "--record",
                       str(rec["rater"])], tmp_path, token("E-B01")),
    ]
    hall_parts.extend(devices)
    watched = [hub, printer, *devices]

    # the citizen takes B001 at the kiosk, which prints it
    tickets = wait_for("the first ticket printed", lambda: printed(tmp_path / "printer"),
                       60, watched)
    assert "B001" in tickets[0]
    assert (tmp_path / "printer" / "ticket-0001.png").is_file()
    handed = wait_for("the kiosk's record", lambda: jsonl(rec["kiosk"]), 10, watched)
    assert [(r["number"], r["printed"]) for r in handed] == [("B001", True)]

    # the clerk calls it: the wall shows it, the voice queues it, the strip over B01 says it
    wall_calls = wait_for("B001 on the wall", lambda: [
        r for r in jsonl(rec["wall"]) if r.get("shown") == "call"], 30, watched)
    assert [(r["number"], r["window"]) for r in wall_calls] == [("B001", "B01")]
    assert strip.wait_for(1, "B001 请到B01窗口", timeout=10)
    wait_for("B001 announced", lambda: [r for r in jsonl(rec["wall"])
                                        if r.get("queued") == "voice"], 10, watched)

    # the clerk starts serving B001; the hub is killed with SIGKILL in the middle of it
    wait_for("B001 served", lambda: "start" in [r["action"] for r in jsonl(rec["caller"])],
             30, watched)
    hub.stop(signal.SIGKILL)
    engine = sa.create_engine(db)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT state FROM tickets WHERE number = 'B001'")
                            ).scalar_one() == "serving"
    engine.dispose()
    time.sleep(1.0)
    # restarted on the same store and port, later in the day: every device goes on
    hub = start_hub("09:44:45", port)
    watched[0] = hub
    wait_for("B001 finished and rated", lambda: jsonl(rec["rater"]), 60, watched)
    assert [r["action"] for r in jsonl(rec["caller"])][:4] == ["open", "call_next", "start",
                                                               "finish"]
    tickets = wait_for("the second ticket printed", lambda: len(
        printed(tmp_path / "printer")) == 2 and printed(tmp_path / "printer"), 60, watched)
    assert "B002" in tickets[1]
    assert strip.wait_for(1, "B002 请到B01窗口", timeout=60)
    wait_for("B002 rated", lambda: len(jsonl(rec["rater"])) == 2, 60, watched)
    wait_for("B002 handed out", lambda: len(jsonl(rec["kiosk"])) == 2, 10, watched)
    wait_for("B002 on the wall and announced", lambda: len(
        [r for r in jsonl(rec["wall"]) if r.get("queued")]) == 2, 20, watched)

    # nothing lost, nothing shown twice; the report counts both
    assert [(r["number"], r["printed"]) for r in jsonl(rec["kiosk"])] == \
        [("B001", True), ("B002", True)]
    wall = jsonl(rec["wall"])
    assert [(r["number"], r["window"], r["recall"]) for r in wall if r.get("shown")] == \
        [("B001", "B01", False), ("B002", "B01", False)]
    assert [r["number"] for r in wall if r.get("queued") == "voice"] == ["B001", "B002"]
    texts = [r["text"] for r in jsonl(tmp_path / "strip.jsonl") if r["address"] == 1]
    assert [t for t in texts if t.startswith("B")] == ["B001 请到B01窗口", "B002 请到B01窗口"]
    assert [r["number"] for r in jsonl(rec["rater"])] == ["B001", "B002"]
    def tickets_in_store() -> list[tuple[Any, ...]]:
        engine = sa.create_engine(db)
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT number, state, rating FROM tickets "
                                        "ORDER BY number")).all()
        engine.dispose()
        return [tuple(r) for r in rows]

    wait_for("the second rating stored (the pad's tap is recorded before the hub's yes)",
             lambda: tickets_in_store()[-1][2] is not None, 10, watched)
    assert tickets_in_store() == [("B001", "done", 5), ("B002", "done", 5)]
    row = report_row(db)
    assert (row["取号 issued"], row["办结 served"], row["评价数 rated"]) == ("2", "2", "2")

    # every device stops cleanly on SIGTERM (SIGINT for the bridge, like Ctrl-C)
    for part in devices:
        assert part.stop(signal.SIGINT if part.name == "led" else signal.SIGTERM) == 0, \
            part.log.read_text()[-2000:]
    strip.close()
