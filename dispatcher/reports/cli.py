"""``onewindow report``: the hall's figures for a period, from the store, as text, CSV,
Excel or HTML. Every mistake is one line on stderr and exit code 2."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from ..hall import SAMPLE_HALL, load_hall
from .figures import Report, build_report
from .period import BY, Period

FORMATS = ("text", "csv", "xlsx", "html")
MAX_DAYS = 3 * 366


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="统计报表: the hall's figures for a period, read from "
                       "the store (text, csv, xlsx, html)")
    p.add_argument("--db", help="the store's database URL (sqlite:///FILE or "
                   "postgresql+psycopg://USER@HOST/DB); or --central")
    p.add_argument("--from", dest="start", required=True, type=_date, metavar="DATE",
                   help="first business day, YYYY-MM-DD")
    p.add_argument("--to", dest="end", required=True, type=_date, metavar="DATE",
                   help="last business day, YYYY-MM-DD (included)")
    p.add_argument("--by", choices=BY, default="month", help="one column group per day, "
                   "ISO week or month (default month)")
    p.add_argument("--format", choices=FORMATS, default="text")
    p.add_argument("--out", metavar="FILE", help="write here (needed for xlsx; default: "
                   "standard output)")
    p.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file: names, targets")
    p.set_defaults(handler=run)
    from ..central.report import options as central_options

    central_options(p)  # --central URL [--hall-id ID]: the halls' logs at the centre


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date like 2026-11-23 "
                                         "(YYYY-MM-DD)") from None


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _engine(url: str) -> sa.Engine:
    """An engine on an existing store; ValueError (one line) otherwise. Never creates."""
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ValueError(f"--db {url}: not a database URL; expected sqlite:///FILE or "
                         "postgresql+psycopg://USER@HOST:PORT/DATABASE") from None
    shown = parsed.render_as_string(hide_password=True)
    lite = parsed.get_backend_name() == "sqlite"
    if lite and not (parsed.database and Path(parsed.database).is_file()):
        raise ValueError(f"--db {shown}: no such database file")
    try:
        engine = sa.create_engine(parsed)
        tables = set(sa.inspect(engine).get_table_names())
    except (sa.exc.SQLAlchemyError, ImportError) as exc:
        cause = getattr(exc, "orig", None) or exc
        first = next((line.strip() for line in str(cause).splitlines() if line.strip()),
                     type(cause).__name__)
        raise ValueError(f"--db {shown}: cannot open it: {first}") from None
    if not {"events", "tickets"} <= tables:
        engine.dispose()
        raise ValueError(f"--db {shown}: not a OneWindow store (no events and tickets tables)")
    return engine


def run(args: argparse.Namespace) -> int:
    if args.end < args.start:
        return _fail(f"--to {args.end} is before --from {args.start}")
    if (args.end - args.start).days >= MAX_DAYS:
        return _fail(f"--from {args.start} --to {args.end}: at most {MAX_DAYS} days a report")
    if args.format == "xlsx" and not args.out:
        return _fail("--format xlsx needs --out FILE.xlsx (a workbook is not text)")
    if bool(args.db) == bool(args.central):
        return _fail("give the store as --db URL or the central store as --central URL")
    if args.central:
        from ..central.report import run_central

        return run_central(args, _write, _fail)
    hall = load_hall(args.hall)
    try:
        engine = _engine(args.db)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        report = build_report(engine, hall, Period(args.start, args.end, args.by))
    except sa.exc.SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        return _fail(f"--db: reading the store failed: {str(cause).splitlines()[0]}")
    finally:
        engine.dispose()
    try:
        _write(report, args.format, args.out)
    except OSError as exc:
        return _fail(f"--out {args.out}: cannot write it: {exc.strerror or exc}")
    return 0


def _write(report: Report, fmt: str, out: str | None) -> None:
    if fmt == "xlsx":
        from .excel import write_xlsx

        assert out is not None
        write_xlsx(report, out)
        return
    if fmt == "html":
        from .html import to_html

        text = to_html(report)
    else:
        from .text import to_csv, to_text

        text = to_csv(report) if fmt == "csv" else to_text(report) + "\n"
    if out:
        with open(out, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
