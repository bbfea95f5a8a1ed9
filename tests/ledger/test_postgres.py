"""What only the PostgreSQL ledger does: migrations, fencing tokens, sessions that end."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import psycopg
import pytest

from promoter.errors import LedgerError
from promoter.ledger import LeaseLost, open_ledger
from promoter.ledger.postgres import MIGRATIONS, SCHEMA_VERSION, PostgresLedger
from promoter.model import ObjectProgress, RunStatus

from .conftest import run_record

TARGET = "test/Finance"


@pytest.fixture
def pg(postgres_url: str) -> Iterator[PostgresLedger]:
    ledger = PostgresLedger(postgres_url)
    yield ledger
    ledger.close()


def sql(url: str, statement: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as db:
        cursor = db.execute(statement.encode() if not params else statement, params or None)  # type: ignore[call-overload]
        return list(cursor.fetchall()) if cursor.description else []


# --- migrations ---------------------------------------------------------------------------------


def test_open_ledger_chooses_postgres_by_scheme(postgres_url: str) -> None:
    ledger = open_ledger(postgres_url)
    try:
        assert isinstance(ledger, PostgresLedger)
        assert ledger.schema_version() == SCHEMA_VERSION
    finally:
        ledger.close()


def test_a_fresh_database_is_migrated_once_even_by_runners_starting_together(
    postgres_url: str,
) -> None:
    opened: list[PostgresLedger] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            opened.append(PostgresLedger(postgres_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    try:
        assert sorted(len(ledger.applied_migrations) for ledger in opened) == [0, 0, 0, len(MIGRATIONS)]
        assert sql(postgres_url, "SELECT version FROM schema_migrations ORDER BY version") == [
            (m.version,) for m in MIGRATIONS
        ]
    finally:
        for ledger in opened:
            ledger.close()


def test_an_older_schema_is_upgraded_and_its_history_kept(postgres_url: str) -> None:
    # A ledger at version 1 (as an older promoter left it), with a run in it.
    sql(
        postgres_url,
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " applied_at timestamptz NOT NULL DEFAULT clock_timestamp())",
    )
    sql(postgres_url, MIGRATIONS[0].sql)
    sql(postgres_url, "INSERT INTO schema_migrations (version, name) VALUES (1, 'initial')")
    sql(
        postgres_url,
        "INSERT INTO runs VALUES ('old', '2026-01-01T00:00:00+00:00', 'alice', 'h', 1, 'promote',"
        " 'p', '/p', 'x', 'dev/F', 'test/F', NULL, false, '{}', '{}', '{}')",
    )
    sql(postgres_url, "UPDATE runs SET reason = 'editable at version 1'")
    with pytest.raises(LedgerError, match="ledger migrate"):
        PostgresLedger(postgres_url, migrate=False)
    ledger = PostgresLedger(postgres_url)
    try:
        assert [m.version for m in ledger.applied_migrations] == [2, 3, 4, 5]
        assert ledger.schema_version() == 5
        assert [m["version"] for m in ledger.migrations()] == [1, 2, 3, 4, 5]
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            sql(postgres_url, "UPDATE runs SET reason = 'not any more'")
    finally:
        ledger.close()


def test_a_schema_newer_than_this_promoter_is_refused(
    pg: PostgresLedger, postgres_url: str
) -> None:
    sql(
        postgres_url, "INSERT INTO schema_migrations (version, name) VALUES (99, 'from the future')"
    )
    with pytest.raises(LedgerError, match="schema version 99") as info:
        PostgresLedger(postgres_url)
    assert "upgrade promoter" in str(info.value)


def test_an_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(LedgerError, match="cannot connect to the ledger") as info:
        PostgresLedger("postgresql://promoter:secret@127.0.0.1:1/promoter", connect_timeout=2)
    assert "secret" not in str(info.value)  # the password is masked
    assert "PROMOTER_LEDGER" in str(info.value)


# --- fencing: a holder that lost its lock writes nothing more ------------------------------------


def test_a_taken_over_holder_is_stopped_before_its_next_write(postgres_url: str) -> None:
    first = PostgresLedger(postgres_url)
    second = PostgresLedger(postgres_url)
    try:
        lock = first.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
        first.create_run(run_record("r1"))
        # first's lock session dies (network partition, server restart of the connection...)
        sql(postgres_url, "SELECT pg_terminate_backend(%s)", (first._lock_db.info.backend_pid,))  # type: ignore[union-attr]
        taken = second.acquire_lock(TARGET, run_id="r1", owner="bob", lease=60, wait=5)
        assert taken.epoch is not None and lock.epoch is not None and taken.epoch > lock.epoch
        with pytest.raises(LeaseLost, match="the lock was taken over: now run r1 by bob@") as info:
            first.add_progress(
                "r1", ObjectProgress(stage="apply", kind="task", key="a", status="done")
            )
        assert "promoter resume r1" in str(info.value)
        with pytest.raises(LeaseLost):
            first.set_status("r1", RunStatus.FAILED, exit_code=1, message="too late")
        assert first.progress("r1") == []  # nothing was written
        assert not first.renew_lock(TARGET, run_id="r1", lease=60)
        second.set_status("r1", RunStatus.PROMOTED, exit_code=0, message="resumed elsewhere")
        first.release_lock(TARGET, run_id="r1")  # leaves the new holder's lock alone
        assert second.get_lock(TARGET) is not None and second.get_run("r1").status == "promoted"
    finally:
        first.close()
        second.close()


def test_a_lapsed_lease_stops_the_holder_even_if_nobody_took_it(pg: PostgresLedger) -> None:
    pg.acquire_lock(TARGET, run_id="r1", owner="alice", lease=0.3, wait=0)
    pg.create_run(run_record("r1"))
    time.sleep(0.4)
    with pytest.raises(LeaseLost, match="lease expired"):
        pg.save_document("r1", "plan", "{}")
    assert pg.document("r1", "plan") is None
    assert not pg.renew_lock(TARGET, run_id="r1", lease=60)


def test_a_forced_unlock_ends_the_holders_session_and_stops_it(postgres_url: str) -> None:
    holder = PostgresLedger(postgres_url)
    operator = PostgresLedger(postgres_url)
    try:
        holder.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
        holder.create_run(run_record("r1"))
        operator.force_unlock(TARGET, by="carol", reason="runner is gone")
        with pytest.raises(LeaseLost, match="removed"):
            holder.set_status("r1", RunStatus.PROMOTED)
        # and the advisory lock is free: another run gets the target at once
        assert operator.acquire_lock(TARGET, run_id="r2", owner="carol", lease=60, wait=2)
    finally:
        holder.close()
        operator.close()


def test_a_write_of_another_run_is_not_fenced(pg: PostgresLedger) -> None:
    pg.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
    pg.create_run(run_record("dry", target="prod/Finance"))  # a dry run takes no lock
    pg.set_status("dry", RunStatus.PLANNED, exit_code=0)
    assert pg.get_run("dry").status is RunStatus.PLANNED


# --- lock sessions ------------------------------------------------------------------------------


def test_a_killed_holders_run_is_interrupted_for_every_runner_at_once(postgres_url: str) -> None:
    holder = PostgresLedger(postgres_url)
    watcher = PostgresLedger(postgres_url)
    try:
        holder.acquire_lock(TARGET, run_id="r1", owner="alice", lease=600, wait=0)
        holder.create_run(run_record("r1"))
        assert watcher.get_run("r1").status is RunStatus.RUNNING
        lock = watcher.get_lock(TARGET)
        assert lock is not None and lock.connected and lock.holder_alive
        holder._lock_db.close()  # type: ignore[union-attr]  # the holder's process is gone
        # The server frees the advisory lock as soon as that backend has exited (a moment, not
        # the 600 s lease).
        deadline = time.monotonic() + 10
        while watcher.get_run("r1").status is not RunStatus.INTERRUPTED:
            assert time.monotonic() < deadline, "the dead holder's run never showed interrupted"
            time.sleep(0.05)
        assert watcher.acquire_lock(TARGET, run_id="r1", owner="bob", lease=60, wait=0)
    finally:
        holder.close()
        watcher.close()


def test_a_broken_lock_session_reconnects_and_keeps_the_lease(
    pg: PostgresLedger, postgres_url: str
) -> None:
    pg.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
    old = pg._lock_db.info.backend_pid  # type: ignore[union-attr]
    sql(postgres_url, "SELECT pg_terminate_backend(%s, 5000)", (old,))
    assert pg.renew_lock(TARGET, run_id="r1", lease=60)
    lock = pg.get_lock(TARGET)
    assert lock is not None and lock.connected
    assert pg._lock_db.info.backend_pid != old  # type: ignore[union-attr]
    pg.create_run(run_record("r1"))  # still the holder: writes go through


def test_a_silent_holders_session_is_ended_by_the_server(
    pg: PostgresLedger, postgres_url: str
) -> None:
    """idle_session_timeout = the lease: a frozen runner's advisory lock does not outlive it."""
    pg.acquire_lock(TARGET, run_id="r1", owner="alice", lease=1, wait=0)
    backend_pid = pg._lock_db.info.backend_pid  # type: ignore[union-attr]
    alive = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
    assert sql(postgres_url, alive, (backend_pid,)) == [(1,)]
    deadline = time.monotonic() + 10
    while sql(postgres_url, alive, (backend_pid,)) != [(0,)]:
        assert time.monotonic() < deadline, "the server did not end the silent lock session"
        time.sleep(0.1)
