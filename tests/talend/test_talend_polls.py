"""Waiting on Talend: polls outlast 429s and transient failures, promotions share their pair.

A poll is an idempotent read: when one fails even after the client's own retries (a long burst
of 429s, 5xx, dropped connections), the wait polls again until its own timeout instead of failing
— a verification check must not roll a good release back because a status read was refused.

Talend keeps one promotion definition per environment pair and runs one promotion per pair at a
time: a 409 on creating the definition means "use the one that exists", and a run refused because
another of the pair is going is sent again once it has finished.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from promoter.sandbox import FaultConfig
from promoter.talend import models as m
from promoter.talend.client import TalendClient
from promoter.talend.errors import Conflict, WaitTimeoutError
from promoter.talend.retries import RetryPolicy

#: Each call gives up after two attempts, quickly: shorter than the sandbox's fault bursts.
TWO_ATTEMPTS = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.02, max_retry_after=0.05)


def _task_id(client: TalendClient, name: str = "Finance daily load") -> str:
    finance = client.workspaces.get_by_name("Finance", environment_name="dev")
    assert finance is not None and finance.id
    task = client.tasks.find(name, workspace_id=finance.id)
    assert task is not None
    return task.executable


def _refused_polls(log: list[dict[str, Any]], path_start: str) -> int:
    """The longest run of consecutive refused (429/5xx/dropped) GETs of ``path_start...``."""
    longest = streak = 0
    for entry in log:
        if entry["method"] != "GET" or not entry["path"].startswith(path_start):
            continue
        streak = streak + 1 if entry["fault"] else 0
        longest = max(longest, streak)
    return longest


@pytest.mark.parametrize("retry_after", [None, 0.05], ids=["no-retry-after", "retry-after"])
def test_an_execution_wait_outlasts_429_bursts(
    talend_sandbox: Any, caplog: pytest.LogCaptureFixture, retry_after: float | None
) -> None:
    talend_sandbox.state.apply_settings({"run_seconds": 1.0})
    caplog.set_level(logging.INFO, logger="promoter.talend")
    with talend_sandbox.client(retry=TWO_ATTEMPTS) as client:
        started = client.executions.start(m.ExecutionStartRequest(executable=_task_id(client)))
        # Four 429s in a row every five status reads: each burst outlasts a call's two attempts.
        talend_sandbox.set_faults(
            FaultConfig(
                burst_429_every=5,
                burst_429_length=4,
                retry_after=retry_after,
                families=["processing"],
                methods=["GET"],
            )
        )
        done = client.executions.wait(started.execution_id, timeout=60, poll_interval=0.05)
        talend_sandbox.set_faults()
    assert done.status == m.ExecutionStatus.EXECUTION_SUCCESSFUL
    assert _refused_polls(talend_sandbox.requests(), "/processing/executions/") >= 2
    assert any("polling execution" in r.getMessage() for r in caplog.records)


def test_an_execution_wait_outlasts_5xx_and_dropped_connections(talend_sandbox: Any) -> None:
    talend_sandbox.state.apply_settings({"run_seconds": 1.0})
    with talend_sandbox.client(retry=TWO_ATTEMPTS) as client:
        started = client.executions.start(m.ExecutionStartRequest(executable=_task_id(client)))
        talend_sandbox.set_faults(
            FaultConfig(
                error_rate=0.5, drop_before_rate=0.2, families=["processing"], methods=["GET"], seed=7
            )
        )
        done = client.executions.wait(started.execution_id, timeout=60, poll_interval=0.05)
        talend_sandbox.set_faults()
    assert done.status == m.ExecutionStatus.EXECUTION_SUCCESSFUL
    assert _refused_polls(talend_sandbox.requests(), "/processing/executions/") >= 2


def test_a_wait_that_is_refused_to_the_end_times_out_and_says_why(talend_sandbox: Any) -> None:
    with talend_sandbox.client(retry=TWO_ATTEMPTS) as client:
        started = client.executions.start(m.ExecutionStartRequest(executable=_task_id(client)))
        talend_sandbox.set_faults(FaultConfig(error_rate=1.0, families=["processing"], methods=["GET"]))
        with pytest.raises(WaitTimeoutError) as timed_out:
            client.executions.wait(started.execution_id, timeout=0.5, poll_interval=0.05)
        talend_sandbox.set_faults()
    assert "the last poll failed" in str(timed_out.value)


def test_a_promotion_report_wait_outlasts_429_bursts(talend_sandbox: Any) -> None:
    talend_sandbox.state.apply_settings({"promotion_seconds": 1.0})
    with talend_sandbox.client(retry=TWO_ATTEMPTS) as client:
        dev_to_test = next(d for d in client.promotions.list() if d.name == "dev to test")
        execution = client.promotions.run(m.PromotionRunRequest(executable=dev_to_test.executable))
        assert execution.execution_id and execution.execution_report is None  # running
        talend_sandbox.set_faults(
            FaultConfig(burst_429_every=5, burst_429_length=4, families=["processing"], methods=["GET"])
        )
        report = client.promotions.wait_for_report(execution.execution_id, timeout=60, poll_interval=0.05)
        talend_sandbox.set_faults()
    assert report.status in (m.PromotionReportStatus.PROMOTED, m.PromotionReportStatus.PROMOTION_WARNING)
    assert _refused_polls(talend_sandbox.requests(), "/processing/executions/promotions/") >= 2


def test_a_definition_created_meanwhile_is_used(talend_sandbox: Any) -> None:
    with talend_sandbox.client() as client, talend_sandbox.client() as other:
        envs = {e.name: e.id for e in client.environments.list()}
        stale = client.promotions.find
        seen: list[str] = []

        def find_then_lose_the_race(source: str, target: str) -> m.PromotionDefinition | None:
            if not seen:  # the other client creates it right after this look-up
                seen.append("raced")
                other.promotions.create(
                    m.PromotionCreateRequest(source_environment_id=source, target_environment_id=target)
                )
                return None
            return stale(source, target)

        client.promotions.find = find_then_lose_the_race  # type: ignore[method-assign]
        definition = client.promotions.find_or_create(envs["dev"], envs["prod"])
        assert definition == other.promotions.find(envs["dev"], envs["prod"])
    posts = [e["status"] for e in talend_sandbox.requests() if e["method"] == "POST" and e["path"].endswith("/promotions")]
    assert posts == [201, 409]


def test_a_run_refused_because_its_pair_is_busy_is_sent_again(talend_sandbox: Any) -> None:
    talend_sandbox.state.apply_settings({"promotion_seconds": 0.8})
    with talend_sandbox.client() as client:
        test_to_prod = next(d for d in client.promotions.list() if d.name == "test to prod")
        request = m.PromotionRunRequest(executable=test_to_prod.executable)
        first = client.promotions.run(request)
        assert first.execution_id and first.execution_report is None  # running for 0.8s
        with pytest.raises(Conflict):
            client.promotions.run(request)
        second = client.promotions.promote(request, timeout=60, poll_interval=0.1)
    assert second.execution_id != first.execution_id
    assert second.status not in (None, m.PromotionReportStatus.PROMOTION_STARTED)
    runs = [e["status"] for e in talend_sandbox.requests() if e["path"] == "/processing/executions/promotions"]
    assert runs[0] == 202 and 409 in runs[1:-1] and runs[-1] == 202
