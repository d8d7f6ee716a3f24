"""Shared fixtures: the sample hall, hall-local times, and a database on each backend.

PostgreSQL is not optional: when it cannot be reached the tests that need it fail
with the reason (the README's `make test` starts it where it is installed).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hub_process import LiveHub

from dispatcher.hall import SAMPLE_HALL, Hall, load_hall

PG_URL = os.environ.get("ONEWINDOW_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def sample_hall() -> Hall:
    return load_hall(SAMPLE_HALL)


def hall_time(hall: Hall, hhmm: str, day: str = "2026-11-23", seconds: float = 0) -> float:
    """Epoch seconds of a local wall-clock time in the hall (2026-11-23 is a Monday)."""
    local = datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=ZoneInfo(hall.timezone))
    return local.timestamp() + seconds


@pytest.fixture(scope="session")
def postgres_available() -> str:
    import sqlalchemy as sa

    engine = sa.create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
    except Exception as exc:  # a failure, never a skip: CI must not go green without it
        pytest.fail(f"PostgreSQL at {PG_URL} cannot be reached: {exc}")
    finally:
        engine.dispose()
    return PG_URL


def _pg_schema_url(base: str) -> Iterator[str]:
    """A fresh schema per test, so tests never see each other's rows."""
    import sqlalchemy as sa

    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(base)
    with engine.begin() as conn:
        conn.execute(sa.text(f"create schema {schema}"))
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"drop schema {schema} cascade"))
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """A database URL for an empty store, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'onewindow.db'}"
    else:
        base = request.getfixturevalue("postgres_available")
        yield from _pg_schema_url(base)


@pytest.fixture
def hall(tmp_path) -> Iterator[LiveHub]:
    """A live hub subprocess on a fresh SQLite file, killed after the test."""
    live = LiveHub(f"sqlite:///{tmp_path / 'hall.db'}")
    yield live
    live.hub.kill()

