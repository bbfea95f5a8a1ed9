"""The typed resource groups of :class:`~promoter.talend.client.TalendClient`.

One class per kind of Talend Cloud object, each method one API call (or a documented handful),
returning the models of :mod:`promoter.talend.models`. Paged lists return a
:class:`~promoter.talend.paging.Paginator`; the three lists Talend returns as a bare array
(environments, workspaces, promotion definitions) return a ``list``.

Creates, execution starts and promotion runs are not idempotent. Each create carries a look-up
(the object by name in its workspace or environment; an execution by its task and start time)
that the transport runs after an ambiguous failure before deciding to send the call again — so
nothing is created or run twice. Names are what identifies an object for these look-ups, as they
do for Talend's own promotions; an object found by name counts as the create's outcome only if it
holds what the create sent (otherwise the name was already taken, the create is sent again and
the server answers 409 as it would have without the failure).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar, cast

import httpx
import pydantic

from promoter.talend.errors import (
    Conflict,
    NotFound,
    TalendAPIError,
    TalendError,
    WaitTimeoutError,
)
from promoter.talend.masking import register_connection_parameters
from promoter.talend.models import (
    Artifact,
    ArtifactType,
    ArtifactVersion,
    Connection,
    ConnectionCreateRequest,
    ConnectionParameter,
    ConnectionUpdateRequest,
    EnvironmentCreateRequest,
    EnvironmentInfo,
    EnvironmentUpdateRequest,
    ExecutionCreated,
    ExecutionStartRequest,
    ExecutionStatus,
    LogEntry,
    LogPage,
    Page,
    Plan,
    PlanRequest,
    PlanSummary,
    PromotionAnalysisRequest,
    PromotionCreateRequest,
    PromotionDefinition,
    PromotionExecution,
    PromotionReport,
    PromotionReportStatus,
    PromotionRunRequest,
    Schedule,
    ScheduleCreated,
    ScheduleCreateRequest,
    Task,
    TaskCreateRequest,
    TaskExecution,
    TaskExecutionFilters,
    TaskExecutionSummary,
    TaskPauseRequest,
    TaskRunConfig,
    TaskScheduleBinding,
    TaskSearchRequest,
    TaskSummary,
    TaskUpdateRequest,
    Workspace,
    WorkspaceCreateRequest,
    WorkspaceInfo,
    WorkspaceUpdateRequest,
)
from promoter.talend.paging import MAX_PAGE_SIZE, Paginator
from promoter.talend.retries import is_retryable
from promoter.talend.transport import Transport, logger

__all__ = [
    "ArtifactsAPI",
    "ConnectionsAPI",
    "EnvironmentsAPI",
    "ExecutionsAPI",
    "LogsAPI",
    "PlansAPI",
    "PromotionsAPI",
    "SchedulesAPI",
    "TasksAPI",
    "WorkspacesAPI",
    "fiql",
]

M = TypeVar("M", bound=pydantic.BaseModel)
R = TypeVar("R")

#: Seconds of clock difference tolerated when matching an execution to the start that made it.
START_TIME_TOLERANCE = 2.0

#: The longest pause between runs of a promotion refused because its environment pair is busy.
BUSY_PAIR_MAX_PAUSE = 15.0


# --------------------------------------------------------------------------- parsing helpers


def _one(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate(response.json())


def _many(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter = pydantic.TypeAdapter(list[model])  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> list[M]:
        items: list[M] = adapter.validate_python(response.json())
        return items

    return parse


def _page(model: type[M]) -> Callable[[httpx.Response], Page[M]]:
    page_model = Page[model]  # type: ignore[valid-type]

    def parse(response: httpx.Response) -> Page[M]:
        page: Page[M] = page_model.model_validate(response.json())
        return page

    return parse


def _nothing(response: httpx.Response) -> None:
    return None


def fiql(**terms: str | None) -> str | None:
    """A FIQL ``query`` ANDing ``field==value`` terms (``environment__name`` → ``environment.name``).

    Terms whose value is ``None`` are left out; ``None`` when none remain. Values cannot contain
    ``;`` or ``,`` (FIQL's operators).
    """
    parts = []
    for field, value in terms.items():
        if value is None:
            continue
        if ";" in value or "," in value:
            raise ValueError(f"cannot search for {value!r}: FIQL values cannot contain ';' or ','")
        parts.append(f"{field.replace('__', '.')}=={value}")
    return ";".join(parts) or None


def _matching(found: R | None, holds_what_was_sent: Callable[[R], bool]) -> R | None:
    """``found`` if it holds what a create sent: then it is the create's outcome, else ``None``."""
    if found is None:
        return None
    if holds_what_was_sent(found):
        return found
    logger.info("an object of that name exists but differs from what was sent; it is not this create's")
    return None


def _visible_parameters(parameters: Iterable[ConnectionParameter]) -> dict[str, str | None]:
    """Connection parameters that can be compared: Talend may hide encrypted values."""
    return {p.name: p.value for p in parameters if not p.encrypted}


def _plan_task_ids(plan: PlanSummary) -> set[str]:
    """Every task id in a plan's chart."""
    ids: set[str] = set()
    pending = [plan.chart] if plan.chart else []
    while pending:
        step = pending.pop()
        ids.update(step.task_ids or [])
        ids.update(flow.id for flow in step.flows or [] if flow.id)
        pending.extend(s for s in (step.next_step, step.step_on_exception) if s is not None)
    return ids


def _poll_failure(what: str, exc: TalendError, poll_interval: float) -> float:
    """How long to pause after a poll of ``what`` failed transiently; re-raises otherwise.

    A poll is a read: a 429 or a transient failure (5xx, no answer) that outlasted the call's own
    retries says nothing about what is polled, so the wait goes on until its own timeout.
    """
    if not is_retryable(exc):
        raise exc
    pause = poll_interval
    if isinstance(exc, TalendAPIError) and exc.retry_after is not None:
        pause = max(pause, exc.retry_after)
    logger.info("polling %s failed (%s); polling again in %.1fs", what, exc.message, pause)
    return pause


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Resource:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._t.base_url}>"


# --------------------------------------------------------------------------- environments, workspaces


class EnvironmentsAPI(_Resource):
    """Environments (``/orchestration/environments``). Listed as a bare array; no GET by id."""

    PATH = "/orchestration/environments"

    def list(self, query: str | None = None) -> list[EnvironmentInfo]:
        """Every environment, or those matching a FIQL ``query`` (e.g. ``name==dev``)."""
        return self._t.call("GET", self.PATH, params={"query": query}, parse=_many(EnvironmentInfo))

    def get(self, environment_id: str) -> EnvironmentInfo:
        """The environment with this id; :class:`NotFound` when there is none."""
        found = self.list(fiql(id=environment_id))
        if not found:
            raise NotFound(
                status=404, method="GET", path=self.PATH, message=f"no environment has id {environment_id!r}"
            )
        return found[0]

    def get_by_name(self, name: str) -> EnvironmentInfo | None:
        """The environment called ``name``, or ``None``."""
        found = self.list(fiql(name=name))
        return found[0] if found else None

    def create(self, request: EnvironmentCreateRequest) -> EnvironmentInfo:
        """Create an environment (and its Custom workspace ``request.workspace_name``)."""
        return self._t.call(
            "POST",
            self.PATH,
            json=request.to_wire(),
            parse=_one(EnvironmentInfo),
            reconcile=lambda: _matching(
                self.get_by_name(request.name),
                lambda env: (env.description or None) == (request.description or None),
            ),
        )

    def update(self, environment_id: str, request: EnvironmentUpdateRequest) -> None:
        """Replace an environment's name, description and container count."""
        self._t.call(
            "PUT",
            self.PATH + "/{id}",
            path_params={"id": environment_id},
            json=request.to_wire(),
            parse=_nothing,
        )

    def delete(self, environment_id: str) -> None:
        """Delete an environment."""
        self._t.call("DELETE", self.PATH + "/{id}", path_params={"id": environment_id}, parse=_nothing)


class WorkspacesAPI(_Resource):
    """Workspaces (``/orchestration/workspaces``): listed as a bare array, filtered with FIQL."""

    PATH = "/orchestration/workspaces"

    def list(
        self,
        query: str | None = None,
        *,
        name: str | None = None,
        environment_id: str | None = None,
        environment_name: str | None = None,
    ) -> list[WorkspaceInfo]:
        """Workspaces matching a FIQL ``query`` or the given filters (all of them when none)."""
        if query is None:
            query = fiql(environment__id=environment_id, environment__name=environment_name, name=name)
        return self._t.call("GET", self.PATH, params={"query": query}, parse=_many(WorkspaceInfo))

    def get_by_name(
        self,
        name: str,
        *,
        environment_id: str | None = None,
        environment_name: str | None = None,
    ) -> WorkspaceInfo | None:
        """The workspace called ``name`` in the given environment, or ``None``.

        Without an environment the first workspace of that name in any environment is returned.
        """
        found = self.list(name=name, environment_id=environment_id, environment_name=environment_name)
        return found[0] if found else None

    def create(self, request: WorkspaceCreateRequest) -> WorkspaceInfo:
        """Create a workspace; returns it in the list form every other call uses.

        The server answers the long form (:class:`~promoter.talend.models.Workspace`), which
        lacks the environment's name: the workspace is read back from the list (one more GET).
        """

        def lookup() -> WorkspaceInfo | None:
            return self.get_by_name(request.name, environment_id=request.environment_id)

        created = self._t.call(
            "POST", self.PATH, json=request.to_wire(), parse=_workspace_info, reconcile=lookup
        )
        if created.environment is None:
            return lookup() or created
        return created

    def update(self, workspace_id: str, request: WorkspaceUpdateRequest) -> None:
        """Replace a workspace's name, description and owner."""
        self._t.call(
            "PUT", self.PATH + "/{id}", path_params={"id": workspace_id}, json=request.to_wire(), parse=_nothing
        )

    def delete(self, workspace_id: str) -> None:
        """Delete a (empty) workspace."""
        self._t.call("DELETE", self.PATH + "/{id}", path_params={"id": workspace_id}, parse=_nothing)


def _workspace_info(response: httpx.Response) -> WorkspaceInfo:
    """The list form of the long form a workspace create answers (without its environment)."""
    created = Workspace.model_validate(response.json())
    kind = cast(Literal["shared", "personal", "custom"], created.type.lower())
    return WorkspaceInfo(
        id=created.id, name=created.name, description=created.description, owner=created.owner, type=kind
    )


# --------------------------------------------------------------------------- artifacts


class ArtifactsAPI(_Resource):
    """Artifacts and their versions (``/orchestration/artifacts``). Talend has no upload API."""

    PATH = "/orchestration/artifacts"

    def list(
        self,
        *,
        environment_id: str | None = None,
        workspace_id: str | None = None,
        name: str | None = None,
        types: Iterable[ArtifactType | str] | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[Artifact]:
        """Artifacts, filtered; each with its versions (newest first)."""
        params: dict[str, Any] = {
            "environmentId": environment_id,
            "workspaceId": workspace_id,
            "name": name,
            "types": [str(t) for t in types] if types is not None else None,
        }
        return _paginator(self._t, self.PATH, params, Artifact, limit)

    def get(self, artifact_id: str) -> Artifact:
        """One artifact."""
        return self._t.call("GET", self.PATH + "/{id}", path_params={"id": artifact_id}, parse=_one(Artifact))

    def get_version(self, artifact_id: str, version: str) -> ArtifactVersion:
        """One version of an artifact, with its parameters."""
        return self._t.call(
            "GET",
            self.PATH + "/{id}/versions/{version}",
            path_params={"id": artifact_id, "version": version},
            parse=_one(ArtifactVersion),
        )

    def delete(self, artifact_id: str) -> None:
        """Delete an artifact and all its versions."""
        self._t.call("DELETE", self.PATH + "/{id}", path_params={"id": artifact_id}, parse=_nothing)

    def delete_version(self, artifact_id: str, version: str) -> None:
        """Delete one version of an artifact."""
        self._t.call(
            "DELETE",
            self.PATH + "/{id}/versions/{version}",
            path_params={"id": artifact_id, "version": version},
            parse=_nothing,
        )


def _paginator(
    transport: Transport,
    template: str,
    params: dict[str, Any],
    model: type[M],
    limit: int,
    path_params: dict[str, str] | None = None,
) -> Paginator[M]:
    parse = _page(model)

    def fetch(offset: int, page_limit: int) -> Page[M]:
        return transport.call(
            "GET",
            template,
            path_params=path_params,
            params={**params, "offset": offset, "limit": page_limit},
            parse=parse,
        )

    return Paginator(fetch, limit=limit)


# --------------------------------------------------------------------------- tasks


class TasksAPI(_Resource):
    """Tasks (``/orchestration/executables/tasks``), their run configuration and schedule."""

    PATH = "/orchestration/executables/tasks"
    ONE = PATH + "/{taskId}"

    def list(
        self,
        *,
        environment_id: str | None = None,
        workspace_id: str | None = None,
        name: str | None = None,
        artifact_id: str | None = None,
        runtime_type: str | None = None,
        runtime_id: str | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[TaskSummary]:
        """Task list items (``executable`` is the id), filtered."""
        params: dict[str, Any] = {
            "environmentId": environment_id,
            "workspaceId": workspace_id,
            "name": name,
            "artifactId": artifact_id,
            "runtimeType": runtime_type,
            "runtimeId": runtime_id,
        }
        return _paginator(self._t, self.PATH, params, TaskSummary, limit)

    def search(self, request: TaskSearchRequest | None = None) -> Paginator[TaskSummary]:
        """Tasks matching ``POST .../tasks/search`` filters (paged through the body)."""
        base = request if request is not None else TaskSearchRequest()
        parse = _page(TaskSummary)

        def fetch(offset: int, limit: int) -> Page[TaskSummary]:
            body = base.model_copy(update={"offset": offset, "limit": limit}).to_wire()
            return self._t.call("POST", self.PATH + "/search", json=body, parse=parse, idempotent=True)

        return Paginator(fetch, limit=base.limit or MAX_PAGE_SIZE)

    def find(self, name: str, *, workspace_id: str) -> TaskSummary | None:
        """The task called exactly ``name`` in a workspace, or ``None``."""
        for item in self.search(TaskSearchRequest(name=name, workspace_id=workspace_id)):
            if item.name == name:
                return item
        return None

    def get(self, task_id: str) -> Task:
        """One task in full."""
        return self._t.call("GET", self.ONE, path_params={"taskId": task_id}, parse=_one(Task))

    def create(self, request: TaskCreateRequest) -> Task:
        """Create a task. After an ambiguous failure, the task is looked up by name first."""

        def lookup() -> Task | None:
            found = self.find(request.name, workspace_id=request.workspace_id)
            if found is None:
                return None
            task = self.get(found.executable)
            return _matching(
                task,
                lambda t: (t.artifact.id, t.artifact.version) == (request.artifact.id, request.artifact.version)
                and (t.parameters or {}) == {k: str(v) for k, v in (request.parameters or {}).items()}
                and (t.connections or {}) == (request.connections or {})
                and (t.description or None) == (request.description or None),
            )

        return self._t.call("POST", self.PATH, json=request.to_wire(), parse=_one(Task), reconcile=lookup)

    def replace(self, task_id: str, request: TaskUpdateRequest) -> Task:
        """Replace a task whole (``PUT``): omitted optional fields become null on the server.

        Prefer :meth:`modify`, which reads the task first.
        """
        return self._t.call(
            "PUT", self.ONE, path_params={"taskId": task_id}, json=request.to_wire(), parse=_one(Task)
        )

    def modify(
        self,
        task_id: str,
        change: Callable[[TaskUpdateRequest], TaskUpdateRequest | None],
        *,
        keep_run_config: bool = True,
    ) -> Task:
        """Read a task, ``change`` its replacement body, write it back and check the result.

        ``change`` edits the body in place (or returns a new one). When the artifact version
        changes, Talend may reset the run configuration; with ``keep_run_config`` the previous one
        is written back if that happened.
        """
        task = self.get(task_id)
        body = TaskUpdateRequest.from_task(task)
        changed = change(body)
        if changed is not None:
            body = changed
        run_config: TaskRunConfig | None = None
        version_changes = body.artifact.version != task.artifact.version
        if keep_run_config and version_changes:
            run_config = self.get_run_config(task_id)
        updated = self.replace(task_id, body)
        _verify_task(updated, body)
        if run_config is not None and self.get_run_config(task_id) != run_config:
            logger.info("task %s lost its run configuration on upgrade; restoring it", task_id)
            self.put_run_config(task_id, run_config)
        return updated

    def delete(self, task_id: str) -> None:
        """Delete a task."""
        self._t.call("DELETE", self.ONE, path_params={"taskId": task_id}, parse=_nothing)

    def pause(self, task_id: str, pause: bool = True, *, context: str | None = None) -> None:
        """Pause (or, with ``pause=False``, resume) a task."""
        self._t.call(
            "PUT",
            self.ONE + "/pause",
            path_params={"taskId": task_id},
            json=TaskPauseRequest(pause=pause, pause_context=context).to_wire(),
            parse=_nothing,
        )

    def get_run_config(self, task_id: str) -> TaskRunConfig | None:
        """A task's run configuration (trigger, runtime...), or ``None`` when it has none."""
        try:
            return self._t.call(
                "GET", self.ONE + "/run-config", path_params={"taskId": task_id}, parse=_one(TaskRunConfig)
            )
        except NotFound:
            return None

    def put_run_config(self, task_id: str, config: TaskRunConfig) -> TaskRunConfig:
        """Set a task's run configuration."""
        return self._t.call(
            "PUT",
            self.ONE + "/run-config",
            path_params={"taskId": task_id},
            json=config.to_wire(),
            parse=_one(TaskRunConfig),
        )

    def delete_run_config(self, task_id: str) -> None:
        """Remove a task's run configuration."""
        self._t.call("DELETE", self.ONE + "/run-config", path_params={"taskId": task_id}, parse=_nothing)

    def get_schedule(self, task_id: str) -> Schedule | None:
        """The schedule a task is bound to, or ``None``."""
        try:
            return self._t.call(
                "GET", self.ONE + "/schedule", path_params={"taskId": task_id}, parse=_one(Schedule)
            )
        except NotFound:
            return None

    def bind_schedule(self, task_id: str, schedule_id: str) -> None:
        """Bind a task to a schedule."""
        self._t.call(
            "PUT",
            self.ONE + "/schedule",
            path_params={"taskId": task_id},
            json=TaskScheduleBinding(schedule_id=schedule_id).to_wire(),
            parse=_nothing,
        )

    def unbind_schedule(self, task_id: str) -> None:
        """Unbind a task from its schedule."""
        self._t.call("DELETE", self.ONE + "/schedule", path_params={"taskId": task_id}, parse=_nothing)


def _verify_task(task: Task, body: TaskUpdateRequest) -> None:
    """Check that a replaced task holds what was sent (Talend's PUT has surprised before)."""
    expected: dict[str, Any] = {
        "name": body.name,
        "artifact version": body.artifact.version,
        "parameters": body.parameters or {},
        "connections": body.connections or {},
    }
    actual: dict[str, Any] = {
        "name": task.name,
        "artifact version": task.artifact.version,
        "parameters": task.parameters or {},
        "connections": task.connections or {},
    }
    wrong = [key for key in expected if expected[key] != actual[key]]
    if wrong:
        raise TalendError(
            f"task {task.id} does not hold what was written: {', '.join(wrong)} differ",
            hint="read the task again and compare; another change may have raced with this one",
        )


# --------------------------------------------------------------------------- plans, schedules


class PlansAPI(_Resource):
    """Plans (``/orchestration/executables/plans``): tasks chained in steps."""

    PATH = "/orchestration/executables/plans"
    ONE = PATH + "/{planId}"

    def list(
        self,
        *,
        environment_id: str | None = None,
        workspace_id: str | None = None,
        name: str | None = None,
        task_id: str | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[PlanSummary]:
        """Plan list items (``executable`` is the id), filtered."""
        params: dict[str, Any] = {
            "environmentId": environment_id,
            "workspaceId": workspace_id,
            "name": name,
            "taskId": task_id,
        }
        return _paginator(self._t, self.PATH, params, PlanSummary, limit)

    def get(self, plan_id: str) -> PlanSummary:
        """One plan, with its chart."""
        return self._t.call("GET", self.ONE, path_params={"planId": plan_id}, parse=_one(PlanSummary))

    def find(self, name: str, *, workspace_id: str) -> PlanSummary | None:
        """The plan called exactly ``name`` in a workspace, or ``None``."""
        for item in self.list(name=name, workspace_id=workspace_id):
            if item.name == name:
                return item
        return None

    def create(self, request: PlanRequest) -> PlanSummary:
        """Create a plan; returns it in the list form (the id is ``executable``), without chart.

        After an ambiguous failure, the plan is looked up by name first.
        """
        return self._t.call(
            "POST",
            self.PATH,
            json=request.to_wire(),
            parse=_plan_summary,
            reconcile=lambda: _short(
                _matching(
                    self.find(request.name, workspace_id=request.workspace_id),
                    lambda plan: _plan_task_ids(plan) == {t for step in request.steps for t in step.task_ids},
                )
            ),
        )

    def replace(self, plan_id: str, request: PlanRequest) -> Plan:
        """Replace a plan whole."""
        return self._t.call(
            "PUT", self.ONE, path_params={"planId": plan_id}, json=request.to_wire(), parse=_one(Plan)
        )

    def delete(self, plan_id: str) -> None:
        """Delete a plan."""
        self._t.call("DELETE", self.ONE, path_params={"planId": plan_id}, parse=_nothing)


def _plan_summary(response: httpx.Response) -> PlanSummary:
    """The list form of the plan a create answers (without the chart, which it lacks)."""
    plan = Plan.model_validate(response.json())
    return PlanSummary(executable=plan.id, name=plan.name, workspace=plan.workspace)


def _short(found: PlanSummary | None) -> PlanSummary | None:
    """A listed plan as :func:`_plan_summary` makes it, so that both ways answer the same."""
    if found is None:
        return None
    return PlanSummary(executable=found.executable, name=found.name, workspace=found.workspace)


class SchedulesAPI(_Resource):
    """Reusable schedules (``/orchestration/schedules``) that tasks and plans are bound to."""

    PATH = "/orchestration/schedules"
    ONE = PATH + "/{scheduleId}"

    def list(
        self,
        *,
        environment_id: str | None = None,
        description_filter: str | None = None,
        only_bound: bool | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[Schedule]:
        """Schedules, filtered (``description_filter`` is a regular expression)."""
        params: dict[str, Any] = {
            "environmentId": environment_id,
            "descriptionFilter": description_filter,
            "onlyBound": None if only_bound is None else str(only_bound).lower(),
        }
        return _paginator(self._t, self.PATH, params, Schedule, limit)

    def get(self, schedule_id: str) -> Schedule:
        """One schedule."""
        return self._t.call("GET", self.ONE, path_params={"scheduleId": schedule_id}, parse=_one(Schedule))

    def create(self, request: ScheduleCreateRequest) -> ScheduleCreated:
        """Create a schedule.

        Schedules have no name: after an ambiguous failure the schedule is looked up by its
        description and trigger name, so give each schedule a unique description — without one a
        dropped connection raises :class:`~promoter.talend.errors.AmbiguousOutcomeError`.
        """
        reconcile: Callable[[], ScheduleCreated | None] | None = None
        description = request.description
        if description:

            def lookup() -> ScheduleCreated | None:
                for schedule in self.list(environment_id=request.environment_id):
                    triggers = [t.name for t in schedule.triggers or []]
                    if schedule.description == description and request.trigger.name in triggers:
                        return ScheduleCreated(id=schedule.id)
                return None

            reconcile = lookup
        return self._t.call(
            "POST", self.PATH, json=request.to_wire(), parse=_one(ScheduleCreated), reconcile=reconcile
        )

    def delete(self, schedule_id: str) -> None:
        """Delete a schedule."""
        self._t.call("DELETE", self.ONE, path_params={"scheduleId": schedule_id}, parse=_nothing)


# --------------------------------------------------------------------------- connections


class ConnectionsAPI(_Resource):
    """Connections (``/orchestration/connections``). Secret parameter values are masked in output."""

    PATH = "/orchestration/connections"
    ONE = PATH + "/{connectionId}"

    def list(
        self,
        *,
        environment_id: str | None = None,
        workspace_id: str | None = None,
        name: str | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[Connection]:
        """Connections, filtered."""
        params: dict[str, Any] = {"environmentId": environment_id, "workspaceId": workspace_id, "name": name}
        return _paginator(self._t, self.PATH, params, Connection, limit)

    def get(self, connection_id: str) -> Connection:
        """One connection."""
        return self._t.call("GET", self.ONE, path_params={"connectionId": connection_id}, parse=_connection)

    def find(self, name: str, *, workspace_id: str) -> Connection | None:
        """The connection called exactly ``name`` in a workspace, or ``None``."""
        for item in self.list(name=name, workspace_id=workspace_id):
            if item.name == name:
                return item
        return None

    def create(self, request: ConnectionCreateRequest) -> Connection:
        """Create a connection. After an ambiguous failure, it is looked up by name first."""
        body = request.to_wire()
        register_connection_parameters(body.get("parameters", []))
        return self._t.call(
            "POST",
            self.PATH,
            json=body,
            parse=_connection,
            reconcile=lambda: _matching(
                self.find(request.name, workspace_id=request.workspace_id),
                lambda found: found.app == request.app
                and _visible_parameters(found.parameters) == _visible_parameters(request.parameters),
            ),
        )

    def update(self, connection_id: str, request: ConnectionUpdateRequest) -> Connection:
        """Update a connection's name and parameters."""
        body = request.to_wire()
        register_connection_parameters(body.get("parameters", []))
        return self._t.call(
            "PUT", self.ONE, path_params={"connectionId": connection_id}, json=body, parse=_connection
        )

    def delete(self, connection_id: str) -> None:
        """Delete a connection (409 while a task uses it)."""
        self._t.call("DELETE", self.ONE, path_params={"connectionId": connection_id}, parse=_nothing)


def _connection(response: httpx.Response) -> Connection:
    data = response.json()
    if isinstance(data, dict) and isinstance(data.get("parameters"), list):
        register_connection_parameters(p for p in data["parameters"] if isinstance(p, dict))
    return Connection.model_validate(data)


# --------------------------------------------------------------------------- promotions


class PromotionsAPI(_Resource):
    """Promotion definitions, their analysis (dry run) and their runs."""

    PATH = "/orchestration/executables/promotions"
    ONE = PATH + "/{promotionId}"
    RUNS = "/processing/executions/promotions"

    def list(self) -> list[PromotionDefinition]:
        """Every promotion definition (a bare array)."""
        return self._t.call("GET", self.PATH, parse=_many(PromotionDefinition))

    def get(self, promotion_id: str) -> PromotionDefinition:
        """One promotion definition."""
        return self._t.call(
            "GET", self.ONE, path_params={"promotionId": promotion_id}, parse=_one(PromotionDefinition)
        )

    def find(self, source_environment_id: str, target_environment_id: str) -> PromotionDefinition | None:
        """The definition promoting from one environment to another, or ``None``."""
        for item in self.list():
            source = item.source_environment.id if item.source_environment else None
            target = item.target_environment.id if item.target_environment else None
            if (source, target) == (source_environment_id, target_environment_id):
                return item
        return None

    def create(self, request: PromotionCreateRequest) -> PromotionDefinition:
        """Create the definition for an environment pair (one per pair; 409 on a duplicate)."""
        return self._t.call(
            "POST",
            self.PATH,
            json=request.to_wire(),
            parse=_one(PromotionDefinition),
            reconcile=lambda: self.find(request.source_environment_id, request.target_environment_id),
        )

    def find_or_create(
        self, source_environment_id: str, target_environment_id: str
    ) -> PromotionDefinition:
        """The definition promoting from one environment to another, created when there is none.

        Another client may create it between the look-up and the create (two promotions to one
        environment at once): Talend answers 409, which means "use the one that exists", and it
        is looked up again.
        """
        found = self.find(source_environment_id, target_environment_id)
        if found is not None:
            return found
        try:
            return self.create(
                PromotionCreateRequest(
                    source_environment_id=source_environment_id,
                    target_environment_id=target_environment_id,
                )
            )
        except Conflict:
            found = self.find(source_environment_id, target_environment_id)
            if found is None:
                raise
            logger.info("promotion %s was created by another client meanwhile; using it", found.executable)
            return found

    def delete(self, promotion_id: str) -> None:
        """Delete a promotion definition."""
        self._t.call("DELETE", self.ONE, path_params={"promotionId": promotion_id}, parse=_nothing)

    def analyze(
        self, promotion_id: str, request: PromotionAnalysisRequest | None = None
    ) -> PromotionReport:
        """Run the analysis only (a dry run): what a promotion would do. Changes nothing."""
        body = (request or PromotionAnalysisRequest()).to_wire()
        return self._t.call(
            "POST",
            self.ONE,
            path_params={"promotionId": promotion_id},
            json=body,
            parse=_one(PromotionReport),
            idempotent=True,  # an analysis writes nothing: safe to send again
        )

    def run(self, request: PromotionRunRequest) -> PromotionExecution:
        """Start a promotion run: the report when it finished at once (201), else its id (202).

        Talend offers no way to list promotion runs, so a run that fails ambiguously (5xx,
        dropped connection) is not sent again: :class:`~promoter.talend.errors.AmbiguousOutcomeError`
        says so, and the analysis tells what remains to promote.
        """
        return self._t.call("POST", self.RUNS, json=request.to_wire(), parse=_one(PromotionExecution))

    def get_report(self, execution_id: str) -> PromotionReport:
        """The report of a promotion run (its status is ``PROMOTION_STARTED`` while it runs)."""
        return self._t.call(
            "GET",
            self.RUNS + "/{executionId}",
            path_params={"executionId": execution_id},
            parse=_one(PromotionReport),
        )

    def wait_for_report(
        self, execution_id: str, *, timeout: float = 1800.0, poll_interval: float = 2.0
    ) -> PromotionReport:
        """Poll a promotion run until it has finished; its final report.

        Polls that fail transiently (429, 5xx, no answer) even after the client's retries are
        waited out until ``timeout``: they say nothing about the run.
        """
        what = f"promotion run {execution_id}"
        deadline = time.monotonic() + timeout
        last: str | None = None
        problem: str | None = None
        while True:
            pause = poll_interval
            try:
                report = self.get_report(execution_id)
            except TalendError as exc:
                pause, problem = _poll_failure(what, exc, poll_interval), exc.message
            else:
                if report.status not in (None, PromotionReportStatus.PROMOTION_STARTED):
                    return report
                last, problem = report.status, None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(what, timeout, last, last_error=problem)
            time.sleep(min(pause, remaining))

    def promote(
        self, request: PromotionRunRequest, *, timeout: float = 1800.0, poll_interval: float = 2.0
    ) -> PromotionReport:
        """Run a promotion and wait for its final report.

        Talend runs one promotion per environment pair at a time and refuses another while one
        runs (409): the run is sent again — after half to one ``poll_interval`` at first, then
        less often — for up to ``timeout`` seconds; a 409 is a refusal, so nothing runs twice.
        Once accepted, the run is waited for up to ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        refusals = 0
        while True:
            try:
                execution = self.run(request)
                break
            except Conflict as busy:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise
                # Half to one poll interval at first, doubling up to BUSY_PAIR_MAX_PAUSE: quick
                # turns after a short run, few requests while a long one (minutes) goes on.
                ceiling = min(poll_interval * 2**refusals, BUSY_PAIR_MAX_PAUSE)
                refusals += 1
                pause = min(random.uniform(ceiling / 2, ceiling), remaining)
                logger.info(
                    "promotion %s is busy (%s); sending the run again in %.1fs",
                    request.executable,
                    busy.server_message or "409",
                    pause,
                )
                time.sleep(pause)
        if execution.execution_report is not None and execution.execution_report.status not in (
            None,
            PromotionReportStatus.PROMOTION_STARTED,
        ):
            return execution.execution_report
        if not execution.execution_id:
            raise TalendError(
                "Talend Cloud accepted the promotion run but gave no execution id",
                hint="check the run in Talend Management Console",
            )
        return self.wait_for_report(execution.execution_id, timeout=timeout, poll_interval=poll_interval)


# --------------------------------------------------------------------------- executions, logs


class ExecutionsAPI(_Resource):
    """Task executions (``/processing``): start, follow, stop, list and search."""

    START = "/processing/executions"
    ONE = START + "/{executionId}"
    FOR_TASK = "/processing/executables/tasks/{taskId}/executions"
    SEARCH = "/processing/executables/tasks/executions"

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self._claimed_lock = threading.Lock()
        self._claimed: set[str] = set()

    def start(self, request: ExecutionStartRequest) -> ExecutionCreated:
        """Start a task. Never starts it twice.

        After an ambiguous failure (5xx, dropped connection, timeout) the task's executions
        triggered since the call began are looked up; one this client has not already accounted
        for is taken as the outcome, and the start is sent again only when there is none.
        """
        since = self._t.server_time() - START_TIME_TOLERANCE
        task_id = request.executable

        def lookup() -> ExecutionCreated | None:
            candidates = [
                item
                for item in self.list_for_task(task_id, from_=int(since * 1000))
                if _aware(item.trigger_timestamp).timestamp() >= since
            ]
            candidates.sort(key=lambda item: _aware(item.trigger_timestamp))
            with self._claimed_lock:
                for item in candidates:
                    if item.execution_id not in self._claimed:
                        self._claimed.add(item.execution_id)
                        return ExecutionCreated(execution_id=item.execution_id)
            return None

        created = self._t.call(
            "POST", self.START, json=request.to_wire(), parse=_one(ExecutionCreated), reconcile=lookup
        )
        with self._claimed_lock:
            self._claimed.add(created.execution_id)
        return created

    def get(self, execution_id: str) -> TaskExecution:
        """An execution's status and details."""
        return self._t.call(
            "GET", self.ONE, path_params={"executionId": execution_id}, parse=_one(TaskExecution)
        )

    def wait(
        self,
        execution_id: str,
        *,
        timeout: float = 3600.0,
        poll_interval: float = 2.0,
        not_found_grace: float = 10.0,
    ) -> TaskExecution:
        """Poll an execution until it ends; its final state (successful or not).

        A 404 during the first ``not_found_grace`` seconds is waited out: for routes and data
        services Talend answers with a deploy receipt that is not readable at once. Polls that
        fail transiently (429, 5xx, no answer) even after the client's retries are waited out
        until ``timeout``: they say nothing about the execution, and must not fail a check.
        """
        what = f"execution {execution_id}"
        started = time.monotonic()
        deadline = started + timeout
        last: ExecutionStatus | None = None
        problem: str | None = None
        while True:
            pause = poll_interval
            try:
                execution = self.get(execution_id)
            except NotFound:
                if time.monotonic() - started > not_found_grace:
                    raise
            except TalendError as exc:
                pause, problem = _poll_failure(what, exc, poll_interval), exc.message
            else:
                if execution.status.is_terminal:
                    return execution
                last, problem = execution.status, None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(what, timeout, last, last_error=problem)
            time.sleep(min(pause, remaining))

    def run(
        self, request: ExecutionStartRequest, *, timeout: float = 3600.0, poll_interval: float = 2.0
    ) -> TaskExecution:
        """Start a task and wait for the execution to end."""
        created = self.start(request)
        return self.wait(created.execution_id, timeout=timeout, poll_interval=poll_interval)

    def stop(self, execution_id: str) -> None:
        """Terminate a running execution."""
        self._t.call("DELETE", self.ONE, path_params={"executionId": execution_id}, parse=_nothing)

    def list_for_task(
        self,
        task_id: str,
        *,
        status: ExecutionStatus | str | None = None,
        last_days: int | None = None,
        from_: int | None = None,
        to: int | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[TaskExecutionSummary]:
        """A task's executions; ``from_``/``to`` are epoch milliseconds, ``last_days`` at most 60."""
        params: dict[str, Any] = {
            "status": str(status) if status is not None else None,
            "lastDays": last_days,
            "from": from_,
            "to": to,
        }
        return _paginator(
            self._t, self.FOR_TASK, params, TaskExecutionSummary, limit, path_params={"taskId": task_id}
        )

    def search(self, filters: TaskExecutionFilters | None = None) -> Paginator[TaskExecutionSummary]:
        """Executions of all tasks matching ``filters`` (environment, workspace, status, tags...)."""
        base = filters if filters is not None else TaskExecutionFilters()
        parse = _page(TaskExecutionSummary)

        def fetch(offset: int, limit: int) -> Page[TaskExecutionSummary]:
            body = base.model_copy(update={"offset": offset, "limit": limit}).to_wire()
            return self._t.call("POST", self.SEARCH, json=body, parse=parse, idempotent=True)

        return Paginator(fetch, limit=base.limit or MAX_PAGE_SIZE)


class LogsAPI(_Resource):
    """Execution logs (``/monitoring/executions/{id}/logs``), paged by ``startIndex``/``nextIndex``."""

    PATH = "/monitoring/executions/{id}/logs"
    MAX_COUNT = 200

    def page(
        self,
        execution_id: str,
        *,
        start_index: int = 0,
        count: int = MAX_COUNT,
        order: Literal["ASC", "DESC"] = "ASC",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> LogPage:
        """One page of log lines (``count`` at most 200)."""
        if not 1 <= count <= self.MAX_COUNT:
            raise ValueError(f"count must be between 1 and {self.MAX_COUNT}, not {count}")
        params: dict[str, Any] = {
            "startIndex": start_index,
            "count": count,
            "order": order,
            "startTime": start_time.isoformat() if start_time else None,
            "endTime": end_time.isoformat() if end_time else None,
        }
        return self._t.call("GET", self.PATH, path_params={"id": execution_id}, params=params, parse=_one(LogPage))

    def pages(
        self,
        execution_id: str,
        *,
        count: int = MAX_COUNT,
        order: Literal["ASC", "DESC"] = "ASC",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> Iterator[LogPage]:
        """Every page of the log, following ``nextIndex`` until the server gives none."""
        index = 0
        while True:
            page = self.page(
                execution_id,
                start_index=index,
                count=count,
                order=order,
                start_time=start_time,
                end_time=end_time,
            )
            yield page
            if page.next_index is None or not page.data or page.next_index <= index:
                return
            index = page.next_index

    def lines(
        self,
        execution_id: str,
        *,
        count: int = MAX_COUNT,
        order: Literal["ASC", "DESC"] = "ASC",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> Iterator[LogEntry]:
        """Every line of an execution's log, oldest first by default."""
        for page in self.pages(
            execution_id, count=count, order=order, start_time=start_time, end_time=end_time
        ):
            yield from page.data
