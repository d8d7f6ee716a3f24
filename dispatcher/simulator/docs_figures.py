"""The simulator's tables that docs/dispatch.md quotes, regenerated rather than copied
by hand (issue 17: figures in docs come from a script):

    python -m dispatcher.simulator.docs_figures [--only busy|seeds|capped] [--seeds 1-5]

- ``busy``: "The busy day": `onewindow simulate --policy all` on
  assets/arrivals/busy-day.csv (the policies, the max wait per class, the estimators);
- ``seeds``: the per-seed table under it (dispatcher/simulator/seeds.py);
- ``capped``: "Live balancing with a cap", ``balanced`` against ``capped`` per seed.

The accuracy tables ("Measured: the goal of issue 17") take half an hour and more:
they come from `python -m bench.bench_accuracy`, which prints them.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

from ..core.policy import POLICIES
from ..hall import ASSETS, SAMPLE_HALL, Hall, load_hall
from .arrivals import read_arrivals
from .engine import Outcome, SimOptions, simulate
from .generate import GenOptions, generate, offered_load
from .report import summary, wait_stats
from .seeds import table as seeds_table
from .text import class_table, estimator_table, policy_table

BUSY_DAY = ASSETS / "arrivals" / "busy-day.csv"
SECTIONS = ("busy", "seeds", "capped")


def busy_day(hall: Hall) -> str:
    arrivals = read_arrivals(BUSY_DAY, hall)
    reports = [summary(simulate(hall, arrivals, SimOptions(policy=policy)))
               for policy in POLICIES]
    return "\n\n".join([f"{len(arrivals)} arrivals, offered load "
                        f"{offered_load(hall, arrivals):.0%}", policy_table(reports),
                        class_table(reports), estimator_table(reports)])


def capped_table(hall: Hall, seeds: range) -> str:
    rows = ["| day (seed) | balanced mean | p90 | max | moves | capped mean | p90 | max | "
            "moves | mean ratio | p90 ratio | max ratio | left |",
            "|---:|" + "---:|" * 12]
    for seed in seeds:
        arrivals = generate(hall, GenOptions(seed=seed))
        runs = [simulate(hall, arrivals, SimOptions(policy=p, seed=seed, estimates=False))
                for p in ("balanced", "capped")]
        (b, bm), (c, cm) = [(_stats(out), out.moves) for out in runs]
        rows.append(f"| {seed} | {b.mean:.1f} | {b.p90:.1f} | {b.max:.1f} | {bm} | "
                    f"{c.mean:.1f} | {c.p90:.1f} | {c.max:.1f} | {cm} | "
                    f"{c.mean / b.mean:.2f} | {c.p90 / b.p90:.2f} | {c.max / b.max:.2f} | "
                    f"{c.left} |")
    return "\n".join(rows)


def _stats(out: Outcome):
    stats = wait_stats(out, out.records)
    assert stats is not None
    return stats


class _Parser(argparse.ArgumentParser):
    """A mistake on the command line: one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="python -m dispatcher.simulator.docs_figures",
                description=__doc__.split("\n\n")[0])
    p.add_argument("--only", choices=SECTIONS, action="append",
                   help="one section (repeatable); default: all")
    p.add_argument("--seeds", default="1-5", help="FIRST-LAST for the per-seed tables")
    args = p.parse_args(argv)
    first, _, last = args.seeds.partition("-")
    if not (first.isdigit() and (last or first).isdigit()) or int(last or first) < int(first):
        p.error(f"--seeds {args.seeds!r} is not FIRST-LAST, like 1-5")
    seeds = range(int(first), int(last or first) + 1)
    hall = load_hall(SAMPLE_HALL)
    wanted = args.only or list(SECTIONS)
    parts = {"busy": lambda: busy_day(hall), "seeds": lambda: seeds_table(seeds),
             "capped": lambda: capped_table(hall, seeds)}
    titles = {"busy": "The busy day (assets/arrivals/busy-day.csv, --policy all)",
              "seeds": f"Generated busy days, seeds {args.seeds}",
              "capped": f"Live balancing with a cap, seeds {args.seeds}"}
    for section in SECTIONS:
        if section in wanted:
            print(f"## {titles[section]}\n\n{parts[section]()}\n", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
