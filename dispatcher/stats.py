"""One percentile for the whole project: the demo, the simulator and the reports.

**Nearest rank**: the p-th percentile of n values is the value of rank ⌈p/100 · n⌉
(1-based) in ascending order, and the smallest value for p = 0. It is always one of
the values (never an interpolation), so a report's p90 is a wait somebody waited.
On 1 value every percentile is that value; on 2 values p50 is the smaller and p90
the larger; on 3 values p50 is the middle one and p90 the largest. The reports
compute the same rank in SQL, in integer arithmetic (``dispatcher/reports/ranks.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable


def rank(p: float, n: int) -> int:
    """The 1-based rank of the p-th percentile among ``n`` values (n ≥ 1)."""
    if not 0 <= p <= 100:
        raise ValueError(f"a percentile is from 0 to 100, not {p}")
    return max(1, math.ceil(p * n / 100))  # not p / 100 * n: 0.07 * 100 is 7.000000000000001


def percentile(values: Iterable[float], p: float) -> float:
    """The nearest-rank p-th percentile of ``values`` (in any order; not empty)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values: a percentile needs at least one")
    return ordered[rank(p, len(ordered)) - 1]
