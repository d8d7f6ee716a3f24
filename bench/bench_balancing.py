"""The hub's balancing round against the cost of one durable command.

    python -m bench.bench_balancing [--rounds R] [--runs N]

The states are those of the busy day (the sample hall, assets/arrivals/busy-day.csv)
at 09:30, 10:30 and 15:00, played by the simulator with the hall file as written
(`loops+side`: nobody balances, so the lines are long and the moves many — the
heaviest round the hub can meet) and under `capped` (the live hall balancing itself).

Timed per state, as the hub does them (dispatcher/hub/balancer.py):

- **round**: ``balancing.candidates`` plus posting them (``PostSuggestions`` decided
  on a copy of the core): what runs on the hub's event loop every 30 s;
- **pickle**: ``pickle.dumps(state)``, the loop's share of each prediction;
- **predict**: ``forward.predict_move`` of the first move (8 runs, 60 minutes),
  which the hub runs in a worker process, off the loop.

Floor: one bare SQLite commit (WAL, synchronous=FULL) of a one-row INSERT, the
least a command costs the loop. Medians over rounds; the ratio is what to compare.
"""

from __future__ import annotations

import argparse
import copy
import pickle
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from dispatcher.core import Dispatcher
from dispatcher.core.balancing import as_move, candidates
from dispatcher.core.commands import PostSuggestions
from dispatcher.core.state import HallState
from dispatcher.hall import ASSETS, SAMPLE_HALL, Hall, load_hall
from dispatcher.simulator.arrivals import read_arrivals
from dispatcher.simulator.engine import SimOptions, _Run
from dispatcher.simulator.forward import predict_move

MOMENTS = {"09:30": 9.5 * 3600, "10:30": 10.5 * 3600, "15:00": 15 * 3600}


class _Snapshots(_Run):
    """The day, keeping a copy of the core at each of MOMENTS (at the first balancing
    round or arrival after it)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.kept: dict[str, tuple[Dispatcher, float]] = {}

    def _arrive(self, now: float, i: object) -> None:
        for name, seconds in MOMENTS.items():
            if name not in self.kept and now - self.midnight >= seconds:
                self.kept[name] = (copy.deepcopy(self.core), now)
        super()._arrive(now, i)


def states(hall: Hall, policy: str) -> dict[str, tuple[Dispatcher, float]]:
    arrivals = read_arrivals(ASSETS / "arrivals" / "busy-day.csv", hall)
    run = _Snapshots(hall, arrivals, SimOptions(policy=policy, seed=1))
    run.play()
    return run.kept


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        begin = time.perf_counter()
        fn()
        times.append((time.perf_counter() - begin) * 1000)
    return statistics.median(times)


def commit_floor(rounds: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        conn = sqlite3.connect(Path(folder) / "floor.db", isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("CREATE TABLE t (seq INTEGER PRIMARY KEY, body TEXT)")
        ms = median_ms(lambda: conn.execute("INSERT INTO t (body) VALUES (?)", ("x" * 200,)),
                       rounds * 10)
        conn.close()
    return ms


def balancing_round(core: Dispatcher, now: float) -> Callable[[], object]:
    def run() -> object:
        found = candidates(core.hall, core.state, now)
        return core.decide(PostSuggestions(found), now)
    return run


def bench(hall: Hall, policy: str, rounds: int, runs: int, floor: float) -> None:
    for name, (core, now) in states(hall, policy).items():
        print(row(policy, name, core, now, rounds, runs, floor))


def row(policy: str, name: str, core: Dispatcher, now: float, rounds: int, runs: int,
        floor: float) -> str:
    state: HallState = core.state
    found = candidates(core.hall, state, now)
    waiting = sum(len(line) for line in state.queue_lines.values())
    round_ms = median_ms(balancing_round(core, now), rounds)
    pickle_ms = median_ms(lambda: pickle.dumps(state), rounds)
    predict_ms = (median_ms(lambda: predict_move(core.hall, state, now, as_move(found[0], ""),
                                                 runs=runs), max(1, rounds // 5))
                  if found else float("nan"))
    return (f"| {policy} | {name} | {len(state.tickets)} | {waiting} | {len(found)} | "
            f"{round_ms:.2f} ({round_ms / floor:.1f}×) | {pickle_ms:.2f} "
            f"({pickle_ms / floor:.1f}×) | {predict_ms:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--runs", type=int, default=8, help="forward simulation runs")
    args = parser.parse_args()
    hall = load_hall(SAMPLE_HALL)
    floor = commit_floor(args.rounds)
    print(f"floor: one bare SQLite commit, median {floor:.2f} ms\n")
    print("| policy | moment | tickets today | waiting | moves | round ms (× commit) | "
          "pickle ms (× commit) | predict ms (worker) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for policy in ("loops+side", "capped"):
        bench(hall, policy, args.rounds, args.runs, floor)


if __name__ == "__main__":
    main()
