"""Bad input gets 400 or 404 with Talend's error body, never a 500.

A table of known-bad requests (malformed JSON, wrong types, unknown ids, out-of-range paging,
unknown enum values, bad FIQL), each answer validated against the spec, then property tests that
throw random JSON bodies and query strings at a handful of routes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_contract import CheckedApi, Contract

from promoter.sandbox import Sandbox

UNKNOWN_ID = "0123456789abcdef01234567"
UNKNOWN_UUID = "00000000-0000-4000-8000-000000000000"


class Estate:
    """Ids of the module sandbox's objects that the bad requests aim at."""

    def __init__(self, http: httpx.Client) -> None:
        self.dev = http.get("/orchestration/environments", params={"query": "name==dev"}).json()[0]["id"]
        self.ws = http.get("/orchestration/workspaces", params={"query": "environment.name==dev;name==Finance"}).json()[0]["id"]
        tasks = http.get("/orchestration/executables/tasks", params={"workspaceId": self.ws, "name": "Finance daily load"}).json()
        self.task = tasks["items"][0]["executable"]
        self.task_body = http.get(f"/orchestration/executables/tasks/{self.task}").json()
        self.connection = self.task_body["connections"]["PostgreSQL"]
        self.artifact = self.task_body["artifact"]["id"]
        started = http.post("/processing/executions", json={"executable": self.task})
        self.execution = started.json()["executionId"]


@pytest.fixture(scope="module")
def estate(module_sandbox: Sandbox) -> Estate:
    with module_sandbox.http() as http:
        return Estate(http)


@pytest.fixture(scope="module")
def checked(module_sandbox: Sandbox, contract: Contract, coverage_table: Any) -> Iterator[CheckedApi]:
    with module_sandbox.http(timeout=10) as client:
        yield CheckedApi(client, contract, coverage_table)


def case(method: str, route: str, expect: int, *, path: dict[str, str] | None = None, **request: Any) -> Any:
    """One bad request; ``path`` values and string bodies may name the estate (``{task}``...)."""
    return pytest.param(method, route, expect, path or {}, request, id=f"{expect} {method} {route} {json.dumps(request, default=repr)[:60]}")


JSON = {"Content-Type": "application/json"}
TASKS = "/orchestration/executables/tasks"
LOGS = "/monitoring/executions/{id}/logs"

BAD_REQUESTS = [
    # ---- malformed JSON
    case("POST", "/orchestration/environments", 400, content=b"{", headers=JSON),
    case("POST", "/orchestration/workspaces", 400, content=b"[1, 2", headers=JSON),
    case("POST", TASKS, 400, content=b"not json at all", headers=JSON),
    case("PUT", TASKS + "/{taskId}", 400, path={"taskId": "{task}"}, content=b'{"name": ', headers=JSON),
    case("POST", "/processing/executions", 400, content=b"{'executable': 'x'}", headers=JSON),
    case("POST", "/orchestration/connections", 400, content=b"\xff\xfe", headers=JSON),
    case("POST", "/orchestration/executables/tasks/search", 400, content=b"{,}", headers=JSON),
    case("PUT", TASKS + "/{taskId}/run-config", 400, path={"taskId": "{task}"}, content=b"", headers=JSON),
    # ---- wrong types and shapes
    case("POST", "/orchestration/environments", 400, json={"name": 5, "workspaceName": ["x"]}),
    case("POST", "/orchestration/environments", 400, json=["name", "workspaceName"]),
    case("POST", "/orchestration/environments", 400, json={"name": "e", "workspaceName": "w", "maxCloudContainers": -1}),
    case("POST", "/orchestration/connections", 400, json={"name": "c", "workspaceId": "{ws}", "app": "A", "parameters": {"host": "h"}}),
    case("POST", TASKS, 400, json={"name": "t", "workspaceId": "{ws}", "environmentId": "{dev}", "artifact": "latest"}),
    case("POST", TASKS, 400, json={"name": "t", "workspaceId": "{ws}", "environmentId": "{dev}",
                                   "artifact": {"id": "{artifact}", "version": "x"}, "parameters": {"P": {"nested": 1}}}),
    case("PUT", TASKS + "/{taskId}", 400, path={"taskId": "{task}"}, json=[1, 2, 3]),
    case("PUT", TASKS + "/{taskId}", 400, path={"taskId": "{task}"}, json={"name": "n"}),
    case("PUT", TASKS + "/{taskId}/run-config", 400, path={"taskId": "{task}"},
         json={"trigger": {"type": "DAILY", "startDate": "2026-01-01", "timeZone": "UTC"}, "runtime": {}, "timeout": "soon"}),
    case("PUT", TASKS + "/{taskId}/run-config", 400, path={"taskId": "{task}"},
         json={"trigger": {"type": "DAILY", "startDate": "2026-01-01", "timeZone": "UTC"}, "runtime": {}, "timeout": 0}),
    case("PUT", TASKS + "/{taskId}/pause", 400, path={"taskId": "{task}"}, json={"pause": "maybe"}),
    case("POST", "/processing/executions", 400, json={"executable": ["{task}"]}),
    case("POST", "/processing/executions", 400, json={"executable": "{task}", "timeout": "an hour"}),
    case("POST", "/processing/executions", 400, json={"executable": "{task}", "parameters": ["P=1"]}),
    case("POST", "/processing/executables/tasks/executions", 400, json={"from": "yesterday"}),
    case("POST", "/orchestration/executables/tasks/search", 400, json={"tags": "finance"}),
    # ---- unknown ids
    case("GET", TASKS + "/{taskId}", 404, path={"taskId": UNKNOWN_ID}),
    case("GET", TASKS + "/{taskId}", 404, path={"taskId": "not an id at all"}),
    case("GET", "/orchestration/connections/{connectionId}", 404, path={"connectionId": UNKNOWN_ID}),
    case("GET", "/orchestration/artifacts/{artifactId}/versions/{version}", 404,
         path={"artifactId": "{artifact}", "version": "0.0.0"}),
    case("GET", "/processing/executions/{executionId}", 404, path={"executionId": UNKNOWN_UUID}),
    case("GET", "/processing/executions/{executionId}", 404, path={"executionId": "nope"}),
    case("GET", "/processing/executables/tasks/{taskId}/executions", 404, path={"taskId": UNKNOWN_ID}),
    case("GET", LOGS, 404, path={"id": UNKNOWN_UUID}),
    case("POST", "/processing/executions", 404, json={"executable": UNKNOWN_ID}),
    case("POST", "/orchestration/workspaces", 404, json={"name": "w", "environmentId": UNKNOWN_ID}),
    case("DELETE", "/orchestration/environments/{Id}", 404, path={"Id": UNKNOWN_ID}),
    case("POST", "/orchestration/executables/promotions/{promotionId}", 404, path={"promotionId": UNKNOWN_ID}),
    # ---- out-of-range and non-integer paging
    *[case("GET", route, 400, params=params)
      for route in (TASKS, "/orchestration/artifacts", "/orchestration/connections", "/processing/executables/tasks")
      for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "ten"}, {"offset": "1.5"})],
    case("POST", "/orchestration/executables/tasks/search", 400, json={"limit": 101}),
    case("POST", "/orchestration/executables/tasks/search", 400, json={"offset": -1}),
    case("POST", "/processing/executables/tasks/executions", 400, json={"limit": 0}),
    case("GET", "/processing/executables/tasks/executions", 400, params={"lastDays": 0}),
    case("GET", "/processing/executables/tasks/executions", 400, params={"lastDays": 61}),
    case("GET", LOGS, 400, path={"id": "{execution}"}, params={"count": 201}),
    case("GET", LOGS, 400, path={"id": "{execution}"}, params={"startIndex": -1}),
    case("GET", LOGS, 400, path={"id": "{execution}"}, params={"count": "all"}),
    case("GET", LOGS, 400, path={"id": "{execution}"}, params={"startTime": "last tuesday"}),
    # ---- unknown enum values
    case("GET", "/orchestration/artifacts", 400, params={"types": "spaceship"}),
    case("GET", "/processing/executables/tasks/{taskId}/executions", 400, path={"taskId": "{task}"}, params={"status": "done"}),
    case("GET", LOGS, 400, path={"id": "{execution}"}, params={"order": "SIDEWAYS"}),
    case("POST", "/processing/executions", 400, json={"executable": "{task}", "logLevel": "LOUD"}),
    case("PUT", TASKS + "/{taskId}/run-config", 400, path={"taskId": "{task}"},
         json={"trigger": {"type": "HOURLY", "startDate": "2026-01-01", "timeZone": "UTC"}, "runtime": {"type": "CLOUD"}}),
    case("PUT", TASKS + "/{taskId}/run-config", 400, path={"taskId": "{task}"},
         json={"trigger": {"type": "DAILY", "startDate": "2026-01-01", "timeZone": "UTC"}, "runtime": {"type": "MOON"}}),
    case("POST", "/orchestration/executables/plans", 400,
         json={"name": "p", "workspaceId": "{ws}", "steps": [{"name": "s", "condition": "SOMETIMES", "taskIds": ["{task}"]}]}),
    case("POST", "/processing/executions/promotions", 400, json={"executable": UNKNOWN_ID, "advanced": {"artifactType": "GALAXY"}}),
    # ---- bad FIQL
    case("GET", "/orchestration/environments", 400, params={"query": "name"}),
    case("GET", "/orchestration/environments", 400, params={"query": "name=~dev"}),
    case("GET", "/orchestration/environments", 400, params={"query": "==dev"}),
    case("GET", "/orchestration/workspaces", 400, params={"query": "environment.name==dev;;name==Finance"}),
    case("GET", "/orchestration/workspaces", 400, params={"query": "environment.name=dev"}),
    case("GET", "/orchestration/executables/promotions", 400, params={"_s": "name=in=(a,b)"}),
]


def _fill(value: Any, estate: Estate) -> Any:
    """Replace ``{task}``-style placeholders in strings, lists and dicts with the estate's ids."""
    if isinstance(value, str):
        return value.format_map(vars(estate)) if "{" in value and "}" in value and ":" not in value else value
    if isinstance(value, list):
        return [_fill(v, estate) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, estate) for k, v in value.items()}
    return value


@pytest.mark.parametrize(("method", "route", "expect", "path", "request_"), BAD_REQUESTS)
def test_bad_requests_get_a_4xx_with_the_error_body(
    checked: CheckedApi, estate: Estate, method: str, route: str, expect: int,
    path: dict[str, str], request_: dict[str, Any],
) -> None:
    response = checked.check(method, route, expect, path=_fill(path, estate), **_fill(request_, estate))
    body = response.json()
    assert set(body) <= {"status", "message", "detail", "requestId"} and body["message"]


def test_the_estate_is_unharmed_by_bad_requests(checked: CheckedApi, estate: Estate) -> None:
    assert checked.client.get(f"/orchestration/executables/tasks/{estate.task}").json() == estate.task_body


# ---------------------------------------------------------------------- property tests

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

#: POST/PUT routes and the members of their bodies (random values for known names go deeper).
BODY_ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("POST", "/orchestration/environments"): ("name", "workspaceName", "description", "maxCloudContainers"),
    ("POST", "/orchestration/workspaces"): ("name", "environmentId", "description", "owner"),
    ("POST", TASKS): ("name", "workspaceId", "environmentId", "artifact", "parameters", "connections", "tags"),
    ("PUT", TASKS + "/{taskId}"): ("name", "workspaceId", "description", "artifact", "parameters", "id", "version"),
    ("PUT", TASKS + "/{taskId}/run-config"): ("trigger", "runtime", "timeout", "logLevel", "parallelExecutionAllowed"),
    ("POST", "/orchestration/connections"): ("name", "workspaceId", "app", "parameters"),
    ("POST", "/orchestration/executables/tasks/search"): ("name", "limit", "offset", "tags", "environmentId"),
    ("POST", "/processing/executions"): ("executable", "parameters", "logLevel", "timeout"),
    ("POST", "/processing/executables/tasks/executions"): ("lastDays", "from", "to", "status", "limit", "offset"),
    ("POST", "/orchestration/executables/promotions"): ("sourceEnvironmentId", "targetEnvironmentId"),
}


@st.composite
def bodies(draw: st.DrawFn, fields: tuple[str, ...], estate: Estate) -> dict[str, Any]:
    """Raw bytes, any JSON, or an object of the route's members with random (or real-id) values."""
    member = JSON_VALUES | st.sampled_from([estate.ws, estate.dev, estate.task, estate.artifact])
    kind = draw(st.sampled_from(["bytes", "json", "object"]))
    if kind == "bytes":
        return {"content": draw(st.binary(max_size=40)), "headers": JSON}
    if kind == "json":
        return {"json": draw(JSON_VALUES)}
    return {"json": draw(st.fixed_dictionaries({}, optional={f: member for f in fields}))}


@pytest.mark.parametrize("operation", sorted(BODY_ROUTES), ids=[f"{m} {p}" for m, p in sorted(BODY_ROUTES)])
def test_random_bodies_never_get_a_5xx(operation: tuple[str, str], checked: CheckedApi, estate: Estate,
                                       module_sandbox: Sandbox) -> None:
    method, route = operation
    # PUTs aim at a task of their own, so that what they replace matters to no other test.
    with module_sandbox.http() as http:
        target = Estate.__new__(Estate)
        target.task = _own_task(http, estate)

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(request=bodies(BODY_ROUTES[operation], estate))
    def never_5xx(request: dict[str, Any]) -> None:
        url = route.format(taskId=target.task)
        response = checked.client.request(method, url, **request)
        assert response.status_code < 500, f"{method} {url} {request!r}: {response.status_code} {response.text}"
        checked.validate(method, route, response)

    never_5xx()


QUERY_ROUTES: dict[str, tuple[str, ...]] = {
    "/orchestration/environments": ("query",),
    "/orchestration/workspaces": ("query",),
    TASKS: ("limit", "offset", "name", "environmentId", "workspaceId", "artifactId"),
    "/orchestration/artifacts": ("limit", "offset", "types", "name", "workspaceId"),
    "/orchestration/connections": ("limit", "offset", "name", "workspaceId"),
    "/orchestration/schedules": ("limit", "offset", "onlyBound", "descriptionFilter"),
    "/processing/executables/tasks/executions": ("limit", "offset", "lastDays", "from", "to", "status"),
    LOGS: ("count", "startIndex", "order", "startTime", "endTime"),
}
QUERY_VALUES = (
    st.integers(-5, 205).map(str) | st.text(max_size=16)
    | st.sampled_from(["", "0", "100", "101", "-1", "1.5", "DESC", "ASC", "true", "name==dev", "name==*", "a;b", ",",
                       "execution_failed", "standard", "2026-01-01T00:00:00Z"])
)


@pytest.mark.parametrize("route", sorted(QUERY_ROUTES))
def test_random_query_strings_never_get_a_5xx(route: str, checked: CheckedApi, estate: Estate) -> None:
    url = route.format(id=estate.execution)

    @settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(params=st.dictionaries(st.sampled_from(QUERY_ROUTES[route]) | st.text(max_size=6), QUERY_VALUES, max_size=4))
    def never_5xx(params: dict[str, str]) -> None:
        response = checked.client.get(url, params=params)
        assert response.status_code < 500, f"GET {url} {params!r}: {response.status_code} {response.text}"
        checked.validate("GET", route, response)

    never_5xx()


def _own_task(http: httpx.Client, estate: Estate) -> str:
    body = {**{k: estate.task_body[k] for k in ("artifact", "parameters", "connections")},
            "name": f"fuzzed {uuid.uuid4().hex[:10]}", "workspaceId": estate.ws, "environmentId": estate.dev}
    body["artifact"] = {"id": body["artifact"]["id"], "version": body["artifact"]["version"]}
    response = http.post(TASKS, json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.mark.parametrize("value", ["¹", "²³", "٣"])
def test_a_digit_int_cannot_read_is_refused_not_a_5xx(value: str, checked: CheckedApi, estate: Estate) -> None:
    """``"¹".isdigit()`` is true but ``int("¹")`` fails: the time filters must say 400 (hypothesis
    found the 500); a decimal digit of another script (``"٣"``) is a number, as for ``int``."""
    response = checked.client.get(LOGS.format(id=estate.execution), params={"startTime": value})
    assert response.status_code == (200 if value.isdecimal() else 400), response.text
