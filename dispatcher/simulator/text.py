"""The simulator's reports as text: one day in detail, and policies side by side as
Markdown tables (what docs/dispatch.md shows)."""

from __future__ import annotations

from .report import Accuracy, WaitStats

_ESTIMATOR_NAMES = {
    "printed": "replay (printed on the ticket)",
    "projected": "projection (printed until issue 17)",
    "naive": "naive: ahead × mean service ÷ windows",
    "simple": "first estimator: (ahead + ½) × mean service ÷ m",
}


def day_text(report: dict) -> str:
    lines = [f"policy {report['policy']}, seed {report['seed']}: {report['tickets']} arrivals"
             f", {report['refused']} refused (hall closed), {report['moves']} profile moves",
             "",
             f"{'waits (minutes)':<24}{'tickets':>8}{'mean':>7}{'p50':>7}{'p90':>7}"
             f"{'p95':>7}{'max':>7}{'in target':>10}{'no-show':>8}{'left':>6}"]
    for key, s in report["waits_min"].items():
        w = WaitStats(**s)
        lines.append(f"{key:<24}{w.tickets:>8}{w.mean:>7.1f}{w.p50:>7.1f}{w.p90:>7.1f}"
                     f"{w.p95:>7.1f}{w.max:>7.1f}{w.within_target:>10.0%}{w.no_shows:>8}"
                     f"{w.left:>6}")
    across = report.get("across_zones")
    if across:
        lines += ["", f"called across zones: {across['called']} (of queues that keep their "
                  f"zones apart: {across['not_allowed']})"]
    lines += ["", f"{'utilisation':<24}{'mean':>7}{'stdev':>7}{'min':>7}{'max':>7}"]
    for key, u in report["utilisation"].items():
        lines.append(f"{key:<24}{u['mean']:>7.0%}{u['stdev']:>7.0%}{u['min']:>7.0%}"
                     f"{u['max']:>7.0%}")
    lines += ["", f"{'estimator':<52}{'MAE min':>8}{'±5 min':>8}{'bias':>7}"]
    for name, a in report["estimators"].items():
        acc = Accuracy(**a)
        lines.append(f"{_ESTIMATOR_NAMES[name]:<52}{acc.mae:>8.1f}{acc.within:>8.0%}"
                     f"{acc.bias:>7.1f}")
    return "\n".join(lines)


def policy_table(reports: list[dict]) -> str:
    rows = ["| policy | mean wait | p90 | max | within target | left at closing | "
            "utilisation spread (stdev) | moves | called across zones (not allowed) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in reports:
        w, u = WaitStats(**r["waits_min"]["hall"]), r["utilisation"]["hall"]
        x = r["across_zones"]
        rows.append(f"| {r['policy']} | {w.mean:.1f} | {w.p90:.1f} | {w.max:.1f} | "
                    f"{w.within_target:.0%} | {w.left} | {u['stdev']:.0%} | {r['moves']} | "
                    f"{x['called']} ({x['not_allowed']}) |")
    return "\n".join(rows)


def estimator_table(reports: list[dict]) -> str:
    rows = ["| policy | estimator | MAE (min) | within ±5 min | bias (min) |",
            "|---|---|---:|---:|---:|"]
    for r in reports:
        for name, a in r["estimators"].items():
            acc = Accuracy(**a)
            rows.append(f"| {r['policy']} | {_ESTIMATOR_NAMES[name]} | {acc.mae:.1f} | "
                        f"{acc.within:.0%} | {acc.bias:+.1f} |")
    return "\n".join(rows)


def class_table(reports: list[dict]) -> str:
    """Max wait per ticket class, per policy (the starvation check)."""
    classes = ("normal", "appointment", "green")
    rows = ["| policy | " + " | ".join(f"max wait {c}" for c in classes) + " |",
            "|---|" + "---:|" * len(classes)]
    for r in reports:
        waits = r["waits_min"]
        cells = [f"{waits[f'class {c}']['max']:.1f}" if f"class {c}" in waits else "–"
                 for c in classes]
        rows.append(f"| {r['policy']} | " + " | ".join(cells) + " |")
    return "\n".join(rows)

