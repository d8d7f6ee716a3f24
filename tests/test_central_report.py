"""The central report's ``tickets`` projection (SQL at the centre) against the store's
own (``store/projection.py``, Python, in the hall), over every kind of ticket event.

Two business days of the tiny hall are played through a real ``HallService`` on a
SQLite store by a seeded random walk of the clerks' and the console's commands (calls,
recalls, holds and call-backs, no-shows, requeues, transfers to a queue or a window,
cancellations, ratings, the day's close); the log is shipped to the central PostgreSQL
through the centre's own ``ship()``; then the centre's ``tickets`` must equal the
hall's row for row, column for column, and the central report the hall's own.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PG_URL, hall_time
from sqlalchemy.pool import StaticPool
from tiny_hall import tiny_hall

from dispatcher.central import ingest
from dispatcher.central.projection import TICKET_EVENTS, stage
from dispatcher.central.report import build_central
from dispatcher.central.schema import add_hall, drop, init
from dispatcher.core import DispatchError
from dispatcher.core import commands as c
from dispatcher.hall import Hall
from dispatcher.hub.devices import hash_token
from dispatcher.reports import Period, build_report
from dispatcher.reports.text import to_csv
from dispatcher.service import HallService
from dispatcher.store.schema import tickets

COLUMNS = [col.name for col in tickets.columns]
EVENT_COLUMNS = ("seq, day, at, name, data, device, actor, command_id, command_hash, "
                 "recorded_at")
DAYS = ("2026-11-23", "2026-11-24")
WINDOWS = ("W1", "W2", "W3")


def _command(rng: random.Random, tickets_of_day: list[str]) -> c.Command:
    window = rng.choice(WINDOWS)
    ticket = rng.choice(tickets_of_day) if tickets_of_day else "none"
    issue = c.IssueTicket(rng.choice(["q1", "q2", "q3"]),
                          rng.choice(["normal", "normal", "appointment", "green"]))
    choices: list[c.Command] = [
        issue, issue, issue, issue,
        c.CallNext(window), c.CallNext(window), c.Recall(window), c.StartService(window),
        c.FinishService(window), c.FinishService(window), c.NoShow(window),
        c.Hold(window), c.CallBack(window), c.CallTicket(window, ticket),
        c.Requeue(ticket), c.Transfer(ticket, to_queue=rng.choice(["q1", "q2", "q3"])),
        c.Transfer(ticket, to_window=rng.choice(WINDOWS)), c.Cancel(ticket, "left"),
        c.Evaluate(ticket, rng.choice([1, 3, 4, 5])), c.OpenWindow(window),
    ]
    return rng.choice(choices)


def play(hall: Hall, url: str, seed: int) -> set[str]:
    """Two days of random commands; return the names of the events written."""
    rng, names = random.Random(seed), set()
    with HallService.open(hall, url) as service:
        for day in DAYS:
            now = hall_time(hall, "09:00", day)
            issued: list[str] = []
            for window in WINDOWS:
                service.execute(c.OpenWindow(window), now)
            for _ in range(700):
                now += rng.uniform(1, 40)
                try:
                    done = service.execute(_command(rng, issued), now)
                except DispatchError:
                    continue
                for _, event in done:
                    names.add(event.NAME)
                    if event.NAME == "ticket_issued":
                        issued.append(event.ticket)
            names |= {e.NAME for _, e in service.execute(c.CloseDay(), now + 60)}
    return names


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, postgres_available) -> Iterator[tuple[sa.Engine, str, str]]:
    """(central engine, schema, the hall store's URL) with the hall's log shipped."""
    hall = tiny_hall()
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('hall')) / 'hall.db'}"
    names = play(hall, url, seed=21)
    assert set(TICKET_EVENTS) | {"day_closed"} <= names, "the walk missed an event type"
    engine, schema = sa.create_engine(PG_URL), f"t_central_{uuid.uuid4().hex[:10]}"
    init(engine, schema)
    add_hall(engine, schema, "tiny", hash_token("secret"))
    hall_db = sa.create_engine(url)
    with hall_db.connect() as lite:
        rows = [tuple(r) for r in lite.exec_driver_sql(
            f"SELECT {EVENT_COLUMNS} FROM events ORDER BY seq")]
    hall_db.dispose()
    with engine.connect() as conn:
        assert ingest.ship(conn, schema, "tiny", "secret", rows,
                           (rows[-1][0], rows[-1][-1])) == len(rows)
    try:
        yield engine, schema, url
    finally:
        drop(engine, schema)
        engine.dispose()


def _tickets(engine: sa.Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT {', '.join(f'{chr(34)}{n}{chr(34)}' for n in COLUMNS)} "
            "FROM tickets ORDER BY id")]


def test_the_centres_tickets_are_the_hall_stores_own(shipped) -> None:
    engine, schema, url = shipped
    session = sa.create_engine(engine.url, poolclass=StaticPool)
    try:
        with session.begin() as conn:
            stage(conn, schema, "tiny", Period(date(2026, 11, 23), date(2026, 11, 24), "day"))
        central = _tickets(session)
    finally:
        session.dispose()
    own = _tickets(sa.create_engine(url))
    assert len(own) > 200
    states = {row[COLUMNS.index("state")] for row in own}
    assert {"done", "cancelled", "closed"} <= states   # 日结 closes the no-shows
    assert any(row[COLUMNS.index("transfers")] for row in own)
    assert any(row[COLUMNS.index("requeues")] for row in own)
    assert any(row[COLUMNS.index("recalls")] for row in own)
    assert central == own


@pytest.mark.parametrize("by", ["day", "week"])
def test_the_central_report_of_every_kind_of_ticket_is_the_halls_own(shipped, by) -> None:
    engine, schema, url = shipped
    hall = tiny_hall()
    period = Period(date(2026, 11, 23), date(2026, 11, 24), by)
    own = to_csv(build_report(sa.create_engine(url), hall, period))
    assert to_csv(build_central(engine, schema, hall, period, "tiny")["tiny"]) == own


def test_a_period_with_no_business_day_gives_the_empty_report(shipped) -> None:
    engine, schema, _ = shipped
    period = Period(date(2026, 12, 1), date(2026, 12, 2), "day")
    report = build_central(engine, schema, tiny_hall(), period, "tiny")["tiny"]
    assert report.asof is None and report.rows == []
