"""The central schema on PostgreSQL: halls, the partitioned event log, the ingest function.

``events`` is partitioned LIST by hall, then RANGE by month (the business day's month).
Hall first because everything the centre does is per hall: a shipper writes into its
own hall's tree only, the supervision view and a hall's report read one hall's
partitions, a hall joins by getting its own partition and one that leaves is detached
and archived whole; the month under it keeps a month's report to one small table and
lets old months be detached. PostgreSQL needs every partition key in a unique key,
so the primary key is (hall, month, seq); that (hall, seq) is unique on its own is
kept by the ingest function, which takes a hall's rows only in seq order from its
``shipped_seq`` on, under a lock on the hall's row; rows at or below it (a batch
shipped twice) are skipped before the INSERT. A plain INSERT, not ON CONFLICT DO
NOTHING: a conflict could only mean rows written around this function, and should
fail loudly rather than keep them (and the speculative insertion cost 10% of the
ingest rate: docs/central.md).

The only way in for a shipper is ``ship(hall, credential, …)``, a SECURITY DEFINER
function reading the batch the shipper COPYed into its session's temporary
``ship_rows`` (made by ``staging()``): it checks the credential against the hall's
salted hash and writes the rows under the hall id it checked, so a hall's credential
cannot write another hall's rows. The ``<schema>_shipper`` role may execute these
functions and nothing else.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

SCHEMA = "onewindow_central"
SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
HALL_ID = re.compile(r"^[a-z0-9_]{1,40}$")   # becomes part of a partition's table name
VERSION = 1


def schema_problem(name: str) -> str | None:
    if not SCHEMA_NAME.fullmatch(name):
        return (f"schema {name!r}: lower-case letters, digits and _ only, at most 41, "
                "not starting with a digit")
    return None


def hall_problem(hall: str) -> str | None:
    if not HALL_ID.fullmatch(hall):
        return f"hall id {hall!r}: lower-case letters, digits and _ only, 1 to 40 of them"
    return None


def _ddl(s: str) -> list[str]:
    return [
        f"CREATE SCHEMA IF NOT EXISTS {s}",
        f"""CREATE TABLE IF NOT EXISTS {s}.meta (version integer NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS {s}.halls (
            id text PRIMARY KEY CHECK (id ~ '^[a-z0-9_]{{1,40}}$'),
            credential_hash text NOT NULL,
            shipped_seq bigint NOT NULL DEFAULT 0,
            shipped_recorded_at double precision,
            head_seq bigint NOT NULL DEFAULT 0,
            head_recorded_at double precision,
            seen_at timestamptz,
            joined_at timestamptz NOT NULL DEFAULT now())""",
        f"""CREATE TABLE IF NOT EXISTS {s}.events (
            hall text NOT NULL,
            month date NOT NULL,
            seq bigint NOT NULL,
            day text,
            at double precision NOT NULL,
            name text NOT NULL,
            data text NOT NULL,
            device text,
            actor text,
            command_id text,
            command_hash text,
            recorded_at double precision NOT NULL,
            PRIMARY KEY (hall, month, seq)
        ) PARTITION BY LIST (hall)""",
        f"CREATE INDEX IF NOT EXISTS events_hall_name_seq ON {s}.events (hall, name, seq)",
        f"CREATE INDEX IF NOT EXISTS events_hall_seq ON {s}.events (hall, seq)",
        f"""CREATE OR REPLACE FUNCTION {s}.credential_ok(p_hash text, p_credential text)
            RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
              SELECT p_hash = 'sha256$' || split_part(p_hash, '$', 2) || '$' ||
                encode(sha256(decode(split_part(p_hash, '$', 2), 'hex') ||
                              convert_to(p_credential, 'UTF8')), 'hex')
            $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.ensure_partition(p_hall text, p_month date)
            RETURNS void LANGUAGE plpgsql AS $$
            DECLARE
              parent text := 'ev_' || p_hall;
              child text := 'ev_' || p_hall || '_' || to_char(p_month, 'YYYYMM');
            BEGIN
              IF to_regclass(format('%I.%I', '{s}', parent)) IS NULL THEN
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.events FOR VALUES IN (%L)'
                               ' PARTITION BY RANGE (month)', '{s}', parent, '{s}', p_hall);
              END IF;
              IF to_regclass(format('%I.%I', '{s}', child)) IS NULL THEN
                EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) '
                               'TO (%L)', '{s}', child, '{s}', parent, p_month,
                               (p_month + interval '1 month')::date);
              END IF;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.checked_hall(p_hall text, p_credential text)
            RETURNS {s}.halls LANGUAGE plpgsql AS $$
            DECLARE h {s}.halls;
            BEGIN
              SELECT * INTO h FROM {s}.halls WHERE id = p_hall FOR UPDATE;
              IF NOT FOUND OR NOT {s}.credential_ok(h.credential_hash, p_credential) THEN
                RAISE EXCEPTION 'hall % or its credential not accepted', p_hall
                  USING ERRCODE = '28000';
              END IF;
              RETURN h;
            END $$""",
        f"""CREATE OR REPLACE FUNCTION {s}.shipped(p_hall text, p_credential text)
            RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
              RETURN ({s}.checked_hall(p_hall, p_credential)).shipped_seq;
            END $$""",
        # The shipper's staging table, made by the schema's owner in the shipper's own
        # session (temporary): the shipper may only INSERT (COPY) into it.
        f"""CREATE OR REPLACE FUNCTION {s}.staging() RETURNS void LANGUAGE plpgsql
            SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
              IF to_regclass('pg_temp.ship_rows') IS NULL THEN
                CREATE TEMP TABLE ship_rows (
                    seq bigint NOT NULL, day text, at double precision NOT NULL,
                    name text NOT NULL, data text NOT NULL, device text, actor text,
                    command_id text, command_hash text,
                    recorded_at double precision NOT NULL) ON COMMIT DELETE ROWS;
                EXECUTE format('GRANT INSERT ON pg_temp.ship_rows TO %I, {s}_shipper',
                               session_user);
              END IF;
            END $$""",
        # The batch is in the caller's temporary table ship_rows (STAGING, filled by
        # COPY in the same transaction): a hall's rows in seq order.
        f"""CREATE OR REPLACE FUNCTION {s}.ship(p_hall text, p_credential text,
                                              p_head_seq bigint,
                                              p_head_recorded_at double precision)
            RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER
            SET search_path = pg_catalog, pg_temp
            SET TimeZone = 'UTC' AS $$   -- an event without a day: its UTC month, always
            DECLARE
              h {s}.halls := {s}.checked_hall(p_hall, p_credential);
              v_first bigint; v_last bigint; v_count bigint; v_at double precision;
              v_lo date; v_hi date; m date;
            BEGIN
              -- one pass over the batch: its new rows' span, months and last time
              SELECT min(seq), max(seq), count(*),
                     min(coalesce(day::date, to_timestamp(at)::date)),
                     max(coalesce(day::date, to_timestamp(at)::date)),
                     (array_agg(recorded_at ORDER BY seq DESC))[1]
                INTO v_first, v_last, v_count, v_lo, v_hi, v_at
                FROM pg_temp.ship_rows WHERE seq > h.shipped_seq;
              IF v_count > 0 THEN
                IF v_first <> h.shipped_seq + 1 OR v_last - v_first + 1 <> v_count THEN
                  RAISE EXCEPTION 'hall %: rows % to % (% of them) do not follow seq %',
                    p_hall, v_first, v_last, v_count, h.shipped_seq USING ERRCODE = '22023';
                END IF;
                FOR m IN SELECT generate_series(date_trunc('month', v_lo),
                                                date_trunc('month', v_hi),
                                                interval '1 month')::date LOOP
                  PERFORM {s}.ensure_partition(p_hall, m);
                END LOOP;
                INSERT INTO {s}.events SELECT p_hall,
                    date_trunc('month', coalesce(day::date, to_timestamp(at)::date))::date,
                    seq, day, at, name, data, device, actor, command_id, command_hash,
                    recorded_at
                  FROM pg_temp.ship_rows WHERE seq > h.shipped_seq;
                h.shipped_seq := v_last;
                h.shipped_recorded_at := v_at;
              END IF;
              UPDATE {s}.halls SET seen_at = now(), shipped_seq = h.shipped_seq,
                shipped_recorded_at = h.shipped_recorded_at,
                head_seq = greatest(p_head_seq, h.shipped_seq),
                head_recorded_at = coalesce(p_head_recorded_at, head_recorded_at)
                WHERE id = p_hall;
              RETURN h.shipped_seq;
            END $$""",
    ]


def _grants(s: str) -> list[str]:
    role = f"{s}_shipper"
    return [
        f"""DO $$ BEGIN
              IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                CREATE ROLE {role} NOLOGIN;
              END IF;
            END $$""",
        f"REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {s} FROM PUBLIC",
        f"GRANT USAGE ON SCHEMA {s} TO {role}",
        f"GRANT EXECUTE ON FUNCTION {s}.ship(text, text, bigint, double precision),"
        f" {s}.shipped(text, text), {s}.staging() TO {role}",
    ]


def init(engine: sa.Engine, s: str = SCHEMA) -> None:
    """Create the central schema, or bring it to this version (idempotent)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (s,))
        cursor = conn.connection.dbapi_connection.cursor()  # no params: % is literal
        for statement in _ddl(s) + _grants(s):
            cursor.execute(statement)
        if conn.exec_driver_sql(f"SELECT count(*) FROM {s}.meta").scalar() == 0:
            conn.exec_driver_sql(f"INSERT INTO {s}.meta VALUES ({VERSION})")


def drop(engine: sa.Engine, s: str) -> None:
    """Remove the schema and its shipper role (tests, benchmarks)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {s} CASCADE")
        role = f"{s}_shipper"
        if conn.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).first():
            # its grants on live sessions' staging tables would hold the role back
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")


def add_hall(engine: sa.Engine, s: str, hall: str, credential_hash: str) -> None:
    """Register a hall (its partition made now); ValueError if it exists already."""
    with engine.begin() as conn:
        found = conn.exec_driver_sql(f"SELECT 1 FROM {s}.halls WHERE id = %s", (hall,)).first()
        if found:
            raise ValueError(f"hall {hall} is registered already")
        conn.exec_driver_sql(f"INSERT INTO {s}.halls (id, credential_hash) VALUES (%s, %s)",
                             (hall, credential_hash))
        conn.exec_driver_sql(
            f"SELECT {s}.ensure_partition(%s, date_trunc('month', now())::date)", (hall,))


def is_initialised(engine: sa.Engine, s: str) -> bool:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT to_regclass(%s)", (f"{s}.halls",)).scalar() \
            is not None
