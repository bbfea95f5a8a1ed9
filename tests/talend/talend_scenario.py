"""A scripted sequence of 200 mixed client calls, and a fingerprint of the sandbox's state.

Run once on a clean sandbox and once under faults, the results and the final state must be the
same. Results and state are compared through :func:`normalise`, which replaces ids (random per
sandbox) and timestamps (different per run) and sorts lists (creation order varies with the
fan-out's interleaving).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from promoter.talend import models as m
from promoter.talend.client import TalendClient

_ID = re.compile(r"\b[0-9a-f]{24}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_VOLATILE_KEY = re.compile(r"(timestamp|date|time|At)$", re.IGNORECASE)

CALLS = 200
TASKS = 12
RUN_CONFIG = m.TaskRunConfig.model_validate(
    {
        "trigger": {"type": "DAILY", "interval": 1, "startDate": "2026-01-01", "timeZone": "UTC"},
        "runtime": {"type": "CLOUD"},
        "parallelExecutionAllowed": False,
    }
)

#: The effective (took effect) non-idempotent POSTs the script makes, by path.
EXPECTED_CREATES = {
    "/orchestration/connections": TASKS,
    "/orchestration/executables/tasks": TASKS,
    "/processing/executions": 2 * TASKS,
    "/orchestration/schedules": 4,
    "/orchestration/executables/plans": 2,
    "/orchestration/environments": 1,
    "/orchestration/workspaces": 1,
    "/orchestration/executables/promotions": 1,
}


def normalise(value: Any) -> Any:
    """A JSON-ready value without ids, timestamps or list order."""
    if isinstance(value, m.WireModel):
        value = value.to_wire()
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in sorted(value.items()) if not _VOLATILE_KEY.search(k)}
    if isinstance(value, list | tuple):
        items = [normalise(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, str):
        return _ID.sub("<id>", value)
    return value


class Script:
    """Counts calls and records their normalised results, in script order."""

    def __init__(self, client: TalendClient) -> None:
        self.client = client
        self.results: list[tuple[str, Any]] = []

    def call(self, label: str, fn: Callable[[], Any]) -> Any:
        value = fn()
        self.results.append((label, normalise(value)))
        return value

    def fan_out(self, label: str, fns: list[Callable[[], Any]], concurrency: int = 6) -> list[Any]:
        values = self.client.map(lambda fn: fn(), fns, concurrency=concurrency)
        self.results.extend((f"{label}[{i}]", normalise(v)) for i, v in enumerate(values))
        return values


def run_script(client: TalendClient, *, poll: float = 0.05) -> list[tuple[str, Any]]:
    """Make exactly :data:`CALLS` client calls; their normalised results in order."""
    s = Script(client)
    c = client
    # ---- reads to find our way (5)
    s.call("environments", c.environments.list)
    finance = s.call("finance", lambda: c.workspaces.get_by_name("Finance", environment_name="dev"))
    dev = s.call("dev", lambda: c.environments.get_by_name("dev"))
    summary = s.call("find base", lambda: c.tasks.find("Finance daily load", workspace_id=finance.id))
    base = s.call("base", lambda: c.tasks.get(summary.executable))
    ws_id, env_id = finance.id, dev.id

    # ---- creates (36): connections, tasks, their run configuration
    def make_connection(i: int) -> Callable[[], m.Connection]:
        request = m.ConnectionCreateRequest(
            name=f"conn_{i:02}",
            workspace_id=ws_id,
            app="PostgreSQL",
            parameters=[
                m.ConnectionParameter(name="host", value=f"db{i}.dev.internal"),
                m.ConnectionParameter(name="password", value=f"pw-{i:02}-secret", encrypted=True),
            ],
        )
        return lambda: c.connections.create(request)

    def make_task(i: int) -> Callable[[], m.Task]:
        request = m.TaskCreateRequest(
            workspace_id=ws_id,
            environment_id=env_id,
            name=f"task_{i:02}",
            description=f"task number {i}",
            parameters={"DB_SCHEMA": f"schema_{i}"},
            connections=base.connections,
            artifact=m.ArtifactRequest(id=base.artifact.id, version=base.artifact.version),
        )
        return lambda: c.tasks.create(request)

    connections = s.fan_out("create connection", [make_connection(i) for i in range(TASKS)])
    tasks = s.fan_out("create task", [make_task(i) for i in range(TASKS)])
    s.fan_out("run-config", [lambda t=t: c.tasks.put_run_config(t.id, RUN_CONFIG) for t in tasks])

    # ---- reads (28)
    s.fan_out("get task", [lambda t=t: c.tasks.get(t.id) for t in tasks])
    s.fan_out("get connection", [lambda x=x: c.connections.get(x.id) for x in connections])
    s.call("list tasks", lambda: c.tasks.list(workspace_id=ws_id).all())
    s.call("search tasks", lambda: c.tasks.search(m.TaskSearchRequest(environment_id=env_id)).all())
    artifacts = s.call("artifacts", lambda: c.artifacts.list(workspace_id=ws_id).all())
    s.call("version", lambda: c.artifacts.get_version(artifacts[0].id, artifacts[0].versions[0]))

    # ---- read-modify-write (12)
    def bump(body: m.TaskUpdateRequest) -> None:
        body.parameters = {**(body.parameters or {}), "BATCH_SIZE": "777"}

    s.fan_out("modify", [lambda t=t: c.tasks.modify(t.id, bump) for t in tasks])

    # ---- executions (73): two runs per task, one after the other; logs; history
    def two_runs(task: m.Task) -> Callable[[], Any]:
        def run() -> list[Any]:
            first = c.executions.start(m.ExecutionStartRequest(executable=task.id))
            done_first = c.executions.wait(first.execution_id, timeout=30, poll_interval=poll)
            second = c.executions.start(m.ExecutionStartRequest(executable=task.id))
            done_second = c.executions.wait(second.execution_id, timeout=30, poll_interval=poll)
            return [first, done_first, second, done_second]

        return run

    runs = client.map(lambda fn: fn(), [two_runs(t) for t in tasks], concurrency=6)
    for i, (first, done_first, second, done_second) in enumerate(runs):
        s.results.extend(
            [
                (f"start[{i}].1", normalise(first)),
                (f"wait[{i}].1", normalise(done_first)),
                (f"start[{i}].2", normalise(second)),
                (f"wait[{i}].2", normalise(done_second)),
            ]
        )
    s.fan_out("logs", [lambda r=r: [line.log_message for line in c.logs.lines(r[0].execution_id)] for r in runs])
    s.fan_out("history", [lambda t=t: [e.status for e in c.executions.list_for_task(t.id)] for t in tasks])
    s.call("search executions", lambda: [e.status for e in c.executions.search(m.TaskExecutionFilters(workspace_id=ws_id))])

    # ---- schedules and plans (13)
    def make_schedule(i: int) -> Callable[[], m.ScheduleCreated]:
        trigger = m.ScheduleTrigger(name=f"t{i}", type="DAILY", interval=1, start_date="2026-01-01", time_zone="UTC")
        request = m.ScheduleCreateRequest(environment_id=env_id, trigger=trigger, description=f"script schedule {i}")
        return lambda: c.schedules.create(request)

    schedules = s.fan_out("create schedule", [make_schedule(i) for i in range(4)])
    s.fan_out("bind", [lambda i=i: c.tasks.bind_schedule(tasks[i].id, schedules[i].id) for i in range(4)])
    s.fan_out("unbind", [lambda i=i: c.tasks.unbind_schedule(tasks[i].id) for i in range(2)])
    step = m.Step(name="all", condition="ALL_SUCCEEDED", task_ids=[t.id for t in tasks[:3]])
    plans = s.fan_out(
        "create plan",
        [lambda n=n: c.plans.create(m.ExecutionPlanRequest(name=f"plan_{n}", workspace_id=ws_id, steps=[step])) for n in range(2)],
    )
    s.call("list plans", lambda: c.plans.list(workspace_id=ws_id).all())

    # ---- promotions and a new environment (6)
    definitions = s.call("promotions", c.promotions.list)
    dev_to_test = next(d for d in definitions if d.name == "dev to test")
    s.call("analysis", lambda: c.promotions.analyze(dev_to_test.executable))
    qa = s.call("create env", lambda: c.environments.create(m.EnvironmentCreateRequest(name="qa", workspace_name="qa-custom")))
    s.call("create ws", lambda: c.workspaces.create(m.WorkspaceCreateRequest(name="Finance", environment_id=qa.id)))
    s.call("create promotion", lambda: c.promotions.create(m.PromotionCreateRequest(source_environment_id=env_id, target_environment_id=qa.id)))
    s.call("find promotion", lambda: c.promotions.find(env_id, qa.id))

    # ---- deletes (10): tasks 8-11 (unscheduled, in no plan), connections 8-11, a plan, a schedule
    s.fan_out("delete task", [lambda t=t: c.tasks.delete(t.id) for t in tasks[8:]])
    s.fan_out("delete connection", [lambda x=x: c.connections.delete(x.id) for x in connections[8:]])
    s.call("delete plan", lambda: c.plans.delete(plans[1].executable))
    s.call("delete schedule", lambda: c.schedules.delete(schedules[0].id))

    # ---- final reads (17)
    s.fan_out("schedule of", [lambda t=t: c.tasks.get_schedule(t.id) for t in tasks[:8]] + [lambda: c.tasks.get_schedule(base.id)] * 3)
    s.fan_out("find connection", [lambda i=i: c.connections.find(f"conn_{i:02}", workspace_id=ws_id) for i in (0, 3, 6, 8, 9, 11)])

    assert len(s.results) == CALLS, len(s.results)
    return s.results


def state_of(client: TalendClient) -> Any:
    """Everything the script can change, normalised (read with the client's fan-out)."""
    c = client
    state: dict[str, Any] = {"environments": c.environments.list(), "promotions": c.promotions.list()}
    workspaces = [(env, ws) for env in c.environments.list() for ws in c.workspaces.list(environment_id=env.id)]
    for env in c.environments.list():
        state[f"{env.name}/schedules"] = c.schedules.list(environment_id=env.id).all()

    def task_details(summary: m.TaskSummary) -> dict[str, Any]:
        task = c.tasks.get(summary.executable)
        return {
            "task": task,
            "run-config": c.tasks.get_run_config(task.id),
            "schedule": c.tasks.get_schedule(task.id),
            "executions": [e.status for e in c.executions.list_for_task(task.id)],
        }

    def workspace_state(pair: tuple[m.EnvironmentInfo, m.WorkspaceInfo]) -> tuple[str, Any]:
        env, ws = pair
        return f"{env.name}/{ws.name}", {
            "workspace": ws,
            "tasks": c.map(task_details, c.tasks.list(workspace_id=ws.id), concurrency=6),
            "connections": c.connections.list(workspace_id=ws.id).all(),
            "plans": c.plans.list(workspace_id=ws.id).all(),
            "artifacts": c.artifacts.list(workspace_id=ws.id).all(),
        }

    state.update(c.map(workspace_state, workspaces, concurrency=4))
    return normalise(state)
