"""An SQLite ledger file made by a promoter from before fencing opens, is migrated in place
(additively, once), keeps its history, and then works like a new one."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from promoter.errors import LedgerError
from promoter.ledger import SQLITE_SCHEMA_VERSION, LeaseLost, SQLiteLedger
from promoter.model import ObjectProgress, RunStatus

from .conftest import run_record

TARGET = "test/Finance"
HISTORY = ("runs", "run_status", "stage_events", "documents", "progress", "lock_events")

# The schema exactly as promoter 0.x created it (promoter/ledger.py before fencing epochs).
OLD_SCHEMA = """
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
    message TEXT
);
CREATE TABLE IF NOT EXISTS locks (
    target TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at REAL NOT NULL
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
    detail TEXT
);
""" + "".join(
    f"""
CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, 'the ledger history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, 'the ledger history is append-only'); END;
"""
    for table in HISTORY
)


def old_ledger(path: Path) -> None:
    """A file as the old promoter left it: one finished run, one interrupted run, and a lock
    held by a runner on another host."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(OLD_SCHEMA)
        for run_id, status in (("old-1", "promoted"), ("old-2", "running")):
            db.execute(
                "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (run_id, f"2026-01-01T00:00:0{run_id[-1]}.000+00:00", "alice", "ci-runner-1",
                 4242, "promote", "p", "/p.yaml", "0" * 64, "dev/Finance", TARGET, None, 0,
                 "{}", "{}", "{}"),
            )
            db.execute(
                "INSERT INTO run_status (run_id, at, status, exit_code, message, host, pid)"
                " VALUES (?, '2026-01-01T00:00:09+00:00', ?, NULL, '', 'ci-runner-1', 4242)",
                (run_id, status),
            )
            db.execute(
                "INSERT INTO progress (run_id, at, stage, kind, key, status, message)"
                " VALUES (?, '2026-01-01T00:00:05+00:00', 'apply', 'task', 'a', 'done', NULL)",
                (run_id,),
            )
        db.execute(
            "INSERT INTO locks VALUES (?,?,?,?,?,?,?)",
            (TARGET, "old-2", "alice", "ci-runner-1", 4242, "2026-01-01T00:00:00+00:00", 0.0),
        )
        db.execute(
            "INSERT INTO lock_events (at, target, event, run_id, owner, host, pid, detail)"
            " VALUES ('2026-01-01T00:00:00+00:00', ?, 'acquired', 'old-2', 'alice',"
            " 'ci-runner-1', 4242, '')",
            (TARGET,),
        )
    finally:
        db.close()


def columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def test_an_old_file_is_migrated_in_place_and_keeps_its_history(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    old_ledger(path)
    assert "epoch" not in columns(path, "locks") and "data" not in columns(path, "progress")

    ledger = SQLiteLedger(path)
    try:
        assert ledger.applied_migrations == [1, 2] and ledger.schema_version() == SQLITE_SCHEMA_VERSION
        assert {"releases", "run_releases"} <= {
            row[0] for row in ledger._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        assert columns(path, "locks")[-1] == "epoch" and columns(path, "progress")[-1] == "data"
        # the history is as it was (the dead holder's run shows interrupted, as before)
        assert [(r.id, r.status) for r in ledger.list_runs()] == [
            ("old-2", RunStatus.INTERRUPTED),
            ("old-1", RunStatus.PROMOTED),
        ]
        assert [(p.key, p.status, p.data) for p in ledger.progress("old-1")] == [("a", "done", {})]
        old_lock = ledger.get_lock(TARGET)
        assert old_lock is not None and old_lock.epoch == 0  # taken before epochs existed
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            ledger._db.execute("UPDATE runs SET user = 'mallory'")

        # and it works like a new file: the expired old lock is taken over with a real epoch,
        # the holder's writes are fenced, progress keeps its data.
        lock = ledger.acquire_lock(TARGET, run_id="new-1", owner="bob", lease=60, wait=0)
        assert lock.epoch == 1
        ledger.create_run(run_record("new-1", created_at="2026-02-01T00:00:00.000+00:00"))
        event = ObjectProgress(
            stage="verify", kind="task", key="t", status="started", data={"executionId": "e1"}
        )
        ledger.add_progress("new-1", event)
        assert ledger.progress("new-1")[0].data == {"executionId": "e1"}
        other = SQLiteLedger(path)
        try:
            assert other.applied_migrations == []  # once only
            other.force_unlock(TARGET, by="carol", reason="test")
        finally:
            other.close()
        with pytest.raises(LeaseLost):
            ledger.set_status("new-1", RunStatus.PROMOTED)
        events = [(e["event"], e["run_id"], e["epoch"]) for e in ledger.lock_events(TARGET)]
        assert events == [
            ("acquired", "old-2", None),
            ("taken-over", "old-2", 0),
            ("acquired", "new-1", 1),
            ("forced", "new-1", 1),
        ]
    finally:
        ledger.close()


def test_processes_opening_an_old_file_together_migrate_it_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    old_ledger(path)
    opened: list[SQLiteLedger] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_it() -> None:
        try:
            ledger = SQLiteLedger(path)
            with lock:
                opened.append(ledger)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert not errors
        assert sorted(len(ledger.applied_migrations) for ledger in opened) == [0, 0, 0, 2]
    finally:
        for ledger in opened:
            ledger.close()


def test_a_new_file_needs_no_migration(tmp_path: Path) -> None:
    ledger = SQLiteLedger(tmp_path / "new.db")
    try:
        assert ledger.applied_migrations == [] and ledger.schema_version() == SQLITE_SCHEMA_VERSION
    finally:
        ledger.close()


def test_a_file_from_a_newer_promoter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    SQLiteLedger(path).close()
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(LedgerError, match="schema version 99; this promoter knows versions up to"):
        SQLiteLedger(path)


def test_the_cli_reads_and_migrates_an_old_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "ledger.db"
    old_ledger(path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOTER_")}
    promoter = [sys.executable, "-m", "promoter.cli"]
    history = subprocess.run(
        [*promoter, "history", "--ledger", str(path)], capture_output=True, text=True, env=env,
        timeout=60, check=False,
    )
    assert history.returncode == 0, history.stderr
    assert "old-1" in history.stdout and "old-2" in history.stdout
    migrated = subprocess.run(
        [*promoter, "ledger", "migrate", "--ledger", str(path)], capture_output=True, text=True,
        env=env, timeout=60, check=False,
    )
    assert migrated.returncode == 0 and "up to date (schema version 2)" in migrated.stdout


def test_progress_events_are_not_synced_one_by_one_but_everything_else_is(tmp_path: Path) -> None:
    """Progress events (hundreds a run, on apply's critical path) commit with
    ``synchronous=NORMAL``; statuses, documents (the snapshot) and locks with ``FULL``, which also
    makes every earlier progress event durable."""
    ledger = SQLiteLedger(tmp_path / "ledger.db")

    def level() -> int:
        return int(ledger._db.execute("PRAGMA synchronous").fetchone()[0])

    try:
        assert level() == 2  # FULL
        ledger.create_run(run_record("r1"))
        ledger.add_progress(
            "r1", ObjectProgress(stage="apply", kind="task", key="t", status="started")
        )
        assert level() == 1  # NORMAL
        ledger.save_document("r1", "snapshot", "{}")
        assert level() == 2
        ledger.add_progress(
            "r1", ObjectProgress(stage="apply", kind="task", key="t", status="done")
        )
        ledger.set_status("r1", RunStatus.RUNNING)
        assert level() == 2
        assert [e.status.value for e in ledger.progress("r1")] == ["started", "done"]
    finally:
        ledger.close()
