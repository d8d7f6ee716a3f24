"""Ranges of names in the devices file and on the command line: ``C-B01..C-B40``."""

from __future__ import annotations

import re

_ENDPOINT = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)$")
MAX_RANGE = 5000


def expand_range(text: str) -> list[str]:
    """``C-B01..C-B40`` → C-B01 … C-B40; a name without ``..`` is itself. ValueError
    says what is wrong with a range."""
    if ".." not in text:
        return [text]
    first, _, last = text.partition("..")
    a, b = _ENDPOINT.match(first), _ENDPOINT.match(last)
    if not a or not b:
        raise ValueError(f"{text!r}: a range ends both sides in a number, like C-B01..C-B40")
    if a["prefix"] != b["prefix"]:
        raise ValueError(f"{text!r}: both ends must share the prefix "
                         f"({a['prefix']!r} is not {b['prefix']!r})")
    start, stop = int(a["number"]), int(b["number"])
    if stop < start:
        raise ValueError(f"{text!r}: the range runs backwards")
    if stop - start + 1 > MAX_RANGE:
        raise ValueError(f"{text!r}: {stop - start + 1} names, at most {MAX_RANGE} in a range")
    width = len(a["number"])
    return [f"{a['prefix']}{n:0{width}d}" for n in range(start, stop + 1)]


def windows_per_device(ids: list[str], windows: str | list[str] | None) -> list[list[str]]:
    """A range of windows gives one to each device, in order; a list is shared by all."""
    if windows is None:
        return [[] for _ in ids]
    if isinstance(windows, list):
        return [list(windows) for _ in ids]
    each = expand_range(windows)
    if len(each) != len(ids):
        raise ValueError(f"{len(ids)} devices but {len(each)} windows in {windows!r}: "
                         "a range of windows gives one to each device")
    return [[w] for w in each]
