"""The ledger's rules, once for every backend: what a run record is, when a run is alive, how
run ids resolve, which rows move between ledgers, and how a lock's lease is renewed.

:class:`Ledger` is the storage interface; :class:`~promoter.ledger.sqlite.SQLiteLedger` (the
embedded default) and :class:`~promoter.ledger.postgres.PostgresLedger` (team mode) implement
it in their own SQL dialect only.

History is append-only: a run's status is the latest row of its status history, and both
backends refuse to update or delete history rows. Only the lock table is mutable.

Both backends fence a lock's holder the same way: the lock row carries an ``epoch``, a fencing
token new at every acquisition, and every write of a run whose lock the ledger object took
(``create_run``, ``set_status``, stage events, documents, progress) checks in the same transaction
that the row still carries that epoch and an unexpired lease. If not — ``promoter unlock --force``,
a take-over, a lapsed lease — nothing is written and :class:`LeaseLost` stops the run (exit 130).

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
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from promoter.context import SharedBudgets
from promoter.errors import ExitCode, LedgerError, LockHeld, RunNotFound
from promoter.ledger.history import release_summary
from promoter.model import ObjectProgress, RunStatus, StageOutcome
from promoter.release import Promotion, Release, ReleaseSummary

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


def iso_seconds(epoch: float) -> str:
    """An epoch time as ISO 8601 UTC, to the second (what the ledgers record)."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


class ReleaseExists(LedgerError):
    """A release with that id is in the ledger already (ids are never reused)."""


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
    release: str | None = None
    """The release the run promoted (or planned); its versions are :attr:`versions`."""
    digest: str | None = None
    """That release's content digest."""

    @property
    def hotfix(self) -> bool:
        """Whether the run was a hotfix (a ``kind: hotfix`` pipeline, or ``--only``)."""
        return self.options.get("kind") == "hotfix"

    def promotion(self) -> Promotion | None:
        """The run as a promotion of its release (``None`` for a run without one)."""
        if self.release is None or self.digest is None:
            return None
        return Promotion(
            run_id=self.id,
            release=self.release,
            digest=self.digest,
            target=self.target,
            status=self.status,
            started_at=datetime.fromisoformat(self.created_at),
            finished_at=datetime.fromisoformat(self.updated_at or self.created_at),
            dry_run=self.dry_run,
            hotfix=self.hotfix,
            reason=self.reason,
            user=self.user,
        )


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

    @classmethod
    def taken(
        cls,
        target: str,
        *,
        run_id: str,
        owner: str,
        acquired_at: str,
        lease: float,
        epoch: int,
        connected: bool | None = None,
    ) -> LockInfo:
        """The lock this process just took for ``run_id``."""
        return cls(
            target=target,
            run_id=run_id,
            owner=owner,
            host=HOSTNAME,
            pid=os.getpid(),
            acquired_at=acquired_at,
            expires_at=time.time() + lease,
            epoch=epoch,
            connected=connected,
        )

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


WROTE_TO_TARGET = frozenset(
    {
        RunStatus.PROMOTED,
        RunStatus.INTERRUPTED,
        RunStatus.ROLLBACK_INCOMPLETE,
        RunStatus.RUNNING,
    }
)
"""Statuses of a run that changed (or may have changed, or is changing) its target and left it so."""


def later_runs(ledger: Ledger, record: RunRecord) -> list[RunRecord]:
    """Runs started after ``record`` on the same target that changed it, newest first.

    Resuming or rolling back ``record`` writes its plan or its snapshot over what they wrote:
    the one rule both ``promoter resume`` and ``promoter rollback`` refuse by (unless forced).
    Dry runs, blocked, failed and rolled-back runs left the target as they found it.
    """
    return [
        r
        for r in ledger.list_runs(limit=1000, target=record.target)
        if r.created_at > record.created_at and r.status in WROTE_TO_TARGET and not r.dry_run
    ]


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

    def get_run(self, run_id: str) -> RunRecord:
        """A run by id or unique id prefix, with its effective status; raises
        :class:`RunNotFound`."""
        rows, locks = self._run_rows("id", self._resolve_id(run_id), limit=1)
        return self._effective(rows, locks)[0]

    def list_runs(self, *, limit: int = 50, target: str | None = None) -> list[RunRecord]:
        """The latest runs, newest first, with their effective status."""
        if target is None:
            return self._effective(*self._run_rows(None, None, limit=limit))
        return self._effective(*self._run_rows("target", target, limit=limit))

    def runs_of_release(
        self, *, release: str | None = None, digest: str | None = None, limit: int = 1000
    ) -> list[RunRecord]:
        """The runs that promoted (or planned) a release, or any release with ``digest``,
        newest first."""
        if release is not None:
            return self._effective(*self._run_rows("release", release, limit=limit))
        return self._effective(*self._run_rows("digest", digest, limit=limit))

    def later_runs(self, record: RunRecord) -> list[RunRecord]:
        """Runs started after ``record`` on the same target that changed it, newest first.

        Resuming or rolling back ``record`` writes its plan or its snapshot over what they wrote:
        the one rule both ``promoter resume`` and ``promoter rollback`` refuse by (unless forced).
        Dry runs, blocked, failed and rolled-back runs left the target as they found it.
        """
        return [
            r
            for r in self.list_runs(limit=1000, target=record.target)
            if r.created_at > record.created_at and r.status in WROTE_TO_TARGET and not r.dry_run
        ]

    def _resolve_id(self, run_id: str) -> str:
        """The run id ``run_id`` names: itself, or the one run it is a prefix of."""
        ids = self._ids_starting_with(run_id, limit=3)
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

    @classmethod
    def _effective(
        cls, rows: list[Mapping[str, Any]], locks: Mapping[str, LockInfo]
    ) -> list[RunRecord]:
        """Records from rows, a run ``running`` but not alive shown as ``interrupted``."""
        records = []
        for row in rows:
            status = RunStatus(row["status"])
            message = row["message"]
            if status is RunStatus.RUNNING and not cls._alive(row, locks.get(row["id"])):
                status = RunStatus.INTERRUPTED
                message = "the run's process is gone (killed or crashed); resume or roll it back"
            records.append(run_record(row, status, message))
        return records

    @staticmethod
    def _alive(row: Mapping[str, Any], lock: LockInfo | None) -> bool:
        """A running run is alive while its lock's holder is, or (no lock: a dry run) while
        its process runs on this host."""
        if lock is not None:
            return lock.holder_alive
        if row["status_host"] == HOSTNAME:
            return pid_alive(int(row["status_pid"]))
        return False  # a running run on another host holds a lock; without one it is gone

    # --- what each backend reads in its own dialect ---------------------------------------------

    path: object
    """Where the ledger is (a file, a database URL without its password), for messages."""

    @abstractmethod
    def _ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        """Run ids that start with ``prefix`` (a plain prefix: ids may hold ``_`` or ``%``)."""

    @abstractmethod
    def _run_rows(
        self, column: str | None, value: str | None, *, limit: int
    ) -> tuple[list[Mapping[str, Any]], dict[str, LockInfo]]:
        """``runs`` rows whose ``column`` (a key of :data:`RUN_FILTERS`; ``None``: all) is
        ``value``, newest first, each joined with its latest status (``status``, ``exit_code``,
        ``message``, ``updated_at``, ``status_host``, ``status_pid``) and its release
        (``release_id``, ``release_digest``, ``release_versions``); and the current locks by
        run id."""

    # releases (immutable; any process may add one)
    @abstractmethod
    def add_release(self, release: Release) -> None:
        """Store a new release; raises :class:`ReleaseExists` when its id is taken."""

    @abstractmethod
    def _release_rows(
        self, column: str | None, value: str | None, *, limit: int, body: bool
    ) -> list[Mapping[str, Any]]:
        """``releases`` rows whose ``column`` (``id``, ``digest`` or ``pipeline_name``;
        ``None``: all) is ``value``, newest first; the ``body`` column only when asked."""

    @abstractmethod
    def _release_ids_starting_with(self, prefix: str, limit: int) -> list[str]:
        """Release ids that start with ``prefix``."""

    def release(self, release_id: str) -> Release:
        """A release by id (or unique id prefix), with its objects; raises :class:`LedgerError`
        naming the command that lists them."""
        ids = self._release_ids_starting_with(release_id, limit=3)
        if release_id in ids:
            ids = [release_id]
        if len(ids) != 1:
            what = "is ambiguous" if ids else "is not in the ledger"
            raise LedgerError(
                f"release {release_id!r} {what} ({self.path})",
                hint="`promoter release list` shows the releases; `promoter release create FILE` "
                "makes one",
            )
        row = self._release_rows("id", ids[0], limit=1, body=True)[0]
        return Release.model_validate_json(row["body"])

    def next_release_id(self, prefix: str) -> str:
        """``<prefix>.<n>``: the next number after the releases already named so."""
        ids = self._release_ids_starting_with(prefix + ".", limit=100_000)
        numbers = [int(i[len(prefix) + 1 :]) for i in ids if i[len(prefix) + 1 :].isdecimal()]
        return f"{prefix}.{max(numbers, default=0) + 1}"

    def releases(self, *, pipeline: str | None = None, limit: int = 50) -> list[ReleaseSummary]:
        """The latest releases (of one pipeline), newest first, without their objects."""
        column = "pipeline_name" if pipeline is not None else None
        return [
            release_summary(row)
            for row in self._release_rows(column, pipeline, limit=limit, body=False)
        ]

    def release_with_digest(self, pipeline: str, digest: str) -> ReleaseSummary | None:
        """The newest release of ``pipeline`` with that content digest, if any."""
        rows = self._release_rows("digest", digest, limit=100, body=False)
        return next(
            (release_summary(r) for r in rows if r["pipeline_name"] == pipeline), None
        )

    @abstractmethod
    def link_release(self, run_id: str, release_id: str) -> None:
        """Record that run ``run_id`` promotes (or plans) release ``release_id`` (fenced)."""

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
    def acquire_lock(
        self,
        target: str,
        *,
        run_id: str,
        owner: str,
        lease: float,
        wait: float,
        on_wait: Callable[[LockInfo | None, float], None] | None = None,
    ) -> LockInfo:
        """Take the target's lock, waiting up to ``wait`` seconds for a live holder.

        A holder that is gone (its lease expired, or its process or session dead) is taken over
        (recorded). ``on_wait(holder, seconds_left)`` is called before each pause, so that a
        person watching learns who holds the lock. Raises :class:`LockHeld` naming the holder
        when the wait is over.
        """
        deadline = time.monotonic() + wait
        delay = 0.05
        while True:
            taken, current = self._try_acquire(target, run_id=run_id, owner=owner, lease=lease)
            if taken is not None:
                return taken
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
            if on_wait is not None:
                on_wait(current, remaining)
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 0.5)

    @abstractmethod
    def _try_acquire(
        self, target: str, *, run_id: str, owner: str, lease: float
    ) -> tuple[LockInfo | None, LockInfo | None]:
        """One attempt to take the lock, in one transaction: the lock taken (``None`` when a
        live holder keeps it) and the holder found."""

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

    def shared_budgets(self) -> SharedBudgets | None:
        """Request budgets shared by every runner of this ledger (``run.budgets``); ``None``
        when the ledger keeps none (the SQLite ledger: one machine)."""
        return None


RUN_FILTERS = {
    "id": "r.id",
    "target": "r.target",
    "release": "rr.release_id",
    "digest": "rel.digest",
}
"""What :meth:`Ledger._run_rows` filters by, and the column of its query (``runs r``, the run's
latest ``run_releases rr`` and its ``releases rel``)."""


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
        versions=json.loads(row.get("release_versions") or row["versions"]),
        variables=json.loads(row["variables"]),
        options=json.loads(row["options"]),
        status=status,
        exit_code=row["exit_code"],
        message=message,
        updated_at=row["updated_at"],
        release=row.get("release_id"),
        digest=row.get("release_digest"),
    )


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
