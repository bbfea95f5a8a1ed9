"""Conformance: every Talend route the sandbox serves answers as Talend's published specs say.

Each served route has a scenario: real HTTP requests to a running sandbox, each answer's status
asserted and its body validated with an OpenAPI 3.0 validator against the same operation's
response schema for that status (error bodies against ``ErrorResponse``). Each scenario checks at
least one success and one error. A route without a scenario fails
:func:`test_every_served_route_has_a_conformance_scenario`; the operations and statuses checked are
printed at the end of the session.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from openapi_contract import (
    ALIASES,
    KNOWN_DIVERGENCES,
    SPEC_FILES,
    CheckedApi,
    Contract,
    SpecsMissing,
    spec_dir,
)

from promoter.sandbox import Sandbox
from promoter.sandbox.routes import TALEND_ROUTERS

Scenario = Callable[[CheckedApi], None]
SCENARIOS: dict[tuple[str, str], Scenario] = {}
UNKNOWN_ID = "0123456789abcdef01234567"
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


def served_routes() -> set[tuple[str, str]]:
    """``(method, path template)`` of every Talend route the sandbox's app serves."""
    served = set()
    for router in TALEND_ROUTERS:
        for route in router.routes:
            for method in getattr(route, "methods", ()):
                served.add((method, route.path))  # type: ignore[attr-defined]
    return served


def scenario(method: str, path: str) -> Callable[[Scenario], Scenario]:
    """Register the conformance scenario of one served route."""

    def register(function: Scenario) -> Scenario:
        assert (method, path) not in SCENARIOS, f"two scenarios for {method} {path}"
        SCENARIOS[(method, path)] = function
        return function

    return register


# ---------------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def api(module_sandbox: Sandbox, contract: Contract, coverage_table: Any) -> Iterator[CheckedApi]:
    with module_sandbox.http(timeout=10) as client:
        yield CheckedApi(client, contract, coverage_table)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of a set-up request that must succeed."""
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return response.json() if response.content else None


def environment_id(api: CheckedApi, name: str = "dev") -> str:
    found = ok(api.client.get("/orchestration/environments", params={"query": f"name=={name}"}))
    return str(found[0]["id"])


def workspace_id(api: CheckedApi, env: str = "dev", name: str = "Finance") -> str:
    query = f"environment.name=={env};name=={name}"
    found = ok(api.client.get("/orchestration/workspaces", params={"query": query}))
    return str(found[0]["id"])


def task_id(api: CheckedApi, name: str, env: str = "dev") -> str:
    page = ok(api.client.get("/orchestration/executables/tasks",
                             params={"environmentId": environment_id(api, env), "name": name}))
    return str(page["items"][0]["executable"])


def new_workspace(api: CheckedApi, env: str = "dev") -> str:
    body = {"name": unique("ws"), "environmentId": environment_id(api, env)}
    return str(ok(api.client.post("/orchestration/workspaces", json=body), 201)["id"])


def publish(api: CheckedApi, ws: str, name: str | None = None, version: str = "1.0.0.20260101000000",
            behaviour: dict[str, Any] | None = None) -> dict[str, Any]:
    body = {"workspaceId": ws, "name": name or unique("job"), "version": version,
            "parameters": [{"name": "P", "value": "1", "type": "string", "required": False}],
            "behaviour": behaviour or {}}
    published: dict[str, Any] = ok(api.client.post("/_sandbox/artifacts", json=body), 201)
    return published


def new_task(api: CheckedApi, ws: str | None = None, *, run_config: bool = True,
             connections: dict[str, str] | None = None) -> dict[str, str]:
    """A fresh task (in a fresh dev workspace unless given) over a fresh artifact."""
    ws = ws or new_workspace(api)
    artifact = publish(api, ws)
    body = {"name": unique("task"), "workspaceId": ws, "environmentId": environment_id(api),
            "description": "conformance", "artifact": {"id": artifact["id"], "version": artifact["version"]},
            "parameters": {"P": "2"}, "connections": connections or {}, "tags": ["conformance"]}
    task = ok(api.client.post("/orchestration/executables/tasks", json=body), 201)
    if run_config:
        ok(api.client.put(f"/orchestration/executables/tasks/{task['id']}/run-config", json=RUN_CONFIG))
    return {"id": task["id"], "workspace": ws, "artifact": artifact["id"], "version": artifact["version"],
            "name": task["name"]}


def new_connection(api: CheckedApi, ws: str) -> dict[str, Any]:
    body = {"name": unique("conn"), "workspaceId": ws, "app": "PostgreSQL",
            "parameters": [{"name": "host", "value": "db.internal"}, {"name": "password", "value": "s", "encrypted": True}]}
    connection: dict[str, Any] = ok(api.client.post("/orchestration/connections", json=body), 201)
    return connection


def run(api: CheckedApi, task: str, **extra: Any) -> str:
    return str(ok(api.client.post("/processing/executions", json={"executable": task, **extra}), 201)["executionId"])


def wait_terminal(api: CheckedApi, execution: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = ok(api.client.get(f"/processing/executions/{execution}"))
        if body["status"] not in ("dispatching", "executing") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


RUN_CONFIG = {
    "trigger": {"type": "DAILY", "interval": 1, "startDate": "2026-01-01", "timeZone": "UTC",
                "atTimes": {"type": "AT_TIME", "time": "03:00"}},
    "runtime": {"type": "CLOUD"},
    "parallelExecutionAllowed": True,
    "logLevel": "INFO",
}


# ---------------------------------------------------------------------- the tests


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # At collection time, once the whole module (and so every scenario) is defined.
    if "operation" in metafunc.fixturenames:
        metafunc.parametrize("operation", sorted(SCENARIOS), ids=[f"{m} {p}" for m, p in sorted(SCENARIOS)])


def test_operation_conforms(operation: tuple[str, str], api: CheckedApi) -> None:
    SCENARIOS[operation](api)
    statuses = api.checked[operation]
    assert any(s < 400 for s in statuses), f"{operation}: no success answer was checked ({statuses})"
    assert any(s >= 400 for s in statuses), f"{operation}: no error answer was checked ({statuses})"


def test_operation_refuses_missing_and_wrong_tokens(
    operation: tuple[str, str], module_sandbox: Sandbox, contract: Contract, coverage_table: Any
) -> None:
    method, route = operation
    url = module_sandbox.base_url + route.format_map(_AnyId())
    body = {"audience": module_sandbox.base_url, "grant_type": "client_credentials"}
    with httpx.Client(timeout=10) as client:
        checked = CheckedApi(client, contract, coverage_table)
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic Zm9vOmJhcg=="}):
            response = client.request(method, url, headers=headers, json=body if method in ("POST", "PUT") else None)
            assert response.status_code == 401, f"{method} {route} with {headers}: {response.status_code} {response.text}"
            checked.validate(method, route, response)


class _AnyId(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return UNKNOWN_ID


def test_every_served_route_has_a_conformance_scenario() -> None:
    missing = sorted(served_routes() - set(SCENARIOS))
    assert not missing, f"served Talend routes without a conformance scenario: {missing}"
    stale = sorted(set(SCENARIOS) - served_routes())
    assert not stale, f"conformance scenarios of routes the sandbox no longer serves: {stale}"


def test_every_served_route_is_a_spec_operation_or_a_documented_alias(contract: Contract) -> None:
    for method, path in sorted(served_routes()):
        spec_method, spec_path = ALIASES.get((method, path), (method, path))
        contract.operation(spec_method, spec_path)  # raises for an operation the specs lack


def test_known_divergences_still_diverge(module_sandbox: Sandbox, contract: Contract) -> None:
    """Each tolerated divergence still happens; once fixed, remove it from KNOWN_DIVERGENCES."""
    route = "/orchestration/artifacts/{artifactId}/versions/{version}"
    with module_sandbox.http() as client:
        seeded = client.get("/orchestration/artifacts", params={"name": "finance_daily_load", "limit": 1}).json()["items"][0]
        body = client.get(route.format(artifactId=seeded["id"], version=seeded["versions"][0])).json()
    assert not contract.validate(contract.operation("GET", route), 200, body), "seeded versions conform now"
    with module_sandbox.http() as client:
        client.put("/_sandbox/settings", json={"promotionSeconds": 0.3}).raise_for_status()
        try:
            promotion = client.get("/orchestration/executables/promotions").json()[0]["executable"]
            response = client.post("/processing/executions/promotions", json={"executable": promotion})
        finally:
            client.put("/_sandbox/settings", json={"promotionSeconds": 0}).raise_for_status()
    assert response.status_code == 202
    problems = set(contract.validate(contract.operation("POST", "/processing/executions/promotions"), 202, response.json()))
    assert problems == KNOWN_DIVERGENCES[("POST", "/processing/executions/promotions")]
    assert len(KNOWN_DIVERGENCES) == 1, "a new known divergence needs its check here"


def test_the_published_specs_are_present() -> None:
    """Fails (never skips) without the specs: CI always has them."""
    try:
        contract = Contract(spec_dir())
    except SpecsMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    assert set(contract.documents) == set(SPEC_FILES)
    assert all(doc["openapi"].startswith("3.0") for doc in contract.documents.values())


# ====================================================================== security


@scenario("POST", "/security/oauth/token")
def _oauth_token(api: CheckedApi) -> None:
    sandbox_url = str(api.client.base_url)
    body = {"audience": sandbox_url, "grant_type": "client_credentials"}
    client_id, secret = "sandbox-client", "sandbox-secret"
    token = api.check("POST", "/security/oauth/token", 200, json=body, auth=(client_id, secret)).json()
    assert token["token_type"] == "Bearer" and isinstance(token["expires_in"], str)
    api.check("POST", "/security/oauth/token", 401, json=body, auth=(client_id, "wrong"))
    api.check("POST", "/security/oauth/token", 401, json=body, headers={"Authorization": ""})
    api.check("POST", "/security/oauth/token", 400, json={**body, "grant_type": "password"}, auth=(client_id, secret))
    api.check("POST", "/security/oauth/token", 400, json={"grant_type": "client_credentials"}, auth=(client_id, secret))


# ====================================================================== environments, workspaces


@scenario("GET", "/orchestration/environments")
def _list_environments(api: CheckedApi) -> None:
    everything = api.check("GET", "/orchestration/environments", 200).json()
    assert {"dev", "test", "prod"} <= {e["name"] for e in everything}
    dev = api.check("GET", "/orchestration/environments", 200, params={"query": "name==dev"}).json()
    assert [e["name"] for e in dev] == ["dev"]
    api.check("GET", "/orchestration/environments", 400, params={"query": "name=~dev"})


@scenario("POST", "/orchestration/environments")
def _create_environment(api: CheckedApi) -> None:
    name = unique("env")
    created = api.check("POST", "/orchestration/environments", 201,
                        json={"name": name, "workspaceName": "custom", "description": "d"}).json()
    assert created["name"] == name and created["default"] is False
    api.check("POST", "/orchestration/environments", 409, json={"name": name, "workspaceName": "custom"})
    api.check("POST", "/orchestration/environments", 400, json={"workspaceName": "custom"})


@scenario("PUT", "/orchestration/environments/{Id}")
def _update_environment(api: CheckedApi) -> None:
    env = ok(api.client.post("/orchestration/environments", json={"name": unique("env"), "workspaceName": "c"}), 201)
    renamed = unique("env")
    api.check("PUT", "/orchestration/environments/{Id}", 204, path={"Id": env["id"]}, json={"name": renamed})
    assert environment_id(api, renamed) == env["id"]
    api.check("PUT", "/orchestration/environments/{Id}", 409, path={"Id": env["id"]}, json={"name": "dev"})
    api.check("PUT", "/orchestration/environments/{Id}", 404, path={"Id": UNKNOWN_ID}, json={"name": unique("env")})
    api.check("PUT", "/orchestration/environments/{Id}", 400, path={"Id": env["id"]}, json={"description": 3})


@scenario("DELETE", "/orchestration/environments/{Id}")
def _delete_environment(api: CheckedApi) -> None:
    env = ok(api.client.post("/orchestration/environments", json={"name": unique("env"), "workspaceName": "c"}), 201)
    api.check("DELETE", "/orchestration/environments/{Id}", 204, path={"Id": env["id"]})
    api.check("DELETE", "/orchestration/environments/{Id}", 404, path={"Id": env["id"]})


@scenario("GET", "/orchestration/workspaces")
def _list_workspaces(api: CheckedApi) -> None:
    everything = api.check("GET", "/orchestration/workspaces", 200).json()
    assert {"shared", "custom"} <= {w["type"] for w in everything}
    found = api.check("GET", "/orchestration/workspaces", 200,
                      params={"query": "environment.name==dev;name==Finance"}).json()
    assert [(w["name"], w["environment"]["name"]) for w in found] == [("Finance", "dev")]
    api.check("GET", "/orchestration/workspaces", 400, params={"query": "name"})


@scenario("POST", "/orchestration/workspaces")
def _create_workspace(api: CheckedApi) -> None:
    name, env = unique("ws"), environment_id(api)
    created = api.check("POST", "/orchestration/workspaces", 201, json={"name": name, "environmentId": env}).json()
    assert created["type"] == "Shared" and created["environmentId"] == env
    api.check("POST", "/orchestration/workspaces", 409, json={"name": name, "environmentId": env})
    api.check("POST", "/orchestration/workspaces", 400, json={"name": name})
    api.check("POST", "/orchestration/workspaces", 404, json={"name": name, "environmentId": UNKNOWN_ID})


@scenario("PUT", "/orchestration/workspaces/{id}")
def _update_workspace(api: CheckedApi) -> None:
    ws = new_workspace(api)
    api.check("PUT", "/orchestration/workspaces/{id}", 204, path={"id": ws}, json={"name": unique("ws"), "description": "x"})
    api.check("PUT", "/orchestration/workspaces/{id}", 404, path={"id": UNKNOWN_ID}, json={"name": "x"})
    api.check("PUT", "/orchestration/workspaces/{id}", 400, path={"id": ws}, json={"name": ["not", "a", "name"]})
    api.check("PUT", "/orchestration/workspaces/{id}", 409, path={"id": ws}, json={"name": "Finance"})


@scenario("DELETE", "/orchestration/workspaces/{id}")
def _delete_workspace(api: CheckedApi) -> None:
    ws = new_workspace(api)
    api.check("DELETE", "/orchestration/workspaces/{id}", 204, path={"id": ws})
    api.check("DELETE", "/orchestration/workspaces/{id}", 404, path={"id": ws})
    busy = new_workspace(api)
    publish(api, busy)
    api.check("DELETE", "/orchestration/workspaces/{id}", 409, path={"id": busy})


# ====================================================================== artifacts


@scenario("GET", "/orchestration/artifacts")
def _list_artifacts(api: CheckedApi) -> None:
    page = api.check("GET", "/orchestration/artifacts", 200, params={"environmentId": environment_id(api)}).json()
    assert page["total"] >= 4 and page["limit"] == 100 and page["offset"] == 0
    one = api.check("GET", "/orchestration/artifacts", 200,
                    params={"name": "finance_daily_load", "types": "standard", "limit": 1}).json()
    assert len(one["items"]) == 1 and one["items"][0]["versions"][0] > one["items"][0]["versions"][-1]
    api.check("GET", "/orchestration/artifacts", 400, params={"limit": 0})
    api.check("GET", "/orchestration/artifacts", 400, params={"types": "spaceship"})


@scenario("GET", "/orchestration/artifacts/{artifactId}")
def _get_artifact(api: CheckedApi) -> None:
    artifact = publish(api, new_workspace(api))
    got = api.check("GET", "/orchestration/artifacts/{artifactId}", 200, path={"artifactId": artifact["id"]}).json()
    assert got["versions"] == [artifact["version"]]
    api.check("GET", "/orchestration/artifacts/{artifactId}", 404, path={"artifactId": UNKNOWN_ID})


@scenario("DELETE", "/orchestration/artifacts/{artifactId}")
def _delete_artifact(api: CheckedApi) -> None:
    task = new_task(api)
    api.check("DELETE", "/orchestration/artifacts/{artifactId}", 409, path={"artifactId": task["artifact"]})
    free = publish(api, task["workspace"])
    api.check("DELETE", "/orchestration/artifacts/{artifactId}", 204, path={"artifactId": free["id"]})
    api.check("DELETE", "/orchestration/artifacts/{artifactId}", 404, path={"artifactId": free["id"]})


@scenario("GET", "/orchestration/artifacts/{artifactId}/versions/{version}")
def _get_artifact_version(api: CheckedApi) -> None:
    route = "/orchestration/artifacts/{artifactId}/versions/{version}"
    artifact = publish(api, new_workspace(api))
    got = api.check("GET", route, 200, path={"artifactId": artifact["id"], "version": artifact["version"]}).json()
    assert got["parameters"][0]["name"] == "P"
    # The seed's versions carry a source repository with a commit.
    seeded = ok(api.client.get("/orchestration/artifacts", params={"name": "finance_daily_load", "limit": 1}))["items"][0]
    api.check("GET", route, 200, path={"artifactId": seeded["id"], "version": seeded["versions"][0]})
    api.check("GET", route, 404, path={"artifactId": artifact["id"], "version": "9.9.9"})
    api.check("GET", route, 404, path={"artifactId": UNKNOWN_ID, "version": artifact["version"]})


@scenario("DELETE", "/orchestration/artifacts/{artifactId}/versions/{version}")
def _delete_artifact_version(api: CheckedApi) -> None:
    route = "/orchestration/artifacts/{artifactId}/versions/{version}"
    task = new_task(api)
    newer = publish(api, task["workspace"], name=ok(api.client.get(f"/orchestration/artifacts/{task['artifact']}"))["name"],
                    version="1.1.0.20260201000000")
    api.check("DELETE", route, 409, path={"artifactId": task["artifact"], "version": task["version"]})
    api.check("DELETE", route, 204, path={"artifactId": task["artifact"], "version": newer["version"]})
    api.check("DELETE", route, 404, path={"artifactId": task["artifact"], "version": newer["version"]})


# ====================================================================== tasks


@scenario("GET", "/orchestration/executables/tasks")
def _list_tasks(api: CheckedApi) -> None:
    page = api.check("GET", "/orchestration/executables/tasks", 200, params={"environmentId": environment_id(api)}).json()
    assert page["total"] >= 4 and all("executable" in item for item in page["items"])
    api.check("GET", "/orchestration/executables/tasks", 200, params={"name": "Finance", "limit": 1, "offset": 1})
    api.check("GET", "/orchestration/executables/tasks", 400, params={"limit": 101})
    api.check("GET", "/orchestration/executables/tasks", 400, params={"offset": "first"})


@scenario("GET", "/processing/executables/tasks")
def _list_tasks_alias(api: CheckedApi) -> None:
    page = api.check("GET", "/processing/executables/tasks", 200, params={"environmentId": environment_id(api)}).json()
    assert page["total"] >= 4 and all(item["name"] and item["executable"] for item in page["items"])
    api.check("GET", "/processing/executables/tasks", 400, params={"limit": 0})


@scenario("POST", "/orchestration/executables/tasks/search")
def _search_tasks(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/search"
    page = api.check("POST", route, 200, json={"tags": ["finance", "nightly"], "environmentId": environment_id(api)}).json()
    assert [item["name"] for item in page["items"]] == ["Finance daily load"]
    api.check("POST", route, 200, json={"limit": 1, "offset": 0})
    api.check("POST", route, 400, json={"limit": "many"})
    api.check("POST", route, 400, content=b"{not json", headers={"Content-Type": "application/json"})


@scenario("POST", "/orchestration/executables/tasks")
def _create_task(api: CheckedApi) -> None:
    ws = new_workspace(api)
    artifact = publish(api, ws)
    connection = new_connection(api, ws)
    body = {"name": unique("task"), "workspaceId": ws, "environmentId": environment_id(api),
            "artifact": {"id": artifact["id"], "version": artifact["version"]},
            "parameters": {"P": 3, "FLAG": True}, "connections": {"PostgreSQL": connection["id"]}, "tags": ["a"]}
    created = api.check("POST", "/orchestration/executables/tasks", 201, json=body).json()
    assert created["parameters"] == {"P": "3", "FLAG": "true"} and created["version"] == "1"
    api.check("POST", "/orchestration/executables/tasks", 409, json=body)
    api.check("POST", "/orchestration/executables/tasks", 400, json={**body, "name": unique("t"), "artifact": {"id": UNKNOWN_ID, "version": "1"}})
    api.check("POST", "/orchestration/executables/tasks", 400, json={"name": "no workspace"})


@scenario("GET", "/orchestration/executables/tasks/{taskId}")
def _get_task(api: CheckedApi) -> None:
    task = api.check("GET", "/orchestration/executables/tasks/{taskId}", 200,
                     path={"taskId": task_id(api, "Finance daily load")}).json()
    assert task["connections"].keys() == {"PostgreSQL", "SFTP"} and task["workspace"]["name"] == "Finance"
    api.check("GET", "/orchestration/executables/tasks/{taskId}", 404, path={"taskId": UNKNOWN_ID})


@scenario("PUT", "/orchestration/executables/tasks/{taskId}")
def _replace_task(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}"
    task = new_task(api)
    body = {"name": task["name"], "workspaceId": task["workspace"], "description": "replaced",
            "artifact": {"id": task["artifact"], "version": task["version"]}}
    replaced = api.check("PUT", route, 200, path={"taskId": task["id"]}, json=body).json()
    assert replaced["description"] == "replaced" and "tags" not in replaced and "parameters" not in replaced
    api.check("PUT", route, 400, path={"taskId": task["id"]}, json={**body, "id": task["id"]})
    api.check("PUT", route, 400, path={"taskId": task["id"]}, json={**body, "version": "7"})
    api.check("PUT", route, 404, path={"taskId": UNKNOWN_ID}, json=body)


@scenario("DELETE", "/orchestration/executables/tasks/{taskId}")
def _delete_task(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}"
    task = new_task(api)
    api.check("DELETE", route, 204, path={"taskId": task["id"]})
    api.check("DELETE", route, 404, path={"taskId": task["id"]})
    # The demo's "Finance nightly" plan uses the daily load.
    api.check("DELETE", route, 409, path={"taskId": task_id(api, "Finance daily load", env="prod")})


@scenario("PUT", "/orchestration/executables/tasks/{taskId}/pause")
def _pause_task(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}/pause"
    task = new_task(api)
    api.check("PUT", route, 204, path={"taskId": task["id"]}, json={"pause": True, "pauseContext": "release"})
    paused = api.check("GET", "/orchestration/executables/tasks/{taskId}", 200, path={"taskId": task["id"]}).json()
    assert paused["taskPauseDetails"]["pause"] is True and paused["taskPauseDetails"]["pauseContext"] == "release"
    api.check("PUT", route, 204, path={"taskId": task["id"]}, json={"pause": False})
    api.check("PUT", route, 404, path={"taskId": UNKNOWN_ID}, json={"pause": True})
    api.check("PUT", route, 400, path={"taskId": task["id"]}, json={"pause": "perhaps"})


@scenario("GET", "/orchestration/executables/tasks/{taskId}/run-config")
def _get_run_config(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}/run-config"
    config = api.check("GET", route, 200, path={"taskId": task_id(api, "Leads scoring")}).json()
    assert config["runtime"]["type"] == "CLOUD" and config["parallelExecutionAllowed"] is False
    api.check("GET", route, 404, path={"taskId": new_task(api, run_config=False)["id"]})
    api.check("GET", route, 404, path={"taskId": UNKNOWN_ID})


@scenario("PUT", "/orchestration/executables/tasks/{taskId}/run-config")
def _put_run_config(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}/run-config"
    task = new_task(api, run_config=False)
    config = api.check("PUT", route, 200, path={"taskId": task["id"]}, json={**RUN_CONFIG, "timeout": 30}).json()
    assert config["timeout"] == 30
    api.check("PUT", route, 400, path={"taskId": task["id"]}, json={**RUN_CONFIG, "logLevel": "CHATTY"})
    api.check("PUT", route, 400, path={"taskId": task["id"]}, json={"runtime": {"type": "CLOUD"}})
    api.check("PUT", route, 404, path={"taskId": UNKNOWN_ID}, json=RUN_CONFIG)


@scenario("DELETE", "/orchestration/executables/tasks/{taskId}/run-config")
def _delete_run_config(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}/run-config"
    task = new_task(api)
    api.check("DELETE", route, 204, path={"taskId": task["id"]})
    api.check("DELETE", route, 404, path={"taskId": task["id"]})


@scenario("GET", "/orchestration/executables/tasks/{taskId}/schedule")
def _get_task_schedule(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}/schedule"
    schedule = api.check("GET", route, 200, path={"taskId": task_id(api, "Finance daily load")}).json()
    assert schedule["executableType"] == "TASK" and schedule["triggers"][0]["type"] == "DAILY"
    api.check("GET", route, 404, path={"taskId": task_id(api, "Leads scoring")})


def _new_schedule(api: CheckedApi, env: str = "dev") -> str:
    body = {"environmentId": environment_id(api, env), "description": unique("schedule"),
            "trigger": {"name": "t", "type": "DAILY", "interval": 1, "startDate": "2026-01-01", "timeZone": "UTC"}}
    return str(ok(api.client.post("/orchestration/schedules", json=body), 201)["id"])


@scenario("PUT", "/orchestration/executables/tasks/{taskId}/schedule")
def _bind_task_schedule(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}/schedule"
    task = new_task(api)
    response = api.check("PUT", route, 200, path={"taskId": task["id"]}, json={"scheduleId": _new_schedule(api)})
    assert not response.content
    api.check("PUT", route, 404, path={"taskId": task["id"]}, json={"scheduleId": UNKNOWN_ID})
    api.check("PUT", route, 400, path={"taskId": task["id"]}, json={"scheduleId": _new_schedule(api, "prod")})
    api.check("PUT", route, 400, path={"taskId": task["id"]}, json={})


@scenario("DELETE", "/orchestration/executables/tasks/{taskId}/schedule")
def _unbind_task_schedule(api: CheckedApi) -> None:
    route = "/orchestration/executables/tasks/{taskId}/schedule"
    task = new_task(api)
    ok(api.client.put(f"/orchestration/executables/tasks/{task['id']}/schedule", json={"scheduleId": _new_schedule(api)}))
    api.check("DELETE", route, 204, path={"taskId": task["id"]})
    api.check("DELETE", route, 404, path={"taskId": task["id"]})


# ====================================================================== plans


def _plan_body(api: CheckedApi) -> dict[str, Any]:
    ws = new_workspace(api)
    first, second = new_task(api, ws), new_task(api, ws)
    return {"name": unique("plan"), "workspaceId": ws, "steps": [
        {"name": "one", "condition": "ALL_SUCCEEDED", "taskIds": [first["id"]]},
        {"name": "two", "condition": "AT_LEAST_ONE_SUCCEEDED", "taskIds": [second["id"]]},
    ]}


@scenario("GET", "/orchestration/executables/plans")
def _list_plans(api: CheckedApi) -> None:
    page = api.check("GET", "/orchestration/executables/plans", 200, params={"environmentId": environment_id(api)}).json()
    nightly = next(p for p in page["items"] if p["name"] == "Finance nightly")
    assert nightly["chart"]["name"] == "Load" and nightly["chart"]["nextStep"]["name"] == "Ledger"
    api.check("GET", "/orchestration/executables/plans", 400, params={"limit": -3})


@scenario("POST", "/orchestration/executables/plans")
def _create_plan(api: CheckedApi) -> None:
    body = _plan_body(api)
    plan = api.check("POST", "/orchestration/executables/plans", 201, json=body).json()
    assert [s["name"] for s in plan["steps"]] == ["one", "two"]
    api.check("POST", "/orchestration/executables/plans", 409, json=body)
    api.check("POST", "/orchestration/executables/plans", 400, json={**body, "name": unique("p"), "steps": []})
    api.check("POST", "/orchestration/executables/plans", 400, json={**body, "steps": [{"name": "x", "condition": "SOMETIMES", "taskIds": []}]})


@scenario("GET", "/orchestration/executables/plans/{planId}")
def _get_plan(api: CheckedApi) -> None:
    plan = ok(api.client.post("/orchestration/executables/plans", json=_plan_body(api)), 201)
    got = api.check("GET", "/orchestration/executables/plans/{planId}", 200, path={"planId": plan["id"]}).json()
    assert got["executable"] == plan["id"] and got["chart"]["nextStep"]["name"] == "two"
    api.check("GET", "/orchestration/executables/plans/{planId}", 404, path={"planId": UNKNOWN_ID})


@scenario("PUT", "/orchestration/executables/plans/{planId}")
def _replace_plan(api: CheckedApi) -> None:
    body = _plan_body(api)
    plan = ok(api.client.post("/orchestration/executables/plans", json=body), 201)
    replaced = api.check("PUT", "/orchestration/executables/plans/{planId}", 200, path={"planId": plan["id"]},
                         json={**body, "steps": body["steps"][:1]}).json()
    assert len(replaced["steps"]) == 1
    api.check("PUT", "/orchestration/executables/plans/{planId}", 404, path={"planId": UNKNOWN_ID}, json=body)
    api.check("PUT", "/orchestration/executables/plans/{planId}", 400, path={"planId": plan["id"]},
              json={**body, "steps": [{"name": "x", "condition": "ALL_SUCCEEDED", "taskIds": [UNKNOWN_ID]}]})


@scenario("DELETE", "/orchestration/executables/plans/{planId}")
def _delete_plan(api: CheckedApi) -> None:
    plan = ok(api.client.post("/orchestration/executables/plans", json=_plan_body(api)), 201)
    api.check("DELETE", "/orchestration/executables/plans/{planId}", 204, path={"planId": plan["id"]})
    api.check("DELETE", "/orchestration/executables/plans/{planId}", 404, path={"planId": plan["id"]})


# ====================================================================== schedules


@scenario("GET", "/orchestration/schedules")
def _list_schedules(api: CheckedApi) -> None:
    page = api.check("GET", "/orchestration/schedules", 200, params={"environmentId": environment_id(api)}).json()
    assert any(s["description"] == "Nightly at 02:00" for s in page["items"])
    api.check("GET", "/orchestration/schedules", 200, params={"onlyBound": "true", "limit": 5})
    api.check("GET", "/orchestration/schedules", 400, params={"onlyBound": "maybe"})


@scenario("POST", "/orchestration/schedules")
def _create_schedule(api: CheckedApi) -> None:
    body = {"environmentId": environment_id(api), "description": "weekly",
            "trigger": {"name": "w", "type": "WEEKLY", "interval": 1, "startDate": "2026-01-01", "timeZone": "UTC",
                        "atDays": {"type": "DAY_OF_WEEK", "days": ["MONDAY"]}}}
    created = api.check("POST", "/orchestration/schedules", 201, json=body).json()
    assert set(created) == {"id"}
    api.check("POST", "/orchestration/schedules", 400, json={**body, "trigger": {"name": "w", "type": "HOURLY"}})
    api.check("POST", "/orchestration/schedules", 404, json={**body, "environmentId": UNKNOWN_ID})


@scenario("GET", "/orchestration/schedules/{scheduleId}")
def _get_schedule(api: CheckedApi) -> None:
    schedule = _new_schedule(api)
    got = api.check("GET", "/orchestration/schedules/{scheduleId}", 200, path={"scheduleId": schedule}).json()
    assert got["id"] == schedule and "executableId" not in got
    api.check("GET", "/orchestration/schedules/{scheduleId}", 404, path={"scheduleId": UNKNOWN_ID})


@scenario("DELETE", "/orchestration/schedules/{scheduleId}")
def _delete_schedule(api: CheckedApi) -> None:
    schedule = _new_schedule(api)
    task = new_task(api)
    ok(api.client.put(f"/orchestration/executables/tasks/{task['id']}/schedule", json={"scheduleId": schedule}))
    api.check("DELETE", "/orchestration/schedules/{scheduleId}", 409, path={"scheduleId": schedule})
    ok(api.client.delete(f"/orchestration/executables/tasks/{task['id']}/schedule"), 204)
    api.check("DELETE", "/orchestration/schedules/{scheduleId}", 204, path={"scheduleId": schedule})
    api.check("DELETE", "/orchestration/schedules/{scheduleId}", 404, path={"scheduleId": schedule})


# ====================================================================== connections, resources


@scenario("GET", "/orchestration/connections")
def _list_connections(api: CheckedApi) -> None:
    page = api.check("GET", "/orchestration/connections", 200, params={"workspaceId": workspace_id(api)}).json()
    assert {c["name"] for c in page["items"]} == {"finance_warehouse", "bank_feed"}
    api.check("GET", "/orchestration/connections", 400, params={"offset": -1})


@scenario("POST", "/orchestration/connections")
def _create_connection(api: CheckedApi) -> None:
    ws = new_workspace(api)
    body = {"name": unique("conn"), "workspaceId": ws, "app": "MySQL", "parameters": [{"name": "host", "value": "h"}]}
    created = api.check("POST", "/orchestration/connections", 201, json=body).json()
    assert created["workspace"]["id"] == ws
    api.check("POST", "/orchestration/connections", 409, json=body)
    api.check("POST", "/orchestration/connections", 400, json={"name": "x", "workspaceId": ws, "app": "MySQL"})


@scenario("GET", "/orchestration/connections/{connectionId}")
def _get_connection(api: CheckedApi) -> None:
    connection = new_connection(api, new_workspace(api))
    got = api.check("GET", "/orchestration/connections/{connectionId}", 200, path={"connectionId": connection["id"]}).json()
    assert got["parameters"][1] == {"name": "password", "value": "s", "encrypted": True}
    api.check("GET", "/orchestration/connections/{connectionId}", 404, path={"connectionId": UNKNOWN_ID})


@scenario("PUT", "/orchestration/connections/{connectionId}")
def _update_connection(api: CheckedApi) -> None:
    route = "/orchestration/connections/{connectionId}"
    ws = new_workspace(api)
    connection, other = new_connection(api, ws), new_connection(api, ws)
    updated = api.check("PUT", route, 200, path={"connectionId": connection["id"]},
                        json={"parameters": [{"name": "host", "value": "new.internal"}]}).json()
    assert updated["parameters"] == [{"name": "host", "value": "new.internal"}]
    api.check("PUT", route, 409, path={"connectionId": connection["id"]}, json={"name": other["name"]})
    api.check("PUT", route, 404, path={"connectionId": UNKNOWN_ID}, json={"name": "x"})
    api.check("PUT", route, 400, path={"connectionId": connection["id"]}, json={"parameters": "host=h"})


@scenario("DELETE", "/orchestration/connections/{connectionId}")
def _delete_connection(api: CheckedApi) -> None:
    route = "/orchestration/connections/{connectionId}"
    ws = new_workspace(api)
    used, free = new_connection(api, ws), new_connection(api, ws)
    new_task(api, ws, connections={"PostgreSQL": used["id"]})
    api.check("DELETE", route, 409, path={"connectionId": used["id"]})
    api.check("DELETE", route, 204, path={"connectionId": free["id"]})
    api.check("DELETE", route, 404, path={"connectionId": free["id"]})


@scenario("GET", "/orchestration/resources")
def _list_resources(api: CheckedApi) -> None:
    page = api.check("GET", "/orchestration/resources", 200, params={"workspaceId": workspace_id(api)}).json()
    assert [r["name"] for r in page["items"]] == ["bank_codes.csv"]
    api.check("GET", "/orchestration/resources", 400, params={"limit": "ten"})


@scenario("GET", "/orchestration/resources/{resourceId}")
def _get_resource(api: CheckedApi) -> None:
    listed = ok(api.client.get("/orchestration/resources", params={"workspaceId": workspace_id(api)}))["items"][0]
    got = api.check("GET", "/orchestration/resources/{resourceId}", 200, path={"resourceId": listed["id"]}).json()
    assert got["workspaceInfo"]["name"] == "Finance" and got["file"] is True
    api.check("GET", "/orchestration/resources/{resourceId}", 404, path={"resourceId": UNKNOWN_ID})


# ====================================================================== promotions


def _new_pair(api: CheckedApi) -> tuple[str, str]:
    """Two fresh environments, each with a Finance workspace; the source one holds a task."""
    ids = []
    for _ in range(2):
        env = ok(api.client.post("/orchestration/environments", json={"name": unique("env"), "workspaceName": "c"}), 201)
        ok(api.client.post("/orchestration/workspaces", json={"name": "Finance", "environmentId": env["id"]}), 201)
        ids.append(env["id"])
    found = ok(api.client.get("/orchestration/workspaces", params={"query": f"environment.id=={ids[0]};name==Finance"}))
    artifact = publish(api, found[0]["id"], name="promoted_job")
    body = {"name": "Promoted task", "workspaceId": found[0]["id"], "environmentId": ids[0],
            "artifact": {"id": artifact["id"], "version": artifact["version"]}, "parameters": {"P": "x"}}
    ok(api.client.post("/orchestration/executables/tasks", json=body), 201)
    return ids[0], ids[1]


def _new_promotion(api: CheckedApi) -> str:
    source, target = _new_pair(api)
    body = {"sourceEnvironmentId": source, "targetEnvironmentId": target}
    return str(ok(api.client.post("/orchestration/executables/promotions", json=body), 201)["executable"])


@scenario("GET", "/orchestration/executables/promotions")
def _list_promotions(api: CheckedApi) -> None:
    listed = api.check("GET", "/orchestration/executables/promotions", 200).json()
    assert {"dev to test", "test to prod"} <= {p["name"] for p in listed}
    one = api.check("GET", "/orchestration/executables/promotions", 200, params={"_s": "name==dev to test"}).json()
    assert [p["sourceEnvironment"]["name"] for p in one] == ["dev"]
    api.check("GET", "/orchestration/executables/promotions", 400, params={"_s": "name~dev"})


@scenario("POST", "/orchestration/executables/promotions")
def _create_promotion(api: CheckedApi) -> None:
    source, target = _new_pair(api)
    body = {"sourceEnvironmentId": source, "targetEnvironmentId": target}
    created = api.check("POST", "/orchestration/executables/promotions", 201, json=body).json()
    assert created["sourceEnvironment"]["id"] == source and created["targetEnvironment"]["id"] == target
    api.check("POST", "/orchestration/executables/promotions", 409, json=body)
    api.check("POST", "/orchestration/executables/promotions", 404, json={**body, "targetEnvironmentId": UNKNOWN_ID})
    api.check("POST", "/orchestration/executables/promotions", 400, json={**body, "targetEnvironmentId": source})
    api.check("POST", "/orchestration/executables/promotions", 400, json={"sourceEnvironmentId": source})


@scenario("GET", "/orchestration/executables/promotions/{promotionId}")
def _get_promotion(api: CheckedApi) -> None:
    promotion = _new_promotion(api)
    got = api.check("GET", "/orchestration/executables/promotions/{promotionId}", 200, path={"promotionId": promotion}).json()
    assert got["executable"] == promotion
    api.check("GET", "/orchestration/executables/promotions/{promotionId}", 404, path={"promotionId": UNKNOWN_ID})


@scenario("POST", "/orchestration/executables/promotions/{promotionId}")
def _analyse_promotion(api: CheckedApi) -> None:
    route = "/orchestration/executables/promotions/{promotionId}"
    promotion = _new_promotion(api)
    report = api.check("POST", route, 200, path={"promotionId": promotion}, json={"keepTargetResources": True}).json()
    assert report["status"] == "ANALIZED" and report["workspaces"]
    api.check("POST", route, 200, path={"promotionId": promotion})
    api.check("POST", route, 404, path={"promotionId": UNKNOWN_ID}, json={})
    api.check("POST", route, 400, path={"promotionId": promotion}, json={"keepTargetResources": "sometimes"})


@scenario("DELETE", "/orchestration/executables/promotions/{promotionId}")
def _delete_promotion(api: CheckedApi) -> None:
    promotion = _new_promotion(api)
    api.check("DELETE", "/orchestration/executables/promotions/{promotionId}", 204, path={"promotionId": promotion})
    api.check("DELETE", "/orchestration/executables/promotions/{promotionId}", 404, path={"promotionId": promotion})


@scenario("POST", "/processing/executions/promotions")
def _run_promotion(api: CheckedApi) -> None:
    promotion = _new_promotion(api)
    done = api.check("POST", "/processing/executions/promotions", 201, json={"executable": promotion}).json()
    assert done["executionReport"]["status"] == "PROMOTED"
    # A run that takes a while: 202, and a second run of the same pair meanwhile is refused.
    ok(api.client.put("/_sandbox/settings", json={"promotionSeconds": 0.5}))
    try:
        started = api.check("POST", "/processing/executions/promotions", 202, json={"executable": promotion}).json()
        assert set(started) == {"executionId"}
        api.check("POST", "/processing/executions/promotions", 409, json={"executable": promotion})
    finally:
        ok(api.client.put("/_sandbox/settings", json={"promotionSeconds": 0}))
    api.check("POST", "/processing/executions/promotions", 404, json={"executable": UNKNOWN_ID})
    api.check("POST", "/processing/executions/promotions", 400, json={"executable": promotion, "context": "x" * 300})
    api.check("POST", "/processing/executions/promotions", 400,
              json={"executable": promotion, "advanced": {"artifactId": UNKNOWN_ID, "artifactType": "SPACESHIP"}})


@scenario("GET", "/processing/executions/promotions/{executionId}")
def _promotion_status(api: CheckedApi) -> None:
    route = "/processing/executions/promotions/{executionId}"
    promotion = _new_promotion(api)
    done = ok(api.client.post("/processing/executions/promotions", json={"executable": promotion}), 201)
    report = api.check("GET", route, 200, path={"executionId": done["executionId"]}).json()
    assert report["status"] == "PROMOTED" and report["promotionId"] == promotion
    api.check("GET", route, 404, path={"executionId": UNKNOWN_UUID})


# ====================================================================== executions


@scenario("POST", "/processing/executions")
def _start_execution(api: CheckedApi) -> None:
    task = new_task(api)
    started = api.check("POST", "/processing/executions", 201,
                        json={"executable": task["id"], "parameters": {"P": "9"}, "logLevel": "WARN", "timeout": 5}).json()
    uuid.UUID(started["executionId"])
    api.check("POST", "/processing/executions", 404, json={"executable": UNKNOWN_ID})
    api.check("POST", "/processing/executions", 501, json={"executable": new_task(api, run_config=False)["id"]})
    ok(api.client.put(f"/orchestration/executables/tasks/{task['id']}/pause", json={"pause": True}), 204)
    api.check("POST", "/processing/executions", 405, json={"executable": task["id"]})
    api.check("POST", "/processing/executions", 400, json={"executable": task["id"], "logLevel": "LOUD"})
    api.check("POST", "/processing/executions", 400, json={"parameters": {}})


@scenario("GET", "/processing/executions/{executionId}")
def _get_execution(api: CheckedApi) -> None:
    execution = run(api, new_task(api)["id"])
    first = api.check("GET", "/processing/executions/{executionId}", 200, path={"executionId": execution}).json()
    assert first["status"] in ("dispatching", "executing")
    wait_terminal(api, execution)
    final = api.check("GET", "/processing/executions/{executionId}", 200, path={"executionId": execution}).json()
    assert final["status"] == "execution_successful" and final["executionStatus"] == "EXECUTION_SUCCESS"
    assert final["numberOfProcessedRows"] == 1000
    # Failed and rejected runs carry their error fields and misfire reason in the spec's enums.
    serial = new_task(api, run_config=False)
    ok(api.client.put(f"/orchestration/executables/tasks/{serial['id']}/run-config",
                      json={**RUN_CONFIG, "parallelExecutionAllowed": False}))
    failed = run(api, serial["id"], parameters={"SANDBOX_OUTCOME": "execution_failed"})
    rejected = run(api, serial["id"])
    wait_terminal(api, failed)
    wait_terminal(api, rejected)
    body = api.check("GET", "/processing/executions/{executionId}", 200, path={"executionId": failed}).json()
    assert body["status"] == "execution_failed" and body["errorType"] and body["errorMessage"]
    body = api.check("GET", "/processing/executions/{executionId}", 200, path={"executionId": rejected}).json()
    assert body["misfiredExecutionReason"] == "PARALLEL_EXECUTION_FORBIDDEN"
    page = api.check("GET", "/processing/executables/tasks/{taskId}/executions", 200, path={"taskId": serial["id"]}).json()
    assert [e["status"] for e in page["items"]] == ["execution_rejected", "execution_failed"]
    api.check("GET", "/processing/executions/{executionId}", 404, path={"executionId": UNKNOWN_UUID})
    # The spec documents 429 for this operation: polling too fast.
    ok(api.client.put("/_sandbox/faults", json={"burst_429_every": 1, "burst_429_length": 1, "retry_after": 1,
                                               "families": ["processing"], "methods": ["GET"]}))
    try:
        limited = api.check("GET", "/processing/executions/{executionId}", 429, path={"executionId": execution})
    finally:
        ok(api.client.put("/_sandbox/faults", json={}))
    assert limited.headers["Retry-After"] == "1"


@scenario("DELETE", "/processing/executions/{executionId}")
def _stop_execution(api: CheckedApi) -> None:
    execution = run(api, new_task(api)["id"])
    api.check("DELETE", "/processing/executions/{executionId}", 204, path={"executionId": execution})
    assert wait_terminal(api, execution)["status"] == "terminated"
    api.validate("GET", "/processing/executions/{executionId}", api.client.get(f"/processing/executions/{execution}"))
    api.check("DELETE", "/processing/executions/{executionId}", 404, path={"executionId": UNKNOWN_UUID})


@scenario("GET", "/processing/executables/tasks/{taskId}/executions")
def _task_executions(api: CheckedApi) -> None:
    route = "/processing/executables/tasks/{taskId}/executions"
    task = new_task(api)
    first, second = run(api, task["id"]), run(api, task["id"])
    page = api.check("GET", route, 200, path={"taskId": task["id"]}).json()
    assert [e["executionId"] for e in page["items"]] == [second, first] and page["total"] == 2
    wait_terminal(api, second)
    api.check("GET", route, 200, path={"taskId": task["id"]}, params={"status": "execution_successful", "lastDays": 1})
    api.check("GET", route, 404, path={"taskId": UNKNOWN_ID})
    api.check("GET", route, 400, path={"taskId": task["id"]}, params={"status": "finished"})


@scenario("GET", "/processing/executables/tasks/executions")
def _all_task_executions(api: CheckedApi) -> None:
    task = new_task(api)
    execution = run(api, task["id"])
    page = api.check("GET", "/processing/executables/tasks/executions", 200,
                     params={"workspaceId": task["workspace"], "lastDays": 60}).json()
    assert [e["executionId"] for e in page["items"]] == [execution]
    api.check("GET", "/processing/executables/tasks/executions", 400, params={"lastDays": 61})


@scenario("POST", "/processing/executables/tasks/executions")
def _search_task_executions(api: CheckedApi) -> None:
    route = "/processing/executables/tasks/executions"
    task = new_task(api)
    execution = run(api, task["id"])
    page = api.check("POST", route, 200, json={"workspaceId": task["workspace"], "tags": ["conformance"]}).json()
    assert [e["executionId"] for e in page["items"]] == [execution]
    api.check("POST", route, 400, json={"lastDays": 0})
    api.check("POST", route, 400, json={"status": "finished"})


def _logs_scenario(route: str) -> Scenario:
    def check_logs(api: CheckedApi) -> None:
        execution = run(api, new_task(api)["id"])
        wait_terminal(api, execution)
        first = api.check("GET", route, 200, path={"id": execution}, params={"count": 2, "order": "ASC"}).json()
        assert first["size"] == 2 and first["nextIndex"] == 2 and first["totalSize"] > 2
        last = api.check("GET", route, 200, path={"id": execution}, params={"count": 200, "startIndex": 2}).json()
        assert "nextIndex" not in last and last["size"] == first["totalSize"] - 2
        api.check("GET", route, 404, path={"id": UNKNOWN_UUID})
        api.check("GET", route, 400, path={"id": execution}, params={"count": 0})
        api.check("GET", route, 400, path={"id": execution}, params={"order": "SIDEWAYS"})

    return check_logs


scenario("GET", "/monitoring/executions/{id}/logs")(_logs_scenario("/monitoring/executions/{id}/logs"))
scenario("GET", "/monitoring/executions/{id}/log")(_logs_scenario("/monitoring/executions/{id}/log"))
