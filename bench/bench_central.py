"""The central store: how fast it takes in 50 halls' logs at once, beside a bare COPY floor;
how fast it reports a hall's month, beside a bare GROUP BY of that month.

    .venv/bin/python -m bench.bench_central [--halls 50] [--tickets 600] [--rounds 3]
        [--year-tickets 300] [--big-tickets 3000] [--no-before-big]

Each hall's log is a synthetic business day written the way the store writes it
(``bench/report_year.py``: the core's own event classes, dumped as the store dumps
them) into the hall's own SQLite file. **Ours**: 50 real ``Shipper`` objects (the code
of ``onewindow ship``), one thread each, read their hall's file and ship it in batches
of 500 through the centre's ``ship`` function (credential check, seq check, partition
routing, INSERT … SELECT from the staging table) until caught up. **Floor**: the same
rows, the same 50 threads, batches and sessions (each shipper's own connection to the
centre), each batch one bare ``COPY`` into an identically partitioned table and a
commit (no reading, no JSON, no checks). A shipper keeps its session for as long as it
runs, so the rounds run on open sessions; the first round, on 50 new ones, is printed
apart. Rounds interleave ours and the floor; the figure is events/s over all halls
(median and worst of the rounds).

Then, from the rows ingested: bytes per event (``pg_total_relation_size`` of the hall
partitions, indexes included) and a year of 300 halls on paper; one hall's year
(``--year-tickets`` a day, 250 days) to time a month's aggregate on the month's
partition against the same aggregate over the whole year; and the central report of a
month (``onewindow report --central``) of that hall and of a big hall
(``--big-tickets`` a day), against the floor (a bare GROUP BY of the month's
partition) and, once, the way it was built before (the period's events projected in
Python into an in-memory store), whose CSV must equal the new one.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from bench.report_year import YearGenerator, open_days
from dispatcher.central import schema as central
from dispatcher.central.report import build_central
from dispatcher.central.shipper import Settings, Shipper
from dispatcher.core.events import event_from_dict
from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.hub.devices import hash_token
from dispatcher.reports.figures import Report, build_report
from dispatcher.reports.period import Period
from dispatcher.reports.text import to_csv
from dispatcher.store import EventStore
from dispatcher.store.projection import Projector
from dispatcher.store.schema import events, metadata

PG = os.environ.get("ONEWINDOW_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
COLUMNS = ("seq", "day", "at", "name", "data", "device", "actor", "command_id",
           "command_hash", "recorded_at")
BATCH = 500
Rows = list[tuple[Any, ...]]


def hall_log(tickets: int, days: list[date], seed: int = 1) -> Rows:
    gen = YearGenerator(load_hall(SAMPLE_HALL), tickets_per_day=tickets, seed=seed)
    return [row for day in gen.days(days) for row in day.events]


def write_store(path: Path, rows: Rows) -> str:
    """A hall store (the store's own schema) holding ``rows`` in its events table."""
    url = f"sqlite:///{path}"
    EventStore.open(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES "
                             f"({', '.join('?' * len(COLUMNS))})", rows)
    engine.dispose()
    return url


def in_threads(jobs: list[Callable[[], None]]) -> float:
    threads = [threading.Thread(target=job) for job in jobs]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


def open_shippers(stores: dict[str, str], secrets: dict[str, str], schema: str
                  ) -> list[Shipper]:
    return [Shipper(Settings(url, PG, hall, secrets[hall], schema, BATCH))
            for hall, url in stores.items()]


def ours(engine: sa.Engine, schema: str, shippers: list[Shipper]) -> float:
    """Each shipper ships its hall's whole log from seq 1, in its own thread."""
    reset(engine, schema)
    for shipper in shippers:
        shipper.position = None      # ask the centre again: it was emptied

    def ship_all(shipper: Shipper) -> None:
        while shipper.step() == BATCH:
            pass

    return in_threads([lambda s=s: ship_all(s) for s in shippers])


def floor(engine: sa.Engine, schema: str, shippers: list[Shipper], rows: Rows, month: date
          ) -> float:
    """The same rows, batches, threads and sessions (the shippers' own connections to
    the centre): bare COPY + COMMIT per batch."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {schema}.floor")
    cols = ("hall", "month", *COLUMNS)

    def copy_all(shipper: Shipper) -> None:
        assert shipper._conn is not None
        raw = shipper._conn.connection.dbapi_connection
        for i in range(0, len(rows), BATCH):
            with raw.cursor() as cur, cur.copy(
                    f"COPY {schema}.floor ({', '.join(cols)}) FROM STDIN") as copy:
                for r in rows[i:i + BATCH]:
                    copy.write_row((shipper.s.hall, month, *r))
            raw.commit()

    return in_threads([lambda s=s: copy_all(s) for s in shippers])


def reset(engine: sa.Engine, schema: str) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {schema}.events")
        conn.exec_driver_sql(f"UPDATE {schema}.halls SET shipped_seq = 0, head_seq = 0")


def make_floor_table(engine: sa.Engine, schema: str, halls: list[str], month: date) -> None:
    nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE {schema}.floor (LIKE {schema}.events INCLUDING "
                             "ALL) PARTITION BY LIST (hall)")
        for h in halls:
            conn.exec_driver_sql(f"CREATE TABLE {schema}.fl_{h} PARTITION OF {schema}.floor "
                                 f"FOR VALUES IN ('{h}') PARTITION BY RANGE (month)")
            conn.exec_driver_sql(f"CREATE TABLE {schema}.fl_{h}_m PARTITION OF "
                                 f"{schema}.fl_{h} FOR VALUES FROM ('{month}') TO ('{nxt}')")


def bytes_per_event(engine: sa.Engine, schema: str) -> tuple[float, int]:
    with engine.connect() as conn:
        size = conn.exec_driver_sql(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname LIKE 'ev\\_%%' "
            "AND c.relkind = 'r'", (schema,)).scalar_one()
        count = conn.exec_driver_sql(f"SELECT count(*) FROM {schema}.events").scalar_one()
    return float(size) / count, count


def timed(fn: Callable[[], Any], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def month_vs_year(engine: sa.Engine, schema: str, secret: str, folder: Path, tickets: int,
                  rounds: int) -> None:
    """One hall's year: a month's aggregate on its partition vs the whole year's."""
    days = open_days(load_hall(SAMPLE_HALL), date(2027, 1, 4), 250)
    rows = hall_log(tickets, days, seed=7)
    url = write_store(folder / "year.db", rows)
    reset(engine, schema)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {schema}.halls SET credential_hash = %s "
                             "WHERE id = 'year_hall'", (hash_token(secret),))
    shipper = Shipper(Settings(url, PG, "year_hall", secret, schema, 5000))
    start = time.perf_counter()
    while shipper.step() == 5000:
        pass
    ship_s = time.perf_counter() - start
    shipper.close()
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ANALYZE {schema}.events")
    query = (f"SELECT day, name, count(*) FROM {schema}.events WHERE hall = 'year_hall' "
             "{where} GROUP BY day, name")
    month = "AND month = DATE '2027-03-01'"

    def run(where: str) -> None:
        with engine.connect() as conn:
            conn.exec_driver_sql(query.format(where=where)).all()

    by_month = timed(lambda: run(month), rounds)
    by_year = timed(lambda: run(""), rounds)
    with engine.connect() as conn:
        plan = "\n".join(r[0] for r in conn.exec_driver_sql(
            "EXPLAIN " + query.format(where=month)))
    print(f"\none hall's year: {len(rows):,} events ({tickets} tickets a day, 250 days), "
          f"shipped in {ship_s:.1f} s ({len(rows) / ship_s:,.0f} events/s, one shipper)")
    print(f"a month's aggregate (partition pruned): median {statistics.median(by_month):.3f} s,"
          f" worst {max(by_month):.3f} s; the whole year: median "
          f"{statistics.median(by_year):.3f} s, worst {max(by_year):.3f} s; "
          f"ratio {statistics.median(by_year) / statistics.median(by_month):.1f}x")
    scanned = [ln.strip() for ln in plan.splitlines() if "Scan" in ln]
    print(f"the month's plan scans: {'; '.join(scanned)}")


# ------------------------------------------------------------------ reports


def python_projection_report(engine: sa.Engine, schema: str, hall_id: str, period: Period
                             ) -> Report:
    """Before (the central report until this change): the period's events copied into
    an in-memory SQLite store, projected there by the store's Python ``Projector``
    (``tickets`` only), then ``build_report`` on that store."""
    class TicketsOnly(Projector):
        def window(self, window_id: str, **values: Any) -> None:
            pass

        def release(self, ticket_id: str) -> None:
            pass

    lite = sa.create_engine("sqlite://", poolclass=StaticPool)
    metadata.create_all(lite)
    opened = (f"SELECT min(seq) FROM {schema}.events WHERE hall = %s AND name = 'day_opened' "
              "AND day >= %s AND day <= %s")
    after_q = (f"SELECT min(seq) FROM {schema}.events WHERE hall = %s "
               "AND name = 'day_opened' AND day > %s")
    later_q = (f"SELECT {', '.join(COLUMNS)} FROM {schema}.events WHERE hall = %s AND seq > %s"
               f" AND (name = 'case_updated' OR seq = (SELECT max(seq) FROM {schema}.events "
               "WHERE hall = %s))")
    days = (period.start.isoformat(), period.end.isoformat())
    with engine.connect() as central_conn, lite.begin() as conn:
        lo = central_conn.exec_driver_sql(opened, (hall_id, *days)).scalar()
        after = central_conn.exec_driver_sql(after_q, (hall_id, days[1])).scalar()
        hi = 2**62 if after is None else after - 1
        rows = central_conn.execution_options(stream_results=True).exec_driver_sql(
            f"SELECT {', '.join(COLUMNS)} FROM {schema}.events WHERE hall = %s AND seq "
            "BETWEEN %s AND %s ORDER BY seq", (hall_id, lo, hi))
        projector = TicketsOnly(conn, lo, None, {})
        while chunk := rows.fetchmany(5000):
            conn.execute(events.insert(), [dict(r._mapping) for r in chunk])
            for r in chunk:
                projector.project(r.seq, event_from_dict(json.loads(r.data)))
        if after is not None:
            conn.execute(events.insert(), [dict(r._mapping) for r in central_conn.exec_driver_sql(
                later_q, (hall_id, hi, hall_id))])
    try:
        return build_report(lite, load_hall(SAMPLE_HALL), period)
    finally:
        lite.dispose()


def ship_log(schema: str, hall_id: str, secret: str, url: str) -> float:
    shipper = Shipper(Settings(url, PG, hall_id, secret, schema, 5000))
    start = time.perf_counter()
    while shipper.step() == 5000:
        pass
    shipper.close()
    return time.perf_counter() - start


def report_vs_floor(engine: sa.Engine, schema: str, hall_id: str, label: str, rounds: int,
                    before: bool) -> None:
    """A month's central report of one hall (after: SQL at the centre; before: the
    Python projection) beside the floor, a bare GROUP BY over the month's partition."""
    period = Period(date(2027, 3, 1), date(2027, 3, 31), "month")
    hall = load_hall(SAMPLE_HALL)
    floor_q = (f"SELECT name, count(*) FROM {schema}.events WHERE hall = %s "
               "AND month = DATE '2027-03-01' GROUP BY name")
    with engine.connect() as conn:
        n = sum(c for _, c in conn.exec_driver_sql(floor_q, (hall_id,)))
    after_s, floor_s, old_s = [], [], []
    report = None
    for _ in range(rounds):
        start = time.perf_counter()
        report = build_central(engine, schema, hall, period, hall_id)[hall_id]
        after_s.append(time.perf_counter() - start)
        floor_s += timed(lambda: _run(engine, floor_q, hall_id), 1)
    if before:
        start = time.perf_counter()
        old = python_projection_report(engine, schema, hall_id, period)
        old_s.append(time.perf_counter() - start)
        assert report is not None and to_csv(old) == to_csv(report), "before != after"
    med, fl = statistics.median(after_s), statistics.median(floor_s)
    shown = f"{old_s[0]:.1f} s" if old_s else "not run"
    print(f"| {label}: {n:,} events | {med:.2f} s | {max(after_s):.2f} s | {shown} | "
          f"{fl:.3f} s | {med / fl:.0f}x |")


def _run(engine: sa.Engine, query: str, hall_id: str) -> None:
    with engine.connect() as conn:
        conn.exec_driver_sql(query, (hall_id,)).all()


def reports_section(engine: sa.Engine, schema: str, secret: str, folder: Path,
                    args: argparse.Namespace) -> None:
    """The year hall's March (shipped by month_vs_year) and a big hall's March."""
    print("\n| a month's central report (one hall) | after: median | worst | before "
          "(Python projection) | floor: bare GROUP BY of the month | after / floor |")
    print("|---|---:|---:|---:|---:|---:|")
    report_vs_floor(engine, schema, "year_hall", f"{args.year_tickets} tickets a day",
                    args.rounds, True)
    big = hall_log(args.big_tickets, open_days(load_hall(SAMPLE_HALL), date(2027, 3, 1), 24),
                   seed=9)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {schema}.halls SET credential_hash = %s "
                             "WHERE id = 'big_hall'", (hash_token(secret),))
    ship_log(schema, "big_hall", secret, write_store(folder / "big.db", big))
    with engine.begin() as conn:
        conn.exec_driver_sql(f"ANALYZE {schema}.events")
    report_vs_floor(engine, schema, "big_hall", f"{args.big_tickets} tickets a day",
                    args.rounds, not args.no_before_big)


def ingest_rounds(engine: sa.Engine, schema: str, stores: dict[str, str],
                  secrets: dict[str, str], rows: Rows, month: date, rounds: int) -> None:
    """The first round (50 new sessions: connect, credential, staging table), then
    rounds of ours and the floor interleaved on the same 50 sessions."""
    total = len(rows) * len(stores)
    shippers = open_shippers(stores, secrets, schema)
    try:
        cold = ours(engine, schema, shippers)
        print(f"first round, 50 new sessions at the centre: ours {total / cold:,.0f} events/s")
        ours_s, floor_s = [], []
        for r in range(rounds):
            ours_s.append(ours(engine, schema, shippers))
            floor_s.append(floor(engine, schema, shippers, rows, month))
            print(f"round {r + 1}: ours {total / ours_s[-1]:,.0f} events/s, floor "
                  f"{total / floor_s[-1]:,.0f} events/s, ratio {floor_s[-1] / ours_s[-1]:.2f}"
                  f" (load average {os.getloadavg()[0]:.1f})")
    finally:
        for shipper in shippers:
            shipper.close()
    with engine.connect() as conn:
        got = conn.exec_driver_sql(f"SELECT count(*) FROM {schema}.events").scalar()
    assert got == total, f"{got} events at the centre, expected {total}"
    o, f = total / statistics.median(ours_s), total / statistics.median(floor_s)
    ratios = sorted(fl / ou for ou, fl in zip(ours_s, floor_s, strict=True))
    print(f"\n| | events/s median | worst |\n|---|---|---|\n"
          f"| ours (50 shippers, ship()) | {o:,.0f} | {total / max(ours_s):,.0f} |\n"
          f"| floor (bare COPY, same batches and sessions) | {f:,.0f} | "
          f"{total / max(floor_s):,.0f} |\n"
          f"ratio ours/floor (medians): {o / f:.2f} (goal >= 0.5); rounds "
          f"{ratios[0]:.2f}-{ratios[-1]:.2f}")


def sizes(engine: sa.Engine, schema: str, rows: Rows, tickets: int) -> None:
    per_event, count = bytes_per_event(engine, schema)
    per_ticket = len(rows) / tickets
    print(f"\nsize: {per_event:.0f} bytes an event with its indexes ({count:,} events "
          f"measured), {per_ticket:.2f} events a ticket")
    for daily in (1000, 3000):
        year = 300 * 250 * daily * per_ticket * per_event
        print(f"a year of 300 halls at {daily:,} tickets a day: "
              f"{300 * 250 * daily * per_ticket / 1e9:.2f} billion events, "
              f"{year / 1e12:.2f} TB (one month's partition of a hall: "
              f"{year / 300 / 12 / 1e9:.2f} GB)")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--halls", type=int, default=50)
    ap.add_argument("--tickets", type=int, default=600, help="tickets in each hall's day")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--year-tickets", type=int, default=300)
    ap.add_argument("--big-tickets", type=int, default=3000,
                    help="tickets a day of the big hall whose month is reported")
    ap.add_argument("--no-before-big", action="store_true",
                    help="skip the big hall's report the old way (about 50 s)")
    args = ap.parse_args(argv)
    global PG
    PG = os.environ.get("ONEWINDOW_BENCH_PG", PG)
    engine = sa.create_engine(PG)
    schema = f"bench_central_{os.getpid()}"
    central.init(engine, schema)
    halls = [f"hall_{i:03d}" for i in range(args.halls)]
    secrets = {h: f"secret-{h}" for h in [*halls, "year_hall", "big_hall"]}
    for h in secrets:
        central.add_hall(engine, schema, h, hash_token(secrets[h]))
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            day = date(2026, 11, 23)
            rows = hall_log(args.tickets, [day])
            stores = {h: write_store(folder / f"{h}.db", rows) for h in halls}
            for h in halls:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"SELECT {schema}.ensure_partition(%s, %s)",
                                         (h, day.replace(day=1)))
            make_floor_table(engine, schema, halls, day.replace(day=1))
            print(f"{len(halls)} halls x {len(rows):,} events ({args.tickets} tickets) = "
                  f"{len(rows) * len(halls):,} events a round, batches of {BATCH}; "
                  f"{os.cpu_count()} CPUs, shared and noisy; load average "
                  f"{os.getloadavg()[0]:.1f}")
            ingest_rounds(engine, schema, stores, secrets, rows, day.replace(day=1),
                          args.rounds)
            sizes(engine, schema, rows, args.tickets)
            month_vs_year(engine, schema, secrets["year_hall"], folder, args.year_tickets,
                          args.rounds)
            reports_section(engine, schema, secrets["big_hall"], folder, args)
            print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    finally:
        central.drop(engine, schema)
        engine.dispose()


if __name__ == "__main__":
    main()
