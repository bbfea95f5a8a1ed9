"""Concurrent promotions of different workspaces to one environment share Talend's promotion
definition of the pair and its one-run-at-a-time: none of them fails on the other.

Each round starts a fresh sandbox — no dev→prod promotion definition exists yet — with one
workspace per runner in dev (an artifact and a task using a connection) and its counterpart in
prod, then starts every ``promoter promote`` process at once. They race to create the definition
(all but one are answered 409, "already exists") and to run Talend's promotion of their artifact
(one run per environment pair at a time: the others are answered 409, "already running", until
it ends). Every run must end ``promoted``.

Promotion runs take ``PROMOTION_SECONDS`` in the sandbox, so that they overlap as real ones (up to
30 minutes each) do.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from promoter.sandbox import Sandbox
from promoter.sandbox.estate import Estate
from promoter.talend import models as m
from promoter.talend.client import TalendClient
from promoter.talend.plugin.workspace import TalendWorkspace

from .estate import Workbench, fast_settings

PROMOTION_SECONDS = 0.3
WORKSPACES = ("Finance", "Marketing", "Sales", "Operations", "Risk", "Treasury", "Payroll", "Audit")


def add_workspace(estate: Estate, name: str) -> None:
    """``name`` in dev (connection ``warehouse``, artifact ``job_<name>``, task ``load_<name>``)
    and in prod (the connection only)."""
    envs = {e.name: e.id for e in estate.environments()}
    workspaces: dict[str, str] = {}
    connections: dict[str, str] = {}
    for env in ("dev", "prod"):
        workspace = estate.create_workspace(
            m.WorkspaceCreateRequest(name=name, environment_id=envs[env], description=f"{name} team")
        )
        workspaces[env] = workspace.id
        connections[env] = estate.create_connection(
            m.ConnectionCreateRequest(
                name="warehouse",
                workspace_id=workspace.id,
                app="PostgreSQL",
                parameters=[
                    m.ConnectionParameter(name="host", value=f"{name.lower()}-db.{env}.internal"),
                    m.ConnectionParameter(name="password", value=f"{env}-password", encrypted=True),
                ],
            )
        ).id
    artifact = estate.publish(
        workspace_id=workspaces["dev"],
        name=f"job_{name.lower()}",
        version="1.0.0.20260901080000",
        parameters=[{"name": "DB_SCHEMA", "type": "string", "required": True}],
    )
    task = estate.create_task(
        m.TaskCreateRequest(
            workspace_id=workspaces["dev"],
            environment_id=envs["dev"],
            name=f"load_{name.lower()}",
            description=f"Loads {name}",
            tags=[name.lower()],
            parameters={"DB_SCHEMA": name.lower()},
            connections={"PostgreSQL": connections["dev"]},
            artifact=m.ArtifactRequest(id=artifact.id, version="1.0.0.20260901080000"),
        )
    )
    estate.set_run_config(
        task.id,
        m.TaskRunConfig(
            trigger=m.Trigger(
                type="DAILY",
                interval=1,
                start_date="2026-01-01",
                time_zone="Europe/Paris",
                at_times=m.TimeSchedule(type="AT_TIME", time="02:00"),
            ),
            runtime=m.Runtime(type="CLOUD"),
            parallel_execution_allowed=False,
            log_level="INFO",
        ),
    )


def pipeline(workspace: str) -> str:
    return "\n".join(
        [
            f"name: release-{workspace.lower()}",
            f"source: {{environment: dev, workspace: {workspace}}}",
            "targets:",
            "  - environment: prod",
            "artifacts:",
            f"  - {{name: job_{workspace.lower()}, version: latest}}",
            "apply: {strategy: direct}",
            "reports: {formats: []}",
            "",
        ]
    )


def race(directory: Path, runners: int) -> None:
    """One round: ``runners`` promotions dev→prod of as many workspaces, started at once."""
    names = WORKSPACES[:runners]
    with Sandbox.start(
        seed="empty", settings=fast_settings(promotion_seconds=PROMOTION_SECONDS)
    ) as sandbox:
        estate = sandbox.state.estate
        for env in ("dev", "prod"):
            estate.create_environment(m.EnvironmentCreateRequest(name=env, workspace_name=f"{env}-custom"))
        for name in names:
            add_workspace(estate, name)
        bench = Workbench(sandbox, directory)
        for name in names:
            bench.write(f"{name}.yaml", pipeline(name))
        started = time.monotonic()
        processes = {
            name: bench.popen("promote", f"{name}.yaml", "--target", "prod", "--yes", "--output", "json")
            for name in names
        }
        outcomes = {}
        for name, process in processes.items():
            out, err = process.communicate(timeout=600)
            assert process.returncode == 0, f"{name}: exit {process.returncode}\n{err[-3000:]}"
            outcomes[name] = json.loads(out)
        assert {n: o["status"] for n, o in outcomes.items()} == {n: "promoted" for n in names}

        log = sandbox.requests()
        runs = [e for e in log if e["path"] == "/processing/executions/promotions"]
        creates = [e for e in log if e["method"] == "POST" and e["path"] == "/orchestration/executables/promotions"]
        print(
            f"\n{runners} runners: definition creates {[e['status'] for e in creates]}, "
            f"runs {[e['status'] for e in runs]}, all ended in {time.monotonic() - started:.1f}s"
        )
        with TalendClient(sandbox.base_url, token=sandbox.token) as client:
            envs = {e.name: e.id for e in client.environments.list()}
            definitions = client.promotions.list()
            for name in names:
                prod = TalendWorkspace(client, "prod", name)
                assert f"job_{name.lower()}" in prod.artifacts, name
                assert f"load_{name.lower()}" in prod.tasks, name
    # One definition for the pair, whoever created it; every artifact promoted exactly once.
    pairs = [(d.source_environment.id, d.target_environment.id) for d in definitions if d.source_environment and d.target_environment]
    assert pairs == [(envs["dev"], envs["prod"])]
    assert sum(1 for e in runs if e["status"] in (201, 202)) == runners


@pytest.mark.parametrize("round_", range(5))
def test_four_promotions_of_different_workspaces_to_one_environment(tmp_path: Path, round_: int) -> None:
    race(tmp_path, runners=4)


@pytest.mark.soak
def test_ten_rounds_of_eight_promotions_to_one_environment(tmp_path: Path) -> None:
    for round_ in range(10):
        directory = tmp_path / f"round-{round_}"
        directory.mkdir()
        race(directory, runners=8)
