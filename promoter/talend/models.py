"""The Talend Cloud wire format, as pydantic v2 models.

One source of truth: the sandbox serves these models and the client parses them. Names, required
fields and enums follow Talend's published OpenAPI specs (version 2021-03); the spec's schema name
is given in each docstring. Python attributes are snake_case; the wire uses the spec's camelCase,
so always serialise with :meth:`WireModel.to_wire` (or ``by_alias=True``).

Server responses allow extra fields (the real service may add some); request bodies ignore them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = [
    "AdvancedPromotionSpec",
    "Artifact",
    "ArtifactParameter",
    "ArtifactPromotionResult",
    "ArtifactRef",
    "ArtifactRequest",
    "ArtifactType",
    "ArtifactVersion",
    "AutoUpgradeInfo",
    "Connection",
    "ConnectionCreateRequest",
    "ConnectionParameter",
    "ConnectionUpdateRequest",
    "DaySchedule",
    "EnvironmentCreateRequest",
    "EnvironmentInfo",
    "EnvironmentUpdateRequest",
    "ErrorBody",
    "ExecutionCreated",
    "ExecutionStartRequest",
    "ExecutionStatus",
    "FlowPromotionResult",
    "LogEntry",
    "LogPage",
    "Page",
    "Plan",
    "PlanRequest",
    "PlanStep",
    "PlanSummary",
    "PlanTask",
    "PromotionAnalysisRequest",
    "PromotionCreateRequest",
    "PromotionDefinition",
    "PromotionExecution",
    "PromotionReport",
    "PromotionReportStatus",
    "PromotionRunRequest",
    "Report",
    "ReportMessage",
    "RepositoryCommit",
    "Resource",
    "Runtime",
    "RuntimePromotionResult",
    "Schedule",
    "ScheduleCreateRequest",
    "ScheduleCreated",
    "ScheduleTrigger",
    "SourcesRepository",
    "Step",
    "StepErrorHandler",
    "Task",
    "TaskCreateRequest",
    "TaskExecution",
    "TaskExecutionFilters",
    "TaskExecutionSummary",
    "TaskPauseDetails",
    "TaskPauseRequest",
    "TaskRunConfig",
    "TaskScheduleBinding",
    "TaskSearchRequest",
    "TaskSummary",
    "TaskUpdateRequest",
    "TimeSchedule",
    "TokenRequest",
    "TokenResponse",
    "Trigger",
    "Webhook",
    "WireModel",
    "Workspace",
    "WorkspaceCreateRequest",
    "WorkspaceInfo",
    "WorkspaceUpdateRequest",
]

T = TypeVar("T")

#: The version header every request carries.
TALEND_VERSION = "2021-03"


class WireModel(BaseModel):
    """Base of every server response: camelCase on the wire, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready body, with the wire's field names and without unset (None) fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RequestModel(WireModel):
    """Base of request bodies: camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_camel)


# --------------------------------------------------------------------------- enums


class ArtifactType(StrEnum):
    """``Artifact.type``."""

    STANDARD = "standard"
    BIG_DATA_STREAMING = "big_data_streaming"
    BIG_DATA_BATCH = "big_data_batch"
    ROUTE = "route"
    DATA_SERVICE = "data_service"
    PIPELINE = "pipeline"


class ExecutionStatus(StrEnum):
    """``JobExecutionStatusV21.status`` (lower case): the life of a task execution."""

    DISPATCHING = "dispatching"
    DEPLOY_FAILED = "deploy_failed"
    EXECUTING = "executing"
    EXECUTION_REJECTED = "execution_rejected"
    EXECUTION_SUCCESSFUL = "execution_successful"
    EXECUTION_FAILED = "execution_failed"
    TERMINATED = "terminated"
    TERMINATED_TIMEOUT = "terminated_timeout"
    TERMINATED_SHUTDOWN = "terminated_shutdown"

    @property
    def is_terminal(self) -> bool:
        """Whether the execution has ended (successfully or not)."""
        return self not in (ExecutionStatus.DISPATCHING, ExecutionStatus.EXECUTING)


#: ``executionStatus`` (upper case) that goes with each ``status``.
EXECUTION_STATUS_UPPER: dict[ExecutionStatus, str] = {
    ExecutionStatus.DISPATCHING: "DISPATCHING_FLOW",
    ExecutionStatus.DEPLOY_FAILED: "DEPLOY_FAILED",
    ExecutionStatus.EXECUTING: "STARTING_FLOW_EXECUTION",
    ExecutionStatus.EXECUTION_REJECTED: "EXECUTION_REJECTED",
    ExecutionStatus.EXECUTION_SUCCESSFUL: "EXECUTION_SUCCESS",
    ExecutionStatus.EXECUTION_FAILED: "EXECUTION_FAILED",
    ExecutionStatus.TERMINATED: "EXECUTION_TERMINATED",
    ExecutionStatus.TERMINATED_TIMEOUT: "EXECUTION_TERMINATED_TIMEOUT",
    ExecutionStatus.TERMINATED_SHUTDOWN: "EXECUTION_TERMINATED_SHUTDOWN",
}


class PromotionReportStatus(StrEnum):
    """``PromotionExecutionStatusV26.status``. ``ANALIZED`` is spelled as the service spells it."""

    ANALIZED = "ANALIZED"
    PROMOTION_STARTED = "PROMOTION_STARTED"
    PROMOTION_WARNING = "PROMOTION_WARNING"
    PROMOTION_FAILED = "PROMOTION_FAILED"
    PROMOTED = "PROMOTED"


LogLevel = Literal["OFF", "ERROR", "WARN", "INFO"]
UserType = Literal["HUMAN", "SERVICE"]
RuntimeType = Literal[
    "CLOUD", "REMOTE_ENGINE", "REMOTE_ENGINE_CLUSTER", "CLOUD_EXCLUSIVE", "PIPELINE_ENGINE"
]
TriggerType = Literal["ONCE", "DAILY", "WEEKLY", "MONTHLY", "WEBHOOK", "MANUAL", "CRON", "MULTIPLE"]
ObjectResultStatus = Literal["CREATED", "REPLACED", "REUSED", "FAILED", "SKIPPED"]


# --------------------------------------------------------------------------- common


class Page(WireModel, Generic[T]):
    """A page of a paged list: ``{items, limit, offset, total}`` (``PageTask``, ``PageConnection``...)."""

    items: list[T] = Field(default_factory=list)
    limit: int = 100
    offset: int = 0
    total: int = 0


class ErrorBody(WireModel):
    """``ErrorResponse``: the body of every 4xx/5xx answer."""

    status: int
    message: str | None = None
    detail: str | None = None
    request_id: str | None = None


class TokenRequest(RequestModel):
    """``TokenRequest``: body of ``POST /security/oauth/token`` (client credentials grant)."""

    grant_type: str = Field(alias="grant_type")
    audience: str


class TokenResponse(WireModel):
    """``TokenResponse``. ``expires_in`` is a string of seconds, as in the spec."""

    access_token: str = Field(alias="access_token")
    token_type: str = Field(alias="token_type")
    expires_in: str | None = Field(default=None, alias="expires_in")


# --------------------------------------------------------------------------- environments, workspaces


class EnvironmentInfo(WireModel):
    """``EnvironmentInfo``: an environment (dev, test, prod...)."""

    id: str
    name: str
    description: str | None = None
    max_cloud_containers: int | None = None
    default: bool | None = None


class EnvironmentCreateRequest(RequestModel):
    """Body of ``POST /orchestration/environments``; also creates a Custom workspace."""

    name: str
    workspace_name: str
    description: str | None = None
    max_cloud_containers: int = Field(default=0, ge=0)
    owner: str | None = None


class EnvironmentUpdateRequest(RequestModel):
    """Body of ``PUT /orchestration/environments/{Id}``."""

    name: str
    description: str | None = None
    max_cloud_containers: int | None = Field(default=None, ge=0)


class WorkspaceInfo(WireModel):
    """``WorkspaceInfo``: the short (list) form of a workspace, embedded in most objects."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    owner: str | None = None
    type: Literal["shared", "personal", "custom"] | None = None
    environment: EnvironmentInfo | None = None
    protected_artifact_update: bool | None = None


class Workspace(WireModel):
    """``Workspace``: the long form returned by ``POST /orchestration/workspaces``."""

    id: str
    name: str
    description: str | None = None
    create_date: datetime
    update_date: datetime
    owner: str | None = None
    owner_full_name: str
    type: Literal["Shared", "Personal", "Custom"]
    environment_id: str


class WorkspaceCreateRequest(RequestModel):
    """``CreateWorkspaceRequest``."""

    name: str
    environment_id: str
    description: str | None = None
    owner: str | None = None


class WorkspaceUpdateRequest(RequestModel):
    """Body of ``PUT /orchestration/workspaces/{id}``."""

    name: str
    description: str | None = None
    owner: str | None = None
    protected_artifact_update: bool | None = None


# --------------------------------------------------------------------------- artifacts


class ArtifactParameter(WireModel):
    """``ArtifactParameter``: a context parameter the artifact declares."""

    name: str
    value: str | None = None
    type: str
    required: bool
    comment: str | None = None


class RepositoryCommit(WireModel):
    """``RepositoryCommitData``: the source commit an artifact version was built from."""

    id: str
    date: datetime
    author: str


class SourcesRepository(WireModel):
    """``SourcesRepositoryData``: where an artifact version's sources live."""

    project: str
    branch: str | None = None
    commit: RepositoryCommit | None = None


class Artifact(WireModel):
    """``Artifact``. ``versions`` are newest first."""

    id: str
    name: str
    type: ArtifactType
    versions: list[str]
    workspace: WorkspaceInfo


class ArtifactVersion(WireModel):
    """``ArtifactVersion``: one published version of an artifact, with its parameters."""

    id: str
    name: str | None = None
    version: str
    type: ArtifactType
    publisher: str
    marketplace_product: str
    parameters: list[ArtifactParameter]
    workspace: WorkspaceInfo
    description: str | None = None
    create_date: datetime
    repository: SourcesRepository | None = None
    publisher_type: UserType


class ArtifactRef(WireModel):
    """``BaseArtifactVersion``: the artifact (and version) a task runs."""

    id: str
    name: str | None = None
    version: str


class ArtifactRequest(RequestModel):
    """``ArtifactRequest``: the artifact a task should run, in create/replace bodies."""

    id: str
    version: str


# --------------------------------------------------------------------------- tasks


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


# --------------------------------------------------------------------------- plans


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


class Plan(WireModel):
    """``Plan``: tasks chained in steps."""

    id: str
    name: str
    workspace: WorkspaceInfo | None = None
    create_date: datetime
    update_date: datetime | None = None
    author: str
    steps: list[Step]
    author_type: UserType | None = None


class PlanRequest(RequestModel):
    """``PlanRequest``: body of plan create and full-replacement PUT."""

    name: str
    workspace_id: str
    steps: list[Step]


class PlanTask(WireModel):
    """``PlanTask``: a task inside a plan's chart."""

    id: str | None = None
    name: str | None = None
    version: str | None = None
    destination: str | None = None
    workspace_id: str | None = None
    abstract_plan_id: str | None = None
    artifact: ArtifactRef | None = None
    task_pause_details: TaskPauseDetails | None = None


class PlanStep(WireModel):
    """``PlanStep``: a node of a plan's chart (a linked list through ``nextStep``)."""

    id: str | None = None
    abstract_step_id: str | None = None
    name: str | None = None
    status: Literal["SUCCESS", "PARTIAL_SUCCESS", "FAIL", "PROCEED"] | None = None
    step_on_exception: PlanStep | None = None
    next_step: PlanStep | None = None
    flows: list[PlanTask] | None = None
    note: str | None = None
    task_ids: list[str] | None = None


class PlanSummary(WireModel):
    """``PlanExecutableDetails``: a plan list item and the answer of ``GET .../plans/{id}``."""

    executable: str
    name: str
    workspace: WorkspaceInfo | None = None
    chart: PlanStep | None = None
    status: Literal["executing", "execution_successful", "execution_failed"] | None = None


# --------------------------------------------------------------------------- schedules


class ScheduleTrigger(WireModel):
    """``ScheduleTrigger``."""

    name: str
    type: Literal["ONCE", "DAILY", "WEEKLY", "MONTHLY", "CRON"]
    interval: int | None = None
    start_date: str | None = None
    start_time: str | None = None
    time_zone: str | None = None
    at_times: dict[str, Any] | None = None
    at_days: dict[str, Any] | None = None
    cron_expression: str | None = None
    timeout: int | None = None


class Schedule(WireModel):
    """``Schedule``: a reusable schedule a task or plan can be bound to."""

    id: str
    triggers: list[ScheduleTrigger] | None = None
    environment_id: str
    executable_id: str | None = None
    executable_type: str | None = None
    description: str | None = None


class ScheduleCreateRequest(RequestModel):
    """Body of ``POST /orchestration/schedules``."""

    environment_id: str
    trigger: ScheduleTrigger
    description: str | None = None


class ScheduleCreated(WireModel):
    """Answer of ``POST /orchestration/schedules``."""

    id: str


class TaskScheduleBinding(RequestModel):
    """Body of ``PUT /orchestration/executables/tasks/{taskId}/schedule``."""

    schedule_id: str


# --------------------------------------------------------------------------- connections, resources


class ConnectionParameter(WireModel):
    """``ConnectionParameter``. ``encrypted`` values are secrets: never log or report them."""

    name: str
    value: str | None = None
    encrypted: bool | None = None

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Secret values (encrypted, or named like a password or key) never show in repr()/str().
        from promoter.talend.masking import MASK, is_secret_parameter

        secret = is_secret_parameter(self.name, self.encrypted)
        for key, value in super().__repr_args__():
            yield key, (MASK if secret and key == "value" and value is not None else value)


class Connection(WireModel):
    """``ConnectionDetails``: a connection of an app (database, SaaS...) in a workspace."""

    id: str
    name: str
    app: str
    parameters: list[ConnectionParameter]
    workspace: WorkspaceInfo
    create_date: datetime
    update_date: datetime | None = None


class ConnectionCreateRequest(RequestModel):
    """``CreateConnectionRequest``."""

    name: str
    workspace_id: str
    app: str
    parameters: list[ConnectionParameter]


class ConnectionUpdateRequest(RequestModel):
    """``UpdateConnectionRequest``."""

    name: str | None = None
    parameters: list[ConnectionParameter] | None = None


class Resource(WireModel):
    """``Resource``: a file or resource a task may use."""

    id: str
    name: str
    workspace_info: WorkspaceInfo
    file: bool


# --------------------------------------------------------------------------- promotions


class PromotionDefinition(WireModel):
    """``PromotionExecutableDetails``: a promotion between a pair of environments."""

    executable: str
    name: str
    source_environment: EnvironmentInfo | None = None
    target_environment: EnvironmentInfo | None = None


class PromotionCreateRequest(RequestModel):
    """``CreatePromotionRequest``: one definition per (source, target) pair."""

    source_environment_id: str
    target_environment_id: str


class PromotionAdvancedInfo(WireModel):
    """``PromotionAdvancedInfo``."""

    id: str | None = None
    name: str | None = None
    workspace_id: str | None = None
    type: str | None = None


class PromotionAnalysisRequest(RequestModel):
    """``PromotionExecutionDetails``: body of the analysis (dry run) ``POST .../promotions/{id}``."""

    keep_target_run_profiles: bool | None = None
    keep_target_resources: bool | None = None
    context: str | None = None
    promotion_advanced_info: PromotionAdvancedInfo | None = None


class AdvancedPromotionSpec(WireModel):
    """``AdvancedPromotionSpec``: narrows a promotion to one artifact (for FLOW, a task id)."""

    artifact_id: str | None = None
    artifact_type: str | None = None


class PromotionRunRequest(RequestModel):
    """``PromotionExecutableTaskV26``: body of ``POST /processing/executions/promotions``."""

    executable: str
    keep_target_resources: bool | None = None
    keep_target_run_profiles: bool | None = None
    advanced: AdvancedPromotionSpec | None = None
    context: str | None = Field(default=None, max_length=255)


class ReportMessage(WireModel):
    """``Message``."""

    info: str | None = None
    level: str | None = None


class Report(WireModel):
    """``Report``: what analysis or promotion did (or would do) to one object."""

    status: str | None = None
    messages: list[ReportMessage] | None = None


class FlowPromotionResult(WireModel):
    """``FlowPromotionResult``: a task in a promotion report."""

    id: str | None = None
    target_id: str | None = None
    name: str | None = None
    type: str | None = None
    analyze_report: Report | None = None
    promotion_report: Report | None = None
    target_version: str | None = None
    version: int | None = None
    job_type: str | None = None
    workspace_id: str | None = None
    artifact_id: str | None = None


class ArtifactPromotionResult(WireModel):
    """``ArtifactPromotionResult``: a plan, action, connection or resource in a promotion report."""

    id: str | None = None
    target_id: str | None = None
    name: str | None = None
    type: str | None = None
    analyze_report: Report | None = None
    promotion_report: Report | None = None
    used_by: list[FlowPromotionResult] | None = None
    target_version: str | None = None
    version: str | None = None
    versions: list[ArtifactPromotionResult] | None = None
    job_type: str | None = None
    workspace_id: str | None = None
    artifact_id: str | None = None


class RuntimePromotionResult(WireModel):
    """``RuntimePromotionResult``."""

    id: str | None = None
    target_id: str | None = None
    name: str | None = None
    type: str | None = None
    analyze_report: Report | None = None
    promotion_report: Report | None = None


class WorkspacePromotionResult(WireModel):
    """``WorkspacePromotionResult``: one workspace's part of a promotion report."""

    id: str | None = None
    target_id: str | None = None
    name: str | None = None
    type: str | None = None
    analyze_report: Report | None = None
    promotion_report: Report | None = None
    flows: list[FlowPromotionResult] | None = None
    plans: list[ArtifactPromotionResult] | None = None
    actions: list[ArtifactPromotionResult] | None = None
    connections: list[ArtifactPromotionResult] | None = None
    resources: list[ArtifactPromotionResult] | None = None
    workspace_type: str | None = None


class PromotionReport(WireModel):
    """``PromotionExecutionStatusV26``: the report of a promotion analysis or run."""

    execution_id: str
    start_timestamp: datetime | None = None
    trigger_timestamp: datetime
    finish_timestamp: datetime | None = None
    user_id: str
    user_type: str
    promotion_id: str | None = None
    keep_target_resources: bool | None = None
    keep_target_run_profiles: bool | None = None
    advanced: AdvancedPromotionSpec | None = None
    defective: bool | None = None
    status: str | None = None
    status_message: str | None = None
    workspaces: list[WorkspacePromotionResult] | None = None
    context: str | None = None


class PromotionExecution(WireModel):
    """``Execution``: answer of ``POST /processing/executions/promotions``.

    ``execution_report`` is present when the run finished quickly (201); otherwise (202) poll
    ``GET /processing/executions/promotions/{executionId}``.
    """

    execution_id: str | None = None
    execution_report: PromotionReport | None = None


# --------------------------------------------------------------------------- executions


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


# --------------------------------------------------------------------------- logs


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
