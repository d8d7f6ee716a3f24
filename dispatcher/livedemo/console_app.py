"""The dispatch console as the live demo runs it: `onewindow console`'s window, with
the demo's dispatcher signed in through the console's own sign-in page (the staff id
and PIN from $ONEWINDOW_STAFF and $ONEWINDOW_PIN) and the demo's signals
(dispatcher/livedemo/appctl.py).

    python -m dispatcher.livedemo.console_app --server URL --record FILE
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dispatcher.livedemo.console_app")
    parser.add_argument("--server", required=True)
    parser.add_argument("--device", default="CONSOLE-1")
    parser.add_argument("--record", help="SIGUSR1 grabs the console to this name with .png")
    args = parser.parse_args(argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from dispatcher.client.qt import QtHubClient, run_app
    from dispatcher.console.app import Console

    from .appctl import control, grab_path

    app = QApplication.instance() or QApplication(sys.argv[:1])
    hub = QtHubClient(args.server, "console", args.device, os.environ.get("ONEWINDOW_TOKEN", ""))
    console = Console(hub)
    control(console, grab_path(args.record))
    staff, pin = os.environ.get("ONEWINDOW_STAFF", ""), os.environ.get("ONEWINDOW_PIN", "")

    tries = {"left": 3}      # a wrong PIN is not hammered into a lock-out

    def sign_in() -> None:
        if console.staff is None and not console.signing_in and hub.connected and staff \
                and tries["left"] > 0:
            tries["left"] -= 1
            console.staff_edit.setText(staff)
            console.pin_edit.setText(pin)
            console.sign_in_button.click()

    timer = QTimer(console)
    timer.timeout.connect(sign_in)
    timer.start(1000)
    return run_app(app, hub, console, size=(1920, 1080))


if __name__ == "__main__":
    sys.exit(main())
