"""The SQLite ledger: append-only history, target locks, interrupted runs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from promoter.errors import LedgerError, LockHeld
from promoter.ledger import HOSTNAME, RunRecord, SQLiteLedger, ledger_path
from promoter.model import ObjectProgress, RunStatus

TARGET = "test/Finance"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SQLiteLedger]:
    db = SQLiteLedger(tmp_path / "ledger.db")
    yield db
    db.close()


def record(run_id: str, pid: int | None = None) -> RunRecord:
    return RunRecord(
        id=run_id,
        created_at="2026-11-29T00:00:00+00:00",
        user="alice",
        host=HOSTNAME,
        pid=pid or os.getpid(),
        command="promote",
        pipeline_name="p",
        pipeline_file="/p.yaml",
        pipeline_sha256="0" * 64,
        source="dev/Finance",
        target=TARGET,
    )


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def insert_foreign_lock(db: SQLiteLedger, *, expires_in: float, host: str = "ci-runner-7") -> None:
    db._db.execute(
        "INSERT INTO locks (target, run_id, owner, host, pid, acquired_at, expires_at)"
        " VALUES (?,?,?,?,?,?,?)",
        (
            TARGET,
            "other-run",
            "bob",
            host,
            4242,
            "2026-11-29T00:00:00+00:00",
            time.time() + expires_in,
        ),
    )


def test_history_is_append_only(ledger: SQLiteLedger) -> None:
    ledger.create_run(record("r1"))
    ledger.set_status("r1", RunStatus.PROMOTED, exit_code=0, message="done")
    for statement in (
        "UPDATE runs SET user = 'mallory'",
        "DELETE FROM run_status",
        "UPDATE run_status SET status = 'promoted'",
    ):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            ledger._db.execute(statement)
    run = ledger.get_run("r1")
    assert (run.status, run.exit_code, run.user) == (RunStatus.PROMOTED, 0, "alice")


def test_runs_are_found_by_unique_prefix(ledger: SQLiteLedger) -> None:
    ledger.create_run(record("20261129-000000-aaaaaa"))
    ledger.create_run(record("20261129-000000-aabbbb"))
    assert ledger.get_run("20261129-000000-aab").id == "20261129-000000-aabbbb"
    with pytest.raises(Exception, match="ambiguous"):
        ledger.get_run("20261129-000000-aa")
    with pytest.raises(Exception, match="no run 'nope'"):
        ledger.get_run("nope")


def test_progress_round_trips(ledger: SQLiteLedger) -> None:
    ledger.create_run(record("r1"))
    ledger.add_progress("r1", ObjectProgress(stage="apply", kind="task", key="a", status="done"))
    assert [(p.kind, p.key, p.status) for p in ledger.progress("r1")] == [("task", "a", "done")]


def test_a_second_run_fails_naming_the_holder(ledger: SQLiteLedger, tmp_path: Path) -> None:
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
    other = SQLiteLedger(tmp_path / "ledger.db")
    try:
        started = time.monotonic()
        with pytest.raises(LockHeld) as info:
            other.acquire_lock(TARGET, run_id="r2", owner="bob", lease=60, wait=0.3)
        assert time.monotonic() - started >= 0.3  # it waited, bounded
        assert (
            f"target {TARGET} is locked by run r1 by alice@{HOSTNAME} (pid {os.getpid()})"
            in str(info.value)
        )
        assert "promoter unlock" in str(info.value)
    finally:
        other.close()


def test_a_second_run_waits_for_the_lock(ledger: SQLiteLedger, tmp_path: Path) -> None:
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
    releaser = threading.Timer(0.3, lambda: ledger.release_lock(TARGET, run_id="r1"))
    releaser.start()
    other = SQLiteLedger(tmp_path / "ledger.db")
    try:
        lock = other.acquire_lock(TARGET, run_id="r2", owner="bob", lease=60, wait=10)
        assert lock.run_id == "r2"
    finally:
        releaser.join()
        other.close()
    assert [e["event"] for e in ledger.lock_events(TARGET)] == ["acquired", "released", "acquired"]


def test_a_stale_lock_is_taken_over_after_its_lease(ledger: SQLiteLedger) -> None:
    insert_foreign_lock(ledger, expires_in=0.4)
    with pytest.raises(LockHeld, match="ci-runner-7"):
        ledger.acquire_lock(TARGET, run_id="r2", owner="alice", lease=60, wait=0)
    lock = ledger.acquire_lock(TARGET, run_id="r2", owner="alice", lease=60, wait=5)
    assert lock.run_id == "r2"
    events = ledger.lock_events(TARGET)
    assert [(e["event"], e["run_id"]) for e in events] == [
        ("taken-over", "other-run"),
        ("acquired", "r2"),
    ]


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over(ledger: SQLiteLedger) -> None:
    insert_foreign_lock(ledger, expires_in=600, host=HOSTNAME)
    ledger._db.execute("UPDATE locks SET pid = ?", (dead_pid(),))
    assert ledger.acquire_lock(TARGET, run_id="r2", owner="alice", lease=60, wait=0).run_id == "r2"


def test_renew_extends_only_the_holders_lease(ledger: SQLiteLedger) -> None:
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=1, wait=0)
    assert ledger.renew_lock(TARGET, run_id="r1", lease=100)
    lock = ledger.get_lock(TARGET)
    assert lock is not None and lock.expires_at > time.time() + 50
    assert not ledger.renew_lock(TARGET, run_id="r2", lease=100)


def test_force_unlock_is_recorded(ledger: SQLiteLedger) -> None:
    insert_foreign_lock(ledger, expires_in=600)
    previous = ledger.force_unlock(TARGET, by="carol", reason="runner died")
    assert previous is not None and previous.owner == "bob"
    assert ledger.get_lock(TARGET) is None
    forced = ledger.lock_events(TARGET)[-1]
    assert forced["event"] == "forced" and forced["run_id"] == "other-run"
    assert forced["detail"] == f"unlocked by carol@{HOSTNAME} while its holder was alive: runner died"
    assert ledger.force_unlock(TARGET, by="carol", reason=None) is None


def test_a_running_run_whose_process_died_is_interrupted(ledger: SQLiteLedger) -> None:
    ledger.create_run(record("alive"))
    assert ledger.get_run("alive").status is RunStatus.RUNNING
    pid = dead_pid()
    ledger._db.execute(
        "INSERT INTO run_status (run_id, at, status, exit_code, message, host, pid)"
        " VALUES ('alive', 'now', 'running', NULL, '', ?, ?)",
        (HOSTNAME, pid),
    )
    run = ledger.get_run("alive")
    assert run.status is RunStatus.INTERRUPTED
    assert "resume or roll it back" in run.message


def test_a_running_run_with_an_expired_lease_is_interrupted(ledger: SQLiteLedger) -> None:
    ledger.create_run(record("r1"))
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=0.05, wait=0)
    time.sleep(0.1)
    assert ledger.get_run("r1").status is RunStatus.INTERRUPTED


def test_ledger_locations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROMOTER_LEDGER", raising=False)
    assert ledger_path(cwd=tmp_path) == tmp_path / ".promoter" / "ledger.db"
    assert ledger_path("sqlite:///runs.db", cwd=tmp_path) == tmp_path / "runs.db"
    assert ledger_path("sqlite:////var/l.db", cwd=tmp_path) == Path("/var/l.db")
    monkeypatch.setenv("PROMOTER_LEDGER", "x/l.db")
    assert ledger_path(cwd=tmp_path) == tmp_path / "x" / "l.db"
    with pytest.raises(LedgerError, match="unsupported ledger location"):
        ledger_path("postgresql://db/promoter")


def test_a_run_cannot_take_its_own_lock_from_another_live_process(ledger: SQLiteLedger) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        insert_foreign_lock(ledger, expires_in=600, host=HOSTNAME)
        ledger._db.execute("UPDATE locks SET pid = ?", (sleeper.pid,))
        with pytest.raises(LockHeld, match="run other-run"):
            ledger.acquire_lock(TARGET, run_id="other-run", owner="alice", lease=60, wait=0)
    finally:
        sleeper.kill()
        sleeper.wait()
    # once that process is gone, the run (resumed) takes its lock back
    assert ledger.acquire_lock(TARGET, run_id="other-run", owner="alice", lease=60, wait=0)
