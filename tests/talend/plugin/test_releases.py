"""Releases and lifecycles on the sandbox: prod gets exactly what test verified.

A release is made from dev once; promoting it applies what it holds whatever dev holds by then.
A release reaches prod only after test verified it (same digest), after its soak and its clean
runs there; a hotfix skips the lifecycle only with a reason and an approval, and is marked.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from conftest import DumpAfterStage, StageRun

from promoter.errors import ExitCode
from promoter.model import RunOutcome, RunStatus, StageStatus
from promoter.talend.client import TalendClient
from promoter.talend.models import ExecutionStartRequest, TaskUpdateRequest

NEW_BUILD = "1.2.0.20261203090000"
CANARY = "canary-release-Pa55-0a9f"


def dev_workspace_id(http: httpx.Client) -> str:
    environments = http.get("/orchestration/environments").json()
    dev = next(e["id"] for e in environments if e["name"] == "dev")
    workspaces = http.get("/orchestration/workspaces", params={"query": f"environment.id=={dev}"})
    return str(next(w["id"] for w in workspaces.json() if w["name"] == "Finance"))


def publish_new_build(stage_run: StageRun, name: str = "finance_ledger_sync") -> None:
    """A newer build of ``name`` lands in dev (as Studio or Maven would publish it)."""
    with stage_run.sandbox.http() as http:
        body = {"workspaceId": dev_workspace_id(http), "name": name, "version": NEW_BUILD}
        published = http.post("/_sandbox/artifacts", json=body)
        assert published.status_code == 201, published.text


def client(stage_run: StageRun) -> TalendClient:
    return TalendClient(stage_run.sandbox.base_url, token=stage_run.sandbox.token)


def set_dev_parameter(stage_run: StageRun, task_name: str, name: str, value: str) -> None:
    """Someone edits a task's configuration in dev."""
    with client(stage_run) as talend:
        dev = talend.environments.get_by_name("dev")
        assert dev is not None
        [summary] = [t for t in talend.tasks.list(environment_id=dev.id) if t.name == task_name]
        task = talend.tasks.get(summary.executable)
        body = TaskUpdateRequest.from_task(task)
        body.parameters = {**(task.parameters or {}), name: value}
        talend.tasks.replace(task.id, body)


def run_in(stage_run: StageRun, environment: str, task_name: str, outcome: str) -> None:
    """A scheduled run of a task in ``environment`` (the sandbox decides its outcome)."""
    with client(stage_run) as talend:
        env = talend.environments.get_by_name(environment)
        assert env is not None
        [task] = [t for t in talend.tasks.list(environment_id=env.id) if t.name == task_name]
        ended = talend.executions.run(
            ExecutionStartRequest(
                executable=task.executable, parameters={"SANDBOX_OUTCOME": outcome}
            ),
            timeout=30,
        )
        assert ended.status.value == outcome


def lifecycle(outcome: RunOutcome) -> Any:
    return next(g for g in outcome.gates if g.gate == "lifecycle")


def task_in(dump: dict[str, Any], name: str) -> dict[str, Any]:
    task: dict[str, Any] = dump["tasks"][name]["task"]
    return task


def test_prod_gets_exactly_what_test_verified(stage_run: StageRun) -> None:
    tested = stage_run.promote(target="test")
    assert tested.status is RunStatus.PROMOTED, tested.message
    assert tested.release is not None and tested.digest is not None
    release = stage_run.ledger.release(tested.release)
    assert tested.versions == release.versions and "latest" not in release.versions.values()
    assert stage_run.ledger.get_run(tested.run_id).versions == release.versions

    # Dev moves on after test verified the release: a new build, and a new setting.
    publish_new_build(stage_run)
    set_dev_parameter(stage_run, "Finance daily load", "FEATURE_FLAG", "on")

    mid_run = DumpAfterStage(stage_run.sandbox, "prod", "Finance")
    prod = stage_run.promote(None, mid_run, target="prod", approve=True, release=release.id)
    # The release's finance_ledger_sync fails in prod by design: verified in test, rolled back
    # in prod. What matters here is what apply wrote: the release, not what dev holds now.
    assert prod.status is RunStatus.ROLLED_BACK, prod.message
    assert prod.release == release.id and prod.versions == release.versions
    assert next(s for s in prod.stages if s.stage == "export").status is StageStatus.SKIPPED
    assert lifecycle(prod).allowed and "verified in test" in lifecycle(prod).reason
    written = mid_run.dump
    assert written is not None
    ledger_sync = written["artifacts"]["finance_ledger_sync"]["artifact"]["versions"]
    assert release.versions["finance_ledger_sync"] in ledger_sync and NEW_BUILD not in ledger_sync
    assert "FEATURE_FLAG" not in (task_in(written, "Finance daily load")["parameters"] or {})

    # The new build reaches prod only as a new release, and only after test verified it.
    refused = stage_run.promote(target="prod", approve=True)
    assert refused.status is RunStatus.BLOCKED and refused.exit_code == ExitCode.BLOCKED == 4
    assert refused.release is not None and refused.release != release.id
    assert refused.versions["finance_ledger_sync"] == NEW_BUILD
    decision = lifecycle(refused)
    assert not decision.allowed and "test has not verified it" in decision.reason
    assert decision.hint and f"--release {refused.release} --target test" in decision.hint

    again = stage_run.promote(target="test")
    assert again.status is RunStatus.PROMOTED and again.release == refused.release  # same digest
    second = stage_run.promote(target="prod", approve=True, release=refused.release)
    assert second.status is RunStatus.PROMOTED, second.message
    prod_now = stage_run.dump("prod")
    assert NEW_BUILD in prod_now["artifacts"]["finance_ledger_sync"]["artifact"]["versions"]
    assert task_in(prod_now, "Finance daily load")["parameters"]["FEATURE_FLAG"] == "on"
    runs = stage_run.ledger.runs_of_release(release=refused.release)
    assert {(r.target, r.status) for r in runs if not r.dry_run} >= {
        ("test/Finance", RunStatus.PROMOTED),
        ("prod/Finance", RunStatus.PROMOTED),
    }


def test_prod_before_test_is_refused_and_a_hotfix_goes_through_marked(stage_run: StageRun) -> None:
    refused = stage_run.promote(target="prod", approve=True)
    assert refused.exit_code == 4 and refused.status is RunStatus.BLOCKED
    assert "test has not verified it" in lifecycle(refused).reason
    assert "--target test" in (lifecycle(refused).hint or "")

    only = {"finance_daily_load": None}
    unapproved = stage_run.promote(target="prod", reason="INC-7: wrong FX rate", only=only)
    assert unapproved.exit_code == 4
    assert "an approval missing" in lifecycle(unapproved).reason

    hotfix = stage_run.promote(
        target="prod", approve=True, reason="INC-7: wrong FX rate", only=only
    )
    assert hotfix.status is RunStatus.PROMOTED, hotfix.message
    assert hotfix.hotfix and lifecycle(hotfix).allowed
    assert lifecycle(hotfix).reason.startswith("HOTFIX skips the lifecycle (test has not")
    assert list(hotfix.versions) == ["finance_daily_load"]
    record = stage_run.ledger.get_run(hotfix.run_id)
    assert record.hotfix and record.release == hotfix.release
    assert stage_run.ledger.release(record.release or "").hotfix


def test_a_release_digest_is_stable_and_follows_the_configuration(stage_run: StageRun) -> None:
    first = stage_run.create_release()
    again = stage_run.create_release()
    assert first.created and not again.created
    assert again.release.id == first.release.id and again.release.digest == first.release.digest
    named = stage_run.create_release(name="q4-close")
    assert named.created and named.release.id == "q4-close"
    assert named.release.digest == first.release.digest

    set_dev_parameter(stage_run, "Finance ledger sync", "LEDGER", "GL-2")
    changed = stage_run.create_release()
    assert changed.created and changed.release.digest != first.release.digest
    assert changed.release.versions == first.release.versions  # same builds, other settings


def test_soak_and_clean_runs_hold_prod_back_until_test_has_proven_the_release(
    stage_run: StageRun,
) -> None:
    document = stage_run.release_document()
    document["targets"][1].update({"soak": "3s", "require_clean_runs": 2})
    pipeline = stage_run.write_pipeline("soaked.yaml", document)

    tested = stage_run.promote(pipeline, target="test")
    assert tested.status is RunStatus.PROMOTED, tested.message

    soaking = stage_run.promote(pipeline, target="prod", approve=True)
    assert soaking.exit_code == 4 and "soaking for 3s" in lifecycle(soaking).reason
    time.sleep(3.2)
    waiting = stage_run.promote(pipeline, target="prod", approve=True)
    assert waiting.exit_code == 4
    assert "0 of 2 clean run(s) in test so far" in lifecycle(waiting).reason

    run_in(stage_run, "test", "Finance daily load", "execution_successful")
    one = stage_run.promote(pipeline, target="prod", approve=True)
    assert "1 of 2 clean run(s)" in lifecycle(one).reason
    run_in(stage_run, "test", "Finance ledger sync", "execution_successful")
    allowed = stage_run.promote(pipeline, target="prod", approve=True)
    assert lifecycle(allowed).allowed, lifecycle(allowed).reason
    assert "2 clean run(s) in test" in lifecycle(allowed).reason

    run_in(stage_run, "test", "Finance daily load", "execution_failed")
    failed = stage_run.promote(pipeline, target="prod", approve=True)
    assert failed.exit_code == 4
    assert "1 execution(s) failed in test" in lifecycle(failed).reason


def test_no_secret_value_is_stored_in_a_release(stage_run: StageRun) -> None:
    set_dev_parameter(stage_run, "Finance daily load", "API_PASSWORD", CANARY)
    made = stage_run.create_release()
    body = made.release.model_dump_json()
    task = next(o for o in made.release.bundle.objects if o.key == "Finance daily load")
    assert task.body["parameters"]["API_PASSWORD"].startswith("secret:sha256:")  # it is there
    assert CANARY not in body
    stored = b"".join(p.read_bytes() for p in Path(stage_run.root).glob("ledger.db*"))
    assert CANARY.encode() not in stored
    code, shown = stage_run.cli("release", "show", made.release.id, "--output", "json")
    assert code == 0 and made.release.id in shown and CANARY not in shown
