"""How right is the wait printed on the ticket? Every estimator over N generated busy
days (``--generate`` seeds 1..N of the sample hall), each called ticket's estimate at
its issue against its actual wait (docs/dispatch.md, "Expected wait").

    python -m dispatcher.simulator.accuracy --days 30 [--policy balanced ...]
        [--oracle-every 10 --oracle-runs 4] [--json]

Estimators: ``printed`` (the replay, what the ticket says), ``projected`` (the
projection printed until issue 17), ``naive`` (ahead × mean ÷ windows), ``les`` (the
wait of the last ticket of the queue to be called: last-to-enter-service), and with
``--oracle-every K`` the forward-simulation oracle on every K-th ticket (all the
estimators are then also measured on those tickets alone, as ``…@oracle``).
Figures: RMSE, MAE, bias (share of the mean wait), the share of tickets that waited
longer than printed by more than max(5 min, 25%), tickets printed over 60 minutes that
waited under 15; per hour of issue and per tickets ahead; the mean over days and the
worst day (by RMSE).
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..core.estimate import wait_range
from ..hall import SAMPLE_HALL, Hall, load_hall
from .engine import SimOptions, _Run
from .generate import GenOptions, generate
from .oracle import oracle_wait

POLICIES = ("balanced", "loops+side")
OVER_MIN, OVER_SHARE = 300.0, 0.25     # waited > printed + max(5 min, 25%)
AHEAD_BINS = (0, 1, 3, 6, 11, 21, 51)  # tickets ahead: 0, 1–2, 3–5, 6–10, 11–20, 21–50, 51+
ORDER = ("printed", "projected", "naive", "les", "oracle")


@dataclass(frozen=True)
class Row:
    """One called ticket: its day, hour of issue, tickets ahead, wait and estimates (s)."""

    seed: int
    hour: int
    ahead: int
    wait: float
    estimates: dict[str, float]
    span: list[float] | None = None    # the printed range, where one is printed


class _Run17(_Run):
    """The simulator's day, also recording LES, the tickets ahead and the oracle."""

    def __init__(self, hall: Hall, arrivals: list, opts: SimOptions, oracle_every: int,
                 oracle_runs: int, cache: dict[str, float] | None = None) -> None:
        super().__init__(hall, arrivals, opts)
        self.cache = cache if cache is not None else {}
        self.last_wait: dict[str, float] = {}
        self.extra: dict[int, dict[str, float]] = {}
        self.ahead: dict[int, int] = {}
        self.pending: int | None = None
        self.oracle_every, self.oracle_runs = oracle_every, oracle_runs

    def _arrive(self, now: float, i: object) -> None:
        self.pending = i if isinstance(i, int) else None
        super()._arrive(now, i)
        self.pending = None

    def _wake(self, queue: str, now: float) -> None:
        i, self.pending = self.pending, None
        record = self.records[i] if i is not None else None
        if record is not None and record.ticket is not None:
            state = self.core.state
            ticket = state.tickets[record.ticket]
            self.ahead[i] = bisect.bisect_left(state.line_of(ticket),
                                               (*ticket.place, ticket.id))
            extra = self.extra[i] = {}
            extra["les"] = self.last_wait.get(queue, 0.0)
            if self.oracle_every and i % self.oracle_every == 0:
                key = f"{self.opts.policy}:{self.opts.seed}:{i}:{self.oracle_runs}"
                if key not in self.cache:
                    self.cache[key] = oracle_wait(self.core.hall, state, now, ticket.id,
                                                  self.opts, self.oracle_runs)
                extra["oracle"] = self.cache[key]
        super()._wake(queue, now)

    def _call(self, window: str, now: float, checked: bool = False) -> bool:
        called = super()._call(window, now, checked)
        if called:
            ticket = self.core.state.tickets[self.core.state.windows[window].ticket or ""]
            if ticket.called_at is not None:
                self.last_wait[ticket.queue] = ticket.called_at - ticket.issued_at
        return called


def measure_day(hall: Hall, seed: int, policy: str, oracle_every: int = 0,
                oracle_runs: int = 4, cache: dict[str, float] | None = None) -> list[Row]:
    """The called tickets of generated busy day ``seed`` under ``policy``; ``cache``
    keeps the oracle's answers (they do not depend on the other estimators)."""
    arrivals = generate(hall, GenOptions(seed=seed))
    run = _Run17(hall, arrivals, SimOptions(policy=policy, seed=seed), oracle_every,
                 oracle_runs, cache)
    outcome = run.play()
    rows = []
    for i, r in enumerate(outcome.records):
        if r.wait is None or r.estimates is None:
            continue
        found = {k: v for k in ("printed", "projected", "naive")
                 if (v := getattr(r.estimates, k)) is not None}
        found.update(run.extra.get(i, {}))
        hour = int(r.arrival.at // 3600)
        rows.append(Row(seed, hour, run.ahead.get(i, 0), r.wait, found,
                        wait_range(found.get("printed"))))
    return rows


# ------------------------------------------------------------------ figures


def figures(rows: list[Row], name: str) -> dict[str, float] | None:
    """RMSE, MAE (minutes), bias (share of the mean wait), over share, the tickets
    printed over 60 minutes that waited under 15, for one estimator."""
    pairs = [(r.estimates[name], r.wait) for r in rows if name in r.estimates]
    if not pairs:
        return None
    errors = [e - w for e, w in pairs]
    mean_wait = sum(w for _, w in pairs) / len(pairs)
    n = len(pairs)
    spans = [(r.span, r.wait) for r in rows if r.span and name == "printed"]
    covered = {"ranged": len(spans) / n,
               "coverage": (sum(lo <= w <= hi for (lo, hi), w in spans) / len(spans)
                            if spans else math.nan)}
    return {"tickets": n, **covered,
            "rmse": math.sqrt(sum(x * x for x in errors) / n) / 60,
            "mae": sum(abs(x) for x in errors) / n / 60,
            "bias": sum(errors) / n / mean_wait if mean_wait > 0 else 0.0,
            "over": sum(w > e + max(OVER_MIN, OVER_SHARE * e) for e, w in pairs) / n,
            "hours_for_minutes": sum(e > 3600 and w < 900 for e, w in pairs),
            "mean_wait": mean_wait / 60}


def ahead_bin(ahead: int) -> str:
    i = bisect.bisect_right(AHEAD_BINS, ahead) - 1
    low = AHEAD_BINS[i]
    high = AHEAD_BINS[i + 1] - 1 if i + 1 < len(AHEAD_BINS) else None
    return str(low) if high == low else f"{low}–{high}" if high is not None else f"{low}+"


def report(rows: list[Row], oracle: bool) -> dict:
    """Every estimator's figures overall, per day (mean and worst), per hour and per
    tickets ahead."""
    names = [n for n in ORDER if any(n in r.estimates for r in rows)]
    subsets = {"all": rows}
    if oracle:
        subsets["oracle tickets"] = [r for r in rows if "oracle" in r.estimates]
    out: dict = {}
    for label, subset in subsets.items():
        seeds = sorted({r.seed for r in subset})
        block = {}
        for name in names:
            overall = figures(subset, name)
            if overall is None:
                continue
            days = [f for s in seeds if (f := figures([r for r in subset if r.seed == s],
                                                       name))]
            for d in days:  # a day without a range has no coverage to average
                d["coverage"] = d["coverage"] if d["ranged"] else 0.0
            worst = max(range(len(days)), key=lambda k: days[k]["rmse"])
            block[name] = {
                "overall": overall,
                "day_mean": {k: sum(d[k] for d in days) / len(days) for k in overall},
                "worst_day": {"seed": seeds[worst], **days[worst]},
                "by_hour": _by(subset, name, lambda r: f"{r.hour:02d}:00"),
                "by_ahead": _by(subset, name, lambda r: ahead_bin(r.ahead)),
            }
        out[label] = block
    return out


def _by(rows: list[Row], name: str, key) -> dict[str, dict]:
    groups: dict[str, list[Row]] = {}
    for r in rows:
        groups.setdefault(key(r), []).append(r)
    order = sorted(groups, key=lambda k: (len(k.split("–")[0].rstrip("+")),
                                          k) if ":" not in k else (0, k))
    return {k: f for k in order if (f := figures(groups[k], name)) is not None}


# ------------------------------------------------------------------ text


def table(policy: str, block: dict) -> str:
    lines = [f"| {policy} | estimator | tickets | RMSE | MAE | bias | over | >60 for <15 "
             "| day mean RMSE | worst day RMSE (seed) | ranged | coverage |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, b in block.items():
        o, d, w = b["overall"], b["day_mean"], b["worst_day"]
        cover = (f"{o['ranged']:.1%} | {o['coverage']:.1%}" if o["ranged"] else "– | –")
        lines.append(f"| {policy} | {name} | {o['tickets']} | {o['rmse']:.2f} | "
                     f"{o['mae']:.2f} | {o['bias']:+.1%} | {o['over']:.1%} | "
                     f"{o['hours_for_minutes']} | {d['rmse']:.2f} | "
                     f"{w['rmse']:.2f} ({w['seed']}) | {cover} |")
    return "\n".join(lines)


def breakdown(policy: str, block: dict, part: str) -> str:
    names = list(block)
    keys = list(block[names[0]][part]) if names else []
    head = f"| {policy}: {part.removeprefix('by_')} | tickets | mean wait | " + " | ".join(
        f"{n} RMSE / bias" for n in names) + " |"
    lines = [head, "|---|---:|---:|" + "---:|" * len(names)]
    for k in keys:
        first = block[names[0]][part][k]
        cells = [f"{f['rmse']:.2f} / {f['bias']:+.0%}" if (f := block[n][part].get(k))
                 else "–" for n in names]
        lines.append(f"| {k} | {first['tickets']} | {first['mean_wait']:.1f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m dispatcher.simulator.accuracy",
                                description=__doc__.split("\n\n")[0])
    p.add_argument("--hall", default=str(SAMPLE_HALL))
    p.add_argument("--days", type=int, default=3, help="generated busy days, seeds 1..N")
    p.add_argument("--first-seed", type=int, default=1)
    p.add_argument("--policy", action="append", help=f"default: {', '.join(POLICIES)}")
    p.add_argument("--oracle-every", type=int, default=0,
                   help="the forward-simulation oracle on every K-th ticket (0: none)")
    p.add_argument("--oracle-runs", type=int, default=4)
    p.add_argument("--oracle-cache", help="a JSON file keeping the oracle's answers")
    p.add_argument("--breakdown", action="store_true", help="per hour and tickets ahead")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    hall = load_hall(args.hall)
    seeds = range(args.first_seed, args.first_seed + args.days)
    cache = _load(args.oracle_cache)
    results = {}
    for policy in args.policy or POLICIES:
        began = time.perf_counter()
        rows = []
        for seed in seeds:
            rows += measure_day(hall, seed, policy, args.oracle_every, args.oracle_runs, cache)
            if args.oracle_cache:
                Path(args.oracle_cache).write_text(json.dumps(cache))
        results[policy] = report(rows, bool(args.oracle_every))
        print(f"{policy}: {len(seeds)} days in {time.perf_counter() - began:.1f} s",
              file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for policy, blocks in results.items():
        for label, block in blocks.items():
            print(f"\n{policy}, {label} tickets:" if label != "all" else "")
            print(table(policy, block))
            if args.breakdown and label == "all":
                print("\n" + breakdown(policy, block, "by_hour"))
                print("\n" + breakdown(policy, block, "by_ahead"))
    return 0


def _load(path: str | None) -> dict[str, float]:
    if path and Path(path).exists():
        return json.loads(Path(path).read_text())
    return {}


if __name__ == "__main__":
    raise SystemExit(main())



