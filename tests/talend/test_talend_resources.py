"""Every resource method of the client, against the running sandbox (demo estate)."""

from __future__ import annotations

import pytest

from promoter.sandbox import Sandbox
from promoter.talend import models as m
from promoter.talend.client import TalendClient
from promoter.talend.errors import (
    BadRequest,
    Conflict,
    MethodNotAllowed,
    NotFound,
    NotImplementedByServer,
)
from promoter.talend.paging import Paginator

DAILY = m.TaskRunConfig.model_validate(
    {
        "trigger": {"type": "DAILY", "interval": 1, "startDate": "2026-01-01", "timeZone": "UTC"},
        "runtime": {"type": "CLOUD"},
        "parallelExecutionAllowed": False,
    }
)


def _finance(client: TalendClient, env: str = "dev") -> m.WorkspaceInfo:
    workspace = client.workspaces.get_by_name("Finance", environment_name=env)
    assert workspace is not None and workspace.id
    return workspace


def _publish(sandbox: Sandbox, workspace_id: str, name: str, version: str) -> None:
    """Publish an artifact version, as Studio would (the public API has no upload)."""
    with sandbox.http() as http:
        answer = http.post(
            "/_sandbox/artifacts", json={"workspaceId": workspace_id, "name": name, "version": version}
        )
        answer.raise_for_status()


def test_environments(client: TalendClient) -> None:
    names = [e.name for e in client.environments.list()]
    assert names == ["dev", "test", "prod"]
    dev = client.environments.get_by_name("dev")
    assert dev is not None and client.environments.get(dev.id) == dev
    assert client.environments.list("name==prod")[0].name == "prod"
    assert client.environments.get_by_name("nowhere") is None
    with pytest.raises(NotFound):
        client.environments.get("0" * 24)
    with pytest.raises(BadRequest):
        client.environments.list("not fiql")

    qa = client.environments.create(m.EnvironmentCreateRequest(name="qa", workspace_name="qa-custom"))
    assert qa.name == "qa" and client.environments.get_by_name("qa") == qa
    with pytest.raises(Conflict):
        client.environments.create(m.EnvironmentCreateRequest(name="qa", workspace_name="again"))
    client.environments.update(qa.id, m.EnvironmentUpdateRequest(name="qa2", description="renamed"))
    renamed = client.environments.get(qa.id)
    assert (renamed.name, renamed.description) == ("qa2", "renamed")
    client.environments.delete(qa.id)
    assert client.environments.get_by_name("qa2") is None


def test_workspaces(client: TalendClient) -> None:
    dev = client.environments.get_by_name("dev")
    assert dev is not None
    in_dev = client.workspaces.list(environment_id=dev.id)
    assert {w.name for w in in_dev} == {"dev-custom", "Finance", "Marketing"}
    assert {w.name for w in client.workspaces.list("name==Finance")} == {"Finance"}
    assert len(client.workspaces.list(name="Finance")) == 3  # one per environment
    finance = client.workspaces.get_by_name("Finance", environment_id=dev.id)
    assert finance is not None and finance.environment is not None and finance.environment.name == "dev"
    assert client.workspaces.get_by_name("Finance", environment_name="nowhere") is None

    created = client.workspaces.create(m.WorkspaceCreateRequest(name="Sales", environment_id=dev.id))
    # The create answers the long form; the client returns the list form, environment included.
    assert created == client.workspaces.get_by_name("Sales", environment_id=dev.id)
    assert created.environment is not None and created.environment.id == dev.id
    with pytest.raises(Conflict):
        client.workspaces.create(m.WorkspaceCreateRequest(name="Sales", environment_id=dev.id))
    client.workspaces.update(created.id or "", m.WorkspaceUpdateRequest(name="Sales EMEA"))
    assert client.workspaces.get_by_name("Sales EMEA", environment_id=dev.id) is not None
    client.workspaces.delete(created.id or "")
    assert client.workspaces.get_by_name("Sales EMEA", environment_id=dev.id) is None
    with pytest.raises(Conflict):  # not empty
        client.workspaces.delete(finance.id or "")


def test_artifacts(talend_sandbox: Sandbox, client: TalendClient) -> None:
    finance = _finance(client)
    artifacts = client.artifacts.list(workspace_id=finance.id)
    assert isinstance(artifacts, Paginator)
    by_name = {a.name: a for a in artifacts}
    assert set(by_name) == {"finance_daily_load", "finance_ledger_sync"}
    daily = by_name["finance_daily_load"]
    assert client.artifacts.get(daily.id) == daily
    assert daily.versions == sorted(daily.versions, reverse=True)  # newest first
    version = client.artifacts.get_version(daily.id, daily.versions[0])
    assert version.version == daily.versions[0] and {p.name for p in version.parameters} >= {"DB_SCHEMA"}
    assert client.artifacts.list(name="finance_daily_load", types=[m.ArtifactType.STANDARD]).first() == daily
    assert client.artifacts.list(workspace_id=finance.id, types=["route"]).all() == []

    _publish(talend_sandbox, finance.id or "", "scratch_job", "0.1.0.20261101000000")
    _publish(talend_sandbox, finance.id or "", "scratch_job", "0.2.0.20261102000000")
    scratch = client.artifacts.list(workspace_id=finance.id, name="scratch_job").first()
    assert scratch is not None and scratch.versions == ["0.2.0.20261102000000", "0.1.0.20261101000000"]
    client.artifacts.delete_version(scratch.id, "0.1.0.20261101000000")
    assert client.artifacts.get(scratch.id).versions == ["0.2.0.20261102000000"]
    client.artifacts.delete(scratch.id)
    with pytest.raises(NotFound):
        client.artifacts.get(scratch.id)
    with pytest.raises(Conflict):  # used by a task
        client.artifacts.delete(daily.id)


def test_tasks(client: TalendClient) -> None:
    finance = _finance(client)
    dev = client.environments.get_by_name("dev")
    assert dev is not None
    summaries = client.tasks.list(workspace_id=finance.id).all()
    assert {t.name for t in summaries} == {"Finance daily load", "Finance ledger sync"}
    assert client.tasks.list(environment_id=dev.id, limit=1).all() == client.tasks.list(environment_id=dev.id).all()
    assert {t.name for t in client.tasks.search(m.TaskSearchRequest(environment_id=dev.id))} == {
        "Finance daily load",
        "Finance ledger sync",
        "Campaign export",
        "Leads scoring",
    }
    found = client.tasks.find("Finance daily load", workspace_id=finance.id or "")
    assert found is not None and client.tasks.find("nope", workspace_id=finance.id or "") is None
    daily = client.tasks.get(found.executable)
    assert daily.name == "Finance daily load" and daily.parameters and daily.connections

    created = client.tasks.create(
        m.TaskCreateRequest(
            workspace_id=finance.id or "",
            environment_id=dev.id,
            name="Finance replay",
            description="replays a day",
            parameters={"DB_SCHEMA": "finance_replay"},
            connections=daily.connections,
            artifact=m.ArtifactRequest(id=daily.artifact.id, version=daily.artifact.version),
        )
    )
    assert created.name == "Finance replay" and created.parameters == {"DB_SCHEMA": "finance_replay"}
    assert client.tasks.get(created.id) == created

    # Full replacement: what is not sent becomes null.
    replaced = client.tasks.replace(
        created.id,
        m.TaskUpdateRequest(
            workspace_id=finance.id or "",
            name="Finance replay",
            description="",
            artifact=m.ArtifactRequest(id=daily.artifact.id, version=daily.artifact.version),
        ),
    )
    assert not replaced.parameters and not replaced.connections

    # Read-modify-write keeps everything it does not change.
    def bump(body: m.TaskUpdateRequest) -> None:
        body.parameters = {**(body.parameters or {}), "BATCH_SIZE": "900"}

    modified = client.tasks.modify(daily.id, bump)
    assert modified.parameters == {**(daily.parameters or {}), "BATCH_SIZE": "900"}
    assert modified.connections == daily.connections and modified.tags == daily.tags

    # Run configuration.
    assert client.tasks.get_run_config(created.id) is None
    assert client.tasks.put_run_config(created.id, DAILY).trigger.type == "DAILY"
    assert client.tasks.get_run_config(created.id) == client.tasks.put_run_config(created.id, DAILY)
    # An upgrade keeps the run configuration (restored if the server reset it).
    older = client.artifacts.get(daily.artifact.id).versions[-1]

    def downgrade(body: m.TaskUpdateRequest) -> m.TaskUpdateRequest:
        return body.model_copy(update={"artifact": m.ArtifactRequest(id=daily.artifact.id, version=older)})

    before = client.tasks.get_run_config(daily.id)
    assert client.tasks.modify(daily.id, downgrade).artifact.version == older
    assert client.tasks.get_run_config(daily.id) == before
    client.tasks.delete_run_config(created.id)
    assert client.tasks.get_run_config(created.id) is None

    # Schedule binding.
    schedule = client.tasks.get_schedule(daily.id)
    assert schedule is not None and schedule.executable_id == daily.id
    assert client.tasks.get_schedule(created.id) is None
    client.tasks.unbind_schedule(daily.id)
    assert client.tasks.get_schedule(daily.id) is None
    client.tasks.bind_schedule(created.id, schedule.id)
    bound = client.tasks.get_schedule(created.id)
    assert bound is not None and bound.id == schedule.id

    # Pause, resume, delete.
    client.tasks.pause(created.id, context="maintenance")
    paused = client.tasks.get(created.id).task_pause_details
    assert paused is not None and paused.pause
    client.tasks.pause(created.id, False)
    client.tasks.unbind_schedule(created.id)
    client.tasks.delete(created.id)
    with pytest.raises(NotFound):
        client.tasks.get(created.id)


def test_plans_and_schedules(client: TalendClient) -> None:
    finance = _finance(client)
    dev = client.environments.get_by_name("dev")
    assert dev is not None
    plans = client.plans.list(workspace_id=finance.id).all()
    assert [p.name for p in plans] == ["Finance nightly"]
    assert client.plans.get(plans[0].executable).name == "Finance nightly"
    assert client.plans.find("Finance nightly", workspace_id=finance.id or "") is not None
    tasks = [t.executable for t in client.tasks.list(workspace_id=finance.id)]
    step = m.Step(name="all", condition="ALL_SUCCEEDED", task_ids=tasks)
    created = client.plans.create(m.ExecutionPlanRequest(name="Finance replay plan", workspace_id=finance.id or "", steps=[step]))
    assert created.name == "Finance replay plan"
    assert client.plans.find("Finance replay plan", workspace_id=finance.id or "") == client.plans.list(
        workspace_id=finance.id, name="Finance replay plan"
    ).first()
    replaced = client.plans.replace(
        created.executable,
        m.ExecutionPlanRequest(name="Finance replay plan", workspace_id=finance.id or "", steps=[step.model_copy(update={"task_ids": tasks[:1]})]),
    )
    assert replaced.steps[0].task_ids == tasks[:1]
    client.plans.delete(created.executable)
    with pytest.raises(NotFound):
        client.plans.get(created.executable)

    schedules = client.schedules.list(environment_id=dev.id).all()
    assert len(schedules) == 1 and client.schedules.get(schedules[0].id) == schedules[0]
    trigger = m.ScheduleTrigger(name="hourly", type="DAILY", interval=1, start_date="2026-01-01", time_zone="UTC")
    made = client.schedules.create(m.ScheduleCreateRequest(environment_id=dev.id, trigger=trigger, description="replay hourly"))
    assert client.schedules.get(made.id).description == "replay hourly"
    assert [s.id for s in client.schedules.list(environment_id=dev.id, description_filter="replay")] == [made.id]
    assert [s.id for s in client.schedules.list(environment_id=dev.id, only_bound=True)] == [schedules[0].id]
    client.schedules.delete(made.id)
    with pytest.raises(NotFound):
        client.schedules.get(made.id)
    with pytest.raises(Conflict):  # bound to a task
        client.schedules.delete(schedules[0].id)


def test_connections(client: TalendClient) -> None:
    finance = _finance(client)
    connections = client.connections.list(workspace_id=finance.id).all()
    assert {c.name for c in connections} == {"finance_warehouse", "bank_feed"}
    warehouse = client.connections.find("finance_warehouse", workspace_id=finance.id or "")
    assert warehouse is not None and client.connections.get(warehouse.id) == warehouse
    assert client.connections.list(name="finance_warehouse").all().__len__() == 3

    created = client.connections.create(
        m.ConnectionCreateRequest(
            name="replay_store",
            workspace_id=finance.id or "",
            app="PostgreSQL",
            parameters=[m.ConnectionParameter(name="host", value="replay.dev.internal")],
        )
    )
    assert created.name == "replay_store" and created.parameters[0].value == "replay.dev.internal"
    with pytest.raises(Conflict):
        client.connections.create(
            m.ConnectionCreateRequest(name="replay_store", workspace_id=finance.id or "", app="PostgreSQL", parameters=[])
        )
    updated = client.connections.update(
        created.id,
        m.ConnectionUpdateRequest(parameters=[m.ConnectionParameter(name="host", value="replay2.dev.internal")]),
    )
    assert updated.parameters[0].value == "replay2.dev.internal"
    client.connections.delete(created.id)
    with pytest.raises(NotFound):
        client.connections.get(created.id)
    with pytest.raises(Conflict):  # used by a task
        client.connections.delete(warehouse.id)


def test_promotions(client: TalendClient) -> None:
    definitions = client.promotions.list()
    assert {d.name for d in definitions} == {"dev to test", "test to prod"}
    envs = {e.name: e.id for e in client.environments.list()}
    dev_to_test = client.promotions.find(envs["dev"], envs["test"])
    assert dev_to_test is not None and client.promotions.get(dev_to_test.executable) == dev_to_test
    assert client.promotions.find(envs["dev"], envs["prod"]) is None

    analysis = client.promotions.analyze(dev_to_test.executable)
    assert analysis.status == m.PromotionReportStatus.ANALIZED and analysis.workspaces
    finance_ws = next(w for w in analysis.workspaces if w.name == "Finance")
    assert finance_ws.flows

    report = client.promotions.promote(
        m.PromotionRunRequest(executable=dev_to_test.executable, context="test"), poll_interval=0.05
    )
    assert report.status in (m.PromotionReportStatus.PROMOTED, m.PromotionReportStatus.PROMOTION_WARNING)
    assert client.promotions.get_report(report.execution_id).status == report.status

    made = client.promotions.create(m.PromotionCreateRequest(source_environment_id=envs["dev"], target_environment_id=envs["prod"]))
    assert client.promotions.find(envs["dev"], envs["prod"]) == made
    with pytest.raises(Conflict):
        client.promotions.create(m.PromotionCreateRequest(source_environment_id=envs["dev"], target_environment_id=envs["prod"]))
    client.promotions.delete(made.executable)
    assert client.promotions.find(envs["dev"], envs["prod"]) is None


def test_promotion_run_that_is_not_done_at_once(talend_sandbox: Sandbox, client: TalendClient) -> None:
    talend_sandbox.state.apply_settings({"promotion_seconds": 0.3})
    test_to_prod = next(d for d in client.promotions.list() if d.name == "test to prod")
    execution = client.promotions.run(m.PromotionRunRequest(executable=test_to_prod.executable))
    assert execution.execution_id and execution.execution_report is None  # 202
    assert client.promotions.get_report(execution.execution_id).status == m.PromotionReportStatus.PROMOTION_STARTED
    with pytest.raises(Conflict):  # one run per pair at a time
        client.promotions.run(m.PromotionRunRequest(executable=test_to_prod.executable))
    final = client.promotions.wait_for_report(execution.execution_id, timeout=10, poll_interval=0.05)
    assert final.status not in (None, m.PromotionReportStatus.PROMOTION_STARTED)


def test_executions_and_logs(client: TalendClient) -> None:
    finance = _finance(client)
    daily = client.tasks.find("Finance daily load", workspace_id=finance.id or "")
    assert daily is not None
    started = client.executions.start(m.ExecutionStartRequest(executable=daily.executable))
    running = client.executions.get(started.execution_id)
    assert running.execution_id == started.execution_id and running.job_id
    done = client.executions.wait(started.execution_id, timeout=10, poll_interval=0.05)
    assert done.status == m.ExecutionStatus.EXECUTION_SUCCESSFUL and done.finish_timestamp

    failed = client.executions.run(
        m.ExecutionStartRequest(executable=daily.executable, parameters={"SANDBOX_OUTCOME": "execution_failed"}),
        timeout=10,
        poll_interval=0.05,
    )
    assert failed.status == m.ExecutionStatus.EXECUTION_FAILED

    long = client.executions.start(
        m.ExecutionStartRequest(executable=daily.executable, parameters={"SANDBOX_OUTCOME": "execution_successful"})
    )
    client.executions.stop(long.execution_id)
    stopped = client.executions.wait(long.execution_id, timeout=10, poll_interval=0.05)
    assert stopped.status == m.ExecutionStatus.TERMINATED

    history = client.executions.list_for_task(daily.executable).all()
    assert {e.execution_id for e in history} == {started.execution_id, failed.execution_id, long.execution_id}
    assert [e.execution_id for e in client.executions.list_for_task(daily.executable, status="execution_failed")] == [
        failed.execution_id
    ]
    searched = client.executions.search(m.TaskExecutionFilters(workspace_id=finance.id, status=m.ExecutionStatus.EXECUTION_SUCCESSFUL))
    assert [e.execution_id for e in searched] == [started.execution_id]

    # Logs: every line, whatever the page size, following nextIndex.
    lines = list(client.logs.lines(started.execution_id))
    assert len(lines) >= 6 and lines[0].log_message and "dispatched" in lines[0].log_message
    assert [line.log_message for line in client.logs.lines(started.execution_id, count=2)] == [
        line.log_message for line in lines
    ]
    pages = list(client.logs.pages(started.execution_id, count=3))
    assert len(pages) == -(-len(lines) // 3) and pages[-1].next_index is None
    newest_first = client.logs.page(started.execution_id, order="DESC", count=1)
    assert newest_first.data[0].log_message == lines[-1].log_message
    with pytest.raises(ValueError):
        client.logs.page(started.execution_id, count=201)
    with pytest.raises(NotFound):
        client.executions.get("00000000-0000-0000-0000-000000000000")


def test_documented_refusals(client: TalendClient) -> None:
    finance = _finance(client)
    daily = client.tasks.find("Finance daily load", workspace_id=finance.id or "")
    assert daily is not None
    client.tasks.pause(daily.executable)
    with pytest.raises(MethodNotAllowed) as paused:
        client.executions.start(m.ExecutionStartRequest(executable=daily.executable))
    assert "resume" in str(paused.value)
    client.tasks.pause(daily.executable, False)
    client.tasks.delete_run_config(daily.executable)
    with pytest.raises(NotImplementedByServer) as unconfigured:
        client.executions.start(m.ExecutionStartRequest(executable=daily.executable))
    assert unconfigured.value.status == 501 and "put_run_config" in str(unconfigured.value)
    assert unconfigured.value.request_id  # Talend's requestId, for support
    # Refusals are not retried.
    assert client.metrics.snapshot()["retries_total"] == 0
