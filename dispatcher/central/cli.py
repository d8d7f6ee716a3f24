"""``onewindow central`` (the centre: --init, --add-hall, serve the supervision view)
and ``onewindow ship`` (beside each hall's hub). Every mistake: one ``error:`` line on
stderr and exit 2."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import sqlalchemy as sa

from ..client.tls import CA_HELP, settings_problem
from ..hall import SAMPLE_HALL, Hall, load_hall
from ..hub.devices import hash_token, new_token
from .schema import SCHEMA, add_hall, hall_problem, init, is_initialised, schema_problem


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def register(sub: argparse._SubParsersAction) -> None:
    c = sub.add_parser("central", help="the city's central store: --init, --add-hall, or "
                       "serve the supervision view of every hall")
    c.add_argument("--db", required=True, metavar="URL",
                   help="the central PostgreSQL, postgresql+psycopg://USER@HOST:PORT/DB")
    c.add_argument("--schema", default=SCHEMA, help=f"its schema (default {SCHEMA})")
    what = c.add_mutually_exclusive_group()
    what.add_argument("--init", action="store_true", help="create or migrate the schema "
                      "and exit")
    what.add_argument("--add-hall", metavar="ID", help="register a hall: its fresh "
                      "credential goes to --credential FILE (the centre keeps its hash)")
    c.add_argument("--credential", metavar="FILE", help="with --add-hall: where to write "
                   "the hall's credential (must not exist)")
    c.add_argument("--devices", metavar="FILE", help="serving: the supervision devices "
                   "file (role = \"supervision\", token hashes from `onewindow token`)")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, default=8766)
    c.add_argument("--every", type=float, default=5.0, help="seconds between pushed views")
    c.add_argument("--hall-file", action="append", default=[], metavar="ID=TOML",
                   help="a hall's TOML file (repeat per hall; others use the sample hall)")
    c.set_defaults(handler=run_central)

    s = sub.add_parser("ship", help="ship this hall's event log to the central store "
                       "(runs beside the hub; only reads the hall's store)")
    s.add_argument("--db", required=True, metavar="HALL_URL", help="the hall's store")
    s.add_argument("--central", required=True, metavar="URL", help="the central PostgreSQL")
    s.add_argument("--hall", required=True, metavar="ID", help="this hall's id at the centre")
    s.add_argument("--credential", required=True, metavar="FILE",
                   help="the file `onewindow central --add-hall` wrote")
    s.add_argument("--schema", default=SCHEMA)
    s.add_argument("--batch", type=int, default=500, help="rows a batch, at most (1-10000)")
    s.add_argument("--poll", type=float, default=0.5, help="seconds between looks when "
                   "caught up")
    s.add_argument("--backoff-max", type=float, default=30.0,
                   help="longest wait between retries while the centre is unreachable")
    s.set_defaults(handler=run_ship)

    v = sub.add_parser("supervise", help="the city's supervision screen (电子监察): every "
                       "hall live from `onewindow central`")
    v.add_argument("--server", required=True, metavar="URL",
                   help="onewindow central, wss://host:8766 (ws:// only to this machine)")
    v.add_argument("--ca", metavar="FILE", help=CA_HELP)
    v.add_argument("--device", default="S-CITY", help="this screen's device id, listed "
                   "with role \"supervision\" in the centre's --devices file")
    v.add_argument("--token", default=os.environ.get("ONEWINDOW_TOKEN", ""),
                   help="the device token (default $ONEWINDOW_TOKEN)")
    v.add_argument("--every", type=float, default=5.0, help="seconds between fresh views")
    v.add_argument("--stale-after", type=float, default=60.0, metavar="SECONDS",
                   help="a hall's shipping is red when the centre has not heard from it, "
                   "or is this far behind it (default 60)")
    v.add_argument("--fullscreen", action="store_true", help="fill the screen")
    v.add_argument("--screenshot", metavar="PNG", help="render the screen (1600x900) once "
                   "the first view is in, write it to PNG, then exit")
    v.set_defaults(handler=run_supervise)


def _engine(url: str, flag: str = "--db") -> sa.Engine:
    try:
        engine = sa.create_engine(url, pool_pre_ping=True)
    except (sa.exc.ArgumentError, ImportError):
        raise ValueError(f"{flag} {url}: not a database URL; expected "
                         "postgresql+psycopg://USER@HOST:PORT/DATABASE") from None
    if engine.dialect.name != "postgresql":
        raise ValueError(f"{flag} {url}: the central store is PostgreSQL")
    return engine


def _one_line(exc: Exception) -> str:
    cause = getattr(exc, "orig", None) or exc
    return next((ln.strip() for ln in str(cause).splitlines() if ln.strip()),
                type(cause).__name__)


def run_central(args: argparse.Namespace) -> int:
    if problem := schema_problem(args.schema):
        return _fail(problem)
    try:
        engine = _engine(args.db)
    except ValueError as exc:
        return _fail(str(exc))
    try:
        if args.init:
            init(engine, args.schema)
            print(f"central schema {args.schema} ready")
            return 0
        if not is_initialised(engine, args.schema):
            return _fail(f"--db: no central schema {args.schema} there; run "
                         "`onewindow central --db URL --init` first")
        if args.add_hall:
            return _add_hall(engine, args)
        return _serve(engine, args)
    except sa.exc.SQLAlchemyError as exc:
        return _fail(f"--db: {_one_line(exc)}")
    finally:
        engine.dispose()


def _add_hall(engine: sa.Engine, args: argparse.Namespace) -> int:
    if problem := hall_problem(args.add_hall):
        return _fail(f"--add-hall: {problem}")
    if not args.credential:
        return _fail("--add-hall needs --credential FILE to write the hall's secret to")
    path = Path(args.credential)
    secret = new_token()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        return _fail(f"--credential {path}: cannot create it: {exc.strerror}")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
    try:
        add_hall(engine, args.schema, args.add_hall, hash_token(secret))
    except ValueError as exc:
        path.unlink()
        return _fail(f"--add-hall: {exc}")
    print(f"hall {args.add_hall} registered; its credential is in {path} "
          "(give it to the hall's shipper only)")
    return 0


def _hall_files(specs: list[str]) -> dict[str, Hall]:
    halls = {}
    for spec in specs:
        hall_id, sep, path = spec.partition("=")
        if not sep or not path:
            raise ValueError(f"--hall-file {spec}: expected ID=FILE.toml")
        halls[hall_id] = load_hall(path)
    return halls


def _serve(engine: sa.Engine, args: argparse.Namespace) -> int:
    from .server import CentralServer, load_supervisors
    from .views import Supervision

    if not args.devices:
        return _fail("serving needs --devices FILE (who may see the supervision view)")
    if args.every <= 0:
        return _fail(f"--every {args.every}: must be more than 0 seconds")
    try:
        halls = _hall_files(args.hall_file)
    except ValueError as exc:
        return _fail(str(exc))
    server = CentralServer(Supervision(engine, args.schema, halls, load_hall(SAMPLE_HALL)),
                           load_supervisors(args.devices), args.every)
    try:
        asyncio.run(server.serve(args.host, args.port))
    except OSError as exc:
        return _fail(f"--port {args.port}: cannot listen there: {exc.strerror or exc}")
    return 0


def run_ship(args: argparse.Namespace) -> int:
    from .shipper import Settings, Shipper

    problem = schema_problem(args.schema) or hall_problem(args.hall)
    if problem:
        return _fail(problem)
    if not 1 <= args.batch <= 10000:
        return _fail(f"--batch {args.batch}: between 1 and 10000 rows")
    if args.poll <= 0 or args.backoff_max <= 0:
        return _fail("--poll and --backoff-max must be more than 0 seconds")
    try:
        credential = Path(args.credential).read_text(encoding="utf-8").strip()
    except OSError as exc:
        return _fail(f"--credential {args.credential}: cannot read it: {exc.strerror}")
    if not credential:
        return _fail(f"--credential {args.credential}: the file is empty")
    try:
        _engine(args.central, "--central").dispose()
        hall_url = sa.make_url(args.db)
    except ValueError as exc:
        return _fail(str(exc))
    except sa.exc.ArgumentError:
        return _fail(f"--db {args.db}: not a database URL; expected sqlite:///FILE or "
                     "postgresql+psycopg://USER@HOST:PORT/DATABASE")
    if hall_url.get_backend_name() == "sqlite" and not (
            hall_url.database and Path(hall_url.database).is_file()):
        return _fail(f"--db {args.db}: no such database file (start the hall's hub first)")
    shipper = Shipper(Settings(args.db, args.central, args.hall, credential, args.schema,
                               args.batch, args.poll, backoff_max=args.backoff_max))
    signal.signal(signal.SIGTERM, lambda *_: shipper.stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        try:
            return shipper.run()
        finally:
            shipper.close()
    return 130


def run_supervise(args: argparse.Namespace) -> int:
    problem = settings_problem(args.server, args.ca)
    if problem:
        return _fail(problem)
    if not args.token:
        return _fail("--token (or $ONEWINDOW_TOKEN): the screen's device token is needed")
    if args.every <= 0 or args.stale_after <= 0:
        return _fail("--every and --stale-after must be more than 0 seconds")
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from ..client.qt import run_app
    from .screen import SupervisionClient, SupervisionScreen

    app = QApplication.instance() or QApplication(sys.argv[:1])
    hub = SupervisionClient(args.server, args.device, args.token, ca=args.ca)
    screen = SupervisionScreen(hub, every=args.every, stale_after=args.stale_after)
    if args.screenshot:     # no one to read the screen's red line: say it and stop
        hub.statusChanged.connect(lambda status: status == "refused" and (
            print(f"error: the centre refused device {args.device} (wrong device id, role "
                  "or token)", file=sys.stderr), app.exit(2)))
    return run_app(app, hub, screen, size=(1600, 900), screenshot=args.screenshot,
                   shots=lambda path: [screen.screenshot(path)],
                   fullscreen=args.fullscreen, settle_ms=300)
