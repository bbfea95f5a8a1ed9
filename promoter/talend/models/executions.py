"""Task executions: starting them, their status and metrics, and their logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from promoter.talend.models.base import ExecutionStatus, LogLevel, RequestModel, UserType, WireModel
from promoter.talend.models.tasks import Runtime

__all__ = ["ExecutionCreated", "ExecutionStartRequest", "LogEntry", "LogPage", "TaskExecution", "TaskExecutionFilters", "TaskExecutionSummary"]

class ExecutionStartRequest(RequestModel):
    """``Executabletask``: body of ``POST /processing/executions``."""

    executable: str
    parameters: dict[str, Any] | None = None
    log_level: LogLevel | None = None
    timeout: int | None = None


class ExecutionCreated(WireModel):
    """``Executionidentifier``: answer of ``POST /processing/executions``."""

    execution_id: str


class TaskExecution(WireModel):
    """``JobExecutionStatusV21``: answer of ``GET /processing/executions/{executionId}``."""

    execution_id: str
    start_timestamp: datetime | None = None
    trigger_timestamp: datetime
    finish_timestamp: datetime | None = None
    user_id: str
    user_type: UserType
    job_id: str
    job_version: str
    environment_version: Literal["1.2", "1.3"]
    execution_status: str
    execution_type: Literal["MANUAL", "SCHEDULED", "WEBHOOK", "PLAN"]
    execution_destination: Literal[
        "CLOUD", "CLOUD_EXCLUSIVE", "REMOTE_ENGINE", "REMOTE_ENGINE_CLUSTER", "ELASTIC_ENGINE"
    ]
    container_id: str | None = None
    run_profile_id: str | None = None
    remote_engine_id: str | None = None
    remote_engine_cluster_id: str | None = None
    number_of_processed_rows: int | None = None
    number_of_rejected_rows: int | None = None
    account_id: str
    workspace_id: str
    plan_id: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    timeout: int | None = None
    status: ExecutionStatus
    misfired_execution_reason: str | None = None


class TaskExecutionSummary(WireModel):
    """``TaskExecutionStatus``: an item of the task-executions lists."""

    parallel_execution_allowed: bool | None = None
    task_id: str
    plan_id: str | None = None
    task_version: str
    execution_type: Literal["MANUAL", "SCHEDULED", "WEBHOOK", "PLAN"]
    status: ExecutionStatus
    runtime: Runtime | None = None
    error_message: str | None = None
    execution_status: str
    misfired_execution_reason: str | None = None
    timeout: int | None = None
    execution_id: str
    start_timestamp: datetime | None = None
    trigger_timestamp: datetime
    finish_timestamp: datetime | None = None
    user_id: str
    user_type: UserType


class TaskExecutionFilters(RequestModel):
    """``TaskExecutionsFilters``: body of ``POST /processing/executables/tasks/executions``.

    ``from``/``to`` are epoch milliseconds; ``lastDays`` is at most 60.
    """

    environment_id: str | None = None
    workspace_id: str | None = None
    status: ExecutionStatus | None = None
    tags: list[str] | None = None
    last_days: int | None = Field(default=None, ge=1, le=60)
    from_: int | None = Field(default=None, alias="from")
    to: int | None = None
    limit: int | None = Field(default=None, ge=1, le=100)
    offset: int | None = Field(default=None, ge=0)


class LogEntry(WireModel):
    """One line of an execution's log. ``logTimestamp`` is epoch milliseconds."""

    severity: str | None = None
    log_type: str | None = None
    log_timestamp: int | None = None
    log_message: str | None = None
    bundle_name: str | None = None
    bundle_version: str | None = None
    pod_name: str | None = None


class LogPage(WireModel):
    """A page of ``GET /monitoring/executions/{id}/logs``; ``nextIndex`` is absent on the last."""

    size: int
    total_size: int
    total_size_filtered: int | None = None
    data: list[LogEntry] = Field(default_factory=list)
    next_index: int | None = None
