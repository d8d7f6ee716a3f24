"""``onewindow simulate``: play a day of arrivals through the dispatch core, or make an
arrival file for a day profile (``--generate``)."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from ..argtypes import count, number
from ..core.policy import POLICIES
from ..hall import SAMPLE_HALL, WEEKDAYS, Hall, load_hall
from .arrivals import ArrivalError, read_arrivals, write_arrivals
from .engine import SimOptions, simulate
from .generate import DAY_PROFILES, GenOptions, generate, offered_load
from .report import summary
from .service import DISTRIBUTIONS
from .text import class_table, day_text, estimator_table, policy_table


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
    p.add_argument("--day", default="2026-11-23",
                   help="the simulated date, YYYY-MM-DD (its weekday must be open)")
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
    problem = day_problem(args.day, hall)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if not args.arrivals:
        print("error: --arrivals FILE.csv is needed (or --generate)", file=sys.stderr)
        return 2
    try:
        arrivals = read_arrivals(args.arrivals, hall)
    except (ArrivalError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    policies = list(POLICIES) if args.policy == "all" else [args.policy]
    reports = [summary(simulate(hall, arrivals, _options(args, policy))) for policy in policies]
    if args.json:
        print(json.dumps(reports if args.policy == "all" else reports[0], ensure_ascii=False,
                         indent=2))
    elif args.policy == "all":
        print(f"{len(arrivals)} arrivals, offered load {offered_load(hall, arrivals):.0%}\n")
        print(policy_table(reports), class_table(reports), estimator_table(reports),
              sep="\n\n")
    else:
        print(day_text(reports[0]))
    return 0


def _options(args: argparse.Namespace, policy: str) -> SimOptions:
    return SimOptions(policy=policy, seed=args.seed, no_show=_no_show(args.no_show),
                      service_dist=args.service_dist, service_cv=args.service_cv,
                      rebalance_minutes=args.rebalance_minutes,
                      overtime_minutes=args.overtime_minutes, day=args.day)


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
