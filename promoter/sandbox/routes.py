"""Talend Cloud's routes as the sandbox serves them, and the sandbox-only admin routes.

Handlers are thin: they parse the request into :mod:`promoter.talend.models`, call the estate,
the executions or the promotions, and answer in the wire format. Handlers are plain functions,
so the server runs them in its thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, FastAPI, Header, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from promoter.sandbox.errors import ApiError, bad_request
from promoter.sandbox.faults import FaultConfig
from promoter.sandbox.fiql import parse as fiql
from promoter.talend import models as m

Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1 to 100.")]
Offset = Annotated[int, Query(ge=0, description="Index of the first item.")]

orchestration = APIRouter(prefix="/orchestration")
processing = APIRouter(prefix="/processing")
monitoring = APIRouter(prefix="/monitoring")
security = APIRouter(prefix="/security")
admin = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])


def _sandbox(request: Request) -> Any:
    return request.app.state.sandbox


def wire(body: m.WireModel | Sequence[m.WireModel] | dict[str, Any] | list[Any], status: int = 200) -> Response:
    """A JSON answer in the wire format."""
    from promoter.sandbox.app import dumps

    if isinstance(body, m.WireModel):
        content: Any = body.to_wire()
    elif isinstance(body, list | tuple) and body and isinstance(body[0], m.WireModel):
        content = [item.to_wire() for item in body]
    else:
        content = body
    return Response(dumps(content), status_code=status, media_type="application/json")


def no_content() -> Response:
    """204."""
    return Response(status_code=204)


def page(
    items: Sequence[Any], limit: int, offset: int, render: Callable[[Any], m.WireModel] | None = None
) -> dict[str, Any]:
    """``{items, limit, offset, total}`` of one page of ``items``; only that page is rendered."""
    chunk = [render(i) if render else i for i in items[offset : offset + limit]]
    return {
        "items": [i.to_wire() if isinstance(i, m.WireModel) else i for i in chunk],
        "limit": limit,
        "offset": offset,
        "total": len(items),
    }


# =================================================================== security


@security.post("/oauth/token", response_model=m.TokenResponse, tags=["oauth"])
def oauth_token(
    request: Request,
    body: m.TokenRequest,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Client-credentials grant: HTTP Basic ``clientId:secret``; the token lives 30 minutes."""
    from promoter.sandbox.app import basic_credentials

    credentials = basic_credentials(authorization)
    if credentials is None:
        raise ApiError(401, "Missing client credentials", "Send HTTP Basic clientId:secret.")
    if body.grant_type != "client_credentials":
        raise bad_request("Unsupported grant_type", "Only client_credentials is supported.")
    token, ttl = _sandbox(request).issue_token(*credentials)
    return wire(m.TokenResponse(access_token=token, token_type="Bearer", expires_in=str(ttl)))


# =================================================================== environments, workspaces


@orchestration.get("/environments", response_model=list[m.EnvironmentInfo], tags=["environments"])
def list_environments(request: Request, query: str | None = None) -> Response:
    """Environments, filtered with FIQL (``name==dev``)."""
    match = fiql(query)
    return wire([e.to_wire() for e in _sandbox(request).estate.environments() if match(e.to_wire())])


@orchestration.post("/environments", status_code=201, response_model=m.EnvironmentInfo, tags=["environments"])
def create_environment(request: Request, body: m.EnvironmentCreateRequest) -> Response:
    """Create an environment (and its Custom workspace)."""
    return wire(_sandbox(request).estate.create_environment(body), 201)


@orchestration.put("/environments/{Id}", status_code=204, tags=["environments"])
def update_environment(request: Request, Id: str, body: m.EnvironmentUpdateRequest) -> Response:
    """Rename or describe an environment."""
    _sandbox(request).estate.update_environment(Id, body)
    return no_content()


@orchestration.delete("/environments/{Id}", status_code=204, tags=["environments"])
def delete_environment(request: Request, Id: str) -> Response:
    """Delete an environment with everything in it."""
    _sandbox(request).estate.delete_environment(Id)
    return no_content()


@orchestration.get("/workspaces", response_model=list[m.WorkspaceInfo], tags=["workspaces"])
def list_workspaces(request: Request, query: str | None = None) -> Response:
    """Workspaces, filtered with FIQL (``environment.name==dev;name==Finance``)."""
    match = fiql(query)
    return wire([w.to_wire() for w in _sandbox(request).estate.workspaces() if match(w.to_wire())])


@orchestration.post("/workspaces", status_code=201, response_model=m.Workspace, tags=["workspaces"])
def create_workspace(request: Request, body: m.WorkspaceCreateRequest) -> Response:
    """Create a shared workspace in an environment."""
    return wire(_sandbox(request).estate.create_workspace(body), 201)


@orchestration.put("/workspaces/{id}", status_code=204, tags=["workspaces"])
def update_workspace(request: Request, id: str, body: m.WorkspaceUpdateRequest) -> Response:
    """Rename, describe or re-own a workspace."""
    _sandbox(request).estate.update_workspace(id, body)
    return no_content()


@orchestration.delete("/workspaces/{id}", status_code=204, tags=["workspaces"])
def delete_workspace(request: Request, id: str) -> Response:
    """Delete an empty workspace."""
    _sandbox(request).estate.delete_workspace(id)
    return no_content()


# =================================================================== artifacts


@orchestration.get("/artifacts", response_model=m.Page[m.Artifact], tags=["artifacts"])
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
    estate = _sandbox(request).estate
    rows = estate.store.find("artifact", workspace_id=workspaceId, environment_id=environmentId)
    selected = [
        r for r in rows
        if (name is None or r["name"] == name) and (not types or r["type"] in types)
    ]
    return wire(page(selected, limit, offset, lambda r: estate.artifact_model(r["id"])))


@orchestration.get("/artifacts/{artifactId}", response_model=m.Artifact, tags=["artifacts"])
def get_artifact(request: Request, artifactId: str) -> Response:
    """One artifact."""
    return wire(_sandbox(request).estate.artifact_model(artifactId))


@orchestration.delete("/artifacts/{artifactId}", status_code=204, tags=["artifacts"])
def delete_artifact(request: Request, artifactId: str) -> Response:
    """Delete an artifact and its versions (409 while tasks use it)."""
    _sandbox(request).estate.delete_artifact(artifactId)
    return no_content()


@orchestration.get("/artifacts/{artifactId}/versions/{version}", response_model=m.ArtifactVersion, tags=["artifacts"])
def get_artifact_version(request: Request, artifactId: str, version: str) -> Response:
    """One version of an artifact, with its parameters."""
    return wire(_sandbox(request).estate.artifact_version_model(artifactId, version))


@orchestration.delete("/artifacts/{artifactId}/versions/{version}", status_code=204, tags=["artifacts"])
def delete_artifact_version(request: Request, artifactId: str, version: str) -> Response:
    """Delete one version (409 while a task runs it)."""
    _sandbox(request).estate.delete_artifact_version(artifactId, version)
    return no_content()


# =================================================================== tasks


def _task_page(request: Request, filters: m.TaskSearchRequest, limit: int, offset: int) -> Response:
    estate = _sandbox(request).estate
    return wire(page(estate.search_tasks(filters), limit, offset, estate.task_summary))


@orchestration.get("/executables/tasks", response_model=m.Page[m.TaskSummary], tags=["tasks"])
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
    return _task_page(request, filters, limit, offset)


@orchestration.post("/executables/tasks/search", response_model=m.Page[m.TaskSummary], tags=["tasks"])
def search_tasks(request: Request, body: m.TaskSearchRequest) -> Response:
    """Tasks matching filters, including tags (all must match)."""
    limit = body.limit if body.limit else 100
    return _task_page(request, body, limit, body.offset or 0)


@orchestration.post("/executables/tasks", status_code=201, response_model=m.Task, tags=["tasks"])
def create_task(request: Request, body: m.TaskCreateRequest) -> Response:
    """Create a task."""
    return wire(_sandbox(request).estate.create_task(body), 201)


@orchestration.get("/executables/tasks/{taskId}", response_model=m.Task, tags=["tasks"])
def get_task(request: Request, taskId: str) -> Response:
    """One task in full."""
    return wire(_sandbox(request).estate.task_model(taskId))


@orchestration.put("/executables/tasks/{taskId}", response_model=m.Task, tags=["tasks"])
def replace_task(request: Request, taskId: str, body: Annotated[dict[str, Any], Body()]) -> Response:
    """Full replacement: omitted fields become null. ``id`` and ``version`` are refused."""
    refused = sorted({"id", "version"} & body.keys())
    if refused:
        raise bad_request(f"Read-only field(s) in body: {', '.join(refused)}", "Send the task without id and version.")
    update = _parse(m.TaskUpdateRequest, body)
    return wire(_sandbox(request).estate.replace_task(taskId, update))


@orchestration.delete("/executables/tasks/{taskId}", status_code=204, tags=["tasks"])
def delete_task(request: Request, taskId: str) -> Response:
    """Delete a task (409 while a plan uses it)."""
    _sandbox(request).estate.delete_task(taskId)
    return no_content()


@orchestration.put("/executables/tasks/{taskId}/pause", status_code=204, tags=["tasks"])
def pause_task(request: Request, taskId: str, body: m.TaskPauseRequest) -> Response:
    """Pause or resume a task."""
    _sandbox(request).estate.pause_task(taskId, body)
    return no_content()


@orchestration.get("/executables/tasks/{taskId}/run-config", response_model=m.TaskRunConfig, tags=["tasks"])
def get_run_config(request: Request, taskId: str) -> Response:
    """A task's run configuration."""
    return wire(_sandbox(request).estate.run_config(taskId))


@orchestration.put("/executables/tasks/{taskId}/run-config", response_model=m.TaskRunConfig, tags=["tasks"])
def put_run_config(request: Request, taskId: str, body: m.TaskRunConfig) -> Response:
    """Set a task's run configuration."""
    return wire(_sandbox(request).estate.set_run_config(taskId, body))


@orchestration.delete("/executables/tasks/{taskId}/run-config", status_code=204, tags=["tasks"])
def delete_run_config(request: Request, taskId: str) -> Response:
    """Remove a task's run configuration."""
    _sandbox(request).estate.delete_run_config(taskId)
    return no_content()


@orchestration.get("/executables/tasks/{taskId}/schedule", response_model=m.Schedule, tags=["schedules"])
def get_task_schedule(request: Request, taskId: str) -> Response:
    """The schedule a task is bound to."""
    return wire(_sandbox(request).estate.task_schedule(taskId))


@orchestration.put("/executables/tasks/{taskId}/schedule", tags=["schedules"])
def bind_task_schedule(request: Request, taskId: str, body: m.TaskScheduleBinding) -> Response:
    """Bind a task to a schedule."""
    _sandbox(request).estate.bind_task_schedule(taskId, body.schedule_id)
    return Response(status_code=200)


@orchestration.delete("/executables/tasks/{taskId}/schedule", status_code=204, tags=["schedules"])
def unbind_task_schedule(request: Request, taskId: str) -> Response:
    """Unbind a task from its schedule."""
    _sandbox(request).estate.unbind_task_schedule(taskId)
    return no_content()


# =================================================================== plans


@orchestration.get("/executables/plans", response_model=m.Page[m.PlanSummary], tags=["plans"])
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
    estate = _sandbox(request).estate
    plans = [
        p for p in estate.store.find("plan", workspace_id=workspaceId, environment_id=environmentId)
        if (name is None or name.lower() in p["name"].lower())
        and (planId is None or p["id"] == planId)
        and (taskId is None or any(taskId in s["taskIds"] for s in p["steps"]))
    ]
    return wire(page(plans, limit, offset, lambda p: estate.plan_summary(p["id"])))


@orchestration.post("/executables/plans", status_code=201, response_model=m.Plan, tags=["plans"])
def create_plan(request: Request, body: m.PlanRequest) -> Response:
    """Create a plan chaining tasks in steps."""
    return wire(_sandbox(request).estate.create_plan(body), 201)


@orchestration.get("/executables/plans/{planId}", response_model=m.PlanSummary, tags=["plans"])
def get_plan(request: Request, planId: str) -> Response:
    """One plan with its chart."""
    return wire(_sandbox(request).estate.plan_summary(planId))


@orchestration.put("/executables/plans/{planId}", response_model=m.Plan, tags=["plans"])
def replace_plan(request: Request, planId: str, body: m.PlanRequest) -> Response:
    """Full replacement of a plan."""
    return wire(_sandbox(request).estate.replace_plan(planId, body))


@orchestration.delete("/executables/plans/{planId}", status_code=204, tags=["plans"])
def delete_plan(request: Request, planId: str) -> Response:
    """Delete a plan."""
    _sandbox(request).estate.delete_plan(planId)
    return no_content()


# =================================================================== schedules


@orchestration.get("/schedules", response_model=m.Page[m.Schedule], tags=["schedules"])
def list_schedules(
    request: Request,
    environmentId: str | None = None,
    descriptionFilter: str | None = None,
    onlyBound: bool | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Schedules of an environment."""
    estate = _sandbox(request).estate
    schedules = [estate.schedule_model(s["id"]) for s in estate.store.find("schedule", environment_id=environmentId)]
    selected = [
        s for s in schedules
        if (descriptionFilter is None or descriptionFilter.lower() in (s.description or "").lower())
        and (not onlyBound or s.executable_id)
    ]
    return wire(page(selected, limit, offset))


@orchestration.post("/schedules", status_code=201, response_model=m.ScheduleCreated, tags=["schedules"])
def create_schedule(request: Request, body: m.ScheduleCreateRequest) -> Response:
    """Create a schedule."""
    return wire(m.ScheduleCreated(id=_sandbox(request).estate.create_schedule(body)), 201)


@orchestration.get("/schedules/{scheduleId}", response_model=m.Schedule, tags=["schedules"])
def get_schedule(request: Request, scheduleId: str) -> Response:
    """One schedule."""
    return wire(_sandbox(request).estate.schedule_model(scheduleId))


@orchestration.delete("/schedules/{scheduleId}", status_code=204, tags=["schedules"])
def delete_schedule(request: Request, scheduleId: str) -> Response:
    """Delete a schedule (409 while bound)."""
    _sandbox(request).estate.delete_schedule(scheduleId)
    return no_content()


# =================================================================== connections, resources


@orchestration.get("/connections", response_model=m.Page[m.Connection], tags=["connections"])
def list_connections(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    name: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Connections with their parameters."""
    estate = _sandbox(request).estate
    rows = estate.store.find("connection", workspace_id=workspaceId, environment_id=environmentId, name=name)
    return wire(page(rows, limit, offset, lambda c: estate.connection_model(c["id"])))


@orchestration.post("/connections", status_code=201, response_model=m.Connection, tags=["connections"])
def create_connection(request: Request, body: m.ConnectionCreateRequest) -> Response:
    """Create a connection."""
    return wire(_sandbox(request).estate.create_connection(body), 201)


@orchestration.get("/connections/{connectionId}", response_model=m.Connection, tags=["connections"])
def get_connection(request: Request, connectionId: str) -> Response:
    """One connection."""
    return wire(_sandbox(request).estate.connection_model(connectionId))


@orchestration.put("/connections/{connectionId}", response_model=m.Connection, tags=["connections"])
def update_connection(request: Request, connectionId: str, body: m.ConnectionUpdateRequest) -> Response:
    """Rename a connection or replace its parameters."""
    return wire(_sandbox(request).estate.update_connection(connectionId, body))


@orchestration.delete("/connections/{connectionId}", status_code=204, tags=["connections"])
def delete_connection(request: Request, connectionId: str) -> Response:
    """Delete a connection (409 while a task uses it)."""
    _sandbox(request).estate.delete_connection(connectionId)
    return no_content()


@orchestration.get("/resources", response_model=m.Page[m.Resource], tags=["resources"])
def list_resources(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    name: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Resources (read only in the sandbox's public API)."""
    estate = _sandbox(request).estate
    rows = estate.store.find("resource", workspace_id=workspaceId, environment_id=environmentId, name=name)
    return wire(page(rows, limit, offset, lambda r: estate.resource_model(r["id"])))


@orchestration.get("/resources/{resourceId}", response_model=m.Resource, tags=["resources"])
def get_resource(request: Request, resourceId: str) -> Response:
    """One resource."""
    return wire(_sandbox(request).estate.resource_model(resourceId))


# =================================================================== promotions


@orchestration.get("/executables/promotions", response_model=list[m.PromotionDefinition], tags=["promotions"])
def list_promotions(request: Request, _s: str | None = None) -> Response:
    """Promotion definitions (a bare array), filtered with FIQL in ``_s``."""
    return wire([d.to_wire() for d in _sandbox(request).promotions.list_definitions(_s)])


@orchestration.post("/executables/promotions", status_code=201, response_model=m.PromotionDefinition, tags=["promotions"])
def create_promotion(request: Request, body: m.PromotionCreateRequest) -> Response:
    """Define the promotion of a pair of environments (one per pair)."""
    return wire(_sandbox(request).promotions.create_definition(body), 201)


@orchestration.get("/executables/promotions/{promotionId}", response_model=m.PromotionDefinition, tags=["promotions"])
def get_promotion(request: Request, promotionId: str) -> Response:
    """One promotion definition."""
    return wire(_sandbox(request).promotions.get_definition(promotionId))


@orchestration.post("/executables/promotions/{promotionId}", response_model=m.PromotionReport, tags=["promotions"])
def analyse_promotion(request: Request, promotionId: str, body: m.PromotionAnalysisRequest | None = None) -> Response:
    """The analysis (dry run) of a promotion: the report of what a run would do."""
    return wire(_sandbox(request).promotions.analyse(promotionId, body or m.PromotionAnalysisRequest()))


@orchestration.delete("/executables/promotions/{promotionId}", status_code=204, tags=["promotions"])
def delete_promotion(request: Request, promotionId: str) -> Response:
    """Delete a promotion definition."""
    _sandbox(request).promotions.delete_definition(promotionId)
    return no_content()


@processing.post("/executions/promotions", status_code=201, response_model=m.PromotionExecution, tags=["promotions"],
                 responses={202: {"description": "Started; poll GET /processing/executions/promotions/{executionId}"}})
def run_promotion(request: Request, body: m.PromotionRunRequest) -> Response:
    """Run a promotion: 201 with the report when done at once, otherwise 202."""
    status, execution = _sandbox(request).promotions.run(body)
    return wire(execution, status)


@processing.get("/executions/promotions/{executionId}", response_model=m.PromotionReport, tags=["promotions"])
def promotion_status(request: Request, executionId: str) -> Response:
    """The report of a promotion run."""
    return wire(_sandbox(request).promotions.status(executionId))


# =================================================================== executions


@processing.post("/executions", status_code=201, response_model=m.ExecutionCreated, tags=["executions"])
def start_execution(request: Request, body: m.ExecutionStartRequest) -> Response:
    """Run a task now."""
    return wire(_sandbox(request).executions.start(body), 201)


@processing.get("/executions/{executionId}", response_model=m.TaskExecution, tags=["executions"])
def get_execution(request: Request, executionId: str) -> Response:
    """The status of an execution."""
    return wire(_sandbox(request).executions.get(executionId))


@processing.delete("/executions/{executionId}", status_code=204, tags=["executions"])
def stop_execution(request: Request, executionId: str) -> Response:
    """Stop an execution."""
    _sandbox(request).executions.stop(executionId)
    return no_content()


@processing.get("/executables/tasks/{taskId}/executions", response_model=m.Page[m.TaskExecutionSummary], tags=["executions"])
def task_executions(
    request: Request,
    taskId: str,
    status: m.ExecutionStatus | None = None,
    lastDays: Annotated[int | None, Query(ge=1, le=60)] = None,
    from_: Annotated[int | None, Query(alias="from")] = None,
    to: int | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """The executions of one task, newest first: run metrics without downloading logs."""
    sandbox = _sandbox(request)
    sandbox.estate.task(taskId)
    found = sandbox.executions.search(task_id=taskId, status=status, last_days=lastDays, from_ms=from_, to_ms=to)
    return wire(page(found, limit, offset))


@processing.get("/executables/tasks/executions", response_model=m.Page[m.TaskExecutionSummary], tags=["executions"])
def all_task_executions(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    status: m.ExecutionStatus | None = None,
    lastDays: Annotated[int | None, Query(ge=1, le=60)] = None,
    from_: Annotated[int | None, Query(alias="from")] = None,
    to: int | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Task executions in a period, filtered by environment, workspace and status."""
    found = _sandbox(request).executions.search(
        environment_id=environmentId, workspace_id=workspaceId, status=status,
        last_days=lastDays, from_ms=from_, to_ms=to,
    )
    return wire(page(found, limit, offset))


@processing.post("/executables/tasks/executions", response_model=m.Page[m.TaskExecutionSummary], tags=["executions"])
def search_task_executions(request: Request, body: m.TaskExecutionFilters) -> Response:
    """Task executions in a period, filtered by environment, workspace, status and tags."""
    found = _sandbox(request).executions.search(
        environment_id=body.environment_id, workspace_id=body.workspace_id,
        status=body.status, tags=body.tags, last_days=body.last_days, from_ms=body.from_, to_ms=body.to,
    )
    return wire(page(found, body.limit or 100, body.offset or 0))


@processing.get("/executables/tasks", response_model=m.Page[m.TaskSummary], tags=["tasks"])
def processing_tasks_alias(
    request: Request,
    environmentId: str | None = None,
    workspaceId: str | None = None,
    name: str | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> Response:
    """Not in the 2021-03 spec: an alias of the task list that published clients call."""
    filters = m.TaskSearchRequest(environment_id=environmentId, workspace_id=workspaceId, name=name)
    return _task_page(request, filters, limit, offset)


# =================================================================== logs


def _logs(
    request: Request, id: str, count: int, startIndex: int, order: str,
    startTime: str | None, endTime: str | None,
) -> Response:
    entries = _sandbox(request).executions.logs(id)
    total = len(entries)
    start_ms, end_ms = _epoch_ms(startTime, "startTime"), _epoch_ms(endTime, "endTime")
    filtered = [
        e for e in entries
        if (start_ms is None or (e.log_timestamp or 0) >= start_ms)
        and (end_ms is None or (e.log_timestamp or 0) <= end_ms)
    ]
    if order == "DESC":
        filtered.reverse()
    chunk = filtered[startIndex : startIndex + count]
    more = startIndex + count < len(filtered)
    return wire(
        m.LogPage(
            size=len(chunk),
            total_size=total,
            total_size_filtered=len(filtered),
            data=chunk,
            next_index=startIndex + count if more else None,
        )
    )


@monitoring.get("/executions/{id}/logs", response_model=m.LogPage, tags=["logs"])
def execution_logs(
    request: Request,
    id: str,
    count: Annotated[int, Query(ge=1, le=200)] = 50,
    startIndex: Annotated[int, Query(ge=0)] = 0,
    order: Literal["ASC", "DESC"] = "DESC",
    startTime: str | None = None,
    endTime: str | None = None,
) -> Response:
    """A page of an execution's log; follow ``nextIndex`` for the next one."""
    return _logs(request, id, count, startIndex, order, startTime, endTime)


@monitoring.get("/executions/{id}/log", response_model=m.LogPage, tags=["logs"])
def execution_log_alias(
    request: Request,
    id: str,
    count: Annotated[int, Query(ge=1, le=200)] = 50,
    startIndex: Annotated[int, Query(ge=0)] = 0,
    order: Literal["ASC", "DESC"] = "DESC",
    startTime: str | None = None,
    endTime: str | None = None,
) -> Response:
    """The source document's spelling of the log route; same answer as ``.../logs``."""
    return _logs(request, id, count, startIndex, order, startTime, endTime)


# =================================================================== sandbox admin


class PublishRequest(BaseModel):
    """Publish an artifact version, as Studio or the Maven plugin do on the real service."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    workspace_id: str = Field(alias="workspaceId")
    name: str
    version: str
    type: m.ArtifactType = m.ArtifactType.STANDARD
    parameters: list[m.ArtifactParameter] = Field(default_factory=list)
    description: str | None = None
    repository: m.SourcesRepository | None = None
    publisher: str = "ci@example.com"
    behaviour: dict[str, Any] = Field(
        default_factory=dict,
        description="How executions of this version end: outcome, failInEnvironments, rejectedRows, processedRows, seconds, log.",
    )


class ResourceRequest(BaseModel):
    """Register a resource in a workspace."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    workspace_id: str = Field(alias="workspaceId")
    name: str


class SettingsUpdate(BaseModel):
    """Change the sandbox's timings, token lifetime or budgets at run time."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    token_ttl: float | None = Field(default=None, alias="tokenTtl", gt=0)
    dispatch_seconds: float | None = Field(default=None, alias="dispatchSeconds", ge=0)
    run_seconds: float | None = Field(default=None, alias="runSeconds", ge=0)
    promotion_seconds: float | None = Field(default=None, alias="promotionSeconds", ge=0)
    budgets: dict[str, int] | None = Field(default=None, description="Per-minute budgets per family; {} disables.")


@admin.post("/artifacts", status_code=201, response_model=m.ArtifactVersion)
def publish_artifact(request: Request, body: PublishRequest) -> Response:
    """Publish an artifact version (sandbox only)."""
    version = _sandbox(request).estate.publish(
        workspace_id=body.workspace_id, name=body.name, version=body.version, type=body.type.value,
        parameters=[p.to_wire() for p in body.parameters], description=body.description,
        repository=body.repository.to_wire() if body.repository else None,
        publisher=body.publisher, behaviour=body.behaviour,
    )
    return wire(version, 201)


@admin.post("/resources", status_code=201, response_model=m.Resource)
def create_resource(request: Request, body: ResourceRequest) -> Response:
    """Register a resource (sandbox only; the real API takes a multipart upload)."""
    return wire(_sandbox(request).estate.create_resource(workspace_id=body.workspace_id, name=body.name), 201)


@admin.get("/faults", response_model=FaultConfig)
def get_faults(request: Request) -> Response:
    """The faults in force."""
    return wire(_sandbox(request).faults.config.model_dump())


@admin.put("/faults", response_model=FaultConfig)
def set_faults(request: Request, body: FaultConfig) -> Response:
    """Replace the faults in force (an empty body clears them)."""
    _sandbox(request).faults.configure(body)
    return wire(body.model_dump())


@admin.put("/settings")
def update_settings(request: Request, body: SettingsUpdate) -> Response:
    """Change timings, token lifetime or budgets."""
    sandbox = _sandbox(request)
    sandbox.apply_settings(body.model_dump(exclude_none=True))
    return wire(sandbox.describe_settings())


@admin.get("/settings")
def get_settings(request: Request) -> Response:
    """The sandbox's timings, token lifetime and budgets."""
    return wire(_sandbox(request).describe_settings())


@admin.get("/requests")
def get_requests(request: Request, since: Annotated[int, Query(ge=0)] = 0) -> Response:
    """The request log (entries after sequence number ``since``)."""
    return wire(_sandbox(request).requests.entries(since))


@admin.delete("/requests", status_code=204)
def clear_requests(request: Request) -> Response:
    """Forget the request log."""
    _sandbox(request).requests.clear()
    return no_content()


# =================================================================== helpers


def _parse(model: type[m.RequestModel], body: dict[str, Any]) -> Any:
    from pydantic import ValidationError

    try:
        return model.model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise bad_request("Invalid request body", problems) from exc


def _epoch_ms(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError as exc:
        raise bad_request(f"Invalid {name}: {value!r}", "Use epoch milliseconds or an ISO 8601 date.") from exc


def register(app: FastAPI) -> None:
    """Mount every router on ``app``."""
    for router in (security, orchestration, processing, monitoring, admin):
        app.include_router(router)
