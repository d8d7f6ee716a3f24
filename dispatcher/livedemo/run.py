"""The live demo hall: every device as its own process, started, watched and stopped.

``LiveHall(options).run()`` mints the hall's credentials (provision.py), starts the
hub on the embedded SQLite store of the data directory with a hall clock (resumed
where the last run stopped, on the same day), then a virtual printer per kiosk, the
LED strip double and its bridge, the zone B wall with voice, the kiosks of zones A
and B with simulated citizens, caller panels with simulated clerks, the 好差评 pad,
the console and the simulated clerks of the other windows. Any part that dies ends
the demo with exit 1. Ctrl-C (or SIGTERM, or the end of ``--minutes``) stops the
actors first, lets the screens catch up, then stops the rest in order.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from ..hall import Hall
from ..simulator.arrivals import Arrival, open_periods, write_arrivals
from ..simulator.generate import GenOptions, generate
from .provision import (
    EVALUATOR,
    KIOSKS,
    LED_WINDOWS,
    PANELS,
    STAFF,
    WALL_ZONE,
    Credentials,
    clerk_of,
    provision,
)

PY = sys.executable
READY_S = 30.0             # a part must say it is ready within this long
SETTLE_S = 3.0             # after the actors stop, the screens catch up for this long
STOP_S = 10.0              # a part must stop within this long of its signal


@dataclass(frozen=True)
class LiveOptions:
    hall_file: str
    data: Path
    headless: bool
    minutes: float | None = None      # wall minutes; None: until Ctrl-C
    speed: float = 10.0               # hall seconds per real second
    load: float = 0.85
    seed: int = 7
    port: int = 0
    db: str | None = None             # the store's URL (default: SQLite in ``data``)
    screenshot: Path | None = None
    day: str | None = None            # the business day, "2026-11-23" (default: today's)
    start: str | None = None          # hall time to start at, "09:00" (default: resume)


@dataclass
class Part:
    name: str
    cmd: list[str]
    env: dict[str, str] = field(default_factory=dict)
    stop_signal: int = signal.SIGTERM
    ready: str | None = None          # a regex its first stdout line must match
    grabs: bool = False               # a Qt window that SIGUSR1 grabs to a PNG
    proc: subprocess.Popen[str] | None = None
    found: str = ""                   # what ``ready`` captured
    exit_code: int | None = None
    killed: bool = False


class PartFailed(Exception):
    pass


def _detach() -> None:
    """In the child: its own session (the terminal's Ctrl-C reaches only the demo, which
    stops the parts in order), and a SIGTERM should the demo itself be killed."""
    os.setsid()
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)   # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class LiveHall:
    def __init__(self, hall: Hall, opts: LiveOptions, out: Any = print) -> None:
        self.hall, self.opts, self.out = hall, opts, out
        self.data = opts.data
        self.parts: list[Part] = []
        self.problems: list[str] = []
        self.creds: Credentials | None = None
        self.run_dir = self.data / "runs" / datetime.now().strftime("%Y%m%d-%H%M%S")
        self.started_wall = 0.0
        self.start_at = 0.0
        self._stop = threading.Event()

    # ------------------------------------------------------------ the clock

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.hall.timezone)

    def day(self) -> str:
        if self.opts.day:
            return self.opts.day
        day = datetime.now(self.tz).date()
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day.isoformat()

    def choose_start(self) -> float:
        """The hall time to start at: --start, or where the last run on this day stopped
        (moved to the next opening if it stopped in a break), or the day's opening."""
        day = datetime.fromisoformat(self.day()).date()
        midnight = datetime.combine(day, dt_time(0), self.tz).timestamp()
        if self.opts.start:
            hh, mm = (int(x) for x in self.opts.start.split(":"))
            return midnight + hh * 3600 + mm * 60
        opening = midnight + open_periods(self.hall)[0][0]
        saved = self._saved_clock()
        if saved is None or saved.get("day") != self.day():
            return opening
        at = float(saved["hall_time"]) - midnight
        for start, end in open_periods(self.hall):
            if at < end:
                return midnight + max(at, start)
        return midnight + at        # after closing: the day is over, the hall stays shut

    def _saved_clock(self) -> dict[str, Any] | None:
        try:
            return json.loads((self.data / "clock.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def hall_now(self) -> float:
        return self.start_at + (time.monotonic() - self.started_wall) * self.opts.speed

    def save_clock(self) -> None:
        if self.started_wall:
            (self.data / "clock.json").write_text(json.dumps(
                {"day": self.day(), "hall_time": self.hall_now()}), encoding="utf-8")

    # ------------------------------------------------------------ parts

    def _env(self, token_of: str | None = None, **extra: str) -> dict[str, str]:
        env = {"PYTHONUNBUFFERED": "1"}
        if self.opts.headless:
            env["QT_QPA_PLATFORM"] = "offscreen"
        if token_of is not None:
            assert self.creds is not None
            env["ONEWINDOW_TOKEN"] = self.creds.tokens[token_of]
        return {**env, **extra}

    def launch(self, part: Part) -> Part:
        log = (self.run_dir / f"{part.name}.log").open("w", encoding="utf-8")
        part.proc = subprocess.Popen(
            part.cmd, stdout=subprocess.PIPE if part.ready else log, stderr=log,
            stdin=subprocess.DEVNULL, text=True, env={**os.environ, **part.env},
            preexec_fn=_detach)
        self.parts.append(part)
        if part.ready:
            part.found = self._await_ready(part, log)
        return part

    def _await_ready(self, part: Part, log: IO[str]) -> str:
        assert part.proc is not None and part.proc.stdout is not None
        line = part.proc.stdout.readline()
        match = re.search(part.ready or "", line)
        if not match:
            raise PartFailed(f"{part.name} did not start: {line.strip() or 'no output'} "
                             f"(its log: {self.run_dir / (part.name + '.log')})")
        log.write(line)
        stdout = part.proc.stdout

        def drain() -> None:
            for rest in stdout:
                log.write(rest)
            log.flush()

        threading.Thread(target=drain, daemon=True).start()
        return match.group(1)

    def start(self) -> None:
        self.data.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.creds = creds = provision(self.data, self.hall)
        self.start_at = self.choose_start()
        local = datetime.fromtimestamp(self.start_at, self.tz)
        arrivals = self.run_dir / "arrivals.csv"
        self._write_arrivals(arrivals, local)
        kiosk_plan = self.run_dir / "kiosk-plan.json"
        kiosk_plan.write_text(json.dumps({"arrivals": arrivals.name, "speed": self.opts.speed}),
                              encoding="utf-8")
        cli = [PY, "-m", "dispatcher.cli"]
        hub = self.launch(Part("hub", [
            *cli, "serve", "--hall", self.opts.hall_file, "--devices", str(creds.devices_file),
            "--clerks", str(creds.clerks_file),
            *(["--db", self.opts.db] if self.opts.db else ["--data", str(self.data)]),
            "--port", str(self.opts.port), "--start-at", local.strftime("%Y-%m-%d %H:%M:%S"),
            "--speed", str(self.opts.speed)], self._env(),
            ready=r"listening on (wss?://\S+)"))
        self.started_wall = time.monotonic()
        url = hub.found.rstrip("/,;")
        self.url = url
        printers = {k: self.launch(Part(f"printer-{k}", [
            *cli, "printer-sim", "--port", "0", "--out", str(self.run_dir / f"printer-{k}")],
            self._env(), ready=r"virtual printer (tcp://\S+)")).found for k in KIOSKS}
        strip = self.launch(Part("led-strips", [
            PY, "-m", "dispatcher.livedemo.strip", "--record",
            str(self.run_dir / "led.jsonl")], self._env(), ready=r"strip (\S+)"))
        self.launch(Part("led-bridge", [
            *cli, "led-bridge", "--port", strip.found, "--server", url, "--device", "LED-1",
            "--map", ",".join(f"{w}={i}" for i, w in enumerate(LED_WINDOWS, 1))],
            self._env("LED-1"), stop_signal=signal.SIGINT))
        wall = f"D-{WALL_ZONE}"
        self.launch(Part("wall", [
            *cli, "display", "--server", url, "--device", wall, "--layout", "1080p",
            "--voice", "silent" if self.opts.headless else "auto",
            "--record", str(self.run_dir / "wall.jsonl")], self._env(wall), grabs=True))
        for kiosk in KIOSKS:
            self.launch(Part(kiosk, [
                *cli, "kiosk", "--server", url, "--device", kiosk, "--printer", printers[kiosk],
                "--no-fullscreen", "--autopilot", str(kiosk_plan),
                "--record", str(self.run_dir / f"{kiosk}.jsonl")], self._env(kiosk),
                grabs=True))
        for window in PANELS:
            plan = self.run_dir / f"plan-{window}.json"
            plan.write_text(json.dumps({
                "clerk": clerk_of(window), "seed": self.opts.seed * 100 + PANELS.index(window),
                "speed": self.opts.speed,
                "service_s": {q.id: q.service_seconds for q in self.hall.queues.values()}}),
                encoding="utf-8")
            device = f"C-{window}"
            self.launch(Part(device, [
                *cli, "caller", "--window", window, "--server", url, "--device", device,
                "--autopilot", str(plan), "--record", str(self.run_dir / f"{device}.jsonl")],
                self._env(device, ONEWINDOW_PIN=creds.pins[clerk_of(window)]), grabs=True))
        evaluator = f"E-{EVALUATOR}"
        self.launch(Part(evaluator, [
            *cli, "evaluator", "--window", EVALUATOR, "--server", url, "--device", evaluator,
            "--autopilot", str(self.opts.seed), "--record",
            str(self.run_dir / f"{evaluator}.jsonl")], self._env(evaluator), grabs=True))
        self.launch(Part("console", [
            PY, "-m", "dispatcher.livedemo.console_app", "--server", url,
            "--record", str(self.run_dir / "console.jsonl")],
            self._env("CONSOLE-1", ONEWINDOW_STAFF=STAFF, ONEWINDOW_PIN=creds.pins[STAFF]),
            grabs=True))
        self.launch(Part("clerks", [
            PY, "-m", "dispatcher.livedemo.clerks", "--server", url, "--data", str(self.data),
            "--hall", self.opts.hall_file, "--seed", str(self.opts.seed),
            "--speed", str(self.opts.speed),
            "--record", str(self.run_dir / "clerks.jsonl")], self._env()))

    def _write_arrivals(self, path: Path, local: datetime) -> None:
        gen = generate(self.hall, GenOptions(load=self.opts.load, seed=self.opts.seed))
        after = local.hour * 3600 + local.minute * 60 + local.second
        rows: list[Arrival] = [a for a in gen if a.at >= after]
        with path.open("w", encoding="utf-8", newline="") as f:
            write_arrivals(rows, f)

    # ------------------------------------------------------------ watching

    def dead(self) -> list[Part]:
        return [p for p in self.parts if p.proc is not None and p.proc.poll() is not None]

    def watch(self) -> None:
        """Until the minutes are up, Ctrl-C, or a part dies (a problem)."""
        deadline = (time.monotonic() + self.opts.minutes * 60) if self.opts.minutes else None
        last_save = 0.0
        while not self._stop.is_set():
            if deadline is not None and time.monotonic() >= deadline:
                return
            for part in self.dead():
                self.problems.append(f"{part.name} stopped by itself (exit "
                                     f"{part.proc.returncode if part.proc else '?'}); its log: "
                                     f"{self.run_dir / (part.name + '.log')}")
            if self.problems:
                return
            if time.monotonic() - last_save > 2:
                self.save_clock()
                last_save = time.monotonic()
            self._stop.wait(0.5)

    def request_stop(self, *_: object) -> None:
        self._stop.set()

    # ------------------------------------------------------------ stopping

    ACTORS = ("clerks", "console", "C-", "E-", "K-")

    def stop(self) -> None:
        """The actors first (no new ticket, call or rating), a moment for the screens to
        show what was done, then the screens, the devices, the printers and the hub."""
        actors = [p for p in self.parts if p.name.startswith(self.ACTORS)]
        self._signal_all(actors)
        if actors:
            time.sleep(SETTLE_S)
        self._signal_all([p for p in self.parts if p not in actors and p.name != "hub"])
        self._signal_all([p for p in self.parts if p.name == "hub"])
        self.save_clock()

    def _signal_all(self, parts: list[Part]) -> None:
        for part in parts:
            if part.proc is not None and part.proc.poll() is None:
                part.proc.send_signal(part.stop_signal)
        for part in parts:
            if part.proc is None:
                continue
            try:
                part.exit_code = part.proc.wait(STOP_S)
            except subprocess.TimeoutExpired:
                part.proc.kill()
                part.exit_code, part.killed = part.proc.wait(5), True

    def kill_problems(self) -> list[str]:
        return [f"{p.name} did not stop: killed after {STOP_S:g} s" for p in self.parts
                if p.killed]

    def stop_problems(self) -> list[str]:
        return [f"{p.name} did not stop cleanly (" + ("killed after "
                f"{STOP_S:g} s" if p.killed else f"exit {p.exit_code}") + ")"
                for p in self.parts if p.killed or p.exit_code not in (0, None)]

    # ------------------------------------------------------------ screenshots

    def grab(self, to: Path) -> Path | None:
        from .shots import compose

        grabbers = [p for p in self.parts if p.grabs and p.proc and p.proc.poll() is None]
        for part in grabbers:
            png = self.run_dir / f"{part.name}.png"
            png.unlink(missing_ok=True)
            assert part.proc is not None
            part.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        pngs = [self.run_dir / f"{p.name}.png" for p in grabbers]
        while time.monotonic() < deadline and not all(p.is_file() for p in pngs):
            time.sleep(0.2)
        time.sleep(0.5)      # the last one written whole
        found = [p for p in pngs if p.is_file()]
        return compose(found, to) if found else None


def run_live(hall: Hall, opts: LiveOptions, out: Any = print) -> int:
    """Run the live hall; 0 when every part ran and stopped cleanly and the counts
    agree, 1 otherwise (each problem printed as one ``problem:`` line)."""
    from .summary import last_seq, summarize

    live = LiveHall(hall, opts, out)
    db_url = opts.db or f"sqlite:///{opts.data / 'hall.db'}"
    since = last_seq(db_url) if opts.db or (opts.data / "hall.db").is_file() else 0
    previous = {sig: signal.signal(sig, live.request_stop)
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            live.start()
            _banner(live, out)
            live.watch()
            if opts.screenshot and not live.problems:
                shot = live.grab(opts.screenshot)
                out(f"screenshot: {shot}" if shot else "screenshot: no window was grabbed")
        except PartFailed as exc:
            live.problems.append(str(exc))
        finally:
            live.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    # after a part died, the others' exits say little (one still starting ends on SIGTERM)
    problems = live.problems + (live.kill_problems() if live.problems else
                                live.stop_problems())
    wall_windows = [w.id for w in hall.windows.values() if w.zone == WALL_ZONE]
    if live.started_wall:
        summary = summarize(live.run_dir, db_url, since, wall_windows, live.start_at)
        out(f"\nThe hall from {_hhmm(live.start_at, live.tz)} to "
            f"{_hhmm(live.hall_now(), live.tz)} (hall time, {opts.speed:g}× real time):")
        for line in summary.lines:
            out(line)
        problems += summary.problems
    for problem in problems:
        out(f"problem: {problem}")
    out(f"records and logs: {live.run_dir}")
    return 1 if problems else 0


def _hhmm(at: float, tz: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, tz).strftime("%H:%M")


def _banner(live: LiveHall, out: Any) -> None:
    assert live.creds is not None
    names = ", ".join(p.name for p in live.parts)
    out(f"OneWindow live demo: {live.hall.name} ({live.hall.name_en}), hub {live.url}, "
        f"day {live.day()} from {_hhmm(live.start_at, live.tz)} at {live.opts.speed:g}× speed")
    out(f"running: {names}")
    out(f"console sign-in: {STAFF}, PIN {live.creds.pins[STAFF]} (this demo's own, "
        f"in {live.creds.secrets_file})")
    local = datetime.fromtimestamp(live.start_at, live.tz)
    at = local.hour * 3600 + local.minute * 60 + local.second
    if not any(start <= at < end for start, end in open_periods(live.hall)):
        out(f"the hall is closed at {local:%H:%M}: this day is over in {live.data} "
            "(remove that folder to start a new one)")
    if live.opts.minutes:
        out(f"for {live.opts.minutes:g} minutes; Ctrl-C stops sooner")
    else:
        out("Ctrl-C stops the hall")
