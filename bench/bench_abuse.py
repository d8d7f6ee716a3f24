"""A kiosk's issue latency with and without abusive clients on the hub (issue 14).

    python -m bench.bench_abuse [--quick] [--rounds 5] [--issues 100] [--tickets 2000]

A real `onewindow serve` (bench_hub's Server: training clock at 2026-11-23 09:30, a
fresh SQLite file in a fresh temp dir, WAL + synchronous=FULL, the default rate
limit) with a day of --tickets tickets already issued (kiosk K-B1, 50 a fresh
connection). Then rounds; each round has a quiet phase and an abused phase, in
alternating order, and in each kiosk K-B3 issues --issues tickets one by one (send,
await the reply, then 50 ms: under 20 a second), timed from just before the send to
the reply with time.perf_counter(). Abused: bench/hub_abusers.py in its own process
holds four callers (C-B01..C-B04), each sending a snapshot query every 50 ms
whatever the answers (what the hub allowed before it charged by cost), and one
caller (C-B05) that reads nothing. The quiet phase is the floor: the same hub,
the same day, the same kiosk, in the same run. p50/p99 per phase and round,
medians over rounds; the ratio abused / quiet is what to compare between runs. The
hub's VmRSS is sampled every 50 ms in the abused phases; VmHWM is its peak.
Each round adds 2 x --issues tickets to the day, to both phases alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.bench_hub import ROOT, Conn, Server, filesystem, issue_tickets, quantiles, ratio

GAP = 0.05          # s between a kiosk's tickets
WAIT = 60.0


@dataclass
class Phase:
    p50_ms: float
    p99_ms: float


@dataclass
class Abused(Phase):
    rss_peak_mb: float = 0.0
    tally: dict[str, Any] = field(default_factory=dict)


async def kiosk_latencies(url: str, count: int) -> Phase:
    kiosk = await Conn.open(url, "kiosk", "K-B3")
    took = []
    try:
        for _ in range(count):
            began = time.perf_counter()
            await kiosk.command("issue_ticket", queue="quick_b")
            took.append(time.perf_counter() - began)
            await asyncio.sleep(GAP)
    finally:
        await kiosk.close()
    p50, p99 = quantiles(took)
    return Phase(p50 * 1e3, p99 * 1e3)


class Abusers:
    """bench/hub_abusers.py: four snapshot-hungry callers and a non-reader."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @classmethod
    async def start(cls, url: str) -> Abusers:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.hub_abusers", url,
            cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), WAIT)).decode()
        if line.strip() != "ready":
            proc.kill()
            raise RuntimeError(f"the abusers did not start: {line!r}")
        return cls(proc)

    async def quit(self) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"quit\n")
        await self.proc.stdin.drain()
        line = (await asyncio.wait_for(self.proc.stdout.readline(), WAIT)).decode()
        await asyncio.wait_for(self.proc.wait(), WAIT)
        return json.loads(line.removeprefix("done "))


async def sample_rss(hub: Server, stop: asyncio.Event) -> float:
    peak = 0.0
    while not stop.is_set():
        peak = max(peak, hub.memory()[0])
        await asyncio.sleep(0.05)
    return peak


async def abused(hub: Server, count: int) -> Abused:
    stop = asyncio.Event()
    sampler = asyncio.ensure_future(sample_rss(hub, stop))
    abusers = await Abusers.start(hub.url)
    try:
        phase = await kiosk_latencies(hub.url, count)
    finally:
        tally = await abusers.quit()
        stop.set()
    return Abused(phase.p50_ms, phase.p99_ms, await sampler, tally)


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_abuse_", dir=args.dir) as tmp_name:
        tmp = Path(tmp_name)
        hub = await Server.hub(tmp / "abuse.db")
        quiet: list[Phase] = []
        loud: list[Abused] = []
        try:
            began = time.monotonic()
            await issue_tickets(hub.url, args.tickets)
            print(f"[{time.monotonic() - began:4.0f} s] {args.tickets} tickets issued; "
                  f"{args.rounds} rounds of {args.issues} issues a phase", flush=True)
            for r in range(args.rounds):
                if r % 2 == 0:
                    quiet.append(await kiosk_latencies(hub.url, args.issues))
                    loud.append(await abused(hub, args.issues))
                else:
                    loud.append(await abused(hub, args.issues))
                    quiet.append(await kiosk_latencies(hub.url, args.issues))
                print(f"  round {r + 1}/{args.rounds}: quiet p50 {quiet[-1].p50_ms:.2f} "
                      f"p99 {quiet[-1].p99_ms:.2f} ms, abused p50 {loud[-1].p50_ms:.2f} "
                      f"p99 {loud[-1].p99_ms:.2f} ms, RSS peak {loud[-1].rss_peak_mb:.0f} MB",
                      flush=True)
            hwm = hub.memory()[1]
        finally:
            await hub.stop()
        lagging = hub.log.read_text().count('"event": "lagging"')
        report(args, filesystem(tmp), quiet, loud, hwm, lagging)


def median(rounds: list[Any], name: str) -> float:
    return statistics.median(getattr(r, name) for r in rounds)


def report(args: argparse.Namespace, fs: str, quiet: list[Phase], loud: list[Abused],
           hwm: float, lagging: int) -> None:
    q50, q99 = median(quiet, "p50_ms"), median(quiet, "p99_ms")
    a50, a99 = median(loud, "p50_ms"), median(loud, "p99_ms")
    callers = [c for r in loud for c in r.tally["callers"]]
    served = statistics.median(c["snapshots"] for c in callers)
    size = sum(c["chars"] for c in callers) / max(1, sum(c["snapshots"] for c in callers))
    limited = statistics.median(c["limited"] for c in callers)
    print(f"\n== kiosk issue_ticket latency, a day of {args.tickets}+ tickets, {os.cpu_count()} "
          f"CPUs (shared), SQLite on {fs}; medians of {args.rounds} rounds of "
          f"{args.issues} issues a phase")
    print(f"{'phase':<44}{'p50 ms':>9}{'p99 ms':>9}")
    print(f"{'quiet (floor)':<44}{q50:>9.2f}{q99:>9.2f}")
    print(f"{'4 snapshot-hungry callers + a non-reader':<44}{a50:>9.2f}{a99:>9.2f}")
    print(f"{'ratio abused / quiet':<44}{ratio(a50, q50):>9}{ratio(a99, q99):>9}")
    print(f"hub RSS peak in the abused phases {median(loud, 'rss_peak_mb'):.0f} MB "
          f"(median of rounds), VmHWM {hwm:.0f} MB; each caller got {served:.0f} "
          f"snapshots of {size / 1024:.0f} K characters a phase and {limited:.0f} "
          f"rate_limited; clients dropped for lagging: {lagging}")
    print("\nFor the README:\n")
    print("| bench_abuse | quiet (floor) | abused | abused / quiet |")
    print("|---|---|---|---|")
    print(f"| kiosk issue p50 | {q50:.1f} ms | {a50:.1f} ms | {ratio(a50, q50)} |")
    print(f"| kiosk issue p99 | {q99:.1f} ms | {a99:.1f} ms | {ratio(a99, q99)} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds of 40")
    parser.add_argument("--rounds", type=int, help="rounds (default 5; quick 2)")
    parser.add_argument("--issues", type=int, help="kiosk tickets a phase (default 100; "
                        "quick 40)")
    parser.add_argument("--tickets", type=int, default=2000,
                        help="tickets issued before the rounds (default 2000)")
    parser.add_argument("--dir", help="where the temp dir goes (default: the system's)")
    args = parser.parse_args(argv)
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.issues = args.issues or (40 if args.quick else 100)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
