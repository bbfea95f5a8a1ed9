"""Talend's ``/processing`` family: promotion runs, task executions, and the task list alias
that published clients call."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from promoter.sandbox.routes.orchestration import task_page
from promoter.sandbox.routes.wire import Limit, Offset, no_content, page, sandbox_of, wire
from promoter.talend import models as m

router = APIRouter(prefix="/processing")


# =================================================================== promotion runs


@router.post("/executions/promotions", status_code=201, response_model=m.PromotionExecution, tags=["promotions"],
             responses={202: {"description": "Started; poll GET /processing/executions/promotions/{executionId}"}})
def run_promotion(request: Request, body: m.PromotionRunRequest) -> Response:
    """Run a promotion: 201 with the report when done at once, otherwise 202."""
    status, execution = sandbox_of(request).promotions.run(body)
    return wire(execution, status)


@router.get("/executions/promotions/{executionId}", response_model=m.PromotionReport, tags=["promotions"])
def promotion_status(request: Request, executionId: str) -> Response:
    """The report of a promotion run."""
    return wire(sandbox_of(request).promotions.status(executionId))


# =================================================================== executions


@router.post("/executions", status_code=201, response_model=m.ExecutionCreated, tags=["executions"])
def start_execution(request: Request, body: m.ExecutionStartRequest) -> Response:
    """Run a task now."""
    return wire(sandbox_of(request).executions.start(body), 201)


@router.get("/executions/{executionId}", response_model=m.TaskExecution, tags=["executions"])
def get_execution(request: Request, executionId: str) -> Response:
    """The status of an execution."""
    return wire(sandbox_of(request).executions.get(executionId))


@router.delete("/executions/{executionId}", status_code=204, tags=["executions"])
def stop_execution(request: Request, executionId: str) -> Response:
    """Stop an execution."""
    sandbox_of(request).executions.stop(executionId)
    return no_content()


@router.get("/executables/tasks/{taskId}/executions", response_model=m.Page[m.TaskExecutionSummary], tags=["executions"])
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
    sandbox = sandbox_of(request)
    sandbox.estate.task(taskId)
    found = sandbox.executions.search(task_id=taskId, status=status, last_days=lastDays, from_ms=from_, to_ms=to)
    return wire(page(found, limit, offset))


@router.get("/executables/tasks/executions", response_model=m.Page[m.TaskExecutionSummary], tags=["executions"])
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
    found = sandbox_of(request).executions.search(
        environment_id=environmentId, workspace_id=workspaceId, status=status,
        last_days=lastDays, from_ms=from_, to_ms=to,
    )
    return wire(page(found, limit, offset))


@router.post("/executables/tasks/executions", response_model=m.Page[m.TaskExecutionSummary], tags=["executions"])
def search_task_executions(request: Request, body: m.TaskExecutionFilters) -> Response:
    """Task executions in a period, filtered by environment, workspace, status and tags."""
    found = sandbox_of(request).executions.search(
        environment_id=body.environment_id, workspace_id=body.workspace_id,
        status=body.status, tags=body.tags, last_days=body.last_days, from_ms=body.from_, to_ms=body.to,
    )
    return wire(page(found, body.limit or 100, body.offset or 0))


@router.get("/executables/tasks", response_model=m.Page[m.TaskSummary], tags=["tasks"])
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
    return task_page(request, filters, limit, offset)
