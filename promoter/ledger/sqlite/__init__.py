"""The embedded ledger: one SQLite file (``.promoter/ledger.db``, or ``PROMOTER_LEDGER=path`` /
``sqlite:///path``), safe for several processes on one host (WAL, busy timeout).

The rules are :mod:`promoter.ledger.base`'s; this module is the SQLite dialect: the schema
(history tables refuse ``UPDATE`` and ``DELETE`` through triggers), its migrations (the file's
schema is versioned with ``PRAGMA user_version``, :data:`SQLITE_MIGRATIONS`: opening a file an
older promoter created adds what it lacks, in place and additively), and the fenced writes.

Durability: every record is safe from a killed process once written (WAL). Runs, statuses,
stage events, documents (snapshots, plans), releases and locks are also synced to disk before
the write returns (``synchronous=FULL``), so that an operating-system crash or a power loss
cannot lose the snapshot a rollback needs. Per-object progress events — hundreds a run, on the
critical path of apply — are written with ``synchronous=NORMAL``: after a power loss the last of
them may be missing (never the snapshot taken before them), and the next synced write makes every
earlier one durable too.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from promoter.errors import LedgerError
from promoter.ledger.base import (
    HOSTNAME,
    LEDGER_ENV,
    RUN_FILTERS,
    Ledger,
    LockInfo,
    ReleaseExists,
    RunRecord,
    iso_seconds,
    lease_lost,
    live_holder_refused,
    progress_event,
    unlock_detail,
)
from promoter.ledger.history import HISTORY_COLUMNS, release_row, rows_to_import
from promoter.ledger.sqlite.schema import SCHEMA, SQLITE_MIGRATIONS, SQLITE_SCHEMA_VERSION
from promoter.model import ObjectProgress, RunStatus, StageOutcome
from promoter.release import Release


class SQLiteLedger(Ledger):
    """The embedded ledger: one SQLite file, safe for several processes (WAL, busy timeout)."""

    def __init__(self, path: Path, *, busy_timeout: float = 30.0) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            existing = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone()
            self._db.executescript(SCHEMA)
            if existing is None:  # a new file has the current schema whole: nothing to migrate
                self._db.execute(f"PRAGMA user_version = {SQLITE_SCHEMA_VERSION}")
            # The schema versions this object applied when it opened the file.
            self.applied_migrations: list[int] = self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(
                f"cannot open the ledger {path}: {exc}",
                hint=f"check the path, or set {LEDGER_ENV} to a writable location",
            ) from exc
        self._mutex = threading.RLock()
        self._synchronous = "FULL"
        self._fences: dict[str, tuple[str, int]] = {}  # run_id -> (target, epoch) of our locks

    def schema_version(self) -> int:
        """The file's schema version (``PRAGMA user_version``; 0: as the first promoter made it)."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> list[int]:
        """Bring an older file up to :data:`SQLITE_SCHEMA_VERSION`, in one transaction."""
        if self.schema_version() == SQLITE_SCHEMA_VERSION:
            return []
        applied: list[int] = []
        self._db.execute("BEGIN IMMEDIATE")  # processes opening the file together migrate once
        try:
            version = self.schema_version()
            if version > SQLITE_SCHEMA_VERSION:
                raise LedgerError(
                    f"the ledger {self.path} has schema version {version}; this promoter knows "
                    f"versions up to {SQLITE_SCHEMA_VERSION}",
                    hint="upgrade promoter (a newer one migrated the ledger)",
                )
            for number, _what, columns in SQLITE_MIGRATIONS:
                if number <= version:
                    continue
                for table, column, declaration in columns:
                    present = {r["name"] for r in self._db.execute(f"PRAGMA table_info({table})")}
                    if column not in present:  # a new file has it from SCHEMA already
                        self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
                applied.append(number)
            self._db.execute(f"PRAGMA user_version = {SQLITE_SCHEMA_VERSION}")
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        return applied

    def close(self) -> None:
        """Close the connection."""
        with self._mutex:
            self._db.close()

    def _sync(self, level: str) -> None:
        """Set ``PRAGMA synchronous`` for the next transactions (outside one; under the mutex)."""
        if level != self._synchronous:
            self._db.execute(f"PRAGMA synchronous={level}")
            self._synchronous = level

    def _write(
        self, run_id: str, sql: str, params: tuple[Any, ...], *, synced: bool = True
    ) -> None:
        """One history row of ``run_id``; fenced when this object took the run's lock. Synced to
        disk before it returns unless ``synced`` is false (see the module's docstring)."""
        with self._mutex:
            self._sync("FULL" if synced else "NORMAL")
            if run_id not in self._fences:
                self._db.execute(sql, params)
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._check_fence(run_id)
                self._db.execute(sql, params)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def _check_fence(self, run_id: str) -> None:
        """Inside a write transaction: raise :class:`LeaseLost` unless we still hold the lock.

        ``BEGIN IMMEDIATE`` made this connection the file's only writer, so a forced unlock or a
        take-over (writes too) happens wholly before this check or wholly after this write.
        """
        fence = self._fences.get(run_id)
        if fence is None:
            return
        target, epoch = fence
        holds = self._db.execute(
            "SELECT 1 FROM locks WHERE target = ? AND run_id = ? AND epoch = ? AND expires_at > ?",
            (target, run_id, epoch, time.time()),
        ).fetchone()
        if holds is None:
            raise lease_lost(run_id, target, epoch, next(iter(self._locks(target)), None))

    def _now(self) -> str:
        return iso_seconds(time.time())

    # --- runs -------------------------------------------------------------------------------

    def create_run(self, record: RunRecord) -> None:
        """Record a new run and its first status."""
        with self._mutex:
            self._sync("FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._check_fence(record.id)
                self._db.execute(
                    "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        record.id,
                        record.created_at,
                        record.user,
                        record.host,
                        record.pid,
                        record.command,
                        record.pipeline_name,
                        record.pipeline_file,
                        record.pipeline_sha256,
                        record.source,
                        record.target,
                        record.reason,
                        int(record.dry_run),
                        json.dumps(record.versions),
                        json.dumps(record.variables),
                        json.dumps(record.options),
                    ),
                )
                self._db.execute(
                    "INSERT INTO run_status (run_id, at, status, exit_code, message, host, pid)"
                    " VALUES (?,?,?,?,?,?,?)",
                    (
                        record.id,
                        record.created_at,
                        record.status.value,
                        record.exit_code,
                        record.message,
                        HOSTNAME,
                        os.getpid(),
                    ),
                )
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def set_status(
        self, run_id: str, status: RunStatus, *, exit_code: int | None = None, message: str = ""
    ) -> None:
        """Append a status change."""
        self._write(
            run_id,
            "INSERT INTO run_status (run_id, at, status, exit_code, message, host, pid)"
            " VALUES (?,?,?,?,?,?,?)",
            (run_id, self._now(), status.value, exit_code, message, HOSTNAME, os.getpid()),
        )

    def _ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        with self._mutex:
            rows = self._db.execute(
                # A plain prefix comparison: run ids may contain LIKE's wildcards (_ and %).
                "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT ?",
                (len(prefix), prefix, limit),
            ).fetchall()
        return [str(r["id"]) for r in rows]

    def _run_rows(
        self, column: str | None, value: str | None, *, limit: int
    ) -> tuple[list[Mapping[str, Any]], dict[str, LockInfo]]:
        where = f"WHERE {RUN_FILTERS[column]} = ?" if column is not None else ""
        params = (value,) if column is not None else ()
        sql = f"""
            SELECT r.*, s.status, s.exit_code, s.message, s.at AS updated_at,
                   s.host AS status_host, s.pid AS status_pid,
                   rr.release_id, rel.digest AS release_digest,
                   rel.versions AS release_versions
            FROM runs r
            JOIN run_status s ON s.seq = (
                SELECT MAX(seq) FROM run_status WHERE run_id = r.id)
            LEFT JOIN run_releases rr ON rr.seq = (
                SELECT MAX(seq) FROM run_releases WHERE run_id = r.id)
            LEFT JOIN releases rel ON rel.id = rr.release_id
            {where}
            ORDER BY r.created_at DESC, r.id DESC LIMIT ?"""
        with self._mutex:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
            locks = {lock.run_id: lock for lock in self._locks()}
        return [dict(row) for row in rows], locks

    # --- releases ---------------------------------------------------------------------------

    def add_release(self, release: Release) -> None:
        """Store a new release (refused when its id is taken)."""
        row = release_row(release)
        row["hotfix"] = int(row["hotfix"])
        names = ", ".join(row)
        marks = ", ".join("?" * len(row))
        with self._mutex:
            self._sync("FULL")
            try:
                self._db.execute(f"INSERT INTO releases ({names}) VALUES ({marks})", tuple(row.values()))
            except sqlite3.IntegrityError as exc:
                raise ReleaseExists(f"release {release.id!r} exists already") from exc

    def _release_rows(
        self, column: str | None, value: str | None, *, limit: int, body: bool
    ) -> list[Mapping[str, Any]]:
        columns = ", ".join(HISTORY_COLUMNS["releases"][: None if body else -1])
        where = f"WHERE {column} = ?" if column is not None else ""
        params = (value,) if column is not None else ()
        sql = f"SELECT {columns} FROM releases {where} ORDER BY created_at DESC, id DESC LIMIT ?"
        with self._mutex:
            return [dict(r) for r in self._db.execute(sql, (*params, limit)).fetchall()]

    def _release_ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        with self._mutex:
            rows = self._db.execute(
                "SELECT id FROM releases WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT ?",
                (len(prefix), prefix, limit),
            ).fetchall()
        return [str(r["id"]) for r in rows]

    def link_release(self, run_id: str, release_id: str) -> None:
        """Record the release of a run."""
        self._write(
            run_id,
            "INSERT INTO run_releases (run_id, at, release_id) VALUES (?,?,?)",
            (run_id, self._now(), release_id),
        )

    # --- stage events, documents, progress --------------------------------------------------

    def add_stage_event(self, run_id: str, event: str, outcome: StageOutcome) -> None:
        """Record a stage event."""
        self._write(
            run_id,
            "INSERT INTO stage_events (run_id, at, stage, event, status, plugin, duration, messages)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                run_id,
                self._now(),
                outcome.stage,
                event,
                outcome.status.value,
                outcome.plugin,
                outcome.duration,
                json.dumps(outcome.messages),
            ),
        )

    def stage_events(self, run_id: str) -> list[dict[str, Any]]:
        """A run's stage events, oldest first."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT at, stage, event, status, plugin, duration, messages FROM stage_events"
                " WHERE run_id = ? ORDER BY seq",
                (run_id,),
            ).fetchall()
        return [{**dict(row), "messages": json.loads(row["messages"])} for row in rows]

    def save_document(self, run_id: str, kind: str, body: str) -> None:
        """Store a JSON document (append-only: a newer one of the same kind supersedes it)."""
        self._write(
            run_id,
            "INSERT INTO documents (run_id, at, kind, body) VALUES (?,?,?,?)",
            (run_id, self._now(), kind, body),
        )

    def document(self, run_id: str, kind: str) -> str | None:
        """The latest document of that kind."""
        with self._mutex:
            row = self._db.execute(
                "SELECT body FROM documents WHERE run_id = ? AND kind = ? ORDER BY seq DESC LIMIT 1",
                (run_id, kind),
            ).fetchone()
        return None if row is None else str(row["body"])

    def add_progress(self, run_id: str, event: ObjectProgress) -> None:
        """Record per-object progress."""
        self._write(
            run_id,
            "INSERT INTO progress (run_id, at, stage, kind, key, status, message, data)"
            " VALUES (?,?,?,?,?,?,?,?)",
            (
                run_id,
                event.at.isoformat(),
                event.stage,
                event.kind,
                event.key,
                event.status.value,
                event.message,
                json.dumps(event.data) if event.data else None,
            ),
            synced=False,
        )

    def progress(self, run_id: str) -> list[ObjectProgress]:
        """A run's per-object progress, oldest first."""
        with self._mutex:
            rows = self._db.execute(
                "SELECT at, stage, kind, key, status, message, data FROM progress"
                " WHERE run_id = ? ORDER BY seq",
                (run_id,),
            ).fetchall()
        return [progress_event(dict(row)) for row in rows]

    # --- locks ------------------------------------------------------------------------------

    def _lock_event(self, target: str, event: str, lock: LockInfo | None, detail: str) -> None:
        self._db.execute(
            "INSERT INTO lock_events (at, target, event, run_id, owner, host, pid, detail, epoch)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            (
                self._now(),
                target,
                event,
                lock.run_id if lock else None,
                lock.owner if lock else None,
                lock.host if lock else None,
                lock.pid if lock else None,
                detail,
                lock.epoch if lock else None,
            ),
        )

    def _next_epoch(self) -> int:
        """A fencing token above every earlier one (inside the acquiring write transaction).

        Every acquisition records its epoch in the append-only ``lock_events``, so the highest
        recorded one is the last handed out.
        """
        row = self._db.execute("SELECT COALESCE(MAX(epoch), 0) + 1 AS next FROM lock_events")
        return int(row.fetchone()["next"])

    def _locks(self, target: str | None = None) -> list[LockInfo]:
        if target is None:
            rows = self._db.execute("SELECT * FROM locks ORDER BY target").fetchall()
        else:
            rows = self._db.execute("SELECT * FROM locks WHERE target = ?", (target,)).fetchall()
        return [LockInfo.model_validate(dict(row)) for row in rows]

    def _try_acquire(
        self, target: str, *, run_id: str, owner: str, lease: float
    ) -> tuple[LockInfo | None, LockInfo | None]:
        """One attempt: an expired lease, or a dead holder on this host, is taken over."""
        with self._mutex:
            self._sync("FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                current = next(iter(self._locks(target)), None)
                # The same run may re-take its lock only from the same process: two
                # `promoter resume RUN` at once must not both write.
                ours = (
                    current is not None
                    and current.run_id == run_id
                    and (current.host, current.pid) == (HOSTNAME, os.getpid())
                )
                if current is not None and not ours and current.holder_alive:
                    self._db.execute("COMMIT")
                    return None, current
                lock = LockInfo.taken(
                    target,
                    run_id=run_id,
                    owner=owner,
                    acquired_at=self._now(),
                    lease=lease,
                    epoch=self._next_epoch(),
                )
                self._db.execute(
                    "INSERT OR REPLACE INTO locks (target, run_id, owner, host, pid,"
                    " acquired_at, expires_at, epoch) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        target,
                        run_id,
                        owner,
                        HOSTNAME,
                        os.getpid(),
                        lock.acquired_at,
                        lock.expires_at,
                        lock.epoch,
                    ),
                )
                if current is not None and current.run_id != run_id:
                    self._lock_event(
                        target, "taken-over", current, f"stale lock taken over by run {run_id}"
                    )
                self._lock_event(target, "acquired", lock, "")
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        assert lock.epoch is not None
        self._fences[run_id] = (target, lock.epoch)
        return lock, current

    def renew_lock(self, target: str, *, run_id: str, lease: float) -> bool:
        """Extend an unexpired lease of a lock ``run_id`` holds; ``False`` when it is lost.

        A lock this object took is renewed only while it carries our epoch (a lapsed lease is
        lost, as on PostgreSQL); one taken elsewhere (no fence here) by its run id.
        """
        with self._mutex:
            now = time.time()
            fence = self._fences.get(run_id)
            if fence is None:
                cursor = self._db.execute(
                    "UPDATE locks SET expires_at = ? WHERE target = ? AND run_id = ?",
                    (now + lease, target, run_id),
                )
            else:
                cursor = self._db.execute(
                    "UPDATE locks SET expires_at = ?"
                    " WHERE target = ? AND run_id = ? AND epoch = ? AND expires_at > ?",
                    (now + lease, target, run_id, fence[1], now),
                )
            return cursor.rowcount == 1

    def release_lock(self, target: str, *, run_id: str) -> None:
        """Release the lock if ``run_id`` holds it (at our epoch, when this object took it)."""
        with self._mutex:
            fence = self._fences.pop(run_id, None)
            self._sync("FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                current = next(iter(self._locks(target)), None)
                if (
                    current is not None
                    and current.run_id == run_id
                    and (fence is None or fence == (target, current.epoch))
                ):
                    self._db.execute("DELETE FROM locks WHERE target = ?", (target,))
                    self._lock_event(target, "released", current, "")
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    def force_unlock(
        self, target: str, *, by: str, reason: str | None, spare_live: bool = False
    ) -> LockInfo | None:
        """Remove the lock whoever holds it, and record who did it (see :meth:`Ledger.force_unlock`).

        The holder's next write finds the lock gone and raises :class:`LeaseLost`.
        """
        with self._mutex:
            self._sync("FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                current = next(iter(self._locks(target)), None)
                if current is not None:
                    alive = current.holder_alive
                    if alive and spare_live:
                        raise live_holder_refused(target, current)
                    self._db.execute("DELETE FROM locks WHERE target = ?", (target,))
                    self._lock_event(target, "forced", current, unlock_detail(by, reason, alive))
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return current

    def get_lock(self, target: str) -> LockInfo | None:
        """The current lock of a target."""
        with self._mutex:
            return next(iter(self._locks(target)), None)

    def locks(self) -> list[LockInfo]:
        """Every current lock."""
        with self._mutex:
            return self._locks()

    def lock_events(self, target: str | None = None) -> list[dict[str, Any]]:
        """The lock history, oldest first."""
        with self._mutex:
            if target is None:
                rows = self._db.execute("SELECT * FROM lock_events ORDER BY seq").fetchall()
            else:
                rows = self._db.execute(
                    "SELECT * FROM lock_events WHERE target = ? ORDER BY seq", (target,)
                ).fetchall()
        return [dict(row) for row in rows]

    # --- export / import --------------------------------------------------------------------

    def history_rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of a history table, oldest first, in the portable column set."""
        columns = ", ".join(f'"{c}"' for c in HISTORY_COLUMNS[table])
        order = "created_at, id" if table in ("runs", "releases") else "seq"
        with self._mutex:
            rows = self._db.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()
        for row in rows:
            values = dict(row)
            if table == "runs":
                values["dry_run"] = bool(values["dry_run"])
            if table == "releases":
                values["hotfix"] = bool(values["hotfix"])
            yield values

    def append_history(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, int]:
        """Append exported rows in one transaction, skipping runs (and their rows) already here."""
        counts: dict[str, int] = {}
        with self._mutex:
            self._sync("FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                existing = {r[0] for r in self._db.execute("SELECT id FROM runs")}
                releases = {r[0] for r in self._db.execute("SELECT id FROM releases")}
                events = [
                    tuple(r)
                    for r in self._db.execute(
                        "SELECT at, target, event, run_id, detail FROM lock_events"
                    )
                ]
                for table, row in rows_to_import(rows, existing, events, releases):
                    columns = HISTORY_COLUMNS[table]
                    values = [row.get(c) for c in columns]
                    if table == "runs":
                        values[columns.index("dry_run")] = int(bool(row["dry_run"]))
                    if table == "releases":
                        values[columns.index("hotfix")] = int(bool(row["hotfix"]))
                    names = ", ".join(f'"{c}"' for c in columns)
                    marks = ", ".join("?" * len(columns))
                    self._db.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", values)
                    counts[table] = counts.get(table, 0) + 1
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        return counts
