"""`onewindow console`: the 窗口调度岗's dispatch console (dispatcher/console/app.py)."""

from __future__ import annotations

import argparse
import os
import sys

from dispatcher.client.tls import CA_HELP, settings_problem


def register(sub: argparse._SubParsersAction) -> None:
    console = sub.add_parser("console", help="the dispatch console (调度台): the floor per "
                             "zone, alerts, balancing, 差评 cases, devices; window and ticket "
                             "actions")
    console.add_argument("--server", required=True,
                         help="the hub, wss://host:8765 (ws:// only to this machine)")
    console.add_argument("--ca", metavar="FILE", help=CA_HELP)
    console.add_argument("--device", default="CONSOLE-1",
                         help="this console's device id (default CONSOLE-1)")
    console.add_argument("--token", default=os.environ.get("ONEWINDOW_TOKEN", ""),
                         help="the device token (default $ONEWINDOW_TOKEN)")
    console.add_argument("--fullscreen", action="store_true", help="fill the screen")
    console.add_argument("--screenshot", metavar="PREFIX",
                         help="render PREFIX-sign-in.png and PREFIX-floor.png (1920x1080) "
                         "once the hall is loaded, send nothing, then exit")
    console.set_defaults(handler=_console)


def _console(args: argparse.Namespace) -> int:
    problem = settings_problem(args.server, args.ca)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from dispatcher.client.qt import QtHubClient, run_app

    from .app import Console, screenshots

    app = QApplication.instance() or QApplication(sys.argv[:1])
    hub = QtHubClient(args.server, "console", args.device, args.token,
                      ca=args.ca)
    console = Console(hub)
    return run_app(app, hub, console, size=(1920, 1080), screenshot=args.screenshot,
                   shots=lambda prefix: screenshots(console, prefix),
                   fullscreen=args.fullscreen, settle_ms=1500)
