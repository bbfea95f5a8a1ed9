"""The shared ledger on PostgreSQL, for teams whose promotions run on many CI runners.

Selected with ``PROMOTER_LEDGER=postgresql://user:password@host:port/database`` (or ``--ledger``).
It keeps the same history as :class:`~promoter.ledger.SQLiteLedger` (append-only, enforced by
triggers that refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on history tables) so every runner
sees every run, and can resume or roll back a run that another runner started.

Schema
    Created and upgraded by promoter: :data:`MIGRATIONS` are applied in order, each recorded in
    ``schema_migrations``, under a transaction-scoped advisory lock so that runners starting
    together migrate once. Opening the ledger applies the missing migrations;
    ``promoter ledger migrate`` does it explicitly (for a DBA role). A database migrated by a newer
    promoter is refused rather than misread.

Locks: a lease row, a session advisory lock, and a fencing token
    A target's lock is a row of ``locks`` (the *lease*: holder, ``expires_at`` on the database's
    clock, and ``epoch``, a fencing token from a sequence, new at every acquisition) **and** a
    session-scoped advisory lock on the target's key, held by the runner's dedicated *lock
    session* (a second connection that also renews the lease). A holder is alive while both hold:
    the lease is unexpired and its session still has the advisory lock.

    - *Two runners never promote into one target at once*: acquiring needs the advisory lock
      first (``pg_try_advisory_lock``, which PostgreSQL grants to one session), then the row is
      written under ``SELECT ... FOR UPDATE``.
    - *A crashed holder is taken over quickly*: when its process dies, its connections close and
      PostgreSQL releases the advisory lock at once; a waiter that gets it takes the row over
      (recorded as ``taken-over``) without waiting for the lease. Its run shows ``interrupted``
      to every runner and ``promoter resume`` continues it from any of them.
    - *A partitioned or frozen holder is stopped*: it cannot renew, so its lease lapses; the lock
      session runs with ``idle_session_timeout`` = the lease, so the server also ends that
      session (and frees the advisory lock) once the holder has been silent for a lease.
      A waiter finding an expired lease whose session still holds the advisory lock ends that
      session (``pg_terminate_backend``; runners share a role, or have ``pg_signal_backend``).
    - *A holder that lost its lease writes nothing more*: every write of a run whose lock this
      ledger took (``create_run``, ``set_status``, stage events, documents, progress) first
      reads its lease row ``WHERE epoch = <ours> AND expires_at > now FOR SHARE`` in the same
      transaction; when the row is gone, expired or re-taken nothing is inserted and
      :class:`~promoter.ledger.LeaseLost` stops the run with a message naming the new holder.
      ``FOR SHARE`` orders a write against a concurrent take-over (an ``UPDATE`` of that row):
      one of them commits first, never both half-way.

    Leases are measured on the database's clock only, so runners' clocks may disagree. A lapsed
    lease is lost even if nobody took it: a runner that stalled for a whole lease must not carry
    on as if nothing happened; ``promoter resume`` continues the run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

try:
    import psycopg
    from psycopg.rows import dict_row
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    from promoter.errors import LedgerError

    raise LedgerError(
        "the PostgreSQL ledger needs psycopg",
        hint="pip install 'promoter[postgres]' (psycopg 3)",
    ) from exc

from promoter.errors import LedgerError, LockHeld, RunNotFound
from promoter.ledger import (
    HISTORY_COLUMNS,
    HOSTNAME,
    LEDGER_ENV,
    LeaseLost,
    Ledger,
    LockInfo,
    RunRecord,
    _iso,
    lease_lost,
    live_holder_refused,
    pid_alive,
    progress_event,
    rows_to_import,
    run_record,
    unlock_detail,
)
from promoter.run import ObjectProgress, RunStatus, StageOutcome

Row = dict[str, Any]


@dataclass(frozen=True)
class Migration:
    """One schema change, applied once and recorded in ``schema_migrations``."""

    version: int
    name: str
    sql: str


_HISTORY_TABLES = ("runs", "run_status", "stage_events", "documents", "progress", "lock_events")

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
            for table in _HISTORY_TABLES
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


def lock_key(target: str, schema: str = "public") -> int:
    """The advisory-lock key (a signed 64-bit integer) of a target in the ledger's schema.

    Advisory locks belong to a database, not to a schema: the schema is part of the key so that
    two ledgers in one database (``?options=-csearch_path%3Dteam_b``) never share a lock.
    """
    digest = hashlib.sha256(f"promoter-lock:{schema}:{target}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def display_url(url: str) -> str:
    """The URL without its password (for messages)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


@dataclass(frozen=True)
class _Held:
    """A lock this ledger object holds: which run, which epoch, which advisory key."""

    run_id: str
    epoch: int
    key: int


# Lock rows with their lease measured on the server's clock, and whether the holder's session
# still holds the advisory lock.
_LOCK_SELECT = """
SELECT l.target, l.run_id, l.owner, l.host, l.pid, l.acquired_at, l.epoch, l.backend_pid,
       l.lock_key,
       extract(epoch FROM l.expires_at - clock_timestamp())::float8 AS expires_in,
       (SELECT a.pid FROM pg_locks a
        WHERE a.locktype = 'advisory' AND a.granted AND a.objsubid = 1
          AND a.database = (SELECT oid FROM pg_database WHERE datname = current_database())
          AND a.classid::text::bigint = (l.lock_key >> 32) & 4294967295
          AND a.objid::text::bigint = l.lock_key & 4294967295
        LIMIT 1) AS session_pid
FROM locks l
"""


def _lock_info(row: Row) -> LockInfo:
    return LockInfo(
        target=row["target"],
        run_id=row["run_id"],
        owner=row["owner"],
        host=row["host"],
        pid=row["pid"],
        acquired_at=row["acquired_at"],
        expires_at=time.time() + float(row["expires_in"]),
        epoch=row["epoch"],
        connected=row["session_pid"] is not None and row["session_pid"] == row["backend_pid"],
    )


class PostgresLedger(Ledger):
    """The shared ledger: PostgreSQL, safe for many runners on many hosts (see the module doc).

    One data connection (autocommit; one statement or one transaction per call, serialised by
    a mutex so that the heartbeat thread may share the object) and, while a lock is held, one
    lock session.
    """

    def __init__(self, url: str, *, connect_timeout: float = 10.0, migrate: bool = True) -> None:
        self.url = url
        self.path = display_url(url)  # where SQLiteLedger names its file, for messages
        self._connect_timeout = connect_timeout
        self._mutex = threading.RLock()
        self._lock_db: psycopg.Connection[Row] | None = None
        self._held: dict[str, _Held] = {}
        self._fences: dict[str, tuple[str, int]] = {}  # run_id -> (target, epoch)
        self._db = self._connect()
        found = self._db.execute("SELECT current_schema() AS schema").fetchone()
        if found is None or found["schema"] is None:
            self._db.close()
            raise LedgerError(
                f"the ledger {self.path} has no schema to create its tables in",
                hint="create the schema named in the connection's search_path, or use `public`",
            )
        self.schema: str = found["schema"]
        """The schema holding the ledger's tables (the connection's ``search_path``)."""
        self.applied_migrations: list[Migration] = []
        """The migrations this object applied when it opened the ledger."""
        if migrate:
            self.applied_migrations = self.migrate()
        else:
            self._check_version()

    # --- connections ------------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection[Row]:
        try:
            return psycopg.connect(
                self.url,
                autocommit=True,
                row_factory=dict_row,
                connect_timeout=max(1, round(self._connect_timeout)),
                application_name=f"promoter {HOSTNAME}:{os.getpid()}",
                keepalives=1,
                keepalives_idle=10,
                keepalives_interval=5,
                keepalives_count=3,
            )
        except psycopg.Error as exc:
            raise LedgerError(
                f"cannot connect to the ledger {self.path}: {str(exc).strip()}",
                hint=f"check {LEDGER_ENV} (postgresql://user:password@host:port/database) "
                "and that the server accepts connections from this runner",
            ) from exc

    @contextlib.contextmanager
    def _database(self) -> Iterator[psycopg.Connection[Row]]:
        """The data connection (reconnected if it broke), with database errors made readable."""
        with self._mutex:
            if self._db.closed or self._db.broken:
                self._db = self._connect()
            try:
                yield self._db
            except LeaseLost:
                raise
            except psycopg.errors.RaiseException:
                raise  # the append-only triggers: a programming error, let it show as is
            except psycopg.Error as exc:
                raise LedgerError(
                    f"the ledger {self.path} failed: {str(exc).strip()}",
                    hint="check that the PostgreSQL server is reachable; "
                    "`promoter show RUN` tells what the run recorded",
                ) from exc

    def close(self) -> None:
        """Release the locks this object still holds and close both connections."""
        with self._mutex:
            for target, held in list(self._held.items()):
                with contextlib.suppress(LedgerError, psycopg.Error):
                    self.release_lock(target, run_id=held.run_id)
            if self._lock_db is not None:
                self._lock_db.close()
                self._lock_db = None
            self._db.close()

    # --- schema -----------------------------------------------------------------------------

    def schema_version(self) -> int:
        """The highest migration applied (0 for an empty database)."""
        with self._database() as db:
            exists = db.execute("SELECT to_regclass('schema_migrations') IS NOT NULL AS e")
            row = exists.fetchone()
            if row is None or not row["e"]:
                return 0
            found = db.execute("SELECT max(version) AS v FROM schema_migrations").fetchone()
            return int(found["v"] or 0) if found else 0

    def _check_version(self) -> None:
        version = self.schema_version()
        if version > SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger {self.path} has schema version {version}; this promoter knows "
                f"versions up to {SCHEMA_VERSION}",
                hint="upgrade promoter on this runner (a newer one migrated the ledger)",
            )
        if version < SCHEMA_VERSION:
            raise LedgerError(
                f"the ledger {self.path} has schema version {version}, promoter needs "
                f"{SCHEMA_VERSION}",
                hint="run `promoter ledger migrate`",
            )

    def migrate(self) -> list[Migration]:
        """Apply the missing migrations (serialised between runners); returns those applied."""
        if self.schema_version() == SCHEMA_VERSION:
            return []
        applied: list[Migration] = []
        with self._database() as db, db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (lock_key("", self.schema),))
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
            done = {r["version"] for r in db.execute("SELECT version FROM schema_migrations")}
            newest = max(done, default=0)
            if newest > SCHEMA_VERSION:
                raise LedgerError(
                    f"the ledger {self.path} has schema version {newest}; this promoter knows "
                    f"versions up to {SCHEMA_VERSION}",
                    hint="upgrade promoter on this runner (a newer one migrated the ledger)",
                )
            for migration in MIGRATIONS:
                if migration.version in done:
                    continue
                db.execute(migration.sql.encode())
                db.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
                applied.append(migration)
        return applied

    def migrations(self) -> list[Row]:
        """The applied migrations: version, name, applied_at."""
        with self._database() as db:
            return list(
                db.execute(
                    "SELECT version, name, applied_at::text AS applied_at FROM schema_migrations"
                    " ORDER BY version"
                )
            )

    # --- fenced writes ----------------------------------------------------------------------

    def _now(self) -> str:
        return _iso(time.time())

    def _insert(
        self, db: psycopg.Connection[Row], table: str, run_id: str | None, values: Row
    ) -> None:
        """Insert one history row; for a run whose lock we took, only while we still hold it."""
        columns = ", ".join(f'"{c}"' for c in values)
        marks = ", ".join(["%s"] * len(values))
        fence = self._fences.get(run_id) if run_id is not None else None
        if fence is None:
            db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))
            return
        target, epoch = fence
        with db.transaction():
            # FOR SHARE: a take-over (UPDATE of the row) waits for this write, or this for it.
            holds = db.execute(
                "SELECT 1 FROM locks WHERE target = %s AND run_id = %s AND epoch = %s"
                " AND expires_at > clock_timestamp() FOR SHARE",
                (target, run_id, epoch),
            ).fetchone()
            if holds is None:
                raise self._lease_lost(db, target, run_id or "", epoch)
            db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))

    def _lease_lost(
        self, db: psycopg.Connection[Row], target: str, run_id: str, epoch: int
    ) -> LeaseLost:
        row = db.execute(_LOCK_SELECT + " WHERE l.target = %s", (target,)).fetchone()
        return lease_lost(run_id, target, epoch, _lock_info(row) if row is not None else None)

    # --- runs -------------------------------------------------------------------------------

    def create_run(self, record: RunRecord) -> None:
        """Record a new run and its first status, in one transaction."""
        with self._database() as db, db.transaction():
            self._insert(
                db,
                "runs",
                record.id,
                {
                    "id": record.id,
                    "created_at": record.created_at,
                    "user": record.user,
                    "host": record.host,
                    "pid": record.pid,
                    "command": record.command,
                    "pipeline_name": record.pipeline_name,
                    "pipeline_file": record.pipeline_file,
                    "pipeline_sha256": record.pipeline_sha256,
                    "source": record.source,
                    "target": record.target,
                    "reason": record.reason,
                    "dry_run": record.dry_run,
                    "versions": json.dumps(record.versions),
                    "variables": json.dumps(record.variables),
                    "options": json.dumps(record.options),
                },
            )
            self._insert(
                db,
                "run_status",
                record.id,
                {
                    "run_id": record.id,
                    "at": record.created_at,
                    "status": record.status.value,
                    "exit_code": record.exit_code,
                    "message": record.message,
                    "host": HOSTNAME,
                    "pid": os.getpid(),
                },
            )

    def set_status(
        self, run_id: str, status: RunStatus, *, exit_code: int | None = None, message: str = ""
    ) -> None:
        """Append a status change."""
        with self._database() as db:
            self._insert(
                db,
                "run_status",
                run_id,
                {
                    "run_id": run_id,
                    "at": self._now(),
                    "status": status.value,
                    "exit_code": exit_code,
                    "message": message,
                    "host": HOSTNAME,
                    "pid": os.getpid(),
                },
            )

    def _resolve_id(self, run_id: str) -> str:
        with self._database() as db:
            rows = db.execute(
                "SELECT id FROM runs WHERE starts_with(id, %s) ORDER BY id LIMIT 3", (run_id,)
            ).fetchall()
        ids = [str(r["id"]) for r in rows]
        if run_id in ids:
            return run_id
        if not ids:
            raise RunNotFound(
                f"no run {run_id!r} in the ledger {self.path}",
                hint="`promoter history` lists the runs",
            )
        if len(ids) > 1:
            raise RunNotFound(f"run id prefix {run_id!r} is ambiguous ({', '.join(ids)}, ...)")
        return ids[0]

    def get_run(self, run_id: str) -> RunRecord:
        """A run by id or unique prefix, with its effective status."""
        return self._records("WHERE r.id = %s", (self._resolve_id(run_id),), 1)[0]

    def list_runs(self, *, limit: int = 50, target: str | None = None) -> list[RunRecord]:
        """The latest runs, newest first."""
        if target is None:
            return self._records("", (), limit)
        return self._records("WHERE r.target = %s", (target,), limit)

    def _records(self, where: str, params: tuple[Any, ...], limit: int) -> list[RunRecord]:
        sql = f"""
            SELECT r.*, s.status, s.exit_code, s.message, s.at AS updated_at,
                   s.host AS status_host, s.pid AS status_pid
            FROM runs r
            JOIN LATERAL (
                SELECT * FROM run_status WHERE run_id = r.id ORDER BY seq DESC LIMIT 1
            ) s ON true
            {where}
            ORDER BY r.created_at DESC, r.id DESC LIMIT %s"""
        with self._database() as db:
            rows = db.execute(sql, (*params, limit)).fetchall()
            locks = {lock.run_id: lock for lock in self._locks(db)}
        records = []
        for row in rows:
            status = RunStatus(row["status"])
            message = row["message"]
            if status is RunStatus.RUNNING and not self._alive(row, locks.get(row["id"])):
                status = RunStatus.INTERRUPTED
                message = "the run's process is gone (killed or crashed); resume or roll it back"
            records.append(run_record(row, status, message))
        return records

    @staticmethod
    def _alive(row: Row, lock: LockInfo | None) -> bool:
        if lock is not None:
            return lock.holder_alive
        if row["status_host"] == HOSTNAME:
            return pid_alive(int(row["status_pid"]))
        return False  # a running run on another host holds a lock; without one it is gone

    # --- stage events, documents, progress --------------------------------------------------

    def add_stage_event(self, run_id: str, event: str, outcome: StageOutcome) -> None:
        """Record a stage event."""
        with self._database() as db:
            self._insert(
                db,
                "stage_events",
                run_id,
                {
                    "run_id": run_id,
                    "at": self._now(),
                    "stage": outcome.stage,
                    "event": event,
                    "status": outcome.status.value,
                    "plugin": outcome.plugin,
                    "duration": outcome.duration,
                    "messages": json.dumps(outcome.messages),
                },
            )

    def stage_events(self, run_id: str) -> list[dict[str, Any]]:
        """A run's stage events, oldest first."""
        with self._database() as db:
            rows = db.execute(
                "SELECT at, stage, event, status, plugin, duration, messages FROM stage_events"
                " WHERE run_id = %s ORDER BY seq",
                (run_id,),
            ).fetchall()
        return [{**row, "messages": json.loads(row["messages"])} for row in rows]

    def save_document(self, run_id: str, kind: str, body: str) -> None:
        """Store a JSON document (append-only: a newer one of the same kind supersedes it)."""
        with self._database() as db:
            self._insert(
                db,
                "documents",
                run_id,
                {"run_id": run_id, "at": self._now(), "kind": kind, "body": body},
            )

    def document(self, run_id: str, kind: str) -> str | None:
        """The latest document of that kind."""
        with self._database() as db:
            row = db.execute(
                "SELECT body FROM documents WHERE run_id = %s AND kind = %s"
                " ORDER BY seq DESC LIMIT 1",
                (run_id, kind),
            ).fetchone()
        return None if row is None else str(row["body"])

    def add_progress(self, run_id: str, event: ObjectProgress) -> None:
        """Record per-object progress."""
        with self._database() as db:
            self._insert(
                db,
                "progress",
                run_id,
                {
                    "run_id": run_id,
                    "at": event.at.isoformat(),
                    "stage": event.stage,
                    "kind": event.kind,
                    "key": event.key,
                    "status": event.status.value,
                    "message": event.message,
                    "data": json.dumps(event.data) if event.data else None,
                },
            )

    def progress(self, run_id: str) -> list[ObjectProgress]:
        """A run's per-object progress, oldest first."""
        with self._database() as db:
            rows = db.execute(
                "SELECT at, stage, kind, key, status, message, data FROM progress"
                " WHERE run_id = %s ORDER BY seq",
                (run_id,),
            ).fetchall()
        return [progress_event(row) for row in rows]

    # --- export / import --------------------------------------------------------------------

    def history_rows(self, table: str) -> Iterator[Row]:
        """Every row of a history table, oldest first, in the portable column set."""
        columns = HISTORY_COLUMNS[table]
        order = "created_at, id" if table == "runs" else "seq"
        select = ", ".join(f'"{c}"' for c in columns)
        with self._database() as db:
            rows = db.execute(f"SELECT {select} FROM {table} ORDER BY {order}").fetchall()
        for row in rows:
            if table == "runs":
                row["dry_run"] = bool(row["dry_run"])
            yield row

    def append_history(self, rows: Iterable[tuple[str, Row]]) -> dict[str, int]:
        """Insert exported rows in one transaction, skipping runs (and their rows) already here."""
        counts: dict[str, int] = {}
        with self._database() as db, db.transaction():
            existing = {r["id"] for r in db.execute("SELECT id FROM runs")}
            events = [
                (r["at"], r["target"], r["event"], r["run_id"], r["detail"])
                for r in db.execute("SELECT at, target, event, run_id, detail FROM lock_events")
            ]
            for table, row in rows_to_import(rows, existing, events):
                values = {c: row.get(c) for c in HISTORY_COLUMNS[table]}
                self._insert(db, table, None, values)
                counts[table] = counts.get(table, 0) + 1
        return counts

    # --- locks ------------------------------------------------------------------------------

    def _lock_session(self) -> psycopg.Connection[Row]:
        """The connection that holds this runner's advisory locks and renews its leases."""
        if self._lock_db is None or self._lock_db.closed or self._lock_db.broken:
            self._lock_db = self._connect()
        return self._lock_db

    def _set_idle_timeout(self, session: psycopg.Connection[Row], lease: float) -> None:
        # The server ends a lock session silent for a whole lease, freeing its advisory locks.
        # (PostgreSQL 14+; older servers rely on the lease and on pg_terminate_backend.)
        with contextlib.suppress(
            psycopg.errors.UndefinedObject, psycopg.errors.CantChangeRuntimeParam
        ):
            session.execute(
                "SELECT set_config('idle_session_timeout', %s, false)",
                (f"{max(int(lease * 1000), 1000)}ms",),
            )

    def _locks(self, db: psycopg.Connection[Row], target: str | None = None) -> list[LockInfo]:
        if target is None:
            rows = db.execute(_LOCK_SELECT + " ORDER BY l.target").fetchall()
        else:
            rows = db.execute(_LOCK_SELECT + " WHERE l.target = %s", (target,)).fetchall()
        return [_lock_info(row) for row in rows]

    def _lock_event(
        self,
        db: psycopg.Connection[Row],
        target: str,
        event: str,
        lock: LockInfo | None,
        detail: str,
    ) -> None:
        self._insert(
            db,
            "lock_events",
            None,
            {
                "at": self._now(),
                "target": target,
                "event": event,
                "run_id": lock.run_id if lock else None,
                "owner": lock.owner if lock else None,
                "host": lock.host if lock else None,
                "pid": lock.pid if lock else None,
                "detail": detail,
                "epoch": lock.epoch if lock else None,
            },
        )

    def acquire_lock(
        self, target: str, *, run_id: str, owner: str, lease: float, wait: float
    ) -> LockInfo:
        """Take the lock: the advisory lock first, then the lease row with a new epoch.

        A holder whose session is gone (crashed, killed) is taken over at once; one whose lease
        expired while its session lingers has that session ended. Waits up to ``wait`` seconds
        for a live holder, then raises :class:`LockHeld` naming it.
        """
        key = lock_key(target, self.schema)
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            with self._mutex:
                try:
                    taken, current = self._try_acquire(
                        target, key, run_id=run_id, owner=owner, lease=lease
                    )
                except psycopg.Error as exc:
                    raise LedgerError(
                        f"cannot take the lock of {target} in the ledger {self.path}: {exc}",
                        hint="check that the PostgreSQL server is reachable",
                    ) from exc
                if taken and current is not None:
                    return current
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                holder = (
                    current.describe()
                    if current is not None
                    else "another runner's database session (it is taking the lock)"
                )
                raise LockHeld(
                    target,
                    holder,
                    hint=(
                        "wait for it to finish (--lock-wait SECONDS), or, if that run is dead, "
                        f"`promoter unlock {target}`"
                    ),
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)

    def _try_acquire(
        self, target: str, key: int, *, run_id: str, owner: str, lease: float
    ) -> tuple[bool, LockInfo | None]:
        """One attempt: ``(True, new lock)``, or ``(False, holder to wait for or None)``."""
        held = self._held.get(target)
        try:
            session = self._lock_session()
            if held is None:
                row = session.execute("SELECT pg_try_advisory_lock(%s) AS got", (key,)).fetchone()
                if row is None or not row["got"]:
                    return False, self._blocked_by(target)
            with self._database() as db, db.transaction():
                row = db.execute(
                    _LOCK_SELECT + " WHERE l.target = %s FOR UPDATE OF l", (target,)
                ).fetchone()
                current = _lock_info(row) if row is not None else None
                if (
                    held is not None
                    and current is not None
                    and current.run_id != run_id
                    and current.epoch == held.epoch
                ):
                    return False, current  # this process holds it for another run
                info = db.execute(
                    "INSERT INTO locks (target, run_id, owner, host, pid, acquired_at,"
                    " expires_at, epoch, backend_pid, lock_key)"
                    " VALUES (%s, %s, %s, %s, %s, %s,"
                    " clock_timestamp() + %s * interval '1 second', nextval('lock_epoch'),"
                    " %s, %s)"
                    " ON CONFLICT (target) DO UPDATE SET run_id = excluded.run_id,"
                    " owner = excluded.owner, host = excluded.host, pid = excluded.pid,"
                    " acquired_at = excluded.acquired_at, expires_at = excluded.expires_at,"
                    " epoch = excluded.epoch, backend_pid = excluded.backend_pid,"
                    " lock_key = excluded.lock_key"
                    " RETURNING epoch",
                    (
                        target,
                        run_id,
                        owner,
                        HOSTNAME,
                        os.getpid(),
                        self._now(),
                        lease,
                        session.info.backend_pid,
                        key,
                    ),
                ).fetchone()
                assert info is not None
                lock = LockInfo(
                    target=target,
                    run_id=run_id,
                    owner=owner,
                    host=HOSTNAME,
                    pid=os.getpid(),
                    acquired_at=self._now(),
                    expires_at=time.time() + lease,
                    epoch=int(info["epoch"]),
                    connected=True,
                )
                if current is not None and current.run_id != run_id:
                    self._lock_event(
                        db, target, "taken-over", current, f"stale lock taken over by run {run_id}"
                    )
                self._lock_event(db, target, "acquired", lock, "")
        except BaseException:
            if held is None:
                self._unlock_session(key)
            raise
        if held is not None and held.run_id in self._fences:
            del self._fences[held.run_id]
        self._held[target] = _Held(run_id, lock.epoch or 0, key)
        self._fences[run_id] = (target, lock.epoch or 0)
        self._set_idle_timeout(session, lease)
        return True, lock

    def _blocked_by(self, target: str) -> LockInfo | None:
        """Someone's session holds the advisory lock: who, and end it if its lease is over."""
        with self._database() as db:
            row = db.execute(_LOCK_SELECT + " WHERE l.target = %s", (target,)).fetchone()
            if row is None:
                return None
            current = _lock_info(row)
            if current.expired and row["session_pid"] == row["backend_pid"]:
                # Its lease ran out but its session lingers (partition, frozen process).
                with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                    db.execute("SELECT pg_terminate_backend(%s, 5000)", (row["backend_pid"],))
            return current

    def _unlock_session(self, key: int) -> None:
        session = self._lock_db
        if session is None or session.closed or session.broken:
            return
        with contextlib.suppress(psycopg.Error):
            session.execute("SELECT pg_advisory_unlock(%s)", (key,))

    def renew_lock(self, target: str, *, run_id: str, lease: float) -> bool:
        """Extend an unexpired lease this object holds; ``False`` when it is lost.

        A broken lock session is reconnected and re-takes the advisory lock if it is still free;
        the lease is extended only if the row still carries our epoch and has not expired.
        """
        with self._mutex:
            held = self._held.get(target)
            if held is None or held.run_id != run_id:
                return False
            for attempt in (1, 2):
                try:
                    return self._renew(target, held, lease)
                except psycopg.OperationalError as exc:
                    # A session that broke is only noticed when used: reconnect once.
                    session = self._lock_db
                    if attempt == 1 and (session is None or session.closed or session.broken):
                        continue
                    raise LedgerError(f"cannot renew the lease of {target}: {exc}") from exc
            return False

    def _renew(self, target: str, held: _Held, lease: float) -> bool:
        session = self._lock_db
        if session is None or session.closed or session.broken:
            session = self._lock_session()
            got = session.execute("SELECT pg_try_advisory_lock(%s) AS got", (held.key,)).fetchone()
            if got is None or not got["got"]:
                return False
            self._set_idle_timeout(session, lease)
        cursor = session.execute(
            "UPDATE locks SET expires_at = clock_timestamp() + %s * interval '1 second',"
            " backend_pid = pg_backend_pid()"
            " WHERE target = %s AND run_id = %s AND epoch = %s"
            " AND expires_at > clock_timestamp()",
            (lease, target, held.run_id, held.epoch),
        )
        return cursor.rowcount == 1

    def release_lock(self, target: str, *, run_id: str) -> None:
        """Release the lock if this object holds it for ``run_id`` (a taken-over one is left)."""
        with self._mutex:
            held = self._held.get(target)
            if held is None or held.run_id != run_id:
                return
            try:
                with self._database() as db, db.transaction():
                    row = db.execute(
                        _LOCK_SELECT + " WHERE l.target = %s FOR UPDATE OF l", (target,)
                    ).fetchone()
                    if row is not None and row["epoch"] == held.epoch:
                        db.execute("DELETE FROM locks WHERE target = %s", (target,))
                        self._lock_event(db, target, "released", _lock_info(row), "")
            finally:
                del self._held[target]
                self._fences.pop(run_id, None)
                self._unlock_session(held.key)

    def force_unlock(
        self, target: str, *, by: str, reason: str | None, spare_live: bool = False
    ) -> LockInfo | None:
        """Remove the lock whoever holds it, end the holder's lock session, record who did it.

        See :meth:`Ledger.force_unlock`; liveness is judged under the row lock of the removal.
        """
        with self._mutex, self._database() as db:
            with db.transaction():
                row = db.execute(
                    _LOCK_SELECT + " WHERE l.target = %s FOR UPDATE OF l", (target,)
                ).fetchone()
                current = _lock_info(row) if row is not None else None
                if row is not None and current is not None:
                    alive = current.holder_alive
                    if alive and spare_live:
                        raise live_holder_refused(target, current)
                    db.execute("DELETE FROM locks WHERE target = %s", (target,))
                    self._lock_event(
                        db, target, "forced", current, unlock_detail(by, reason, alive)
                    )
            if row is not None and row["session_pid"] == row["backend_pid"]:
                held = self._held.pop(target, None)
                if held is not None:
                    self._fences.pop(held.run_id, None)
                    self._unlock_session(held.key)
                else:
                    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
                        db.execute("SELECT pg_terminate_backend(%s, 5000)", (row["backend_pid"],))
        return current

    def get_lock(self, target: str) -> LockInfo | None:
        """The current lock of a target."""
        with self._database() as db:
            return next(iter(self._locks(db, target)), None)

    def locks(self) -> list[LockInfo]:
        """Every current lock."""
        with self._database() as db:
            return self._locks(db)

    def lock_events(self, target: str | None = None) -> list[dict[str, Any]]:
        """The lock history, oldest first."""
        with self._database() as db:
            if target is None:
                rows = db.execute("SELECT * FROM lock_events ORDER BY seq").fetchall()
            else:
                rows = db.execute(
                    "SELECT * FROM lock_events WHERE target = %s ORDER BY seq", (target,)
                ).fetchall()
        return rows
