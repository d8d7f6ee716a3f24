"""The store's schema version, and bringing an older store up to it when it opens.

The version is one row of the ``onewindow_schema`` table, the same on SQLite and
PostgreSQL. Opening a store (``EventStore``) creates what is missing and runs each
step from the stored version up to ``SCHEMA_VERSION``, all in one transaction (SQLite
``BEGIN IMMEDIATE``; PostgreSQL under an advisory lock), so two processes opening the
same store at once migrate it once. A store written by a newer OneWindow is refused
before anything in it is touched: this code cannot know what that version changed.

Versions:
  1. the first stores (no version row): ``events`` without ``command_hash``, and on
     PostgreSQL ``tickets.serial`` an INTEGER (it holds fractions since requeues)
  2. ``events.command_hash``; ``tickets.serial`` a float
  3. ``snapshots``: the core's state at a seq, for a fast start (store/snapshots.py)
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from .schema import events, metadata, schema_version, tickets

SCHEMA_VERSION = 3
_PG_LOCK = 0x0E_57_0D_01   # pg_advisory_xact_lock key: "OneWindow store migrate"


class SchemaVersionError(Exception):
    """The store is of a version this OneWindow cannot use; one line for the operator."""


def stored_version(conn: sa.Connection) -> int | None:
    """The store's schema version: 1 for a store older than the version table, None for
    a database with no OneWindow tables at all."""
    names = set(sa.inspect(conn).get_table_names())
    if schema_version.name in names:
        found = conn.scalar(sa.select(sa.func.max(schema_version.c.version)))
        if found is not None:
            return int(found)
    return 1 if events.name in names else None


def too_new(found: int) -> str:
    return (f"the store is at schema version {found}, newer than this OneWindow's "
            f"{SCHEMA_VERSION}: a newer OneWindow wrote it; run that version, or restore "
            "the backup made before the upgrade (docs/deployment.md#upgrading)")


def migrate(engine: sa.Engine) -> int:
    """Create a new store, or bring an older one up to ``SCHEMA_VERSION``; return the
    version it was at (a new store: the current one). Nothing is changed when the
    store is newer (SchemaVersionError) or when a step fails. A current store is only
    read (a reader with no right to write can open it)."""
    with engine.connect() as conn:
        found = stored_version(conn)
    if found == SCHEMA_VERSION:
        return found
    with engine.connect() as conn, conn.begin():
        if conn.dialect.name == "sqlite":   # the driver never begins by itself (store.py)
            conn.connection.driver_connection.execute("BEGIN IMMEDIATE")
        elif conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
        found = stored_version(conn)
        if found is not None and found > SCHEMA_VERSION:
            raise SchemaVersionError(too_new(found))
        metadata.create_all(conn)
        for step in range((found or SCHEMA_VERSION) + 1, SCHEMA_VERSION + 1):
            _STEPS[step](conn)
        if found != SCHEMA_VERSION:
            conn.execute(schema_version.delete())
            conn.execute(schema_version.insert(), {"version": SCHEMA_VERSION})
    return found or SCHEMA_VERSION


def _to_2(conn: sa.Connection) -> None:
    inspector = sa.inspect(conn)
    present = {c["name"] for c in inspector.get_columns(events.name)}
    if "command_hash" not in present:
        kind = events.c.command_hash.type.compile(conn.dialect)
        conn.execute(sa.text(f"ALTER TABLE {events.name} ADD COLUMN command_hash {kind}"))
    serial = next(c for c in inspector.get_columns(tickets.name) if c["name"] == "serial")
    if conn.dialect.name == "postgresql" and isinstance(serial["type"], sa.Integer):
        # SQLite keeps a fraction in an INTEGER column as it is; PostgreSQL would round it
        conn.execute(sa.text(f"ALTER TABLE {tickets.name} ALTER COLUMN serial "
                             "TYPE DOUBLE PRECISION"))


def _to_3(conn: sa.Connection) -> None:
    """Nothing to change: ``metadata.create_all`` above made the ``snapshots`` table."""


_STEPS: dict[int, Callable[[sa.Connection], None]] = {2: _to_2, 3: _to_3}
