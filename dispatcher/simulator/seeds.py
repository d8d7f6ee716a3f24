"""The per-seed table of docs/dispatch.md ("The busy day"), regenerated rather than
copied by hand: for generated busy days (``--generate`` with seed N, simulated with
seed N), the mean wait under ``dedicated``, ``balanced``, ``zone-pooled`` and
``pooled``, the ratios and how far ``balanced`` is below ``dedicated``; with zones
kept apart (issue 17), each zone's windows' utilisation under ``balanced`` and the
tickets any policy called across zones where the hall file does not allow it.

    python -m dispatcher.simulator.seeds [--seeds 1-5]
"""

from __future__ import annotations

import argparse

from ..hall import SAMPLE_HALL, load_hall
from .engine import SimOptions, simulate
from .generate import GenOptions, generate
from .report import across_zones, utilisation, wait_stats

POLICIES = ("dedicated", "balanced", "zone-pooled", "pooled")


def mean_waits(seed: int, hall_path: str = str(SAMPLE_HALL)) -> dict[str, float]:
    """Mean wait in minutes per policy on generated busy day ``seed``; ``zone Z``:
    zone Z's windows' mean utilisation under ``balanced``; ``not allowed``: tickets
    called across zones where the hall file forbids it, over the policies."""
    hall = load_hall(hall_path)
    arrivals = generate(hall, GenOptions(seed=seed))
    found = {"not allowed": 0.0}
    for policy in POLICIES:
        out = simulate(hall, arrivals, SimOptions(policy=policy, seed=seed, estimates=False))
        stats = wait_stats(out, out.records)
        assert stats is not None
        found[policy] = stats.mean
        found["not allowed"] += across_zones(out).not_allowed
        if policy == "balanced":
            found.update({f"zone {z}": utilisation(out, z).mean for z in hall.zones})
    return found


def table(seeds: range) -> str:
    rows = ["| day (seed) | dedicated | balanced | zone-pooled | pooled | balanced ÷ pooled "
            "| balanced ÷ zone-pooled | below dedicated | zone A / B busy (balanced) "
            "| called across zones, not allowed |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for seed in seeds:
        m = mean_waits(seed)
        rows.append(f"| {seed} | {m['dedicated']:.2f} | {m['balanced']:.2f} | "
                    f"{m['zone-pooled']:.2f} | {m['pooled']:.2f} | "
                    f"{m['balanced'] / m['pooled']:.2f} | "
                    f"{m['balanced'] / m['zone-pooled']:.2f} | "
                    f"{1 - m['balanced'] / m['dedicated']:.0%} | "
                    f"{m['zone A']:.0%} / {m['zone B']:.0%} | {m['not allowed']:.0f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="1-5", help="FIRST-LAST")
    args = p.parse_args(argv)
    first, _, last = args.seeds.partition("-")
    print(table(range(int(first), int(last or first) + 1)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
