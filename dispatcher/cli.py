"""The `onewindow` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import math
import os
import ssl
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from .argtypes import count, number, port
from .hall import SAMPLE_HALL, HallConfigError, load_hall

Handler = Callable[[argparse.Namespace], int]
SIGPIPE_EXIT = 141   # what a shell reports for a command whose reader went away


class _Parser(argparse.ArgumentParser):
    """Every mistake on the command line is one line on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def _folder_problem(flag: str, folder: str) -> str | None:
    """Why ``folder`` cannot hold the SQLite file, or None once it exists."""
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{flag} {folder}: a file is in the way, not a folder"
    except OSError as exc:
        return f"{flag} {folder}: cannot create the folder: {exc.strerror or exc}"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{flag} {folder}: the folder is not writable"
    return None


def _check(args: argparse.Namespace) -> int:
    hall = load_hall(args.hall)
    print(f"{args.hall}: ok — {hall.name}: {len(hall.zones)} zones, {len(hall.queues)} queues, "
          f"{len(hall.windows)} windows")
    return 0


def _demo(args: argparse.Namespace) -> int:
    if not args.core:
        return _live_demo(args)
    from .demo import DemoOptions, run_demo
    from .store import StoreOpenError

    hall = load_hall(args.hall)
    url = args.db
    if url is None:  # the core demo's own embedded database, started afresh each run
        problem = _folder_problem("--data", args.data)
        if problem:
            return _fail(problem)
        path = Path(args.data) / "demo.db"
        for stale in path.parent.glob("demo.db*"):
            stale.unlink()
        url = f"sqlite:///{path}"
    opts = DemoOptions(minutes=60 if args.minutes is None else args.minutes,
                       speed=120 if args.speed is None else args.speed,
                       load=1.0 if args.load is None else args.load, seed=args.seed)
    print(f"OneWindow demo: {hall.name} ({hall.name_en}), store {url}")
    try:
        run_demo(hall, url, opts)
    except StoreOpenError as exc:
        return _fail(str(exc))
    return 0


def _live_demo(args: argparse.Namespace) -> int:
    from .livedemo.run import LiveOptions, run_live

    hall = load_hall(args.hall)
    if args.db is not None:    # checked (and created) here: one line, not a dead hub
        from .store import EventStore, StoreOpenError

        try:
            EventStore.open(args.db).close()
        except StoreOpenError as exc:
            return _fail(str(exc))
    if args.speed == 0:
        return _fail("--speed 0: the live hall needs a clock that runs (0 is for --core)")
    problem = _folder_problem("--data", args.data)
    if problem:
        return _fail(problem)
    headless = args.headless or not (os.environ.get("DISPLAY")
                                      or os.environ.get("WAYLAND_DISPLAY"))
    minutes = args.minutes if args.minutes is not None else (3.0 if headless else None)
    opts = LiveOptions(hall_file=args.hall, data=Path(args.data).resolve() / "demo-hall",
                       headless=headless, minutes=minutes,
                       speed=10.0 if args.speed is None else args.speed,
                       load=0.85 if args.load is None else args.load, seed=args.seed,
                       port=args.port, db=args.db,
                       screenshot=Path(args.screenshot).resolve() if args.screenshot else None)
    return run_live(hall, opts)


def _serve(args: argparse.Namespace) -> int:
    from .hub import load_devices
    from .hub.credentials import CredentialFiles
    from .hub.guard import Limits
    from .hub.people import People
    from .hub.run import HallClock, parse_start_at, run_hub

    hall = load_hall(args.hall)
    if args.devices is None:
        print("error: serve needs --devices FILE, the hall's devices and their token hashes; "
              "make each device's line with: onewindow token --device ID", file=sys.stderr)
        return 2
    devices = load_devices(args.devices, hall)
    people = People.load(args.clerks) if args.clerks else None
    try:
        start_at = parse_start_at(args.start_at, hall) if args.start_at else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        tls = _tls_context(args.tls_cert, args.tls_key)
    except ValueError as exc:
        return _fail(str(exc))
    problem = None if args.db else _folder_problem("--data", args.data)
    if problem:
        return _fail(problem)
    url = args.db or f"sqlite:///{Path(args.data) / 'hall.db'}"
    from .hub.identity import Identity, IdentityError, load_secret

    try:
        identity = Identity(load_secret(args.id_secret, args.data))
    except IdentityError as exc:
        return _fail(str(exc))
    return run_hub(hall, devices, url, args.host, args.port, HallClock(start_at, args.speed),
                   rate_limit=args.rate_limit, people=people,
                   files=CredentialFiles(args.devices, args.clerks), tls=tls,
                   limits=Limits(args.max_per_address, args.max_connections,
                                 args.welcome_rate), balance_every=args.balance_every,
                   identity=identity)


def _tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ValueError("--tls-cert and --tls-key go together: give both to serve wss://, "
                         "or neither for plain ws://")
    from .hub.tls import server_context

    return server_context(cert, key)


def _rate_limit(text: str) -> tuple[float, float] | None:
    rate, _, burst = text.partition(":")
    try:
        values = float(rate), float(burst or max(float(rate) * 3, 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected RATE or RATE:BURST, "
                                         "like 20:60") from None
    if not all(map(math.isfinite, values)) or values[0] < 0 or values[1] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the rate must be >= 0, the burst >= 1")
    return None if values[0] == 0 else values


def _token(args: argparse.Namespace) -> int:
    from .hub.devices import device_id_problem, hash_token, new_token

    if args.devices is not None:
        from .hub.provision import provision_command

        return provision_command(args)
    problem = device_id_problem(args.device)
    if problem:
        print(f"error: token --device: {problem}", file=sys.stderr)
        return 2
    token = new_token()
    print(f"# give this token to device {args.device} (it is shown once, keep it secret):")
    print(f"# {token}")
    print("# and put this line in the device's [[device]] entry:")
    print(f'token_hash = "{hash_token(token)}"')
    return 0


def _protocol_schema(args: argparse.Namespace) -> int:
    import json

    from .hub.schema import protocol_schema

    print(json.dumps(protocol_schema(), ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="onewindow", description="OneWindow (一窗通): "
                                     "queue numbers and window dispatch for a service hall")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = sub.add_parser("check", help="validate a hall file")
    check.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    check.set_defaults(handler=_check)

    demo = sub.add_parser("demo", help="the sample hall live: the hub and every device as "
                          "its own process, with simulated citizens and clerks")
    demo.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    demo.add_argument("--data", default="data", help="data directory: the live demo keeps "
                      "its store, credentials and clock in DATA/demo-hall (a second start "
                      "goes on with the day)")
    demo.add_argument("--headless", action="store_true", help="no windows (offscreen), end "
                      "after --minutes with a checked summary; the default without a screen")
    demo.add_argument("--minutes", type=number(0, strict=True), help="live: real minutes to "
                      "run (headless default 3; with a screen: until Ctrl-C); --core: hall "
                      "minutes of arrivals (default 60)")
    demo.add_argument("--speed", type=number(0), help="hall seconds per real second (live "
                      "default 10; --core default 120, 0: as fast as possible)")
    demo.add_argument("--load", type=number(0, strict=True),
                      help="arrivals / window capacity (live default 0.85, --core 1.0)")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--port", type=port, default=0, help="live: the hub's port (default: "
                      "a free one)")
    demo.add_argument("--screenshot", metavar="PNG", help="live: before stopping, grab every "
                      "app's window into one picture")
    demo.add_argument("--core", action="store_true", help="the old text demo instead: a "
                      "morning through the core and the store in this process, a log of calls")
    demo.add_argument("--db", help="database URL (default: SQLite in --data; with --core a "
                      "fresh file each run)")
    demo.set_defaults(handler=_demo)

    serve = sub.add_parser("serve", help="run the hub: the websockets server every device "
                           "talks to")
    serve.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    serve.add_argument("--devices", help="devices TOML file (ids, roles, token hashes); "
                       "required: make each line with `onewindow token`")
    serve.add_argument("--clerks", help="clerks and staff TOML file (ids, names, PIN hashes); "
                       "without it nobody can sign in")
    serve.add_argument("--db", help="database URL (default: sqlite in --data)")
    serve.add_argument("--data", default="data", help="data directory for the SQLite file")
    serve.add_argument("--id-secret", metavar="FILE", help="the hall's secret that ID "
                       "card numbers are hashed with (default $ONEWINDOW_ID_SECRET, else "
                       "--data/id-secret, made on the first start; docs/security.md)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port, default=8765, help="0 picks a free port")
    serve.add_argument("--tls-cert", metavar="FILE", help="the hub's certificate (PEM, "
                       "with any intermediates): serve wss:// (docs/security.md)")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's private key "
                       "(PEM, unencrypted; readable by the hub's user only)")
    serve.add_argument("--start-at", help="training/test clock: start at this hall time, "
                       "e.g. '2026-11-23 09:30'")
    serve.add_argument("--speed", type=number(0, strict=True), default=1.0,
                       help="with --start-at: hall seconds per real second")
    serve.add_argument("--rate-limit", type=_rate_limit, default=(20.0, 60.0),
                       metavar="RATE[:BURST]", help="tokens a second per connection, and "
                       "the burst (default 20:60; a call costs 1, a snapshot 10 and more: "
                       "docs/protocol.md); 0 turns it off, for benchmarks")
    serve.add_argument("--max-per-address", type=count(1), default=32, metavar="N",
                       help="open websockets from one remote address (default 32); more "
                       "get HTTP 503")
    serve.add_argument("--max-connections", type=count(1), default=2500, metavar="N",
                       help="open websockets in all (default 2500); more get HTTP 503")
    serve.add_argument("--welcome-rate", type=_rate_limit, default=(10.0, 60.0),
                       metavar="RATE[:BURST]", help="welcomes a second per remote address, "
                       "and the burst (default 10:60); beyond it a hello waits its turn, so "
                       "a client reconnecting in a loop cannot have snapshots for free; 0 "
                       "turns it off, for benchmarks")
    serve.add_argument("--balance-every", type=number(1), default=30.0, metavar="SECONDS",
                       help="seconds between the hub's balancing rounds: suggest window "
                       "moves, make them in automatic zones (default 30; docs/dispatch.md)")
    serve.set_defaults(handler=_serve)

    schema = sub.add_parser("protocol-schema", help="print the JSON Schema of the messages "
                            "a device may send the hub, and of each command's arguments")
    schema.set_defaults(handler=_protocol_schema)

    token = sub.add_parser("token", help="make a device token and its hash line, or "
                           "tokens for a range of devices (--devices)")
    which = token.add_mutually_exclusive_group(required=True)
    which.add_argument("--device", help="one device: prints its token and hash line")
    which.add_argument("--devices", metavar="FIRST..LAST", help="a range such as "
                       "C-B01..C-B40: prints a [[devices]] entry, tokens go to --tokens")
    token.add_argument("--role", help="with --devices: kiosk, caller, evaluator, display, "
                       "led or console")
    token.add_argument("--windows", help="with --devices: B01..B40 gives one window to "
                       "each device in order; B01,B02 gives all of them both")
    token.add_argument("--zone", help="with --devices: the zone of kiosks or displays")
    token.add_argument("--name", default="", help="with --devices: a name, {id} "
                       "replaced by each device's id")
    token.add_argument("--tokens", metavar="FILE", help="with --devices: a new file "
                       "(mode 0600, never overwritten) for the installer: id = token")
    token.set_defaults(handler=_token)

    from printers.cli import register as register_printer_commands

    register_printer_commands(sub)  # printer-sim, print-sample, render-ticket, printer-status

    from display.led_bridge import register as register_led_commands

    register_led_commands(sub)  # led-bridge

    from caller.keypad_bridge import register as register_keypad_command

    register_keypad_command(sub)  # keypad-bridge: caller keypads on an RS-485 bus

    from display.cli import register as register_display_command

    register_display_command(sub)  # display: the lobby wall

    from display.voice_cli import register as register_voice_check

    register_voice_check(sub)  # voice-check: a voice clip pack, complete and heard right

    from kiosk.cli import register as register_kiosk_command

    register_kiosk_command(sub)  # kiosk: the touchscreen 取号机

    from caller.cli import register as register_caller_command

    register_caller_command(sub)  # caller: the window clerk's 叫号 panel

    from .console.cli import register as register_console_command

    register_console_command(sub)  # console: the 窗口调度岗's 调度台

    from .simulator.cli import register as register_simulate_command

    register_simulate_command(sub)  # simulate: a day of the hall on a virtual clock

    from .reports.cli import register as register_report_command

    register_report_command(sub)  # report: 统计报表 from the store

    from .backup import register as register_backup_commands

    register_backup_commands(sub)  # backup, restore: the SQLite store, while the hub runs

    from .central.cli import register as register_central_commands

    register_central_commands(sub)  # central, ship: many halls' logs in one PostgreSQL
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        code = handler(args)
        sys.stdout.flush()
    except HallConfigError as exc:
        return _fail(str(exc))
    except BrokenPipeError:   # `onewindow protocol-schema | head -1`
        _stdout_to_devnull()
        return SIGPIPE_EXIT
    except KeyboardInterrupt:
        return 130
    return code


def _stdout_to_devnull() -> None:
    """The reader of our stdout is gone: send what is still buffered nowhere, so the
    flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
