"""The run ledger: every run, its stage events, plan, snapshot, progress and outcome; target locks.

:class:`Ledger` is the storage interface; :class:`SQLiteLedger` is the embedded default
(``.promoter/ledger.db``, or ``PROMOTER_LEDGER=path`` / ``sqlite:///path``). The shared backend
for teams, :class:`promoter.ledger_postgres.PostgresLedger`, implements the same interface
(``PROMOTER_LEDGER=postgresql://...``); :func:`open_ledger` chooses by the location's scheme.

History is append-only: a run's status is the latest row of its status history, and SQLite
triggers refuse to update or delete history rows. Only the lock table is mutable.

Both backends fence a lock's holder the same way: the lock row carries an ``epoch``, a fencing
token new at every acquisition, and every write of a run whose lock the ledger object took
(``create_run``, ``set_status``, stage events, documents, progress) checks in the same transaction
that the row still carries that epoch and an unexpired lease. If not — ``promoter unlock --force``,
a take-over, a lapsed lease — nothing is written and :class:`LeaseLost` stops the run (exit 130).

The SQLite file's schema is versioned with ``PRAGMA user_version`` (:data:`SQLITE_MIGRATIONS`):
opening a file an older promoter created adds what it lacks, in place and additively.

A run is *alive* while its process holds the target's lock (a lease renewed by a heartbeat) or,
for runs without a lock (dry runs), while its process exists. A run still marked ``running`` that
is not alive died (SIGKILL, power loss) and is reported as ``interrupted``: ``promoter resume`` or
``promoter rollback`` it.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from promoter.errors import ExitCode, LedgerError, LockHeld, RunNotFound
from promoter.run import ObjectProgress, RunStatus, StageOutcome

LEDGER_ENV = "PROMOTER_LEDGER"
"""Environment variable: the ledger's location (a path, ``sqlite:///path`` or ``postgresql://...``)."""

POSTGRES_SCHEMES = ("postgresql", "postgres")

DEFAULT_LEDGER = Path(".promoter") / "ledger.db"

HOSTNAME = socket.gethostname()


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (killed, not yet reaped by its parent) is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


class LeaseLost(LedgerError):
    """A run's lock was taken over, removed or let lapse: its process must write nothing more."""

    exit_code = ExitCode.INTERRUPTED


def lease_lost(run_id: str, target: str, epoch: int, current: LockInfo | None) -> LeaseLost:
    """The error that stops run ``run_id``, which held ``target``'s lock at ``epoch`` (any backend)."""
    if current is None:
        what = "its lock was removed (`promoter unlock`?)"
    elif current.epoch != epoch:
        what = f"the lock was taken over: now {current.describe()}"
    else:
        what = f"its lease expired {time.time() - current.expires_at:.0f}s ago without renewal"
    return LeaseLost(
        f"run {run_id} lost the lock of target {target}: {what}; this runner stopped "
        "before writing anything more",
        hint=f"`promoter show {run_id}` tells what was done; if it is interrupted, "
        f"`promoter resume {run_id}` or `promoter rollback {run_id}` from one runner",
    )


class RunRecord(BaseModel):
    """One run as the ledger knows it (``status`` is the effective one: dead runs are interrupted)."""

    id: str
    created_at: str
    user: str
    host: str
    pid: int
    command: str
    pipeline_name: str
    pipeline_file: str
    pipeline_sha256: str
    source: str
    target: str
    reason: str | None = None
    dry_run: bool = False
    versions: dict[str, str] = Field(default_factory=dict)
    variables: dict[str, str] = Field(default_factory=dict)
    options: dict[str, Any] = Field(default_factory=dict)
    status: RunStatus = RunStatus.RUNNING
    exit_code: int | None = None
    message: str = ""
    updated_at: str = ""


class LockInfo(BaseModel):
    """Who holds a target's lock, and until when."""

    target: str
    run_id: str
    owner: str
    host: str
    pid: int
    acquired_at: str
    expires_at: float
    epoch: int | None = None
    """Fencing token: new at every acquisition; the holder's writes check it (0: a lock taken by a
    promoter older than fencing on SQLite)."""
    connected: bool | None = None
    """Whether the holder's database session still holds the lock (PostgreSQL); ``None``: unknown."""

    @property
    def expired(self) -> bool:
        """Whether the lease ran out."""
        return self.expires_at <= time.time()

    @property
    def holder_alive(self) -> bool:
        """Whether the holder still runs: lease valid and its session or, on this host, its process."""
        if self.expired:
            return False
        if self.connected is not None:
            return self.connected
        return self.host != HOSTNAME or pid_alive(self.pid)

    def describe(self) -> str:
        """``run X by alice@host (pid 42), lease expires in 12s``."""
        left = self.expires_at - time.time()
        lease = f"lease expires in {left:.0f}s" if left > 0 else f"lease expired {-left:.0f}s ago"
        return f"run {self.run_id} by {self.owner}@{self.host} (pid {self.pid}), {lease}"

    def how_to_check(self) -> str:
        """How a user finds out whether the holder really still works."""
        where = "" if self.host == HOSTNAME else f" on {self.host}"
        return f"`promoter show {self.run_id}` shows what it does; `ps -p {self.pid}`{where}"


def unlock_detail(by: str, reason: str | None, holder_alive: bool) -> str:
    """The ``forced`` lock event's detail: who forced the lock open, and whether the holder lived."""
    alive = " while its holder was alive" if holder_alive else ""
    return f"unlocked by {by}@{HOSTNAME}{alive}" + (f": {reason}" if reason else "")


def live_holder_refused(target: str, current: LockInfo) -> LockHeld:
    """The error of ``promoter unlock`` without ``--force`` when the holder is alive."""
    return LockHeld(
        target,
        current.describe() + " and it is alive",
        hint=(
            f"{current.how_to_check()}. Wait for it; if it must stop, "
            f"`promoter unlock {target} --force --reason WHY`: it stops before its next write "
            "(exit 130) and can be resumed or rolled back"
        ),
    )


class Ledger(ABC):
    """Storage interface of the run ledger."""

    # runs
    @abstractmethod
    def create_run(self, record: RunRecord) -> None:
        """Record a new run (status ``running``)."""

    @abstractmethod
    def set_status(
        self, run_id: str, status: RunStatus, *, exit_code: int | None = None, message: str = ""
    ) -> None:
        """Append a status change (the process calling it becomes the run's owner)."""

    @abstractmethod
    def get_run(self, run_id: str) -> RunRecord:
        """A run by id or unique id prefix; raises :class:`RunNotFound`."""

    @abstractmethod
    def list_runs(self, *, limit: int = 50, target: str | None = None) -> list[RunRecord]:
        """The latest runs, newest first."""

    # what happened in a run
    @abstractmethod
    def add_stage_event(self, run_id: str, event: str, outcome: StageOutcome) -> None:
        """Record a stage event (``started``, ``finished``, ``error``)."""

    @abstractmethod
    def stage_events(self, run_id: str) -> list[dict[str, Any]]:
        """A run's stage events, oldest first."""

    @abstractmethod
    def save_document(self, run_id: str, kind: str, body: str) -> None:
        """Store a JSON document of a run (``plan``, ``snapshot``, ``gates``, ``outcome``...)."""

    @abstractmethod
    def document(self, run_id: str, kind: str) -> str | None:
        """The latest document of that kind, or ``None``."""

    @abstractmethod
    def add_progress(self, run_id: str, event: ObjectProgress) -> None:
        """Record per-object progress."""

    @abstractmethod
    def progress(self, run_id: str) -> list[ObjectProgress]:
        """A run's per-object progress, oldest first."""

    # locks
    @abstractmethod
    def acquire_lock(
        self, target: str, *, run_id: str, owner: str, lease: float, wait: float
    ) -> LockInfo:
        """Take the target's lock, waiting up to ``wait`` seconds; raises :class:`LockHeld`."""

    @abstractmethod
    def renew_lock(self, target: str, *, run_id: str, lease: float) -> bool:
        """Extend the lease; ``False`` when the run no longer holds the lock."""

    @abstractmethod
    def release_lock(self, target: str, *, run_id: str) -> None:
        """Release the lock if ``run_id`` holds it."""

    @abstractmethod
    def force_unlock(
        self, target: str, *, by: str, reason: str | None, spare_live: bool = False
    ) -> LockInfo | None:
        """Remove the lock whoever holds it (recorded); returns the previous holder.

        With ``spare_live``, a holder that is alive (:attr:`LockInfo.holder_alive`, judged in the
        same transaction as the removal) keeps its lock and :class:`LockHeld` names it. A live
        holder whose lock is removed stops before its next ledger write (:class:`LeaseLost`).
        """

    @abstractmethod
    def get_lock(self, target: str) -> LockInfo | None:
        """The current lock of a target, or ``None``."""

    @abstractmethod
    def locks(self) -> list[LockInfo]:
        """Every current lock."""

    @abstractmethod
    def lock_events(self, target: str | None = None) -> list[dict[str, Any]]:
        """The lock history (acquired, released, taken-over, forced), oldest first."""

    # moving history between ledgers (`promoter ledger export` / `import`)
    @abstractmethod
    def history_rows(self, table: str) -> Iterator[dict[str, Any]]:
        """Every row of a history table (:data:`HISTORY_COLUMNS`), oldest first."""

    @abstractmethod
    def append_history(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, int]:
        """Append exported ``(table, row)`` pairs in one transaction; rows per table inserted.

        Runs already in this ledger are skipped with their rows, so importing twice is harmless.
        """

    @abstractmethod
    def close(self) -> None:
        """Close the storage."""


_HISTORY_TABLES = ("runs", "run_status", "stage_events", "documents", "progress", "lock_events")

HISTORY_COLUMNS: dict[str, tuple[str, ...]] = {
    "runs": (
        "id",
        "created_at",
        "user",
        "host",
        "pid",
        "command",
        "pipeline_name",
        "pipeline_file",
        "pipeline_sha256",
        "source",
        "target",
        "reason",
        "dry_run",
        "versions",
        "variables",
        "options",
    ),
    "run_status": ("run_id", "at", "status", "exit_code", "message", "host", "pid"),
    "stage_events": ("run_id", "at", "stage", "event", "status", "plugin", "duration", "messages"),
    "documents": ("run_id", "at", "kind", "body"),
    "progress": ("run_id", "at", "stage", "kind", "key", "status", "message", "data"),
    "lock_events": ("at", "target", "event", "run_id", "owner", "host", "pid", "detail"),
}
"""The history tables in dependency order, with the columns every backend keeps (the export
format of `promoter ledger export`): sequence numbers are not exported, order is."""

OPTIONAL_HISTORY_COLUMNS: dict[str, frozenset[str]] = {"progress": frozenset({"data"})}
"""Columns added after the export format's first version: a file written before them lacks them
(they import as ``NULL``)."""


def rows_to_import(
    rows: Iterable[tuple[str, dict[str, Any]]],
    existing_runs: set[str],
    existing_lock_events: Iterable[tuple[Any, ...]],
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The exported rows a ledger lacks: runs it has are skipped with all their rows.

    A lock event goes with its run when the file has that run; one of a run the file lacks (a
    foreign or forced lock) is skipped only as many times as the ledger already has an
    identical event, since two events may share their second-resolution time stamp.
    """
    from collections import Counter

    already = Counter(existing_lock_events)
    imported: set[str] = set()
    skipped: set[str] = set()
    for table, row in rows:
        if table == "runs":
            if row["id"] in existing_runs or row["id"] in imported:
                skipped.add(row["id"])
                continue
            imported.add(row["id"])
        elif table != "lock_events":
            if row["run_id"] in skipped:
                continue
        elif row["run_id"] in skipped:
            continue
        elif row["run_id"] not in imported:
            key = (row["at"], row["target"], row["event"], row["run_id"], row["detail"])
            if already[key] > 0:
                already[key] -= 1
                continue
        yield table, row


_SCHEMA = """
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
    for table in _HISTORY_TABLES
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
)
"""The SQLite file's schema versions after the first: ``(user_version, what, columns added)``.
Only additive changes (new nullable or defaulted columns), so an older file keeps its history and
the tables of :data:`_SCHEMA` (which a new file gets whole) stay the reference. Never edit one: add
the next."""

SQLITE_SCHEMA_VERSION = SQLITE_MIGRATIONS[-1][0]


def ledger_path(location: str | None = None, *, cwd: Path | None = None) -> Path:
    """The SQLite file for ``location`` (default: ``PROMOTER_LEDGER``, then ``.promoter/ledger.db``)."""
    location = location or os.environ.get(LEDGER_ENV) or None
    base = cwd or Path.cwd()
    if location is None:
        return base / DEFAULT_LEDGER
    if "://" in location:
        scheme, _, rest = location.partition("://")
        if scheme != "sqlite" or not rest.startswith("/"):
            raise LedgerError(
                f"unsupported ledger location {location!r}",
                hint="use a file path, sqlite:///path (relative), sqlite:////abs/path or "
                "postgresql://user:password@host:port/database",
            )
        location = rest[1:]
    path = Path(location).expanduser()
    return path if path.is_absolute() else base / path


def is_postgres(location: str | None) -> bool:
    """Whether ``location`` (default: ``PROMOTER_LEDGER``) names a PostgreSQL ledger."""
    location = location or os.environ.get(LEDGER_ENV) or ""
    return location.partition("://")[0].lower() in POSTGRES_SCHEMES and "://" in location


def open_ledger(location: str | None = None, *, cwd: Path | None = None) -> Ledger:
    """Open the ledger at ``location`` (default: ``PROMOTER_LEDGER``, then ``.promoter/ledger.db``).

    ``postgresql://`` (or ``postgres://``) URLs open the shared PostgreSQL ledger, migrating its
    schema if needed; anything else is a SQLite file (see :func:`ledger_path`), created if needed.
    """
    location = location or os.environ.get(LEDGER_ENV) or None
    if location is not None and is_postgres(location):
        from promoter.ledger_postgres import PostgresLedger

        return PostgresLedger(location)
    return SQLiteLedger(ledger_path(location, cwd=cwd))


def progress_event(row: dict[str, Any]) -> ObjectProgress:
    """An :class:`ObjectProgress` from a ``progress`` row (any backend; ``data`` is JSON text)."""
    data = row.pop("data", None)
    return ObjectProgress.model_validate({**row, "data": json.loads(data) if data else {}})


def run_record(row: Any, status: RunStatus, message: str | None) -> RunRecord:
    """A :class:`RunRecord` from a ``runs`` row joined with its latest status (any backend)."""
    return RunRecord(
        id=row["id"],
        created_at=row["created_at"],
        user=row["user"],
        host=row["host"],
        pid=row["pid"],
        command=row["command"],
        pipeline_name=row["pipeline_name"],
        pipeline_file=row["pipeline_file"],
        pipeline_sha256=row["pipeline_sha256"],
        source=row["source"],
        target=row["target"],
        reason=row["reason"],
        dry_run=bool(row["dry_run"]),
        versions=json.loads(row["versions"]),
        variables=json.loads(row["variables"]),
        options=json.loads(row["options"]),
        status=status,
        exit_code=row["exit_code"],
        message=message,
        updated_at=row["updated_at"],
    )


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
            self._db.execute("PRAGMA foreign_keys=ON")
            existing = self._db.execute("SELECT 1 FROM sqlite_master WHERE name = 'runs'").fetchone()
            self._db.executescript(_SCHEMA)
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
                    if column not in present:  # a new file has it from _SCHEMA already
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

    def _write(self, run_id: str, sql: str, params: tuple[Any, ...]) -> None:
        """One history row of ``run_id``; fenced when this object took the run's lock."""
        with self._mutex:
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
        return _iso(time.time())

    # --- runs -------------------------------------------------------------------------------

    def create_run(self, record: RunRecord) -> None:
        """Record a new run and its first status."""
        with self._mutex:
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

    def _resolve_id(self, run_id: str) -> str:
        with self._mutex:
            rows = self._db.execute(
                # A plain prefix comparison: run ids may contain LIKE's wildcards (_ and %).
                "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY id LIMIT 3",
                (len(run_id), run_id),
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
        return str(ids[0])

    def get_run(self, run_id: str) -> RunRecord:
        """A run by id or unique prefix, with its effective status."""
        resolved = self._resolve_id(run_id)
        records = self._records("WHERE r.id = ?", (resolved,), 1)
        return records[0]

    def list_runs(self, *, limit: int = 50, target: str | None = None) -> list[RunRecord]:
        """The latest runs, newest first."""
        if target is None:
            return self._records("", (), limit)
        return self._records("WHERE r.target = ?", (target,), limit)

    def _records(self, where: str, params: tuple[Any, ...], limit: int) -> list[RunRecord]:
        sql = f"""
            SELECT r.*, s.status, s.exit_code, s.message, s.at AS updated_at,
                   s.host AS status_host, s.pid AS status_pid
            FROM runs r
            JOIN run_status s ON s.seq = (
                SELECT MAX(seq) FROM run_status WHERE run_id = r.id)
            {where}
            ORDER BY r.created_at DESC, r.id DESC LIMIT ?"""
        with self._mutex:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
            locks = {lock.run_id: lock for lock in self._locks()}
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
    def _alive(row: sqlite3.Row, lock: LockInfo | None) -> bool:
        if lock is not None:
            return lock.holder_alive
        if row["status_host"] == HOSTNAME:
            return pid_alive(int(row["status_pid"]))
        return False  # a running run on another host holds a lock; without one it is gone

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

    def acquire_lock(
        self, target: str, *, run_id: str, owner: str, lease: float, wait: float
    ) -> LockInfo:
        """Take the lock; an expired lease, or a dead holder on this host, is taken over.

        Waits up to ``wait`` seconds for a live holder, then raises :class:`LockHeld` naming it.
        """
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            with self._mutex:
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
                    if current is None or ours or not current.holder_alive:
                        lock = LockInfo(
                            target=target,
                            run_id=run_id,
                            owner=owner,
                            host=HOSTNAME,
                            pid=os.getpid(),
                            acquired_at=self._now(),
                            expires_at=time.time() + lease,
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
                                target,
                                "taken-over",
                                current,
                                f"stale lock taken over by run {run_id}",
                            )
                        self._lock_event(target, "acquired", lock, "")
                        self._db.execute("COMMIT")
                        assert lock.epoch is not None
                        self._fences[run_id] = (target, lock.epoch)
                        return lock
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockHeld(
                    target,
                    current.describe(),
                    hint=(
                        "wait for it to finish (--lock-wait SECONDS), or, if that run is dead, "
                        f"`promoter unlock {target}`"
                    ),
                )
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 1.0)

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
        order = "created_at, id" if table == "runs" else "seq"
        with self._mutex:
            rows = self._db.execute(f"SELECT {columns} FROM {table} ORDER BY {order}").fetchall()
        for row in rows:
            values = dict(row)
            if table == "runs":
                values["dry_run"] = bool(values["dry_run"])
            yield values

    def append_history(self, rows: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, int]:
        """Append exported rows in one transaction, skipping runs (and their rows) already here."""
        counts: dict[str, int] = {}
        with self._mutex:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                existing = {r[0] for r in self._db.execute("SELECT id FROM runs")}
                events = [
                    tuple(r)
                    for r in self._db.execute(
                        "SELECT at, target, event, run_id, detail FROM lock_events"
                    )
                ]
                for table, row in rows_to_import(rows, existing, events):
                    columns = HISTORY_COLUMNS[table]
                    values = [row.get(c) for c in columns]
                    if table == "runs":
                        values[columns.index("dry_run")] = int(bool(row["dry_run"]))
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


class LockHeartbeat:
    """Renews a lock's lease in a background thread while a run works."""

    def __init__(self, ledger: Ledger, target: str, run_id: str, lease: float) -> None:
        self._ledger = ledger
        self._target = target
        self._run_id = run_id
        self._lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, name=f"lock-heartbeat-{run_id}", daemon=True
        )
        self.lost = False

    def _beat(self) -> None:
        interval = max(self._lease / 3, 0.05)
        while not self._stop.wait(interval):
            try:
                if not self._ledger.renew_lock(
                    self._target, run_id=self._run_id, lease=self._lease
                ):
                    self.lost = True
                    return
            except (sqlite3.Error, LedgerError):
                continue  # busy or unreachable: try again next beat; the lease covers a few misses

    def start(self) -> LockHeartbeat:
        """Start renewing."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop renewing (the lock itself is released separately)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
