"""A simulated day of the sample hall against the floor of this machine.

    python -m bench.bench_simulate [--rounds R] [--policy NAME] [--load L]

Each round times `simulate()` on the same generated busy day (two peaks, load 0.85,
seed 1; estimators recorded at every issue, as `onewindow simulate` does), the same
without recording the estimators (where the time goes), then two floors on the very
same work: the bare core, i.e. the commands the simulator sent replayed through
`Dispatcher.execute` at the same times on a fresh core (what any driver of the real
core must pay), and a bare heapq event loop doing as many pushes and pops as the
simulator's clock. Rounds interleave the four, the table gives medians, and the
ratios simulate() ÷ each. Last, the estimator: `ticket_status` of the
ticket just issued at every issue of the day, and, in the state a 5000-ticket day
under the hall file's own profiles leaves at its busiest moment, `ticket_status` and
`queue_status` (median of repeated calls).
"""

from __future__ import annotations

import argparse
import heapq
import statistics
import time
from collections.abc import Callable
from typing import ClassVar

from dispatcher.core import Dispatcher, DispatchError, hall_for
from dispatcher.core import commands as cmd
from dispatcher.hall import SAMPLE_HALL, Hall, load_hall
from dispatcher.simulator import engine
from dispatcher.simulator.generate import GenOptions, generate


class Recording(Dispatcher):
    """The real core, keeping each command it executed and when."""

    log: ClassVar[list[tuple[cmd.Command, float]]] = []

    def execute(self, command: cmd.Command, now: float):  # type: ignore[override]
        Recording.log.append((command, now))
        return super().execute(command, now)


def record(hall: Hall, arrivals, opts: engine.SimOptions) -> tuple[list, int]:
    """The commands a simulated day sends the core, and its clock's pushes."""
    Recording.log = []
    engine.Dispatcher = Recording  # type: ignore[misc]
    try:
        run = engine._Run(hall, arrivals, opts)
        run.play()
    finally:
        engine.Dispatcher = Dispatcher  # type: ignore[misc]
    return Recording.log, run.seq


def bare_core(policy_hall: Hall, log: list) -> Callable[[], None]:
    def replay() -> None:
        core = Dispatcher(policy_hall)
        for command, now in log:
            execute(core, command, now)
    return replay


def execute(core: Dispatcher, command: cmd.Command, now: float) -> bool:
    """As the simulator does: a refused command (an arrival while closed) is skipped."""
    try:
        core.execute(command, now)
    except DispatchError:
        return False
    return True


def bare_heap(pushes: int) -> Callable[[], None]:
    def loop() -> None:
        heap: list[tuple[float, int, int, object]] = []
        for i in range(pushes):
            heapq.heappush(heap, (float(i % 997), 1, i, None))
        while heap:
            heapq.heappop(heap)
    return loop


def timed(fn: Callable[[], object]) -> float:
    begin = time.perf_counter()
    fn()
    return time.perf_counter() - begin


def estimator_us(hall: Hall, tickets: int) -> tuple[float, float, int]:
    """Median µs of ticket_status (of the ticket just issued) and of queue_status, at the
    issue that leaves most tickets waiting in a day of ``tickets`` tickets under the hall
    file's own profiles."""
    day = generate(hall, GenOptions(tickets=tickets, seed=1))
    log, _ = record(hall, day, engine.SimOptions(estimates=False))
    core, busiest, at = Dispatcher(hall), -1, 0
    for i, (command, now) in enumerate(log):
        if execute(core, command, now) and isinstance(command, cmd.IssueTicket):
            waiting = sum(len(line) for line in core.state.queue_lines.values())
            if waiting > busiest:
                busiest, at = waiting, i
    core = Dispatcher(hall)
    for command, now in log[:at + 1]:
        execute(core, command, now)
    moment = log[at][1]
    ticket = max(core.state.tickets.values(), key=lambda t: t.serial).id
    ts = [timed(lambda: core.ticket_status(ticket, moment)) for _ in range(2000)]
    qs = [timed(lambda: core.queue_status(moment)) for _ in range(500)]
    return statistics.median(ts) * 1e6, statistics.median(qs) * 1e6, busiest


def issue_estimates_us(hall: Hall, day, opts: engine.SimOptions) -> tuple[float, float]:
    """Median and p99 µs of ticket_status of each ticket just issued, during the day."""
    spent: list[float] = []
    record_estimates = engine.estimates_at_issue

    def timing(core: Dispatcher, ticket: str, now: float):
        spent.append(timed(lambda: core.ticket_status(ticket, now)))
        return record_estimates(core, ticket, now)

    engine.estimates_at_issue = timing  # type: ignore[assignment]
    try:
        engine.simulate(hall, day, opts)
    finally:
        engine.estimates_at_issue = record_estimates  # type: ignore[assignment]
    q = statistics.quantiles(spent, n=100, method="inclusive")
    return q[49] * 1e6, q[98] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--policy", default="balanced")
    parser.add_argument("--load", type=float, default=0.85)
    parser.add_argument("--estimator-tickets", type=int, default=5000)
    args = parser.parse_args()
    hall = load_hall(SAMPLE_HALL)
    day = generate(hall, GenOptions(load=args.load, seed=1))
    opts = engine.SimOptions(policy=args.policy)
    log, pushes = record(hall, day, opts)
    quiet = engine.SimOptions(policy=args.policy, estimates=False)
    runs = {"simulate()": lambda: engine.simulate(hall, day, opts),
            "simulate(), estimators not recorded": lambda: engine.simulate(hall, day, quiet),
            "floor: bare Dispatcher.execute": bare_core(hall_for(hall, args.policy), log),
            "floor: bare heapq loop": bare_heap(pushes)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            times[name].append(timed(fn))
    print(f"sample hall, policy {args.policy}: {len(day)} tickets, {len(log)} core commands, "
          f"{pushes} clock events; median of {args.rounds} rounds")
    ours = statistics.median(times["simulate()"])
    print(f"{'':<38}{'s/day':>8}{'ms/1000 tickets':>17}{'simulate() ÷ this':>19}")
    for name, samples in times.items():
        med = statistics.median(samples)
        print(f"{name:<38}{med:>8.3f}{med / len(day) * 1e6:>17.1f}{ours / med:>19.2f}")
    median_us, p99_us = issue_estimates_us(hall, day, opts)
    print(f"estimator during this day ({args.policy}'s profiles): ticket_status at each issue "
          f"median {median_us:.0f} µs, p99 {p99_us:.0f} µs")
    ticket_us, queue_us, busiest = estimator_us(hall, args.estimator_tickets)
    print(f"estimator, {args.estimator_tickets}-ticket day at its busiest ({busiest} waiting): "
          f"ticket_status {ticket_us:.0f} µs, queue_status (all queues) {queue_us:.0f} µs")


if __name__ == "__main__":
    main()
