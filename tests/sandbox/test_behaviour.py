"""The sandbox behaves as Talend Cloud does: paging, cascades, full replacement, executions with
their outcomes and logs, auth and token expiry, faults, budgets, the request log, concurrency."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import httpx
import pytest

from promoter.sandbox import Sandbox

RUN_CONFIG = {
    "trigger": {"type": "MANUAL", "startDate": "2026-01-01", "timeZone": "UTC"},
    "runtime": {"type": "CLOUD"},
    "parallelExecutionAllowed": True,
}
TERMINAL = {"execution_successful", "execution_failed", "execution_rejected", "deploy_failed",
            "terminated", "terminated_timeout", "terminated_shutdown"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The error body of an answer that must be ``status``: ``{status, message, requestId}``."""
    assert response.status_code == status, f"{response.request.url}: expected {status}, got {response.status_code} {response.text}"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["message"] and body["requestId"]
    return body


def env_id(http: httpx.Client, name: str) -> str:
    return str(ok(http.get("/orchestration/environments", params={"query": f"name=={name}"}))[0]["id"])


def ws_id(http: httpx.Client, env: str, name: str = "Finance") -> str:
    found = ok(http.get("/orchestration/workspaces", params={"query": f"environment.name=={env};name=={name}"}))
    return str(found[0]["id"])


def task_by_name(http: httpx.Client, name: str, env: str = "dev") -> str:
    page = ok(http.get("/orchestration/executables/tasks", params={"environmentId": env_id(http, env), "name": name}))
    return str(page["items"][0]["executable"])


def publish(http: httpx.Client, ws: str, name: str, version: str = "1.0.0.20260101000000",
            behaviour: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"workspaceId": ws, "name": name, "version": version, "behaviour": behaviour or {}}
    published: dict[str, Any] = ok(http.post("/_sandbox/artifacts", json=body), 201)
    return published


def new_task(http: httpx.Client, env: str = "dev", *, behaviour: dict[str, Any] | None = None,
             parameters: dict[str, Any] | None = None, run_config: dict[str, Any] | None = None,
             ws: str | None = None, artifact: str | None = None) -> str:
    ws = ws or ws_id(http, env)
    published = publish(http, ws, artifact or unique("job"), behaviour=behaviour)
    body = {"name": unique("task"), "workspaceId": ws, "environmentId": env_id(http, env),
            "artifact": {"id": published["id"], "version": published["version"]}, "parameters": parameters or {}}
    task = str(ok(http.post("/orchestration/executables/tasks", json=body), 201)["id"])
    ok(http.put(f"/orchestration/executables/tasks/{task}/run-config", json=run_config or RUN_CONFIG))
    return task


def start(http: httpx.Client, task: str, **extra: Any) -> str:
    return str(ok(http.post("/processing/executions", json={"executable": task, **extra}), 201)["executionId"])


def follow(http: httpx.Client, execution: str, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Every distinct status of an execution until it ends, polled closely."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = ok(http.get(f"/processing/executions/{execution}"))
        if not seen or seen[-1]["status"] != body["status"]:
            seen.append(body)
        if body["status"] in TERMINAL:
            return seen
        time.sleep(0.01)
    raise AssertionError(f"execution {execution} did not end: {[s['status'] for s in seen]}")


def settled_log(sandbox: Sandbox, count: int, timeout: float = 2.0) -> list[dict[str, Any]]:
    """The request log once it holds ``count`` entries: an entry is written after its answer is
    sent, so the client can be a step ahead of the log."""
    deadline = time.monotonic() + timeout
    while len(log := sandbox.requests()) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    return log


@pytest.fixture
def http(talend_sandbox: Sandbox) -> Any:
    with talend_sandbox.http(timeout=10) as client:
        yield client


# ====================================================================== paging


@pytest.mark.sandbox_seed("large", tasks=130)
def test_paging_over_more_than_a_hundred_tasks(http: httpx.Client) -> None:
    dev = env_id(http, "dev")
    first = ok(http.get("/orchestration/executables/tasks", params={"environmentId": dev}))
    assert (first["limit"], first["offset"], first["total"], len(first["items"])) == (100, 0, 130, 100)
    second = ok(http.get("/orchestration/executables/tasks", params={"environmentId": dev, "offset": 100}))
    assert (second["limit"], second["offset"], second["total"], len(second["items"])) == (100, 100, 130, 30)
    ids = [t["executable"] for t in first["items"] + second["items"]]
    assert len(set(ids)) == 130
    # Any page size from 1 to 100 walks the same list in the same order.
    for limit in (1, 7, 100):
        walked: list[str] = []
        offset = 0
        while offset < 130 and len(walked) < 130:
            page = ok(http.get("/orchestration/executables/tasks", params={"environmentId": dev, "limit": limit, "offset": offset}))
            assert page["limit"] == limit and page["total"] == 130 and len(page["items"]) <= limit
            walked += [t["executable"] for t in page["items"]]
            offset += limit
            if limit == 1 and offset == 10:  # a hundred-odd requests prove nothing more
                walked += ids[10:]
                break
        assert walked == ids
    beyond = ok(http.get("/orchestration/executables/tasks", params={"environmentId": dev, "offset": 500}))
    assert beyond["items"] == [] and beyond["total"] == 130
    searched = ok(http.post("/orchestration/executables/tasks/search", json={"environmentId": dev, "limit": 50, "offset": 120}))
    assert (len(searched["items"]), searched["total"]) == (10, 130)
    for bad in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}):
        error(http.get("/orchestration/executables/tasks", params=bad), 400)


# ====================================================================== cascades and conflicts


def test_deleting_an_environment_removes_its_workspaces_and_all_they_hold(http: httpx.Client) -> None:
    env = ok(http.post("/orchestration/environments", json={"name": unique("env"), "workspaceName": "custom"}), 201)
    ws = ok(http.post("/orchestration/workspaces", json={"name": "Finance", "environmentId": env["id"]}), 201)["id"]
    connection = ok(http.post("/orchestration/connections", json={
        "name": "db", "workspaceId": ws, "app": "PostgreSQL", "parameters": [{"name": "host", "value": "h"}]}), 201)
    artifact = publish(http, ws, "job")
    task = ok(http.post("/orchestration/executables/tasks", json={
        "name": "t", "workspaceId": ws, "environmentId": env["id"], "connections": {"PostgreSQL": connection["id"]},
        "artifact": {"id": artifact["id"], "version": artifact["version"]}}), 201)["id"]
    ok(http.put(f"/orchestration/executables/tasks/{task}/run-config", json=RUN_CONFIG))
    workspaces = ok(http.get("/orchestration/workspaces", params={"query": f"environment.id=={env['id']}"}))
    assert sorted(w["type"] for w in workspaces) == ["custom", "shared"]

    ok(http.delete(f"/orchestration/environments/{env['id']}"), 204)

    assert ok(http.get("/orchestration/workspaces", params={"query": f"environment.id=={env['id']}"})) == []
    error(http.get(f"/orchestration/executables/tasks/{task}"), 404)
    error(http.get(f"/orchestration/executables/tasks/{task}/run-config"), 404)
    error(http.get(f"/orchestration/connections/{connection['id']}"), 404)
    error(http.get(f"/orchestration/artifacts/{artifact['id']}"), 404)
    assert ok(http.get("/orchestration/executables/tasks", params={"workspaceId": ws}))["total"] == 0
    # Other environments are untouched.
    assert ok(http.get("/orchestration/executables/tasks", params={"environmentId": env_id(http, "dev")}))["total"] == 4


def test_deleting_what_is_in_use_conflicts(http: httpx.Client) -> None:
    task = task_by_name(http, "Finance daily load")
    detail = ok(http.get(f"/orchestration/executables/tasks/{task}"))
    body = error(http.delete(f"/orchestration/connections/{detail['connections']['PostgreSQL']}"), 409)
    assert "Finance daily load" in body["detail"]
    artifact, version = detail["artifact"]["id"], detail["artifact"]["version"]
    error(http.delete(f"/orchestration/artifacts/{artifact}/versions/{version}"), 409)
    error(http.delete(f"/orchestration/artifacts/{artifact}"), 409)
    error(http.delete(f"/orchestration/workspaces/{ws_id(http, 'dev')}"), 409)
    # An older version nobody runs can go.
    older = [v for v in ok(http.get(f"/orchestration/artifacts/{artifact}"))["versions"] if v != version]
    ok(http.delete(f"/orchestration/artifacts/{artifact}/versions/{older[-1]}"), 204)
    assert older[-1] not in ok(http.get(f"/orchestration/artifacts/{artifact}"))["versions"]
    # Everything still in use is still there.
    assert ok(http.get(f"/orchestration/connections/{detail['connections']['PostgreSQL']}"))["name"] == "finance_warehouse"
    assert ok(http.get(f"/orchestration/artifacts/{artifact}/versions/{version}"))["version"] == version


# ====================================================================== full replacement


def test_task_put_is_a_full_replacement(http: httpx.Client) -> None:
    task = task_by_name(http, "Campaign export")
    before = ok(http.get(f"/orchestration/executables/tasks/{task}"))
    assert before["tags"] and before["parameters"] and before["connections"]
    minimal = {"name": before["name"], "workspaceId": before["workspace"]["id"], "description": "only this",
               "artifact": {"id": before["artifact"]["id"], "version": before["artifact"]["version"]}}
    ok(http.put(f"/orchestration/executables/tasks/{task}", json=minimal))
    after = ok(http.get(f"/orchestration/executables/tasks/{task}"))
    for omitted in ("tags", "parameters", "connections", "resources", "autoUpgradeInfo"):
        assert after.get(omitted) is None, f"{omitted} survived a PUT that omitted it"
    assert after["description"] == "only this" and after["artifact"] == before["artifact"]
    # Read, change, write back: a whole body restores the task.
    whole = {**minimal, "description": before["description"], "tags": before["tags"],
             "parameters": before["parameters"], "connections": before["connections"]}
    ok(http.put(f"/orchestration/executables/tasks/{task}", json=whole))
    restored = ok(http.get(f"/orchestration/executables/tasks/{task}"))
    assert {k: restored.get(k) for k in ("tags", "parameters", "connections", "description")} == \
        {k: before.get(k) for k in ("tags", "parameters", "connections", "description")}
    for read_only in ({"id": task}, {"version": "2"}):
        body = error(http.put(f"/orchestration/executables/tasks/{task}", json={**whole, **read_only}), 400)
        assert next(iter(read_only)) in body["message"]
    assert ok(http.get(f"/orchestration/executables/tasks/{task}")) == restored


# ====================================================================== executions


def test_an_execution_moves_from_dispatching_through_executing_to_its_end(http: httpx.Client) -> None:
    ok(http.put("/_sandbox/settings", json={"dispatchSeconds": 0.15, "runSeconds": 0.3}))
    task = new_task(http)
    triggered = time.monotonic()
    seen = follow(http, start(http, task))
    elapsed = time.monotonic() - triggered
    assert [s["status"] for s in seen] == ["dispatching", "executing", "execution_successful"]
    assert [s["executionStatus"] for s in seen] == ["DISPATCHING_FLOW", "STARTING_FLOW_EXECUTION", "EXECUTION_SUCCESS"]
    assert elapsed >= 0.45
    assert "startTimestamp" not in seen[0] and "finishTimestamp" not in seen[1]
    final = seen[-1]
    # Compared as times: ISO strings of different precision ("...:16Z", "...:16.150Z") do not
    # sort as text (an execution triggered on a whole second made this fail).
    moments = [datetime.fromisoformat(final[k].replace("Z", "+00:00"))
               for k in ("triggerTimestamp", "startTimestamp", "finishTimestamp")]
    assert moments[0] < moments[1] < moments[2]
    assert final["numberOfProcessedRows"] == 1000 and final["numberOfRejectedRows"] == 0


def test_a_paused_task_does_not_run_and_a_task_without_run_config_cannot(http: httpx.Client) -> None:
    task = new_task(http)
    ok(http.put(f"/orchestration/executables/tasks/{task}/pause", json={"pause": True}), 204)
    error(http.post("/processing/executions", json={"executable": task}), 405)
    ok(http.put(f"/orchestration/executables/tasks/{task}/pause", json={"pause": False}), 204)
    start(http, task)
    ok(http.delete(f"/orchestration/executables/tasks/{task}/run-config"), 204)
    error(http.post("/processing/executions", json={"executable": task}), 501)
    error(http.post("/processing/executions", json={"executable": "0123456789abcdef01234567"}), 404)


def test_a_second_concurrent_run_is_rejected_unless_parallel_runs_are_allowed(http: httpx.Client) -> None:
    # Runs of 1.5 s (not the fixture's 0.25 s): the second start must come while the first runs,
    # also on a machine busy enough to pause this test for a quarter of a second.
    serial = new_task(http, behaviour={"seconds": 1.5}, run_config={**RUN_CONFIG, "parallelExecutionAllowed": False})
    first, second = start(http, serial), start(http, serial)
    assert follow(http, first)[-1]["status"] == "execution_successful"
    rejected = follow(http, second)[-1]
    assert rejected["status"] == "execution_rejected"
    assert rejected["misfiredExecutionReason"] == "PARALLEL_EXECUTION_FORBIDDEN"
    # Once the first has ended, the task runs again.
    assert follow(http, start(http, serial))[-1]["status"] == "execution_successful"
    parallel = new_task(http)
    both = [start(http, parallel), start(http, parallel)]
    assert [follow(http, e)[-1]["status"] for e in both] == ["execution_successful"] * 2


def test_the_outcome_comes_from_the_sandbox_outcome_parameter(http: httpx.Client) -> None:
    task = new_task(http)
    failed = follow(http, start(http, task, parameters={"SANDBOX_OUTCOME": "execution_failed"}))[-1]
    assert failed["status"] == "execution_failed" and failed["errorMessage"] and failed["errorType"] == "JOB_ERROR"
    assert follow(http, start(http, task))[-1]["status"] == "execution_successful"
    # A task parameter decides every run of the task; a run parameter still overrides it.
    flaky = new_task(http, parameters={"SANDBOX_OUTCOME": "deploy_failed"})
    assert follow(http, start(http, flaky))[-1]["status"] == "deploy_failed"
    overridden = start(http, flaky, parameters={"SANDBOX_OUTCOME": "execution_successful"})
    assert follow(http, overridden)[-1]["status"] == "execution_successful"


def test_the_outcome_comes_from_the_artifact_versions_behaviour(http: httpx.Client) -> None:
    behaviour = {"failInEnvironments": ["prod"], "rejectedRows": 3, "processedRows": 50, "log": ["Schema v11 missing"]}
    runs = {}
    for env in ("dev", "prod"):
        task = new_task(http, env, behaviour=behaviour, artifact="ledger_sync")
        runs[env] = start(http, task)
    dev, prod = (follow(http, runs[env])[-1] for env in ("dev", "prod"))
    assert dev["status"] == "execution_successful"
    assert (dev["numberOfProcessedRows"], dev["numberOfRejectedRows"]) == (50, 3)
    assert prod["status"] == "execution_failed" and prod["executionStatus"] == "EXECUTION_FAILED"
    log = ok(http.get(f"/monitoring/executions/{runs['prod']}/logs", params={"count": 200, "order": "ASC"}))["data"]
    assert "Schema v11 missing" in [line["logMessage"] for line in log]
    assert log[-1]["severity"] == "ERROR"
    assert "WARN" in {line["severity"] for line in log}  # the rejected rows


def test_stopping_an_execution_terminates_it(http: httpx.Client) -> None:
    ok(http.put("/_sandbox/settings", json={"runSeconds": 5}))
    execution = start(http, new_task(http))
    ok(http.delete(f"/processing/executions/{execution}"), 204)
    assert follow(http, execution, timeout=2)[-1]["status"] == "terminated"


def test_logs_page_with_start_index_next_index_count_and_order(http: httpx.Client) -> None:
    execution = start(http, new_task(http, behaviour={"log": ["a", "b", "c", "d"]}))
    follow(http, execution)
    url = f"/monitoring/executions/{execution}/logs"
    everything = ok(http.get(url, params={"count": 200, "order": "ASC"}))
    assert everything["size"] == everything["totalSize"] == len(everything["data"]) > 8
    assert "nextIndex" not in everything
    paged: list[dict[str, Any]] = []
    index: int | None = 0
    while index is not None:
        page = ok(http.get(url, params={"count": 3, "startIndex": index, "order": "ASC"}))
        assert page["size"] == len(page["data"]) <= 3 and page["totalSize"] == everything["totalSize"]
        paged += page["data"]
        index = page.get("nextIndex")
        assert index is None or index == len(paged)
    assert paged == everything["data"]
    newest_first = ok(http.get(url, params={"count": 200}))  # DESC is the default
    assert newest_first["data"] == list(reversed(everything["data"]))
    assert ok(http.get(f"/monitoring/executions/{execution}/log", params={"count": 200, "order": "ASC"})) == everything
    middle = everything["data"][len(everything["data"]) // 2]["logTimestamp"]
    recent = ok(http.get(url, params={"count": 200, "order": "ASC", "startTime": str(middle)}))
    assert recent["data"] and all(line["logTimestamp"] >= middle for line in recent["data"])
    assert recent["totalSizeFiltered"] == len(recent["data"]) < everything["totalSize"]


# ====================================================================== auth


def test_the_development_token_and_the_version_header_or_query_are_accepted(talend_sandbox: Sandbox) -> None:
    url = f"{talend_sandbox.base_url}/orchestration/environments"
    token = {"Authorization": f"Bearer {talend_sandbox.token}"}
    assert httpx.get(url, headers=token).status_code == 200
    assert httpx.get(url, headers={**token, "talend-version": "2021-03"}).status_code == 200
    assert httpx.get(url, headers=token, params={"talendVersion": "2021-03"}).status_code == 200
    error(httpx.get(url), 401)
    error(httpx.get(url, headers={"Authorization": "Bearer x" + talend_sandbox.token}), 401)
    error(httpx.get(url, headers={"Authorization": talend_sandbox.token}), 401)  # no scheme


def test_oauth_tokens_expire(talend_sandbox: Sandbox) -> None:
    talend_sandbox.set_token_ttl(1)
    issued = httpx.post(f"{talend_sandbox.base_url}/security/oauth/token",
                        auth=(talend_sandbox.client_id, talend_sandbox.client_secret),
                        json={"audience": talend_sandbox.base_url, "grant_type": "client_credentials"})
    body = ok(issued)
    assert body["expires_in"] == "1" and body["token_type"] == "Bearer"
    url = f"{talend_sandbox.base_url}/orchestration/environments"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert httpx.get(url, headers=bearer).status_code == 200
    time.sleep(1.1)
    error(httpx.get(url, headers=bearer), 401)
    # The personal token does not expire.
    assert httpx.get(url, headers={"Authorization": f"Bearer {talend_sandbox.token}"}).status_code == 200


# ====================================================================== faults


def _connection_body(http: httpx.Client, name: str) -> dict[str, Any]:
    return {"name": name, "workspaceId": ws_id(http, "dev", "Marketing"), "app": "MySQL", "parameters": []}


def _connection_names(http: httpx.Client) -> set[str]:
    page = ok(http.get("/orchestration/connections", params={"workspaceId": ws_id(http, "dev", "Marketing")}))
    return {c["name"] for c in page["items"]}


def test_injected_server_errors_answer_5xx_with_the_error_body_and_change_nothing(
    talend_sandbox: Sandbox, http: httpx.Client
) -> None:
    body = _connection_body(http, "during-outage")
    talend_sandbox.set_faults(error_rate=1.0)
    for _ in range(5):
        failed = http.post("/orchestration/connections", json=body)
        assert failed.status_code in (500, 502, 503)
        assert error(failed, failed.status_code)["detail"] == "Injected by the sandbox's fault settings."
    talend_sandbox.set_faults()
    assert "during-outage" not in _connection_names(http)
    log = talend_sandbox.requests()
    assert [e["fault"] for e in log if e["method"] == "POST"] == [str(e["status"]) for e in log if e["method"] == "POST"]


def test_429_bursts_with_and_without_retry_after(talend_sandbox: Sandbox, http: httpx.Client) -> None:
    talend_sandbox.set_faults(burst_429_every=3, burst_429_length=2, retry_after=2)
    statuses = [http.get("/orchestration/environments") for _ in range(6)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 429, 200, 429]
    assert all(r.headers["Retry-After"] == "2" for r in statuses if r.status_code == 429)
    error(statuses[2], 429)
    talend_sandbox.set_faults(burst_429_every=1, burst_429_length=1)
    limited = http.get("/processing/executions/00000000-0000-4000-8000-000000000000")
    error(limited, 429)
    assert "Retry-After" not in limited.headers
    talend_sandbox.set_faults()
    assert http.get("/orchestration/environments").status_code == 200


def test_a_connection_dropped_before_processing_creates_nothing(talend_sandbox: Sandbox, http: httpx.Client) -> None:
    talend_sandbox.set_faults(drop_before_rate=1.0, methods=["POST"])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError, httpx.ConnectError)):
        http.post("/orchestration/connections", json=_connection_body(http, "dropped-before"))
    talend_sandbox.set_faults()
    assert "dropped-before" not in _connection_names(http)
    entry = [e for e in talend_sandbox.requests() if e["method"] == "POST"][-1]
    assert (entry["fault"], entry["status"]) == ("drop-before", 0)


def test_a_connection_dropped_after_processing_still_created_the_object(talend_sandbox: Sandbox, http: httpx.Client) -> None:
    talend_sandbox.set_faults(drop_after_rate=1.0, methods=["POST"])
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        http.post("/orchestration/connections", json=_connection_body(http, "dropped-after"))
    talend_sandbox.set_faults()
    assert "dropped-after" in _connection_names(http)
    entry = [e for e in talend_sandbox.requests() if e["method"] == "POST"][-1]
    assert (entry["fault"], entry["status"], entry["effective_status"]) == ("drop-after", 0, 201)
    # A retry of the ambiguous request now conflicts: the client must reconcile, not blindly retry.
    error(http.post("/orchestration/connections", json=_connection_body(http, "dropped-after")), 409)


def test_per_minute_budgets_refuse_the_request_over_budget(talend_sandbox: Sandbox, http: httpx.Client) -> None:
    talend_sandbox.set_rate_limits(orchestration=5)
    statuses = [http.get("/orchestration/environments").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    error(http.get("/orchestration/environments"), 429)
    # Budgets are per family (and per client).
    assert http.get("/processing/executables/tasks/executions").status_code == 200
    with httpx.Client(base_url=talend_sandbox.base_url) as other:
        token = ok(other.post("/security/oauth/token", auth=(talend_sandbox.client_id, talend_sandbox.client_secret),
                              json={"audience": talend_sandbox.base_url, "grant_type": "client_credentials"}))
        other.headers["Authorization"] = f"Bearer {token['access_token']}"
        assert other.get("/orchestration/environments").status_code == 200
    assert [e["fault"] for e in talend_sandbox.requests() if e["status"] == 429] == ["rate-limit", "rate-limit"]
    talend_sandbox.set_rate_limits()
    assert http.get("/orchestration/environments").status_code == 200


def test_the_request_log_records_family_status_and_fault(talend_sandbox: Sandbox, http: httpx.Client) -> None:
    talend_sandbox.clear_requests()
    http.get("/orchestration/environments")
    http.get("/orchestration/executables/tasks/0123456789abcdef01234567")
    httpx.get(f"{talend_sandbox.base_url}/monitoring/executions/x/logs")
    talend_sandbox.set_faults(error_rate=1.0, families=["processing"])
    http.get("/processing/executables/tasks/executions")
    http.get("/orchestration/environments")
    talend_sandbox.set_faults()
    log = settled_log(talend_sandbox, 5)
    assert len(log) == 5
    summary = [(e["method"], e["path"], e["family"], e["status"], e["fault"]) for e in log]
    assert summary[:3] == [
        ("GET", "/orchestration/environments", "orchestration", 200, None),
        ("GET", "/orchestration/executables/tasks/0123456789abcdef01234567", "orchestration", 404, None),
        ("GET", "/monitoring/executions/x/logs", "monitoring", 401, None),
    ]
    assert summary[3][2] == "processing" and summary[3][3] in (500, 502, 503) and summary[3][4] == str(summary[3][3])
    assert summary[4][3:] == (200, None)
    assert [e["seq"] for e in log] == sorted(e["seq"] for e in log)
    assert all(e["duration_ms"] >= 0 and e["request_id"] for e in log)
    assert talend_sandbox.requests(since=log[2]["seq"]) == log[3:]
    # The admin route serves the same log.
    served = ok(http.get("/_sandbox/requests", params={"since": log[-1]["seq"] - 1}))
    assert served[0]["seq"] == log[-1]["seq"]


# ====================================================================== concurrency


def test_concurrent_requests_keep_the_state_consistent(http: httpx.Client, talend_sandbox: Sandbox) -> None:
    ws = ok(http.post("/orchestration/workspaces", json={"name": unique("ws"), "environmentId": env_id(http, "dev")}), 201)["id"]
    local = threading.local()
    clients: list[httpx.Client] = []

    def client() -> httpx.Client:
        # One client (one connection) per thread, as 20 independent callers would have.
        if not hasattr(local, "client"):
            local.client = talend_sandbox.http(timeout=30)
            clients.append(local.client)
        return local.client  # type: ignore[no-any-return]

    def create(name: str) -> int:
        body = {"name": name, "workspaceId": ws, "app": "PostgreSQL", "parameters": [{"name": "host", "value": name}]}
        return client().post("/orchestration/connections", json=body).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        distinct = list(pool.map(create, [f"conn-{i:03d}" for i in range(60)]))
        same = list(pool.map(create, ["contended"] * 20))
    for each in clients:
        each.close()
    assert distinct == [201] * 60
    assert sorted(same) == [201] + [409] * 19
    page = ok(http.get("/orchestration/connections", params={"workspaceId": ws}))
    assert page["total"] == 61 and len({c["id"] for c in page["items"]}) == 61
    assert not [e for e in talend_sandbox.requests() if e["status"] >= 500]
