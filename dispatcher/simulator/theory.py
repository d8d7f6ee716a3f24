"""The simulator against queueing theory: M/M/c (stationary Poisson arrivals,
exponential service, one line called by c windows) and Erlang C.

    python -m dispatcher.simulator.theory [--tickets N] [--seeds K]

prints, per number of windows c and load, Erlang C's mean wait and the simulated
one's relative error over K seeds (each a run of N tickets through the real core).
"""

from __future__ import annotations

import argparse
import heapq
import math

from ..hall import Hall, parse_hall
from .arrivals import Arrival, open_periods
from .engine import SimOptions, simulate
from .generate import GenOptions, generate

CASES = ((1, 0.5), (2, 0.5), (2, 0.7), (4, 0.8), (8, 0.85))


def pooled_hall(c: int, service_s: float) -> Hall:
    """One queue, c windows with it as their only main work, open 03:00–23:59 daily."""
    raw = {
        "hall": {"name": "测试大厅", "name_en": "Test Hall", "timezone": "Asia/Shanghai",
                 "day_reset": "03:00",
                 "hours": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                           "periods": ["00:00-23:59"]}},
        "zones": {"Z": {"name": "区", "name_en": "Zone", "kiosks": ["K1"]}},
        "queues": {"q": {"name": "马上办", "name_en": "Quick", "kind": "big_loop",
                         "zones": ["Z"], "prefix": "A", "overdue_minutes": 30,
                         "service_minutes": service_s / 60}},
        "profiles": {"p": {"main": ["q"]}},
        "windows": [{"ids": f"W1-W{c}", "name": "窗口{id}", "zone": "Z", "profile": "p"}],
    }
    return parse_hall(raw, f"pooled-{c}.toml")


def erlang_c_wait(c: int, arrival_rate: float, service_s: float) -> float:
    """Mean wait in line of M/M/c (Erlang C); needs load arrival_rate × service_s < c."""
    a = arrival_rate * service_s
    top = a ** c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a ** k / math.factorial(k) for k in range(c)) + top)
    return p_wait * service_s / (c - a)


def mmc_day(c: int, load: float, tickets: int, seed: int) -> tuple[Hall, list[Arrival]]:
    """An M/M/c day: ``tickets`` Poisson arrivals over the whole open day (flat profile)
    with exponential service times of the mean that makes the given load."""
    day = sum(end - start for start, end in open_periods(pooled_hall(c, 60.0)))
    hall = pooled_hall(c, load * c * day / tickets)
    return hall, generate(hall, GenOptions(day_profile="flat", tickets=tickets, seed=seed,
                                           green=0, appointment=0, service_dist="exp"))


def simulated_waits(hall: Hall, arrivals: list[Arrival]) -> list[float | None]:
    out = simulate(hall, arrivals, SimOptions(policy="loops", estimates=False,
                                              overtime_minutes=179))
    return [r.wait for r in out.records]


def fcfs_waits(c: int, arrivals: list[Arrival]) -> list[float]:
    """Each arrival's wait in an ideal first-come-first-served queue of c servers
    (Kiefer–Wolfowitz): it starts when it arrives or when the first server frees up."""
    free, waits = [0.0] * c, []
    for a in arrivals:
        start = max(a.at, heapq.heappop(free))
        waits.append(start - a.at)
        heapq.heappush(free, start + (a.service_seconds or 0.0))
    return waits


def relative_error(c: int, load: float, tickets: int, seed: int) -> float:
    """(simulated mean wait ÷ Erlang C) − 1, Erlang C taken at the day's arrival rate and
    the mean of the service times actually drawn."""
    hall, arrivals = mmc_day(c, load, tickets, seed)
    waits = simulated_waits(hall, arrivals)
    if None in waits:
        raise AssertionError("a ticket was never called")
    day = sum(end - start for start, end in open_periods(hall))
    drawn = sum(a.service_seconds or 0.0 for a in arrivals) / len(arrivals)
    theory = erlang_c_wait(c, len(arrivals) / day, drawn)
    return sum(w for w in waits if w is not None) / len(waits) / theory - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    print("| windows c | load | runs × tickets | mean error | smallest | largest |\n"
          "|---:|---:|---:|---:|---:|---:|")
    for c, load in CASES:
        errors = [relative_error(c, load, args.tickets, seed) for seed in range(args.seeds)]
        print(f"| {c} | {load:.2f} | {args.seeds} × {args.tickets} | "
              f"{sum(errors) / len(errors):+.1%} | {min(errors):+.1%} | {max(errors):+.1%} |",
              flush=True)


if __name__ == "__main__":
    main()
