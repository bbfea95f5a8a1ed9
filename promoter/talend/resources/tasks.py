"""Tasks: create, read-modify-write, run configurations, schedules and pauses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from promoter.talend.errors import NotFound, TalendError
from promoter.talend.models import (
    Page,
    Schedule,
    Task,
    TaskCreateRequest,
    TaskPauseRequest,
    TaskRunConfig,
    TaskScheduleBinding,
    TaskSearchRequest,
    TaskSummary,
    TaskUpdateRequest,
)
from promoter.talend.paging import MAX_PAGE_SIZE, Paginator
from promoter.talend.resources.base import Resource, matching, nothing, one, page_of, paginator
from promoter.talend.transport import logger


class TasksAPI(Resource):
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
        return paginator(self._t, self.PATH, params, TaskSummary, limit)

    def search(self, request: TaskSearchRequest | None = None) -> Paginator[TaskSummary]:
        """Tasks matching ``POST .../tasks/search`` filters (paged through the body)."""
        base = request if request is not None else TaskSearchRequest()
        parse = page_of(TaskSummary)

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
        return self._t.call("GET", self.ONE, path_params={"taskId": task_id}, parse=one(Task))

    def create(self, request: TaskCreateRequest) -> Task:
        """Create a task. After an ambiguous failure, the task is looked up by name first."""

        def lookup() -> Task | None:
            found = self.find(request.name, workspace_id=request.workspace_id)
            if found is None:
                return None
            task = self.get(found.executable)
            return matching(
                task,
                lambda t: (t.artifact.id, t.artifact.version) == (request.artifact.id, request.artifact.version)
                and (t.parameters or {}) == {k: str(v) for k, v in (request.parameters or {}).items()}
                and (t.connections or {}) == (request.connections or {})
                and (t.description or None) == (request.description or None),
            )

        return self._t.call("POST", self.PATH, json=request.to_wire(), parse=one(Task), reconcile=lookup)

    def replace(self, task_id: str, request: TaskUpdateRequest) -> Task:
        """Replace a task whole (``PUT``): omitted optional fields become null on the server.

        Prefer :meth:`modify`, which reads the task first.
        """
        return self._t.call(
            "PUT", self.ONE, path_params={"taskId": task_id}, json=request.to_wire(), parse=one(Task)
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
        self._t.call("DELETE", self.ONE, path_params={"taskId": task_id}, parse=nothing)

    def pause(self, task_id: str, pause: bool = True, *, context: str | None = None) -> None:
        """Pause (or, with ``pause=False``, resume) a task."""
        self._t.call(
            "PUT",
            self.ONE + "/pause",
            path_params={"taskId": task_id},
            json=TaskPauseRequest(pause=pause, pause_context=context).to_wire(),
            parse=nothing,
        )

    def get_run_config(self, task_id: str) -> TaskRunConfig | None:
        """A task's run configuration (trigger, runtime...), or ``None`` when it has none."""
        try:
            return self._t.call(
                "GET", self.ONE + "/run-config", path_params={"taskId": task_id}, parse=one(TaskRunConfig)
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
            parse=one(TaskRunConfig),
        )

    def delete_run_config(self, task_id: str) -> None:
        """Remove a task's run configuration."""
        self._t.call("DELETE", self.ONE + "/run-config", path_params={"taskId": task_id}, parse=nothing)

    def get_schedule(self, task_id: str) -> Schedule | None:
        """The schedule a task is bound to, or ``None``."""
        try:
            return self._t.call(
                "GET", self.ONE + "/schedule", path_params={"taskId": task_id}, parse=one(Schedule)
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
            parse=nothing,
        )

    def unbind_schedule(self, task_id: str) -> None:
        """Unbind a task from its schedule."""
        self._t.call("DELETE", self.ONE + "/schedule", path_params={"taskId": task_id}, parse=nothing)


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
