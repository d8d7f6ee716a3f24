"""The `onewindow` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from .hall import SAMPLE_HALL, HallConfigError, load_hall

Handler = Callable[[argparse.Namespace], int]


def _check(args: argparse.Namespace) -> int:
    hall = load_hall(args.hall)
    print(f"{args.hall}: ok — {hall.name}: {len(hall.zones)} zones, {len(hall.queues)} queues, "
          f"{len(hall.windows)} windows")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import DemoOptions, run_demo

    hall = load_hall(args.hall)
    url = args.db
    if url is None:  # the demo's own embedded database, started afresh each run
        path = Path(args.data) / "demo.db"
        path.parent.mkdir(parents=True, exist_ok=True)
        for stale in path.parent.glob("demo.db*"):
            stale.unlink()
        url = f"sqlite:///{path}"
    opts = DemoOptions(minutes=args.minutes, speed=args.speed, load=args.load, seed=args.seed)
    print(f"OneWindow demo: {hall.name} ({hall.name_en}), store {url}")
    run_demo(hall, url, opts)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from .hub import load_devices
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
    url = args.db or f"sqlite:///{Path(args.data) / 'hall.db'}"
    return run_hub(hall, devices, url, args.host, args.port, HallClock(start_at, args.speed),
                   rate_limit=args.rate_limit, people=people)


def _rate_limit(text: str) -> tuple[float, float] | None:
    rate, _, burst = text.partition(":")
    try:
        values = float(rate), float(burst or max(float(rate) * 3, 1))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected RATE or RATE:BURST, "
                                         "like 20:60") from None
    if values[0] < 0 or values[1] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the rate must be >= 0, the burst >= 1")
    return None if values[0] == 0 else values


def _token(args: argparse.Namespace) -> int:
    from .hub import hash_token, new_token

    token = new_token()
    print(f"# give this token to device {args.device} (it is shown once, keep it secret):")
    print(f"# {token}")
    print("# and put this line in the device's [[device]] entry:")
    print(f'token_sha256 = "{hash_token(token)}"')
    return 0


def _protocol_schema(args: argparse.Namespace) -> int:
    import json

    from .hub.schema import protocol_schema

    print(json.dumps(protocol_schema(), ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onewindow", description="OneWindow (一窗通): "
                                     "queue numbers and window dispatch for a service hall")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    check = sub.add_parser("check", help="validate a hall file")
    check.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    check.set_defaults(handler=_check)

    demo = sub.add_parser("demo", help="play a morning in the sample hall through the core "
                          "and the store, printing each call")
    demo.add_argument("--hall", default=str(SAMPLE_HALL), help="hall TOML file")
    demo.add_argument("--db", help="database URL (default: a fresh SQLite file in --data)")
    demo.add_argument("--data", default="data", help="data directory for the SQLite file")
    demo.add_argument("--minutes", type=float, default=60, help="hall minutes of arrivals")
    demo.add_argument("--speed", type=float, default=120,
                      help="hall seconds per real second (0: as fast as possible)")
    demo.add_argument("--load", type=float, default=1.0, help="arrivals / window capacity")
    demo.add_argument("--seed", type=int, default=7)
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
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    serve.add_argument("--start-at", help="training/test clock: start at this hall time, "
                       "e.g. '2026-11-23 09:30'")
    serve.add_argument("--speed", type=float, default=1.0,
                       help="with --start-at: hall seconds per real second")
    serve.add_argument("--rate-limit", type=_rate_limit, default=(20.0, 60.0),
                       metavar="RATE[:BURST]", help="messages a second per connection "
                       "(default 20:60); 0 turns it off, for benchmarks")
    serve.set_defaults(handler=_serve)

    schema = sub.add_parser("protocol-schema", help="print the JSON Schema of the messages "
                            "a device may send the hub, and of each command's arguments")
    schema.set_defaults(handler=_protocol_schema)

    token = sub.add_parser("token", help="make a device token and its hash line")
    token.add_argument("--device", required=True)
    token.set_defaults(handler=_token)

    from printers.cli import register as register_printer_commands

    register_printer_commands(sub)  # printer-sim, print-sample, render-ticket, printer-status

    from display.led_bridge import register as register_led_commands

    register_led_commands(sub)  # led-bridge

    from caller.keypad_bridge import register as register_keypad_command

    register_keypad_command(sub)  # keypad-bridge: caller keypads on an RS-485 bus

    from display.cli import register as register_display_command

    register_display_command(sub)  # display: the lobby wall

    from kiosk.cli import register as register_kiosk_command

    register_kiosk_command(sub)  # kiosk: the touchscreen 取号机

    from caller.cli import register as register_caller_command

    register_caller_command(sub)  # caller: the window clerk's 叫号 panel

    from .simulator.cli import register as register_simulate_command

    register_simulate_command(sub)  # simulate: a day of the hall on a virtual clock
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except HallConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
