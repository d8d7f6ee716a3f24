"""A monthly report over a year of a large hall, against the bare aggregate query.

    python -m bench.bench_reports [--days 250] [--per-day 3000] [--month 2026-06]
                                  [--rounds 5] [--pg URL] [--keep FOLDER]

A year (250 opening days × 3,000 tickets: 750,000 tickets, about 3.4 million events)
is written by ``bench/report_year.py`` into a SQLite store and a PostgreSQL one (a
temporary schema), with the store's own tables and indexes. Then, per backend and
round, interleaved: ``build_report`` for one month (``--by month``: every grouping
with its zero rows and total row, utilisation, hours, weeks) and the floor, the bare
aggregate query on the same tables: one GROUP BY over the month's tickets (count and
mean wait per queue) and one over the month's events (count per name, by seq range).
Medians and the worst round. ``--keep FOLDER`` keeps the year (a SQLite file there, a
PostgreSQL schema ``bench_year_DAYSxPER_DAY``) and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import calendar
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import psycopg
import sqlalchemy as sa

from bench.bench_store import PG_URL, pg_schema
from bench.report_year import YearGenerator, open_days
from dispatcher.hall import SAMPLE_HALL, Hall, load_hall
from dispatcher.reports import Period, build_report
from dispatcher.reports.logread import bounds
from dispatcher.store import EventStore, events, tickets

EVENT_COLUMNS = [c.name for c in events.columns]
TICKET_COLUMNS = [c.name for c in tickets.columns]
QUOTED = {"events": ", ".join(f'"{c}"' for c in EVENT_COLUMNS),
          "tickets": ", ".join(f'"{c}"' for c in TICKET_COLUMNS)}


def load(hall: Hall, days: list[date], per_day: int, sqlite_path: str, pg: tuple[str, str]
         ) -> tuple[int, int]:
    """Write the year into both stores; return (tickets, events)."""
    for url in (f"sqlite:///{sqlite_path}", pg[0]):
        EventStore.open(url).close()          # the store's own tables and indexes
    lite = sqlite3.connect(sqlite_path, isolation_level=None)
    lite.execute("PRAGMA synchronous=OFF")
    conninfo, schema = pg[1].split("|")
    post = psycopg.connect(conninfo, options=f"-csearch_path={schema}")
    n_tickets = n_events = 0
    began = time.perf_counter()
    insert_e = f"INSERT INTO events ({QUOTED['events']}) VALUES " \
               f"({', '.join('?' * len(EVENT_COLUMNS))})"
    insert_t = f"INSERT INTO tickets ({QUOTED['tickets']}) VALUES " \
               f"({', '.join('?' * len(TICKET_COLUMNS))})"
    for i, day in enumerate(YearGenerator(hall, per_day).days(days), 1):
        trows = [tuple(t[c] for c in TICKET_COLUMNS) for t in day.tickets]
        lite.execute("BEGIN")
        lite.executemany(insert_e, day.events)
        lite.executemany(insert_t, trows)
        lite.execute("COMMIT")
        with post.cursor() as cur:
            with cur.copy(f"COPY events ({QUOTED['events']}) FROM STDIN") as copy:
                for row in day.events:
                    copy.write_row(row)
            with cur.copy(f"COPY tickets ({QUOTED['tickets']}) FROM STDIN") as copy:
                for row in trows:
                    copy.write_row(row)
        post.commit()
        n_tickets, n_events = n_tickets + len(trows), n_events + len(day.events)
        if i % 25 == 0:
            print(f"  {i} days, {n_tickets:,} tickets, {n_events:,} events "
                  f"({time.perf_counter() - began:.0f} s)", flush=True)
    post.autocommit = True
    post.execute("VACUUM ANALYZE")            # what autovacuum does over a year of writes
    post.close()
    lite.close()
    return n_tickets, n_events


def floor(engine: sa.Engine, period: Period) -> object:
    """The bare aggregate query on the same tables: the month's tickets by queue, the
    month's events by name."""
    t, e = tickets, events
    with engine.connect() as conn:
        by_queue = conn.execute(
            sa.select(t.c.queue, sa.func.count(), sa.func.avg(t.c.called_at - t.c.issued_at))
            .where(t.c.day.between(period.start.isoformat(), period.end.isoformat()))
            .group_by(t.c.queue)).all()
        found = bounds(conn, period)
        assert found is not None
        by_name = conn.execute(sa.select(e.c.name, sa.func.count())
                               .where(e.c.seq.between(found.lo, found.hi))
                               .group_by(e.c.name)).all()
    return by_queue, by_name


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


@contextmanager
def stores(pg_base: str) -> Iterator[tuple[str, str, str]]:
    """(SQLite file, PostgreSQL URL, "conninfo|schema") in temporary places."""
    with tempfile.TemporaryDirectory() as tmp, pg_schema(pg_base) as (pg_url, schema):
        conninfo = sa.make_url(pg_base).set(drivername="postgresql").render_as_string(False)
        yield os.path.join(tmp, "year.db"), pg_url, f"{conninfo}|{schema}"


@contextmanager
def kept_stores(pg_base: str, folder: str, days: int, per_day: int
                ) -> Iterator[tuple[str, str, str]]:
    """The same in places kept between runs: FOLDER/year-DAYSxPER_DAY.db and the schema
    bench_year_DAYSxPER_DAY (made when missing; never dropped)."""
    schema = f"bench_year_{days}x{per_day}"
    engine = sa.create_engine(pg_base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    engine.dispose()
    conninfo = sa.make_url(pg_base).set(drivername="postgresql").render_as_string(False)
    os.makedirs(folder, exist_ok=True)
    yield (os.path.join(folder, f"year-{days}x{per_day}.db"),
           f"{pg_base}?options=-csearch_path%3D{schema}", f"{conninfo}|{schema}")


def fresh(path: str, pg_base: str, schema: str) -> None:
    """Empty kept places (a load cut short) before writing the year again."""
    if os.path.exists(path):
        os.remove(path)
    engine = sa.create_engine(pg_base)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine.dispose()


def written(path: str, pg_url: str) -> tuple[int, int] | None:
    """(tickets, events) when both kept stores hold the same year already."""
    if not os.path.exists(path):
        return None
    found = []
    for url in (f"sqlite:///{path}", pg_url):
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                found.append((conn.scalar(sa.select(sa.func.count()).select_from(tickets)),
                              conn.scalar(sa.select(sa.func.max(events.c.seq)))))
        except sa.exc.DBAPIError:
            return None
        finally:
            engine.dispose()
    return found[0] if found[0] == found[1] and found[0][0] else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=250, help="opening days in the year")
    parser.add_argument("--per-day", type=int, default=3000, help="tickets a day")
    parser.add_argument("--month", default="2026-06", help="the month reported, YYYY-MM")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL base URL")
    parser.add_argument("--keep", metavar="FOLDER", help="keep the year (a SQLite file in "
                        "FOLDER, a PostgreSQL schema) and reuse it on the next run")
    args = parser.parse_args(argv)
    hall = load_hall(SAMPLE_HALL)
    year, month = map(int, args.month.split("-"))
    period = Period(date(year, month, 1),
                    date(year, month, calendar.monthrange(year, month)[1]), "month")
    days = open_days(hall, date(2026, 1, 1), args.days)
    places = (kept_stores(args.pg, args.keep, args.days, args.per_day) if args.keep
              else stores(args.pg))
    with places as (path, pg_url, pg_raw):
        began = time.perf_counter()
        kept = written(path, pg_url) if args.keep else None
        if args.keep and not kept:
            fresh(path, args.pg, pg_raw.split("|")[1])
        n_tickets, n_events = kept or load(hall, days, args.per_day, path, (pg_url, pg_raw))
        print(f"year {'reused' if kept else 'written'}: {n_tickets:,} tickets, "
              f"{n_events:,} events on each backend, "
              f"{time.perf_counter() - began:.0f} s; SQLite file "
              f"{os.path.getsize(path) / 2**20:.0f} MiB", flush=True)
        engines = {"SQLite": sa.create_engine(f"sqlite:///{path}"),
                   "PostgreSQL": sa.create_engine(pg_url)}
        results: dict[tuple[str, str], list[float]] = {}
        month_tickets = 0
        for r in range(args.rounds):
            for backend, engine in engines.items():
                report: list[Any] = []
                results.setdefault((backend, "report"), []).append(
                    timed(lambda e=engine, out=report: out.append(build_report(e, hall, period))))
                results.setdefault((backend, "floor"), []).append(
                    timed(lambda e=engine: floor(e, period)))
                month_tickets = report[0].table("hall")[0].values["issued"]
            print(f"round {r + 1}/{args.rounds} done", flush=True)
        for engine in engines.values():
            engine.dispose()
    busy = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmonthly report of {args.month} ({month_tickets:,} tickets) in a year of "
          f"{n_tickets:,} tickets; median of {args.rounds} rounds ({os.cpu_count()} CPUs, "
          f"shared machine; load average {busy})\n")
    print("| backend | monthly report: median | worst | floor: median | worst | "
          "report / floor (medians) | rounds under 2 s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for backend in engines:
        ours, bare = results[backend, "report"], results[backend, "floor"]
        mid, low = statistics.median(ours), statistics.median(bare)
        print(f"| {backend} | {mid:.3f} s | {max(ours):.3f} s | {low:.3f} s | "
              f"{max(bare):.3f} s | {mid / low:.1f}× | "
              f"{sum(x <= 2.0 for x in ours)}/{len(ours)} |")

if __name__ == "__main__":
    main()
