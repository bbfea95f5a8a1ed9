"""SIGKILL during apply, at seeded points: resume completes the run, or rollback restores the
snapshot, and the ledger never claims what did not happen.

The promotion is a real ``promoter promote`` process with ``kill_plugin.py`` loaded; it dies right
after the k-th object of apply is recorded done. Points alternate between ``promoter resume`` and
``promoter rollback``. A resumed run is rolled back afterwards, so every point starts from the
same target.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from promoter.sandbox import Sandbox

from .estate import Workbench, dump_workspace, fast_settings, large_pipeline

KILLER = Path(__file__).with_name("kill_plugin.py")
TASKS = 10  # two artifacts of five tasks: 12 objects to apply (2 versions, 10 tasks)


def kill_points(count: int, seed: int, objects: int) -> list[int]:
    """``count`` reproducible points in ``1..objects-1`` (repeats allowed once all are used)."""
    rnd = random.Random(seed)
    pool = list(range(1, objects))
    points: list[int] = []
    while len(points) < count:
        rnd.shuffle(pool)
        points.extend(pool)
    return points[:count]


def applied_in_ledger(bench: Workbench, run_id: str) -> list[tuple[str, str]]:
    """``(kind, key)`` of every object the ledger says apply finished."""
    ledger = bench.ledger()
    try:
        return [(p.kind, p.key) for p in ledger.progress(run_id) if p.stage == "apply" and p.status == "done"]
    finally:
        ledger.close()


def ledger_status(bench: Workbench, run_id: str | None = None) -> tuple[str, str]:
    """``(run id, status)`` of a run (default: the latest), read from the ledger directly."""
    ledger = bench.ledger()
    try:
        record = ledger.get_run(run_id) if run_id else ledger.list_runs(limit=1)[0]
        return record.id, record.status.value
    finally:
        ledger.close()


def crash_and_recover(tmp_path: Path, points: list[int]) -> dict[str, Any]:
    """Kill a promotion at each point, recover it, and check the target and the ledger."""
    figures = {"points": 0, "resumed": 0, "rolled_back": 0}
    with Sandbox.start(seed="large", tasks=TASKS, settings=fast_settings()) as sandbox:
        bench = Workbench(sandbox, tmp_path)
        bench.write("release.yaml", large_pipeline(artifacts=TASKS // 5, smoke=()))
        base = dump_workspace(sandbox, "test", "Finance")
        # The reference: a clean promotion, then rolled back to where it started.
        done = bench.call("promote", "release.yaml", "--yes", "--output", "json")
        assert done.returncode == 0, done.stderr
        promoted = dump_workspace(sandbox, "test", "Finance")
        undone = bench.call(
            "rollback", json.loads(done.stdout)["run_id"], "--reason", "undo", "--yes",
            "--output", "json",
        )  # fmt: skip
        assert undone.returncode == 0, undone.stderr
        assert dump_workspace(sandbox, "test", "Finance") == base

        for index, point in enumerate(points):
            env = bench.env(PROMOTER_TEST_KILL_AFTER=str(point))
            killed = bench.cli("promote", "release.yaml", "--yes", "-p", str(KILLER), env=env)
            assert killed.returncode == -9, (point, killed.stderr[-2000:])
            run_id, _status = ledger_status(bench)
            shown = bench.show(run_id)
            # The ledger claims no outcome: the dead run is interrupted, not promoted or failed.
            assert shown["run"]["status"] == "interrupted", (point, shown["run"])
            assert "outcome" not in shown and shown["has_snapshot"]
            # Whatever it says apply finished is really on the target.
            now = dump_workspace(sandbox, "test", "Finance")
            claimed = applied_in_ledger(bench, run_id)
            assert len(claimed) >= point
            for kind, key in claimed:
                if kind == "task":
                    assert now["tasks"].get(key) == promoted["tasks"][key], (point, key)
            if index % 2 == 0:
                resumed = bench.call("resume", run_id, "--output", "json")
                assert resumed.returncode == 0, (point, resumed.stderr[-2000:])
                assert json.loads(resumed.stdout)["status"] == "promoted"
                assert ledger_status(bench, run_id)[1] == "promoted"
                assert dump_workspace(sandbox, "test", "Finance") == promoted, point
                figures["resumed"] += 1
            else:
                figures["rolled_back"] += 1
            # Rolling back (the interrupted run, or the resumed one) restores the snapshot.
            rolled = bench.call(
                "rollback", run_id, "--reason", "undo", "--yes", "--output", "json"
            )
            assert rolled.returncode == 0, (point, rolled.stderr[-2000:])
            assert json.loads(rolled.stdout)["status"] == "rolled-back"
            assert ledger_status(bench, run_id)[1] == "rolled-back"
            assert dump_workspace(sandbox, "test", "Finance") == base, point
            figures["points"] += 1
    return figures


def test_sigkill_at_six_points_then_resume_or_rollback(tmp_path: Path) -> None:
    figures = crash_and_recover(tmp_path, kill_points(6, seed=2026, objects=TASKS + 2))
    print("crash points survived:", figures)


@pytest.mark.soak
def test_sigkill_at_twenty_four_points(tmp_path: Path) -> None:
    figures = crash_and_recover(tmp_path, kill_points(24, seed=8, objects=TASKS + 2))
    assert figures["points"] == 24
    print("crash points survived:", figures)
