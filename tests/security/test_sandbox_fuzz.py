"""Schemathesis against the sandbox's own OpenAPI document: every operation, with generated
paths, queries and bodies, answers without a 5xx; the sandbox keeps serving; and its state is
still consistent afterwards (every listed task can be fetched, and the artifact version,
connections and workspace it points at exist).

Hypothesis is derandomised, so a run is reproducible. The sandbox's own controls
(``PUT /_sandbox/faults`` and ``PUT /_sandbox/settings``) are left out: they change how the
sandbox answers by design (injected 503s, short-lived tokens).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from reliability.estate import fast_settings

from promoter.sandbox import Sandbox

CONTROLS = {("PUT", "/_sandbox/faults"), ("PUT", "/_sandbox/settings")}


def fuzz(sandbox: Sandbox, examples: int) -> Counter[str]:
    """Send ``examples`` generated requests per operation; the statuses seen, by class."""
    # Fetched here with a generous timeout (the first answer builds the document).
    document = httpx.get(sandbox.base_url + "/openapi.json", timeout=120).json()
    schema = schemathesis.openapi.from_dict(document)
    auth = {"Authorization": f"Bearer {sandbox.token}"}
    statuses: Counter[str] = Counter()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 60
    with httpx.Client(base_url=sandbox.base_url, timeout=30) as http:
        for operation in operations:
            if (operation.method.upper(), operation.path) in CONTROLS:
                continue

            @given(case=operation.as_strategy())
            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            def send(case: Any) -> None:
                kwargs = case.as_transport_kwargs(base_url=sandbox.base_url, headers=auth)
                kwargs.pop("base_url", None)
                response = http.request(
                    kwargs.pop("method"), kwargs.pop("url"), **_httpx_kwargs(kwargs)
                )
                statuses[f"{response.status_code // 100}xx"] += 1
                if response.status_code >= 500:
                    failures.append(
                        f"{case.method} {case.formatted_path} -> {response.status_code}: "
                        f"{response.text[:300]}"
                    )

            send()
    assert failures == [], "\n".join(failures[:20])
    return statuses


def _httpx_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    """requests-style keyword arguments from schemathesis, in httpx's names."""
    allowed = {"headers", "params", "json", "content", "data", "files"}
    out = {k: v for k, v in kwargs.items() if k in allowed and v is not None}
    if "data" in out and not isinstance(out["data"], dict):
        out["content"] = out.pop("data")
    return out


def _paged(http: httpx.Client, path: str, **params: Any) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        answer = http.get(path, params={**params, "limit": 100, "offset": offset})
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
        body = answer.json()
        yield from body["items"]
        offset += len(body["items"])
        if not body["items"] or offset >= body["total"]:
            return


def check_consistent(sandbox: Sandbox) -> int:
    """Every listed task can be fetched and points at things that exist; the number of tasks."""
    checked = 0
    with sandbox.http() as http:
        environments = http.get("/orchestration/environments")
        assert environments.status_code == 200
        for env in environments.json():
            workspaces = http.get("/orchestration/workspaces", params={"query": f"environment.id=={env['id']}"})
            assert workspaces.status_code == 200, workspaces.text
            for summary in _paged(http, "/orchestration/executables/tasks", environmentId=env["id"]):
                task = http.get(f"/orchestration/executables/tasks/{summary['executable']}")
                assert task.status_code == 200, (summary, task.text[:300])
                body = task.json()
                artifact = body["artifact"]
                version = http.get(
                    f"/orchestration/artifacts/{artifact['id']}/versions/{artifact['version']}"
                )
                assert version.status_code == 200, (body["name"], artifact, version.text[:300])
                for connection_id in (body.get("connections") or {}).values():
                    connection = http.get(f"/orchestration/connections/{connection_id}")
                    assert connection.status_code == 200, (body["name"], connection_id)
                workspace = http.get(f"/orchestration/workspaces/{body['workspace']['id']}")
                assert workspace.status_code in (200, 405), workspace.text[:300]
                checked += 1
    return checked


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(seed="demo", settings=fast_settings()) as running:
        yield running


def test_fuzzing_the_sandbox_finds_no_5xx_and_leaves_it_consistent(sandbox: Sandbox) -> None:
    started = time.monotonic()
    statuses = fuzz(sandbox, examples=3)
    assert statuses["2xx"] > 0 and statuses["4xx"] > 0
    assert check_consistent(sandbox) >= 10
    print(f"fuzzed {sum(statuses.values())} requests in {time.monotonic() - started:.1f}s: {dict(statuses)}")


@pytest.mark.soak
def test_fuzzing_the_sandbox_at_length(sandbox: Sandbox) -> None:
    statuses = fuzz(sandbox, examples=100)
    assert check_consistent(sandbox) >= 10
    print(f"fuzzed {sum(statuses.values())} requests: {dict(statuses)}")
