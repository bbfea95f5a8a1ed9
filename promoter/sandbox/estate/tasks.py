"""Tasks and their run-configs: a task runs one artifact version of its workspace, with
parameters, connections and resources; ``PUT`` is a full replacement."""

from __future__ import annotations

from typing import Any

from promoter.sandbox.errors import ApiError, bad_request, conflict, not_found
from promoter.sandbox.estate.artifacts import Artifacts
from promoter.sandbox.estate.rows import delete_task_rows, iso, new_id, served, utcnow
from promoter.sandbox.store import Row
from promoter.talend import models as m


class Tasks(Artifacts):
    """Tasks, their run-configs and their search."""

    # ------------------------------------------------------------------ tasks

    def task(self, task_id: str) -> Row:
        """A stored task, or 404."""
        task = self.store.get("task", task_id)
        if task is None:
            raise not_found("Task", task_id)
        return task

    def task_model(self, task_id: str) -> m.Task:
        """A task as served by ``GET .../tasks/{id}``."""
        task = self.task(task_id)
        return m.Task.model_validate(
            {**served(task), "workspace": self.workspace_info(task["workspaceId"]).to_wire()}
        )

    def task_summary(self, task: Row) -> m.TaskSummary:
        """A task as a list item (``executable`` is its id)."""
        run_config = self.store.get("run_config", task["id"])
        runtime = run_config.get("runtime") if run_config else None
        # ``TaskExtract`` embeds a shorter workspace than ``WorkspaceInfo``: no
        # protectedArtifactUpdate, and an environment without maxCloudContainers.
        workspace = self.workspace_info(task["workspaceId"])
        environment = workspace.environment
        workspace = workspace.model_copy(update={
            "protected_artifact_update": None,
            "environment": environment.model_copy(update={"max_cloud_containers": None}) if environment else None,
        })
        return m.TaskSummary(
            executable=task["id"],
            name=task["name"],
            workspace=workspace,
            artifact_id=task["artifact"]["id"],
            runtime=m.TaskRuntimeSummary.model_validate(runtime) if runtime else None,
        )

    def _check_task_body(
        self,
        workspace_id: str,
        artifact: m.ArtifactRequest,
        connections: dict[str, str] | None,
        resources: dict[str, str] | None,
    ) -> tuple[Row, Row]:
        ws = self.workspace(workspace_id)
        try:
            version = self.artifact_version(artifact.id, artifact.version)
        except ApiError as exc:
            raise bad_request(
                f"Unknown artifact {artifact.id} version {artifact.version}",
                "Publish the artifact version in this workspace first.",
            ) from exc
        if self.artifact(artifact.id)["workspaceId"] != workspace_id:
            raise bad_request("The artifact belongs to another workspace")
        for connection_id in (connections or {}).values():
            connection = self.store.get("connection", connection_id)
            if connection is None:
                raise bad_request(f"Unknown connection {connection_id}")
            if connection["workspaceId"] != workspace_id:
                raise bad_request(f"Connection {connection_id} belongs to another workspace")
        for resource_id in (resources or {}).values():
            if self.store.get("resource", resource_id) is None:
                raise bad_request(f"Unknown resource {resource_id}")
        return ws, version

    def create_task(self, body: m.TaskCreateRequest, *, id: str | None = None) -> m.Task:
        """Create a task running an artifact version; its name is unique in the workspace."""
        with self.store.transaction():
            ws, version = self._check_task_body(
                body.workspace_id, body.artifact, body.connections, body.resources
            )
            if ws["environmentId"] != body.environment_id:
                raise bad_request("The workspace does not belong to this environment")
            if self.store.find("task", name=body.name, workspace_id=body.workspace_id):
                raise conflict(f"Task '{body.name}' already exists in this workspace")
            task_id = id or new_id()
            task = {
                "id": task_id,
                "name": body.name,
                "description": body.description,
                "workspaceId": body.workspace_id,
                "version": "1",
                "artifact": {"id": body.artifact.id, "name": version["name"], "version": version["version"]},
                "tags": body.tags or [],
                "connections": body.connections or {},
                "parameters": _stringify(body.parameters),
                "resources": body.resources or {},
                "autoUpgradeInfo": (body.auto_upgrade_info.to_wire() if body.auto_upgrade_info else None),
            }
            self.store.put(
                "task",
                task_id,
                task,
                name=body.name,
                workspace_id=body.workspace_id,
                environment_id=ws["environmentId"],
            )
        return self.task_model(task_id)

    def replace_task(self, task_id: str, body: m.TaskUpdateRequest) -> m.Task:
        """Full replacement: every omitted optional field becomes null."""
        with self.store.transaction():
            old = self.task(task_id)
            if body.workspace_id != old["workspaceId"]:
                raise bad_request("A task cannot change workspace through PUT")
            _ws, version = self._check_task_body(
                body.workspace_id, body.artifact, body.connections, body.resources
            )
            if any(
                t["id"] != task_id
                for t in self.store.find("task", name=body.name, workspace_id=body.workspace_id)
            ):
                raise conflict(f"Task '{body.name}' already exists in this workspace")
            task = {
                "id": task_id,
                "name": body.name,
                "description": body.description,
                "workspaceId": body.workspace_id,
                "version": old["version"],  # a label, not a change counter: a restored task reads back identical
                "artifact": {"id": body.artifact.id, "name": version["name"], "version": version["version"]},
                "tags": body.tags,
                "connections": body.connections,
                "parameters": _stringify(body.parameters) if body.parameters is not None else None,
                "resources": body.resources,
                "autoUpgradeInfo": body.auto_upgrade_info.to_wire() if body.auto_upgrade_info else None,
                "taskPauseDetails": old.get("taskPauseDetails"),
            }
            self.store.put(
                "task",
                task_id,
                task,
                name=body.name,
                workspace_id=body.workspace_id,
                environment_id=self.workspace(body.workspace_id)["environmentId"],
            )
        return self.task_model(task_id)

    def pause_task(self, task_id: str, body: m.TaskPauseRequest) -> None:
        """Pause or resume a task; a paused task refuses to start (405)."""
        with self.store.transaction():
            task = self.task(task_id)
            task["taskPauseDetails"] = (
                {"pause": True, "pauseContext": body.pause_context, "user": "sandbox",
                 "userType": "HUMAN", "pauseDate": iso(utcnow())}
                if body.pause
                else None
            )
            self.store.put(
                "task", task_id, task, name=task["name"], workspace_id=task["workspaceId"],
                environment_id=self.workspace(task["workspaceId"])["environmentId"],
            )

    def delete_task(self, task_id: str) -> None:
        """Delete a task with its run-config and schedule binding; 409 while a plan uses it."""
        with self.store.transaction():
            task = self.task(task_id)
            plans = [
                p["name"]
                for p in self.store.find("plan", workspace_id=task["workspaceId"])
                if any(task_id in step.get("taskIds", []) for step in p["steps"])
            ]
            if plans:
                raise conflict("Task is used by plans", f"Used by: {', '.join(plans)}")
            delete_task_rows(self.store, task_id)

    def search_tasks(self, filters: m.TaskSearchRequest) -> list[Row]:
        """Tasks matching the filters of ``GET .../tasks`` and ``POST .../tasks/search``."""
        tasks = self.store.find(
            "task", workspace_id=filters.workspace_id, environment_id=filters.environment_id
        )
        result = []
        for task in tasks:
            if filters.name and filters.name.lower() not in task["name"].lower():
                continue
            if filters.artifact_id and task["artifact"]["id"] != filters.artifact_id:
                continue
            if filters.tags and not set(filters.tags) <= set(task.get("tags") or []):
                continue
            if filters.runtime_type or filters.runtime_id or filters.trigger_type:
                config = self.store.get("run_config", task["id"]) or {}
                runtime = config.get("runtime") or {}
                if filters.runtime_type and runtime.get("type") != filters.runtime_type:
                    continue
                if filters.runtime_id and runtime.get("id") != filters.runtime_id:
                    continue
                if filters.trigger_type and (config.get("trigger") or {}).get("type") != filters.trigger_type:
                    continue
            result.append(task)
        return result

    def run_config(self, task_id: str) -> m.TaskRunConfig:
        """A task's run configuration; 404 when it has none."""
        self.task(task_id)
        config = self.store.get("run_config", task_id)
        if config is None:
            raise ApiError(404, "Task has no run configuration", "PUT one to .../run-config first.")
        return m.TaskRunConfig.model_validate(config)

    def set_run_config(self, task_id: str, body: m.TaskRunConfig) -> m.TaskRunConfig:
        """Set (replace) a task's run configuration."""
        with self.store.transaction():
            task = self.task(task_id)
            self.store.put("run_config", task_id, body.to_wire(), workspace_id=task["workspaceId"])
        return body

    def delete_run_config(self, task_id: str) -> None:
        """Remove a task's run configuration (it stops being schedulable and runnable)."""
        self.task(task_id)
        if not self.store.delete("run_config", task_id):
            raise ApiError(404, "Task has no run configuration")


def _stringify(parameters: dict[str, Any] | None) -> dict[str, str]:
    """Task parameter values are accepted as strings or numbers and always served as strings."""
    if not parameters:
        return {}
    result = {}
    for name, value in parameters.items():
        if isinstance(value, dict | list):
            raise bad_request(f"Parameter '{name}' must be a string or a number")
        result[name] = "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    return result
