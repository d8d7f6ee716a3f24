"""The hub's CPU per ticket outside the fan-out, at the biggest hall's peak (issue 22).

    python -m bench.bench_ticket_cpu [--cycles N] [--rounds R] [--before DIR]

The hall: bench/peak_setup.py's, 300 windows in 4 zones (one big-loop queue each, a
minute's service). Each scene opens some windows per zone and plays the hour before
10:00 through the core (citizens coming at the rate its open windows serve, 20,000
an hour with every window open; services of 54 s on average), then cancels the oldest
tickets (or issues more) until each zone's line holds the scene's count; the day goes
to a SQLite store in a temporary folder and a ``Hub`` starts on it (its own observer
builds the frames). Then, at the peak's pace, round after round in each zone: a kiosk
of the zone issues a ticket, a window finishes its ticket and calls the next one, so
the lines stay as long.

Every few rounds a kiosk of the zone asks ``queue_status`` (kiosks ask every 15 s):
timed too, as a query ("status"), apart from the commands.

Each command is timed in CPU (process time) on the hub's path outside the fan-out:
``HallService.decide`` (the core decides and applies; the hub's observer builds the
event's frames) and the reply (``Hub._result``: on an issue the printed wait, then
``protocol.reply_ok``); nothing is committed. Beside it, in the same process, two
floors per command: a bare ``json.dumps`` of its events' dicts, and a bare dict update.
The objects of the start are frozen out of the garbage collector's reach first
(``gc.freeze``): else a full collection, which walks the day's 20,000 tickets, costs
about 40 ms of CPU and lands on some command's p99.

``--before DIR``: the same bench, in a subprocess, on another copy of the code (say
the last commit's: ``mkdir DIR && git archive HEAD dispatcher bench | tar -x -C DIR``),
interleaved round by round with this one (``--after DIR``: measure another copy than
this tree, say the last commit's with only some files changed). p50 and p99 in µs over
every round.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import heapq
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if __name__ == "__main__" and str(ROOT) not in sys.path:   # run as a script (--worker)
    sys.path.append(str(ROOT))

from bench.peak_setup import Plan, hall_toml  # noqa: E402
from dispatcher import protocol as p  # noqa: E402
from dispatcher.core import commands as cmd  # noqa: E402
from dispatcher.core import events as ev  # noqa: E402
from dispatcher.core.dispatcher import Dispatcher  # noqa: E402
from dispatcher.core.errors import DispatchError  # noqa: E402
from dispatcher.hall import Hall, parse_hall  # noqa: E402
from dispatcher.hub.devices import Device  # noqa: E402
from dispatcher.hub.queries import run_query  # noqa: E402
from dispatcher.hub.server import Hub  # noqa: E402
from dispatcher.service import HallService  # noqa: E402
from dispatcher.store import EventStore  # noqa: E402

PLAN = Plan(windows=300, kiosks=20, listeners=1, zones=4)
SERVICE = 54.0            # seconds a service takes on average: 300 windows, 20,000 an hour
PACE = 3600 / 20_000      # seconds between tickets at the peak
# scene: per zone A-D, (windows open, tickets waiting)
SCENES = {
    "peak, every window open": ((75, 100), (75, 200), (75, 300), (75, 400)),
    "thin zones": ((75, 300), (40, 400), (10, 200), (1, 400)),
    "one window open": ((1, 400), (0, 0), (0, 0), (0, 0)),
}
COMMANDS = ("issue", "finish", "call")
STATUS_EVERY = 5          # cycles between a kiosk's queue_status query (not a command)


class Clock:
    """The hub's clock, set by the bench."""

    now = 0.0

    def __call__(self) -> float:
        return self.now


def peak_hall() -> Hall:
    return parse_hall(tomllib.loads(hall_toml(PLAN)), "peak-bench.toml")


def ten_o_clock(hall: Hall) -> float:
    return datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo(hall.timezone)).timestamp()


def played_hour(hall: Hall, scene: tuple[tuple[int, int], ...], seed: int = 1
                ) -> tuple[list[ev.Event], dict[str, list[str]]]:
    """The events of the hour before 10:00 and the windows open per zone."""
    rng, core, log = random.Random(seed), Dispatcher(hall), []
    start, end = ten_o_clock(hall) - 3600, ten_o_clock(hall)

    def run(command: cmd.Command, now: float) -> None:
        with contextlib.suppress(DispatchError):   # a window with nobody to call
            log.extend(core.execute(command, now))

    opened = {z: PLAN.zone_windows[z][:n] for z, (n, _) in zip(PLAN.zone_ids, scene,
                                                                  strict=True)}
    todo: list[tuple[float, str, str]] = []
    for zone, windows in opened.items():
        for window in windows:
            run(cmd.OpenWindow(window), start)
            todo.append((start + rng.uniform(0, 60), "free", window))
        t = start
        while windows and (t := t + rng.expovariate(len(windows) / SERVICE)) < end:
            todo.append((t, "issue", zone))
    heapq.heapify(todo)
    while todo and todo[0][0] < end:
        t, what, who = heapq.heappop(todo)
        if what == "issue":
            run(cmd.IssueTicket(PLAN.queue(who), zone=who), t)
            continue
        if core.state.windows[who].ticket:
            run(cmd.FinishService(who), t)
        run(cmd.CallNext(who), t)
        busy = core.state.windows[who].ticket is not None
        heapq.heappush(todo, (t + (10 + rng.expovariate(1 / 44) if busy else 5), "free", who))
    for zone, (_, waiting) in zip(PLAN.zone_ids, scene, strict=True):
        line = core.state.queue_lines[PLAN.queue(zone)]
        for _, _, tid in list(line[:max(0, len(line) - waiting)]):
            run(cmd.Cancel(tid, reason="bench"), end)
        while len(line) < waiting:
            run(cmd.IssueTicket(PLAN.queue(zone), zone=zone), end)
    return log, opened


def started_hub(hall: Hall, log: list[ev.Event], folder: Path, clock: Clock) -> Hub:
    url = f"sqlite:///{folder / 'day.db'}"
    with EventStore.open(url, hall=hall) as store:
        for i in range(0, len(log), 2_000):
            store.append(log[i:i + 2_000])
    store = EventStore.open(url, hall=hall)
    hub = Hub(lambda observer: HallService(hall, store, observer), {}, clock=clock)
    hub.service.snapshots.stop()
    return hub


def timed_cycles(hub: Hub, clock: Clock, opened: dict[str, list[str]], cycles: int
                 ) -> dict[str, dict[str, list[int]]]:
    """ns of CPU per command (and its floors) per zone, ``cycles`` rounds."""
    out: dict[str, dict[str, list[int]]] = {}
    kiosks = {z: Device(f"K-{z}01", "kiosk", "sha256$00$00", zone=z) for z in opened}
    service, cpu = hub.service, time.process_time_ns
    now = max(clock.now, ten_o_clock(hub.hall))   # on from the last cycles
    for i in range(cycles):
        for zone, windows in opened.items():
            if not windows:
                continue
            window = windows[i % len(windows)]
            for name, command, device in (
                    ("issue", cmd.IssueTicket(PLAN.queue(zone), zone=zone), kiosks[zone]),
                    ("finish", cmd.FinishService(window), None),
                    ("call", cmd.CallNext(window), None)):
                now += PACE / 3
                clock.now = now
                begin = cpu()
                decided = service.decide(command, now)
                p.reply_ok("b", hub._result(decided, device))
                took = cpu() - begin
                service.take()
                samples = out.setdefault(zone, {})
                samples.setdefault(name, []).append(took)
                dicts = [e.to_dict() for _, e in decided]
                begin = cpu()
                json.dumps(dicts, ensure_ascii=False, separators=(",", ":"))
                samples.setdefault(f"{name} floor json", []).append(cpu() - begin)
                scratch: dict[str, Any] = {}
                begin = cpu()
                scratch.update(dicts[-1])
                samples.setdefault(f"{name} floor dict", []).append(cpu() - begin)
            if i % STATUS_EVERY == 0:   # the zone's kiosks ask every 15 s
                begin = cpu()
                p.reply_ok("q", run_query(hub, kiosks[zone], "queue_status", {}))
                out[zone].setdefault("queue_status", []).append(cpu() - begin)
    return out


def worker(cycles: int) -> dict[str, Any]:
    hall, clock = peak_hall(), Clock()
    results: dict[str, Any] = {}
    for scene, zones in SCENES.items():
        log, opened = played_hour(hall, zones)
        folder = Path(tempfile.mkdtemp(prefix="bench-ticket-cpu-"))
        clock.now = 0.0
        hub = started_hub(hall, log, folder, clock)
        gc.collect()
        gc.freeze()   # the day so far stays: no full collection walks it (40 ms of CPU)
        try:
            timed_cycles(hub, clock, opened, 5)   # warm
            results[scene] = timed_cycles(hub, clock, opened, cycles)
        finally:
            hub.service.close()
            shutil.rmtree(folder, ignore_errors=True)
    return results


def run_worker(code: Path, cycles: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join((str(code), str(ROOT)))}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                           "--cycles", str(cycles)], env=env, capture_output=True,
                          text=True, check=False, cwd=code)
    if done.returncode != 0:
        raise SystemExit(f"error: the worker on {code} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def merged(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for one in rounds:
        for scene, zones in one.items():
            for zone, series in zones.items():
                for name, samples in series.items():
                    out.setdefault(scene, {}).setdefault(zone, {}).setdefault(
                        name, []).extend(samples)
    return out


def pct(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] / 1000


def report(now: dict[str, Any], before: dict[str, Any] | None) -> None:
    print(f"CPU µs per command outside the fan-out, p50 / p99; load average "
          f"{os.getloadavg()[0]:.2f}")
    head = f"{'zone (open, waiting)':22} {'command':8} {'now':>15}"
    head += f" {'before':>15} {'÷':>6}" if before else ""
    print(head + f" {'floor json':>15} {'floor dict':>11}")
    for scene, zones in SCENES.items():
        print(f"\n{scene}")
        for zone, (open_n, waiting) in zip(PLAN.zone_ids, zones, strict=True):
            series = now[scene].get(zone)
            if series is None:
                continue
            for name in COMMANDS:
                line = (f"{zone} ({open_n}, {waiting})"[:22].ljust(22)
                        + f" {name:8} {pct(series[name], .5):7.0f} {pct(series[name], .99):7.0f}")
                if before:
                    old = before[scene][zone][name]
                    line += (f" {pct(old, .5):7.0f} {pct(old, .99):7.0f}"
                             f" {pct(old, .5) / pct(series[name], .5):5.1f}×")
                json_floor, dict_floor = series[f"{name} floor json"], series[f"{name} floor dict"]
                line += (f" {pct(json_floor, .5):7.1f} {pct(json_floor, .99):7.1f}"
                         f" {pct(dict_floor, .5):11.2f}")
                print(line)
            status = series["queue_status"]
            line = f"{'':22} {'status':8} {pct(status, .5):7.0f} {pct(status, .99):7.0f}"
            if before:
                old = before[scene][zone]["queue_status"]
                line += (f" {pct(old, .5):7.0f} {pct(old, .99):7.0f}"
                         f" {pct(old, .5) / pct(status, .5):5.1f}×")
            print(line + "   (a kiosk's queue_status query)")
            total = sum(pct(series[n], .5) for n in COMMANDS)
            line = f"{'':22} {'ticket':8} {total:7.0f}"
            if before:
                old_total = sum(pct(before[scene][zone][n], .5) for n in COMMANDS)
                line += f" {'':7} {old_total:7.0f} {'':7} {old_total / total:5.1f}×"
            print(line + "   (issue + finish + call, p50s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=150, help="rounds per zone and scene")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", type=Path, help="a copy of the code to compare with")
    parser.add_argument("--after", type=Path, default=ROOT,
                        help="the code to measure (default: this tree)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.cycles)))
        return 0
    now_rounds, before_rounds = [], []
    for _ in range(args.rounds):
        if args.before is not None:
            before_rounds.append(run_worker(args.before.resolve(), args.cycles))
        now_rounds.append(run_worker(args.after.resolve(), args.cycles))
    report(merged(now_rounds), merged(before_rounds) if before_rounds else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
