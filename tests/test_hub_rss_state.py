"""What keeps the hub's day small (issue 22's memory goal) changes nothing it answers.

A ticket's queue, class and windows are one shared string each, however the ticket
came (a command's JSON, the day replayed from the store, a snapshot), so 20,000
tickets do not hold a copy each; a ticket placed at its time of issue shares that
float. The arrivals index shares its position numbers
between its lists, the running service totals are doubles, and the store's writer
keeps a smaller page cache than SQLite's 2 MB.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import hall_time

from dispatcher.core import codec
from dispatcher.core import commands as c
from dispatcher.core.arrivals import Arrivals
from dispatcher.core.state import HallState, Ticket
from dispatcher.hall import Hall
from dispatcher.service import HallService
from dispatcher.store.store import WRITER_CACHE


def fresh(text: str) -> str:
    """An equal string that is another object, as each command's JSON gives."""
    return json.loads(json.dumps(text))


def a_day(svc: HallService, hall: Hall) -> None:
    """Four tickets of quick_b issued; B01 calls and finishes two of them."""
    at = hall_time(hall, "09:30")
    svc.execute(c.OpenWindow(fresh("B01")), at)
    for i in range(4):
        svc.execute(c.IssueTicket(fresh("quick_b")), at + i)
    for i in range(2):
        svc.execute(c.CallNext(fresh("B01")), at + 10 + i)
        svc.execute(c.FinishService(fresh("B01")), at + 20 + i)


def shared(tickets: list[Ticket], field: str) -> int:
    """How many string objects the tickets' ``field`` takes."""
    return len({id(getattr(t, field)) for t in tickets if getattr(t, field) is not None})


def assert_shared(state: HallState) -> None:
    tickets = list(state.tickets.values())
    assert len(tickets) == 4
    for field in ("queue", "ticket_class", "window", "served_by"):
        assert shared(tickets, field) == 1, field


def test_tickets_share_their_ids_of_queue_and_window_live_replayed_and_decoded(
        sample_hall: Hall, db_url: str) -> None:
    with HallService.open(sample_hall, db_url) as svc:
        a_day(svc, sample_hall)
        assert_shared(svc.core.state)
        assert all(t.virtual_at is t.issued_at for t in svc.core.state.tickets.values())
        live = svc.core.state.to_dict()
    with HallService.open(sample_hall, db_url) as svc:   # the day from the store
        assert_shared(svc.core.state)
        assert svc.core.state.to_dict() == live
        blob = codec.encode_state(svc.core.state)
    decoded, _ = codec.decode_state(blob, sample_hall)
    assert_shared(decoded)
    assert decoded.to_dict() == live


def test_the_arrivals_index_is_the_same_built_at_once_or_ticket_by_ticket(
        sample_hall: Hall, db_url: str) -> None:
    with HallService.open(sample_hall, db_url) as svc:
        state = svc.core.state
        state.arrivals()                       # built now: kept up to date per ticket
        a_day(svc, sample_hall)
        kept = state.arrivals()
        built = Arrivals(state.tickets)
    for name in ("issued", "lows", "low_times", "positions", "ordered", "latest"):
        assert getattr(kept, name) == getattr(built, name), name
    assert kept.positions[("quick_b", None, "normal")] == [0, 1, 2, 3]


def test_running_service_totals_are_the_sum_of_the_services(
        sample_hall: Hall, db_url: str) -> None:
    with HallService.open(sample_hall, db_url) as svc:
        a_day(svc, sample_hall)
        state = svc.core.state
        done = state.service_times["quick_b"]
        for end in range(len(done) + 1):
            total = state.service_total("quick_b", end)
            assert total == sum(seconds for _, seconds in done[:end])
            assert type(total) in (float, int)


def test_the_writer_keeps_a_smaller_page_cache_than_the_readers(
        sample_hall: Hall, tmp_path: Path) -> None:
    with HallService.open(sample_hall, f"sqlite:///{tmp_path / 'hall.db'}") as svc:
        a_day(svc, sample_hall)
        writer = svc.store._writer_connection().connection.driver_connection
        assert writer.execute("PRAGMA cache_size").fetchone()[0] == \
            int(WRITER_CACHE.split("=")[1])
        with svc.store.engine.connect() as reader:
            raw = reader.connection.driver_connection
            assert raw.execute("PRAGMA cache_size").fetchone()[0] == -2000
