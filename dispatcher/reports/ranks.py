"""Nearest-rank percentiles per group, computed by the database (``dispatcher/stats.py``
states the definition: rank ⌈p·n/100⌉ of the ascending values, in integer arithmetic).

A group is a grouping's key in one bucket (``(bucket number, key)``), over the whole
period (``(TOTAL, key)``) or every key of the grouping over the whole period
(``(TOTAL, None)``: the table's total row). Each group gets the p50 and p90 of its
waits and the p90 of its service times.

**PostgreSQL**: one GROUP BY a level, both values' percentiles in it, each an
ordered-set ``percentile_disc`` (on this data 2× faster than sorting each group into an
array, and faster than one statement of GROUPING SETS for every level). It ranks a
fraction f as ⌈f·n⌉ in floating point, one too far for some p and n (0.07 × 100 is
7.000000000000001: rank 8, not 7), so it is given f = p/100 − 10⁻¹¹. When p·n/100 is
a whole k, f·n lies within 10⁻¹¹·n (plus rounding, 10⁵ times smaller) below k, so its
ceiling is k; otherwise p·n/100 is at least 1/100 above the whole number below it, far
more than 10⁻¹¹·n for any n under 10⁸. The ranks are the integer ones
(``tests/test_reports.py`` checks groups of 1…150 values against stats.py).

**SQLite** (3.40: no ordered aggregates; window functions cost several times a sort)
copies values into a scratch table in order, where a row's position is its rowid (from
1 in an emptied table). First the hall's order, (bucket, value), with each row's keys:
the hall, each level of a few keys (zone, loop, class) and a grouping's total (when
one bucket holds every value) read their ranks off it, the r-th row of the key within
its bucket's positions (a walk of the primary key with LIMIT 1 OFFSET r−1, no sort).
A level of many keys (queue, window, clerk) is sorted on its own, (group, value): a
group's value of rank r is at position (the counts of the groups before it) + r, the
groups taken in the order SQLite sorted them (BINARY: the bytes of their UTF-8). This
halves the sorting of a monthly report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .facts import TEMP, facts_table, scratch

TOTAL = -1                                    # the bucket number of the whole period
Group = tuple[int, str | None]                # (bucket number or TOTAL, key or None: all)
Found = dict[str, dict[int, float]]           # {"wait": {50: v, 90: v}, "service": {90: v}}
WANTED = {"wait": (50, 90), "service": (90,)}
EPSILON = 1e-11
FEW = 8                                       # keys a bucket read off the hall's order
DIMENSIONS = ("hall", "zone", "loop", "queue", "class", "window", "clerk")
sorted_table = sa.Table(
    "report_sorted", scratch, sa.Column("pos", sa.Integer, primary_key=True),
    sa.Column("value", sa.Float), *(sa.Column(d, sa.String(64)) for d in DIMENSIONS),
    **TEMP)


@dataclass(frozen=True)
class Level:
    """The groups of one grouping at one level: per bucket, per key over the period, or
    the grouping's whole period. ``counts``: {group: (waits, service times)}."""
    grouping: str
    by_bucket: bool
    by_key: bool
    counts: dict[Group, tuple[int, int]]


def rank_of(p: int, n: Any) -> Any:
    """⌈p·n/100⌉ for a whole p, in integer arithmetic (Python's or the database's)."""
    return (p * n + 99) // 100


def percentiles(conn: sa.Connection, levels: Iterable[Level]) -> dict[tuple[str, Group], Found]:
    """{(grouping, group): {"wait": {50: …, 90: …}, "service": {90: …}}} for every group
    of ``levels`` with values (a group without service times has no "service" p90)."""
    levels = [lv for lv in levels if any(n for n, _ in lv.counts.values())]
    if not levels:
        return {}
    if conn.dialect.name != "postgresql":
        return _sqlite(conn, levels)
    found: dict[tuple[str, Group], Found] = {}
    for level in levels:
        found.update(_ordered_sets(conn, level))
    return found


def _columns(level: Level) -> list[Any]:
    f = facts_table.c
    return [*([f.bucket_no] if level.by_bucket else []), *([f[level.grouping]]
                                                          if level.by_key else [])]


def _ordered_sets(conn: sa.Connection, level: Level) -> dict[tuple[str, Group], Found]:
    f = facts_table.c
    cols = _columns(level)

    def disc(ps: tuple[int, ...], value: Any) -> Any:
        fractions = postgresql.array([sa.literal(p / 100 - EPSILON) for p in ps])
        return sa.func.percentile_disc(fractions).within_group(value)

    query = (sa.select(*cols, *(disc(ps, f[kind]) for kind, ps in WANTED.items()))
             .where(f[level.grouping].is_not(None)).group_by(*cols))
    found: dict[tuple[str, Group], Found] = {}
    for row in conn.execute(query):
        keys, results = list(row[:len(cols)]), row[len(cols):]
        group = (keys.pop(0) if level.by_bucket else TOTAL, keys.pop(0) if level.by_key else None)
        found[level.grouping, group] = {kind: dict(zip(ps, got, strict=True)) for (kind, ps), got
                                        in zip(WANTED.items(), results, strict=True)
                                        if got is not None}
    return found


def _sqlite(conn: sa.Connection, levels: list[Level]) -> dict[tuple[str, Group], Found]:
    """Per kind of value, the levels per bucket, then those over the whole period (one
    pass when one bucket holds every value): each in the hall's order ((bucket, value),
    then value alone), with each ticket's keys. The groups of a level of few keys (hall,
    zone, loop, class; a grouping's total) are read off it, the r-th row of the key
    within the bucket's positions (a walk of the primary key, no sort). The others are
    sorted on their own."""
    hall = next((lv for lv in levels if lv.grouping == "hall" and lv.by_bucket), None)
    if hall is None:            # nothing to read off: every level sorted on its own
        return _sorted_levels(conn, levels)
    found = _sorted_levels(conn, [])
    for i, (kind, ps) in enumerate(WANTED.items()):
        spans, at = {}, 0
        for b in sorted(b for b, _ in hall.counts):
            spans[b], at = (at, hall.counts[b, ""][i]), at + hall.counts[b, ""][i]
        one = len(spans) == 1
        passes = [levels] if one else [[lv for lv in levels if lv.by_bucket],
                                       [lv for lv in levels if not lv.by_bucket]]
        for part in passes:
            if not part:
                continue
            by_bucket = one or part[0].by_bucket
            _sort(conn, kind, [facts_table.c.bucket_no] if by_bucket else [], "hall",
                  keys=True)
            own = []
            for level in part:
                if len({k for _, k in level.counts}) > FEW:
                    own.append(level)
                    continue
                for (bucket, key), counts in level.counts.items():
                    span = spans[bucket] if level.by_bucket else (0, at)
                    values = {p: _nth(conn, level.grouping, key, span,
                                      rank_of(p, counts[i])) for p in ps if counts[i]}
                    if values:
                        found.setdefault((level.grouping, (bucket, key)), {})[kind] = values
            for level in own:
                _sort(conn, kind, _columns(level), level.grouping)
                for group, values in _by_position(conn, level, i, ps).items():
                    found.setdefault((level.grouping, group), {})[kind] = values
    return found


def _sorted_levels(conn: sa.Connection, levels: list[Level]
                   ) -> dict[tuple[str, Group], Found]:
    found: dict[tuple[str, Group], Found] = {}
    for i, (kind, ps) in enumerate(WANTED.items()):
        for level in levels:
            _sort(conn, kind, _columns(level), level.grouping)
            for group, values in _by_position(conn, level, i, ps).items():
                found.setdefault((level.grouping, group), {})[kind] = values
    return found


def _nth(conn: sa.Connection, grouping: str, key: str | None, span: tuple[int, int],
         rank: int) -> float:
    """The value of rank ``rank`` among the rows of positions start+1…start+n (one
    bucket, in value order) whose ``grouping`` is ``key`` (None: any)."""
    s, (start, n) = sorted_table.c, span
    match = s[grouping].is_not(None) if key is None else s[grouping] == key
    return conn.execute(sa.select(s.value).where(s.pos > start, s.pos <= start + n, match)
                        .order_by(s.pos).limit(1).offset(rank - 1)).scalar_one()


def _sort(conn: sa.Connection, kind: str, order: list[Any], grouping: str,
          keys: bool = False) -> None:
    """The values of ``kind`` whose ``grouping`` is known into the scratch table, in
    (order…, value) order (with every grouping's key, for ``_scan``)."""
    f = facts_table.c
    names = ["value", *(DIMENSIONS if keys else ())]
    conn.execute(sorted_table.delete())
    conn.execute(sorted_table.insert().from_select(names, sa.select(
        f[kind], *(f[d] for d in names[1:]))
        .where(f[grouping].is_not(None), f[kind].is_not(None)).order_by(*order, f[kind])))


def _by_position(conn: sa.Connection, level: Level, i: int,
                 ps: tuple[int, ...]) -> dict[Group, dict[int, float]]:
    """The percentiles of each group of ``level`` in the scratch table sorted by (group,
    value): a group's rank r is at (the counts of the groups before it) + r."""
    wanted: dict[int, list[tuple[Group, int]]] = {}
    before = 0
    for group in sorted(level.counts, key=lambda g: (g[0], (g[1] or "").encode())):
        n = level.counts[group][i]
        for p in ps if n else ():
            wanted.setdefault(before + rank_of(p, n), []).append((group, p))
        before += n
    found: dict[Group, dict[int, float]] = {}
    s = sorted_table.c
    for pos, v in conn.execute(sa.select(s.pos, s.value).where(s.pos.in_(list(wanted)))):
        for group, p in wanted[pos]:
            found.setdefault(group, {})[p] = v
    return found
