"""Scenario 2: the same promotion as a user would script it with plain httpx — no promoter code.

One request at a time, a ``GET`` per object: list the source tasks, ``GET`` each task and its
run configuration, bring each artifact's latest version over with Talend's own promotion
(artifact scope), create each task in the target and ``PUT`` its run configuration, then start
the smoke runs one after the other and poll each every second until it ends. A 429 is waited
out (``Retry-After``, or one second) and sent again, as any script that survives a minute learns
to do. The end state is the one promoter reaches; :func:`check_end_state` proves it.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

POLL_SECONDS = 1.0
FINAL = {
    "execution_successful", "execution_failed", "execution_rejected", "deploy_failed",
    "terminated", "terminated_timeout", "terminated_shutdown",
}


class Counting:
    """A tiny wrapper that sends with httpx, retries 429s and counts what it did."""

    def __init__(self, base_url: str, token: str) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "talend-version": "2021-03"},
            timeout=60,
        )
        self.requests: dict[str, int] = {}
        self.rate_limited = 0
        self.waited = 0.0

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send one request (again after a 429) and return its JSON answer."""
        family = path.lstrip("/").split("/", 1)[0]
        while True:
            self.requests[family] = self.requests.get(family, 0) + 1
            response = self.http.request(method, path, **kwargs)
            if response.status_code != 429:
                break
            self.rate_limited += 1
            pause = float(response.headers.get("Retry-After", 1))
            self.waited += pause
            time.sleep(pause)
        response.raise_for_status()
        return response.json() if response.content else None

    def pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Every item of a paged list."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.call("GET", path, params={**params, "limit": 100, "offset": len(items)})
            items.extend(page["items"])
            if not page["items"] or len(items) >= page["total"]:
                return items

    def close(self) -> None:
        self.http.close()


def _workspace(api: Counting, environment: str, name: str) -> tuple[str, str]:
    env = api.call("GET", "/orchestration/environments", params={"query": f"name=={environment}"})[0]
    ws = api.call(
        "GET", "/orchestration/workspaces", params={"query": f"environment.id=={env['id']};name=={name}"}
    )[0]
    return env["id"], ws["id"]


def run_baseline(base_url: str, token: str, smoke: list[str]) -> dict[str, Any]:
    """Promote dev/Finance to test/Finance the plain way; returns wall time and counts."""
    api = Counting(base_url, token)
    started = time.perf_counter()
    try:
        _, source_ws = _workspace(api, "dev", "Finance")
        target_env, target_ws = _workspace(api, "test", "Finance")

        # Read the source: every task, in full, and its run configuration.
        tasks = []
        for item in api.pages("/orchestration/executables/tasks", {"workspaceId": source_ws}):
            task = api.call("GET", f"/orchestration/executables/tasks/{item['executable']}")
            run_config = api.call("GET", f"/orchestration/executables/tasks/{item['executable']}/run-config")
            tasks.append((task, run_config))
        source_connections = {
            c["id"]: c["name"]
            for c in api.pages("/orchestration/connections", {"workspaceId": source_ws})
        }

        # Artifacts travel by Talend's promotion, one artifact at a time.
        source_env = next(iter(api.call("GET", "/orchestration/environments", params={"query": "name==dev"})))
        definition = next(
            d for d in api.call("GET", "/orchestration/executables/promotions")
            if d["sourceEnvironment"]["id"] == source_env["id"] and d["targetEnvironment"]["id"] == target_env
        )
        for artifact_id in sorted({t["artifact"]["id"] for t, _ in tasks}):
            run = api.call(
                "POST", "/processing/executions/promotions",
                json={"executable": definition["executable"], "keepTargetResources": True,
                      "keepTargetRunProfiles": True,
                      "advanced": {"artifactId": artifact_id, "artifactType": "ACTION"}},
            )
            report = run.get("executionReport") or {}
            while report.get("status") not in ("PROMOTED", "PROMOTION_WARNING", "PROMOTION_FAILED"):
                time.sleep(POLL_SECONDS)
                report = api.call("GET", f"/processing/executions/promotions/{run['executionId']}")
            if report["status"] == "PROMOTION_FAILED":
                raise RuntimeError(f"the promotion of artifact {artifact_id} failed")

        # Write the target: the same tasks, bound to the target's artifacts and connections.
        target_artifacts = {
            a["name"]: a["id"] for a in api.pages("/orchestration/artifacts", {"workspaceId": target_ws})
        }
        target_connections = {
            c["name"]: c["id"] for c in api.pages("/orchestration/connections", {"workspaceId": target_ws})
        }
        created: dict[str, str] = {}
        for task, run_config in tasks:
            body = {
                "workspaceId": target_ws,
                "environmentId": target_env,
                "name": task["name"],
                "description": task.get("description"),
                "tags": task.get("tags"),
                "parameters": task.get("parameters"),
                "connections": {
                    app: target_connections[source_connections[cid]]
                    for app, cid in (task.get("connections") or {}).items()
                },
                "artifact": {"id": target_artifacts[task["artifact"]["name"]],
                             "version": task["artifact"]["version"]},
            }
            new = api.call("POST", "/orchestration/executables/tasks", json=body)
            created[task["name"]] = new["id"]
            if run_config is not None:
                api.call("PUT", f"/orchestration/executables/tasks/{new['id']}/run-config", json=run_config)

        # Smoke runs, one after the other.
        failed = []
        for name in smoke:
            execution = api.call("POST", "/processing/executions", json={"executable": created[name]})
            while True:
                status = api.call("GET", f"/processing/executions/{execution['executionId']}")
                if status["status"] in FINAL:
                    break
                time.sleep(POLL_SECONDS)
            if status["status"] != "execution_successful":
                failed.append(name)
        wall = time.perf_counter() - started
    finally:
        api.close()
    return {
        "status": "promoted" if not failed else "smoke failed",
        "wall_seconds": round(wall, 3),
        "tasks": len(tasks),
        "smoke_runs": len(smoke),
        "metrics": {
            "requests": dict(api.requests),
            "requests_total": sum(api.requests.values()),
            "rate_limited_total": api.rate_limited,
            "limiter_wait_seconds_total": 0.0,
            "retry_after_wait_seconds": round(api.waited, 3),
        },
    }


def check_end_state(base_url: str, token: str, tasks: int) -> dict[str, Any]:
    """What test/Finance holds after a promotion: tasks, tasks with a run configuration, runs."""
    api = Counting(base_url, token)
    try:
        _, ws = _workspace(api, "test", "Finance")
        items = api.pages("/orchestration/executables/tasks", {"workspaceId": ws})
        with_runtime = sum(1 for i in items if i.get("runtime"))
        return {"tasks": len(items), "tasks_with_runtime": with_runtime, "expected_tasks": tasks}
    finally:
        api.close()


def run_hotfix(base_url: str, token: str, target: str, artifact: str, task_name: str,
               poll_seconds: float = 0.25) -> dict[str, Any]:
    """A hotfix the plain way: one artifact's latest version, one task, one smoke run, from
    dev/Finance to ``target``/Finance — the same calls promoter makes, one at a time: the version
    Talend's promotion brings along that the hotfix does not name is deleted again, and the
    smoke run is polled every ``poll_seconds`` (promoter's first poll comes after 1 s, then every
    quarter of the time run)."""
    api = Counting(base_url, token)
    started = time.perf_counter()
    try:
        source_env, source_ws = _workspace(api, "dev", "Finance")
        target_env, target_ws = _workspace(api, target, "Finance")
        [item] = [t for t in api.pages("/orchestration/executables/tasks",
                                       {"workspaceId": source_ws, "name": task_name})
                  if t["name"] == task_name]
        task = api.call("GET", f"/orchestration/executables/tasks/{item['executable']}")
        run_config = api.call("GET", f"/orchestration/executables/tasks/{item['executable']}/run-config")
        [source_artifact] = api.pages("/orchestration/artifacts", {"workspaceId": source_ws, "name": artifact})
        wanted = source_artifact["versions"][0]
        source_connections = {c["id"]: c["name"] for c in api.pages("/orchestration/connections",
                                                                    {"workspaceId": source_ws})}
        definition = next(
            d for d in api.call("GET", "/orchestration/executables/promotions")
            if d["sourceEnvironment"]["id"] == source_env and d["targetEnvironment"]["id"] == target_env
        )
        run = api.call("POST", "/processing/executions/promotions", json={
            "executable": definition["executable"], "keepTargetResources": True,
            "keepTargetRunProfiles": True,
            "advanced": {"artifactId": source_artifact["id"], "artifactType": "ACTION"}})
        report = run.get("executionReport") or {}
        while report.get("status") not in ("PROMOTED", "PROMOTION_WARNING", "PROMOTION_FAILED"):
            time.sleep(poll_seconds)
            report = api.call("GET", f"/processing/executions/promotions/{run['executionId']}")
        action = next(a for w in report["workspaces"] for a in w["actions"] if a["name"] == artifact)
        for version in action.get("versions") or []:
            if version["promotionReport"]["status"] == "CREATED" and version["version"] != wanted:
                api.call("DELETE", f"/orchestration/artifacts/{action['targetId']}/versions/{version['version']}")
        target_connections = {c["name"]: c["id"] for c in api.pages("/orchestration/connections",
                                                                    {"workspaceId": target_ws})}
        new = api.call("POST", "/orchestration/executables/tasks", json={
            "workspaceId": target_ws, "environmentId": target_env, "name": task["name"],
            "description": task.get("description"), "tags": task.get("tags"),
            "parameters": task.get("parameters"),
            "connections": {app: target_connections[source_connections[cid]]
                            for app, cid in (task.get("connections") or {}).items()},
            "artifact": {"id": action["targetId"], "version": wanted}})
        if run_config is not None:
            api.call("PUT", f"/orchestration/executables/tasks/{new['id']}/run-config", json=run_config)
        execution = api.call("POST", "/processing/executions", json={"executable": new["id"]})
        while True:
            time.sleep(poll_seconds)
            status = api.call("GET", f"/processing/executions/{execution['executionId']}")
            if status["status"] in FINAL:
                break
        wall = time.perf_counter() - started
    finally:
        api.close()
    return {"status": status["status"], "wall_seconds": round(wall, 3),
            "requests": dict(api.requests), "requests_total": sum(api.requests.values())}


if __name__ == "__main__":  # ``python -m benchmarks.baseline hotfix URL TOKEN TARGET ARTIFACT TASK``
    import json
    import sys

    process_started = time.perf_counter()
    _, _, url, token, target, artifact, task = sys.argv
    result = run_hotfix(url, token, target, artifact, task)
    result["process_seconds_before_first_call"] = round(time.perf_counter() - process_started, 3)
    print(json.dumps(result))
