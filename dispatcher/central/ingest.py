"""The centre as a shipper sees it: ask how far it got, hand it a batch.

Both calls go through the centre's SECURITY DEFINER functions (schema.py), which
check the hall's credential on every call; nothing here writes a table directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
import sqlalchemy as sa

COLUMNS = ("seq", "day", "at", "name", "data", "device", "actor", "command_id",
           "command_hash", "recorded_at")
Row = Sequence[Any]   # one hall store event row, in COLUMNS order
_COPY = f"COPY ship_rows ({', '.join(COLUMNS)}) FROM STDIN"


class Refused(Exception):
    """The centre refused the hall id or its credential: retrying will not help."""


def _refused(exc: sa.exc.DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "28000"


def shipped(conn: sa.Connection, schema: str, hall: str, credential: str) -> int:
    """The last seq of ``hall`` the centre holds (0: none)."""
    try:
        with conn.begin():
            return int(conn.exec_driver_sql(f"SELECT {schema}.shipped(%s, %s)",
                                            (hall, credential)).scalar_one())
    except sa.exc.DBAPIError as exc:
        if _refused(exc):
            raise Refused(f"the centre does not accept hall {hall} with this credential") \
                from None
        raise


def ship(conn: sa.Connection, schema: str, hall: str, credential: str, rows: list[Row],
         head: tuple[int, float | None]) -> int:
    """Write ``rows`` (seq order, from the centre's last seq + 1 or earlier) in one
    transaction: COPY into the session's staging table, then the centre's ``ship``
    checks and moves them; return the centre's last seq for the hall afterwards."""
    info = conn.connection.info
    try:
        with conn.begin():
            cursor = conn.connection.dbapi_connection.cursor()
            if not info.get("staged"):   # once a session (the table is temporary)
                cursor.execute(f"SELECT {schema}.staging()")
            if rows:
                with cursor.copy(_COPY) as copy:
                    for row in rows:
                        copy.write_row(row)
            cursor.execute(f"SELECT {schema}.ship(%s, %s, %s, %s)",
                           (hall, credential, head[0], head[1]))
            shipped = int(cursor.fetchone()[0])
        info["staged"] = True   # committed: the staging table stays for the session
        return shipped
    except sa.exc.DBAPIError as exc:
        if _refused(exc):
            raise Refused(f"the centre does not accept hall {hall} with this credential") \
                from None
        raise
    except psycopg.Error as exc:
        if getattr(exc, "sqlstate", None) == "28000":
            raise Refused(f"the centre does not accept hall {hall} with this credential") \
                from None
        raise sa.exc.DBAPIError(None, None, exc) from exc
