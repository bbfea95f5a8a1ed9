"""Restart: what was created over HTTP before a stop is there after a start on the same state file."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from promoter.sandbox import Sandbox

StartSandbox = Callable[..., Sandbox]

RUN_CONFIG = {
    "trigger": {"type": "DAILY", "interval": 1, "startDate": "2026-01-01", "timeZone": "UTC"},
    "runtime": {"type": "CLOUD"},
    "parallelExecutionAllowed": False,
    "logLevel": "WARN",
}


def created(response: httpx.Response, status: int = 201) -> Any:
    assert response.status_code == status, f"{response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def test_objects_and_tokens_survive_a_restart(tmp_path: Path, start_sandbox: StartSandbox) -> None:
    state = tmp_path / "s.db"
    before = start_sandbox(state=state, seed="demo")
    with before.http() as http:
        env = created(http.post("/orchestration/environments", json={"name": "staging", "workspaceName": "staging-custom"}))
        ws = created(http.post("/orchestration/workspaces", json={"name": "Finance", "environmentId": env["id"]}))
        connection = created(http.post("/orchestration/connections", json={
            "name": "warehouse", "workspaceId": ws["id"], "app": "PostgreSQL",
            "parameters": [{"name": "host", "value": "db.staging"}, {"name": "password", "value": "pw", "encrypted": True}],
        }))
        artifact = created(http.post("/_sandbox/artifacts", json={
            "workspaceId": ws["id"], "name": "nightly_load", "version": "1.0.0.20260101000000",
            "behaviour": {"processedRows": 42, "rejectedRows": 1},
        }))
        task = created(http.post("/orchestration/executables/tasks", json={
            "name": "Nightly load", "workspaceId": ws["id"], "environmentId": env["id"],
            "artifact": {"id": artifact["id"], "version": artifact["version"]},
            "connections": {"PostgreSQL": connection["id"]}, "parameters": {"SCHEMA": "staging"}, "tags": ["t"],
        }))
        created(http.put(f"/orchestration/executables/tasks/{task['id']}/run-config", json=RUN_CONFIG), 200)
        execution_id = created(http.post("/processing/executions", json={"executable": task["id"]}))["executionId"]
        deadline = time.monotonic() + 5
        while http.get(f"/processing/executions/{execution_id}").json()["status"] in ("dispatching", "executing"):
            assert time.monotonic() < deadline, "the execution never ended"
            time.sleep(0.05)
        token = created(httpx.post(
            f"{before.base_url}/security/oauth/token", auth=(before.client_id, before.client_secret),
            json={"audience": before.base_url, "grant_type": "client_credentials"},
        ), 200)["access_token"]
        snapshot = {
            "environments": http.get("/orchestration/environments").json(),
            "workspaces": http.get("/orchestration/workspaces", params={"query": f"environment.id=={env['id']}"}).json(),
            "connection": http.get(f"/orchestration/connections/{connection['id']}").json(),
            "artifact": http.get(f"/orchestration/artifacts/{artifact['id']}").json(),
            "task": http.get(f"/orchestration/executables/tasks/{task['id']}").json(),
            "run-config": http.get(f"/orchestration/executables/tasks/{task['id']}/run-config").json(),
            "execution": http.get(f"/processing/executions/{execution_id}").json(),
            "task executions": http.get(f"/processing/executables/tasks/{task['id']}/executions").json(),
            "logs": http.get(f"/monitoring/executions/{execution_id}/logs", params={"count": 200}).json(),
        }
    before.stop()
    assert snapshot["execution"]["status"] == "execution_successful"

    after = start_sandbox(state=state, seed="demo")
    with after.http() as http:
        again = {
            "environments": http.get("/orchestration/environments").json(),
            "workspaces": http.get("/orchestration/workspaces", params={"query": f"environment.id=={env['id']}"}).json(),
            "connection": http.get(f"/orchestration/connections/{connection['id']}").json(),
            "artifact": http.get(f"/orchestration/artifacts/{artifact['id']}").json(),
            "task": http.get(f"/orchestration/executables/tasks/{task['id']}").json(),
            "run-config": http.get(f"/orchestration/executables/tasks/{task['id']}/run-config").json(),
            "execution": http.get(f"/processing/executions/{execution_id}").json(),
            "task executions": http.get(f"/processing/executables/tasks/{task['id']}/executions").json(),
            "logs": http.get(f"/monitoring/executions/{execution_id}/logs", params={"count": 200}).json(),
        }
        for name, body in snapshot.items():
            assert again[name] == body, f"{name} changed across the restart"
        # The seed is not applied a second time over an existing state.
        assert sorted(e["name"] for e in again["environments"]) == ["dev", "prod", "staging", "test"]
        # The token issued before the stop still authenticates (its 30 minutes are not over).
        with httpx.Client(base_url=after.base_url, headers={"Authorization": f"Bearer {token}"}) as issued:
            assert issued.get(f"/orchestration/executables/tasks/{task['id']}").status_code == 200
        # And the restarted sandbox keeps working on the same state.
        assert created(http.post("/processing/executions", json={"executable": task["id"]}))["executionId"]


def test_an_in_memory_sandbox_starts_from_its_seed_every_time(start_sandbox: StartSandbox) -> None:
    for _ in range(2):
        sandbox = start_sandbox(seed="demo")
        with sandbox.http() as http:
            names = sorted(e["name"] for e in http.get("/orchestration/environments").json())
            assert names == ["dev", "prod", "test"]
            created(http.post("/orchestration/environments", json={"name": "scratch", "workspaceName": "c"}))
        sandbox.stop()
