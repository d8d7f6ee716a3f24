"""The printed wait against its baselines over 30 generated busy days (issue 17).

    python -m bench.bench_accuracy [--days 30] [--jobs 2] [--oracle-every 40
        --oracle-runs 4 --oracle-cache FILE] [--breakdown]

For `balanced` and `loops+side`, every called ticket of seeds 1..N
(`dispatcher/simulator/accuracy.py`): RMSE, MAE, bias, the share over the printed
wait by max(5 min, 25%), tickets printed over 60 minutes that waited under 15, the
mean over days and the worst day, for the printed wait (the replay), the projection
printed until issue 17, naive and LES; with `--oracle-every K` the forward-simulation
oracle on every K-th ticket, with every estimator measured on those tickets too. Then
the goal of issue 17 checked line by line, and the runtime. Days run in `--jobs`
processes; the oracle's answers can be kept in `--oracle-cache` (they do not depend
on the estimators), so a re-run after changing the estimator costs no oracle time.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.simulator import accuracy


def _day(job: tuple[str, int, int, int, dict[str, float]]) -> tuple[list, dict[str, float]]:
    policy, seed, every, runs, cache = job
    known = dict(cache)
    rows = accuracy.measure_day(load_hall(SAMPLE_HALL), seed, policy, every, runs, known)
    return rows, {k: v for k, v in known.items() if k not in cache}


def goals(policy: str, block: dict, oracle: dict | None) -> list[str]:
    """The goal of issue 17, line by line: met or not, with the figures."""
    o = {n: b["overall"] for n, b in block.items()}
    p = o["printed"]
    lines = [
        _goal(p["rmse"] <= 0.75 * o["naive"]["rmse"],
              f"RMSE ≤ 0.75 × naive: {p['rmse']:.2f} vs {0.75 * o['naive']['rmse']:.2f}"),
        _goal(p["rmse"] <= 0.75 * o["les"]["rmse"],
              f"RMSE ≤ 0.75 × LES: {p['rmse']:.2f} vs {0.75 * o['les']['rmse']:.2f}"),
        _goal(abs(p["bias"]) <= 0.05, f"|bias| ≤ 5% of the mean wait: {p['bias']:+.1%}"),
        _goal(p["over"] <= 0.10, f"≤ 10% over by max(5 min, 25%): {p['over']:.1%}"),
        _goal(p["hours_for_minutes"] == 0,
              f"none printed > 60 min waiting < 15: {p['hours_for_minutes']}"),
    ]
    if oracle:
        mine, best = oracle["printed"]["overall"]["rmse"], oracle["oracle"]["overall"]["rmse"]
        lines.append(_goal(mine <= 1.15 * best, f"RMSE ≤ 1.15 × oracle (on the "
                           f"{oracle['oracle']['overall']['tickets']} oracle tickets): "
                           f"{mine:.2f} vs {1.15 * best:.2f}"))
    return [f"{policy}: {line}" for line in lines]


def _goal(ok: bool, text: str) -> str:
    return f"{'met    ' if ok else 'NOT met'} {text}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--oracle-every", type=int, default=0)
    p.add_argument("--oracle-runs", type=int, default=4)
    p.add_argument("--oracle-cache")
    p.add_argument("--breakdown", action="store_true")
    p.add_argument("--json", help="also write the whole report here")
    args = p.parse_args()
    cache = json.loads(Path(args.oracle_cache).read_text()) if (
        args.oracle_cache and Path(args.oracle_cache).exists()) else {}
    began = time.perf_counter()
    results, lines = {}, []
    for policy in accuracy.POLICIES:
        jobs = [(policy, seed, args.oracle_every, args.oracle_runs, cache)
                for seed in range(1, args.days + 1)]
        rows = []
        with ProcessPoolExecutor(args.jobs) as pool:
            for day_rows, new in pool.map(_day, jobs):
                rows += day_rows
                cache.update(new)
        if args.oracle_cache:
            Path(args.oracle_cache).write_text(json.dumps(cache))
        blocks = results[policy] = accuracy.report(rows, bool(args.oracle_every))
        print(accuracy.table(policy, blocks["all"]) + "\n")
        if "oracle tickets" in blocks:
            print(f"{policy}, on the oracle's tickets only:\n"
                  + accuracy.table(policy, blocks["oracle tickets"]) + "\n")
        if args.breakdown:
            for part in ("by_hour", "by_ahead"):
                print(accuracy.breakdown(policy, blocks["all"], part) + "\n")
        lines += goals(policy, blocks["all"], blocks.get("oracle tickets"))
    print("\n".join(lines))
    print(f"\n{args.days} days × {len(accuracy.POLICIES)} policies in "
          f"{time.perf_counter() - began:.0f} s ({args.jobs} processes)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
