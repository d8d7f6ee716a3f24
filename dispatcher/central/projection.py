"""One hall's log at the centre, shaped as the hall's own store for the report's SQL.

The report (dispatcher/reports) reads a store's ``events`` and its ``tickets``
projection by unqualified name. In the report's session at the centre, ``stage``
makes both temporary (PostgreSQL looks in ``pg_temp`` first):

* ``events``: a view of the hall's partition tree, cut at the hall's ``shipped_seq``
  as it was when staged, so every query of the report sees one unchanging log while
  shipping goes on (the rows up to it are never written again);
* ``tickets``: the ``tickets`` rows the hall's store projection (``store/projection.py``)
  writes, computed by one ``CREATE TABLE … AS SELECT`` over the events of the period's
  business days (``logread.bounds``, the report's own: what the report reads). Each
  column is the value the last event that sets it gave (``Projector``'s handlers,
  column by column); ``transfers`` counts the transfers. ``tests/test_central_report.py``
  holds it to the store's own rows over every kind of ticket event.

Nothing is copied out of PostgreSQL: the report runs where the rows are.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..reports.logread import Bounds, bounds
from ..reports.period import Period

TICKET_EVENTS = ("ticket_issued", "ticket_called", "ticket_recalled", "service_started",
                 "service_finished", "ticket_no_show", "ticket_requeued",
                 "ticket_transferred", "ticket_cancelled", "ticket_evaluated", "ticket_held")

_VIEW = """CREATE TEMPORARY VIEW events AS
  SELECT seq, day, at, name, data, device, actor, command_id, command_hash, recorded_at
  FROM {s}.events WHERE hall = {hall} AND seq <= {upto}"""

# Every ticket event of the range with its JSON read once (json_to_record), and one row
# per ticket a day_closed closed; ``_COLUMNS`` below folds them per ticket.
_CHANGES = """
  SELECT r.ticket, e.seq, e.name, e.at, e.day, r.prefix, r.sequence, r.serial, r.number,
         r.queue, r.ticket_class, r.virtual_at, r."window", r.to_window, r.to_queue,
         r.recalls, r.requeues, r.level
  FROM events e, LATERAL json_to_record(e.data::json) AS r(
       ticket text, prefix text, sequence integer, serial double precision, number text,
       queue text, ticket_class text, virtual_at double precision, "window" text,
       to_window text, to_queue text, recalls integer, requeues integer, level integer)
  WHERE e.name IN ({names}) AND e.seq BETWEEN {lo} AND {hi}
  UNION ALL
  SELECT t.ticket, e.seq, 'day_closed', e.at, e.day, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL
  FROM events e, LATERAL json_array_elements_text(e.data::json -> 'closed_tickets') AS t(ticket)
  WHERE e.name = 'day_closed' AND e.seq BETWEEN {lo} AND {hi}"""


def _last(value: str, when: str, kind: str = "double precision") -> str:
    """``value`` of the ticket's last event (highest seq) among the names ``when``:
    ``max`` over [seq, value] arrays, which compare element by element, so the
    highest seq decides (text: the seq zero-padded, compared byte by byte). A plain
    aggregate: no sort per ticket, and it runs in parallel workers."""
    text = kind == "text"
    key = "lpad(seq::text, 20, '0')" if text else f"seq::{kind}"
    collate = ' COLLATE "C"' if text else ""
    names = ", ".join(f"'{n}'" for n in when.split())
    return (f"(max(ARRAY[{key}, ({value})::{kind}]{collate}) "
            f"FILTER (WHERE name IN ({names})))[2]")


_STATE = """CASE name WHEN 'ticket_issued' THEN 'waiting' WHEN 'ticket_called' THEN 'called'
  WHEN 'service_started' THEN 'serving' WHEN 'service_finished' THEN 'done'
  WHEN 'ticket_no_show' THEN 'no_show' WHEN 'ticket_requeued' THEN 'waiting'
  WHEN 'ticket_transferred' THEN 'waiting' WHEN 'ticket_cancelled' THEN 'cancelled'
  WHEN 'ticket_held' THEN 'held' WHEN 'day_closed' THEN 'closed' END"""
_WINDOW = """CASE name WHEN 'ticket_called' THEN "window" WHEN 'ticket_held' THEN "window"
  WHEN 'ticket_transferred' THEN to_window END"""
_ISSUED = "name = 'ticket_issued'"
_COLUMNS = {
    "id": "ticket",
    **{c: f"min({c}) FILTER (WHERE {_ISSUED})"
       for c in ("day", "prefix", "sequence", "number", "ticket_class")},
    "serial": _last("serial", "ticket_issued ticket_requeued"),
    "queue": _last("CASE name WHEN 'ticket_issued' THEN queue ELSE to_queue END",
                   "ticket_issued ticket_transferred", "text"),
    "issued_at": f"min(at) FILTER (WHERE {_ISSUED})",
    "virtual_at": _last("virtual_at", "ticket_issued ticket_requeued"),
    "state": _last(_STATE, "ticket_issued ticket_called service_started service_finished "
                   "ticket_no_show ticket_requeued ticket_transferred ticket_cancelled "
                   "ticket_held day_closed", "text"),
    '"window"': _last(_WINDOW, "ticket_issued ticket_called ticket_no_show ticket_requeued "
                      "ticket_transferred ticket_held", "text"),
    "called_at": _last("at", "ticket_called"),
    "started_at": _last("CASE name WHEN 'service_started' THEN at END",
                        "ticket_called service_started"),
    "finished_at": _last("at", "service_finished"),
    "recalls": f"coalesce({_last('recalls', 'ticket_recalled', 'bigint')}, 0)",
    "requeues": f"coalesce({_last('requeues', 'ticket_requeued', 'bigint')}, 0)",
    "transfers": "count(*) FILTER (WHERE name = 'ticket_transferred')",
    "served_by": _last('"window"', "service_finished", "text"),
    "rating": _last("level", "ticket_evaluated", "bigint"),
    "issued_seq": f"min(seq) FILTER (WHERE {_ISSUED})",
}
# CREATE TABLE … AS, not INSERT … SELECT: only the former reads in parallel workers
_PROJECT = ("CREATE TEMPORARY TABLE tickets AS SELECT "
            + ", ".join(f"{expr} AS {column}" for column, expr in _COLUMNS.items())
            + " FROM ({changes}) AS c GROUP BY ticket"
            + f" HAVING count(*) FILTER (WHERE {_ISSUED}) = 1")
# the store's keys on tickets: the report's joins on them are lookups
_KEYS = "ALTER TABLE pg_temp.tickets ADD PRIMARY KEY (id), ADD UNIQUE (day, prefix, sequence)"


def stage(conn: sa.Connection, schema: str, hall_id: str, period: Period) -> Bounds | None:
    """Make this session's ``events`` and ``tickets`` the hall's (schema and hall id
    are checked names); return the period's bounds (None: no day of it opened)."""
    upto = conn.exec_driver_sql(f"SELECT shipped_seq FROM {schema}.halls WHERE id = %s",
                                (hall_id,)).scalar_one()
    hall = conn.exec_driver_sql("SELECT quote_literal(%s)", (hall_id,)).scalar_one()
    cursor = conn.connection.dbapi_connection.cursor()   # DDL: no parameters
    cursor.execute("DROP VIEW IF EXISTS pg_temp.events")
    cursor.execute("DROP TABLE IF EXISTS pg_temp.tickets")
    cursor.execute(_VIEW.format(s=schema, hall=hall, upto=int(upto)))
    found = bounds(conn, period)
    lo, hi = (found.lo, found.hi) if found else (1, 0)    # none: an empty tickets table
    names = ", ".join(f"'{n}'" for n in TICKET_EVENTS)
    cursor.execute(_PROJECT.format(changes=_CHANGES.format(names=names, lo=lo, hi=hi)))
    cursor.execute(_KEYS)
    cursor.execute("ANALYZE pg_temp.tickets")
    return found
