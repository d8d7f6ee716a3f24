"""kill -9 in the middle of a burst of tickets: nothing acknowledged is lost, no number
is reused, no event is half-written. A real subprocess (tests/burst_writer.py) on
each backend."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import hall_time
from hub_process import watched

from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.hall import Hall
from dispatcher.service import HallService
from dispatcher.store import events, tickets

WRITER = Path(__file__).with_name("burst_writer.py")
DAY = "2026-11-23"
ACKED_BEFORE_KILL = 250


def burst_then_kill(url: str, start: float) -> list[str]:
    """Run the writer until it acknowledged enough tickets, SIGKILL it, return every
    number it acknowledged (including lines still in the pipe)."""
    # a hung writer fails the test, never hangs it
    with watched([sys.executable, str(WRITER), url, repr(start)], 20) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        if proc.stdout.readline() != "ready\n":
            pytest.fail(f"writer did not start: {proc.stderr.read()}")
        acked = []
        while len(acked) < ACKED_BEFORE_KILL:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"writer died after {len(acked)} tickets: {proc.stderr.read()}")
            acked.append(line.strip())
        proc.send_signal(signal.SIGKILL)  # mid-burst: the writer is inside its loop
        assert proc.wait() == -signal.SIGKILL
        rest = proc.stdout.read()
    return acked + rest.splitlines()  # the writer writes whole lines, one write() each


def check_store(hall: Hall, url: str, acked: set[str]) -> HallService:
    svc = HallService.open(hall, url)
    with svc.store.engine.connect() as conn:
        seqs = conn.scalars(sa.select(events.c.seq).order_by(events.c.seq)).all()
        issued = conn.scalar(sa.select(sa.func.count()).select_from(events)
                             .where(events.c.name == ev.TicketIssued.NAME))
        numbers = set(conn.scalars(sa.select(tickets.c.number).where(tickets.c.day == DAY)))
        orphans = conn.scalar(
            sa.select(sa.func.count()).select_from(events)
            .where(events.c.name == ev.TicketIssued.NAME,
                   ~sa.exists().where(tickets.c.issued_seq == events.c.seq)))
    assert seqs == list(range(1, len(seqs) + 1)), "the event log has a gap"
    assert svc.store.last_seq() == len(seqs)
    assert issued == len(numbers) and orphans == 0, "an event without its projection"
    assert acked <= numbers, f"acknowledged but lost: {sorted(acked - numbers)[:5]}"
    state_numbers = {t.number for t in svc.core.state.tickets.values()}
    assert state_numbers == numbers
    return svc


@pytest.mark.slow
def test_kill_9_mid_burst_loses_nothing_and_reuses_no_number(
        sample_hall: Hall, db_url: str) -> None:
    start = hall_time(sample_hall, "09:30")
    acked: set[str] = set()
    for round_ in range(2):  # the second writer starts on a store left by kill -9
        got = burst_then_kill(db_url, start + 600 * round_)
        assert len(got) == len(set(got)) >= ACKED_BEFORE_KILL
        assert not acked & set(got), "a number was issued twice"
        acked |= set(got)
        check_store(sample_hall, db_url, acked).close()

    svc = check_store(sample_hall, db_url, acked)
    try:
        before = {n for n in acked if n.startswith("B")}
        new = next(e for _, e in svc.execute(c.IssueTicket("quick_b"), start + 1800)
                   if isinstance(e, ev.TicketIssued))
        assert new.number not in acked
        assert new.sequence > max(int(n[1:]) for n in before)
    finally:
        svc.close()
