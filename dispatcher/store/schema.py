"""The store's tables (SQLAlchemy Core): the event log and its projections.

``events`` is the append-only audit trail (全程留痕); ``tickets`` and ``windows``
are projections of it, written in the same transaction as the events they
follow from, so a report never sees one without the other.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    # Assigned by the store (last seq + 1), never by the database: gap-free.
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("day", sa.String(10)),             # business day, "2026-11-23"
    sa.Column("at", sa.Float, nullable=False),   # the event's time (epoch seconds)
    sa.Column("name", sa.String(32), nullable=False),
    sa.Column("data", sa.Text, nullable=False),  # JSON of Event.to_dict()
    sa.Column("device", sa.String(64)),
    sa.Column("actor", sa.String(64)),
    sa.Column("command_id", sa.String(64)),
    # A digest of the command's name and arguments: a reused id with other arguments
    # is told apart from a retry, also after a restart (added to older stores on open).
    sa.Column("command_hash", sa.String(32)),
    sa.Column("recorded_at", sa.Float, nullable=False),  # wall clock of the write
    sa.Index("ix_events_name_seq", "name", "seq"),
    sa.Index("ix_events_command_id", "command_id"),
)

tickets = sa.Table(
    "tickets",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # "20261123-B017"
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("prefix", sa.String(2), nullable=False),
    sa.Column("sequence", sa.Integer, nullable=False),
    # The tie-breaker of the place in line: the issue order, or (after a requeue
    # between two tickets tied on virtual_at) a fraction between theirs.
    sa.Column("serial", sa.Float, nullable=False),
    sa.Column("number", sa.String(16), nullable=False),
    sa.Column("queue", sa.String(64), nullable=False),
    sa.Column("ticket_class", sa.String(16), nullable=False),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("virtual_at", sa.Float, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("window", sa.String(32)),
    sa.Column("called_at", sa.Float),
    sa.Column("started_at", sa.Float),
    sa.Column("finished_at", sa.Float),
    sa.Column("recalls", sa.Integer, nullable=False, default=0),
    sa.Column("requeues", sa.Integer, nullable=False, default=0),
    sa.Column("transfers", sa.Integer, nullable=False, default=0),
    sa.Column("served_by", sa.String(32)),
    sa.Column("rating", sa.Integer),
    sa.Column("issued_seq", sa.Integer, sa.ForeignKey("events.seq"), nullable=False),
    # The database itself refuses a number issued twice in a day.
    sa.UniqueConstraint("day", "prefix", "sequence", name="uq_tickets_day_number"),
)

windows = sa.Table(
    "windows",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("state", sa.String(16), nullable=False, default="closed"),
    sa.Column("ticket", sa.String(32)),
    sa.Column("pause_reason", sa.Text),
    # JSON lists of queue ids; NULL = as planned in the hall file (store opened without it)
    sa.Column("main", sa.Text),
    sa.Column("side", sa.Text),
    sa.Column("side_when_overdue", sa.Boolean),
    sa.Column("updated_seq", sa.Integer, sa.ForeignKey("events.seq")),
)

# One row: the version of this schema the store is at (dispatcher/store/migrate.py).
schema_version = sa.Table(
    "onewindow_schema",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
)

# The core's whole state just after event ``seq``, so a start decodes only the events
# after it (dispatcher/store/snapshots.py); ignored unless ``code`` and ``hall`` match.
snapshots = sa.Table(
    "snapshots",
    metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("at", sa.Float, nullable=False),           # the time of event ``seq``
    sa.Column("code", sa.String(32), nullable=False),    # core/codec.py CODE_DIGEST
    sa.Column("hall", sa.String(32), nullable=False),    # core/codec.py hall_digest
    sa.Column("data", sa.LargeBinary, nullable=False),   # zlib JSON: core/codec.py
    sa.Column("written_at", sa.Float, nullable=False),
)
