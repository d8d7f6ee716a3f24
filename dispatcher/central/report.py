"""``onewindow report --central URL [--hall-id ID]``: the hall reports from the central log.

The report's SQL (dispatcher/reports) reads one hall's store: its ``events`` and the
``tickets`` projection. The centre keeps only the events, so for each hall the
period's events (from its first ``day_opened`` to the end of what was shipped, all the
report reads) are copied into a scratch store in memory and projected there by the
store's own ``Projector``, the code that wrote the hall's ``tickets`` table; then the
same ``build_report`` runs on it. The figures are the hall's own by construction, not
by a second implementation that could drift. The cost is the projection in Python:
about the time the hall spent writing those rows, paid per report (docs/central.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from ..core.events import event_from_dict
from ..hall import Hall, load_hall
from ..reports.figures import Report, build_report
from ..reports.period import Period
from ..store.projection import Projector
from ..store.schema import events, metadata
from .schema import SCHEMA, hall_problem, is_initialised, schema_problem

_FIRST_OPEN = ("SELECT min(seq) FROM {s}.events WHERE hall = %s AND name = 'day_opened' "
               "AND day >= %s AND day <= %s")
_NEXT_OPEN = ("SELECT min(seq) FROM {s}.events WHERE hall = %s AND name = 'day_opened' "
              "AND day > %s")
_COLUMNS = "seq, day, at, name, data, device, actor, command_id, command_hash, recorded_at"
_ROWS = ("SELECT " + _COLUMNS + " FROM {s}.events WHERE hall = %s AND seq BETWEEN %s AND %s "
         "ORDER BY seq")
_LATER = ("SELECT " + _COLUMNS + " FROM {s}.events WHERE hall = %s AND seq > %s AND "
          "(name = 'case_updated' OR seq = (SELECT max(seq) FROM {s}.events WHERE hall = %s))")
_CHUNK = 5000


def options(p: argparse.ArgumentParser) -> None:
    """The report's options for the central store (added to ``onewindow report``)."""
    p.add_argument("--central", metavar="URL", help="instead of --db: the central "
                   "PostgreSQL the halls ship to (docs/central.md); one report per hall")
    p.add_argument("--hall-id", metavar="ID", help="with --central: only this hall")
    p.add_argument("--central-schema", default=SCHEMA, metavar="NAME",
                   help=f"with --central: the central schema (default {SCHEMA})")


class _TicketsOnly(Projector):
    """The store's projection of ``tickets``; the ``windows`` table (which no report
    reads) is left alone, half the projection's work."""

    def window(self, window_id: str, **values: Any) -> None:
        pass

    def release(self, ticket_id: str) -> None:
        pass


def scratch_store(central: sa.Connection, schema: str, hall_id: str, period: Period
                  ) -> sa.Engine:
    """An in-memory store holding what the report reads of one hall's log: the
    period's events, projected (lo..hi as in ``logread.bounds``), and after them only
    the ``case_updated`` events (a case closes later) and the log's last event (the
    report's "now"), not projected."""
    engine = sa.create_engine("sqlite://", poolclass=StaticPool)
    metadata.create_all(engine)
    days = (period.start.isoformat(), period.end.isoformat())
    lo = central.exec_driver_sql(_FIRST_OPEN.format(s=schema), (hall_id, *days)).scalar()
    if lo is None:
        return engine
    after = central.exec_driver_sql(_NEXT_OPEN.format(s=schema), (hall_id, days[1])).scalar()
    hi = sys.maxsize if after is None else after - 1
    rows = central.execution_options(stream_results=True).exec_driver_sql(
        _ROWS.format(s=schema), (hall_id, lo, hi))
    with engine.begin() as conn:
        projector = _TicketsOnly(conn, lo, None, {})
        while chunk := rows.fetchmany(_CHUNK):
            conn.execute(events.insert(), [dict(r._mapping) for r in chunk])
            for r in chunk:
                projector.project(r.seq, event_from_dict(json.loads(r.data)))
        if after is not None:
            later = central.exec_driver_sql(_LATER.format(s=schema), (hall_id, hi, hall_id))
            conn.execute(events.insert(), [dict(r._mapping) for r in later])
    return engine


def hall_ids(conn: sa.Connection, schema: str) -> list[str]:
    return list(conn.exec_driver_sql(f"SELECT id FROM {schema}.halls ORDER BY id").scalars())


def build_central(engine: sa.Engine, schema: str, hall: Hall, period: Period,
                  only: str | None = None) -> dict[str, Report]:
    """Each hall's report (``only``: that hall's), by hall id."""
    reports: dict[str, Report] = {}
    with engine.connect() as conn, conn.begin():
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        ids = [only] if only else hall_ids(conn, schema)
        for hall_id in ids:
            scratch = scratch_store(conn, schema, hall_id, period)
            try:
                reports[hall_id] = build_report(scratch, hall, period)
            finally:
                scratch.dispose()
    return reports


def run_central(args: argparse.Namespace, write: Callable[[Report, str, str | None], None],
                fail: Callable[[str], int]) -> int:
    """``onewindow report --central``: checked like --db, written like it."""
    problem = schema_problem(args.central_schema) or (
        hall_problem(args.hall_id) if args.hall_id else None)
    if problem:
        return fail(problem)
    if args.format in ("xlsx", "html") and not args.hall_id:
        return fail(f"--format {args.format} makes one hall's report: add --hall-id ID")
    try:
        engine = sa.create_engine(args.central)
    except (sa.exc.ArgumentError, ImportError):
        return fail(f"--central {args.central}: not a PostgreSQL URL; expected "
                    "postgresql+psycopg://USER@HOST:PORT/DATABASE")
    try:
        if engine.dialect.name != "postgresql":
            return fail(f"--central {args.central}: the central store is PostgreSQL")
        if not is_initialised(engine, args.central_schema):
            return fail(f"--central: no central schema {args.central_schema} there "
                        "(onewindow central --init makes it)")
        with engine.connect() as conn:
            known = hall_ids(conn, args.central_schema)
        if args.hall_id and args.hall_id not in known:
            return fail(f"--hall-id {args.hall_id}: no such hall at the centre "
                        f"(halls: {', '.join(known) or 'none'})")
        period = Period(args.start, args.end, args.by)
        reports = build_central(engine, args.central_schema, load_hall(args.hall), period,
                                args.hall_id)
    except sa.exc.SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return fail(f"--central: reading the central store failed: "
                    f"{str(cause).strip().splitlines()[0]}")
    finally:
        engine.dispose()
    return _write_all(reports, args, write, fail)


def _write_all(reports: dict[str, Report], args: argparse.Namespace,
               write: Callable[[Report, str, str | None], None],
               fail: Callable[[str], int]) -> int:
    if args.hall_id:
        try:
            write(reports[args.hall_id], args.format, args.out)
        except OSError as exc:
            return fail(f"--out {args.out}: cannot write it: {exc.strerror or exc}")
        return 0
    from ..reports.text import to_csv, to_text

    parts = []
    for hall_id, report in reports.items():
        body = to_csv(report) if args.format == "csv" else to_text(report) + "\n"
        parts.append(f"# hall {hall_id}\n{body}")
    text = "\n".join(parts)
    try:
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    except OSError as exc:
        return fail(f"--out {args.out}: cannot write it: {exc.strerror or exc}")
    return 0
