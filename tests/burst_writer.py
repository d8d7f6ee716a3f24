"""Issue tickets as fast as the store commits, for the kill -9 test (tests/test_restart.py).

    python tests/burst_writer.py URL START_EPOCH [--hall FILE] [--step SECONDS]

Prints each ticket number on its own line, flushed, only after
HallService.execute returned, i.e. after the commit: every printed line is an
acknowledged ticket. Runs until killed.
"""

from __future__ import annotations

import argparse
import itertools
import sys

from dispatcher.core.commands import IssueTicket
from dispatcher.core.events import TicketIssued
from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.service import HallService

QUEUES = ("quick_b", "quick_b", "tax", "consult", "quick_a")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("start", type=float, help="hall time of the first ticket (epoch s)")
    parser.add_argument("--hall", default=str(SAMPLE_HALL))
    parser.add_argument("--step", type=float, default=0.001, help="hall seconds per ticket")
    args = parser.parse_args(argv)
    service = HallService.open(load_hall(args.hall), args.url)
    print("ready", flush=True)
    for i, queue in enumerate(itertools.cycle(QUEUES)):
        done = service.execute(IssueTicket(queue), args.start + i * args.step, device="burst")
        issued = next(e for _, e in done if isinstance(e, TicketIssued))
        sys.stdout.write(f"{issued.number}\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
