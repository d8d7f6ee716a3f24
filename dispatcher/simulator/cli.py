"""``onewindow simulate``: play a day of arrivals through the dispatch core, or make an
arrival file for a day profile (``--generate``)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, timedelta

from ..argtypes import count, number
from ..core.policy import POLICIES
from ..hall import SAMPLE_HALL, WEEKDAYS, Hall, load_hall
from .arrivals import ArrivalError, read_trace, split_days, write_arrivals
from .engine import SimOptions, simulate
from .generate import DAY_PROFILES, GenOptions, generate, offered_load
from .report import summary
from .service import DISTRIBUTIONS
from .text import class_table, day_text, estimator_table, policy_table

DEFAULT_DAY = "2026-11-23"   # a Monday


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="simulate a day of the hall on a virtual clock "
                       "(waits, utilisation, estimator accuracy), or --generate arrivals")
    p.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    p.add_argument("--arrivals", help="arrivals CSV: time,zone,queue,class[,service_seconds]")
    p.add_argument("--policy", default="loops+side", choices=(*POLICIES, "all"),
                   help="dispatch policy (docs/dispatch.md); all: every one, as tables")
    p.add_argument("--seed", type=int, default=1, help="random seed (deterministic per seed)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--no-show", action="append", default=[], metavar="[QUEUE=]P",
                   type=_no_show_spec,
                   help="no-show probability, for every queue or one (repeatable)")
    p.add_argument("--service-dist", choices=DISTRIBUTIONS, default="lognormal",
                   help="service times for rows without service_seconds, and --generate")
    p.add_argument("--service-cv", type=number(0), default=0.7,
                   help="coefficient of variation of the lognormal service times")
    p.add_argument("--rebalance-minutes", type=number(0, strict=True), default=1.0,
                   help="balanced, capped: how often the suggested moves are applied")
    p.add_argument("--overtime-minutes", type=number(0), default=30.0,
                   help="windows keep calling this long after each period ends")
    p.add_argument("--day", default=None,
                   help="the simulated date, YYYY-MM-DD (its weekday must be open); default "
                   "the arrivals file's first date, else 2026-11-23")
    gen = p.add_argument_group("generating arrivals")
    gen.add_argument("--generate", action="store_true", help="write an arrivals CSV instead")
    gen.add_argument("--day-profile", choices=tuple(DAY_PROFILES), default="two-peaks")
    gen.add_argument("--tickets", type=count(1), help="tickets in the day (default: --load)")
    gen.add_argument("--load", type=number(0, strict=True), default=0.85,
                     help="offered work ÷ the windows' open time, when --tickets is not given")
    gen.add_argument("--mix-spread", type=number(0), default=0.5,
                     help="how far today's demand per queue strays from the staffing")
    gen.add_argument("--out", help="write the CSV here (default: standard output)")
    p.set_defaults(handler=run)


def _no_show_spec(text: str) -> tuple[str, float]:
    queue, _, chance = text.rpartition("=")
    try:
        return queue or "*", number(0, high=1)(chance)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected [QUEUE=]P, a probability from "
                                         "0 to 1, like 0.05 or Z=0.1") from None


def _no_show(specs: list[tuple[str, float]]) -> dict[str, float]:
    return dict(specs)


def day_problem(text: str, hall: Hall) -> str | None:
    """Why the hall cannot be simulated on ``text`` (YYYY-MM-DD), or None."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return f"--day {text}: expected a date like 2026-11-23 (YYYY-MM-DD)"
    weekday = WEEKDAYS[day.weekday()]
    if weekday not in hall.hours.days:
        return (f"--day {text}: the hall is closed on that day ({day:%A}); it opens "
                f"{', '.join(hall.hours.days)}")
    return None


def run(args: argparse.Namespace) -> int:
    hall = load_hall(args.hall)
    if args.generate:
        return _generate(args, hall)
    if not args.arrivals:
        print("error: --arrivals FILE.csv is needed (or --generate)", file=sys.stderr)
        return 2
    try:
        first, arrivals = read_trace(args.arrivals, hall)
    except (ArrivalError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    start = args.day or first or DEFAULT_DAY
    problem = day_problem(start, hall)
    days = split_days(arrivals) or [(0, [])]
    if problem and len(days) == 1:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if len(days) == 1:
        return _one_day(args, hall, arrivals, start)
    out = []   # a trace of several days: one simulated day per calendar day
    for k, day_arrivals in days:
        day = (date.fromisoformat(start) + timedelta(days=k)).isoformat()
        problem = day_problem(day, hall)
        if problem:
            print(f"note: {problem}: its {len(day_arrivals)} arrivals are not simulated",
                  file=sys.stderr)
            continue
        if not args.json:
            print(f"\n=== {day}: {len(day_arrivals)} arrivals ===\n")
        out.append({"day": day, "report": _one_day(args, hall, day_arrivals, day,
                                                   quiet=args.json)})
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
    return 0


def _one_day(args: argparse.Namespace, hall: Hall, arrivals: list, day: str,
             quiet: bool = False):
    """Simulate one day and print it; ``quiet``: return the report(s) instead."""
    policies = list(POLICIES) if args.policy == "all" else [args.policy]
    reports = [summary(simulate(hall, arrivals, _options(args, policy, day)))
               for policy in policies]
    data = reports if args.policy == "all" else reports[0]
    if quiet:
        return data
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
    elif args.policy == "all":
        print(f"{len(arrivals)} arrivals, offered load {offered_load(hall, arrivals):.0%}\n")
        print(policy_table(reports), class_table(reports), estimator_table(reports),
              sep="\n\n")
    else:
        print(day_text(reports[0]))
    return 0


def _options(args: argparse.Namespace, policy: str, day: str) -> SimOptions:
    return SimOptions(policy=policy, seed=args.seed, no_show=_no_show(args.no_show),
                      service_dist=args.service_dist, service_cv=args.service_cv,
                      rebalance_minutes=args.rebalance_minutes,
                      overtime_minutes=args.overtime_minutes, day=day)


def _generate(args: argparse.Namespace, hall: Hall) -> int:
    opts = GenOptions(day_profile=args.day_profile, tickets=args.tickets, load=args.load,
                      seed=args.seed, mix_spread=args.mix_spread,
                      service_dist=args.service_dist, service_cv=args.service_cv)
    arrivals = generate(hall, opts)
    if args.out:
        try:
            with open(args.out, "w", encoding="utf-8") as out:
                write_arrivals(arrivals, out)
        except OSError as exc:
            print(f"error: --out {args.out}: cannot write it: {exc.strerror or exc}",
                  file=sys.stderr)
            return 2
    else:
        write_arrivals(arrivals, sys.stdout)
    print(f"{len(arrivals)} arrivals, offered load {offered_load(hall, arrivals):.0%}",
          file=sys.stderr)
    return 0
