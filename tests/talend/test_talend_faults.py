"""The client under the sandbox's faults: same results, same state, nothing created or run twice.

Faults (as in the issue): 20 % 5xx, connections dropped before (5 %) and after (5 %) the request
took effect, 50 ms of jitter, and a burst of five 429s every 50 requests, with a ``Retry-After``
header in one test and without in the other. Each test runs the 200-call script of
:mod:`talend_scenario` on a clean sandbox and on a faulty one, side by side.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from talend_helpers import settled_requests
from talend_scenario import CALLS, EXPECTED_CREATES, run_script, state_of

from promoter.sandbox import FaultConfig, Sandbox, SandboxSettings
from promoter.talend import models as m
from promoter.talend.client import TalendClient
from promoter.talend.errors import AmbiguousOutcomeError, Conflict, ServerError, TalendTimeoutError
from promoter.talend.ratelimit import family_of
from promoter.talend.retries import RetryPolicy


def _settings() -> SandboxSettings:
    return SandboxSettings(budgets=None, dispatch_seconds=0.05, run_seconds=0.2)


def _effective_posts(log: list[dict[str, Any]]) -> Counter[str]:
    """POSTs that took effect: answered 2xx, or processed and then dropped (``drop-after``)."""
    counted: Counter[str] = Counter()
    for entry in log:
        status = entry.get("effective_status") if entry["fault"] == "drop-after" else entry["status"]
        if entry["method"] == "POST" and status is not None and 200 <= status < 300:
            counted[entry["path"]] += 1
    return counted


def _run(faults: FaultConfig | None, retry: RetryPolicy) -> dict[str, Any]:
    with Sandbox.start(seed="demo", settings=_settings()) as sandbox:
        with TalendClient(sandbox.base_url, token=sandbox.token, retry=retry) as client:
            if faults is not None:
                sandbox.set_faults(faults)
            results = run_script(client)
            metrics = client.metrics.snapshot()
            log = settled_requests(sandbox)
            sandbox.set_faults()  # read the final state without faults
            state = state_of(client)
        return {"results": results, "state": state, "metrics": metrics, "log": log}


@pytest.mark.parametrize("retry_after", [1.0, None], ids=["with-retry-after", "without-retry-after"])
def test_200_calls_under_faults_end_as_without(retry_after: float | None, fast_retries: RetryPolicy) -> None:
    faults = FaultConfig(
        error_rate=0.2,
        drop_before_rate=0.05,
        drop_after_rate=0.05,
        jitter_ms=50,
        burst_429_every=50,
        burst_429_length=5,
        retry_after=retry_after,
        seed=1,
    )
    with ThreadPoolExecutor(2) as pool:
        clean_run = pool.submit(_run, None, fast_retries)
        faulty_run = pool.submit(_run, faults, fast_retries)
        clean, faulty = clean_run.result(), faulty_run.result()

    # The faults happened, all of them.
    faults_seen = Counter(e["fault"] for e in faulty["log"])
    assert faults_seen["drop-after"] and faults_seen["drop-before"]
    assert faults_seen["500"] + faults_seen["502"] + faults_seen["503"] > 0.1 * len(faulty["log"])
    assert faults_seen["429-burst-retry-after" if retry_after else "429-burst"] >= 5
    assert faulty["metrics"]["retries_total"] > 50

    # Same results, call by call, and same final state.
    assert len(faulty["results"]) == CALLS
    for (label, expected), (_, got) in zip(clean["results"], faulty["results"], strict=True):
        assert got == expected, label
    assert faulty["state"] == clean["state"]

    # Nothing created twice, no execution started twice: every non-idempotent POST took effect
    # exactly as often as the script asked, although some were dropped after taking effect.
    creates = {path: n for path, n in _effective_posts(faulty["log"]).items() if path in EXPECTED_CREATES}
    assert creates == EXPECTED_CREATES == {
        path: n for path, n in _effective_posts(clean["log"]).items() if path in EXPECTED_CREATES
    }
    dropped_after_effect = [
        e for e in faulty["log"] if e["fault"] == "drop-after" and e["method"] == "POST" and e["path"] in EXPECTED_CREATES
    ]
    assert faulty["metrics"]["reconciled"] >= len(dropped_after_effect) > 0

    # The client's metrics agree with the sandbox's request log.
    for run in (clean, faulty):
        log, metrics = run["log"], run["metrics"]
        assert metrics["requests"] == dict(Counter(family_of(e["path"]) for e in log))
        answered = Counter(str(e["status"]) for e in log if e["status"])
        assert metrics["statuses"] == dict(sorted(answered.items()))
        dropped = Counter(family_of(e["path"]) for e in log if e["status"] == 0)
        assert metrics["connection_errors"] == dict(dropped)
        assert metrics["rate_limited_total"] == sum(1 for e in log if e["status"] == 429)
        assert metrics["requests_total"] == sum(metrics["endpoints"].values()) == len(log)


def test_promotion_run_dropped_after_taking_effect_is_not_sent_again(
    talend_sandbox: Sandbox, client: TalendClient
) -> None:
    # Talend offers no list of promotion runs to look one up: the client reports the doubt
    # instead of running the promotion a second time.
    definition = next(d for d in client.promotions.list() if d.name == "dev to test")
    talend_sandbox.set_faults(FaultConfig(drop_after_rate=1.0, methods=["POST"], families=["processing"]))
    with pytest.raises(AmbiguousOutcomeError) as doubt:
        client.promotions.run(m.PromotionRunRequest(executable=definition.executable))
    assert "may or may not have taken effect" in str(doubt.value)
    runs = [e for e in settled_requests(talend_sandbox) if e["path"] == "/processing/executions/promotions"]
    assert len(runs) == 1 and runs[0]["effective_status"] == 201


def test_a_delete_dropped_after_taking_effect_is_done(talend_sandbox: Sandbox, client: TalendClient) -> None:
    finance = client.workspaces.get_by_name("Finance", environment_name="dev")
    assert finance is not None
    created = client.connections.create(
        m.ConnectionCreateRequest(name="short_lived", workspace_id=finance.id or "", app="PostgreSQL", parameters=[])
    )
    # Seeded so that the first DELETE is dropped after it took effect and the second answers.
    talend_sandbox.set_faults(FaultConfig(drop_after_rate=0.5, methods=["DELETE"], seed=9))
    client.connections.delete(created.id)  # dropped, sent again, 404: it is gone, as asked
    talend_sandbox.set_faults()
    assert client.connections.find("short_lived", workspace_id=finance.id or "") is None
    deletes = [e for e in settled_requests(talend_sandbox) if e["method"] == "DELETE"]
    assert [(e["fault"], e["status"]) for e in deletes] == [("drop-after", 0), (None, 404)]
    assert deletes[0]["effective_status"] == 204


def test_a_refused_create_is_retried_without_a_look_up(talend_sandbox: Sandbox, client: TalendClient) -> None:
    finance = client.workspaces.get_by_name("Finance", environment_name="dev")
    assert finance is not None
    # Every second POST is refused with a 429: the search passes, the create's first try does not.
    talend_sandbox.set_faults(FaultConfig(burst_429_every=2, burst_429_length=1, methods=["POST"]))
    client.tasks.search().first()
    client.connections.create(
        m.ConnectionCreateRequest(name="after_429", workspace_id=finance.id or "", app="PostgreSQL", parameters=[])
    )
    snapshot = client.metrics.snapshot()
    # A 429 means the server refused: no look-up needed before sending again.
    assert snapshot["ambiguous_outcomes"] == 0
    posts = [e["status"] for e in settled_requests(talend_sandbox) if e["path"] == "/orchestration/connections"]
    assert posts == [429, 201]


def test_a_name_taken_by_another_object_is_still_a_conflict(talend_sandbox: Sandbox, client: TalendClient) -> None:
    finance = client.workspaces.get_by_name("Finance", environment_name="dev")
    assert finance is not None and finance.id
    warehouse = client.connections.find("finance_warehouse", workspace_id=finance.id)
    assert warehouse is not None
    # Seeded so that the first POST fails with a 5xx (ambiguous) and the second gets through.
    talend_sandbox.set_faults(FaultConfig(error_rate=0.5, methods=["POST"], seed=9))
    with pytest.raises(Conflict):
        client.connections.create(
            m.ConnectionCreateRequest(name="finance_warehouse", workspace_id=finance.id, app="Snowflake", parameters=[])
        )
    # The look-up found a connection of that name, saw it is not what was sent, and sent the
    # create again: the server's 409, as without the failure.
    posts = [e["status"] for e in settled_requests(talend_sandbox) if e["method"] == "POST"]
    assert posts[0] >= 500 and posts[-1] == 409
    assert client.metrics.snapshot()["ambiguous_outcomes"] == 1
    assert client.metrics.snapshot()["reconciled"] == 0


def test_a_start_that_times_out_is_looked_up_before_it_is_sent_again(talend_sandbox: Sandbox) -> None:
    # Seeded jitter: the first start takes 382ms on the server, past the client's 200ms timeout;
    # the second 23ms. A timeout is ambiguous, so the client waits for the request to settle and
    # looks the execution up; the sandbox abandons a request whose client went away before its
    # body was read, so the look-up finds nothing and the start is sent again: one execution.
    retry = RetryPolicy(max_attempts=4, initial_backoff=0.02, timeout_settle=0.5)
    with TalendClient(talend_sandbox.base_url, token=talend_sandbox.token, retry=retry, timeout=0.2) as client:
        finance = client.workspaces.get_by_name("Finance", environment_name="dev")
        assert finance is not None and finance.id
        task = client.tasks.find("Finance daily load", workspace_id=finance.id)
        assert task is not None
        talend_sandbox.set_faults(FaultConfig(jitter_ms=400, methods=["POST"], families=["processing"], seed=2))
        started = client.executions.start(m.ExecutionStartRequest(executable=task.executable))
        talend_sandbox.set_faults()
        assert [e.execution_id for e in client.executions.list_for_task(task.executable)] == [started.execution_id]
        snapshot = client.metrics.snapshot()
    assert snapshot["ambiguous_outcomes"] == 1 and snapshot["reconciled"] == 0
    log = settled_requests(talend_sandbox)
    starts = [e for e in log if e["path"] == "/processing/executions"]
    look_up = next(e for e in log if e["path"].endswith("/executions") and e["method"] == "GET")
    assert len(starts) == 2 and look_up["time"] - starts[0]["time"] >= 0.5  # waited to settle


def test_retries_stop_at_the_waiting_cap(talend_sandbox: Sandbox) -> None:
    retry = RetryPolicy(max_attempts=50, initial_backoff=0.05, max_backoff=0.05, max_total_wait=0.3)
    talend_sandbox.set_faults(FaultConfig(error_rate=1.0))
    with TalendClient(talend_sandbox.base_url, token=talend_sandbox.token, retry=retry) as client:
        with pytest.raises(ServerError) as failed:
            client.environments.list()
        assert "status.talend.com" in str(failed.value)
        snapshot = client.metrics.snapshot()
    attempts = len(settled_requests(talend_sandbox))
    # Waits of 0.025-0.05s each, at most 0.3s in all: between 7 and 13 attempts, far from 50.
    assert 7 <= attempts <= 13 and snapshot["retries_total"] == attempts - 1


def test_a_read_timeout_is_a_timeout_error(talend_sandbox: Sandbox) -> None:
    talend_sandbox.set_faults(FaultConfig(latency_ms=300))
    retry = RetryPolicy(max_attempts=2, initial_backoff=0.01, timeout_settle=0.01)
    with (
        TalendClient(talend_sandbox.base_url, token=talend_sandbox.token, retry=retry, timeout=0.1) as client,
        pytest.raises(TalendTimeoutError) as timed_out,
    ):
        client.environments.list()
    assert timed_out.value.sent and "timeout" in str(timed_out.value)
