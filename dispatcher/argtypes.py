"""argparse types that refuse nonsense with one line, for every subcommand."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def port(text: str) -> int:
    """A TCP port, 0 to 65535 (0: the system picks a free one)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a port number from 0 to 65535 "
                                         "(0 picks a free port)")
    return value


def number(low: float, *, strict: bool = False, high: float = math.inf
           ) -> Callable[[str], float]:
    """A finite number from ``low`` (excluded when ``strict``) to ``high``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and (value > low or (value == low and not strict)) \
                and value <= high:
            return value
        bound = f"more than {low:g}" if strict else f"{low:g} or more"
        if high < math.inf:
            bound = f"{'over' if strict else 'from'} {low:g} to {high:g}"
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number, {bound}")

    return parse


def count(low: int = 0) -> Callable[[str], int]:
    """A whole number, ``low`` or more."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number, {low} or more")
        return value

    return parse
