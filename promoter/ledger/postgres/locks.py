"""The PostgreSQL ledger's locks: a lease row, a session advisory lock, and a fencing token.

See :mod:`promoter.ledger.postgres` for why each part is there. :class:`AdvisoryLocks` is the
lock half of :class:`~promoter.ledger.postgres.PostgresLedger` (a mixin: it uses the ledger's
connections and mutex).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import psycopg

from promoter.errors import LedgerError
from promoter.ledger.base import (
    HOSTNAME,
    LockInfo,
    live_holder_refused,
    unlock_detail,
)

Row = dict[str, Any]


def lock_key(target: str, schema: str = "public") -> int:
    """The advisory-lock key (a signed 64-bit integer) of a target in the ledger's schema.

    Advisory locks belong to a database, not to a schema: the schema is part of the key so that
    two ledgers in one database (``?options=-csearch_path%3Dteam_b``) never share a lock.
    """
    digest = hashlib.sha256(f"promoter-lock:{schema}:{target}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@dataclass(frozen=True)
class Held:
    """A lock this ledger object holds: which run, which epoch, which advisory key."""

    run_id: str
    epoch: int
    key: int


LOCK_SELECT = """
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
"""Lock rows with their lease measured on the server's clock, and whether the holder's session
still holds the advisory lock."""


def lock_info(row: Row) -> LockInfo:
    """A :class:`LockInfo` from a row of :data:`LOCK_SELECT`."""
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


class AdvisoryLocks:
    """The lock operations of the PostgreSQL ledger (see the module doc)."""

    # Provided by the ledger this is mixed into.
    path: object
    schema: str
    _mutex: threading.RLock
    _lock_db: psycopg.Connection[Row] | None
    _held: dict[str, Held]
    _fences: dict[str, tuple[str, int]]

    def _connect(self) -> psycopg.Connection[Row]:
        raise NotImplementedError

    def _database(self) -> contextlib.AbstractContextManager[psycopg.Connection[Row]]:
        raise NotImplementedError

    def _now(self) -> str:
        raise NotImplementedError

    def _insert(
        self, db: psycopg.Connection[Row], table: str, run_id: str | None, values: Row
    ) -> None:
        raise NotImplementedError

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
            rows = db.execute(LOCK_SELECT + " ORDER BY l.target").fetchall()
        else:
            rows = db.execute(LOCK_SELECT + " WHERE l.target = %s", (target,)).fetchall()
        return [lock_info(row) for row in rows]

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

    def _try_acquire(
        self, target: str, *, run_id: str, owner: str, lease: float
    ) -> tuple[LockInfo | None, LockInfo | None]:
        """One attempt: the advisory lock first, then the lease row with a new epoch.

        A holder whose session is gone (crashed, killed) is taken over at once; one whose lease
        expired while its session lingers has that session ended.
        """
        with self._mutex:
            try:
                taken, current = self._take(target, run_id=run_id, owner=owner, lease=lease)
            except psycopg.Error as exc:
                raise LedgerError(
                    f"cannot take the lock of {target} in the ledger {self.path}: {exc}",
                    hint="check that the PostgreSQL server is reachable",
                ) from exc
        return (current if taken else None), current

    def _take(
        self, target: str, *, run_id: str, owner: str, lease: float
    ) -> tuple[bool, LockInfo | None]:
        """One attempt: ``(True, new lock)``, or ``(False, holder to wait for or None)``."""
        key = lock_key(target, self.schema)
        held = self._held.get(target)
        try:
            session = self._lock_session()
            if held is None:
                row = session.execute("SELECT pg_try_advisory_lock(%s) AS got", (key,)).fetchone()
                if row is None or not row["got"]:
                    return False, self._blocked_by(target)
            with self._database() as db, db.transaction():
                row = db.execute(
                    LOCK_SELECT + " WHERE l.target = %s FOR UPDATE OF l", (target,)
                ).fetchone()
                current = lock_info(row) if row is not None else None
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
                lock = LockInfo.taken(
                    target,
                    run_id=run_id,
                    owner=owner,
                    acquired_at=self._now(),
                    lease=lease,
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
        self._held[target] = Held(run_id, lock.epoch or 0, key)
        self._fences[run_id] = (target, lock.epoch or 0)
        self._set_idle_timeout(session, lease)
        return True, lock

    def _blocked_by(self, target: str) -> LockInfo | None:
        """Someone's session holds the advisory lock: who, and end it if its lease is over."""
        with self._database() as db:
            row = db.execute(LOCK_SELECT + " WHERE l.target = %s", (target,)).fetchone()
            if row is None:
                return None
            current = lock_info(row)
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

    def _renew(self, target: str, held: Held, lease: float) -> bool:
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
                        LOCK_SELECT + " WHERE l.target = %s FOR UPDATE OF l", (target,)
                    ).fetchone()
                    if row is not None and row["epoch"] == held.epoch:
                        db.execute("DELETE FROM locks WHERE target = %s", (target,))
                        self._lock_event(db, target, "released", lock_info(row), "")
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
                    LOCK_SELECT + " WHERE l.target = %s FOR UPDATE OF l", (target,)
                ).fetchone()
                current = lock_info(row) if row is not None else None
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
