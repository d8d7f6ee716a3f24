"""The hub over real websockets: call-to-screen latency, issue throughput, memory.

    python -m bench.bench_hub [--quick] [--displays N] [--rounds R] [--calls C]
                              [--clients K] [--tickets M] [--connections N] [--burst B]
                              [--profile]

Every part runs a real `onewindow serve` subprocess (training clock at 2026-11-23
09:30, so the hall is open; a fresh SQLite file, WAL + synchronous=FULL, in a
fresh temp dir; its JSON log goes to a file there) next to a floor measured in
the same run. The machine is shared and noisy, so hub and floor are interleaved
finely (call by call, chunk by chunk) and every figure is a median over rounds:
read the ratios, not the absolute figures.

1. Call-to-screen. A load process (bench/hub_listeners.py) holds N display
   connections; this process, as caller C-B01, opens window B01 and sends
   call_next on tickets a kiosk issued beforehand. Latency of a (call, display)
   pair: from just before the call_next is sent to the moment the ticket_called
   bytes are read from that display's socket, both read with time.monotonic()
   (CLOCK_MONOTONIC, one clock for every process on Linux). Every call after the
   first also finishes the ticket the window holds (a keypad's "next"), so the
   hub commits two events and broadcasts service_finished then ticket_called.
   Floor: bench/hub_floor.py, a bare websockets server with the hub's settings
   that broadcasts what it is sent to N connections of a second load process;
   right after each hub call this process sends it the very frames the hub
   broadcast for that call. Each call (hub or floor) goes out once every display
   has the previous one, after a 50 ms gap (the hub allows a connection 20
   messages a second). p50/p99 are over all (call, display) pairs of a round.
   Through the display client: a second load process (hub_listeners.py --clients)
   runs K more displays (default 10) as a wall display does, each a real
   dispatcher.client.HubClient (display D-B) with its HallView; its on_event
   callback, which runs once the view has applied the event, builds the wall's
   board (display.model.build_board, what the wall paints; the Qt repaint itself is
   not included) and then stamps time.monotonic(). Same calls, same t0; the next
   call also waits for these K. Their floor: a fourth process (hub_listeners.py
   --floor-clients) holds K more connections to the floor server, each with its own
   HallView (loaded from the snapshot a D-B HubClient gets from the hub), and does
   the same work on what the floor broadcasts (the hub's very frames): websockets'
   asyncio client, JSON decoding, HallView.apply, build_board, stamp. Both servers
   thus broadcast to N + K connections and both sides carry the same client load,
   so the raw comparison stays like for like (``--clients 0``: the raw part alone).
2. Issue throughput. issue_ticket sent sequentially (send, await the reply) by
   one kiosk (K-B1), and by 4 kiosks at once (K-B1..K-B3 for quick_b, K-A1 for
   quick_a); and pipelined: K-B1 keeps 20 unanswered (the hub's group commit writes
   what arrives during a commit in the next one); no display connected. The hub
   allows each connection 20 messages a second with bursts of 60
   (dispatcher/hub/ratelimit.py) and has no option to lift it, so each kiosk sends
   its tickets in chunks of 50 (after one untimed warm-up ticket), each chunk on a
   fresh connection of the same device: never throttled, and the hub pays for no
   idle extra connection. Floors: chunks of a
   bare one-row INSERT + COMMIT (WAL, synchronous=FULL) in the same directory
   (bench/bench_store.py's SqliteFloor): what the disk costs; and the same three
   paths against bench/commit_floor.py, a bare websockets server that parses each
   command, writes it with group commit and replies once durable, deciding nothing:
   what Python and websockets cost. Chunks of the seven paths alternate;
   tickets/s = tickets / time spent in that path's chunks. Each round runs on a
   fresh hub and store (a fresh day), so that rounds are alike: what the hub
   does per ticket grows with the day's tickets.
3. Memory. VmRSS of the hub process (/proc/PID/status) idle after start, with
   1,000 display connections held by the load process, and after a burst of 100
   events (tickets from two kiosk connections, pipelined) reached all of them;
   VmHWM is the peak. Floor: the bare server, the same connections, the same 100
   frames. KB per connection = (RSS - idle RSS) / connections.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pstats
import resource
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.bench_store import Round, SqliteFloor
from bench.hub_listeners import EVENT_PREFIX, raise_nofile

ROOT = Path(__file__).resolve().parent.parent
START_AT = "2026-11-23 09:30"   # a Monday, the hall is open
CHUNK = 50                      # messages on one fresh connection: under the burst of 60
CALL_GAP = 0.05                 # s between calls: the caller stays under 20 messages a second
WAIT = 60.0                     # s: a step that takes longer than this is a failure
KIOSKS = (("K-B1", "quick_b"), ("K-B2", "quick_b"), ("K-B3", "quick_b"), ("K-A1", "quick_a"))
ISSUE_PATHS = ("hub, 1 kiosk", "hub, 4 kiosks at once", "hub, 20 in flight on 1 kiosk",
               "bare SQLite commit (floor)")
# the same three paths against bench/commit_floor.py: websockets + group commit, no hub
CEILING_PATHS = ("bare ws + group commit, 1 kiosk", "bare ws + group commit, 4 kiosks",
                 "bare ws + group commit, 20 in flight")
IN_FLIGHT = 20                  # commands a pipelining kiosk keeps unanswered


def token(device: str) -> str:
    return f"sample-{device}"   # assets/halls/sample-devices.toml documents these


def quantiles(values: Sequence[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100, method="inclusive")
    return q[49], q[98]


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


# ---------------------------------------------------------------- subprocesses


@dataclass
class Server:
    """A hub or floor subprocess; its stderr goes to a log file."""

    proc: asyncio.subprocess.Process
    url: str
    log: Path

    @classmethod
    async def start(cls, argv: list[str], log: Path, root: Path = ROOT,
                    mode: str = "wb") -> Server:
        """``root``: the tree whose code runs (another checkout, to compare)."""
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if root != ROOT:
            env["PYTHONPATH"] = str(root)
        with log.open(mode) as err:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, *argv, cwd=root, stdout=asyncio.subprocess.PIPE, stderr=err,
                env=env)
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), WAIT)).decode()
        if "listening on ws://" not in line:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"{argv} did not start: {line!r} {log.read_text()[-2000:]}")
        port = line.split("ws://", 1)[1].split()[0].rsplit(":", 1)[1]
        return cls(proc, f"ws://127.0.0.1:{port}", log)

    @classmethod
    async def hub(cls, db: Path, profile: Path | None = None) -> Server:
        argv = ["-m", "dispatcher.cli", "serve", "--db", f"sqlite:///{db}", "--port", "0",
                "--start-at", START_AT, "--devices", "assets/halls/sample-devices.toml",
                "--clerks", "assets/halls/sample-clerks.toml",
                # every load process connects from 127.0.0.1: lift the per-address cap
                "--max-per-address", "5000", "--max-connections", "5000",
                "--welcome-rate", "0"]
        if profile is not None:
            argv = ["-m", "cProfile", "-o", str(profile), *argv]
        return await cls.start(argv, db.with_suffix(".log"))

    @classmethod
    async def floor(cls, log: Path) -> Server:
        return await cls.start(["-m", "bench.hub_floor"], log)

    @classmethod
    async def commit_floor(cls, db: Path) -> Server:
        return await cls.start(["-m", "bench.commit_floor", str(db)], db.with_suffix(".log"))

    def memory(self) -> tuple[float, float]:
        """(VmRSS, VmHWM) in MB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        fields = dict(line.split(":", 1) for line in status.splitlines())
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


class Listeners:
    """The load process: N display connections that stamp every event frame."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.complete: dict[int, asyncio.Future[None]] = {}
        self.dumps: deque[asyncio.Future[dict[str, Any]]] = deque()
        self.ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.closed: list[str] = []
        self.board: list[float] = []   # --clients: every build_board's duration, s
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, url: str, n: int, *, hello: bool, clients: bool = False,
                    floor_clients: str | None = None) -> Listeners:
        mode = (["--clients"] if clients else ["--floor-clients", floor_clients]
                if floor_clients else ["--hello"] if hello else [])
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.hub_listeners", url, str(n),
            *mode, cwd=ROOT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, limit=2**28)
        self = cls(proc)
        got = await asyncio.wait_for(self.ready, WAIT * 3)
        assert got == n, got
        return self

    def _future(self, seq: int) -> asyncio.Future[None]:
        fut = self.complete.get(seq)
        if fut is None:
            fut = self.complete[seq] = asyncio.get_running_loop().create_future()
        return fut

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            kind, _, rest = raw.decode().rstrip("\n").partition(" ")
            if kind == "all":
                self._future(int(rest)).set_result(None)
            elif kind == "dump":
                self.dumps.popleft().set_result(json.loads(rest))
            elif kind == "ready":
                self.ready.set_result(int(rest))
            elif kind == "closed":
                self.closed.append(rest)
        if not self.ready.done():
            self.ready.set_exception(RuntimeError("the load process died before ready"))

    async def wait_all(self, seq: int) -> None:
        """Until every connection has received event ``seq``."""
        await asyncio.wait_for(self._future(seq), WAIT)
        del self.complete[seq]

    async def dump(self) -> dict[int, list[float]]:
        fut = asyncio.get_running_loop().create_future()
        self.dumps.append(fut)
        await self._send("dump")
        got = await asyncio.wait_for(fut, WAIT)
        self.board.extend(got.get("board", []))
        return {int(seq): times for seq, times in got["times"].items()}

    async def _send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def quit(self) -> None:
        with contextlib.suppress(ConnectionError):
            await self._send("quit")
        try:
            await asyncio.wait_for(self.proc.wait(), 30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        await self.reader


# ---------------------------------------------------------------- clients


@dataclass
class Conn:
    """One websocket of this process: replies matched to their command ids; with
    ``keep``, the raw event frames by seq (what the hub broadcast)."""

    ws: ClientConnection
    keep: bool = False
    replies: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    anonymous: deque[asyncio.Future[dict[str, Any]]] = field(default_factory=deque)
    frames: dict[int, str] = field(default_factory=dict)
    reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, role: str | None = None, device: str | None = None, *,
                   keep: bool = False) -> Conn:
        ws = await connect(url, max_size=2**24, ping_interval=None, compression=None)
        if role is not None and device is not None:
            await ws.send(json.dumps({"type": "hello", "role": role, "device": device,
                                      "token": token(device)}))
            welcome = json.loads(await ws.recv())
            if welcome.get("type") != "welcome":
                raise RuntimeError(f"{device} refused: {welcome}")
        self = cls(ws, keep)
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for frame in self.ws:
                assert isinstance(frame, str)
                if frame.startswith(EVENT_PREFIX):
                    if self.keep:
                        start = len(EVENT_PREFIX)
                        self.frames[int(frame[start:frame.index(",", start)])] = frame
                    continue
                message = json.loads(frame)
                fut = (self.replies.pop(message["id"]) if "id" in message
                       else self.anonymous.popleft())
                fut.set_result(message)

    async def send_command(self, name: str, **args: Any) -> asyncio.Future[dict[str, Any]]:
        message_id = uuid.uuid4().hex
        fut = self.replies[message_id] = asyncio.get_running_loop().create_future()
        await self.ws.send(json.dumps({"type": "command", "id": message_id, "name": name,
                                       "args": args}))
        return fut

    async def command(self, name: str, **args: Any) -> dict[str, Any]:
        reply = await asyncio.wait_for(await self.send_command(name, **args), WAIT)
        if not reply.get("ok"):
            raise RuntimeError(f"{name} {args} refused: {reply}")
        return reply["result"]

    async def send_raw(self, text: str) -> asyncio.Future[dict[str, Any]]:
        """For the floor: its reply carries no id."""
        fut = asyncio.get_running_loop().create_future()
        self.anonymous.append(fut)
        await self.ws.send(text)
        return fut

    def take_frames(self, upto: int) -> list[str]:
        """Every event frame kept up to seq ``upto``, in order: the call's, and any other
        the hub told meanwhile (an alert on its clock), which the floor's view clients
        must see too, or they would stop at a gap."""
        return [self.frames.pop(s) for s in sorted(self.frames) if s <= upto]

    async def close(self) -> None:
        await self.ws.close()
        if self.reader is not None:
            await self.reader


async def issue_tickets(url: str, count: int) -> None:
    """``count`` tickets for quick_b, CHUNK at a time on fresh kiosk connections."""
    while count > 0:
        conn = await Conn.open(url, "kiosk", "K-B1")
        for _ in range(min(count, CHUNK)):
            await conn.command("issue_ticket", queue="quick_b")
        count -= CHUNK
        await conn.close()


# ---------------------------------------------------------------- 1. call to screen


@dataclass
class CallRound:
    p50_ms: float
    p99_ms: float
    first_ms: float    # median over calls of the first display to get ticket_called
    last_ms: float     # ... and of the last one
    reply_ms: float    # median of the caller's own send → reply
    board_ms: float = 0.0   # HubClient path: median build_board, per event and client


@dataclass
class CallSide:
    """One side (hub or floor) of a round: when each measured call was sent."""

    listeners: Listeners
    n: int
    sent: dict[int, float] = field(default_factory=dict)
    replies: list[float] = field(default_factory=list)

    def note(self, seq: int, t0: float, t_reply: float) -> None:
        self.sent[seq] = t0
        self.replies.append(t_reply - t0)

    async def finish(self) -> CallRound:
        times = await self.listeners.dump()
        pairs, first, last = [], [], []
        for seq, t0 in self.sent.items():
            got = times[seq]
            assert len(got) == self.n, (seq, len(got))
            pairs.extend(t - t0 for t in got)
            first.append(min(got) - t0)
            last.append(max(got) - t0)
        p50, p99 = quantiles(pairs)
        board = self.listeners.board
        done = CallRound(p50 * 1e3, p99 * 1e3, statistics.median(first) * 1e3,
                         statistics.median(last) * 1e3, statistics.median(self.replies) * 1e3,
                         statistics.median(board) * 1e3 if board else 0.0)
        board.clear()
        return done


CallRounds = tuple[list[CallRound], list[CallRound], list[CallRound], list[CallRound]]


async def call_to_screen(tmp: Path, n: int, k: int, rounds: int, calls: int, warmup: int,
                         profile: Path | None) -> CallRounds:
    """Rounds of (hub, raw displays), (bare broadcast floor), (hub, K HubClients),
    (floor, K connections doing the clients' work)."""
    hub = await Server.hub(tmp / "latency.db", profile)
    floor = await Server.floor(tmp / "floor-latency.log")
    to_hub = to_floor = to_clients = to_fclients = None
    ours: list[CallRound] = []
    base: list[CallRound] = []
    viaclient: list[CallRound] = []
    fviaclient: list[CallRound] = []
    try:
        await issue_tickets(hub.url, rounds * (calls + warmup) + 1)
        caller = await Conn.open(hub.url, "caller", "C-B01", keep=True)
        await caller.command("open_window", window="B01")
        fcaller = await Conn.open(floor.url + "/caller")
        to_hub = await Listeners.start(hub.url, n, hello=True)
        to_floor = await Listeners.start(floor.url, n, hello=False)
        if k:   # last: the floor clients' snapshot must follow every display's hello
            to_clients = await Listeners.start(hub.url, k, hello=True, clients=True)
            to_fclients = await Listeners.start(floor.url, k, hello=False,
                                                floor_clients=hub.url)
        for r in range(rounds):
            side_hub, side_floor = CallSide(to_hub, n), CallSide(to_floor, n)
            side_clients = CallSide(to_clients, k) if to_clients is not None else None
            fside_clients = CallSide(to_fclients, k) if to_fclients is not None else None
            for i in range(warmup + calls):
                t0 = time.monotonic()
                result = await caller.command("call_next", window="B01")
                t_reply = time.monotonic()
                called = next(e["seq"] for e in result["events"]
                              if e["name"] == "ticket_called")
                await to_hub.wait_all(called)
                if to_clients is not None:
                    await to_clients.wait_all(called)
                frames = caller.take_frames(max(e["seq"] for e in result["events"]))
                if i >= warmup:
                    side_hub.note(called, t0, t_reply)
                    if side_clients is not None:
                        side_clients.note(called, t0, t_reply)
                await asyncio.sleep(CALL_GAP)

                t0 = time.monotonic()
                await asyncio.wait_for(await fcaller.send_raw("\n".join(frames)), WAIT)
                t_reply = time.monotonic()
                await to_floor.wait_all(called)
                if to_fclients is not None:
                    await to_fclients.wait_all(called)
                if i >= warmup:
                    side_floor.note(called, t0, t_reply)
                    if fside_clients is not None:
                        fside_clients.note(called, t0, t_reply)
                await asyncio.sleep(CALL_GAP)
            ours.append(await side_hub.finish())
            base.append(await side_floor.finish())
            via = ""
            if side_clients is not None and fside_clients is not None:
                viaclient.append(await side_clients.finish())
                fviaclient.append(await fside_clients.finish())
                via = (f"; {k} HubClients p50 {viaclient[-1].p50_ms:.2f} "
                       f"p99 {viaclient[-1].p99_ms:.2f} ms, their floor p50 "
                       f"{fviaclient[-1].p50_ms:.2f} p99 {fviaclient[-1].p99_ms:.2f} ms")
            print(f"  round {r + 1}/{rounds}: hub p50 {ours[-1].p50_ms:.2f} "
                  f"p99 {ours[-1].p99_ms:.2f} ms, floor p50 {base[-1].p50_ms:.2f} "
                  f"p99 {base[-1].p99_ms:.2f} ms{via}", flush=True)
        closed = to_hub.closed + to_floor.closed + (to_clients.closed if to_clients else []) \
            + (to_fclients.closed if to_fclients else [])
        if closed:
            print(f"  WARNING: display connections closed under us: {closed}")
        await caller.close()
        await fcaller.close()
    finally:
        for listeners in (to_hub, to_floor, to_clients, to_fclients):
            if listeners is not None:
                await listeners.quit()
        await hub.stop()
        await floor.stop()
    return ours, base, viaclient, fviaclient


# ---------------------------------------------------------------- 2. issue throughput


@dataclass
class Tally:
    """One path's chunks in one round."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    def round(self) -> Round:
        p50, p99 = quantiles(self.latencies)
        return Round(len(self.latencies) / self.seconds, p50 * 1e3, p99 * 1e3)


async def kiosk_chunk(url: str, kiosks: Sequence[tuple[str, str]], each: int,
                      tally: Tally) -> None:
    """Each kiosk, on a fresh connection, sends one untimed ticket, then ``each``
    timed ones in sequence; the kiosks run at once."""
    conns = [await Conn.open(url, "kiosk", device) for device, _ in kiosks]

    async def run(conn: Conn, queue: str) -> None:
        for _ in range(each):
            t0 = time.perf_counter()
            await conn.command("issue_ticket", queue=queue)
            tally.latencies.append(time.perf_counter() - t0)

    try:
        for conn, (_, queue) in zip(conns, kiosks, strict=True):
            await conn.command("issue_ticket", queue=queue)
        begin = time.perf_counter()
        await asyncio.gather(*(run(conn, queue) for conn, (_, queue) in zip(conns, kiosks,
                                                                             strict=True)))
        tally.seconds += time.perf_counter() - begin
    finally:
        for conn in conns:
            await conn.close()


async def pipelined_chunk(url: str, kiosk: tuple[str, str], count: int, tally: Tally
                          ) -> None:
    """One kiosk, on a fresh connection, keeps IN_FLIGHT issue_ticket unanswered (group
    commit writes them together); latency: each command's send → its reply."""
    device, queue = kiosk
    conn = await Conn.open(url, "kiosk", device)
    window = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        t0 = time.perf_counter()
        reply = await asyncio.wait_for(await conn.send_command("issue_ticket", queue=queue),
                                       WAIT)
        window.release()
        if not reply.get("ok"):
            raise RuntimeError(f"issue_ticket refused: {reply}")
        tally.latencies.append(time.perf_counter() - t0)

    try:
        await conn.command("issue_ticket", queue=queue)
        begin, sent = time.perf_counter(), []
        for _ in range(count):
            await window.acquire()
            sent.append(asyncio.ensure_future(one()))
        await asyncio.gather(*sent)
        tally.seconds += time.perf_counter() - begin
    finally:
        await conn.close()


async def three_paths(url: str, tallies: list[Tally]) -> None:
    """A chunk of each: one kiosk, four at once, IN_FLIGHT in flight on one."""
    one, four, piped = tallies
    await kiosk_chunk(url, KIOSKS[:1], CHUNK, one)
    await kiosk_chunk(url, KIOSKS, CHUNK // len(KIOSKS), four)
    await pipelined_chunk(url, KIOSKS[0], CHUNK, piped)


def floor_chunk(floor: SqliteFloor, count: int, tally: Tally) -> None:
    begin = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        floor(i)
        tally.latencies.append(time.perf_counter() - t0)
    tally.seconds += time.perf_counter() - begin


async def issue_throughput(tmp: Path, m: int, rounds: int, profile: Path | None
                           ) -> dict[str, list[Round]]:
    """A fresh hub (a fresh day) each round: the reply to issue_ticket costs more as
    the day's tickets pile up (see the README), and rounds should be alike."""
    floor = SqliteFloor(tmp / "floor.db")
    results: dict[str, list[Round]] = {path: [] for path in ISSUE_PATHS + CEILING_PATHS}
    try:
        for _ in range(20):
            floor(-1)
        for r in range(rounds):
            hub = await Server.hub(tmp / f"issue-{r + 1}.db", profile if r == 0 else None)
            ceiling = await Server.commit_floor(tmp / f"ceiling-{r + 1}.db")
            tallies = {path: Tally() for path in results}
            try:
                await issue_tickets(hub.url, 1)   # the day's first command opens the day
                for _ in range(max(1, m // CHUNK)):
                    floor_chunk(floor, CHUNK, tallies[ISSUE_PATHS[3]])
                    for url, paths in ((hub.url, ISSUE_PATHS[:3]), (ceiling.url, CEILING_PATHS)):
                        await three_paths(url, [tallies[path] for path in paths])
            finally:
                await hub.stop()
                await ceiling.stop()
            for path, tally in tallies.items():
                results[path].append(tally.round())
            print(f"  round {r + 1}/{rounds}: " + ", ".join(
                f"{path} {results[path][-1].per_second:.0f}/s" for path in results),
                flush=True)
    finally:
        floor.close()
    return results


# ---------------------------------------------------------------- 3. memory


@dataclass
class Memory:
    idle_mb: float
    connected_mb: float
    burst_mb: float
    peak_mb: float
    burst_s: float     # first burst message sent → every display has every event
    n: int

    def per_conn_kb(self, mb: float) -> float:
        return (mb - self.idle_mb) * 1024 / self.n


async def settle() -> None:
    await asyncio.sleep(1.0)


async def hub_memory(tmp: Path, n: int, burst: int) -> tuple[Memory, list[str]]:
    hub = await Server.hub(tmp / "memory.db")
    listeners = None
    try:
        await settle()
        idle = hub.memory()[0]
        await issue_tickets(hub.url, 1)   # opens the day: the burst is then only tickets
        kiosks = [await Conn.open(hub.url, "kiosk", "K-B2", keep=i == 0) for i in range(2)]
        listeners = await Listeners.start(hub.url, n, hello=True)
        await settle()
        connected = hub.memory()[0]
        t0 = time.monotonic()
        futures = [await k.send_command("issue_ticket", queue="quick_b")
                   for _ in range(burst // 2) for k in kiosks]
        results = [(await asyncio.wait_for(f, WAIT))["result"] for f in futures]
        last = max(r["seq"] for r in results)
        await listeners.wait_all(last)
        burst_s = time.monotonic() - t0
        await settle()
        rss, peak = hub.memory()
        frames = [kiosks[0].frames[r["seq"]] for r in results]
        if listeners.closed:
            print(f"  WARNING: display connections closed under us: {listeners.closed}")
        for k in kiosks:
            await k.close()
    finally:
        if listeners is not None:
            await listeners.quit()
        await hub.stop()
    return Memory(idle, connected, rss, peak, burst_s, n), frames


async def floor_memory(tmp: Path, n: int, frames: list[str]) -> Memory:
    floor = await Server.floor(tmp / "floor-memory.log")
    listeners = None
    try:
        await settle()
        idle = floor.memory()[0]
        caller = await Conn.open(floor.url + "/caller")
        listeners = await Listeners.start(floor.url, n, hello=False)
        await settle()
        connected = floor.memory()[0]
        t0 = time.monotonic()
        futures = [await caller.send_raw(frame) for frame in frames]
        for fut in futures:
            await asyncio.wait_for(fut, WAIT)
        start = len(EVENT_PREFIX)
        await listeners.wait_all(int(frames[-1][start:frames[-1].index(",", start)]))
        burst_s = time.monotonic() - t0
        await settle()
        rss, peak = floor.memory()
        await caller.close()
    finally:
        if listeners is not None:
            await listeners.quit()
        await floor.stop()
    return Memory(idle, connected, rss, peak, burst_s, n)


# ---------------------------------------------------------------- report


def median_of(rounds: list[Any], name: str) -> float:
    return statistics.median(getattr(r, name) for r in rounds)


def report(args: argparse.Namespace, fs: str, calls: CallRounds,
           issue: dict[str, list[Round]], memory: tuple[Memory, Memory]) -> None:
    fields = ("p50_ms", "p99_ms", "first_ms", "last_ms", "reply_ms")
    ours_c = [median_of(calls[0], f) for f in fields]
    base_c = [median_of(calls[1], f) for f in fields]
    client_c = [median_of(calls[2], f) for f in fields] if calls[2] else None
    fclient_c = [median_of(calls[3], f) for f in fields] if calls[3] else None
    client_name = f"hub -> {args.clients} HubClient + view + board"
    fclient_name = "floor -> same client work (floor)"
    med = {path: Round(*(median_of(rounds, f) for f in ("per_second", "p50_ms", "p99_ms")))
           for path, rounds in issue.items()}
    one, four, piped, base = (med[path] for path in ISSUE_PATHS)
    mem, fmem = memory
    pairs = args.calls * args.rounds * args.displays
    print(f"\n== OneWindow hub, {os.cpu_count()} CPUs (shared machine), SQLite WAL "
          f"synchronous=FULL on {fs}; medians of {args.rounds} rounds")

    board_ms = median_of(calls[2], "board_ms") if calls[2] else 0.0
    fboard_ms = median_of(calls[3], "board_ms") if calls[3] else 0.0
    print(f"\n1. call_next -> ticket_called read at {args.displays} displays (another "
          f"process), {args.calls} calls a round, {pairs} (call, display) pairs in all")
    if client_c is not None:
        print(f"   and applied by {args.clients} real display clients (a third process: "
              "HubClient, HallView, display.model.build_board; no Qt repaint),\n"
              f"   against {args.clients} floor connections doing the same client work on "
              "the same frames (a fourth process)")
    print(f"{'path':<40}{'p50 ms':>9}{'p99 ms':>9}{'first':>9}{'last':>9}{'reply':>9}")
    rows = [("hub: commit + broadcast, raw socket", ours_c),
            ("bare websockets broadcast (floor)", base_c)]
    if client_c is not None and fclient_c is not None:
        rows += [(client_name, client_c), (fclient_name, fclient_c)]
    for name, row in rows:
        print(f"{name:<40}" + "".join(f"{v:>9.2f}" for v in row))
    print(f"{'ratio hub raw / floor':<40}"
          + "".join(f"{ratio(a, b):>9}" for a, b in zip(ours_c, base_c, strict=True)))
    if client_c is not None and fclient_c is not None:
        print(f"{'ratio HubClient path / its floor':<40}"
              + "".join(f"{ratio(a, b):>9}" for a, b in zip(client_c, fclient_c, strict=True)))
        print(f"{'ratio HubClient path / bare floor':<40}"
              + "".join(f"{ratio(a, b):>9}" for a, b in zip(client_c, base_c, strict=True)))
    print("(first, last: the first and the last display to read ticket_called, median over "
          "calls; reply: the caller's own send → reply;")
    fanout = args.displays + (args.clients if client_c is not None else 0)
    print(f" the hub and the floor broadcast to {fanout} connections each)")
    if client_c is not None:
        print(f"(build_board takes {board_ms:.2f} ms per event and client ({fboard_ms:.2f} "
              f"on the floor side); the {args.clients} clients share one process and each "
              "call\n brings two events, so a client's stamp can wait for the others' work "
              "too, which a wall on its own machine does not)")
    aim = "met" if ours_c[1] <= 1.5 * base_c[1] else "MISSED"
    print(f"aim (p99 within 1.5x the floor): {aim}, {ratio(ours_c[1], base_c[1])}")

    print(f"\n2. issue_ticket over websockets, durable commits, sequential per kiosk; "
          f"{args.tickets} tickets a path a round, in chunks of {CHUNK}")
    print(f"{'path':<46}{'tickets/s':>10}{'p50 ms':>9}{'p99 ms':>9}")
    for path in ISSUE_PATHS:
        r = med[path]
        print(f"{path:<46}{r.per_second:>10.0f}{r.p50_ms:>9.3f}{r.p99_ms:>9.3f}")
    for path in CEILING_PATHS:
        r = med[path]
        print(f"{path + ' (floor)':<46}{r.per_second:>10.0f}{r.p50_ms:>9.3f}{r.p99_ms:>9.3f}")
    ceilings = [med[path] for path in CEILING_PATHS]
    for name, r, c in zip(("1 kiosk", "4 kiosks", f"{IN_FLIGHT} in flight"),
                          (one, four, piped), ceilings, strict=True):
        print(f"{'ratio ' + name + ' / bare commit':<46}{ratio(r.per_second, base.per_second):>10}"
              f"{ratio(r.p50_ms, base.p50_ms):>9}{ratio(r.p99_ms, base.p99_ms):>9}")
        print(f"{'ratio ' + name + ' / bare ws + gc':<46}{ratio(r.per_second, c.per_second):>10}"
              f"{ratio(r.p50_ms, c.p50_ms):>9}{ratio(r.p99_ms, c.p99_ms):>9}")
        print(f"{'  bare ws + gc / bare commit':<46}{ratio(c.per_second, base.per_second):>10}")
    print("(gc: group commit. The issue's goals compare the hub with the bare commit; the "
          "bare ws + gc server\n is how near to it Python and websockets alone get on this "
          "machine)")

    print(f"\n3. memory (VmRSS) with {mem.n} display connections, burst of "
          f"{args.burst} events")
    print(f"{'process':<26}{'idle MB':>9}{'+conns MB':>10}{'KB/conn':>9}{'burst MB':>10}"
          f"{'KB/conn':>9}{'peak MB':>9}{'burst s':>9}")
    for name, m in (("hub", mem), ("bare websockets (floor)", fmem)):
        print(f"{name:<26}{m.idle_mb:>9.1f}{m.connected_mb:>10.1f}"
              f"{m.per_conn_kb(m.connected_mb):>9.1f}{m.burst_mb:>10.1f}"
              f"{m.per_conn_kb(m.burst_mb):>9.1f}{m.peak_mb:>9.1f}{m.burst_s:>9.2f}")
    print(f"{'ratio hub / floor':<26}{ratio(mem.idle_mb, fmem.idle_mb):>9}{'':>10}"
          f"{ratio(mem.per_conn_kb(mem.connected_mb), fmem.per_conn_kb(fmem.connected_mb)):>9}"
          f"{'':>10}{ratio(mem.per_conn_kb(mem.burst_mb), fmem.per_conn_kb(fmem.burst_mb)):>9}"
          f"{'':>9}{ratio(mem.burst_s, fmem.burst_s):>9}")

    print("\nFor the README:\n")
    print("| hub benchmark (`make bench`) | hub | floor | hub / floor |")
    print("|---|---|---|---|")
    lines = [(f"call → screen p50, {args.displays} displays", ours_c[0], base_c[0]),
             (f"call → screen p99, {args.displays} displays", ours_c[1], base_c[1])]
    for label, a, b in lines:
        print(f"| {label} | {a:.1f} ms | {b:.1f} ms (bare broadcast) | {ratio(a, b)} |")
    if client_c is not None and fclient_c is not None:
        for q, i in (("p50", 0), ("p99", 1)):
            a, b = client_c[i], fclient_c[i]
            print(f"| call → screen {q}, {args.clients} display clients (HubClient, view, "
                  f"board) | {a:.1f} ms | {b:.1f} ms (bare broadcast + same client work) | "
                  f"{ratio(a, b)} |")
    for label, r, c in zip(("issue_ticket, 1 kiosk", "issue_ticket, 4 kiosks",
                            f"issue_ticket, {IN_FLIGHT} in flight on 1 kiosk"),
                           (one, four, piped), ceilings, strict=True):
        print(f"| {label} | {r.per_second:.0f}/s, p50 {r.p50_ms:.1f} ms | "
              f"{base.per_second:.0f}/s, p50 {base.p50_ms:.2f} ms (bare commit) | "
              f"{ratio(r.per_second, base.per_second)} |")
        print(f"| {label}, against bare websockets + group commit | "
              f"{r.per_second:.0f}/s | {c.per_second:.0f}/s (its own ratio to the bare "
              f"commit: {ratio(c.per_second, base.per_second)}) | "
              f"{ratio(r.per_second, c.per_second)} |")
    print(f"| RSS idle | {mem.idle_mb:.0f} MB | {fmem.idle_mb:.0f} MB (bare server) | "
          f"{ratio(mem.idle_mb, fmem.idle_mb)} |")
    for label, a, b in (
            (f"RSS per display, {mem.n} connected", mem.per_conn_kb(mem.connected_mb),
             fmem.per_conn_kb(fmem.connected_mb)),
            (f"RSS per display, after {args.burst} events", mem.per_conn_kb(mem.burst_mb),
             fmem.per_conn_kb(fmem.burst_mb))):
        print(f"| {label} | {a:.1f} KB | {b:.1f} KB | {ratio(a, b)} |")


def print_profile(part: str, path: Path, top: int = 25) -> None:
    """cProfile slows the hub's Python down: with --profile, read shares, not times."""
    print(f"\n== cProfile of the hub during {part} (part 2: its first round): by own time, "
          "then cumulative")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def filesystem(path: Path) -> str:
    """The filesystem type of ``path``: fsync on tmpfs would cost nothing."""
    best, kind = "", "?"
    for line in Path("/proc/mounts").read_text().splitlines():
        _, mount, fstype, *_ = line.split()
        if str(path.resolve()).startswith(mount) and len(mount) > len(best):
            best, kind = mount, fstype
    return f"{kind} ({path})"


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_hub_", dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        fs = filesystem(tmp)
        profiles = [tmp / f"hub-{part}.prof" if args.profile else None for part in (1, 2)]
        began = time.monotonic()

        def step(text: str) -> None:
            print(f"[{time.monotonic() - began:4.0f} s] {text}", flush=True)

        step(f"1. call-to-screen, {args.displays} displays + {args.clients} display "
             f"clients, {args.calls} calls a round")
        calls = await call_to_screen(tmp, args.displays, args.clients, args.rounds, args.calls,
                                     args.warmup, profiles[0])
        step(f"2. issue throughput, {args.tickets} tickets a path a round, a fresh hub each")
        issue = await issue_throughput(tmp, args.tickets, args.rounds, profiles[1])
        step(f"3. memory, {args.connections} displays, burst of {args.burst} events")
        mem, frames = await hub_memory(tmp, args.connections, args.burst)
        fmem = await floor_memory(tmp, args.connections, frames)
        step("done")
        for part, path in zip(("call-to-screen", "issue throughput"), profiles, strict=True):
            if path is not None:
                print_profile(part, path)
        report(args, fs, calls, issue, (mem, fmem))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: fewer rounds, calls, tickets, connections")
    parser.add_argument("--displays", type=int, default=200, help="displays for call-to-screen")
    parser.add_argument("--clients", type=int, default=10,
                        help="real HubClient displays for call-to-screen, in a load process "
                        "of their own (0: none)")
    parser.add_argument("--rounds", type=int, help="rounds (default 5; quick 2)")
    parser.add_argument("--calls", type=int, help="measured calls a round (default 60; quick 10)")
    parser.add_argument("--tickets", type=int,
                        help=f"tickets a path a round, in chunks of {CHUNK} (default 500; "
                        "quick 100)")
    parser.add_argument("--connections", type=int,
                        help="displays for the memory measurement (default 1000; quick 300)")
    parser.add_argument("--burst", type=int, default=100, help="events in the memory burst")
    parser.add_argument("--dir", help="where the temp dir goes (default: the system's)")
    parser.add_argument("--profile", action="store_true",
                        help="run the hubs of parts 1 and 2 under cProfile, print the top")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.calls = args.calls or (10 if args.quick else 60)
    args.tickets = args.tickets or (100 if args.quick else 500)
    args.connections = args.connections or (300 if args.quick else 1000)
    args.warmup = 3 if args.quick else 5
    if not 2 <= args.burst <= 2 * CHUNK:
        parser.error(f"--burst: 2 to {2 * CHUNK} (two kiosk connections, unthrottled)")
    args.burst -= args.burst % 2
    raise_nofile()   # the hub and the floor inherit it: 1,000 sockets each
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.connections + 100:
        sys.exit(f"open-files limit {soft} is too low for {args.connections} connections")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
