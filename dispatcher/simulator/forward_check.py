"""How right is the predicted effect of a move? Checked against what the simulator
then measures.

    python -m dispatcher.simulator.forward_check [--policy capped] [--sample N]

plays the busy day (the sample hall, assets/arrivals/busy-day.csv) under a balancing
policy. At each balancing round where the policy moves windows, for each move:

(a) ``predict_move`` from the state at that moment (the forward model: arrivals at
    the day's rates so far, service times drawn, the running ones conditioned);
(b) the simulation is forked twice at that moment and played on for the horizon with
    the file's actual arrivals and service times, with the move and without it, no
    other move in either (as the prediction assumes);
(c) the predicted mean wait with the move, the predicted effect (after − before) and
    the same for the worst queue are compared with the measured ones.

Prints a markdown table: n, MAE, RMSE, bias (predicted − measured) and the worst case
with its time and window, all in minutes.
"""

from __future__ import annotations

import argparse
import copy
import heapq
import math
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from ..core import DispatchError
from ..core.commands import SetProfile
from ..core.policy import capped_moves, suggest_moves
from ..core.state import TicketState
from ..hall import ASSETS, SAMPLE_HALL, Hall, load_hall
from .arrivals import Arrival, format_time, read_arrivals
from .engine import _BALANCE, SimOptions, _Run
from .forward import Effect, effect, involved_queues, predict_move, waits


@dataclass(frozen=True)
class Check:
    at: float                      # seconds after midnight
    window: str
    predicted: Effect
    measured: Effect
    seconds: float                 # how long predict_move took


@dataclass(frozen=True)
class Settings:
    horizon: float = 3600.0
    runs: int = 8
    seed: int = 0
    spacing: float = 0.0           # at most one move checked per this many seconds
    oracle: bool = False           # predict with the horizon's true rates and means


class _CheckedRun(_Run):
    """The day under a balancing policy, stopping at each round that moves windows to
    predict and measure each move before the round goes on as usual."""

    def __init__(self, hall: Hall, arrivals: list[Arrival], opts: SimOptions,
                 settings: Settings) -> None:
        super().__init__(hall, arrivals, opts)
        self.settings = settings
        self.checks: list[Check] = []
        self.last = -math.inf          # when a move was last checked

    def _balance(self, now: float, _: object) -> None:
        hall, state = self.core.hall, self.core.state
        moves = (capped_moves(hall, state, now, self.moved) if self.opts.policy == "capped"
                 else suggest_moves(hall, state, now))
        for move in moves:
            if now - self.last >= self.settings.spacing:
                self._check(move, now)
        super()._balance(now, _)

    def _check(self, move: SetProfile, now: float) -> None:
        s = self.settings
        started = time.perf_counter()
        try:
            predicted = predict_move(self.core.hall, self.core.state, now, move,
                                     horizon=s.horizon, runs=s.runs, seed=s.seed,
                                     **(self._oracle(now) if s.oracle else {}))
        except DispatchError:
            return  # refused by the core: the round skips it too
        seconds = time.perf_counter() - started
        self.last = now
        queues = involved_queues(self.core.state, move)
        before, after = (self._measure(queues, now, m) for m in (None, move))
        self.checks.append(Check(now - self.midnight, move.window, predicted,
                                 effect(queues, s.horizon, 1, before, after), seconds))

    def _oracle(self, now: float) -> dict:
        """What a perfect forecast would give the prediction: each (queue, class)'s rate
        in the file over the horizon's opening time, each queue's configured mean
        service (the mean the file's service times were drawn with)."""
        start, end = now - self.midnight, now - self.midnight + self.settings.horizon
        counts = Counter((a.queue, a.ticket_class) for a in self.arrivals
                         if start < a.at <= end)
        open_s = sum(max(0.0, min(e, end) - max(s, start)) for s, e in self.periods)
        rates = {k: n / open_s for k, n in sorted(counts.items())} if open_s else {}
        return {"rates": rates,
                "means": {q: queue.service_seconds for q, queue in self.hall.queues.items()}}

    def _measure(self, queues: tuple[str, ...], now: float,
                 move: SetProfile | None) -> dict[str, list[float]]:
        """Waits per involved queue in a fork of the run played on for the horizon with
        the file's arrivals and service times, with ``move`` applied and no other."""
        fork = self._fork()
        waiting = {t.id for t in fork.core.state.tickets.values()
                   if t.state is TicketState.WAITING}
        if move is not None:
            fork.core.execute(move, now)
            fork._sweep(now)
        until = now + self.settings.horizon
        fork.run_until(until)
        found: dict[str, list[float]] = {q: [] for q in queues}
        for queue, wait in waits(fork.records, waiting, now, until):
            if queue in found:
                found[queue].append(wait)
        return found

    def _fork(self) -> _Run:
        """A copy of the run that shares only what never changes, without console rounds."""
        memo = {id(x): x for x in (self.hall, self.core.hall, self.arrivals, self.settings)}
        memo[id(self.checks)] = []
        fork = copy.deepcopy(self, memo)
        fork.heap = [e for e in fork.heap if e[1] != _BALANCE]
        heapq.heapify(fork.heap)
        return fork


def check_day(hall: Hall, arrivals: list[Arrival], policy: str = "capped",
              settings: Settings | None = None) -> list[Check]:
    run = _CheckedRun(hall, arrivals, SimOptions(policy=policy, estimates=False),
                      settings or Settings())
    run.play()
    return run.checks


# ------------------------------------------------------------------ the errors


FIGURES: tuple[tuple[str, Callable[[Effect], float]], ...] = (
    ("mean wait with the move", lambda e: e.mean_after),
    ("mean wait without it", lambda e: e.mean_before),
    ("effect on the mean (after − before)", lambda e: e.mean_after - e.mean_before),
    ("worst queue with the move", lambda e: e.worst_after),
    ("effect on the worst queue", lambda e: e.worst_after - e.worst_before),
)


def error_table(checks: list[Check]) -> str:
    rows = ["| figure | n | measured mean | MAE | RMSE | bias | worst error (at, window) |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for name, figure in FIGURES:
        errors = [(figure(c.predicted) - figure(c.measured), c) for c in checks]
        if not errors:
            continue
        values = [e for e, _ in errors]
        worst, at = max(errors, key=lambda x: abs(x[0]))
        rows.append(
            f"| {name} | {len(values)} | "
            f"{statistics.fmean(figure(c.measured) for c in checks):.2f} | "
            f"{statistics.fmean(map(abs, values)):.2f} | "
            f"{math.sqrt(statistics.fmean(v * v for v in values)):.2f} | "
            f"{statistics.fmean(values):+.2f} | "
            f"{worst:+.2f} ({format_time(at.at)[:5]}, {at.window}) |")
    return "\n".join(rows)


def sign_table(checks: list[Check]) -> str:
    """How often the prediction got the direction of the effect right."""
    def sign(x: float) -> int:
        return 0 if abs(x) < 0.05 else (1 if x > 0 else -1)

    def change(e: Effect) -> float:
        return e.mean_after - e.mean_before

    agree = sum(sign(change(c.predicted)) == sign(change(c.measured)) for c in checks)
    inside = sum(abs(change(c.predicted) - change(c.measured)) <= 2 * c.predicted.spread
                 for c in checks)
    return (f"direction of the effect on the mean (better / no change within 0.05 min / "
            f"worse) right in {agree} of {len(checks)} moves; measured effect within "
            f"±2 run-to-run deviations of the predicted one in {inside} of {len(checks)}")


def timing(checks: list[Check]) -> str:
    took = sorted(c.seconds for c in checks)
    if not took:
        return "no move checked"
    return (f"predict_move: median {statistics.median(took):.3f} s, "
            f"max {took[-1]:.3f} s over {len(took)} moves")


def move_lines(checks: list[Check]) -> str:
    rows = ["| at | window | queues | predicted before → after | measured before → after |",
            "|---|---|---:|---:|---:|"]
    rows += [f"| {format_time(c.at)[:5]} | {c.window} | {len(c.predicted.queues)} | "
             f"{c.predicted.mean_before:.2f} → {c.predicted.mean_after:.2f} | "
             f"{c.measured.mean_before:.2f} → {c.measured.mean_after:.2f} |" for c in checks]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hall", default=str(SAMPLE_HALL))
    parser.add_argument("--arrivals", default=str(ASSETS / "arrivals" / "busy-day.csv"))
    parser.add_argument("--policy", choices=("capped", "balanced"), default="capped")
    parser.add_argument("--spacing-minutes", type=float, default=0.0,
                        help="check at most one move per this many minutes (0: every move)")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--horizon-minutes", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--moves", action="store_true", help="list every move checked")
    parser.add_argument("--oracle", action="store_true",
                        help="predict with the horizon's true arrival rates and service "
                        "means (how much of the error is the forecast of those)")
    args = parser.parse_args()
    hall = load_hall(args.hall)
    settings = Settings(args.horizon_minutes * 60, args.runs, args.seed,
                        args.spacing_minutes * 60, args.oracle)
    checks = check_day(hall, read_arrivals(args.arrivals, hall), args.policy, settings)
    print(error_table(checks), "", sign_table(checks), timing(checks), sep="\n")
    if args.moves:
        print("", move_lines(checks), sep="\n")


if __name__ == "__main__":
    main()
