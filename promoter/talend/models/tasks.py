"""Tasks, their run configurations (triggers, runtimes) and pauses."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from promoter.talend.models.artifacts import ArtifactRef, ArtifactRequest
from promoter.talend.models.base import (
    LogLevel,
    RequestModel,
    RuntimeType,
    TriggerType,
    UserType,
    WireModel,
)
from promoter.talend.models.environments import WorkspaceInfo

__all__ = ["AutoUpgradeInfo", "DaySchedule", "Runtime", "Task", "TaskCreateRequest", "TaskPauseDetails", "TaskPauseRequest", "TaskRunConfig", "TaskRuntimeSummary", "TaskSearchRequest", "TaskSummary", "TaskUpdateRequest", "TimeSchedule", "Trigger", "Webhook"]

class AutoUpgradeInfo(WireModel):
    """``AutoUpgradeInfo``."""

    auto_upgradable: bool | None = None
    override_with_default_parameters: bool | None = None


class TaskPauseDetails(WireModel):
    """``TaskPauseDetails``."""

    pause: bool
    pause_context: str | None = None
    user: str | None = None
    user_type: UserType | None = None
    pause_date: datetime | None = None


class TaskPauseRequest(RequestModel):
    """Body of ``PUT /orchestration/executables/tasks/{taskId}/pause``."""

    pause: bool
    pause_context: str | None = None


class TaskRuntimeSummary(WireModel):
    """The ``runtime`` of a task list item."""

    id: str | None = None
    type: str | None = None
    run_profile_id: str | None = None


class TaskSummary(WireModel):
    """``TaskExtract``: a task list item. Its id key is ``executable``."""

    executable: str
    name: str
    workspace: WorkspaceInfo | None = None
    artifact_id: str | None = None
    runtime: TaskRuntimeSummary | None = None


class Task(WireModel):
    """``TaskV21``: a task in full. ``connections`` maps an app to a connection id."""

    id: str
    name: str
    description: str | None = None
    workspace: WorkspaceInfo | None = None
    version: str
    artifact: ArtifactRef
    tags: list[str] | None = None
    connections: dict[str, str] | None = None
    parameters: dict[str, str] | None = None
    resources: dict[str, str] | None = None
    auto_upgrade_info: AutoUpgradeInfo | None = None
    task_pause_details: TaskPauseDetails | None = None


class TaskCreateRequest(RequestModel):
    """``TaskV21CreateRequest``: body of ``POST /orchestration/executables/tasks``."""

    workspace_id: str
    environment_id: str
    name: str
    description: str | None = None
    tags: list[str] | None = None
    connections: dict[str, str] | None = None
    parameters: dict[str, Any] | None = None
    resources: dict[str, str] | None = None
    artifact: ArtifactRequest
    auto_upgrade_info: AutoUpgradeInfo | None = None


class TaskUpdateRequest(RequestModel):
    """``TaskAutoUpgradeRequest``: the full-replacement body of ``PUT .../tasks/{taskId}``.

    Omitted optional fields become null on the server: read the task, change it, send it whole.
    """

    workspace_id: str
    name: str
    description: str
    tags: list[str] | None = None
    connections: dict[str, str] | None = None
    parameters: dict[str, Any] | None = None
    resources: dict[str, str] | None = None
    artifact: ArtifactRequest
    auto_upgrade_info: AutoUpgradeInfo | None = None

    @classmethod
    def from_task(cls, task: Task) -> TaskUpdateRequest:
        """The replacement body that leaves ``task`` exactly as it is."""
        workspace_id = task.workspace.id if task.workspace and task.workspace.id else ""
        return cls(
            workspace_id=workspace_id,
            name=task.name,
            description=task.description or "",
            tags=task.tags,
            connections=task.connections,
            parameters=task.parameters,
            resources=task.resources,
            artifact=ArtifactRequest(id=task.artifact.id, version=task.artifact.version),
            auto_upgrade_info=task.auto_upgrade_info,
        )


class TaskSearchRequest(RequestModel):
    """``TaskFiltersRequest``: body of ``POST /orchestration/executables/tasks/search``."""

    name: str | None = None
    environment_id: str | None = None
    workspace_id: str | None = None
    limit: int | None = Field(default=None, ge=0, le=100)
    offset: int | None = Field(default=None, ge=0)
    artifact_id: str | None = None
    runtime_type: str | None = None
    runtime_id: str | None = None
    runtime_run_profile_id: str | None = None
    tags: list[str] | None = None
    trigger_type: str | None = None


class TimeSchedule(WireModel):
    """``TimeSchedule``."""

    type: Literal["AT_TIME", "AT_SPECIFIC_TIMES", "AT_INTERVALS"]
    times: list[str] | None = None
    time: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    interval: int | None = None


class DaySchedule(WireModel):
    """``DaySchedule``."""

    type: Literal["DAY_OF_WEEK", "DAY_OF_MONTH"]
    day: int | None = None
    days: (
        list[
            Literal["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
        ]
        | None
    ) = None


class Webhook(WireModel):
    """``Webhook``."""

    name: str
    trigger_calls: int | None = None
    trigger_timeout: int | None = None
    run_as_user: str | None = None
    new_url: bool | None = None
    url: str | None = None
    execution_timeout: int | None = None
    run_as_user_type: UserType | None = None


class Trigger(WireModel):
    """``Trigger``: when a task runs."""

    type: TriggerType
    interval: int | None = None
    start_date: str
    start_time: str | None = None
    time_zone: str
    at_times: TimeSchedule | None = None
    at_days: DaySchedule | None = None
    webhook: Webhook | None = None
    cron_expression: str | None = None


class Runtime(WireModel):
    """``Runtime``: where a task runs."""

    type: RuntimeType | None = None
    id: str | None = None
    engine_id: str | None = None
    cluster_id: str | None = None
    run_profile_id: str | None = None


class TaskRunConfig(WireModel):
    """``TaskRunConfig``: a task's trigger, runtime and execution settings."""

    trigger: Trigger
    runtime: Runtime
    parallel_execution_allowed: bool | None = None
    log_level: LogLevel | None = None
    remote_run_as_user: str | None = None
    timeout: int | None = Field(default=None, ge=1)
    deployment_strategy: Literal["ROLLING", "PARALLEL"] | None = None
    lineage: bool | None = None
    microservice_port: str | None = None
