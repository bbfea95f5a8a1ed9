"""Rollback end to end: a failed smoke run in prod, and apply cut off after k of its n writes.

In each case the target workspace, read with raw HTTP GETs (every task, run-config, schedule,
connection, artifact with its versions, plan), must be identical before the promotion and after
the rollback — and must have been changed in between, or the test would prove nothing.
"""

from __future__ import annotations

import pytest
from conftest import (
    DumpAfterStage,
    ProgressRecorder,
    StageRun,
    WriteOutage,
    dump_difference,
    large_pipeline,
    writes,
)

from promoter.errors import ExitCode
from promoter.model import RunStatus


def test_a_failed_smoke_run_in_prod_is_rolled_back_to_the_identical_workspace(
    stage_run: StageRun,
) -> None:
    """finance_ledger_sync's newest version fails in prod by design: verify fails, rollback
    restores prod/Finance exactly."""
    before = stage_run.dump("prod")
    # The lifecycle: test verifies the release first (the newest finance_ledger_sync works there).
    assert stage_run.promote(target="test").status is RunStatus.PROMOTED
    mid_run = DumpAfterStage(stage_run.sandbox, "prod", "Finance")
    recorder = ProgressRecorder()

    outcome = stage_run.promote(None, mid_run, recorder, target="prod", approve=True)

    assert outcome.status is RunStatus.ROLLED_BACK, outcome.message
    assert outcome.exit_code == ExitCode.FAILED_ROLLED_BACK == 1
    assert [c.name for c in outcome.checks if not c.passed] == ["smoke:Finance ledger sync"]
    assert outcome.rollback is not None and outcome.rollback.complete
    assert outcome.rollback.differences == []
    # Apply did change prod: new versions, tasks switched to them.
    assert {"task:Finance daily load", "task:Finance ledger sync"} <= set(recorder.done("apply"))
    assert mid_run.dump is not None and mid_run.dump != before
    assert set(recorder.done("rollback")) >= set(recorder.done("apply"))
    after = stage_run.dump("prod")
    assert after == before, dump_difference(before, after)
    assert stage_run.ledger.get_run(outcome.run_id).status is RunStatus.ROLLED_BACK


def test_the_write_outage_fault_counts_writes_and_lets_reads_through(stage_run: StageRun) -> None:
    """The sandbox fault the next tests rely on: k writes pass, then 503 until cleared."""
    sandbox = stage_run.sandbox
    sandbox.set_faults(fail_writes_after=1, retry_after=0)
    mark = stage_run.mark()
    with sandbox.http() as http:
        environments = http.get("/orchestration/environments").json()
        dev = next(e["id"] for e in environments if e["name"] == "dev")
        first = http.post("/orchestration/workspaces", json={"name": "W1", "environmentId": dev})
        second = http.post("/orchestration/workspaces", json={"name": "W2", "environmentId": dev})
        listed = http.get("/orchestration/workspaces", params={"query": f"environment.id=={dev}"})
        sandbox.set_faults()
        third = http.post("/orchestration/workspaces", json={"name": "W3", "environmentId": dev})
    assert (first.status_code, second.status_code, listed.status_code) == (201, 503, 200)
    assert second.headers["Retry-After"] == "0"
    assert third.status_code == 201
    assert {w["name"] for w in listed.json()} >= {"W1"} and "W2" not in {
        w["name"] for w in listed.json()
    }
    assert [e["fault"] for e in sandbox.requests(since=mark) if e["method"] == "POST"] == [
        None,
        "write-limit",
        None,
    ]


def _promote_with_outage(run: StageRun, k: int, pipeline: object = None) -> None:
    """Promote dev -> test with writes failing after the k-th, then check the rollback."""
    before = run.dump("test")
    outage = WriteOutage(run.sandbox)
    recorder = ProgressRecorder()
    run.sandbox.set_faults(fail_writes_after=k, retry_after=0)
    mark = run.mark()

    outcome = run.promote(pipeline, outage, recorder)  # type: ignore[arg-type]

    assert outage.failed == ["apply"], outcome.message
    assert outage.failed_at is not None
    during_apply = run.sandbox.requests(since=mark)
    during_apply = [e for e in during_apply if e["seq"] <= outage.failed_at]
    let_through = [e for e in during_apply if e["fault"] is None]
    refused = [e for e in during_apply if e["fault"] == "write-limit"]
    assert len(writes(let_through)) == k
    assert refused, "the outage never hit a write: k is not below the number of writes"
    assert outcome.status is RunStatus.ROLLED_BACK, outcome.message
    assert outcome.exit_code == ExitCode.FAILED_ROLLED_BACK
    assert outcome.rollback is not None and outcome.rollback.complete, outcome.rollback
    assert not any(e.status == "failed" for e in recorder.events if e.stage == "rollback")
    after = run.dump("test")
    assert after == before, dump_difference(before, after)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_apply_cut_off_after_k_writes_is_rolled_back_demo(stage_run: StageRun, k: int) -> None:
    """Demo estate, dev -> test: 4 writes (a Talend promotion run per artifact — no analysis
    first —, and 2 task PUTs, each as soon as its artifact has landed).

    k=1: one artifact version copied; k=2: two writes, whichever they were; k=3: one write left.
    """
    _promote_with_outage(stage_run, k)


@pytest.mark.parametrize("k", [21])
def test_apply_cut_off_after_k_writes_is_rolled_back_large(
    large_stage_run: StageRun, k: int
) -> None:
    """20 tasks created in an empty workspace (48 writes): k=21 stops part-way through the tasks
    (some created without their run-config yet); rollback deletes what was made."""
    _promote_with_outage(large_stage_run, k, large_pipeline(large_stage_run))
