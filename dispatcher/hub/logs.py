"""The hub's log: one JSON object per line on stderr (docs/protocol.md §6)."""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger("onewindow.hub")


def log_json(event: str, **fields: Any) -> None:
    log.info(json.dumps({"event": event, **fields}, ensure_ascii=False))


def log_exception(what: str) -> None:
    """A bug caught so the hub goes on: its traceback in the log."""
    log.exception(what)
