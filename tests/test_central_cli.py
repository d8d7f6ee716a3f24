"""The centre's ingest on the real PostgreSQL, and every operator mistake of `onewindow
central`, `onewindow ship` and `onewindow report --central`: one `error:` line, exit 2,
nothing changed."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import PG_URL
from hub_process import ROOT

from dispatcher.central import ingest
from dispatcher.central.schema import add_hall, drop, init
from dispatcher.hub.devices import hash_token


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dispatcher.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def centre(postgres_available) -> Iterator[tuple[sa.Engine, str]]:
    engine = sa.create_engine(PG_URL)
    schema = f"t_central_{uuid.uuid4().hex[:10]}"
    init(engine, schema)
    add_hall(engine, schema, "hall_a", hash_token("secret-a"))
    add_hall(engine, schema, "hall_b", hash_token("secret-b"))
    try:
        yield engine, schema
    finally:
        drop(engine, schema)
        engine.dispose()


def row(seq: int, day: str = "2026-11-23") -> tuple[object, ...]:
    return (seq, day, 1795400000.0 + seq, "ticket_issued", f'{{"seq":{seq}}}', "K-B1", None,
            None, None, 1795400000.0 + seq)


def stored(engine: sa.Engine, schema: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f"SELECT hall, month, seq FROM {schema}.events ORDER BY hall, seq")]


def test_a_batch_shipped_twice_is_stored_once_and_months_get_their_partitions(centre
                                                                             ) -> None:
    engine, schema = centre
    batch = [row(1, "2026-11-30"), row(2, "2026-12-01"), row(3, "2026-12-01")]
    with engine.connect() as conn:
        assert ingest.ship(conn, schema, "hall_a", "secret-a", batch, (3, 1.0)) == 3
        assert ingest.ship(conn, schema, "hall_a", "secret-a", batch, (3, 1.0)) == 3
        assert ingest.ship(conn, schema, "hall_a", "secret-a", [*batch, row(4)],
                           (4, 1.0)) == 4
        assert ingest.shipped(conn, schema, "hall_a", "secret-a") == 4
    assert [r[2] for r in stored(engine, schema)] == [1, 2, 3, 4]
    with engine.connect() as conn:
        parts = set(conn.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n "
            "ON n.oid = p.relnamespace WHERE n.nspname = %s AND p.relname = 'ev_hall_a'",
            (schema,)).scalars())
    assert {"ev_hall_a_202611", "ev_hall_a_202612"} <= parts


def test_a_batch_with_a_gap_or_a_wrong_credential_changes_nothing(centre) -> None:
    engine, schema = centre
    with engine.connect() as conn:
        ingest.ship(conn, schema, "hall_a", "secret-a", [row(1), row(2)], (2, 1.0))
        with pytest.raises(sa.exc.DBAPIError, match="do not follow seq 2"):
            ingest.ship(conn, schema, "hall_a", "secret-a", [row(4), row(5)], (5, 1.0))
        with pytest.raises(ingest.Refused, match="hall hall_b"):
            ingest.ship(conn, schema, "hall_b", "secret-a", [row(1)], (1, 1.0))
        with pytest.raises(ingest.Refused):
            ingest.shipped(conn, schema, "hall_c", "secret-a")
    assert stored(engine, schema) == [("hall_a", stored(engine, schema)[0][1], 1),
                                      ("hall_a", stored(engine, schema)[0][1], 2)]


def one_error(done: subprocess.CompletedProcess[str], says: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert says in lines[0], lines[0]


def test_every_mistake_on_the_command_line_is_one_error_line(centre, tmp_path: Path
                                                            ) -> None:
    engine, schema = centre
    s = ["--schema", schema]
    cred = tmp_path / "a.cred"
    one_error(cli("central", "--db", "sqlite:///x.db", "--init"), "the central store is "
              "PostgreSQL")
    one_error(cli("central", "--db", PG_URL, "--schema", "Bad-Name", "--init"), "schema")
    one_error(cli("central", "--db", PG_URL, "--schema", "t_nothing_here", "--add-hall", "x",
                  "--credential", str(cred)), "--init")
    one_error(cli("central", "--db", PG_URL, *s, "--add-hall", "Hall A", "--credential",
                  str(cred)), "hall id")
    one_error(cli("central", "--db", PG_URL, *s, "--add-hall", "hall_c"), "--credential")
    one_error(cli("central", "--db", PG_URL, *s, "--add-hall", "hall_a", "--credential",
                  str(cred)), "registered already")
    assert not cred.exists()
    one_error(cli("central", "--db", PG_URL, *s), "--devices")
    one_error(cli("central", "--db", "postgresql+psycopg://postgres@127.0.0.1:9/test",
                  "--init"), "--db")

    ship = ["ship", "--central", PG_URL, "--hall", "hall_a", *s]
    hall_db = tmp_path / "hall.db"
    hall_db.write_bytes(b"")
    one_error(cli(*ship, "--db", f"sqlite:///{hall_db}", "--credential",
                  str(tmp_path / "none")), "cannot read it")
    cred.write_text("secret-a\n")
    one_error(cli(*ship, "--db", f"sqlite:///{tmp_path / 'no.db'}", "--credential",
                  str(cred)), "no such database file")
    one_error(cli(*ship, "--db", f"sqlite:///{hall_db}", "--credential", str(cred),
                  "--batch", "0"), "--batch")

    report = ["report", "--from", "2026-11-23", "--to", "2026-11-23"]
    central = ["--central", PG_URL, "--central-schema", schema]
    one_error(cli(*report, *central, "--hall-id", "hall_z"), "no such hall")
    one_error(cli(*report, *central, "--format", "html"), "--hall-id")
    one_error(cli(*report, *central, "--db", f"sqlite:///{hall_db}"), "--central")
    one_error(cli(*report), "--central")
    assert [r[0] for r in stored(engine, schema)] == []


def test_a_new_hall_gets_a_credential_only_its_file_holds(centre, tmp_path: Path) -> None:
    engine, schema = centre
    cred = tmp_path / "c.cred"
    done = cli("central", "--db", PG_URL, "--schema", schema, "--add-hall", "hall_c",
               "--credential", str(cred))
    assert done.returncode == 0, done.stderr
    secret = cred.read_text().strip()
    assert len(secret) >= 32 and secret not in done.stdout
    assert cred.stat().st_mode & 0o077 == 0
    with engine.connect() as conn:
        kept = conn.exec_driver_sql(f"SELECT credential_hash FROM {schema}.halls "
                                    "WHERE id = 'hall_c'").scalar_one()
        assert secret not in kept and kept.startswith("sha256$")
        conn.rollback()
        assert ingest.shipped(conn, schema, "hall_c", secret) == 0
