"""The hub's log: one JSON object per line on stderr (docs/protocol.md §6)."""

from __future__ import annotations

import json
import logging
from typing import Any

log = logging.getLogger("onewindow.hub")
_LINE = json.JSONEncoder(ensure_ascii=False)   # json.dumps makes one a call


def log_json(event: str, **fields: Any) -> None:
    log.info(_LINE.encode({"event": event, **fields}))


def log_lines(event: str, each: list[dict[str, Any]]) -> None:
    """A line for each of ``each``, in one write (a batch's commands: one write a
    command cost the busiest hub more than its JSON)."""
    if each:
        log.info("\n".join(_LINE.encode({"event": event, **fields}) for fields in each))


def log_exception(what: str) -> None:
    """A bug caught so the hub goes on: its traceback in the log."""
    log.exception(what)
