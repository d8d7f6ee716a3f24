"""A token bucket per connection, charged by what each message costs the hub: a flood
is refused message by message, and a connection that keeps flooding is closed.

``--rate-limit RATE:BURST`` is in tokens (20 a second, bursts of 60 by default). A
message costs the tokens of COSTS (a snapshot ten times a call); a query's reply
also costs a token per REPLY_CHARS_PER_TOKEN characters it carries, charged after
it is sent, even into debt: a caller's snapshot of a 2,000-ticket day (700 K
characters) costs 10 + 43, so one connection gets about one every 2.7 s, however
big the day grows. A connection in debt is refused until the bucket refills.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..protocol import CommandMessage, QueryMessage

FLOOD_LIMIT = 200  # refused messages in a row before the connection is closed

# What each message costs, in tokens: the one table of costs.
COSTS: dict[tuple[str, str], float] = {
    ("query", "snapshot"): 10.0,      # the whole hall; the reply's size is charged too
    ("query", "*"): 2.0,              # queue_status, ticket_status, window_status
    ("command", "sign_in"): 10.0,     # the hub runs scrypt on the PIN
    ("command", "staff_sign_in"): 10.0,
    ("command", "report_device"): 3.0,
    ("command", "*"): 1.0,            # a call, an issue, ...
}
UNREADABLE_COST = 1.0                 # a frame refused before it names anything
REPLY_CHARS_PER_TOKEN = 16 * 1024     # a query's reply: a token per 16 K characters


def message_cost(message: CommandMessage | QueryMessage | None) -> float:
    """The tokens ``message`` costs before its reply (None: a frame that did not parse)."""
    if message is None:
        return UNREADABLE_COST
    kind = message.type
    return COSTS.get((kind, message.name), COSTS[(kind, "*")])


def reply_cost(chars: int) -> float:
    """The tokens a query's reply of ``chars`` characters costs on top."""
    return chars / REPLY_CHARS_PER_TOKEN


@dataclass
class TokenBucket:
    rate: float = 20.0     # tokens a second, sustained
    burst: float = 60.0
    tokens: float = 60.0   # below zero: in debt for a reply bigger than it had
    stamp: float = field(default_factory=time.monotonic)
    refused: int = 0

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def allows(self, cost: float = 1.0) -> bool:
        """Whether ``cost`` could be taken now (a cost over the burst needs a full
        bucket); a no counts as a refusal."""
        self._refill()
        if self.tokens >= min(cost, self.burst):
            return True
        self.refused += 1
        return False

    def take(self, cost: float = 1.0) -> bool:
        if not self.allows(cost):
            return False
        self.tokens -= cost
        self.refused = 0
        return True

    def charge(self, cost: float) -> None:
        """Take ``cost`` more for what was already done, into debt if need be."""
        self.tokens -= cost

    def wait_s(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` can be taken."""
        return max(0.0, (min(cost, self.burst) - self.tokens) / self.rate) if self.rate else 0.0

    @property
    def flooding(self) -> bool:
        return self.refused >= FLOOD_LIMIT
