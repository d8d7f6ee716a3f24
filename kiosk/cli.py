"""`onewindow kiosk`: the ticket kiosk on a touch screen (kiosk/app.py).

Settings come from ``--config FILE`` (kiosk/config.py; assets/kiosks/K-B1.toml),
and any flag given on the command line overrides the file's value."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from dispatcher.client.tls import CA_HELP, settings_problem

from .config import load_config, parse_config


def register(sub: argparse._SubParsersAction) -> None:
    kiosk = sub.add_parser("kiosk", help="the ticket kiosk: 马上办 / 帮助办 / 预约签到 on a "
                           "touch screen, printing on a ticket printer")
    kiosk.add_argument("--config", metavar="FILE",
                       help="the kiosk's config TOML (assets/kiosks/K-B1.toml); flags "
                       "given here override it")
    kiosk.add_argument("--server", help="the hub, wss://host:8765 (ws:// on this machine)")
    kiosk.add_argument("--ca", metavar="FILE", help=CA_HELP)
    kiosk.add_argument("--device", help="this kiosk's id, K-B1")
    kiosk.add_argument("--token", default=os.environ.get("ONEWINDOW_TOKEN", ""),
                       help="the device token (default $ONEWINDOW_TOKEN)")
    kiosk.add_argument("--printer", help="printer URL: usb://VID:PID, serial:///dev/ttyUSB0, "
                       "tcp://host:9100, virtual://NAME (docs/printing.md)")
    kiosk.add_argument("--width", type=int, choices=(58, 80), help="paper, mm (default 80)")
    kiosk.add_argument("--mode", choices=("native", "raster"),
                       help="text mode of the printer (default native; docs/printing.md)")
    kiosk.add_argument("--template", help="ticket template TOML (default: the sample)")
    kiosk.add_argument("--idle-timeout", type=float, metavar="SECONDS",
                       help="a half-used screen goes home after this long (default 30)")
    kiosk.add_argument("--large", action=argparse.BooleanOptionalAction, default=None,
                       help="start in large text (大字模式), and go back to it when idle")
    kiosk.add_argument("--language", choices=("zh", "en"),
                       help="the language shown first at start and after idle (default zh)")
    kiosk.add_argument("--fullscreen", action=argparse.BooleanOptionalAction, default=None,
                       help="take the whole screen")
    kiosk.add_argument("--id-reader", metavar="PORT",
                       help="a second-generation ID card reader on this serial port "
                       "(/dev/ttyUSB0): tickets and check-in by ID card (docs/devices.md)")
    kiosk.add_argument("--screenshot", metavar="PREFIX",
                       help="render every screen to PREFIX-SCREEN-ORIENTATION.png "
                       "(1080×1920 and 1920×1080) once the hall is loaded, then exit")
    kiosk.add_argument("--autopilot", metavar="PLAN",
                       help="demo: simulated citizens take numbers through this screen's "
                       "buttons at the times of an arrivals file (kiosk/autopilot.py)")
    kiosk.add_argument("--record", metavar="FILE", help="demo: write each ticket handed out "
                       "as a JSON line to FILE (SIGUSR1 grabs the screen to FILE.png)")
    kiosk.set_defaults(handler=_kiosk)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The config file's values with the command line's over them; KioskConfigError
    (for the file) or ValueError (for what is missing) says what is wrong."""
    config = load_config(args.config) if args.config else parse_config({}, "<defaults>")
    printer, screen = config.printer, config.screen

    def pick(flag: Any, value: Any) -> Any:
        return flag if flag is not None else value

    out = {
        "server": pick(args.server, config.server),
        "ca": pick(args.ca, config.ca),
        "device": pick(args.device, config.device),
        "printer": pick(args.printer, printer.url if printer else None),
        "width": pick(args.width, printer.width if printer else 80),
        "mode": pick(args.mode, printer.mode if printer else "native"),
        "template": pick(args.template, printer.template if printer else None),
        "idle_timeout_s": pick(args.idle_timeout, screen.idle_timeout_s),
        "large": pick(args.large, screen.large),
        "language": pick(args.language, screen.language),
        "fullscreen": pick(args.fullscreen, screen.fullscreen),
        "id_reader": pick(args.id_reader, config.id_reader.port if config.id_reader else None),
        "id_baudrate": config.id_reader.baudrate if config.id_reader else 115200,
    }
    missing = [f"--{k}" for k in ("server", "device", "printer") if not out[k]]
    if missing:
        where = f" or in {args.config}" if args.config else " or in a --config file"
        raise ValueError(f"{', '.join(missing)}: required (give it on the command line"
                         f"{where})")
    if not 5 <= out["idle_timeout_s"] <= 600:
        raise ValueError(f"--idle-timeout {out['idle_timeout_s']:g}: must be 5 to 600 seconds")
    return out


def _kiosk(args: argparse.Namespace) -> int:
    try:
        conf = settings(args)
    except ValueError as exc:            # KioskConfigError is one
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = settings_problem(conf["server"], conf["ca"])
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from dispatcher.client.qt import QtHubClient, run_app
    from printers import Printer, PrinterError, TemplateError, load_template

    from .app import KioskWindow, screenshots
    from .idcard import IdCardError
    from .idcard_screen import card_screenshots

    rows, speed = None, 1.0
    if args.autopilot:
        from .autopilot import read_plan

        try:
            rows, speed = read_plan(args.autopilot)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    try:
        template = load_template(conf["template"]) if conf["template"] else load_template()
        printer = Printer(conf["printer"], conf["width"], conf["mode"], template)
        reader = _id_reader(conf)
    except (TemplateError, PrinterError, IdCardError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    hub = QtHubClient(conf["server"], "kiosk", conf["device"], args.token, ca=conf["ca"])
    window = KioskWindow(hub, printer, conf["device"], template,
                         idle_timeout_s=conf["idle_timeout_s"], large=conf["large"],
                         lang=conf["language"])
    if reader is not None and not args.screenshot:
        from .idcard_screen import CardPoller

        poller = CardPoller(reader)
        window.attach_id_reader(poller)
        app.aboutToQuit.connect(poller.stop)
    if rows is not None or args.record:
        from dispatcher.livedemo.appctl import control, grab_path

        from .autopilot import KioskAutopilot

        window.autopilot = KioskAutopilot(window, rows or [], args.record, speed)
        control(window, grab_path(args.record), window.autopilot)
    return run_app(app, hub, window, size=(1080, 1920), screenshot=args.screenshot,
                   shots=lambda prefix: [*screenshots(window, prefix),
                                         *card_screenshots(window, f"{prefix}-idcard")],
                   settle_ms=1500,
                   fullscreen=conf["fullscreen"])


def _id_reader(conf: dict[str, Any]) -> Any:
    """The ID card reader on ``--id-reader`` (opened now: a wrong port fails at start)."""
    if not conf["id_reader"]:
        return None
    from .idcard import IdCardReader

    return IdCardReader(conf["id_reader"], baudrate=conf["id_baudrate"])
