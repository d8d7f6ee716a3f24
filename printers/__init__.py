"""Ticket printing: a TicketSlip → ESC/POS (native GB18030 text or raster) → a printer URL.

The kiosk's whole use::

    from printers import Printer, load_template, slip_from_reply

    template = load_template()                      # assets/templates/ticket.toml
    printer = Printer("usb://0416:5011", width=80, mode="native", template=template)
    slip = slip_from_reply(snapshot["hall"], reply["result"], template, zone="B")
    result = printer.print_ticket(slip)             # result.ok, result.printed, result.error

docs/printing.md explains the modes, the URLs and the virtual printer.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {  # name -> module: imported on first use, so `import printers.cli` stays light
    "PrinterError": "backends", "PrinterUnavailable": "backends", "PrinterURLError": "backends",
    "parse_url": "backends", "Printer": "printer", "PrintResult": "printer",
    "SlipError": "slip", "TicketSlip": "slip", "slip_from_reply": "slip",
    "PrinterStatus": "status", "DEFAULT_TEMPLATE": "template", "TemplateError": "template",
    "TicketTemplate": "template", "load_template": "template",
}
__all__ = sorted(_HOME)


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'printers' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
