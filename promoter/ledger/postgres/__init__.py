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
import json
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
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

from promoter.errors import LedgerError
from promoter.ledger.base import (
    HOSTNAME,
    LEDGER_ENV,
    RUN_FILTERS,
    LeaseLost,
    Ledger,
    LockInfo,
    ReleaseExists,
    RunRecord,
    iso_seconds,
    lease_lost,
    progress_event,
)
from promoter.ledger.history import HISTORY_COLUMNS, release_row, rows_to_import
from promoter.ledger.postgres.budget import PostgresBudgets
from promoter.ledger.postgres.locks import (
    LOCK_SELECT,
    AdvisoryLocks,
    Held,
    lock_info,
    lock_key,
)
from promoter.ledger.postgres.migrations import MIGRATIONS, SCHEMA_VERSION, Migration
from promoter.model import ObjectProgress, RunStatus, StageOutcome
from promoter.release import Release

Row = dict[str, Any]


def display_url(url: str) -> str:
    """The URL without its password (for messages)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


class PostgresLedger(AdvisoryLocks, Ledger):
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
        self._held: dict[str, Held] = {}
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

    def shared_budgets(self) -> PostgresBudgets:
        """The request budgets every runner of this ledger shares (:mod:`.budget`); one object
        per ledger object, with a connection of its own."""
        budgets = self.__dict__.get("_budgets")
        if not isinstance(budgets, PostgresBudgets):
            budgets = PostgresBudgets(
                self.url, shown_url=str(self.path), connect_timeout=self._connect_timeout
            )
            self.__dict__["_budgets"] = budgets
        return budgets

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
        return iso_seconds(time.time())

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
        row = db.execute(LOCK_SELECT + " WHERE l.target = %s", (target,)).fetchone()
        return lease_lost(run_id, target, epoch, lock_info(row) if row is not None else None)

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

    def _ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        with self._database() as db:
            rows = db.execute(
                "SELECT id FROM runs WHERE starts_with(id, %s) ORDER BY id LIMIT %s",
                (prefix, limit),
            ).fetchall()
        return [str(r["id"]) for r in rows]

    def _run_rows(
        self, column: str | None, value: str | None, *, limit: int
    ) -> tuple[list[Mapping[str, Any]], dict[str, LockInfo]]:
        where = f"WHERE {RUN_FILTERS[column]} = %s" if column is not None else ""
        params = (value,) if column is not None else ()
        sql = f"""
            SELECT r.*, s.status, s.exit_code, s.message, s.at AS updated_at,
                   s.host AS status_host, s.pid AS status_pid,
                   rr.release_id, rel.digest AS release_digest,
                   rel.versions AS release_versions
            FROM runs r
            JOIN LATERAL (
                SELECT * FROM run_status WHERE run_id = r.id ORDER BY seq DESC LIMIT 1
            ) s ON true
            LEFT JOIN LATERAL (
                SELECT release_id FROM run_releases WHERE run_id = r.id ORDER BY seq DESC LIMIT 1
            ) rr ON true
            LEFT JOIN releases rel ON rel.id = rr.release_id
            {where}
            ORDER BY r.created_at DESC, r.id DESC LIMIT %s"""
        with self._database() as db:
            rows = db.execute(sql, (*params, limit)).fetchall()
            locks = {lock.run_id: lock for lock in self._locks(db)}
        return list(rows), locks

    # --- releases ---------------------------------------------------------------------------

    def add_release(self, release: Release) -> None:
        """Store a new release (refused when its id is taken)."""
        try:
            with self._database() as db:
                self._insert(db, "releases", None, release_row(release))
        except LedgerError as exc:
            if isinstance(exc.__cause__, psycopg.errors.UniqueViolation):
                raise ReleaseExists(f"release {release.id!r} exists already") from None
            raise

    def _release_rows(
        self, column: str | None, value: str | None, *, limit: int, body: bool
    ) -> list[Mapping[str, Any]]:
        columns = ", ".join(HISTORY_COLUMNS["releases"][: None if body else -1])
        where = f"WHERE {column} = %s" if column is not None else ""
        params = (value,) if column is not None else ()
        sql = f"SELECT {columns} FROM releases {where} ORDER BY created_at DESC, id DESC LIMIT %s"
        with self._database() as db:
            return list(db.execute(sql, (*params, limit)).fetchall())

    def _release_ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        with self._database() as db:
            rows = db.execute(
                "SELECT id FROM releases WHERE starts_with(id, %s) ORDER BY id LIMIT %s",
                (prefix, limit),
            ).fetchall()
        return [str(r["id"]) for r in rows]

    def link_release(self, run_id: str, release_id: str) -> None:
        """Record the release of a run."""
        with self._database() as db:
            self._insert(
                db,
                "run_releases",
                run_id,
                {"run_id": run_id, "at": self._now(), "release_id": release_id},
            )

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
        order = "created_at, id" if table in ("runs", "releases") else "seq"
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
            releases = {r["id"] for r in db.execute("SELECT id FROM releases")}
            events = [
                (r["at"], r["target"], r["event"], r["run_id"], r["detail"])
                for r in db.execute("SELECT at, target, event, run_id, detail FROM lock_events")
            ]
            for table, row in rows_to_import(rows, existing, events, releases):
                values = {c: row.get(c) for c in HISTORY_COLUMNS[table]}
                self._insert(db, table, None, values)
                counts[table] = counts.get(table, 0) + 1
        return counts

    # --- locks ------------------------------------------------------------------------------
