"""The durable event store (SQLAlchemy Core): SQLite by default, PostgreSQL alike."""

from .schema import events, metadata, tickets, windows
from .store import SQLITE_PRAGMAS, EventStore, StoreError

__all__ = ["SQLITE_PRAGMAS", "EventStore", "StoreError", "events", "metadata", "tickets",
           "windows"]
