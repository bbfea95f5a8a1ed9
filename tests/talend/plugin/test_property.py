"""Property: over generated estates, a promotion leaves nothing to plan, and its rollback restores
the target exactly.

Each example builds a source (dev/W) and a target (test/W) in a fresh, empty, in-memory sandbox
through its HTTP routes: artifacts with a few versions (some already in the target), connections
(each existing in the target with other values, or missing and created from a template), tasks
per artifact with random parameters (some already in the target with other values, on an older
version), optionally a plan chaining the tasks, and a random parameter policy. Then: promote, plan
again (nothing pending), ``promoter rollback`` the run, and compare raw dumps of the target.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import FAST, StageRun, dump_difference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from promoter.ledger import SQLiteLedger
from promoter.model import RunStatus
from promoter.sandbox import Sandbox

WORKSPACE = "W"
APPS = ("PostgreSQL", "SFTP")
RUN_CONFIG = {
    "trigger": {
        "type": "DAILY",
        "interval": 1,
        "startDate": "2026-01-01",
        "timeZone": "Europe/Paris",
        "atTimes": {"type": "AT_TIME", "time": "02:00"},
    },
    "runtime": {"type": "CLOUD"},
    "parallelExecutionAllowed": False,
    "logLevel": "INFO",
}
TEMPLATE = """\
name: {{ connection.name }}
app: {{ connection.app }}
parameters:
  host: {{ connection.source_name }}.{{ target.environment }}.internal
  user: {{ connection.parameters.user | default('etl') }}
  password: ${env:PROPERTY_SECRET}
"""


@dataclass
class ArtifactSpec:
    name: str
    versions: int  # published in the source, oldest first
    in_target: int  # how many of the oldest are already in the target (0: no such artifact)


@dataclass
class ConnectionSpec:
    name: str
    app: str
    in_target: bool


@dataclass
class TaskSpec:
    name: str
    artifact: int
    parameters: dict[str, str]
    connections: list[str]  # names, one per app
    target_parameters: dict[str, str] | None  # None: not in the target


@dataclass
class EstateSpec:
    workspace_in_target: bool
    policy: str
    artifacts: list[ArtifactSpec]
    connections: list[ConnectionSpec]
    tasks: list[TaskSpec]
    plan: bool
    ids: dict[str, str] = field(default_factory=dict)


values = st.text(alphabet="abcxyz019", min_size=1, max_size=4)
parameters = st.dictionaries(
    st.sampled_from(["A", "B", "C", "LOG_LEVEL", "API_TOKEN"]), values, max_size=3
)


@st.composite
def estates(draw: st.DrawFn) -> EstateSpec:
    """A small estate: up to 2 artifacts, 3 connections, 2 tasks per artifact."""
    workspace_in_target = draw(st.booleans())
    artifacts = []
    for a in range(draw(st.integers(1, 2))):
        versions = draw(st.integers(1, 3))
        in_target = draw(st.integers(0, versions)) if workspace_in_target else 0
        artifacts.append(ArtifactSpec(name=f"job_{a}", versions=versions, in_target=in_target))
    connections = [
        ConnectionSpec(
            name=f"conn_{c}",
            app=draw(st.sampled_from(APPS)),
            in_target=workspace_in_target and draw(st.booleans()),
        )
        for c in range(draw(st.integers(0, 3)))
    ]
    tasks = []
    for a, artifact in enumerate(artifacts):
        for t in range(draw(st.integers(0, 2))):
            chosen = (
                draw(st.lists(st.sampled_from(connections), unique_by=lambda c: c.app))
                if connections
                else []
            )
            in_target = artifact.in_target > 0 and draw(st.booleans())
            tasks.append(
                TaskSpec(
                    name=f"task_{a}_{t}",
                    artifact=a,
                    parameters=draw(parameters),
                    connections=[c.name for c in chosen],
                    target_parameters=draw(parameters) if in_target else None,
                )
            )
    return EstateSpec(
        workspace_in_target=workspace_in_target,
        policy=draw(st.sampled_from(["keep-target", "override", "add-new-only", "template"])),
        artifacts=artifacts,
        connections=connections,
        tasks=tasks,
        plan=bool(tasks) and draw(st.booleans()),
    )


def _post(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = http.post(path, json=body)
    assert response.status_code == 201, (path, response.text)
    created: dict[str, Any] = response.json()
    return created


def build(sandbox: Sandbox, spec: EstateSpec) -> None:
    """Create the estate through the sandbox's HTTP routes (Talend's, and /_sandbox to publish)."""
    with sandbox.http(timeout=30) as http:
        env = {
            name: _post(
                http, "/orchestration/environments", {"name": name, "workspaceName": f"{name}-c"}
            )["id"]
            for name in ("dev", "test")
        }
        ws = {
            "dev": _post(
                http, "/orchestration/workspaces", {"name": WORKSPACE, "environmentId": env["dev"]}
            )["id"]
        }
        if spec.workspace_in_target:
            ws["test"] = _post(
                http, "/orchestration/workspaces", {"name": WORKSPACE, "environmentId": env["test"]}
            )["id"]
        artifact_ids: dict[tuple[str, int], str] = {}
        for a, artifact in enumerate(spec.artifacts):
            for v in range(artifact.versions):
                for where in ("dev", "test") if v < artifact.in_target else ("dev",):
                    published = _post(
                        http,
                        "/_sandbox/artifacts",
                        {
                            "workspaceId": ws[where],
                            "name": artifact.name,
                            "version": f"1.{v}.0.2026010{v + 1}080000",
                            "parameters": [{"name": "A", "type": "string", "required": False}],
                        },
                    )
                    artifact_ids[(where, a)] = published["id"]
        connection_ids: dict[tuple[str, str], str] = {}
        for connection in spec.connections:
            for where in ("dev", "test") if connection.in_target else ("dev",):
                connection_ids[(where, connection.name)] = _post(
                    http,
                    "/orchestration/connections",
                    {
                        "name": connection.name,
                        "workspaceId": ws[where],
                        "app": connection.app,
                        "parameters": [
                            {"name": "host", "value": f"{connection.name}.{where}.example"},
                            {"name": "user", "value": f"user_{where}"},
                            {"name": "password", "value": f"pw-{where}", "encrypted": True},
                        ],
                    },
                )["id"]
        apps = {c.name: c.app for c in spec.connections}
        task_ids = []
        for task in spec.tasks:
            artifact = spec.artifacts[task.artifact]
            placements: list[tuple[str, dict[str, str], str]] = [
                (
                    "dev",
                    task.parameters,
                    f"1.{artifact.versions - 1}.0.2026010{artifact.versions}080000",
                )
            ]
            if task.target_parameters is not None:
                placements.append(("test", task.target_parameters, "1.0.0.20260101080000"))
            for where, values_, version in placements:
                created = _post(
                    http,
                    "/orchestration/executables/tasks",
                    {
                        "name": task.name,
                        "workspaceId": ws[where],
                        "environmentId": env[where],
                        "artifact": {
                            "id": artifact_ids[(where, task.artifact)],
                            "version": version,
                        },
                        "parameters": values_,
                        "connections": {
                            apps[name]: connection_ids[(where, name)]
                            for name in task.connections
                            if (where, name) in connection_ids
                        },
                        "tags": [where],
                        "description": f"{task.name} in {where}",
                    },
                )
                run_config = dict(RUN_CONFIG, logLevel="INFO" if where == "dev" else "WARN")
                response = http.put(
                    f"/orchestration/executables/tasks/{created['id']}/run-config", json=run_config
                )
                assert response.status_code == 200, response.text
                if where == "dev":
                    task_ids.append(created["id"])
        if spec.plan:
            _post(
                http,
                "/orchestration/executables/plans",
                {
                    "name": "chain",
                    "workspaceId": ws["dev"],
                    "steps": [
                        {"name": f"step {i}", "condition": "ALL_SUCCEEDED", "taskIds": [task_id]}
                        for i, task_id in enumerate(task_ids)
                    ],
                },
            )


def pipeline_document(spec: EstateSpec) -> dict[str, Any]:
    return {
        "name": "generated",
        "kind": "release",
        "source": {"environment": "dev", "workspace": WORKSPACE},
        "targets": [{"environment": "test"}],
        "artifacts": [{"name": a.name, "version": "latest"} for a in spec.artifacts],
        "connections": {"create_missing": {"template": "../templates/generated.yaml.j2"}},
        "parameters": {"policy": spec.policy},
        "apply": {"strategy": "direct", "concurrency": 4},
        "reports": {"formats": []},
    }


@contextmanager
def fresh_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[StageRun]:
    """An empty in-memory sandbox, a directory with the template, a ledger: one example's world."""
    with (
        tempfile.TemporaryDirectory() as directory,
        Sandbox.start(seed=None, settings=FAST) as sandbox,
    ):
        root = Path(directory)
        (root / "pipelines").mkdir()
        (root / "templates").mkdir()
        (root / "templates" / "generated.yaml.j2").write_text(TEMPLATE)
        monkeypatch.setenv("TALEND_API_URL", sandbox.base_url)
        monkeypatch.setenv("TALEND_ACCESS_TOKEN", sandbox.token)
        ledger = SQLiteLedger(root / "ledger.db")
        try:
            yield StageRun(sandbox=sandbox, root=root, ledger=ledger)
        finally:
            ledger.close()


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=estates())
def test_after_a_promotion_nothing_is_left_to_plan_and_rollback_restores_the_target(
    spec: EstateSpec, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PROMOTER_LEDGER", "PROMOTER_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PROPERTY_SECRET", "generated-secret")
    with fresh_run(monkeypatch) as run:
        build(run.sandbox, spec)
        pipeline = run.write_pipeline("generated.yaml", pipeline_document(spec))
        before = run.dump("test", WORKSPACE)

        outcome = run.promote(pipeline)

        if outcome.status is RunStatus.NOTHING_TO_DO:  # the target already had it all
            assert run.plan(pipeline).pending == []
            assert run.dump("test", WORKSPACE) == before
            return
        assert outcome.status is RunStatus.PROMOTED, outcome.message
        promoted = run.dump("test", WORKSPACE)
        assert promoted != before
        assert set(promoted["tasks"]) == {t.name for t in spec.tasks}
        again = run.plan(pipeline)
        assert again.pending == [], [f"{c.action.value} {c.ref}: {c.fields}" for c in again.pending]

        rolled_back = run.rollback(outcome.run_id)

        assert rolled_back.status is RunStatus.ROLLED_BACK, rolled_back.message
        assert rolled_back.exit_code == 0
        after = run.dump("test", WORKSPACE)
        assert after == before, dump_difference(before, after)
