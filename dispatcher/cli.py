"""The `onewindow` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .hall import SAMPLE_HALL, HallConfigError, load_hall

Handler = Callable[[argparse.Namespace], int]


def _check(args: argparse.Namespace) -> int:
    hall = load_hall(args.hall)
    print(f"{args.hall}: ok — {hall.name}: {len(hall.zones)} zones, {len(hall.queues)} queues, "
          f"{len(hall.windows)} windows")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onewindow", description="OneWindow (一窗通): "
                                     "queue numbers and window dispatch for a service hall")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = sub.add_parser("check", help="validate a hall file")
    check.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    check.set_defaults(handler=_check)
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
