"""Load process for bench/bench_peak.py: hold N display connections, time every call.

    python -m bench.peak_listeners HUB_URL TOKENS_FILE FIRST_ID COUNT

Opens COUNT hub connections as displays (ids FIRST_ID onwards in TOKENS_FILE's order
of ids, each with its own token), each a lean ``peak_wire.Wire`` socket. Every event
frame is checked for gaps per connection, and every ``ticket_called`` in it is
stamped with the ``time.monotonic()`` of its bytes' arrival. The parent says when each
call was sent (``T``); the latency of every (call, listener) pair goes into a
log-binned histogram (bins 2% wide), and per call the count of listeners that got it
and the latest arrival. A hub connection that is lost reconnects with the display
client's backoff (dispatcher/client/client.py: 0.2 s doubling to 5 s, or to 1 s
while the hub's port refuses connections; jittered) and
its ``last_seq``, and records when it was resynced: its welcome if the hub sent a
snapshot, else the event frame that brought it to the welcome's ``seq``.

stdin (one command a line):   stdout:
    floor URL                     floor-ready N   (COUNT bare connections to the floor)
    floor-close                   floor-closed
    T SRC SEQ T0 [w]              —  (SRC: hub or floor; T0 the call's send time; w:
                                      also counted apart, the part the floor replays)
    unreceived SRC                unreceived N    ((call, connection) pairs still due)
    report SRC                    report {json}   (everything since the last report)
    storm                         storm {json}    (reconnects since the last "storm")
                                  allback         (as many resyncs as connections since)
    quit (or EOF)
and ``ready N`` once every hub connection is welcomed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.hub_listeners import raise_nofile
from bench.peak_wire import CALLED, EVENTS_START, Wire, backoff, events_in, fail, read_tokens

BINS = 1200            # 2% wide from 0.1 ms: the last bin starts past 2.6e6 s
PER_E = 50.0           # bins per e-fold
LOW = 1e-4             # s, the first bin's upper end
CONNECT_AT_ONCE = 50   # the first connects: stay under the hub's listen backlog


def bin_of(seconds: float) -> int:
    if seconds <= LOW:
        return 0
    return min(BINS - 1, 1 + int(math.log(seconds / LOW) * PER_E))


def bin_value(i: int) -> float:
    """The middle of bin ``i``, in seconds."""
    return LOW if i == 0 else LOW * math.exp((i - 0.5) / PER_E)


@dataclass
class Calls:
    """One source's (hub's or floor's) calls: stamps waiting for their send time, the
    latency histogram, and per call how many listeners got it and the latest one."""

    hist: list[int] = field(default_factory=lambda: [0] * BINS)
    pending: dict[int, list[float]] = field(default_factory=dict)
    t0: dict[int, float] = field(default_factory=dict)
    got: dict[int, list[float]] = field(default_factory=dict)   # seq -> [count, max lat]
    gaps: int = 0
    window: set[int] = field(default_factory=set)   # calls also counted on their own
    hist_window: list[int] = field(default_factory=lambda: [0] * BINS)

    def stamp(self, seq: int, t: float) -> None:
        t0 = self.t0.get(seq)
        if t0 is None:
            self.pending.setdefault(seq, []).append(t)
        else:
            self._fold(seq, t - t0)

    def sent(self, seq: int, t0: float, window: bool = False) -> None:
        self.t0[seq] = t0
        if window:
            self.window.add(seq)
        for t in self.pending.pop(seq, ()):
            self._fold(seq, t - t0)

    def _fold(self, seq: int, latency: float) -> None:
        self.hist[bin_of(latency)] += 1
        if seq in self.window:
            self.hist_window[bin_of(latency)] += 1
        got = self.got.get(seq)
        if got is None:
            self.got[seq] = [1, latency]
        else:
            got[0] += 1
            if latency > got[1]:
                got[1] = latency

    def unreceived(self, connections: int) -> int:
        """(call, connection) pairs of the calls sent so far not received yet."""
        return sum(connections - (self.got[s][0] if s in self.got else 0) for s in self.t0)

    def report(self) -> dict[str, Any]:
        body = {"hist": {i: n for i, n in enumerate(self.hist) if n},
                "hist_window": {i: n for i, n in enumerate(self.hist_window) if n},
                "window": sorted(self.window),
                "calls": {seq: self.got.get(seq, [0, None]) for seq in self.t0},
                "unclaimed": len(self.pending), "gaps": self.gaps}
        self.hist = [0] * BINS
        self.hist_window = [0] * BINS
        self.window.clear()
        self.pending.clear()
        self.t0.clear()
        self.got.clear()
        self.gaps = 0
        return body


class Listener(Wire):
    """One display connection (hub: with hello; floor: bare)."""

    def __init__(self, owner: Process, url: str, calls: Calls, device: str | None = None,
                 last_seq: int | None = None) -> None:
        super().__init__(url)
        self.owner, self.calls, self.device = owner, calls, device
        self.last_seq = last_seq
        self.welcome: asyncio.Future[dict[str, Any]] = \
            asyncio.get_running_loop().create_future()
        self.target: int | None = None     # the welcome's seq, until resynced
        self.closing = False
        self.welcomed = False              # a loss before this is its opener's to retry

    def on_text(self, payload: bytes, t: float) -> None:
        if payload.startswith(EVENTS_START):
            for seq, name in events_in(payload):
                last = self.last_seq
                if last is not None and seq != last + 1:
                    self.calls.gaps += 1
                self.last_seq = seq
                if name == CALLED:
                    self.calls.stamp(seq, t)
            if self.target is not None and self.last_seq is not None \
                    and self.last_seq >= self.target:
                self.target = None
                self.owner.resynced(t)
            return
        if not self.welcome.done():   # keep none of the snapshot: 2,000 of them add up
            got = json.loads(payload)
            self.welcome.set_result({k: got.get(k) for k in ("type", "seq", "resync", "error")})

    async def hello(self, token: str) -> None:
        await self.connect(60)
        if self.device is None:
            return
        self.send_text(json.dumps({"type": "hello", "role": "display", "device": self.device,
                                   "token": token, "last_seq": self.last_seq, "protocol": 1,
                                   "batch": True}))
        welcome = await asyncio.wait_for(self.welcome, 60)
        if welcome.get("type") != "welcome":
            raise ConnectionError(f"{self.device} refused: {str(welcome)[:300]}")
        seq = int(welcome["seq"])
        if welcome.get("resync") == "snapshot" or self.last_seq is None:
            self.owner.snapshots += self.last_seq is not None
            self.last_seq = seq
        self.welcomed = True
        if self.last_seq >= seq:
            self.owner.resynced(time.monotonic())
        else:
            self.target = seq

    def on_close_frame(self, code: int) -> None:
        if code not in (1000, 1001):
            self.owner.out(f"closed {code}")

    def on_lost(self) -> None:
        fail(self.welcome, ConnectionError("closed before the welcome"))
        if self.welcomed and not self.closing and not self.owner.quitting:
            self.owner.lost(self)


class Process:
    def __init__(self, url: str, tokens: dict[str, str], ids: list[str]) -> None:
        self.url, self.tokens, self.ids = url, tokens, ids
        self.hub: dict[str, Listener] = {}
        self.floor: list[Listener] = []
        self.sources = {"hub": Calls(), "floor": Calls()}
        self.quitting = False
        self.snapshots = 0
        self.storm: dict[str, Any] = self._fresh_storm()
        self.tasks: set[asyncio.Task[None]] = set()

    @staticmethod
    def _fresh_storm() -> dict[str, Any]:
        return {"lost": [], "resynced": [], "attempts": 0, "errors": {}}

    def out(self, line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def resynced(self, t: float) -> None:
        self.storm["resynced"].append(t)
        if len(self.storm["resynced"]) == len(self.ids):
            self.out("allback")

    def lost(self, listener: Listener) -> None:
        self.storm["lost"].append(time.monotonic())
        task = asyncio.ensure_future(self._reconnect(listener.device or "", listener.last_seq))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _reconnect(self, device: str, last_seq: int | None) -> None:
        attempt, refused = 0, False
        while not self.quitting:
            await asyncio.sleep(backoff(attempt, refused))
            attempt += 1
            self.storm["attempts"] += 1
            listener = Listener(self, self.url, self.sources["hub"], device, last_seq)
            try:
                await listener.hello(self.tokens[device])
            except (OSError, TimeoutError) as exc:
                refused = isinstance(exc, ConnectionRefusedError)
                kind = type(exc).__name__
                self.storm["errors"][kind] = self.storm["errors"].get(kind, 0) + 1
                listener.closing = True
                listener.abort()
                continue
            self.hub[device] = listener
            return

    async def _open(self, device: str, gate: asyncio.Semaphore) -> None:
        listener = Listener(self, self.url, self.sources["hub"], device)
        async with gate:
            await listener.hello(self.tokens[device])
        self.hub[device] = listener

    async def _open_floor(self, url: str) -> None:
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)

        async def one() -> Listener:
            listener = Listener(self, url, self.sources["floor"])
            async with gate:
                await listener.connect(60)
            return listener

        self.floor = list(await asyncio.gather(*(one() for _ in self.ids)))

    def command(self, line: str) -> bool:
        """Handle one line from the parent; False to quit."""
        word, _, rest = line.partition(" ")
        if word == "T":
            src, seq, t0, *window = rest.split()
            self.sources[src].sent(int(seq), float(t0), bool(window))
        elif word == "unreceived":
            conns = len(self.hub) if rest == "hub" else len(self.floor)
            self.out(f"unreceived {self.sources[rest].unreceived(conns)}")
        elif word == "report":
            self.out("report " + json.dumps(self.sources[rest].report(), separators=(",", ":")))
        elif word == "storm":
            body = {**self.storm, "snapshots": self.snapshots, "connected": len(
                [c for c in self.hub.values() if c.transport is not None])}
            self.storm, self.snapshots = self._fresh_storm(), 0
            self.out("storm " + json.dumps(body, separators=(",", ":")))
        elif word == "floor":
            self._spawn(self._floor_ready(rest))
        elif word == "floor-close":
            for listener in self.floor:
                listener.close()
            self.floor = []
            self.out("floor-closed")
        elif word in ("quit", ""):
            return False
        return True

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _floor_ready(self, url: str) -> None:
        await self._open_floor(url)
        self.out(f"floor-ready {len(self.floor)}")

    async def run(self) -> None:
        gate = asyncio.Semaphore(CONNECT_AT_ONCE)
        await asyncio.gather(*(self._open(device, gate) for device in self.ids))
        self.out(f"ready {len(self.hub)}")
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while self.command((await reader.readline()).decode().strip()):
            pass
        self.quitting = True
        for listener in [*self.hub.values(), *self.floor]:
            listener.closing = True
            with contextlib.suppress(Exception):
                listener.close()
        await asyncio.sleep(0.2)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("tokens", type=Path)
    parser.add_argument("first", help="the first device id of this process")
    parser.add_argument("count", type=int)
    args = parser.parse_args(argv)
    raise_nofile()
    tokens = read_tokens(args.tokens)
    ids = sorted(tokens)
    if args.first not in tokens:
        sys.exit(f"peak_listeners: {args.first} is not in {args.tokens}")
    start = ids.index(args.first)
    chosen = ids[start:start + args.count]
    if len(chosen) != args.count:
        sys.exit(f"peak_listeners: only {len(chosen)} ids from {args.first} in {args.tokens}")
    asyncio.run(Process(args.url, tokens, chosen).run())


if __name__ == "__main__":
    main()
