"""The PostgreSQL ledger's schema, as migrations applied in order (data: SQL only).

Each migration is applied once, recorded in ``schema_migrations``; see
:meth:`promoter.ledger.postgres.PostgresLedger.migrate`.
"""

from __future__ import annotations

from dataclasses import dataclass

from promoter.ledger.base import HISTORY_TABLES


@dataclass(frozen=True)
class Migration:
    """One schema change, applied once and recorded in ``schema_migrations``."""

    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "history tables, the lock table and the fencing-token sequence",
        """
CREATE TABLE runs (
    id text COLLATE "C" PRIMARY KEY,
    created_at text COLLATE "C" NOT NULL,
    "user" text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    command text NOT NULL,
    pipeline_name text NOT NULL,
    pipeline_file text NOT NULL,
    pipeline_sha256 text NOT NULL,
    source text NOT NULL,
    target text NOT NULL,
    reason text,
    dry_run boolean NOT NULL,
    versions text NOT NULL,
    variables text NOT NULL,
    options text NOT NULL
);
CREATE INDEX runs_newest ON runs (created_at DESC, id DESC);
CREATE INDEX runs_target ON runs (target, created_at DESC);
CREATE TABLE run_status (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    at text NOT NULL,
    status text NOT NULL,
    exit_code integer,
    message text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL
);
CREATE INDEX run_status_run ON run_status (run_id, seq);
CREATE TABLE stage_events (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    at text NOT NULL,
    stage text NOT NULL,
    event text NOT NULL,
    status text NOT NULL,
    plugin text,
    duration double precision NOT NULL,
    messages text NOT NULL
);
CREATE INDEX stage_events_run ON stage_events (run_id, seq);
CREATE TABLE documents (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    at text NOT NULL,
    kind text NOT NULL,
    body text NOT NULL
);
CREATE INDEX documents_run ON documents (run_id, kind, seq);
CREATE TABLE progress (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    at text NOT NULL,
    stage text NOT NULL,
    kind text NOT NULL,
    key text NOT NULL,
    status text NOT NULL,
    message text
);
CREATE INDEX progress_run ON progress (run_id, seq);
CREATE TABLE lock_events (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at text NOT NULL,
    target text NOT NULL,
    event text NOT NULL,
    run_id text,
    owner text,
    host text,
    pid integer,
    detail text,
    epoch bigint
);
CREATE INDEX lock_events_target ON lock_events (target, seq);
CREATE SEQUENCE lock_epoch;
CREATE TABLE locks (
    target text PRIMARY KEY,
    run_id text NOT NULL,
    owner text NOT NULL,
    host text NOT NULL,
    pid integer NOT NULL,
    acquired_at text NOT NULL,
    expires_at timestamptz NOT NULL,
    epoch bigint NOT NULL,
    backend_pid integer NOT NULL,
    lock_key bigint NOT NULL
);
""",
    ),
    Migration(
        2,
        "append-only history: triggers refuse UPDATE, DELETE and TRUNCATE",
        """
CREATE FUNCTION promoter_history_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger history is append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING HINT = 'runs are never edited: record a new status instead';
END $$;
"""
        + "".join(
            f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION promoter_history_is_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION promoter_history_is_append_only();
"""
            for table in HISTORY_TABLES
        ),
    ),
    Migration(
        3,
        "progress events carry data (e.g. a smoke execution's id, for resume)",
        "ALTER TABLE progress ADD COLUMN data text;",
    ),
)
"""Every schema version, oldest first. Never edit a released one: add the next."""

SCHEMA_VERSION = MIGRATIONS[-1].version
