"""End to end on the sandbox: real promotions of the demo and large estates, checked by raw reads.

What the target holds afterwards is judged from the server's own answers (``dump_workspace``),
what promoter wrote from the sandbox's request log, and the run's status from the ledger.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any

import pytest
from conftest import (
    SECRET,
    DumpAfterStage,
    ProgressRecorder,
    StageRun,
    dump_difference,
    large_pipeline,
)

from promoter.errors import ExitCode
from promoter.model import RunStatus

ARTIFACTS = ("finance_daily_load", "finance_ledger_sync")


def _latest(dump: dict[str, Any], artifact: str) -> str:
    version: str = dump["artifacts"][artifact]["artifact"]["versions"][0]  # newest first
    return version


def _connection_by_id(dump: dict[str, Any], connection_id: str) -> dict[str, Any] | None:
    return next((c for c in dump["connections"].values() if c["id"] == connection_id), None)


def _host(connection: dict[str, Any]) -> str:
    return next(str(p["value"]) for p in connection["parameters"] if p["name"] == "host")


def _show(run: StageRun, run_id: str) -> dict[str, Any]:
    """``promoter show RUN --output json``, in process."""
    code, out = run.cli("show", run_id, "--output", "json")
    assert code == 0
    shown: dict[str, Any] = json.loads(out)
    return shown


def test_release_dev_to_test_through_the_command_line(stage_run: StageRun) -> None:
    """`promoter promote pipelines/release.yaml --target test`: versions copied, tasks bound to
    them and to test's connections, verified, recorded as promoted."""
    dev = stage_run.dump("dev")
    before = stage_run.dump("test")
    wanted = {a: _latest(dev, a) for a in ARTIFACTS}
    assert all(v not in before["artifacts"][a]["artifact"]["versions"] for a, v in wanted.items())

    # promoter's own stages only: other installed distributions' plugins could add gates.
    installed = sorted(ep.name for ep in entry_points(group="promoter"))
    env = {
        **os.environ,
        "PROMOTER_LEDGER": str(stage_run.root / "ledger.db"),
        "PROMOTER_DISABLE_PLUGINS": ",".join(installed),
    }
    command = [sys.executable, "-m", "promoter.cli", "promote", "pipelines/release.yaml"]
    result = subprocess.run(
        [*command, "--target", "test", "--yes", "--output", "json"],
        cwd=stage_run.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "promoted", outcome["message"]
    assert {c["name"]: c["passed"] for c in outcome["checks"]} == {
        "smoke:Finance daily load": True,
        "smoke:Finance ledger sync": True,
    }
    assert SECRET not in result.stdout + result.stderr

    after = stage_run.dump("test")
    # The artifact versions were copied, with their parameters; older versions stay.
    for artifact, version in wanted.items():
        versions = after["artifacts"][artifact]["artifact"]["versions"]
        assert versions[0] == version
        assert set(before["artifacts"][artifact]["artifact"]["versions"]) < set(versions)
        copied = after["artifacts"][artifact]["versions"][version]
        assert copied["parameters"] == dev["artifacts"][artifact]["versions"][version]["parameters"]
    # Every dev task of the artifacts exists in test, bound to the promoted version.
    promoted_tasks = {
        name for name, t in dev["tasks"].items() if t["task"]["artifact"]["name"] in ARTIFACTS
    }
    assert promoted_tasks == {"Finance daily load", "Finance ledger sync"}
    dev_connection_ids = {c["id"] for c in dev["connections"].values()}
    for name in promoted_tasks:
        task = after["tasks"][name]["task"]
        artifact = task["artifact"]["name"]
        assert task["artifact"]["id"] == after["artifacts"][artifact]["artifact"]["id"]
        assert task["artifact"]["version"] == wanted[artifact]
        # Its connections are test's own, and point at test's hosts.
        assert task["connections"]
        for app, connection_id in task["connections"].items():
            assert connection_id not in dev_connection_ids
            connection = _connection_by_id(after, connection_id)
            assert connection is not None, f"{name}: {app} points outside test/Finance"
            assert connection["app"] == app
            assert "test" in _host(connection), connection
        # Parameters: keep-target for DB_SCHEMA, the pipeline's value for LOG_LEVEL, the secret.
        assert task["parameters"]["LOG_LEVEL"] == "INFO"
        assert task["parameters"]["DB_PASSWORD"] == SECRET
        for key, value in before["tasks"][name]["task"]["parameters"].items():
            if key != "LOG_LEVEL":
                assert task["parameters"][key] == value
        # The task's run configuration and schedule are test's, untouched.
        assert after["tasks"][name]["runConfig"] == before["tasks"][name]["runConfig"]
        assert after["tasks"][name]["schedule"] == before["tasks"][name]["schedule"]
    assert after["connections"] == before["connections"]

    shown = _show(stage_run, outcome["run_id"])
    assert shown["run"]["status"] == "promoted" and shown["run"]["exit_code"] == 0
    assert shown["run"]["target"] == "test/Finance"
    done = {f"{p['kind']}:{p['key']}" for p in shown["progress"] if p["stage"] == "apply"}
    assert {"task:Finance daily load", "task:Finance ledger sync"} <= done
    assert {f"artifact_version:{a}@{v}" for a, v in wanted.items()} <= done


def test_release_into_an_empty_workspace_creates_the_tasks(large_stage_run: StageRun) -> None:
    """A target without the tasks: they are created, bound to the promoted version, to test's
    connection, with the source's run configuration."""
    run = large_stage_run
    dev = run.dump("dev")
    before = run.dump("test")
    assert before["tasks"] == {} and before["artifacts"] == {}
    recorder = ProgressRecorder()

    outcome = run.promote(large_pipeline(run), recorder)

    assert outcome.status is RunStatus.PROMOTED, outcome.message
    assert outcome.plan_summary is not None and outcome.plan_summary["create"] == 24
    after = run.dump("test")
    assert set(after["tasks"]) == set(dev["tasks"]) and len(after["tasks"]) == 20
    warehouse = after["connections"]["finance_warehouse"]
    assert "test" in _host(warehouse)
    for name, source in dev["tasks"].items():
        task = after["tasks"][name]["task"]
        artifact = source["task"]["artifact"]["name"]
        assert task["artifact"] == {
            "id": after["artifacts"][artifact]["artifact"]["id"],
            "name": artifact,
            "version": _latest(dev, artifact),
        }
        assert task["connections"] == {"PostgreSQL": warehouse["id"]}
        assert task["parameters"] == {"DB_SCHEMA": "finance_test", "BATCH_SIZE": "500"}
        assert after["tasks"][name]["runConfig"] == source["runConfig"]
    assert len(recorder.done("apply")) == 24
    assert run.ledger.get_run(outcome.run_id).status is RunStatus.PROMOTED


def test_a_second_promotion_plans_nothing_and_writes_nothing(stage_run: StageRun) -> None:
    first = stage_run.promote()
    assert first.status is RunStatus.PROMOTED, first.message
    promoted = stage_run.dump("test")

    mark = stage_run.mark()
    plan = stage_run.plan()
    second = stage_run.promote()

    assert plan.pending == [] and len(plan.changes) == 7
    assert second.status is RunStatus.NOTHING_TO_DO and second.exit_code == 0, second.message
    assert stage_run.writes_since(mark) == []
    assert len(stage_run.sandbox.requests(since=mark)) > 0  # it did read the target
    assert stage_run.dump("test") == promoted


def _missing_connection(document: dict[str, Any]) -> None:
    document["connections"] = {"map": {"finance_warehouse": {"test": "finance_dwh"}}}


def _wrong_app(document: dict[str, Any]) -> None:
    document["connections"] = {"map": {"finance_warehouse": "bank_feed"}}


@pytest.mark.parametrize(
    ("break_pipeline", "expected"),
    [
        (
            _missing_connection,
            [
                "connection 'finance_dwh' (PostgreSQL) does not exist in test/Finance",
                "connections.map",
                "create_missing",
                "pipelines/mapped.yaml",
            ],
        ),
        (
            _wrong_app,
            [
                "connection 'bank_feed' in test/Finance is a SFTP connection",
                "connections.map",
                "pipelines/mapped.yaml",
            ],
        ),
    ],
    ids=["missing-connection", "wrong-app"],
)
def test_mapping_problems_are_reported_before_any_write(
    stage_run: StageRun, break_pipeline: Any, expected: list[str]
) -> None:
    document = stage_run.release_document()
    break_pipeline(document)
    pipeline = stage_run.write_pipeline("mapped.yaml", document)
    before = stage_run.dump("test")
    mark = stage_run.mark()
    recorder = ProgressRecorder()

    outcome = stage_run.promote(pipeline, recorder)

    assert outcome.status is RunStatus.FAILED
    assert outcome.exit_code == ExitCode.INVALID_INPUT == 2
    assert "nothing written" in outcome.message
    for text in expected:
        assert text in outcome.message, outcome.message
    problems = stage_run.document(outcome.run_id, "mapping")["problems"]
    assert len(problems) == 1 and "pipelines/mapped.yaml" in problems[0]["hint"]
    assert [s.stage for s in outcome.stages][:2] == ["export", "map"]
    assert "snapshot" not in {s.stage for s in outcome.stages}
    assert recorder.events == []
    requests = stage_run.sandbox.requests(since=mark)
    assert requests and stage_run.writes_since(mark) == []
    assert {r["method"] for r in requests} == {"GET"}
    assert stage_run.dump("test") == before, dump_difference(before, stage_run.dump("test"))


def test_dump_sees_what_apply_changed(stage_run: StageRun) -> None:
    """The dump is not blind: mid-run (after apply) it differs from before, in what apply wrote."""
    before = stage_run.dump("test")
    after_apply = DumpAfterStage(stage_run.sandbox, "test", "Finance")

    outcome = stage_run.promote(None, after_apply)

    assert outcome.status is RunStatus.PROMOTED
    assert after_apply.dump is not None and after_apply.dump != before
    difference = dump_difference(before, after_apply.dump)
    assert (
        "tasks/Finance daily load" in difference and "artifacts/finance_ledger_sync" in difference
    )
    assert "connections/" not in difference
