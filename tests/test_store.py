"""The event store and the service that joins it to the core, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import random
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import hall_time

from dispatcher.core import EVENTS, DispatchError, HallState
from dispatcher.core import commands as c
from dispatcher.core import events as ev
from dispatcher.hall import Hall
from dispatcher.service import HallService
from dispatcher.store import EventStore, StoreError, events, tickets, windows
from dispatcher.store.projection import Projector

# ------------------------------------------------------------------ helpers


class Clock:
    """Hall time that moves on by a few seconds at every command."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self, step: float = 7.0) -> float:
        self.now += step
        return self.now


def run(svc: HallService, clock: Clock, command: c.Command) -> list[ev.Event]:
    return [e for _, e in svc.execute(command, clock(), device="test", actor="pytest")]


def first(events_: list[ev.Event], kind: type[ev.Event]) -> Any:
    return next(e for e in events_ if isinstance(e, kind))


def snapshot(state: HallState) -> dict[str, Any]:
    return dataclasses.asdict(state)


# The ticket fields the tickets table keeps; a ticket's clerk and a rating's reason
# are read from the event log (ticket_called's window at clerk_signed_in, ticket_evaluated).
PROJECTED = ("number", "queue", "ticket_class", "issued_at", "virtual_at", "serial", "state",
             "window", "called_at", "started_at", "finished_at", "recalls", "requeues",
             "transfers", "served_by", "rating")


def projected(store: EventStore, day: str) -> tuple[dict[str, dict], dict[str, dict]]:
    with store.engine.connect() as conn:
        trows = conn.execute(sa.select(tickets).where(tickets.c.day == day)).mappings().all()
        wrows = conn.execute(sa.select(windows)).mappings().all()
    ticket_view = {r["id"]: {k: r[k] for k in PROJECTED} for r in trows}
    window_view = {r["id"]: {"state": r["state"], "ticket": r["ticket"],
                             "pause_reason": r["pause_reason"], "main": json.loads(r["main"]),
                             "side": json.loads(r["side"]),
                             "side_when_overdue": r["side_when_overdue"]} for r in wrows}
    return ticket_view, window_view


def expected(state: HallState) -> tuple[dict[str, dict], dict[str, dict]]:
    ticket_view = {}
    for t in state.tickets.values():
        row = {name: getattr(t, name) for name in PROJECTED}
        row["state"] = str(t.state)
        ticket_view[t.id] = row
    window_view = {w.id: {"state": str(w.state), "ticket": w.ticket,
                          "pause_reason": w.pause_reason, "main": list(w.profile.main),
                          "side": list(w.profile.side),
                          "side_when_overdue": w.profile.side_when_overdue}
                   for w in state.windows.values()}
    return ticket_view, window_view


def assert_projection_matches(svc: HallService) -> None:
    assert svc.core.state.day is not None
    assert projected(svc.store, svc.core.state.day) == expected(svc.core.state)


def count(store: EventStore, table: sa.Table) -> int:
    with store.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(table))


def scenario(svc: HallService, clock: Clock) -> list[ev.Event]:
    """A morning in zone B: every command kind, every event kind but DayClosed."""
    out: list[ev.Event] = []

    def do(command: c.Command) -> list[ev.Event]:
        got = run(svc, clock, command)
        out.extend(got)
        return got

    for queue, cls in [("quick_b", "normal"), ("quick_b", "normal"), ("quick_b", "green"),
                       ("quick_b", "appointment"), ("tax", "normal"), ("quick_b", "normal")]:
        do(c.IssueTicket(queue, ticket_class=cls, zone="B"))
    for window in ("B01", "B02", "B19", "B20"):
        do(c.OpenWindow(window))
    do(c.SignIn("B01", "clerk-017"))
    served = first(do(c.CallNext("B01")), ev.TicketCalled).ticket   # the green ticket
    do(c.Recall("B01"))
    do(c.StartService("B01"))
    do(c.FinishService("B01"))
    do(c.Evaluate(served, 5))
    absent = first(do(c.CallNext("B01")), ev.TicketCalled).ticket
    do(c.NoShow("B01"))
    do(c.Requeue(absent))
    moved = first(do(c.CallNext("B02")), ev.TicketCalled).ticket
    do(c.Transfer(moved, to_queue="tax"))                    # keeps its place in line
    do(c.CallNext("B19"))
    do(c.StartService("B19"))
    waiting = svc.core.state.waiting_in("quick_b")
    do(c.Transfer(waiting[0].id, to_window="B20"))
    do(c.CallNext("B20"))
    do(c.FinishService("B20"))
    do(c.Cancel(waiting[1].id, reason="left the hall"))
    do(c.Pause("B02", "午休 lunch"))
    do(c.SetProfile("B02", main=("quick_b", "tax"), side=("consult",)))
    do(c.Resume("B02"))
    do(c.CloseWindow("B20"))
    do(c.IssueTicket("consult"))
    do(c.CallNext("B01"))
    do(c.Hold("B01"))                                        # fetches a document
    do(c.CallBack("B01"))
    do(c.Hold("B01"))                                        # and is left held aside
    do(c.IssueTicket("quick_b", zone="B"))
    do(c.CallNext("B01"))
    start = clock.now + 600
    do(c.BookAppointment("YY-0001", "quick_b", start, start + 1800))
    do(c.CheckIn("YY-0001", zone="B"))
    do(c.PostNotice("午休 12:00-13:00"))
    do(c.ReportDevice("K-B1/printer", "paper_near_end"))
    do(c.CheckAlerts())                                      # the sample hall's printer rule
    do(c.AcknowledgeAlert("printer:K-B1/printer"))
    do(c.ReportDevice("K-B1/printer", "ok"))
    do(c.CheckAlerts())
    do(c.SetBalancing("B", automatic=False, by="staff-001"))
    lend = {"zone": "B", "window": "B19", "kind": "lend", "main": ["tax", "quick_b"],
            "side": [], "side_when_overdue": False, "from_main": ["tax"],
            "from_side": ["quick_b"], "queues": ["quick_b", "tax"],
            "reason": "马上办 3 人等候", "reason_en": "Quick Service: 3 waiting", "at": clock.now,
            "predicted": None}
    do(c.PostSuggestions((lend,)))
    do(c.PredictSuggestion("S-0001", {"mean_before": 9.0, "mean_after": 6.5}))
    do(c.ApplySuggestion("S-0001", by="staff-001"))
    do(c.IssueTicket("tax", zone="A"))
    do(c.OpenWindow("A11"))
    taxed = first(do(c.CallNext("A11")), ev.TicketCalled).ticket
    do(c.FinishService("A11", outcome="done", case_number="KY-2026-00017"))
    do(c.Evaluate(taxed, 1, reason="等了太久"))                # opens a 差评 case
    case = next(iter(svc.core.state.cases))
    do(c.UpdateCase(case, "contacted", note="电话回访", by="staff-001"))
    do(c.UpdateCase(case, "closed", by="staff-001"))
    return out


@pytest.fixture
def service(sample_hall: Hall, db_url: str):
    svc = HallService.open(sample_hall, db_url)
    yield svc
    svc.close()


@pytest.fixture
def clock(sample_hall: Hall) -> Clock:
    return Clock(hall_time(sample_hall, "09:30"))


# -------------------------------------------------------------------- tests


def test_events_round_trip_with_gap_free_seqs(service: HallService, clock: Clock) -> None:
    written = scenario(service, clock)
    written += run(service, clock, c.CloseDay())
    assert {type(e) for e in written} == set(EVENTS.values()), "the scenario covers every event"
    stored = service.store.events_since(0)
    assert [e for _, e in stored] == written
    assert [s for s, _ in stored] == list(range(1, len(written) + 1))
    assert service.store.last_seq() == len(written)
    assert service.store.events_since(len(written) - 2) == stored[-2:]
    with service.store.engine.connect() as conn:
        row = conn.execute(sa.select(events).where(events.c.seq == 2)).mappings().one()
    assert (row["device"], row["actor"], row["name"], row["day"]) == (
        "test", "pytest", "ticket_issued", "2026-11-23")
    assert json.loads(row["data"]) == written[1].to_dict()


def test_projections_match_core_state(service: HallService, clock: Clock) -> None:
    scenario(service, clock)
    assert_projection_matches(service)
    states = {str(t.state) for t in service.core.state.tickets.values()}
    assert states >= {"waiting", "called", "serving", "done", "cancelled", "held"}
    run(service, clock, c.CloseDay())
    assert_projection_matches(service)
    assert {str(t.state) for t in service.core.state.tickets.values()} <= {
        "done", "cancelled", "closed"}


def test_random_commands_keep_projection_and_replay_exact(sample_hall: Hall, db_url: str,
                                                          clock: Clock) -> None:
    rng = random.Random(2026)
    wids = ["B01", "B02", "B03", "B19", "B24", "B33", "A01", "A11"]
    queues = ["quick_b", "tax", "marriage", "consult", "quick_a", "results"]
    svc = HallService.open(sample_hall, db_url)
    accepted: set[str] = set()
    for _ in range(250):
        ids = list(svc.core.state.tickets) or ["none"]
        w, t = rng.choice(wids), rng.choice(ids)
        command = rng.choice([
            c.IssueTicket(rng.choice(queues), ticket_class=rng.choice(
                ["normal", "normal", "green", "appointment"])),
            c.OpenWindow(w), c.CallNext(w), c.CallNext(w), c.CallTicket(w, t), c.Recall(w),
            c.StartService(w), c.FinishService(w), c.NoShow(w), c.Requeue(t),
            c.Transfer(t, to_queue=rng.choice(queues)), c.Transfer(t, to_window=w),
            c.Cancel(t), c.Pause(w, "break"), c.Resume(w), c.CloseWindow(w),
            c.Evaluate(t, rng.randint(1, 5)),
        ])
        try:
            svc.execute(command, clock(rng.uniform(1, 20)))
        except DispatchError:
            continue
        accepted.add(command.NAME)
    assert len(accepted) >= 12, accepted
    assert_projection_matches(svc)
    before = snapshot(svc.core.state)
    svc.close()
    with HallService.open(sample_hall, db_url) as again:
        assert snapshot(again.core.state) == before


def test_restart_rebuilds_exact_state_and_continues_numbering(
        sample_hall: Hall, db_url: str, clock: Clock) -> None:
    svc = HallService.open(sample_hall, db_url)
    scenario(svc, clock)
    before, last = snapshot(svc.core.state), svc.store.last_seq()
    issued = {t.number for t in svc.core.state.tickets.values()}
    svc.close()

    svc = HallService.open(sample_hall, db_url)
    assert snapshot(svc.core.state) == before
    assert svc.store.last_seq() == last
    assert_projection_matches(svc)
    new = first(run(svc, clock, c.IssueTicket("quick_b")), ev.TicketIssued)
    assert new.number not in issued
    assert new.sequence == 1 + max(int(n[1:]) for n in issued if n.startswith("B"))
    assert svc.store.last_seq() == last + 1
    svc.close()


def test_next_day_restarts_numbers_and_replays_only_today(
        sample_hall: Hall, db_url: str, clock: Clock) -> None:
    svc = HallService.open(sample_hall, db_url)
    scenario(svc, clock)
    tomorrow = hall_time(sample_hall, "09:05", day="2026-11-24")
    got = [e for _, e in svc.execute(c.IssueTicket("quick_b"), tomorrow)]
    assert [type(e) for e in got] == [ev.DayClosed, ev.DayOpened, ev.TicketIssued]
    assert got[2].number == "B001" and got[2].ticket == "20261124-B001"
    assert_projection_matches(svc)
    before = snapshot(svc.core.state)
    svc.close()
    with HallService.open(sample_hall, db_url) as again:
        assert [type(e) for _, e in again.store.current_day_events()] == [
            ev.DayOpened, ev.TicketIssued]
        assert snapshot(again.core.state) == before
        with again.store.engine.connect() as conn:
            days = dict(conn.execute(sa.select(tickets.c.day, sa.func.count())
                                     .group_by(tickets.c.day)).all())
        assert days["2026-11-24"] == 1 and days["2026-11-23"] > 1


def test_database_refuses_reused_number_and_writes_nothing(
        service: HallService, clock: Clock) -> None:
    run(service, clock, c.IssueTicket("quick_b"))
    store, last = service.store, service.store.last_seq()
    counts = (count(store, events), count(store, tickets))
    windows_before = projected(store, "2026-11-23")[1]
    # Bypass the core: same day, prefix and sequence under another ticket id.
    original = first([e for _, e in store.events_since(0)], ev.TicketIssued)
    forged = dataclasses.replace(original, ticket=original.ticket + "-bis", at=clock())
    with pytest.raises(StoreError) as info:
        store.append([ev.WindowOpened(at=clock(), window="B05"), forged])
    assert isinstance(info.value.__cause__, sa.exc.IntegrityError)
    assert "uq_tickets_day_number" in str(info.value.__cause__).lower() or \
        "unique" in str(info.value.__cause__).lower()
    assert store.last_seq() == last
    assert (count(store, events), count(store, tickets)) == counts
    assert projected(store, "2026-11-23")[1] == windows_before  # B05 was not opened

    # A core that forgot its numbers: the service refuses and its state is unchanged.
    service.core.state.sequences["B"] = 0
    state_before = snapshot(service.core.state)
    with pytest.raises(StoreError):
        service.execute(c.IssueTicket("quick_b"), clock())
    assert snapshot(service.core.state) == state_before
    assert store.last_seq() == last
    assert (count(store, events), count(store, tickets)) == counts
    # ... and the store keeps working: the next append takes the next seq.
    assert store.append([ev.WindowOpened(at=clock(), window="B05")]) == [last + 1]


def test_rejected_command_writes_nothing(sample_hall: Hall, service: HallService,
                                         clock: Clock) -> None:
    evening = hall_time(sample_hall, "19:00")
    with pytest.raises(DispatchError) as info:  # the first command of the day, refused
        service.execute(c.IssueTicket("quick_b"), evening)
    assert info.value.code == "hall_closed"
    assert service.store.last_seq() == 0 and count(service.store, events) == 0
    assert service.store.current_day_events() == []

    run(service, clock, c.IssueTicket("quick_b"))
    last, before = service.store.last_seq(), snapshot(service.core.state)
    for bad in (c.CallNext("B01"), c.IssueTicket("nope"), c.Evaluate("x", 9),
                c.Requeue("20261123-B001")):
        with pytest.raises(DispatchError):
            service.execute(bad, clock())
    assert service.store.last_seq() == last == count(service.store, events)
    assert snapshot(service.core.state) == before


def test_store_failure_leaves_core_unchanged(service: HallService, clock: Clock,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    run(service, clock, c.IssueTicket("quick_b"))
    before, last = snapshot(service.core.state), service.store.last_seq()

    real = Projector.project

    def failing(self: Projector, seq: int, event: ev.Event) -> None:
        if isinstance(event, ev.TicketIssued):  # after the event row went in
            raise RuntimeError("disk on fire")
        real(self, seq, event)

    monkeypatch.setattr(Projector, "project", failing)
    with pytest.raises(StoreError, match="disk on fire"):
        service.execute(c.IssueTicket("quick_b"), clock())
    assert snapshot(service.core.state) == before
    assert service.store.last_seq() == last == count(service.store, events)


def test_empty_append_and_reopen_without_hall(sample_hall: Hall, db_url: str,
                                              clock: Clock) -> None:
    with EventStore.open(db_url) as store:   # no hall: windows appear as they are touched
        assert store.append([]) == [] and store.last_seq() == 0
        seqs = store.append([ev.DayOpened(at=clock(), day="2026-11-23"),
                             ev.WindowOpened(at=clock(), window="B01")], command_id="cmd-1")
        assert seqs == [1, 2] and store.day == "2026-11-23"
        with store.engine.connect() as conn:
            row = conn.execute(sa.select(windows)).mappings().one()
            assert (row["id"], row["state"], row["main"]) == ("B01", "idle", None)
            assert conn.scalar(sa.select(events.c.command_id).where(events.c.seq == 2)) == "cmd-1"
    with EventStore.open(db_url) as store:
        assert store.last_seq() == 2 and store.day == "2026-11-23"
        assert [s for s, _ in store.current_day_events()] == [1, 2]


def test_sqlite_pragmas_and_parent_directory(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'onewindow.db'}"
    with EventStore.open(url) as store, store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    assert (tmp_path / "deep" / "er" / "onewindow.db").exists()


def test_closed_day_stays_closed_after_restart(sample_hall: Hall, db_url: str,
                                               clock: Clock) -> None:
    with HallService.open(sample_hall, db_url) as svc:
        scenario(svc, clock)
        closed = first(run(svc, clock, c.CloseDay()), ev.DayClosed)
        before = snapshot(svc.core.state)
    assert closed.closed_tickets
    with HallService.open(sample_hall, db_url) as svc:
        assert snapshot(svc.core.state) == before and svc.core.state.day_closed
        assert_projection_matches(svc)
        last = svc.store.last_seq()
        with pytest.raises(DispatchError) as info:
            svc.execute(c.IssueTicket("quick_b", after_hours=True), clock())
        assert info.value.code == "day_closed" and svc.store.last_seq() == last


def test_a_second_writer_is_refused_and_catches_up(sample_hall: Hall, db_url: str,
                                                   clock: Clock) -> None:
    """Two services on one store (a misconfiguration): the stale one's append collides,
    writes nothing, rebuilds from the store and then issues the next number."""
    with HallService.open(sample_hall, db_url) as a, HallService.open(sample_hall, db_url) as b:
        got_a = first(run(a, clock, c.IssueTicket("quick_b")), ev.TicketIssued)
        with pytest.raises(StoreError):
            b.execute(c.IssueTicket("quick_b"), clock())
        assert snapshot(b.core.state) == snapshot(a.core.state)
        got_b = first(run(b, clock, c.IssueTicket("quick_b")), ev.TicketIssued)
        assert (got_a.number, got_b.number) == ("B001", "B002")
        assert [s for s, _ in b.store.events_since(0)] == [1, 2, 3]


def test_lost_postgres_connection_fails_cleanly_then_recovers(
        sample_hall: Hall, postgres_available: str, clock: Clock) -> None:
    """The server drops the writer's connection: that command fails with StoreError and
    changes nothing; the next one reconnects and goes on from the right number."""
    schema = f"t_lost_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(postgres_available)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"create schema {schema}")
    try:
        url = f"{postgres_available}?options=-csearch_path%3D{schema}"
        with HallService.open(sample_hall, url) as svc:
            run(svc, clock, c.IssueTicket("quick_b"))
            writer = svc.store._writer_connection()
            pid = writer.connection.driver_connection.info.backend_pid
            with admin.begin() as conn:
                conn.execute(sa.text("select pg_terminate_backend(:pid)"), {"pid": pid})
            before, last = snapshot(svc.core.state), svc.store.last_seq()
            with pytest.raises(StoreError) as info:
                svc.execute(c.IssueTicket("quick_b"), clock())
            assert isinstance(info.value.__cause__, sa.exc.OperationalError)
            assert snapshot(svc.core.state) == before and svc.store.last_seq() == last
            again = first(run(svc, clock, c.IssueTicket("quick_b")), ev.TicketIssued)
            assert again.number == "B002" and svc.store.last_seq() == last + 1
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"drop schema {schema} cascade")
        admin.dispose()
