"""Talend's ``/orchestration`` family: environments, workspaces, artifacts, tasks (with their
run-configs and schedules), plans, schedules, connections, resources and promotion definitions.

Handlers are thin: they parse the request into :mod:`promoter.talend.models`, call the estate or
the promotions, and answer in the wire format. Handlers are plain functions, so the server runs
them in its thread pool.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response

from promoter.sandbox.errors import bad_request
from promoter.sandbox.fiql import parse as fiql
from promoter.sandbox.routes.wire import Limit, Offset, no_content, page, sandbox_of, wire
from promoter.talend import models as m

router = APIRouter(prefix="/orchestration")


# =================================================================== environments, workspaces


@router.get("/environments", response_model=list[m.EnvironmentInfo], tags=["environments"])
def list_environments(request: Request, query: str | None = None) -> Response:
    """Environments, filtered with FIQL (``name==dev``)."""
    match = fiql(query)
    return wire([e.to_wire() for e in sandbox_of(request).estate.environments() if match(e.to_wire())])


@router.post("/environments", status_code=201, response_model=m.EnvironmentInfo, tags=["environments"])
def create_environment(request: Request, body: m.EnvironmentCreateRequest) -> Response:
    """Create an environment (and its Custom workspace)."""
    return wire(sandbox_of(request).estate.create_environment(body), 201)


@router.put("/environments/{Id}", status_code=204, tags=["environments"])
def update_environment(request: Request, Id: str, body: m.EnvironmentUpdateRequest) -> Response:
    """Rename or describe an environment."""
    sandbox_of(request).estate.update_environment(Id, body)
    return no_content()


@router.delete("/environments/{Id}", status_code=204, tags=["environments"])
def delete_environment(request: Request, Id: str) -> Response:
    """Delete an environment with everything in it."""
    sandbox_of(request).estate.delete_environment(Id)
    return no_content()


@router.get("/workspaces", response_model=list[m.WorkspaceInfo], tags=["workspaces"])
def list_workspaces(request: Request, query: str | None = None) -> Response:
    """Workspaces, filtered with FIQL (``environment.name==dev;name==Finance``)."""
    match = fiql(query)
    return wire([w.to_wire() for w in sandbox_of(request).estate.workspaces() if match(w.to_wire())])


@router.post("/workspaces", status_code=201, response_model=m.Workspace, tags=["workspaces"])
def create_workspace(request: Request, body: m.WorkspaceCreateRequest) -> Response:
    """Create a shared workspace in an environment."""
    return wire(sandbox_of(request).estate.create_workspace(body), 201)


@router.put("/workspaces/{id}", status_code=204, tags=["workspaces"])
def update_workspace(request: Request, id: str, body: m.WorkspaceUpdateRequest) -> Response:
    """Rename, describe or re-own a workspace."""
    sandbox_of(request).estate.update_workspace(id, body)
    return no_content()


@router.delete("/workspaces/{id}", status_code=204, tags=["workspaces"])
def delete_workspace(request: Request, id: str) -> Response:
    """Delete an empty workspace."""
    sandbox_of(request).estate.delete_workspace(id)
    return no_content()


# =================================================================== artifacts


@router.get("/artifacts", response_model=m.Page[m.Artifact], tags=["artifacts"])
def list_artifacts(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    name: str | None = None,
    types: Annotated[list[m.ArtifactType] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Artifacts with their versions, newest first."""
    estate = sandbox_of(request).estate
    rows = estate.store.find("artifact", workspace_id=workspaceId, environment_id=environmentId)
    selected = [
        r for r in rows
        if (name is None or r["name"] == name) and (not types or r["type"] in types)
    ]
    return wire(page(selected, limit, offset, lambda r: estate.artifact_model(r["id"])))


@router.get("/artifacts/{artifactId}", response_model=m.Artifact, tags=["artifacts"])
def get_artifact(request: Request, artifactId: str) -> Response:
    """One artifact."""
    return wire(sandbox_of(request).estate.artifact_model(artifactId))


@router.delete("/artifacts/{artifactId}", status_code=204, tags=["artifacts"])
def delete_artifact(request: Request, artifactId: str) -> Response:
    """Delete an artifact and its versions (409 while tasks use it)."""
    sandbox_of(request).estate.delete_artifact(artifactId)
    return no_content()


@router.get("/artifacts/{artifactId}/versions/{version}", response_model=m.ArtifactVersion, tags=["artifacts"])
def get_artifact_version(request: Request, artifactId: str, version: str) -> Response:
    """One version of an artifact, with its parameters."""
    return wire(sandbox_of(request).estate.artifact_version_model(artifactId, version))


@router.delete("/artifacts/{artifactId}/versions/{version}", status_code=204, tags=["artifacts"])
def delete_artifact_version(request: Request, artifactId: str, version: str) -> Response:
    """Delete one version (409 while a task runs it)."""
    sandbox_of(request).estate.delete_artifact_version(artifactId, version)
    return no_content()


# =================================================================== tasks


def task_page(request: Request, filters: m.TaskSearchRequest, limit: int, offset: int) -> Response:
    """One page of the tasks matching ``filters``, as list items (also served by ``/processing``)."""
    estate = sandbox_of(request).estate
    return wire(page(estate.search_tasks(filters), limit, offset, estate.task_summary))


@router.get("/executables/tasks", response_model=m.Page[m.TaskSummary], tags=["tasks"])
def list_tasks(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    name: str | None = None,
    artifactId: str | None = None,
    runtimeType: str | None = None,
    runtimeId: str | None = None,
    runtimeRunProfileId: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Task list items (``executable`` is the id)."""
    filters = m.TaskSearchRequest(
        environment_id=environmentId, workspace_id=workspaceId, name=name, artifact_id=artifactId,
        runtime_type=runtimeType, runtime_id=runtimeId, runtime_run_profile_id=runtimeRunProfileId,
    )
    return task_page(request, filters, limit, offset)


@router.post("/executables/tasks/search", response_model=m.Page[m.TaskSummary], tags=["tasks"])
def search_tasks(request: Request, body: m.TaskSearchRequest) -> Response:
    """Tasks matching filters, including tags (all must match)."""
    limit = body.limit if body.limit else 100
    return task_page(request, body, limit, body.offset or 0)


@router.post("/executables/tasks", status_code=201, response_model=m.Task, tags=["tasks"])
def create_task(request: Request, body: m.TaskCreateRequest) -> Response:
    """Create a task."""
    return wire(sandbox_of(request).estate.create_task(body), 201)


@router.get("/executables/tasks/{taskId}", response_model=m.Task, tags=["tasks"])
def get_task(request: Request, taskId: str) -> Response:
    """One task in full."""
    return wire(sandbox_of(request).estate.task_model(taskId))


@router.put("/executables/tasks/{taskId}", response_model=m.Task, tags=["tasks"])
def replace_task(request: Request, taskId: str, body: Annotated[dict[str, Any], Body()]) -> Response:
    """Full replacement: omitted fields become null. ``id`` and ``version`` are refused."""
    refused = sorted({"id", "version"} & body.keys())
    if refused:
        raise bad_request(f"Read-only field(s) in body: {', '.join(refused)}", "Send the task without id and version.")
    update = _parse(m.TaskUpdateRequest, body)
    return wire(sandbox_of(request).estate.replace_task(taskId, update))


@router.delete("/executables/tasks/{taskId}", status_code=204, tags=["tasks"])
def delete_task(request: Request, taskId: str) -> Response:
    """Delete a task (409 while a plan uses it)."""
    sandbox_of(request).estate.delete_task(taskId)
    return no_content()


@router.put("/executables/tasks/{taskId}/pause", status_code=204, tags=["tasks"])
def pause_task(request: Request, taskId: str, body: m.TaskPauseRequest) -> Response:
    """Pause or resume a task."""
    sandbox_of(request).estate.pause_task(taskId, body)
    return no_content()


@router.get("/executables/tasks/{taskId}/run-config", response_model=m.TaskRunConfig, tags=["tasks"])
def get_run_config(request: Request, taskId: str) -> Response:
    """A task's run configuration."""
    return wire(sandbox_of(request).estate.run_config(taskId))


@router.put("/executables/tasks/{taskId}/run-config", response_model=m.TaskRunConfig, tags=["tasks"])
def put_run_config(request: Request, taskId: str, body: m.TaskRunConfig) -> Response:
    """Set a task's run configuration."""
    return wire(sandbox_of(request).estate.set_run_config(taskId, body))


@router.delete("/executables/tasks/{taskId}/run-config", status_code=204, tags=["tasks"])
def delete_run_config(request: Request, taskId: str) -> Response:
    """Remove a task's run configuration."""
    sandbox_of(request).estate.delete_run_config(taskId)
    return no_content()


@router.get("/executables/tasks/{taskId}/schedule", response_model=m.Schedule, tags=["schedules"])
def get_task_schedule(request: Request, taskId: str) -> Response:
    """The schedule a task is bound to."""
    return wire(sandbox_of(request).estate.task_schedule(taskId))


@router.put("/executables/tasks/{taskId}/schedule", tags=["schedules"])
def bind_task_schedule(request: Request, taskId: str, body: m.TaskScheduleBinding) -> Response:
    """Bind a task to a schedule."""
    sandbox_of(request).estate.bind_task_schedule(taskId, body.schedule_id)
    return Response(status_code=200)


@router.delete("/executables/tasks/{taskId}/schedule", status_code=204, tags=["schedules"])
def unbind_task_schedule(request: Request, taskId: str) -> Response:
    """Unbind a task from its schedule."""
    sandbox_of(request).estate.unbind_task_schedule(taskId)
    return no_content()


# =================================================================== plans


@router.get("/executables/plans", response_model=m.Page[m.ExecutionPlanSummary], tags=["plans"])
def list_plans(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    name: str | None = None,
    taskId: str | None = None,
    planId: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Plans with their charts."""
    estate = sandbox_of(request).estate
    plans = [
        p for p in estate.store.find("plan", workspace_id=workspaceId, environment_id=environmentId)
        if (name is None or name.lower() in p["name"].lower())
        and (planId is None or p["id"] == planId)
        and (taskId is None or any(taskId in s["taskIds"] for s in p["steps"]))
    ]
    return wire(page(plans, limit, offset, lambda p: estate.plan_summary(p["id"])))


@router.post("/executables/plans", status_code=201, response_model=m.ExecutionPlan, tags=["plans"])
def create_plan(request: Request, body: m.ExecutionPlanRequest) -> Response:
    """Create a plan chaining tasks in steps."""
    return wire(sandbox_of(request).estate.create_plan(body), 201)


@router.get("/executables/plans/{planId}", response_model=m.ExecutionPlanSummary, tags=["plans"])
def get_plan(request: Request, planId: str) -> Response:
    """One plan with its chart."""
    return wire(sandbox_of(request).estate.plan_summary(planId))


@router.put("/executables/plans/{planId}", response_model=m.ExecutionPlan, tags=["plans"])
def replace_plan(request: Request, planId: str, body: m.ExecutionPlanRequest) -> Response:
    """Full replacement of a plan."""
    return wire(sandbox_of(request).estate.replace_plan(planId, body))


@router.delete("/executables/plans/{planId}", status_code=204, tags=["plans"])
def delete_plan(request: Request, planId: str) -> Response:
    """Delete a plan."""
    sandbox_of(request).estate.delete_plan(planId)
    return no_content()


# =================================================================== schedules


@router.get("/schedules", response_model=m.Page[m.Schedule], tags=["schedules"])
def list_schedules(
    request: Request,
    environmentId: str | None = None,
    descriptionFilter: str | None = None,
    onlyBound: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Schedules of an environment."""
    estate = sandbox_of(request).estate
    schedules = [estate.schedule_model(s["id"]) for s in estate.store.find("schedule", environment_id=environmentId)]
    selected = [
        s for s in schedules
        if (descriptionFilter is None or descriptionFilter.lower() in (s.description or "").lower())
        and (not onlyBound or s.executable_id)
    ]
    return wire(page(selected, limit, offset))


@router.post("/schedules", status_code=201, response_model=m.ScheduleCreated, tags=["schedules"])
def create_schedule(request: Request, body: m.ScheduleCreateRequest) -> Response:
    """Create a schedule."""
    return wire(m.ScheduleCreated(id=sandbox_of(request).estate.create_schedule(body)), 201)


@router.get("/schedules/{scheduleId}", response_model=m.Schedule, tags=["schedules"])
def get_schedule(request: Request, scheduleId: str) -> Response:
    """One schedule."""
    return wire(sandbox_of(request).estate.schedule_model(scheduleId))


@router.delete("/schedules/{scheduleId}", status_code=204, tags=["schedules"])
def delete_schedule(request: Request, scheduleId: str) -> Response:
    """Delete a schedule (409 while bound)."""
    sandbox_of(request).estate.delete_schedule(scheduleId)
    return no_content()


# =================================================================== connections, resources


@router.get("/connections", response_model=m.Page[m.Connection], tags=["connections"])
def list_connections(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    name: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Connections with their parameters."""
    estate = sandbox_of(request).estate
    rows = estate.store.find("connection", workspace_id=workspaceId, environment_id=environmentId, name=name)
    return wire(page(rows, limit, offset, lambda c: estate.connection_model(c["id"])))


@router.post("/connections", status_code=201, response_model=m.Connection, tags=["connections"])
def create_connection(request: Request, body: m.ConnectionCreateRequest) -> Response:
    """Create a connection."""
    return wire(sandbox_of(request).estate.create_connection(body), 201)


@router.get("/connections/{connectionId}", response_model=m.Connection, tags=["connections"])
def get_connection(request: Request, connectionId: str) -> Response:
    """One connection."""
    return wire(sandbox_of(request).estate.connection_model(connectionId))


@router.put("/connections/{connectionId}", response_model=m.Connection, tags=["connections"])
def update_connection(request: Request, connectionId: str, body: m.ConnectionUpdateRequest) -> Response:
    """Rename a connection or replace its parameters."""
    return wire(sandbox_of(request).estate.update_connection(connectionId, body))


@router.delete("/connections/{connectionId}", status_code=204, tags=["connections"])
def delete_connection(request: Request, connectionId: str) -> Response:
    """Delete a connection (409 while a task uses it)."""
    sandbox_of(request).estate.delete_connection(connectionId)
    return no_content()


@router.get("/resources", response_model=m.Page[m.Resource], tags=["resources"])
def list_resources(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    name: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Resources (read only in the sandbox's public API)."""
    estate = sandbox_of(request).estate
    rows = estate.store.find("resource", workspace_id=workspaceId, environment_id=environmentId, name=name)
    return wire(page(rows, limit, offset, lambda r: estate.resource_model(r["id"])))


@router.get("/resources/{resourceId}", response_model=m.Resource, tags=["resources"])
def get_resource(request: Request, resourceId: str) -> Response:
    """One resource."""
    return wire(sandbox_of(request).estate.resource_model(resourceId))


# =================================================================== promotions


@router.get("/executables/promotions", response_model=list[m.PromotionDefinition], tags=["promotions"])
def list_promotions(request: Request, _s: str | None = None) -> Response:
    """Promotion definitions (a bare array), filtered with FIQL in ``_s``."""
    return wire([d.to_wire() for d in sandbox_of(request).promotions.list_definitions(_s)])


@router.post("/executables/promotions", status_code=201, response_model=m.PromotionDefinition, tags=["promotions"])
def create_promotion(request: Request, body: m.PromotionCreateRequest) -> Response:
    """Define the promotion of a pair of environments (one per pair)."""
    return wire(sandbox_of(request).promotions.create_definition(body), 201)


@router.get("/executables/promotions/{promotionId}", response_model=m.PromotionDefinition, tags=["promotions"])
def get_promotion(request: Request, promotionId: str) -> Response:
    """One promotion definition."""
    return wire(sandbox_of(request).promotions.get_definition(promotionId))


@router.post("/executables/promotions/{promotionId}", response_model=m.PromotionReport, tags=["promotions"])
def analyse_promotion(request: Request, promotionId: str, body: m.PromotionAnalysisRequest | None = None) -> Response:
    """The analysis (dry run) of a promotion: the report of what a run would do."""
    return wire(sandbox_of(request).promotions.analyse(promotionId, body or m.PromotionAnalysisRequest()))


@router.delete("/executables/promotions/{promotionId}", status_code=204, tags=["promotions"])
def delete_promotion(request: Request, promotionId: str) -> Response:
    """Delete a promotion definition."""
    sandbox_of(request).promotions.delete_definition(promotionId)
    return no_content()


def _parse(model: type[m.RequestModel], body: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise bad_request("Invalid request body", problems) from exc
