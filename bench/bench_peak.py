"""The biggest hall's peak on one hub (issue 22), measured from outside.

    python -m bench.bench_peak [--quick] [--listeners 2000] [--windows 300]
        [--kiosks 20] [--tickets 20000] [--per-hour 20000] [--rate real|full|both]
        [--real-seconds 300] [--floor-seconds 60] [--storm/--no-storm] [--dir DIR]

A generated hall of ``--windows`` windows in 4 zones (bench/peak_setup.py), every
device provisioned with ``onewindow token --devices``; ``onewindow serve`` as a
subprocess on SQLite (WAL, synchronous=FULL) with the training clock at 09:30 of a
Monday. Load, all over real sockets (bench/peak_wire.py's lean client):

* listeners: ``--listeners`` hall displays in ``--listener-procs`` processes
  (bench/peak_listeners.py), each ticket_called stamped on arrival;
* this process: one caller per window and ``--kiosks`` kiosks.

Parts, in this order:

1. Issue throughput (a fresh hub, no listeners): issue_ticket by 4 kiosks, by every
   kiosk, and by one kiosk with 20 in flight, beside a bare one-row commit and a bare
   batched commit (20 rows a transaction) in the same directory; chunks interleaved.
2. The day: ``--tickets`` tickets through issue → call → finish. At the real rate
   (``--per-hour``, open loop: each ticket is sent at its time whatever the replies
   before it; each window calls at its turn and finishes 80% of a turn later), then at
   full speed (each kiosk sends its next ticket on the reply to the last; each window
   calls as soon as its zone has a ticket waiting and finishes at once). ``--rate
   both`` runs ``--real-seconds`` at the real rate and the rest at full speed.
   Call → screen of a call: from just before the call_next is sent to the arrival of
   its ticket_called at each listener (per (call, listener) pair), and to the last
   listener (per call).
3. Floor: the hub's very frames of the first ``--floor-seconds`` of the real-rate
   part, as a display received them, sent again at the same moments through
   bench/hub_floor.py (a bare websockets broadcast server with the hub's settings) to
   as many connections of the same listener processes; same call → screen figures.
4. Storm: a few probe tickets issued, then the hub killed with SIGKILL and started
   again on the same store; every device reconnects as the client library does (0.2 s
   doubling to 5 s, or to 1 s while nothing listens; jittered) with its last seq. Time
   from the kill until every device is resynced; meanwhile a caller sends call_next
   every 100 ms (its command latency): the probe, in a process of its own as a caller
   panel is (bench/peak_probe.py), and for comparison a second caller in this
   process's loop, which reconnects the other callers and kiosks at the same time.

Every figure also goes into one JSON line (``PEAK_JSON {...}``). Percentiles of call
→ screen come from histograms with 2%-wide bins; the others are exact (nearest rank).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import resource
import signal
import socket
import statistics
import sys
import tempfile
import time
import urllib.request
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_hub import START_AT, Server, filesystem
from bench.bench_store import SqliteFloor
from bench.hub_listeners import raise_nofile
from bench.peak_listeners import bin_value
from bench.peak_setup import ROOT, Plan, provision
from bench.peak_wire import Device, Wire, backoff, events_in, read_tokens

WAIT = 120.0                 # s: a step that takes longer is a failure
IN_FLIGHT = 20               # the "20 commands in flight" of the issue's goals
BATCH = 20                   # rows a transaction of the bare batched commit
PROBE_GAP = 0.1              # s between the storm probe's commands
RESYNC_LIMIT = 5.0           # s: the issue's storm goal, from the kill
COUNTERS = ("commits", "commands_committed")


def nearest_rank(values: Sequence[float], q: float) -> float:
    """dispatcher/stats.py's rule: the value of rank ⌈q·n⌉."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def hist_rank(hist: dict[int, int], q: float) -> float:
    total = sum(hist.values())
    if not total:
        return math.nan
    rank, seen = math.ceil(q * total), 0
    for i in sorted(hist):
        seen += hist[i]
        if seen >= rank:
            return bin_value(i)
    return math.nan


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu() -> float:
    use = resource.getrusage(resource.RUSAGE_SELF)
    return use.ru_utime + use.ru_stime


def ms(seconds: float) -> float:
    return round(seconds * 1e3, 2)


# ---------------------------------------------------------------- processes


class Load:
    """One bench/peak_listeners.py process."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: dict[str, asyncio.Queue[str]] = defaultdict(asyncio.Queue)
        self.closed: list[str] = []
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, url: str, tokens: Path, first: str, count: int) -> Load:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.peak_listeners", url, str(tokens), first, str(count),
            cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            limit=2**28)
        self = cls(proc)
        got = int(await self.expect("ready", WAIT * 2))
        if got != count:
            raise RuntimeError(f"listener process: {got} of {count} connected")
        return self

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            kind, _, rest = raw.decode().rstrip("\n").partition(" ")
            if kind == "closed":
                self.closed.append(rest)
            self.lines[kind].put_nowait(rest)
        self.lines["ready"].put_nowait("-1")

    async def expect(self, kind: str, timeout: float = WAIT) -> str:
        return await asyncio.wait_for(self.lines[kind].get(), timeout)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")

    async def ask(self, line: str, kind: str) -> dict[str, Any]:
        self.send(line)
        return json.loads(await self.expect(kind))

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    async def quit(self) -> None:
        with contextlib.suppress(ConnectionError):
            self.send("quit")
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        await self.reader


class Loads:
    """Every listener process, addressed at once."""

    def __init__(self, loads: list[Load]) -> None:
        self.loads = loads

    def send(self, line: str) -> None:
        for load in self.loads:
            load.send(line)

    async def ask(self, line: str, kind: str) -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(load.ask(line, kind) for load in self.loads)))

    async def expect(self, kind: str, timeout: float = WAIT) -> list[str]:
        return list(await asyncio.gather(*(load.expect(kind, timeout) for load in self.loads)))

    def cpu(self) -> list[float]:
        return [load.cpu() for load in self.loads]

    @property
    def closed(self) -> list[str]:
        return [c for load in self.loads for c in load.closed]

    async def quit(self) -> None:
        await asyncio.gather(*(load.quit() for load in self.loads))

    async def settle(self, src: str, limit: float = WAIT) -> int:
        """Until every listener has every call sent so far (or ``limit`` seconds): the
        pairs still missing then."""
        deadline = time.monotonic() + limit
        while True:
            for load in self.loads:
                load.send(f"unreceived {src}")
            due = sum(int(x) for x in await self.expect("unreceived"))
            if due <= 0 or time.monotonic() > deadline:
                return due
            await asyncio.sleep(0.25)


async def start_loads(url: str, tokens_file: Path, ids: list[str], procs: int) -> Loads:
    share = math.ceil(len(ids) / procs)
    loads: list[Load] = []
    try:
        for i in range(0, len(ids), share):   # one at a time: the hub welcomes them in turn
            loads.append(await Load.start(url, tokens_file, ids[i], len(ids[i:i + share])))
    except BaseException:
        await Loads(loads).quit()
        raise
    return Loads(loads)


def free_port() -> int:
    """A port for a hub that must come back on the same one after a kill -9."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def hub_argv(hall: Path, devices: Path, db: Path, port: int = 0) -> list[str]:
    return ["-m", "dispatcher.cli", "serve", "--hall", str(hall), "--devices", str(devices),
            "--db", f"sqlite:///{db}", "--port", str(port), "--start-at", START_AT,
            # every load process connects from 127.0.0.1, which a hall's devices do not:
            # lift the per-address caps; a kiosk at full speed is over a person's rate
            "--max-per-address", "10000", "--max-connections", "10000",
            "--welcome-rate", "0", "--rate-limit", "0"]


class Hub:
    """The hub subprocess (bench_hub.Server) and what /proc says of it."""

    def __init__(self, server: Server, argv: list[str], log: Path) -> None:
        self.server, self.argv, self.log = server, argv, log

    @classmethod
    async def start(cls, argv: list[str], log: Path) -> Hub:
        return cls(await Server.start(argv, log), argv, log)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def pid(self) -> int:
        return self.server.proc.pid

    def memory(self) -> tuple[float, float]:
        return self.server.memory()

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    async def counters(self) -> dict[str, int]:
        """/healthz's counts of commits and the commands in them."""
        url = self.url.replace("ws://", "http://", 1) + "/healthz"

        def get() -> dict[str, Any]:
            with urllib.request.urlopen(url, timeout=WAIT) as response:
                return json.loads(response.read())
        health = await asyncio.to_thread(get)
        return {k: health[k] for k in COUNTERS}

    async def kill(self) -> None:
        self.server.proc.kill()
        await self.server.proc.wait()

    async def stop(self) -> None:
        await self.server.stop()


# ---------------------------------------------------------------- devices of this process


async def open_devices(url: str, specs: list[tuple[str, str]], tokens: dict[str, str]
                       ) -> dict[str, Device]:
    gate = asyncio.Semaphore(50)

    async def one(role: str, device: str) -> Device:
        conn = Device(url, role, device, tokens[device])
        async with gate:
            await conn.hello()
        return conn

    conns = await asyncio.gather(*(one(role, device) for role, device in specs))
    return {c.device: c for c in conns}


async def command(conn: Device, name: str, **args: Any) -> dict[str, Any]:
    reply = await asyncio.wait_for(conn.send_command(name, **args), WAIT)
    if not reply.get("ok"):
        raise RuntimeError(f"{conn.device} {name} {args} refused: {reply}")
    return dict(reply["result"])


def called_seq(result: dict[str, Any]) -> int:
    return next(int(e["seq"]) for e in result["events"] if e["name"] == "ticket_called")


# ---------------------------------------------------------------- 1. issue throughput


@dataclass
class Path1:
    """One path of part 1: rows (tickets) and the seconds they took, latencies."""

    rows: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def figures(self) -> dict[str, float]:
        return {"per_s": round(self.rows / self.seconds, 1) if self.seconds else math.nan,
                "p50_ms": ms(nearest_rank(self.latencies, 0.5)),
                "p99_ms": ms(nearest_rank(self.latencies, 0.99))}


async def kiosks_sequential(conns: list[Device], queues: list[str], each: int,
                            tally: Path1) -> None:
    async def run(conn: Device, queue: str) -> None:
        for _ in range(each):
            t0 = time.perf_counter()
            await command(conn, "issue_ticket", queue=queue)
            tally.latencies.append(time.perf_counter() - t0)

    begin = time.perf_counter()
    await asyncio.gather(*(run(c, q) for c, q in zip(conns, queues, strict=True)))
    tally.seconds += time.perf_counter() - begin
    tally.rows += each * len(conns)


async def kiosk_in_flight(conn: Device, queue: str, count: int, tally: Path1) -> None:
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with gate:
            t0 = time.perf_counter()
            await command(conn, "issue_ticket", queue=queue)
            tally.latencies.append(time.perf_counter() - t0)

    begin = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(count)))
    tally.seconds += time.perf_counter() - begin
    tally.rows += count


def floor_rows(floor: SqliteFloor, count: int, batch: int, tally: Path1) -> None:
    begin = time.perf_counter()
    for _ in range(0, count, batch):
        t0 = time.perf_counter()
        floor.conn.execute("BEGIN")
        floor.conn.executemany("INSERT INTO floor (data) VALUES (?)",
                               [("x" * 200,)] * batch)
        floor.conn.execute("COMMIT")
        tally.latencies.append(time.perf_counter() - t0)
    tally.seconds += time.perf_counter() - begin
    tally.rows += count - count % batch


ISSUE_PATHS = ("hub, 4 kiosks", "hub, every kiosk", f"hub, 1 kiosk, {IN_FLIGHT} in flight",
               "bare one-row commit (floor)", f"bare commit of {BATCH} rows (floor)")
# the hub's three paths against bench/commit_floor.py (websockets + group commit, no hub)
CEILING_PATHS = ("bare ws + group commit, 4 kiosks", "bare ws + group commit, every kiosk",
                 f"bare ws + group commit, {IN_FLIGHT} in flight")


async def three_paths(every: list[Device], queues: list[str], n: int, tallies: list[Path1]
                      ) -> None:
    four, all_kiosks, in_flight = tallies
    await kiosks_sequential(every[:4], queues[:4], n // 4, four)
    await kiosks_sequential(every, queues, max(1, n // len(every)), all_kiosks)
    await kiosk_in_flight(every[0], queues[0], n, in_flight)


async def issue_throughput(args: argparse.Namespace, ctx: Context) -> dict[str, dict[str, float]]:
    """Rounds of one chunk a path, interleaved; per path the median round's rate, the
    slowest round's, and p50/p99 over every command of every round."""
    hub = await Hub.start(hub_argv(ctx.hall, ctx.devices, ctx.tmp / "issue.db"),
                          ctx.tmp / "issue.log")
    ceiling = await Server.start(["-m", "bench.commit_floor", str(ctx.tmp / "ceiling.db")],
                                 ctx.tmp / "ceiling.log")
    floor = SqliteFloor(ctx.tmp / "floor.db")
    rounds: list[dict[str, Path1]] = []
    kiosks = ctx.plan_kiosks()
    queues = [q for _, q in kiosks]
    try:
        sides = []
        for url in (hub.url, ceiling.url):
            conns = await open_devices(url, [("kiosk", k) for k, _ in kiosks], ctx.tokens)
            sides.append([conns[k] for k, _ in kiosks])
            for conn, queue in zip(sides[-1], queues, strict=True):
                await command(conn, "issue_ticket", queue=queue)   # opens the day, warms up
        floor_rows(floor, 20, 1, Path1())
        n = args.issue_tickets
        for r in range(args.issue_rounds):
            got = {path: Path1() for path in ISSUE_PATHS + CEILING_PATHS}
            floor_rows(floor, n, 1, got[ISSUE_PATHS[3]])
            for every, paths in zip(sides, (ISSUE_PATHS[:3], CEILING_PATHS), strict=True):
                await three_paths(every, queues, n, [got[p] for p in paths])
            floor_rows(floor, n, BATCH, got[ISSUE_PATHS[4]])
            rounds.append(got)
            ctx.step(f"  round {r + 1}/{args.issue_rounds}: " + ", ".join(
                f"{p} {got[p].figures()['per_s']:.0f}/s" for p in got))
        for conn in (c for side in sides for c in side):
            conn.close()
    finally:
        floor.close()
        await hub.stop()
        await ceiling.stop()
    out = {}
    for path in ISSUE_PATHS + CEILING_PATHS:
        rates = [r[path].figures()["per_s"] for r in rounds]
        pooled = Path1(latencies=[x for r in rounds for x in r[path].latencies])
        out[path] = {**pooled.figures(), "per_s": round(statistics.median(rates), 1),
                     "slowest_round_per_s": min(rates)}
    return out


# ---------------------------------------------------------------- 2. the day


@dataclass
class Sent:
    """A command of the day: when it was sent (offset in its part), its kind, its
    events' seqs."""

    at: float
    kind: str
    seqs: list[int]
    called: int | None = None


@dataclass
class Part:
    """What one part of the day (real rate or full speed) measured."""

    name: str
    tickets: int = 0
    seconds: float = 0.0
    issue: list[float] = field(default_factory=list)
    call_reply: list[float] = field(default_factory=list)
    finish_reply: list[float] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    hub_cpu: float = 0.0
    load_cpu: list[float] = field(default_factory=list)
    self_cpu: float = 0.0
    screen: dict[str, Any] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)   # /healthz's, in this part
    stalls: dict[str, Any] = field(default_factory=dict)     # the hub's, in this part


@dataclass
class Context:
    """The run's hall, devices, tokens, temp dir and clock."""

    args: argparse.Namespace
    tmp: Path
    plan: Plan
    hall: Path
    devices: Path
    tokens: dict[str, str]
    listeners_file: Path
    began: float = field(default_factory=time.monotonic)

    def step(self, text: str) -> None:
        print(f"[{time.monotonic() - self.began:5.0f} s] {text}", flush=True)

    def plan_kiosks(self) -> list[tuple[str, str]]:
        """(kiosk, its queue), the zones taking turns: K-A01, K-B01, …, K-A02, …"""
        per_zone = [[(k, self.plan.queue(z)) for k in self.plan.zone_kiosks[z]]
                    for z in self.plan.zone_ids]
        out: list[tuple[str, str]] = []
        for i in range(max(map(len, per_zone))):
            out += [zone[i] for zone in per_zone if i < len(zone)]
        return out


class Day:
    """The day's devices in this process and the zones' waiting tickets."""

    def __init__(self, ctx: Context, url: str, conns: dict[str, Device], loads: Loads) -> None:
        self.ctx, self.url, self.conns, self.loads = ctx, url, conns, loads
        self.kiosks = ctx.plan_kiosks()
        self.waiting = {z: asyncio.Semaphore(0) for z in ctx.plan.zone_ids}
        self.window = 0.0   # calls sent this many seconds into a part: the floor's too

    def zone_of_queue(self, queue: str) -> str:
        return queue.rsplit("_", 1)[1].upper()

    def ticket_zone_counts(self, first: int, count: int) -> dict[str, int]:
        counts = dict.fromkeys(self.ctx.plan.zone_ids, 0)
        for i in range(first, first + count):
            counts[self.zone_of_queue(self.kiosks[i % len(self.kiosks)][1])] += 1
        return counts

    async def issue(self, part: Part, kiosk: str, queue: str, began: float) -> None:
        t0 = time.monotonic()
        result = await command(self.conns[kiosk], "issue_ticket", queue=queue)
        part.issue.append(time.monotonic() - t0)
        part.sent.append(Sent(t0 - began, "issue", [int(e["seq"]) for e in result["events"]]))
        self.waiting[self.zone_of_queue(queue)].release()

    async def call(self, part: Part, window: str, began: float) -> None:
        conn = self.conns[self.ctx.plan.caller(window)]
        t0 = time.monotonic()
        result = await command(conn, "call_next", window=window)
        part.call_reply.append(time.monotonic() - t0)
        seq = called_seq(result)
        self.loads.send(f"T hub {seq} {t0!r}{' w' if t0 - began <= self.window else ''}")
        part.sent.append(Sent(t0 - began, "call", [int(e["seq"]) for e in result["events"]],
                              seq))

    async def finish(self, part: Part, window: str, began: float) -> None:
        conn = self.conns[self.ctx.plan.caller(window)]
        t0 = time.monotonic()
        result = await command(conn, "finish_service", window=window)
        part.finish_reply.append(time.monotonic() - t0)
        part.sent.append(Sent(t0 - began, "finish", [int(e["seq"]) for e in result["events"]]))


async def at(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)


async def real_rate(day: Day, part: Part, first: int, count: int, per_hour: float) -> None:
    """Open loop: ticket i at its time on kiosk i mod K; window k of a zone of W windows
    calls the zone's tickets k, k+W, … a lag after each is due, finishes 80% of a turn
    later."""
    rate = per_hour / 3600
    kiosks = day.kiosks
    lag = max(2.0, 2 * len(kiosks) / rate)
    began = time.monotonic() + 0.5
    issues = [asyncio.create_task(_issue_at(day, part, kiosks[i % len(kiosks)],
                                            began + (i - first) / rate, began))
              for i in range(first, first + count)]
    per_zone = day.ticket_zone_counts(first, count)
    callers = []
    for zone, total in per_zone.items():
        windows = day.ctx.plan.zone_windows[zone]
        zone_rate = rate * total / count
        turn = len(windows) / zone_rate
        for k, window in enumerate(windows):
            calls = len(range(k, total, len(windows)))
            callers.append(asyncio.create_task(_window_paced(
                day, part, window, zone, calls, began + lag + k / zone_rate, turn, began)))
    await asyncio.gather(*issues, *callers)
    part.seconds = time.monotonic() - began


async def _issue_at(day: Day, part: Part, kiosk: tuple[str, str], when: float,
                    began: float) -> None:
    await at(when)
    await day.issue(part, kiosk[0], kiosk[1], began)


async def _window_paced(day: Day, part: Part, window: str, zone: str, calls: int,
                        first_at: float, turn: float, began: float) -> None:
    for n in range(calls):
        await at(first_at + n * turn)
        await day.waiting[zone].acquire()
        await day.call(part, window, began)
        await at(first_at + (n + 0.8) * turn)
        await day.finish(part, window, began)


async def full_speed(day: Day, part: Part, first: int, count: int) -> None:
    """Each kiosk issues its share back to back; each window calls as soon as its zone
    has a ticket waiting, finishes at once, until the zone's tickets are all called."""
    kiosks = day.kiosks
    shares = [0] * len(kiosks)
    for i in range(first, first + count):   # ticket i is kiosk i mod K's, as at the real rate
        shares[i % len(kiosks)] += 1
    left = day.ticket_zone_counts(first, count)
    began = time.monotonic()

    async def kiosk(k: int) -> None:
        for _ in range(shares[k]):
            await day.issue(part, kiosks[k][0], kiosks[k][1], began)

    async def window(zone: str, window: str) -> None:
        while left[zone] > 0:
            left[zone] -= 1
            await day.waiting[zone].acquire()
            await day.call(part, window, began)
            await day.finish(part, window, began)

    await asyncio.gather(*(kiosk(k) for k in range(len(kiosks))),
                         *(window(z, w) for z in day.ctx.plan.zone_ids
                           for w in day.ctx.plan.zone_windows[z]))
    part.seconds = time.monotonic() - began


async def run_part(day: Day, hub: Hub, name: str, work: Callable[[Part], Awaitable[None]],
                   tickets: int) -> Part:
    part = Part(name, tickets)
    cpu0, load0, self0 = hub.cpu(), day.loads.cpu(), self_cpu()
    counters, stalls = await hub.counters(), len(stall_lines(hub.log))
    await work(part)
    part.hub_cpu = hub.cpu() - cpu0
    part.stalls = loop_stalls(hub.log, skip=stalls)
    part.counters = {k: v - counters[k] for k, v in (await hub.counters()).items()}
    part.load_cpu = [b - a for a, b in zip(load0, day.loads.cpu(), strict=True)]
    part.self_cpu = self_cpu() - self0
    await day.loads.settle("hub")   # the last frames reach the listeners
    part.screen = merge_reports(await day.loads.ask("report hub", "report"),
                                len(day.ctx.plan.listener_ids()))
    return part


def merge_reports(reports: list[dict[str, Any]], listeners: int) -> dict[str, Any]:
    """Every process's histogram and per-call counts into the call → screen figures;
    ``window_*``: the same for the calls the floor sends again (the first seconds)."""
    hist: dict[int, int] = defaultdict(int)
    hist_window: dict[int, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    last: dict[str, float] = {}
    for rep in reports:
        for i, n in rep["hist"].items():
            hist[int(i)] += n
        for i, n in rep.get("hist_window", {}).items():
            hist_window[int(i)] += n
        for seq, (n, worst) in rep["calls"].items():
            count[seq] += n
            if worst is not None:
                last[seq] = max(last.get(seq, 0.0), worst)
    lasts = list(last.values())
    window = {str(seq) for rep in reports for seq in rep.get("window", ())}
    window_lasts = [v for seq, v in last.items() if seq in window]
    missing = sum(max(0, listeners - n) for n in count.values())
    extra = sum(max(0, n - listeners) for n in count.values())
    return {"calls": len(count), "pairs": sum(hist.values()), "missing": missing,
            "duplicates": extra,
            "gaps": sum(r["gaps"] for r in reports),
            "p50_ms": ms(hist_rank(hist, 0.5)), "p99_ms": ms(hist_rank(hist, 0.99)),
            "last_p50_ms": ms(nearest_rank(lasts, 0.5)),
            "last_p99_ms": ms(nearest_rank(lasts, 0.99)),
            "last_max_ms": ms(max(lasts)) if lasts else math.nan,
            "window_calls": len(window), "window_p50_ms": ms(hist_rank(hist_window, 0.5)),
            "window_p99_ms": ms(hist_rank(hist_window, 0.99)),
            "window_last_p50_ms": ms(nearest_rank(window_lasts, 0.5)),
            "window_last_p99_ms": ms(nearest_rank(window_lasts, 0.99))}


# ---------------------------------------------------------------- 3. floor


class Recorder(Device):
    """One more display connection in this process: keeps the public frames of the
    events the floor will send again."""

    def __init__(self, url: str, device: str, token: str) -> None:
        super().__init__(url, "display", device, token)
        self.frames: dict[int, bytes] = {}
        self.upto = 0

    def on_text(self, payload: bytes, t: float) -> None:
        if self.welcome.done():
            for seq, _ in events_in(payload):
                if seq <= self.upto:
                    self.frames[seq] = payload
        super().on_text(payload, t)


@dataclass
class Replay:
    """One frame the floor sends again: when (seconds into the part), and the calls
    whose ticket_called it carries with their own send moments."""

    frame: bytes
    at: float = 0.0
    calls: list[tuple[int, float]] = field(default_factory=list)


def replay_plan(sent: list[Sent], frames: dict[int, bytes], seconds: float) -> list[Replay]:
    """The frames of the commands sent in the part's first ``seconds``, in seq order.
    A frame may carry several commands' events (one commit): it goes when the last of
    them was sent, the earliest the hub could have sent it, and never before the frame
    ahead of it."""
    plan: dict[int, Replay] = {}        # by the frame's identity
    order: dict[int, int] = {}          # the frame's first seq
    for cmd in (s for s in sent if s.at <= seconds):
        for seq in cmd.seqs:
            frame = frames.get(seq)
            if frame is None:
                continue
            one = plan.setdefault(id(frame), Replay(frame))
            one.at = max(one.at, cmd.at)
            order[id(frame)] = min(order.get(id(frame), seq), seq)
            if seq == cmd.called:
                one.calls.append((seq, cmd.at))
    out = [plan[k] for k in sorted(plan, key=order.__getitem__)]
    for before, after in itertools.pairwise(out):
        after.at = max(after.at, before.at)
    return out


async def floor_replay(ctx: Context, loads: Loads, part: Part, frames: dict[int, bytes],
                       seconds: float) -> dict[str, Any]:
    """The hub's frames of the part's first ``seconds`` sent again, at the same moments,
    by a bare broadcast to as many connections. A call's t0 is its own moment in the
    part, on the clock of the actual send (this loop's lateness is not the floor's)."""
    floor = await Server.floor(ctx.tmp / "floor.log")
    try:
        loads.send(f"floor {floor.url}")
        await loads.expect("floor-ready", WAIT * 2)
        caller = Wire(floor.url + "/caller")
        await caller.connect()
        plan = replay_plan(part.sent, frames, seconds)
        cpu0 = cpu_seconds(floor.proc.pid)
        began = time.monotonic() + 0.5
        for one in plan:
            await at(began + one.at)
            t_send = time.monotonic()
            caller.send_text(one.frame.decode())
            for seq, call_at in one.calls:
                loads.send(f"T floor {seq} {t_send - (one.at - call_at)!r}")
        await loads.settle("floor")
        floor_cpu = cpu_seconds(floor.proc.pid) - cpu0
        got = merge_reports(await loads.ask("report floor", "report"), len(ctx.plan.listener_ids()))
        for key in [k for k in got if k.startswith("window")] + ["gaps"]:
            del got[key]   # it sends only the commands' events, not the hub's own ones
        got.update(seconds=round(time.monotonic() - began, 1), floor_cpu_s=round(floor_cpu, 2),
                   frames=len(plan), commands=sum(1 for s in part.sent if s.at <= seconds))
        caller.close()
        loads.send("floor-close")
        await loads.expect("floor-closed")
        return got
    finally:
        await floor.stop()


# ---------------------------------------------------------------- 4. storm


async def reconnect(conn: Device, fast: bool) -> Device:
    """The same device again with its last seq, retrying as the client library does
    (``fast``: every 50 ms, for the probe caller)."""
    attempt, refused = 0, False
    while True:
        await asyncio.sleep(0.05 if fast else backoff(attempt, refused))
        attempt += 1
        again = Device(conn.url, conn.role, conn.device, conn.token)
        again.last_seq = conn.last_seq
        try:
            await again.hello(WAIT)
            return again
        except (OSError, TimeoutError) as exc:
            refused = isinstance(exc, ConnectionRefusedError)
            again.abort()


class ProbeProcess:
    """The storm probe in a process of its own (bench/peak_probe.py), started before
    the kill so its interpreter's start is not timed."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.took: list[tuple[float, float]] = []
        self.back = self.resynced = math.nan

    @classmethod
    async def start(cls) -> ProbeProcess:
        return cls(await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.peak_probe", cwd=ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE))

    def order(self, conn: Device, window: str, most: int) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({
            "url": conn.url, "device": conn.device, "token": conn.token, "most": most,
            "last_seq": conn.last_seq, "window": window, "gap": PROBE_GAP}).encode() + b"\n")

    async def stop(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"stop\n")
        async for raw in self.proc.stdout:
            what, *values = raw.decode().split()
            if what == "took":
                self.took.append((float(values[0]), float(values[1])))
            elif what in ("back", "resynced"):
                setattr(self, what, float(values[0]))
        if await self.proc.wait() != 0 or not self.took:
            raise RuntimeError("the storm probe failed (its stderr is above)")


async def storm(ctx: Context, hub: Hub, day: Day) -> tuple[Hub, dict[str, Any]]:
    """Kill -9, restart, and time every device's return. Two callers of the first zone
    call meanwhile: the probe in a process of its own (the goal's figure: a caller
    panel is alone in its process) and one in this loop, which also reconnects the
    other callers and kiosks (its latencies are partly this process's own)."""
    window, near_window = await storm_ready(ctx, day)
    probe = await ProbeProcess.start()
    killed = time.monotonic()
    await hub.kill()
    probe.order(day.conns.pop(ctx.plan.caller(window)), window, ctx.args.probes)
    restarted = await Hub.start(hub.argv, ctx.tmp / "storm.log")
    listening, cpu_at_listen = time.monotonic(), restarted.cpu()
    near_id = ctx.plan.caller(near_window)
    tasks = {d: asyncio.create_task(reconnect(c, d == near_id)) for d, c in day.conns.items()}
    everyone = asyncio.ensure_future(asyncio.gather(day.loads.expect("allback", WAIT * 2),
                                                    *tasks.values()))
    near = await call_meanwhile(await tasks[near_id], near_window, everyone, ctx.args.probes)
    await everyone
    storm_over, storm_cpu = time.monotonic(), restarted.cpu() - cpu_at_listen
    await probe.stop()
    day.conns = {d: t.result() for d, t in tasks.items()}
    await wait_resynced(list(day.conns.values()))
    reports = await day.loads.ask("storm", "storm")
    mine = [c.resynced_at for c in day.conns.values() if c.resynced_at is not None]
    alone = [took for t0, took in probe.took if t0 < storm_over]
    figures = storm_figures(reports, [*mine, probe.resynced], killed, listening, alone, near)
    # the hub's share of a core from its listening until every device was back
    return restarted, {**figures, "hub_cpu_share": round(storm_cpu / (storm_over - listening),
                                                         2)}


async def storm_ready(ctx: Context, day: Day) -> tuple[str, str]:
    """The probes' tickets issued (up to --probes calls each), the load processes'
    counts reset; the two probe windows."""
    zone = ctx.plan.zone_ids[0]
    kiosk = next(k for k, q in day.kiosks if q == ctx.plan.queue(zone))
    for _ in range(2 * ctx.args.probes):
        await command(day.conns[kiosk], "issue_ticket", queue=ctx.plan.queue(zone))
    await asyncio.sleep(1.0)
    await day.loads.ask("storm", "storm")            # resets their counts
    for load in day.loads.loads:                     # drop stale "allback" lines
        while not load.lines["allback"].empty():
            load.lines["allback"].get_nowait()
    window, near_window = ctx.plan.zone_windows[zone][:2]
    return window, near_window


async def call_meanwhile(caller: Device, window: str, until: asyncio.Future[Any],
                         most: int) -> list[float]:
    """call_next every PROBE_GAP until ``until`` is done: each one's latency."""
    latencies: list[float] = []
    while len(latencies) < most and not until.done():
        t0 = time.monotonic()
        await command(caller, "call_next", window=window)
        latencies.append(time.monotonic() - t0)
        await asyncio.sleep(PROBE_GAP)
    return latencies


async def wait_resynced(conns: list[Device]) -> None:
    deadline = time.monotonic() + WAIT
    while any(c.resynced_at is None for c in conns) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


def storm_figures(reports: list[dict[str, Any]], mine: list[float], killed: float,
                  listening: float, probe: list[float], near: list[float]) -> dict[str, Any]:
    """``mine``: when this process's devices and the probe were resynced; ``probe``:
    the probe process's command latencies during the storm, ``near``: this loop's."""
    listeners = [t for r in reports for t in r["resynced"]]
    every = listeners + [t for t in mine if not math.isnan(t)]
    return {
        "hub_start_s": round(listening - killed, 2),
        "devices": len(every), "listeners_resynced": len(listeners),
        "listeners_lost": sum(len(r["lost"]) for r in reports),
        "snapshots": sum(r["snapshots"] for r in reports),
        "attempts": sum(r["attempts"] for r in reports),
        "errors": {k: sum(r["errors"].get(k, 0) for r in reports)
                   for k in {k for r in reports for k in r["errors"]}},
        "all_resynced_after_kill_s": round(max(every) - killed, 2) if every else math.nan,
        "all_resynced_after_listen_s": round(max(every) - listening, 2) if every else math.nan,
        "median_resynced_after_kill_s": round(statistics.median(every) - killed, 2)
        if every else math.nan,
        "probe_commands": len(probe), "probe_p50_ms": ms(nearest_rank(probe, 0.5)),
        "probe_p99_ms": ms(nearest_rank(probe, 0.99)),
        "probe_max_ms": ms(max(probe)) if probe else math.nan,
        "near_probe_commands": len(near), "near_probe_p50_ms": ms(nearest_rank(near, 0.5)),
        "near_probe_p99_ms": ms(nearest_rank(near, 0.99))}


# ---------------------------------------------------------------- the run


def part_figures(part: Part) -> dict[str, Any]:
    issued = sorted(s.at for s in part.sent if s.kind == "issue")
    span = issued[-1] - issued[0] if len(issued) > 1 else math.nan
    return {"tickets": part.tickets, "seconds": round(part.seconds, 1),
            "tickets_per_s": round(part.tickets / part.seconds, 1) if part.seconds else math.nan,
            "issues_per_s": round((len(issued) - 1) / span, 2) if span else math.nan,
            "issue_p50_ms": ms(nearest_rank(part.issue, 0.5)),
            "issue_p99_ms": ms(nearest_rank(part.issue, 0.99)),
            "call_reply_p50_ms": ms(nearest_rank(part.call_reply, 0.5)),
            "call_reply_p99_ms": ms(nearest_rank(part.call_reply, 0.99)),
            "finish_reply_p99_ms": ms(nearest_rank(part.finish_reply, 0.99)),
            "screen": part.screen, "hub_cpu_s": round(part.hub_cpu, 1), **part.counters,
            "hub_cpu_ms_per_ticket": round(part.hub_cpu * 1e3 / part.tickets, 1)
            if part.tickets else math.nan,
            "listener_procs_cpu_pct": [round(100 * c / part.seconds) for c in part.load_cpu]
            if part.seconds else [],
            "driver_cpu_pct": round(100 * part.self_cpu / part.seconds) if part.seconds else 0,
            "loop_stalls": part.stalls}


def split_tickets(args: argparse.Namespace) -> tuple[int, int]:
    """(tickets at the real rate, tickets at full speed)."""
    if args.rate == "real":
        return args.tickets, 0
    if args.rate == "full":
        return 0, args.tickets
    real = min(args.tickets, round(args.real_seconds * args.per_hour / 3600))
    return real, args.tickets - real


async def the_day(ctx: Context, out: dict[str, Any]) -> None:
    args = ctx.args
    hub = await Hub.start(hub_argv(ctx.hall, ctx.devices, ctx.tmp / "day.db", free_port()),
                          ctx.tmp / "day.log")
    loads: Loads | None = None
    conns: dict[str, Device] = {}
    try:
        await asyncio.sleep(1.0)
        out["hub_rss_idle_mb"] = round(hub.memory()[0], 1)
        specs = [("kiosk", k) for k, _ in ctx.plan_kiosks()] + [
            ("caller", ctx.plan.caller(w)) for z in ctx.plan.zone_ids
            for w in ctx.plan.zone_windows[z]]
        conns = await open_devices(hub.url, specs, ctx.tokens)
        for z in ctx.plan.zone_ids:
            for w in ctx.plan.zone_windows[z]:
                await command(conns[ctx.plan.caller(w)], "open_window", window=w)
        day = Day(ctx, hub.url, conns, Loads([]))
        if args.prefill:
            ctx.step(f"  prefill: {args.prefill} tickets at full speed, no listeners yet")
            began = time.monotonic()
            await full_speed(day, Part("prefill"), 0, args.prefill)
            out["prefill_s"] = round(time.monotonic() - began, 1)
        ctx.step(f"  {len(conns)} callers and kiosks connected; starting "
                 f"{args.listeners} listeners in {args.listener_procs} processes")
        loads = day.loads = await start_loads(hub.url, ctx.listeners_file,
                                              ctx.plan.listener_ids(), args.listener_procs)
        first = ctx.plan.listener_ids()[0]
        recorder = Recorder(hub.url, first, ctx.tokens[first])
        await recorder.hello()
        out["hub_rss_connected_mb"] = round(hub.memory()[0], 1)
        real, full = split_tickets(args)
        if real:
            recorder.upto = 1 << 62
            ctx.step(f"2. real rate: {real} tickets at {args.per_hour:.0f} an hour")
            day.window = args.floor_seconds
            part = await run_part(day, hub, "real", lambda p: real_rate(
                day, p, args.prefill, real, args.per_hour), real)
            day.window = 0.0
            out["real"] = part_figures(part)
            print_part(out["real"])
            ctx.step(f"3. floor: the first {args.floor_seconds:.0f} s of it again, bare "
                     "broadcast")
            frames, recorder.upto = recorder.frames, 0
            out["floor"] = await floor_replay(ctx, loads, part, frames, args.floor_seconds)
            recorder.frames = {}
            print_floor(out["floor"])
        if full:
            ctx.step(f"2. full speed: {full} tickets")
            part = await run_part(day, hub, "full", lambda p: full_speed(
                day, p, args.prefill + real, full), full)
            out["full"] = part_figures(part)
            print_part(out["full"])
        await asyncio.sleep(1.0)
        rss, hwm = hub.memory()
        out.update(hub_rss_day_mb=round(rss, 1), hub_hwm_day_mb=round(hwm, 1),
                   hub_cpu_day_s=round(hub.cpu(), 1), closed=loads.closed,
                   hub_slow_collections_day=slow_collections(hub.log),
                   hub_loop_stalls_day=loop_stalls(hub.log))
        recorder.close()
        if args.storm:
            ctx.step(f"4. storm: kill -9 at {args.prefill + args.tickets} tickets "
                     f"(+{args.probes} probe tickets), every device reconnects")
            hub, out["storm"] = await storm(ctx, hub, day)
            conns = day.conns
            out["hub_rss_after_storm_mb"] = round(hub.memory()[0], 1)
            out["hub_slow_collections_storm"] = slow_collections(hub.log)
            out["hub_loop_stalls_storm"] = loop_stalls(hub.log)
            print_storm(out["storm"])
    finally:
        for conn in conns.values():
            conn.close()
        if loads is not None:
            await loads.quit()
        await hub.stop()


# ---------------------------------------------------------------- printing


def print_part(f: dict[str, Any]) -> None:
    s = f["screen"]
    print(f"   {f['tickets']} tickets in {f['seconds']} s ({f['tickets_per_s']}/s); issue "
          f"p50 {f['issue_p50_ms']} p99 {f['issue_p99_ms']} ms; call → screen p50 "
          f"{s['p50_ms']} p99 {s['p99_ms']} ms, last listener p50 {s['last_p50_ms']} p99 "
          f"{s['last_p99_ms']} ms; missing {s['missing']}, gaps {s['gaps']}; hub CPU "
          f"{f['hub_cpu_s']} s ({f['hub_cpu_ms_per_ticket']} ms/ticket); listener processes "
          f"CPU {f['listener_procs_cpu_pct']}%, this process {f['driver_cpu_pct']}%; "
          f"{f['commits']} commits of {f['commands_committed']} commands; loop stalls "
          f"≥ 100 ms {f['loop_stalls'].get('n')}, the loop's own work "
          f"{f['loop_stalls'].get('own')} (longest {f['loop_stalls'].get('own_max_ms')} ms)",
          flush=True)


def print_floor(f: dict[str, Any]) -> None:
    print(f"   floor: {f['commands']} commands, {f['calls']} calls; call → screen p50 "
          f"{f['p50_ms']} p99 {f['p99_ms']} ms, last listener p50 {f['last_p50_ms']} p99 "
          f"{f['last_p99_ms']} ms; missing {f['missing']}", flush=True)


def print_storm(f: dict[str, Any]) -> None:
    print(f"   hub up {f['hub_start_s']} s after the kill; {f['devices']} devices resynced, "
          f"the last {f['all_resynced_after_kill_s']} s after the kill "
          f"({f['all_resynced_after_listen_s']} s after it listened)\n   probe caller "
          f"(its own process) {f['probe_commands']} commands p50 {f['probe_p50_ms']} p99 "
          f"{f['probe_p99_ms']} ms; a caller in this loop {f['near_probe_commands']} "
          f"commands p50 {f['near_probe_p50_ms']} p99 {f['near_probe_p99_ms']} ms; the hub had "
          f"{f['hub_cpu_share']:.0%} of a core", flush=True)


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b and not math.isnan(a) and not math.isnan(b) else math.nan


def goals(out: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """Each goal of issue 22: (text, met or None if not measured, the figures)."""
    got: list[tuple[str, bool | None, str]] = []
    issue = out.get("issue", {})
    if issue:
        floor = issue[ISSUE_PATHS[3]]["per_s"]
        four, every, flight = (issue[p]["per_s"] for p in ISSUE_PATHS[:3])
        bare = [issue[p]["per_s"] for p in CEILING_PATHS] if CEILING_PATHS[0] in issue \
            else [math.nan] * 3
        got.append(("issue_ticket with 4 kiosks ≥ 0.5× the bare one-row commit",
                    four >= 0.5 * floor, f"{ratio(four, floor)}× (bare websockets + group "
                    f"commit: {ratio(bare[0], floor)}×)"))
        best = max(every, flight)
        got.append((f"with every kiosk, or {IN_FLIGHT} in flight, ≥ 1× it", best >= floor,
                    f"{ratio(every, floor)}× / {ratio(flight, floor)}× (bare websockets + "
                    f"group commit: {ratio(bare[1], floor)}× / {ratio(bare[2], floor)}×)"))
    real, floor_b = out.get("real"), out.get("floor")
    if real:
        p99 = real["issue_p99_ms"]
        got.append(("real rate: issue p99 ≤ 100 ms", p99 <= 100, f"{p99} ms"))
    if real and floor_b:
        a, b = real["screen"]["window_p99_ms"], floor_b["p99_ms"]
        got.append(("real rate: call → screen p99 ≤ 1.5× the bare broadcast", a <= 1.5 * b,
                    f"{ratio(a, b)}× ({a} / {b} ms over the same calls; the whole part's "
                    f"p99 {real['screen']['p99_ms']} ms)"))
    full = out.get("full")
    if full:
        rate = full["tickets_per_s"]
        got.append(("full speed ≥ 100 tickets/s", rate >= 100, f"{rate}/s ({rate / 100:.2f}×)"))
    st = out.get("storm")
    if st:
        t = st["all_resynced_after_kill_s"]
        got.append(("storm: every device resynced within 5 s of the kill", t <= RESYNC_LIMIT,
                    f"{t} s ({ratio(t, RESYNC_LIMIT)}×)"))
        p99 = st["probe_p99_ms"]
        got.append(("storm: a caller's command p99 ≤ 100 ms", p99 <= 100,
                    f"{p99} ms over {st['probe_commands']}"))
    rss = out.get("hub_rss_day_mb")
    if rss is not None:
        got.append((f"hub RSS ≤ 150 MB with {out['listeners']} listeners after the day",
                    rss <= 150, f"{rss} MB ({ratio(rss, 150)}×)"))
    return got


def stall_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text(errors="replace").splitlines()
            if '"loop_stall"' in line]


def loop_stalls(log: Path, skip: int = 0) -> dict[str, Any]:
    """The hub's event loop stalls of 100 ms or more (dispatcher/hub/stalls.py) after the
    first ``skip``: how many, the longest, their sum, and where the longest held the
    loop; ``own``: those of the loop's own work (its thread's CPU at least half the
    stall; the rest waited for a core, or for the GIL), the longest of them and where."""
    stalls = stall_lines(log)[skip:]
    own = [s for s in stalls if s.get("cpu_ms", s["ms"]) >= s["ms"] / 2]
    none: dict[str, Any] = {"ms": 0.0, "where": []}
    longest = max(stalls, key=lambda s: s["ms"], default=none)
    longest_own = max(own, key=lambda s: s["ms"], default=none)
    return {"n": len(stalls), "max_ms": longest["ms"],
            "sum_ms": round(sum(s["ms"] for s in stalls), 1), "where": longest["where"][:4],
            "own": len(own), "own_max_ms": longest_own["ms"],
            "own_where": longest_own["where"][:4]}


def print_stalls(stalls: dict[str, Any], when: str) -> None:
    print(f"hub event loop stalls of 100 ms or more, {when}: {stalls['n']} (longest "
          f"{stalls['max_ms']} ms, {stalls['sum_ms']} ms in all), the longest in "
          f"{' < '.join(stalls['where']) or '-'}\n   of them the loop's own work (its CPU "
          f"≥ half the stall): {stalls['own']} (longest {stalls['own_max_ms']} ms, in "
          f"{' < '.join(stalls['own_where']) or '-'})")


def slow_collections(log: Path) -> dict[str, Any]:
    """The garbage collections over 50 ms the hub logged (dispatcher/hub/collector.py):
    how many, the longest, and their sum."""
    took = [json.loads(line)["ms"] for line in log.read_text(errors="replace").splitlines()
            if '"slow_collection"' in line]
    return {"n": len(took), "max_ms": max(took, default=0.0), "sum_ms": round(sum(took), 1)}


def report(out: dict[str, Any]) -> None:
    print(f"\n== bench_peak: {out['windows']} windows, {out['listeners']} listeners, "
          f"{out['kiosks']} kiosks, {out['tickets']} tickets; SQLite FULL on {out['fs']}; "
          f"load average {out['load_before']} before, {out['load_after']} after; "
          f"{os.cpu_count()} CPUs")
    issue = out.get("issue")
    if issue:
        print(f"\n{'1. issue_ticket, no listeners':<40}{'per s':>9}{'slowest':>9}"
              f"{'p50 ms':>9}{'p99 ms':>9}   (per s: the median round; rows/s for floors)")
        for path, f in issue.items():
            print(f"{path:<40}{f['per_s']:>9}{f['slowest_round_per_s']:>9}{f['p50_ms']:>9}"
                  f"{f['p99_ms']:>9}")
    print_day(out)
    print(f"hub RSS: idle {out.get('hub_rss_idle_mb')} MB, connected "
          f"{out.get('hub_rss_connected_mb')} MB, after the day {out.get('hub_rss_day_mb')} MB "
          f"(peak {out.get('hub_hwm_day_mb')}), after the storm "
          f"{out.get('hub_rss_after_storm_mb', '-')} MB; hub CPU over the day "
          f"{out.get('hub_cpu_day_s')} s")
    for when in ("day", "storm"):
        slow = out.get(f"hub_slow_collections_{when}")
        if slow:
            print(f"hub garbage collections over 50 ms, {when}: {slow['n']} (longest "
                  f"{slow['max_ms']} ms, {slow['sum_ms']} ms in all)")
        stalls = out.get(f"hub_loop_stalls_{when}")
        if stalls:
            print_stalls(stalls, when)
    if out.get("storm"):
        print("\n4. storm")
        for key, value in out["storm"].items():
            print(f"   {key:<32}{value}")
    print("\nGoals of issue 22 (ratios from this run):")
    for text, met, figure in goals(out):
        print(f"  [{'met' if met else 'MISSED' if met is not None else '-'}] {text}: {figure}")
    print("PEAK_JSON " + json.dumps(out, ensure_ascii=False, default=str), flush=True)


DAY_ROWS = (  # label, key in the part, key in its "screen", key in the floor's figures
    ("tickets/s (issue to last finish)", "tickets_per_s", None, None),
    ("issue_ticket sent per s", "issues_per_s", None, None),
    ("issue p50 ms", "issue_p50_ms", None, None),
    ("issue p99 ms", "issue_p99_ms", None, None),
    ("call → screen p50 ms", None, "p50_ms", None),
    ("call → screen p99 ms", None, "p99_ms", None),
    ("last listener p50 ms", None, "last_p50_ms", None),
    ("last listener p99 ms", None, "last_p99_ms", None),
    ("  floor's calls: call → screen p50", None, "window_p50_ms", "p50_ms"),
    ("  floor's calls: call → screen p99", None, "window_p99_ms", "p99_ms"),
    ("  floor's calls: last listener p50", None, "window_last_p50_ms", "last_p50_ms"),
    ("  floor's calls: last listener p99", None, "window_last_p99_ms", "last_p99_ms"),
    ("call reply p99 ms", "call_reply_p99_ms", None, None),
    ("missing (call, listener) pairs", None, "missing", "missing"),
    ("hub CPU ms per ticket", "hub_cpu_ms_per_ticket", None, None))


def print_day(out: dict[str, Any]) -> None:
    """Parts 2 and 3 side by side: the real rate, its floor, the ratio, full speed."""
    real, floor, full = out.get("real", {}), out.get("floor", {}), out.get("full", {})
    print(f"\n{'2./3. the day':<36}{'real rate':>12}{'floor':>10}{'ratio':>8}"
          f"{'full speed':>12}")
    for label, key, sub, fkey in DAY_ROWS:
        a = real.get(key, "") if key else real.get("screen", {}).get(sub, "")
        c = full.get(key, "") if key else full.get("screen", {}).get(sub, "")
        c = "-" if fkey and sub and sub.startswith("window") else c   # the real rate's only
        f = floor.get(fkey, "") if fkey else ""
        r = ratio(a, f) if fkey and fkey != "missing" and isinstance(a, int | float) \
            and isinstance(f, int | float) else ""
        print(f"{label:<36}{a!s:>12}{f!s:>10}{r!s:>8}{c!s:>12}")
    if floor:
        print(f"(floor: the {floor['calls']} calls of the real rate's "
              f"first {out.get('floor_seconds')} s, the hub's frames sent again at the same "
              "moments by a bare broadcast to as many connections)")


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench_peak_", dir=args.dir) as name:
        tmp = Path(name)
        plan = Plan(args.windows, args.kiosks, args.listeners, args.zones)
        began = time.monotonic()
        hall, devices, tokens = provision(plan, tmp)
        listeners_file = tmp / "tokens-listeners.toml"
        ctx = Context(args, tmp, plan, hall, devices, tokens, listeners_file)
        ctx.step(f"provisioned {len(tokens)} devices with onewindow token --devices in "
                 f"{time.monotonic() - began:.1f} s")
        out: dict[str, Any] = {
            "windows": args.windows, "listeners": args.listeners, "kiosks": args.kiosks,
            "tickets": args.tickets, "prefill": args.prefill, "per_hour": args.per_hour,
            "floor_seconds": args.floor_seconds,
            "rate": args.rate,
            "fs": filesystem(tmp), "load_before": load_average(), "devices": len(tokens)}
        if args.issue_tickets:
            ctx.step(f"1. issue throughput, {args.issue_tickets} tickets a path a round")
            out["issue"] = await issue_throughput(args, ctx)
        await the_day(ctx, out)
        out["load_after"] = load_average()
        assert read_tokens(listeners_file)   # the installer's list is still readable
        report(out)
        return out


def presets(args: argparse.Namespace) -> None:
    quick = {"listeners": 200, "windows": 30, "kiosks": 8, "tickets": 500, "real_seconds": 20,
             "floor_seconds": 10, "issue_tickets": 100, "issue_rounds": 2, "probes": 40,
             "listener_procs": 2}
    full = {"listeners": 2000, "windows": 300, "kiosks": 20, "tickets": 20000,
            "real_seconds": 300, "floor_seconds": 60, "issue_tickets": 400, "issue_rounds": 3,
            "probes": 100, "listener_procs": 4}
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every operator mistake: one line, exit 2 (argparse's)."""
    for name in ("listeners", "windows", "kiosks", "tickets", "listener_procs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.per_hour <= 0 or args.real_seconds <= 0 or args.floor_seconds <= 0:
        parser.error("--per-hour, --real-seconds and --floor-seconds must be positive")
    if args.issue_tickets < 0 or args.probes < 1 or args.prefill < 0:
        parser.error("--issue-tickets and --prefill must be 0 or more, --probes at least 1")
    args.zones = min(4, args.windows, args.kiosks)
    if args.issue_tickets and args.kiosks < 4:
        parser.error("part 1 needs at least 4 kiosks (or --issue-tickets 0)")
    if args.listener_procs > args.listeners:
        parser.error("--listener-procs cannot exceed --listeners")
    raise_nofile()
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.windows + args.kiosks + 200
    if soft < need:
        parser.error(f"open-files limit {soft} is too low for {need} sockets in this process")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="about a minute: 200 listeners, 30 windows, 500 tickets")
    parser.add_argument("--listeners", type=int, help="listening displays (2000)")
    parser.add_argument("--windows", type=int, help="windows, one caller each (300)")
    parser.add_argument("--kiosks", type=int, help="kiosks (20)")
    parser.add_argument("--tickets", type=int, help="tickets of the day (20000)")
    parser.add_argument("--per-hour", type=float, default=20000.0,
                        help="the real rate, tickets an hour (20000)")
    parser.add_argument("--rate", choices=("real", "full", "both"), default="both",
                        help="real: every ticket at the real rate; full: as fast as it goes; "
                        "both: --real-seconds at the real rate, the rest at full speed")
    parser.add_argument("--real-seconds", type=float,
                        help="with --rate both: seconds at the real rate (300)")
    parser.add_argument("--floor-seconds", type=float,
                        help="seconds of the real-rate part sent again by the floor (60)")
    parser.add_argument("--storm", action=argparse.BooleanOptionalAction, default=True,
                        help="kill -9 the hub at the end and time the reconnect storm")
    parser.add_argument("--prefill", type=int, default=0,
                        help="tickets issued, called and finished at full speed before the "
                        "listeners connect, not measured: a later moment of a day (0)")
    parser.add_argument("--probes", type=int, help="the storm probe's tickets (100)")
    parser.add_argument("--issue-tickets", type=int,
                        help="part 1: tickets a path a round (400; 0 skips part 1)")
    parser.add_argument("--issue-rounds", type=int, help="part 1: rounds (3)")
    parser.add_argument("--listener-procs", type=int, help="listener processes (4)")
    parser.add_argument("--dir", help="where the temp dir goes (default: the system's)")
    args = parser.parse_args(argv)
    presets(args)
    check(parser, args)
    with contextlib.suppress(ValueError):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
