"""`onewindow kiosk`: the ticket kiosk on a touch screen (kiosk/app.py)."""

from __future__ import annotations

import argparse
import os
import sys


def register(sub: argparse._SubParsersAction) -> None:
    kiosk = sub.add_parser("kiosk", help="the ticket kiosk: 马上办 / 帮助办 / 预约签到 on a "
                           "touch screen, printing on a ticket printer")
    kiosk.add_argument("--server", required=True, help="the hub, ws://host:8765")
    kiosk.add_argument("--device", required=True, help="this kiosk's id, K-B1")
    kiosk.add_argument("--token", default=os.environ.get("ONEWINDOW_TOKEN", ""),
                       help="the device token (default $ONEWINDOW_TOKEN)")
    kiosk.add_argument("--printer", required=True,
                       help="printer URL: usb://VID:PID, serial:///dev/ttyUSB0, "
                       "tcp://host:9100, virtual://NAME (docs/printing.md)")
    kiosk.add_argument("--width", type=int, choices=(58, 80), default=80, help="paper, mm")
    kiosk.add_argument("--mode", choices=("native", "raster"), default="native",
                       help="text mode of the printer (docs/printing.md)")
    kiosk.add_argument("--template", help="ticket template TOML (default: the sample)")
    kiosk.add_argument("--fullscreen", action="store_true", help="take the whole screen")
    kiosk.add_argument("--screenshot", metavar="PREFIX",
                       help="render every screen to PREFIX-SCREEN-ORIENTATION.png "
                       "(1080×1920 and 1920×1080) once the hall is loaded, then exit")
    kiosk.set_defaults(handler=_kiosk)


def _kiosk(args: argparse.Namespace) -> int:
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dispatcher.client.qt import QtHubClient
    from printers import Printer, PrinterError, TemplateError, load_template

    from .app import KioskWindow, screenshots

    try:
        template = load_template(args.template) if args.template else load_template()
        printer = Printer(args.printer, args.width, args.mode, template)
    except (TemplateError, PrinterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(sys.argv[:1])
    hub = QtHubClient(args.server, "kiosk", args.device, args.token)
    window = KioskWindow(hub, printer, args.device, template)
    app.aboutToQuit.connect(lambda: hub.close(timeout=2))
    if args.screenshot:
        def shoot() -> None:
            for path in screenshots(window, args.screenshot):
                print(path)
            app.quit()

        hub.snapshotLoaded.connect(lambda: QTimer.singleShot(1500, shoot))
        QTimer.singleShot(20000, lambda: (print("error: no snapshot from the hub",
                                                file=sys.stderr), app.exit(1)))
    else:
        window.resize(1080, 1920)
        window.showFullScreen() if args.fullscreen else window.show()
    hub.start()
    return app.exec()
