"""Execution plans: tasks chained step by step (Talend calls them plans)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from promoter.talend.models.artifacts import ArtifactRef
from promoter.talend.models.base import RequestModel, UserType, WireModel
from promoter.talend.models.environments import WorkspaceInfo
from promoter.talend.models.tasks import TaskPauseDetails

__all__ = ["ExecutionPlan", "ExecutionPlanRequest", "ExecutionPlanStep", "ExecutionPlanSummary", "ExecutionPlanTask", "Step", "StepErrorHandler"]

class StepErrorHandler(WireModel):
    """``StepErrorHandler``."""

    task_ids: list[str] | None = None
    plan_ids: list[str] | None = None


class Step(WireModel):
    """``Step``: one step of a plan, running tasks under a condition."""

    id: str | None = None
    name: str
    condition: Literal["ALL_SUCCEEDED", "AT_LEAST_ONE_SUCCEEDED", "ALWAYS_PROCEED_ON"]
    task_ids: list[str]
    handler_on_failure: StepErrorHandler | None = None
    note: str | None = None


class ExecutionPlan(WireModel):
    """``Plan``: tasks chained in steps."""

    id: str
    name: str
    workspace: WorkspaceInfo | None = None
    create_date: datetime
    update_date: datetime | None = None
    author: str
    steps: list[Step]
    author_type: UserType | None = None


class ExecutionPlanRequest(RequestModel):
    """``ExecutionPlanRequest``: body of plan create and full-replacement PUT."""

    name: str
    workspace_id: str
    steps: list[Step]


class ExecutionPlanTask(WireModel):
    """``ExecutionPlanTask``: a task inside a plan's chart."""

    id: str | None = None
    name: str | None = None
    version: str | None = None
    destination: str | None = None
    workspace_id: str | None = None
    abstract_plan_id: str | None = None
    artifact: ArtifactRef | None = None
    task_pause_details: TaskPauseDetails | None = None


class ExecutionPlanStep(WireModel):
    """``ExecutionPlanStep``: a node of a plan's chart (a linked list through ``nextStep``)."""

    id: str | None = None
    abstract_step_id: str | None = None
    name: str | None = None
    status: Literal["SUCCESS", "PARTIAL_SUCCESS", "FAIL", "PROCEED"] | None = None
    step_on_exception: ExecutionPlanStep | None = None
    next_step: ExecutionPlanStep | None = None
    flows: list[ExecutionPlanTask] | None = None
    note: str | None = None
    task_ids: list[str] | None = None


class ExecutionPlanSummary(WireModel):
    """``PlanExecutableDetails``: a plan list item and the answer of ``GET .../plans/{id}``."""

    executable: str
    name: str
    workspace: WorkspaceInfo | None = None
    chart: ExecutionPlanStep | None = None
    status: Literal["executing", "execution_successful", "execution_failed"] | None = None
