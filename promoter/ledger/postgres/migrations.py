"""The PostgreSQL ledger's schema, as migrations applied in order (data: SQL only).

Each migration is applied once, recorded in ``schema_migrations``; see
:meth:`promoter.ledger.postgres.PostgresLedger.migrate`.
"""

from __future__ import annotations

from dataclasses import dataclass

HISTORY_TABLES_OF_MIGRATION_2 = (
    "runs",
    "run_status",
    "stage_events",
    "documents",
    "progress",
    "lock_events",
)
"""The history tables migration 2 made append-only (a released migration never changes; later
tables get their triggers in the migration that creates them)."""


def _append_only(table: str) -> str:
    return f"""
CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION promoter_history_is_append_only();
CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION promoter_history_is_append_only();
"""


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
            for table in HISTORY_TABLES_OF_MIGRATION_2
        ),
    ),
    Migration(
        3,
        "progress events carry data (e.g. a smoke execution's id, for resume)",
        "ALTER TABLE progress ADD COLUMN data text;",
    ),
    Migration(
        4,
        "releases, and which release each run promoted",
        """
CREATE TABLE releases (
    id text COLLATE "C" PRIMARY KEY,
    created_at text NOT NULL,
    pipeline_name text NOT NULL,
    source text NOT NULL,
    digest text NOT NULL,
    created_by text NOT NULL,
    versions text NOT NULL,
    hotfix boolean NOT NULL,
    body text NOT NULL
);
CREATE INDEX releases_digest ON releases (pipeline_name, digest);
CREATE INDEX releases_newest ON releases (created_at DESC, id DESC);
CREATE TABLE run_releases (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id text COLLATE "C" NOT NULL REFERENCES runs(id),
    at text NOT NULL,
    release_id text COLLATE "C" NOT NULL REFERENCES releases(id)
);
CREATE INDEX run_releases_run ON run_releases (run_id, seq);
CREATE INDEX run_releases_release ON run_releases (release_id);
"""
        + _append_only("releases")
        + _append_only("run_releases"),
    ),
    Migration(
        5,
        "request budgets shared by the runners behind one address (budget_scope: shared)",
        """
CREATE TABLE budget_slots (
    key text COLLATE "C" NOT NULL,
    family text COLLATE "C" NOT NULL,
    at double precision NOT NULL
);
CREATE INDEX budget_slots_window ON budget_slots (key, family, at);
CREATE FUNCTION promoter_reserve_slots(
    p_key text, p_family text, p_budget integer, p_period double precision,
    p_margin double precision, p_count integer
) RETURNS double precision[] LANGUAGE plpgsql AS $reserve$
DECLARE
    now_ double precision;
    back double precision[];
    slots double precision[] := '{}';
    missing integer;
    slot double precision;
BEGIN
    -- One reservation at a time per key and family (the transaction holds the lock).
    PERFORM pg_advisory_xact_lock(hashtext('promoter budget'), hashtext(p_key || ' ' || p_family));
    now_ := extract(epoch FROM clock_timestamp());
    DELETE FROM budget_slots
        WHERE key = p_key AND family = p_family AND at < now_ - p_period - p_margin;
    -- The slots p_budget places before each new one (oldest first; fewer when the window
    -- holds fewer than p_budget): a new slot comes a period (and the margin) after its own.
    SELECT coalesce(array_agg(at ORDER BY at), '{}') INTO back FROM (
        SELECT at FROM budget_slots WHERE key = p_key AND family = p_family
        ORDER BY at DESC OFFSET greatest(p_budget - p_count, 0) LIMIT p_count
    ) AS earlier;
    missing := p_count - coalesce(array_length(back, 1), 0);
    FOR i IN 1..p_count LOOP
        slot := now_;
        IF i > missing THEN
            slot := greatest(slot, back[i - missing] + p_period + p_margin);
        END IF;
        IF i > 1 THEN
            slot := greatest(slot, slots[i - 1]);
        END IF;
        slots := slots || slot;
    END LOOP;
    INSERT INTO budget_slots (key, family, at)
        SELECT p_key, p_family, s FROM unnest(slots) AS s;
    RETURN now_ || slots;
END
$reserve$;
""",
    ),
)
"""Every schema version, oldest first. Never edit a released one: add the next."""

SCHEMA_VERSION = MIGRATIONS[-1].version
