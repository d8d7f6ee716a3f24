"""A token bucket per connection: a flood is refused message by message, and a
connection that keeps flooding is closed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

FLOOD_LIMIT = 200  # refused messages in a row before the connection is closed


@dataclass
class TokenBucket:
    rate: float = 20.0     # messages a second, sustained
    burst: float = 60.0
    tokens: float = 60.0
    stamp: float = field(default_factory=time.monotonic)
    refused: int = 0

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1.0:
            self.refused += 1
            return False
        self.tokens -= 1.0
        self.refused = 0
        return True

    @property
    def flooding(self) -> bool:
        return self.refused >= FLOOD_LIMIT
