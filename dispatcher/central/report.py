"""``onewindow report --central URL [--hall-id ID]``: the hall reports from the central log.

The report's SQL (dispatcher/reports) reads one hall's store: its ``events`` and the
``tickets`` projection. For each hall, one session at the centre gets a temporary
``events`` view of that hall's partitions and a temporary ``tickets`` table projected
from them in SQL (``projection.py``); then the unchanged ``build_report`` runs there,
in PostgreSQL, as it runs on a hall's own PostgreSQL store. The figures come from the
same report code as the hall's; the projection is held to the store's own by
``tests/test_central_report.py`` and the report to the hall's own by
``tests/test_central.py`` (docs/central.md).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.pool import StaticPool

from ..hall import Hall, load_hall
from ..reports.figures import Report, build_report
from ..reports.period import Period
from .projection import stage
from .schema import SCHEMA, hall_problem, is_initialised, schema_problem


def options(p: argparse.ArgumentParser) -> None:
    """The report's options for the central store (added to ``onewindow report``)."""
    p.add_argument("--central", metavar="URL", help="instead of --db: the central "
                   "PostgreSQL the halls ship to (docs/central.md); one report per hall")
    p.add_argument("--hall-id", metavar="ID", help="with --central: only this hall")
    p.add_argument("--central-schema", default=SCHEMA, metavar="NAME",
                   help=f"with --central: the central schema (default {SCHEMA})")


def hall_ids(conn: sa.Connection, schema: str) -> list[str]:
    return list(conn.exec_driver_sql(f"SELECT id FROM {schema}.halls ORDER BY id").scalars())


def hall_report(url: sa.URL, schema: str, hall_id: str, hall: Hall, period: Period
                ) -> Report:
    """One hall's report, built in one session at the centre (its temporary objects
    live as long as the session: an engine of one connection)."""
    session = sa.create_engine(url, poolclass=StaticPool)
    try:
        with session.begin() as conn:
            stage(conn, schema, hall_id, period)
        return build_report(session, hall, period)
    finally:
        session.dispose()


def build_central(engine: sa.Engine, schema: str, hall: Hall, period: Period,
                  only: str | None = None) -> dict[str, Report]:
    """Each hall's report (``only``: that hall's), by hall id."""
    with engine.connect() as conn:
        ids = [only] if only else hall_ids(conn, schema)
    return {hall_id: hall_report(engine.url, schema, hall_id, hall, period)
            for hall_id in ids}


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
