"""Nearest-rank percentiles per group, computed by the database (``dispatcher/stats.py``
states the definition: rank ⌈p·n/100⌉ of the ascending values, in integer arithmetic).

PostgreSQL gathers each group's values in order (``array_agg(value ORDER BY value)``)
and takes the elements at the ranks (its arrays count from 1): one GROUP BY. SQLite
(3.40: no ordered aggregates; its window functions cost several times a sort) copies
the values into a scratch table in (bucket number, key, value) order, where a row's position
is its rowid (from 1 in an emptied table): a group's value of rank r is at position
(the counts of the groups before it) + r, the groups taken in the order SQLite sorted
them (BINARY: the bytes of their UTF-8). PostgreSQL's own percentile_disc computes the
rank in floating point (⌈0.9 × 70⌉ = 64), so it is not used.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from .facts import TEMP, scratch

Ranks = dict[tuple[int, str], dict[int, float]]
Counts = dict[tuple[int, str], int]      # values (not NULL) per (bucket number, key)
sorted_table = sa.Table(
    "report_sorted", scratch, sa.Column("pos", sa.Integer, primary_key=True),
    sa.Column("value", sa.Float), **TEMP)


def rank_of(p: int, n: Any) -> Any:
    """⌈p·n/100⌉ for a whole p, in integer arithmetic (Python's or the database's)."""
    return (p * n + 99) // 100


def percentiles(conn: sa.Connection, bucket: Any, key: Any, value: Any,
                ps: tuple[int, ...], counts: Counts) -> Ranks:
    """{(bucket number, key): {p: value}} over the rows where key and value are not
    NULL; ``counts``: how many such rows each group has."""
    if conn.dialect.name == "sqlite":
        return _by_position(conn, bucket, key, value, ps, counts)
    ordered = postgresql.array_agg(postgresql.aggregate_order_by(value, value))
    n = sa.func.count(value)
    query = (sa.select(bucket, key, *(ordered[rank_of(p, n)] for p in ps))
             .where(key.is_not(None), value.is_not(None)).group_by(bucket, key))
    return {(b, k): dict(zip(ps, values, strict=True))
            for b, k, *values in conn.execute(query)}


def _by_position(conn: sa.Connection, bucket: Any, key: Any, value: Any,
                 ps: tuple[int, ...], counts: Counts) -> Ranks:
    conn.execute(sorted_table.delete())
    ordered = (sa.select(value).where(key.is_not(None), value.is_not(None))
               .order_by(bucket, key, value))
    conn.execute(sorted_table.insert().from_select(["value"], ordered))
    wanted: dict[int, list[tuple[tuple[str, str], int]]] = {}
    before = 0
    for group in sorted((g for g, n in counts.items() if n),
                        key=lambda g: (g[0], g[1].encode())):
        for p in ps:
            wanted.setdefault(before + rank_of(p, counts[group]), []).append((group, p))
        before += counts[group]
    found: Ranks = {}
    s = sorted_table.c
    for pos, v in conn.execute(sa.select(s.pos, s.value).where(s.pos.in_(list(wanted)))):
        for group, p in wanted[pos]:
            found.setdefault(group, {})[p] = v
    return found
