"""`onewindow display`: the lobby wall, full screen, or one screenshot and exit."""

from __future__ import annotations

import argparse
import os
import sys

from dispatcher.client.tls import CA_HELP, settings_problem

from .model import LAYOUTS

DEMO_NOW = 1795399800.0 + 205    # 2026-11-23 10:13:25 in the hall, for the docs
FRESH_CALL_S = 60.0   # older calls (a resync replaying an outage) are not announced

def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("display", help="the lobby wall display: calls, windows, waiting "
                       "counts and notices of a zone (PySide6)")
    p.add_argument("--server", default="ws://127.0.0.1:8765",
                   help="the hub: wss://HOST:PORT (ws:// only to this machine)")
    p.add_argument("--ca", metavar="FILE", help=CA_HELP)
    p.add_argument("--device", default="D-B", help="this display's device id")
    p.add_argument("--token", help="the device token (default: $ONEWINDOW_TOKEN)")
    p.add_argument("--zone", help="show this zone (default: the device's own; none: "
                   "the whole hall)")
    p.add_argument("--layout", choices=sorted(LAYOUTS), help="window size for --windowed "
                   "and --screenshot (default: full screen)")
    p.add_argument("--windowed", action="store_true", help="a window, not full screen")
    p.add_argument("--state-file", help="keep the picture here across restarts")
    p.add_argument("--voice", type=_voice_choice, default="auto", metavar="VOICE",
                   help="announce each call: auto (default: Qt speech with a Chinese voice, "
                   "else the clips in assets/voice), qt, clips, silent, off, or the folder "
                   "of a hall's recorded clip pack (see: onewindow voice-check); without a "
                   "sound device the wall goes on silently, marked 语音关闭 voice off")
    p.add_argument("--screenshot", metavar="FILE", help="render offscreen to this PNG and "
                   "exit")
    p.add_argument("--scale", type=float, default=1.0,
                   help="with --screenshot: scale the PNG (e.g. 0.5 for a 4K render)")
    p.add_argument("--record", metavar="FILE", help="write each call shown and each "
                   "announcement queued as a JSON line to FILE (SIGUSR1 grabs the wall to "
                   "FILE.png)")
    p.add_argument("--demo", action="store_true", help="show a built-in sample picture "
                   "instead of connecting to a hub")
    p.add_argument("--demo-lost", action="store_true", help="with --demo: show the "
                   "connection-lost state")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get("ONEWINDOW_TOKEN")
    if not args.demo:
        problem = settings_problem(args.server, args.ca)
        if problem or not token:
            print(f"error: {problem or '--token or $ONEWINDOW_TOKEN is needed'}",
                  file=sys.stderr)
            return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from .wall import WallWidget

    app = QApplication.instance() or QApplication(sys.argv[:1])
    size = LAYOUTS[args.layout or "1080p"]
    if args.demo:
        from .demo import demo_view

        wall = WallWidget(args.zone, now=lambda: DEMO_NOW)
        wall.resize(*size)
        wall.set_status("disconnected" if args.demo_lost else "connected")
        wall.show_view(demo_view())
        if args.screenshot:
            return _grab(wall, args)
        _show(wall, args)
        return app.exec()

    from dispatcher.client.qt import QtHubClient

    wall = WallWidget(args.zone)
    wall.resize(*size)
    hub = QtHubClient(args.server, "display", args.device, token, state_file=args.state_file,
                      ca=args.ca)
    announcer = None
    if args.voice != "off" and not args.screenshot:
        from .voice_status import start_voice

        announcer, _voice_status = start_voice(args.voice, wall, hub, args.device)
    if args.record:
        from dispatcher.livedemo.appctl import control, grab_path

        from .record import WallRecord

        wall.record = WallRecord(wall, args.record, announcer)
        control(wall, grab_path(args.record))
    connect_wall(wall, hub, announcer)
    hub.start()
    if args.screenshot:
        done = {"code": 1}

        def grab_now() -> None:
            done["code"] = _grab(wall, args)
            app.quit()

        def ready() -> None:
            if hub.connected and hub.view.loaded:
                QTimer.singleShot(200, grab_now)

        hub.statusChanged.connect(lambda _status: ready())
        QTimer.singleShot(15000, grab_now)     # no hub: a screenshot of the lost state
        app.exec()
        hub.close(timeout=2)
        return done["code"]
    _show(wall, args)
    app.aboutToQuit.connect(lambda: hub.close(timeout=2))
    return app.exec()


def _voice_choice(value: str) -> str:
    if value in ("auto", "qt", "clips", "silent", "off") or os.path.isdir(value):
        return value
    raise argparse.ArgumentTypeError(f"{value!r} is neither auto, qt, clips, silent, off "
                                     "nor a clip pack's folder")


def connect_wall(wall, hub, announcer=None) -> None:
    """Keep ``wall`` showing ``hub``'s view and connection state, and give each call to
    ``announcer`` (display.voice) as it happens."""
    hub.statusChanged.connect(wall.set_status)

    wall.now = hub.server_now
    if announcer is not None:
        hub.eventReceived.connect(lambda name, data: _in_zone(wall, hub, data) and _announce(
            announcer, hub, hub.server_now(), name, data))
    hub.viewChanged.connect(lambda: wall.show_view(hub.view))
    wall.set_status(hub.status)
    if hub.view.loaded:
        wall.show_view(hub.view)


def _in_zone(wall, hub, data: dict) -> bool:
    """A zone's wall says only its own zone's calls (a whole-hall wall says every one)."""
    zone = wall.zone if wall.zone is not None else hub.view.zone
    windows = hub.view.hall.get("windows") or {}
    return not zone or (windows.get(data.get("window")) or {}).get("zone", zone) == zone


def _announce(announcer, hub, now: float, name: str, data: dict) -> None:
    # Events replayed by a resync after an outage are news to the screen, not to the
    # hall: only a call made in the last minute is said aloud.
    if now - float(data.get("at", now)) <= FRESH_CALL_S:
        announcer.announce({"name": name, "data": data}, hub.view.hall)


def _show(wall, args: argparse.Namespace) -> None:
    if args.windowed or args.layout:
        wall.show()
    else:
        wall.showFullScreen()


def _grab(wall, args: argparse.Namespace) -> int:
    from PySide6.QtCore import Qt

    image = wall.grab().toImage()
    if args.scale != 1.0:
        image = image.scaled(int(image.width() * args.scale), int(image.height() * args.scale),
                             Qt.AspectRatioMode.KeepAspectRatio,
                             Qt.TransformationMode.SmoothTransformation)
    if not image.save(args.screenshot):
        print(f"error: could not write {args.screenshot}", file=sys.stderr)
        return 1
    print(f"{args.screenshot}: {image.width()}×{image.height()}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="onewindow")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
