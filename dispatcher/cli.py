"""The `onewindow` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .hall import SAMPLE_HALL, HallConfigError, load_hall

Handler = Callable[[argparse.Namespace], int]


def _check(args: argparse.Namespace) -> int:
    hall = load_hall(args.hall)
    print(f"{args.hall}: ok — {hall.name}: {len(hall.zones)} zones, {len(hall.queues)} queues, "
          f"{len(hall.windows)} windows")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import DemoOptions, run_demo

    hall = load_hall(args.hall)
    url = args.db
    if url is None:  # the demo's own embedded database, started afresh each run
        path = Path(args.data) / "demo.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob("demo.db*"):
            stale.unlink()
        url = f"sqlite:///{path}"
    opts = DemoOptions(minutes=args.minutes, speed=args.speed, load=args.load, seed=args.seed)
    print(f"OneWindow demo: {hall.name} ({hall.name_en}), store {url}")
    run_demo(hall, url, opts)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onewindow", description="OneWindow (一窗通): "
                                     "queue numbers and window dispatch for a service hall")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = sub.add_parser("check", help="validate a hall file")
    check.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    check.set_defaults(handler=_check)

    demo = sub.add_parser("demo", help="play a morning in the sample hall through the core "
                          "and the store, printing each call")
    demo.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    demo.add_argument("--db", help="database URL (default: a fresh SQLite file in --data)")
    demo.add_argument("--data", default="data", help="data directory for the SQLite file")
    demo.add_argument("--minutes", type=float, default=60, help="hall minutes of arrivals")
    demo.add_argument("--speed", type=float, default=120,
                      help="hall seconds per real second (0: as fast as possible)")
    demo.add_argument("--load", type=float, default=1.0, help="arrivals / window capacity")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except HallConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
