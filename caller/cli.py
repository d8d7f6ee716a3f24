"""`onewindow caller`: the window clerk's caller panel (caller/panel.py), and
`onewindow evaluator`: the 好差评 screen facing the citizen (caller/evaluator.py)."""

from __future__ import annotations

import argparse
import math
import os
import sys

from dispatcher.client.tls import CA_HELP, settings_problem

from .model import key_list


def register(sub: argparse._SubParsersAction) -> None:
    caller = sub.add_parser("caller", help="the window clerk's caller panel: call, recall, "
                            "start, finish, no-show, transfer, pause, resume, hold, call "
                            "back (F1–F11)", epilog=f"keys: {key_list()}")
    caller.add_argument("--window", required=True, help="the window, B03")
    caller.add_argument("--server", required=True,
                        help="the hub, wss://host:8765 (ws:// only to this machine)")
    caller.add_argument("--ca", metavar="FILE", help=CA_HELP)
    caller.add_argument("--device", help="this caller's device id (default C-<window>)")
    caller.add_argument("--token", default=os.environ.get("ONEWINDOW_TOKEN", ""),
                        help="the device token (default $ONEWINDOW_TOKEN)")
    caller.add_argument("--fullscreen", action="store_true", help="fill the screen (a "
                        "panel of its own at the window)")
    caller.add_argument("--screenshot", metavar="PREFIX",
                        help="render PREFIX-sign-in.png (also -wrong-pin, -locked) and "
                        "PREFIX-panel.png once the hall is loaded, then exit")
    caller.add_argument("--autopilot", metavar="PLAN",
                        help="demo: a simulated clerk signs in (PIN from $ONEWINDOW_PIN) and "
                        "works the window through this panel's buttons by a JSON plan file")
    caller.add_argument("--record", metavar="FILE", help="demo: write each action as a JSON "
                        "line to FILE (SIGUSR1 grabs the panel to FILE.png)")
    caller.set_defaults(handler=_caller)
    register_evaluator(sub)


def _caller(args: argparse.Namespace) -> int:
    if _connection_problem(args):
        return 2
    plan = None
    if args.autopilot:
        from .autopilot import load_plan

        try:
            plan = load_plan(args.autopilot)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        if not os.environ.get("ONEWINDOW_PIN"):
            print("error: --autopilot needs the clerk's PIN in $ONEWINDOW_PIN", file=sys.stderr)
            return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from dispatcher.client.qt import QtHubClient, run_app

    from .panel import CallerPanel, screenshots

    app = QApplication.instance() or QApplication(sys.argv[:1])
    device = args.device or f"C-{args.window}"
    hub = QtHubClient(args.server, "caller", device, args.token, ca=args.ca)
    panel = CallerPanel(hub, args.window)
    if plan is not None or args.record:
        from dispatcher.livedemo.appctl import control, grab_path

        from .autopilot import PanelAutopilot

        pilot = None if plan is None else PanelAutopilot(
            panel, plan, os.environ["ONEWINDOW_PIN"], args.record)
        panel.autopilot = pilot
        control(panel, grab_path(args.record), pilot)
    return run_app(app, hub, panel, size=(1024, 700), screenshot=args.screenshot,
                   shots=lambda prefix: screenshots(panel, prefix), fullscreen=args.fullscreen)


def register_evaluator(sub: argparse._SubParsersAction) -> None:
    ev = sub.add_parser("evaluator", help="the 好差评 screen facing the citizen at a window: "
                        "rate the service just finished there")
    ev.add_argument("--window", required=True, help="the window, B03")
    ev.add_argument("--server", required=True,
                    help="the hub, wss://host:8765 (ws:// only to this machine)")
    ev.add_argument("--ca", metavar="FILE", help=CA_HELP)
    ev.add_argument("--device", help="this screen's device id (default E-<window>)")
    ev.add_argument("--token", default=os.environ.get("ONEWINDOW_TOKEN", ""),
                    help="the device token (default $ONEWINDOW_TOKEN)")
    ev.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                    help="back to idle after this long without a touch (default 30)")
    ev.add_argument("--fullscreen", action="store_true", help="fill the pad's screen")
    ev.add_argument("--screenshot", metavar="PREFIX",
                    help="render PREFIX-SCREEN-WxH.png (idle, rating, reason, thanks, already, "
                    "offline at 1280x800 and 800x480) once the hall is loaded, then exit")
    ev.add_argument("--autopilot", type=int, metavar="SEED",
                    help="demo: simulated citizens rate on this screen's buttons (seeded)")
    ev.add_argument("--record", metavar="FILE", help="demo: write each rating as a JSON line "
                    "to FILE (SIGUSR1 grabs the screen to FILE.png)")
    ev.set_defaults(handler=_evaluator)


def _connection_problem(args: argparse.Namespace) -> bool:
    problem = settings_problem(args.server, args.ca)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
    return problem is not None


def _evaluator(args: argparse.Namespace) -> int:
    if _connection_problem(args):
        return 2
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        print(f"error: --timeout {args.timeout}: must be a number of seconds, more than 0",
              file=sys.stderr)
        return 2
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from dispatcher.client.qt import QtHubClient, run_app

    from .evaluator import EvaluatorScreen, screenshots

    app = QApplication.instance() or QApplication(sys.argv[:1])
    hub = QtHubClient(args.server, "evaluator", args.device or f"E-{args.window}",
                      args.token, ca=args.ca)
    screen = EvaluatorScreen(hub, args.window, timeout_s=args.timeout)
    if args.autopilot is not None or args.record:
        from dispatcher.livedemo.appctl import control, grab_path

        from .autopilot import EvaluatorAutopilot

        rater = None if args.autopilot is None else EvaluatorAutopilot(
            screen, args.autopilot, args.record)
        screen.autopilot = rater
        control(screen, grab_path(args.record), rater)
    return run_app(app, hub, screen, size=(1280, 800), screenshot=args.screenshot,
                   shots=lambda prefix: screenshots(screen, prefix), fullscreen=args.fullscreen)
