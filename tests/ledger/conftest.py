"""Fixtures for the ledger's tests: both backends, and a real PostgreSQL server.

The server comes from ``PROMOTER_TEST_POSTGRES_URL`` (``make test`` starts it with
``.ci/postgres.sh``). Without it, the tests start it themselves with that script, except under
``CI=true``, where a missing server is a failure, never a skip. Each test gets its own database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from promoter.ledger import HOSTNAME, Ledger, open_ledger
from promoter.ledger.postgres import lock_key

POSTGRES_URL_ENV = "PROMOTER_TEST_POSTGRES_URL"
ROOT = Path(__file__).resolve().parents[2]
POSTGRES_SCRIPT = ROOT / ".ci" / "postgres.sh"


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The URL of the test server's maintenance database (``promoter``)."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if url:
        return url
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{POSTGRES_URL_ENV} is not set: the PostgreSQL ledger tests need a server; "
            "`make test` starts one with .ci/postgres.sh"
        )
    result = subprocess.run(
        ["bash", str(POSTGRES_SCRIPT)], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        pytest.fail(f".ci/postgres.sh failed ({result.returncode}):\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1]


def with_schema(url: str, schema: str) -> str:
    """``url`` whose connections use ``schema`` (a ledger of its own in the same database)."""
    parts = urlsplit(url)
    query = "&".join(q for q in [parts.query, f"options=-csearch_path%3D{schema}"] if q)
    return urlunsplit(parts._replace(query=query))


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty ledger location: a schema of its own (far cheaper than a database)."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_schema(postgres_server, schema)
    finally:
        with psycopg.connect(postgres_server, autocommit=True) as admin:
            admin.execute("SET lock_timeout = '20s'")
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run_record(run_id: str, *, target: str = "test/Finance", created_at: str = "") -> Any:
    """A run record as the engine writes it."""
    from promoter.ledger import RunRecord

    return RunRecord(
        id=run_id,
        created_at=created_at or "2026-11-29T00:00:00+00:00",
        user="alice",
        host=HOSTNAME,
        pid=os.getpid(),
        command="promote",
        pipeline_name="p",
        pipeline_file="/p.yaml",
        pipeline_sha256="0" * 64,
        source="dev/Finance",
        target=target,
    )


class ForeignHolder:
    """Another runner holding a target's lock; :meth:`die` makes it a dead one."""

    def die(self) -> None:
        """The holder's process (and so, on PostgreSQL, its database session) is gone."""
        raise NotImplementedError


@dataclass
class Backend:
    """One ledger backend under test: its location and a few raw-database helpers."""

    name: str
    location: str
    _opened: list[Ledger] = field(default_factory=list)
    _cleanup: list[Callable[[], None]] = field(default_factory=list)

    def open(self) -> Ledger:
        """Another ledger object on the same storage (as another runner would open it)."""
        ledger = open_ledger(self.location)
        self._opened.append(ledger)
        return ledger

    def close(self) -> None:
        for ledger in self._opened:
            ledger.close()
        for cleanup in reversed(self._cleanup):
            cleanup()

    # raw access, standing in for another runner or an attacker
    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Run raw SQL on the storage (errors propagate as the driver raises them)."""
        raise NotImplementedError

    def history_mutations(self) -> list[str]:
        """Statements that would rewrite history."""
        raise NotImplementedError

    def append_running_status(self, run_id: str, *, host: str, pid: int) -> None:
        """A ``running`` status written by process ``pid`` on ``host``."""
        raise NotImplementedError

    def foreign_lock(
        self, target: str, *, run_id: str, expires_in: float, host: str = "ci-runner-7"
    ) -> ForeignHolder:
        """A lock held by another live runner (on ``host``)."""
        raise NotImplementedError


class SQLiteBackend(Backend):
    """The embedded ledger."""

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        import sqlite3

        db = sqlite3.connect(self.location, isolation_level=None)
        try:
            db.execute(sql, params)
        finally:
            db.close()

    def history_mutations(self) -> list[str]:
        return [
            "UPDATE runs SET user = 'mallory'",
            "DELETE FROM run_status",
            "UPDATE run_status SET status = 'promoted'",
        ]

    def append_running_status(self, run_id: str, *, host: str, pid: int) -> None:
        self.execute(
            "INSERT INTO run_status (run_id, at, status, exit_code, message, host, pid)"
            " VALUES (?, 'now', 'running', NULL, '', ?, ?)",
            (run_id, host, pid),
        )

    def foreign_lock(
        self, target: str, *, run_id: str, expires_in: float, host: str = "ci-runner-7"
    ) -> ForeignHolder:
        process: subprocess.Popen[bytes] | None = None
        pid = 4242
        if host == HOSTNAME:
            process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
            pid = process.pid
            sleeper = process

            def stop() -> None:
                sleeper.kill()
                sleeper.wait()

            self._cleanup.append(stop)
        self.execute(
            "INSERT INTO locks (target, run_id, owner, host, pid, acquired_at, expires_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                target,
                run_id,
                "bob",
                host,
                pid,
                "2026-11-29T00:00:00+00:00",
                time.time() + expires_in,
            ),
        )
        backend = self

        class Holder(ForeignHolder):
            def die(self) -> None:
                if process is not None:
                    process.kill()
                    process.wait()
                else:  # on another host, only the lease can tell: it ends now
                    backend.execute("UPDATE locks SET expires_at = 0 WHERE target = ?", (target,))

        return Holder()


class PostgresBackend(Backend):
    """The shared ledger on a real PostgreSQL server."""

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        with psycopg.connect(self.location, autocommit=True) as db:
            db.execute(sql.encode() if not params else sql, params or None)  # type: ignore[call-overload]

    def history_mutations(self) -> list[str]:
        return [
            "UPDATE runs SET \"user\" = 'mallory'",
            "DELETE FROM run_status",
            "UPDATE run_status SET status = 'promoted'",
            "TRUNCATE progress",
        ]

    def append_running_status(self, run_id: str, *, host: str, pid: int) -> None:
        self.execute(
            "INSERT INTO run_status (run_id, at, status, exit_code, message, host, pid)"
            " VALUES (%s, 'now', 'running', NULL, '', %s, %s)",
            (run_id, host, pid),
        )

    def foreign_lock(
        self, target: str, *, run_id: str, expires_in: float, host: str = "ci-runner-7"
    ) -> ForeignHolder:
        # Another runner: its own session holds the advisory lock and names itself in the row.
        session = psycopg.connect(self.location, autocommit=True)
        self._cleanup.append(session.close)
        key = lock_key(target, self.location.rsplit("%3D", 1)[1])
        session.execute("SELECT pg_advisory_lock(%s)", (key,))
        session.execute(
            "INSERT INTO locks (target, run_id, owner, host, pid, acquired_at, expires_at, epoch,"
            " backend_pid, lock_key) VALUES (%s, %s, 'bob', %s, 4242, '2026-11-29T00:00:00+00:00',"
            " clock_timestamp() + %s * interval '1 second', nextval('lock_epoch'),"
            " pg_backend_pid(), %s)",
            (target, run_id, host, expires_in, key),
        )

        class Holder(ForeignHolder):
            def die(self) -> None:
                session.close()

        return Holder()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    """Each ledger backend in turn."""
    chosen: Backend
    if request.param == "sqlite":
        chosen = SQLiteBackend("sqlite", str(tmp_path / "ledger.db"))
    else:
        chosen = PostgresBackend("postgresql", request.getfixturevalue("postgres_url"))
    try:
        yield chosen
    finally:
        chosen.close()


@pytest.fixture
def ledger(backend: Backend) -> Ledger:
    """A ledger object on the backend under test."""
    return backend.open()


# --- runners: `promoter` processes on one estate (the engine tests' fake target) ----------------

FAKE_TARGET = ROOT / "tests" / "engine" / "fake_target.py"
PROMOTER = [sys.executable, "-m", "promoter.cli"]
ENGINE_PLUGINS = {"core", "gates", "console", "reports"}

# Logs each run's start and end (both inside its hold of the target's lock) to runs.log.
PROBE_PLUGIN = """
import json, os, time
from promoter import hookimpl

def _log(run, event):
    path = os.path.join(os.path.dirname(str(run.pipeline_path)), "runs.log")
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps({"run": run.run_id, "pid": os.getpid(), "event": event,
                              "t": time.time()}) + "\\n")

@hookimpl
def promoter_run_started(run):
    _log(run, "start")

@hookimpl
def promoter_run_finished(run, outcome):
    _log(run, "end")
"""


def source_objects(variant: int) -> dict[str, Any]:
    """A source estate; each variant differs from the others in every object."""
    return {
        "task:daily_load": {"version": "1.2", "param": f"a{variant}"},
        "task:ledger_sync": {"version": "3.0", "param": f"b{variant}"},
        "connection:warehouse": {"host": f"wh{variant}"},
    }


@dataclass
class Runners:
    """A directory with pipelines on one fake target, and `promoter` processes ("runners")."""

    root: Path
    ledger_url: str

    def pipeline(self, name: str = "release.yaml", variant: int = 0, **fake: Any) -> Path:
        """A pipeline promoting source variant ``variant`` into the one target."""
        import json

        source = self.root / f"source{variant}.json"
        source.write_text(json.dumps(source_objects(variant), indent=2))
        document = {
            "name": "finance-release",
            "kind": "release",
            "source": {"environment": "dev", "workspace": "Finance"},
            "targets": [{"environment": "test"}, {"environment": "prod"}],
            "reports": {"formats": []},
            "plugins": ["./fake_target.py", "./probe.py"],
            "fake": {"source": source.name, "target": "target.json", **fake},
        }
        path = self.root / name
        path.write_text(json.dumps(document, indent=2) + "\n")
        return path

    def env(self) -> dict[str, str]:
        from promoter.hooks.manager import BUILTIN_PLUGINS

        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOTER_")}
        env.update(
            PROMOTER_LEDGER=self.ledger_url,
            PROMOTER_USER="runner",
            PROMOTER_DISABLE_PLUGINS=",".join(sorted(set(BUILTIN_PLUGINS) - ENGINE_PLUGINS)),
        )
        return env

    def start(self, *args: str) -> subprocess.Popen[str]:
        """A runner: ``promoter ARGS`` in the background."""
        return subprocess.Popen(
            [*PROMOTER, *args],
            cwd=self.root,
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, check: int | None = 0) -> subprocess.CompletedProcess[str]:
        """``promoter ARGS`` to completion (asserting the exit code unless ``check`` is None)."""
        result = subprocess.run(
            [*PROMOTER, *args],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check is not None:
            assert result.returncode == check, (result.returncode, result.stdout, result.stderr)
        return result

    def writes(self) -> list[str]:
        """Every object written to the target, in order."""
        log = self.root / "target.writes"
        return log.read_text().split() if log.exists() else []

    def run_log(self) -> list[dict[str, Any]]:
        """The probe's start/end lines."""
        import json

        log = self.root / "runs.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


@pytest.fixture
def runners(tmp_path: Path, postgres_url: str) -> Runners:
    """Runners sharing one PostgreSQL ledger and one fake target."""
    import shutil

    shutil.copy(FAKE_TARGET, tmp_path / "fake_target.py")
    (tmp_path / "probe.py").write_text(PROBE_PLUGIN)
    return Runners(root=tmp_path, ledger_url=postgres_url)
