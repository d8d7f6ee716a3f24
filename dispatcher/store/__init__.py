"""The durable event store (SQLAlchemy Core): SQLite by default, PostgreSQL alike."""

from .schema import events, metadata, tickets, windows
from .store import SQLITE_PRAGMAS, EventStore, StoreError, StoreOpenError

__all__ = ["SQLITE_PRAGMAS", "EventStore", "StoreError", "StoreOpenError", "events", "metadata",
           "tickets", "windows"]
