"""`onewindow printer-sim`, `print-sample`, `render-ticket` and `printer-status`.

dispatcher/cli.py calls ``register(sub)`` to add them to the `onewindow` command.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from .template import DEFAULT_TEMPLATE

if TYPE_CHECKING:
    from .slip import TicketSlip
    from .template import TicketTemplate


def register(sub: argparse._SubParsersAction) -> None:
    sim = sub.add_parser("printer-sim", help="a virtual ESC/POS printer on TCP 9100 that "
                         "saves each ticket it prints as a PNG")
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on "
                     "(0.0.0.0 for other machines)")
    sim.add_argument("--port", type=int, default=9100, help="0 picks a free port")
    sim.add_argument("--out", default="data/printer-sim", help="directory for the tickets "
                     "(PNG + JSON of the decoded lines)")
    sim.add_argument("--width", type=int, choices=(58, 80), default=80, help="paper, mm")
    sim.add_argument("--paper-out", action="store_true", help="report paper out, print nothing")
    sim.add_argument("--paper-near-end", action="store_true", help="report paper running low")
    sim.add_argument("--cover-open", action="store_true", help="report the cover open")
    sim.add_argument("--chinese", action="store_true",
                     help="start in Chinese mode, like a printer whose DIP switch says so")
    sim.set_defaults(handler=_printer_sim)

    sample = sub.add_parser("print-sample", help="print a sample ticket of the sample hall "
                            "on a printer URL and say whether it printed")
    _printer_args(sample)
    _ticket_args(sample)
    sample.set_defaults(handler=_print_sample)

    render = sub.add_parser("render-ticket", help="draw a sample ticket as a PNG")
    render.add_argument("--out", required=True, help="PNG file to write")
    _ticket_args(render)
    render.add_argument("--width", type=int, choices=(58, 80), default=80, help="paper, mm")
    render.add_argument("--mode", choices=("native", "raster"), default="raster",
                        help="raster: the picture raster mode sends; native: the native "
                        "bytes decoded and drawn as the virtual printer does")
    render.set_defaults(handler=_render_ticket)

    status = sub.add_parser("printer-status", help="ask a printer for its status")
    status.add_argument("--printer", required=True, help="printer URL, e.g. tcp://HOST:9100")
    status.add_argument("--timeout", type=float, default=1.0, help="seconds per question")
    status.set_defaults(handler=_printer_status)


def _printer_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--printer", required=True, help="usb://VID:PID, serial:///dev/ttyUSB0?"
                   "baudrate=19200, tcp://HOST:9100, file:///path or virtual://")
    p.add_argument("--width", type=int, choices=(58, 80), default=80, help="paper, mm")
    p.add_argument("--mode", choices=("native", "raster"), default="native",
                   help="native: GB18030 text for Chinese-firmware printers; "
                   "raster: the ticket as a picture, for any ESC/POS printer")


def _ticket_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--template", default=str(DEFAULT_TEMPLATE), help="ticket template TOML")
    p.add_argument("--class", dest="ticket_class", default="normal",
                   choices=("normal", "appointment", "green"), help="ticket class")
    p.add_argument("--hall", help="hall file whose names the ticket shows (default: the "
                   "sample hall)")
    p.add_argument("--queue", default="quick_b", help="queue id of the hall (default "
                   "%(default)s; a unit's queue like housing_fund)")
    p.add_argument("--zone", help="the kiosk's zone (default: the queue's, if it has one)")
    p.add_argument("--number", help="ticket number (default: the queue's prefix + 017)")
    p.add_argument("--ahead", type=int, default=5)
    p.add_argument("--wait", type=float, default=700.0, help="expected wait, seconds")


def _slip(args: argparse.Namespace) -> tuple[TicketSlip, TicketTemplate]:
    from dispatcher.hall import SAMPLE_HALL

    from .samples import sample_slip
    from .template import load_template

    template = load_template(args.template)
    number = {"number": args.number} if args.number else {}
    slip = sample_slip(args.ticket_class, template, hall=args.hall or SAMPLE_HALL, zone=args.zone,
                       queue=args.queue, ahead=args.ahead, expected_wait_s=args.wait, **number)
    return slip, template


def _fail(exc: Exception) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 2


def _printer_sim(args: argparse.Namespace) -> int:
    from .sim import PrinterSim, VirtualPrinter

    paper = "out" if args.paper_out else "near_end" if args.paper_near_end else "ok"
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return _fail(ValueError(f"--out {args.out}: cannot create the folder: "
                                f"{exc.strerror or exc}"))
    printer = VirtualPrinter(width=args.width, out_dir=args.out, paper=paper,
                             cover_open=args.cover_open, chinese=args.chinese)
    try:
        sim = PrinterSim(printer, args.host, args.port)
    except (OSError, OverflowError) as exc:   # OverflowError: a port past 0-65535
        why = getattr(exc, "strerror", None) or exc
        return _fail(ValueError(f"cannot listen on {args.host}:{args.port}: {why}"))
    state = printer.status_byte
    print(f"virtual printer {sim.url} ({args.width} mm), tickets to {Path(args.out)}/; "
          f"paper {paper}, cover {'open' if args.cover_open else 'closed'} "
          f"(DLE EOT 4 answers {state(4):#04x}); Ctrl-C stops", flush=True)
    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)   # a service manager stops it so
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sim.stop()
    count = len(printer.tickets)
    print(f"printed {count} ticket{'' if count == 1 else 's'}", flush=True)
    return 0


def _print_sample(args: argparse.Namespace) -> int:
    from .backends import PrinterError
    from .printer import Printer
    from .slip import SlipError
    from .template import TemplateError

    try:
        slip, template = _slip(args)
        printer = Printer(args.printer, args.width, args.mode, template)
    except (TemplateError, PrinterError, SlipError) as exc:
        return _fail(exc)
    result = printer.print_ticket(slip)
    print(f"before: {result.status_before.message}; after: {result.status_after.message}; "
          f"{result.seconds:.2f} s")
    if result.ok:
        print(f"printed {slip.number} on {args.printer}"
              + (f" (warning: {result.warning})" if result.warning else ""))
        return 0
    print(f"not printed ({result.printed}): {result.error}", file=sys.stderr)
    return 1


def _render_ticket(args: argparse.Namespace) -> int:
    from .elements import paper_dots
    from .escpos_decode import decode, render_decoded
    from .layout import compose, encode_native
    from .raster import paper_png, render_ticket
    from .slip import SlipError
    from .template import TemplateError

    try:
        slip, template = _slip(args)
    except (TemplateError, SlipError) as exc:
        return _fail(exc)
    if args.mode == "raster":
        image = render_ticket(slip, template, args.width)
    else:
        data = encode_native(compose(slip, template, args.width, "native"), args.width)
        image = render_decoded(decode(data), paper_dots(args.width))
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        paper_png(image, args.width, out)
    except (OSError, ValueError) as exc:   # ValueError: Pillow knows no such extension
        why = getattr(exc, "strerror", None) or exc
        return _fail(ValueError(f"--out {out}: cannot write it: {why}"))
    print(f"{out}: {args.width} mm {args.mode} ticket {slip.number}, "
          f"{image.width}x{image.height} dots")
    return 0


def _printer_status(args: argparse.Namespace) -> int:
    from .backends import PrinterError
    from .printer import Printer

    try:
        printer = Printer(args.printer, status_timeout=args.timeout)
    except PrinterError as exc:
        return _fail(exc)
    status = printer.status()
    print(f"{args.printer}: {status.message}"
          + (f" [{status.detail}]" if status.answered and status.detail else ""))
    return 0 if status.ok else 1
