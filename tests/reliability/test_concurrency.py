"""Concurrent promotions share one ledger: runs on one target take turns (the lock), runs on
different targets go at once, and a crashed holder's lock is taken over once its lease is gone.

Every promotion is a real ``promoter`` process; the windows compared are the ledger's own records
(lock acquired/released, apply started/finished).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from promoter.ledger import SQLiteLedger
from promoter.sandbox import Sandbox
from promoter.talend.client import TalendClient
from promoter.talend.models import (
    ConnectionCreateRequest,
    ConnectionParameter,
    EnvironmentCreateRequest,
    WorkspaceCreateRequest,
)

from .estate import Workbench, fast_settings, large_pipeline

RUNS = 5
Window = tuple[datetime, datetime]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def lock_windows(ledger: SQLiteLedger, target: str) -> dict[str, Window]:
    """run id -> (acquired, released) from the ledger's lock history of ``target``."""
    opened: dict[str, datetime] = {}
    windows: dict[str, Window] = {}
    for event in ledger.lock_events(target):
        if event["event"] == "acquired":
            opened[event["run_id"]] = at(event["at"])
        elif event["event"] == "released":
            windows[event["run_id"]] = (opened[event["run_id"]], at(event["at"]))
    return windows


def stage_window(ledger: SQLiteLedger, run_id: str, stage: str) -> Window:
    """(started, finished) of one stage of a run, from its stage events."""
    events = [e for e in ledger.stage_events(run_id) if e["stage"] == stage]
    started = next(at(e["at"]) for e in events if e["event"] == "started")
    finished = next(at(e["at"]) for e in events if e["event"] in ("finished", "error"))
    return started, finished


def overlaps(a: Window, b: Window) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def run_all(bench: Workbench, commands: list[tuple[str, ...]]) -> list[dict[str, Any]]:
    """Start every command at once; their JSON outcomes (each must exit 0)."""
    processes = [bench.popen(*command) for command in commands]
    outcomes = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        outcomes.append(json.loads(out))
    return outcomes


def add_targets(sandbox: Sandbox, names: list[str]) -> None:
    """Environments with an empty Finance workspace and its warehouse connection."""
    with TalendClient(sandbox.base_url, token=sandbox.token) as client:
        for name in names:
            env = client.environments.create(
                EnvironmentCreateRequest(name=name, workspace_name=f"{name}-custom")
            )
            workspace = client.workspaces.create(
                WorkspaceCreateRequest(name="Finance", environment_id=env.id)
            )
            assert workspace.id is not None
            client.connections.create(
                ConnectionCreateRequest(
                    name="finance_warehouse",
                    workspace_id=workspace.id,
                    app="PostgreSQL",
                    parameters=[
                        ConnectionParameter(name="host", value=f"finance-db.{name}.internal"),
                        ConnectionParameter(name="password", value="x", encrypted=True),
                    ],
                )
            )


def test_five_promotions_to_one_target_take_turns(tmp_path: Path) -> None:
    with Sandbox.start(seed="large", tasks=5 * RUNS, settings=fast_settings()) as sandbox:
        bench = Workbench(sandbox, tmp_path)
        commands = []
        for i in range(RUNS):
            # Each run promotes its own artifact (and its five tasks), so each has work to apply.
            text = large_pipeline(artifacts=RUNS, smoke=(), name=f"release-{i}").replace(
                "\n".join(f"  - {{name: job_{a:04d}, version: latest}}" for a in range(RUNS)),
                f"  - {{name: job_{i:04d}, version: latest}}",
            )
            bench.write(f"release-{i}.yaml", text)
            commands.append(
                ("promote", f"release-{i}.yaml", "--yes", "--lock-wait", "300", "--output", "json")
            )
        outcomes = run_all(bench, commands)
        assert [o["status"] for o in outcomes] == ["promoted"] * RUNS
        ledger = bench.ledger()
        try:
            locks = lock_windows(ledger, "test/Finance")
            applies = {o["run_id"]: stage_window(ledger, o["run_id"], "apply") for o in outcomes}
        finally:
            ledger.close()
    assert set(locks) == set(applies) and len(locks) == RUNS
    ordered = sorted(locks.values())
    for earlier, later in itertools.pairwise(ordered):
        assert earlier[1] <= later[0], "two runs held test/Finance's lock at once"
    for a in applies:
        for b in applies:
            assert a == b or not overlaps(applies[a], applies[b]), (a, b)


def test_five_promotions_to_different_targets_run_at_once(tmp_path: Path) -> None:
    targets = [f"qa{i}" for i in range(RUNS)]
    with Sandbox.start(seed="large", tasks=5, settings=fast_settings(run_seconds=0.1)) as sandbox:
        add_targets(sandbox, targets)
        bench = Workbench(sandbox, tmp_path)
        text = large_pipeline(artifacts=1, smoke=("task_00000",), target=targets[0]).replace(
            f"  - environment: {targets[0]}\n",
            # Five independent targets, not phases of one lifecycle (no `after`).
            "".join(f"  - {{environment: {t}, after: []}}\n" for t in targets),
        )
        bench.write("release.yaml", text)
        outcomes = run_all(
            bench,
            # No waiting for a lock: a run that had to wait would fail at once.
            [("promote", "release.yaml", "--target", t, "--yes", "--lock-wait", "0", "--output", "json") for t in targets],
        )
        assert [o["status"] for o in outcomes] == ["promoted"] * RUNS
        ledger = bench.ledger()
        try:
            windows = {t: lock_windows(ledger, f"{t}/Finance") for t in targets}
            events = ledger.lock_events()
        finally:
            ledger.close()
    assert all(len(w) == 1 for w in windows.values())
    spans = [next(iter(w.values())) for w in windows.values()]
    # They really ran side by side: some moment had at least two runs holding their locks.
    assert any(overlaps(a, b) for i, a in enumerate(spans) for b in spans[i + 1 :]), spans
    assert {e["event"] for e in events} == {"acquired", "released"}


def test_a_crashed_holders_lease_expires_and_is_taken_over(tmp_path: Path) -> None:
    """A run on another machine died holding the lock: once its lease runs out, the next run
    takes the lock over (and the ledger says so); while it is valid, the next run waits."""
    with Sandbox.start(seed="large", tasks=5, settings=fast_settings()) as sandbox:
        bench = Workbench(sandbox, tmp_path)
        bench.write("release.yaml", large_pipeline(artifacts=1, smoke=()))
        SQLiteLedger(bench.ledger_path).close()  # create the schema
        lease = 120.0
        with sqlite3.connect(bench.ledger_path) as db:
            db.execute(
                "INSERT INTO locks (target, run_id, owner, host, pid, acquired_at, expires_at)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    "test/Finance",
                    "20260101-000000-dead00",
                    "ci",
                    "ci-runner-that-crashed",
                    4242,
                    "2026-01-01T00:00:00.000+00:00",
                    time.time() + lease,
                ),
            )
        refused = bench.cli("promote", "release.yaml", "--yes", "--lock-wait", "0")
        assert refused.returncode == 4, refused.stderr
        assert "ci-runner-that-crashed" in refused.stderr
        # The lease runs out in two seconds; the next run waits for that, then takes over.
        with sqlite3.connect(bench.ledger_path) as db:
            db.execute("UPDATE locks SET expires_at = ?", (time.time() + 2.0,))
        done = bench.cli("promote", "release.yaml", "--yes", "--lock-wait", "60", "--output", "json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "promoted"
        ledger = bench.ledger()
        try:
            events = ledger.lock_events("test/Finance")
            assert ledger.get_lock("test/Finance") is None
        finally:
            ledger.close()
    taken = [e for e in events if e["event"] == "taken-over"]
    assert len(taken) == 1 and taken[0]["host"] == "ci-runner-that-crashed"


@pytest.mark.soak
def test_ten_rounds_of_five_on_one_target(tmp_path: Path) -> None:
    for round_ in range(10):
        directory = tmp_path / f"round-{round_}"
        directory.mkdir()
        test_five_promotions_to_one_target_take_turns(directory)
