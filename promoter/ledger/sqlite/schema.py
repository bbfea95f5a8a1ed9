"""The SQLite ledger's schema (data: SQL only): the tables, the triggers that keep the history
append-only, and the migrations an older file receives (versioned with ``PRAGMA user_version``).
"""

from __future__ import annotations

from promoter.ledger.history import HISTORY_TABLES

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    user TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    command TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    pipeline_file TEXT NOT NULL,
    pipeline_sha256 TEXT NOT NULL,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT,
    dry_run INTEGER NOT NULL,
    versions TEXT NOT NULL,
    variables TEXT NOT NULL,
    options TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS releases (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    pipeline_name TEXT NOT NULL,
    source TEXT NOT NULL,
    digest TEXT NOT NULL,
    created_by TEXT NOT NULL,
    versions TEXT NOT NULL,
    hotfix INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS releases_digest ON releases(pipeline_name, digest);
CREATE TABLE IF NOT EXISTS run_releases (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    release_id TEXT NOT NULL REFERENCES releases(id)
);
CREATE INDEX IF NOT EXISTS run_releases_run ON run_releases(run_id, seq);
CREATE INDEX IF NOT EXISTS run_releases_release ON run_releases(release_id);
CREATE TABLE IF NOT EXISTS run_status (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    status TEXT NOT NULL,
    exit_code INTEGER,
    message TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS run_status_run ON run_status(run_id, seq);
CREATE TABLE IF NOT EXISTS stage_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    stage TEXT NOT NULL,
    event TEXT NOT NULL,
    status TEXT NOT NULL,
    plugin TEXT,
    duration REAL NOT NULL,
    messages TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_run ON documents(run_id, kind, seq);
CREATE TABLE IF NOT EXISTS progress (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs(id),
    at TEXT NOT NULL,
    stage TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    message TEXT,
    data TEXT
);
CREATE TABLE IF NOT EXISTS locks (
    target TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at REAL NOT NULL,
    epoch INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS lock_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    target TEXT NOT NULL,
    event TEXT NOT NULL,
    run_id TEXT,
    owner TEXT,
    host TEXT,
    pid INTEGER,
    detail TEXT,
    epoch INTEGER
);
""" + "".join(
    f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'the ledger history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, 'the ledger history is append-only'); END;
"""
    for table in HISTORY_TABLES
)


SQLITE_MIGRATIONS: tuple[tuple[int, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        1,
        "fencing epochs on locks and lock events; data on progress events",
        (
            ("locks", "epoch", "INTEGER NOT NULL DEFAULT 0"),
            ("lock_events", "epoch", "INTEGER"),
            ("progress", "data", "TEXT"),
        ),
    ),
    # The tables of releases are created by SCHEMA (CREATE TABLE IF NOT EXISTS), like their
    # append-only triggers: an older file gets them when this promoter opens it.
    (2, "releases, and which release each run promoted", ()),
)
"""The SQLite file's schema versions after the first: ``(user_version, what, columns added)``.
Only additive changes (new nullable or defaulted columns, new tables), so an older file keeps its history and
the tables of :data:`SCHEMA` (which a new file gets whole) stay the reference. Never edit one: add
the next."""

SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[-1][0]
