"""The durable event store (SQLAlchemy Core): SQLite by default, PostgreSQL alike."""

from .migrate import SCHEMA_VERSION, SchemaVersionError
from .schema import events, metadata, tickets, windows
from .store import SQLITE_PRAGMAS, Appended, EventStore, StoreError, StoreOpenError

__all__ = ["SCHEMA_VERSION", "SQLITE_PRAGMAS", "Appended", "EventStore", "SchemaVersionError",
           "StoreError", "StoreOpenError", "events", "metadata", "tickets", "windows"]
