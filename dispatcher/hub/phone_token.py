"""A ticket's status page token: what its QR code opens (docs/phone.md).

The hub makes it (the core is pure: no randomness there) and stamps it into the
``issue_ticket`` or ``check_in`` command, as it stamps ``by``; the core records it
with the ticket's ``ticket_issued`` event, so the store keeps it and a restart keeps
the page working. It goes back only in the issuing device's reply (for its QR):
never in an event frame (privacy.HUB_ONLY_FIELDS). A retry of the command gets the
first reply, token and all: the digest that tells a retry is of the device's own
arguments, which never hold a token.

128 random bits: a phone guessing at 10 pages a second (the rate limit of one
address is less) would need about 10^30 years to find one of a day's 3,000 tickets.
A token is good for its ticket's business day only: it is looked up in the day's
state, which starts empty each morning.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import re
from typing import Any

from ..core import events as ev
from ..core.commands import CheckIn, Command, IssueTicket
from ..core.errors import DispatchError
from ..core.state import HallState, Ticket
from ..hall import Hall
from ..protocol import CommandMessage

TOKEN_BYTES = 16                                  # 128 random bits
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")    # token_urlsafe(16): 22 characters


class _Randomness:
    """The OS's random bytes, POOL_BYTES at a time: a getrandom call a ticket cost
    30-40 µs on a slow virtual machine, one for 256 tickets costs about as much. The
    bytes are the same the OS gives ``secrets``, each handed out once."""

    POOL_BYTES = 4096

    def __init__(self) -> None:
        self.pool, self.at = b"", 0

    def take(self, n: int) -> bytes:
        if self.at + n > len(self.pool):
            self.pool, self.at = os.urandom(self.POOL_BYTES), 0
        self.at += n
        return self.pool[self.at - n:self.at]


_randomness = _Randomness()


def new_token() -> str:
    """As ``secrets.token_urlsafe(TOKEN_BYTES)``: 22 URL-safe characters."""
    return base64.urlsafe_b64encode(_randomness.take(TOKEN_BYTES)).rstrip(b"=").decode()


def with_status_token(command: Command) -> Command:
    """A command that issues a ticket, with a fresh token for its status page."""
    if isinstance(command, IssueTicket | CheckIn):
        return dataclasses.replace(command, status_token=new_token())
    return command


def refuse_device_token(msg: CommandMessage) -> None:
    """A device never names the token: the hub makes it."""
    if "status_token" in msg.args:
        raise DispatchError("bad_argument", f"{msg.name}: status_token is the hub's to "
                            "make: it opens the ticket's status page", field="status_token")


def status_page(issued: ev.TicketIssued, hall: Hall) -> dict[str, Any]:
    """What the issuing kiosk's reply adds: the token, and the page's address when the
    hall file has its public_url."""
    if not issued.status_token:
        return {}
    url = f"{hall.public_url}/t/{issued.status_token}" if hall.public_url else None
    return {"status_token": issued.status_token, "status_url": url}


def ticket_by_token(hall: Hall, state: HallState, token: str, now: float) -> Ticket | None:
    """The ticket ``token`` opens, or None: a token of no ticket, of another day, or of
    a day that has ended (the hall's business day rolled over, restart or not)."""
    if not TOKEN_SHAPE.fullmatch(token) or state.day != hall.business_day(now):
        return None
    ticket_id = state.tokens.get(token)
    return state.tickets.get(ticket_id) if ticket_id else None
