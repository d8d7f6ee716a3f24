"""Sample tickets of the sample hall, for `print-sample`, `render-ticket`, docs and tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dispatcher.hall import SAMPLE_HALL, load_hall
from dispatcher.hall import hall_layout as layout_of

from .slip import SlipError, TicketSlip, slip_from_reply
from .template import TicketTemplate, load_template

# the sample ticket's status page token (the hub makes a random one for each ticket)
SAMPLE_STATUS_TOKEN = "x7Qk2mVb9RtL4wNp8sJd3A"


def hall_layout(path: str | Path = SAMPLE_HALL) -> dict[str, Any]:
    """A hall file as the hub's snapshot shows it (``snapshot["hall"]``)."""
    return layout_of(load_hall(path))


def sample_reply(number: str = "B017", queue: str = "quick_b", ticket_class: str = "normal",
                 ahead: int | None = 5, expected_wait_s: float | None = 700.0,
                 issued: str = "2026-11-23T09:41:07") -> dict[str, Any]:
    """The ``result`` of an ``issue_ticket`` reply, as the hub sends it."""
    at = datetime.fromisoformat(issued).replace(tzinfo=ZoneInfo("Asia/Shanghai")).timestamp()
    day = issued[:10].replace("-", "")
    return {
        "seq": 42, "events": [{"seq": 42, "name": "ticket_issued"}],
        "ticket": {"id": f"{day}-{number}", "number": number, "queue": queue,
                   "ticket_class": ticket_class, "issued_at": at, "state": "waiting"},
        "status": {"ticket": f"{day}-{number}", "number": number, "queue": queue,
                   "state": "waiting", "window": None, "ahead": ahead,
                   "expected_wait_s": expected_wait_s},
        "status_token": SAMPLE_STATUS_TOKEN,
    }


def sample_slip(ticket_class: str = "normal", template: TicketTemplate | None = None, *,
                hall: str | Path = SAMPLE_HALL, zone: str | None = None,
                **reply: Any) -> TicketSlip:
    """B017 of 马上办 in zone B of the sample hall, 5 people ahead, about 12 minutes; or
    ``queue=`` another queue of ``hall`` (number ``<prefix>017`` unless given), printed
    at a kiosk of ``zone`` (default: the queue's zone when it has only one)."""
    layout = hall_layout(hall)
    queue = reply.get("queue", "quick_b")
    if queue not in layout["queues"]:
        raise SlipError(f"{hall}: no queue {queue!r}; queues: {', '.join(layout['queues'])}")
    if zone is not None and zone not in layout["zones"]:
        raise SlipError(f"{hall}: no zone {zone!r}; zones: {', '.join(layout['zones'])}")
    reply.setdefault("number", f"{layout['queues'][queue]['prefix']}017")
    return slip_from_reply(layout, sample_reply(ticket_class=ticket_class, **reply),
                           template or load_template(), zone=zone)
