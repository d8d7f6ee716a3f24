"""`onewindow caller`: the window clerk's caller panel (caller/panel.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

SAMPLE_CLERKS = Path(__file__).resolve().parent.parent / "assets/halls/sample-clerks.toml"


def register(sub: argparse._SubParsersAction) -> None:
    caller = sub.add_parser("caller", help="the window clerk's caller panel: call, recall, "
                            "start, finish, no-show, transfer, pause (F1–F8)")
    caller.add_argument("--window", required=True, help="the window, B03")
    caller.add_argument("--server", required=True, help="the hub, ws://host:8765")
    caller.add_argument("--device", help="this caller's device id (default C-<window>)")
    caller.add_argument("--token", default=os.environ.get("ONEWINDOW_TOKEN", ""),
                        help="the device token (default $ONEWINDOW_TOKEN)")
    caller.add_argument("--clerks", default=str(SAMPLE_CLERKS),
                        help="clerks TOML with PIN hashes (default: the SAMPLE file)")
    caller.add_argument("--screenshot", metavar="PREFIX",
                        help="render PREFIX-sign-in.png and PREFIX-panel.png once the hall "
                        "is loaded, then exit")
    caller.set_defaults(handler=_caller)


def _caller(args: argparse.Namespace) -> int:
    from .clerks import ClerkFileError, load_clerks

    try:
        clerks = load_clerks(args.clerks)
    except ClerkFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dispatcher.client.qt import QtHubClient

    from .panel import CallerPanel, screenshots

    app = QApplication.instance() or QApplication(sys.argv[:1])
    device = args.device or f"C-{args.window}"
    hub = QtHubClient(args.server, "caller", device, args.token)
    panel = CallerPanel(hub, args.window, clerks)
    app.aboutToQuit.connect(lambda: hub.close(timeout=2))
    if args.screenshot:
        def shoot() -> None:
            for path in screenshots(panel, args.screenshot):
                print(path)
            app.quit()

        hub.snapshotLoaded.connect(lambda: QTimer.singleShot(500, shoot))
        QTimer.singleShot(20000, lambda: (print("error: no snapshot from the hub",
                                                file=sys.stderr), app.exit(1)))
    else:
        panel.resize(1024, 700)
        panel.show()
    hub.start()
    return app.exec()
