"""The Talend estate the sandbox serves: environments, workspaces, artifacts, tasks, plans,
schedules, connections and resources, with Talend's rules (unique names, cascades, conflicts).

Routes, the seed and the native promotion all go through :class:`Estate`, which keeps bodies in
the store in the wire format and renders them with :mod:`promoter.talend.models`.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime
from typing import Any

from promoter.sandbox.errors import ApiError, bad_request, conflict, not_found
from promoter.sandbox.store import Row, Store
from promoter.talend import models as m

# Sandbox-only keys of stored bodies start with "_" and are never served.
BEHAVIOUR_KEY = "_behaviour"


def new_id() -> str:
    """A fresh 24-hex orchestration id."""
    return secrets.token_hex(12)


def stable_id(*parts: str) -> str:
    """A 24-hex id derived from names, so that seeded estates are reproducible."""
    return hashlib.sha1("/".join(parts).encode()).hexdigest()[:24]


def utcnow() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 with milliseconds and a Z, as Talend writes dates."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def public(body: Row) -> Row:
    """A stored body without its sandbox-only keys."""
    return {k: v for k, v in body.items() if not k.startswith("_")}


def served(body: Row) -> Row:
    """A stored task, plan or connection as served: the flat ``workspaceId`` it is stored with is
    not part of Talend's schemas (``TaskV21``, ``Plan``, ``ConnectionDetails``), which embed the
    workspace instead."""
    return {k: v for k, v in public(body).items() if k != "workspaceId"}


class Estate:
    """Talend's orchestration objects and their rules, over a :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ environments

    def environment(self, env_id: str) -> Row:
        """A stored environment, or 404."""
        env = self.store.get("environment", env_id)
        if env is None:
            raise not_found("Environment", env_id)
        return env

    def environments(self) -> list[m.EnvironmentInfo]:
        """Every environment."""
        return [m.EnvironmentInfo.model_validate(e) for e in self.store.find("environment")]

    def create_environment(
        self, body: m.EnvironmentCreateRequest, *, id: str | None = None
    ) -> m.EnvironmentInfo:
        """Create an environment and its Custom workspace; 409 on a duplicate name."""
        with self.store.transaction():
            if self.store.find("environment", name=body.name):
                raise conflict(f"Environment '{body.name}' already exists")
            env_id = id or new_id()
            env = {
                "id": env_id,
                "name": body.name,
                "description": body.description,
                "maxCloudContainers": body.max_cloud_containers,
                "default": not self.store.find("environment"),
            }
            self.store.put("environment", env_id, env, name=body.name)
            self.create_workspace(
                m.WorkspaceCreateRequest(
                    name=body.workspace_name, environment_id=env_id, owner=body.owner
                ),
                type="custom",
                id=stable_id(env_id, body.workspace_name) if id else None,
            )
        return m.EnvironmentInfo.model_validate(env)

    def update_environment(self, env_id: str, body: m.EnvironmentUpdateRequest) -> None:
        """Rename or describe an environment; 409 if the new name is taken."""
        with self.store.transaction():
            env = self.environment(env_id)
            if any(e["id"] != env_id for e in self.store.find("environment", name=body.name)):
                raise conflict(f"Environment '{body.name}' already exists")
            env.update(name=body.name, description=body.description)
            if body.max_cloud_containers is not None:
                env["maxCloudContainers"] = body.max_cloud_containers
            self.store.put("environment", env_id, env, name=body.name)

    def delete_environment(self, env_id: str) -> None:
        """Delete an environment and, in cascade, its workspaces and all they contain."""
        with self.store.transaction():
            self.environment(env_id)
            for ws in self.store.find("workspace", environment_id=env_id):
                self._delete_workspace_contents(ws["id"])
                self.store.delete("workspace", ws["id"])
            for promotion in self.store.find("promotion"):
                if env_id in (promotion["_source"], promotion["_target"]):
                    self.store.delete("promotion", promotion["executable"])
            self.store.delete("environment", env_id)

    # ------------------------------------------------------------------ workspaces

    def workspace(self, ws_id: str) -> Row:
        """A stored workspace, or 404."""
        ws = self.store.get("workspace", ws_id)
        if ws is None:
            raise not_found("Workspace", ws_id)
        return ws

    def workspace_info(self, ws_id: str) -> m.WorkspaceInfo:
        """The short form of a workspace, with its environment, as embedded in other objects."""
        ws = self.workspace(ws_id)
        env = self.store.get("environment", ws["environmentId"])
        return m.WorkspaceInfo(
            id=ws["id"],
            name=ws["name"],
            description=ws.get("description"),
            owner=ws.get("owner"),
            type=ws["type"],
            environment=m.EnvironmentInfo.model_validate(env) if env else None,
            protected_artifact_update=ws.get("protectedArtifactUpdate", False),
        )

    def workspaces(self) -> list[m.WorkspaceInfo]:
        """Every workspace, in short form."""
        return [self.workspace_info(ws["id"]) for ws in self.store.find("workspace")]

    def create_workspace(
        self, body: m.WorkspaceCreateRequest, *, type: str = "shared", id: str | None = None
    ) -> m.Workspace:
        """Create a workspace in an environment; 409 on a duplicate name there."""
        with self.store.transaction():
            self.environment(body.environment_id)
            if self.store.find("workspace", name=body.name, environment_id=body.environment_id):
                raise conflict(f"Workspace '{body.name}' already exists in this environment")
            now = iso(utcnow())
            ws_id = id or new_id()
            ws = {
                "id": ws_id,
                "name": body.name,
                "description": body.description,
                "owner": body.owner or "sandbox",
                "ownerFullName": (body.owner or "Sandbox User"),
                "type": type,
                "environmentId": body.environment_id,
                "createDate": now,
                "updateDate": now,
                "protectedArtifactUpdate": False,
            }
            self.store.put(
                "workspace", ws_id, ws, name=body.name, environment_id=body.environment_id
            )
        return self.workspace_long(ws_id)

    def workspace_long(self, ws_id: str) -> m.Workspace:
        """The long form of a workspace (capitalised type, flat environment id)."""
        ws = self.workspace(ws_id)
        # The long form (``Workspace``) has no protectedArtifactUpdate; only WorkspaceInfo has.
        long_form = {k: v for k, v in ws.items() if k != "protectedArtifactUpdate"}
        return m.Workspace.model_validate({**long_form, "type": ws["type"].capitalize()})

    def update_workspace(self, ws_id: str, body: m.WorkspaceUpdateRequest) -> None:
        """Rename, describe or re-own a workspace."""
        with self.store.transaction():
            ws = self.workspace(ws_id)
            if any(
                w["id"] != ws_id
                for w in self.store.find(
                    "workspace", name=body.name, environment_id=ws["environmentId"]
                )
            ):
                raise conflict(f"Workspace '{body.name}' already exists in this environment")
            ws.update(name=body.name, description=body.description, updateDate=iso(utcnow()))
            if body.owner is not None:
                ws["owner"] = body.owner
            if body.protected_artifact_update is not None:
                ws["protectedArtifactUpdate"] = body.protected_artifact_update
            self.store.put(
                "workspace", ws_id, ws, name=body.name, environment_id=ws["environmentId"]
            )

    def delete_workspace(self, ws_id: str) -> None:
        """Delete an empty workspace; 409 while it holds tasks, plans, artifacts or connections."""
        with self.store.transaction():
            self.workspace(ws_id)
            for kind in ("task", "plan", "artifact", "connection", "resource"):
                if self.store.find(kind, workspace_id=ws_id):
                    raise conflict(
                        "Workspace is not empty",
                        f"Delete its {kind}s first, or delete the whole environment.",
                    )
            self.store.delete("workspace", ws_id)

    def _delete_workspace_contents(self, ws_id: str) -> None:
        for task in self.store.find("task", workspace_id=ws_id):
            self._delete_task_rows(task["id"])
        for kind in ("plan", "connection", "resource"):
            for obj in self.store.find(kind, workspace_id=ws_id):
                self.store.delete(kind, obj.get("id") or obj["executable"])
        for artifact in self.store.find("artifact", workspace_id=ws_id):
            for version in self.store.find("artifact_version", parent_id=artifact["id"]):
                self.store.delete("artifact_version", _version_key(artifact["id"], version["version"]))
            self.store.delete("artifact", artifact["id"])

    # ------------------------------------------------------------------ artifacts

    def artifact(self, artifact_id: str) -> Row:
        """A stored artifact, or 404."""
        artifact = self.store.get("artifact", artifact_id)
        if artifact is None:
            raise not_found("Artifact", artifact_id)
        return artifact

    def artifact_model(self, artifact_id: str) -> m.Artifact:
        """An artifact with its versions, newest first."""
        artifact = self.artifact(artifact_id)
        versions = self.store.find("artifact_version", parent_id=artifact_id)
        return m.Artifact(
            id=artifact["id"],
            name=artifact["name"],
            type=artifact["type"],
            # Newest first by publication date (a promoted version keeps its source's date).
            versions=[v["version"] for v in sorted(versions, key=lambda v: v["createDate"], reverse=True)],
            workspace=self.workspace_info(artifact["workspaceId"]),
        )

    def artifact_version(self, artifact_id: str, version: str) -> Row:
        """A stored artifact version (with its sandbox behaviour), or 404."""
        self.artifact(artifact_id)
        body = self.store.get("artifact_version", _version_key(artifact_id, version))
        if body is None:
            raise not_found("Artifact version", f"{artifact_id}/{version}")
        return body

    def artifact_version_model(self, artifact_id: str, version: str) -> m.ArtifactVersion:
        """An artifact version as served."""
        body = self.artifact_version(artifact_id, version)
        artifact = self.artifact(artifact_id)
        return m.ArtifactVersion.model_validate(
            {**public(body), "workspace": self.workspace_info(artifact["workspaceId"]).to_wire()}
        )

    def publish(
        self,
        *,
        workspace_id: str,
        name: str,
        version: str,
        type: str = "standard",
        parameters: list[dict[str, Any]] | None = None,
        description: str | None = None,
        repository: dict[str, Any] | None = None,
        publisher: str = "ci@example.com",
        behaviour: dict[str, Any] | None = None,
        id: str | None = None,
        create_date: datetime | None = None,
    ) -> m.ArtifactVersion:
        """Publish a version of an artifact (creating the artifact if needed), as Studio or Maven
        do on the real service; 409 if that version exists."""
        with self.store.transaction():
            ws = self.workspace(workspace_id)
            existing = self.store.find("artifact", name=name, workspace_id=workspace_id)
            if existing:
                artifact = existing[0]
                if artifact["type"] != type:
                    raise conflict(
                        f"Artifact '{name}' is of type {artifact['type']}, not {type}"
                    )
            else:
                artifact = {
                    "id": id or stable_id(workspace_id, "artifact", name),
                    "name": name,
                    "type": type,
                    "workspaceId": workspace_id,
                }
                self.store.put(
                    "artifact",
                    artifact["id"],
                    artifact,
                    name=name,
                    workspace_id=workspace_id,
                    environment_id=ws["environmentId"],
                )
            key = _version_key(artifact["id"], version)
            if self.store.get("artifact_version", key) is not None:
                raise conflict(f"Version {version} of artifact '{name}' is already published")
            body = {
                "id": artifact["id"],
                "name": name,
                "version": version,
                "type": type,
                "publisher": publisher,
                "publisherType": "HUMAN",
                "marketplaceProduct": "none",
                "parameters": [
                    m.ArtifactParameter.model_validate(p).to_wire() for p in parameters or []
                ],
                "description": description,
                "createDate": iso(create_date or utcnow()),
                "repository": repository,
                BEHAVIOUR_KEY: behaviour or {},
            }
            self.store.put(
                "artifact_version", key, body, parent_id=artifact["id"], workspace_id=workspace_id
            )
        return self.artifact_version_model(artifact["id"], version)

    def delete_artifact(self, artifact_id: str) -> None:
        """Delete an artifact and its versions; 409 while a task uses it."""
        with self.store.transaction():
            self.artifact(artifact_id)
            users = [t["name"] for t in self.store.find("task") if t["artifact"]["id"] == artifact_id]
            if users:
                raise conflict("Artifact is used by tasks", f"Used by: {', '.join(users)}")
            for version in self.store.find("artifact_version", parent_id=artifact_id):
                self.store.delete("artifact_version", _version_key(artifact_id, version["version"]))
            self.store.delete("artifact", artifact_id)

    def delete_artifact_version(self, artifact_id: str, version: str) -> None:
        """Delete one version; 409 while a task runs it."""
        with self.store.transaction():
            self.artifact_version(artifact_id, version)
            users = [
                t["name"]
                for t in self.store.find("task")
                if t["artifact"]["id"] == artifact_id and t["artifact"]["version"] == version
            ]
            if users:
                raise conflict("Artifact version is used by tasks", f"Used by: {', '.join(users)}")
            self.store.delete("artifact_version", _version_key(artifact_id, version))

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
            self._delete_task_rows(task_id)

    def _delete_task_rows(self, task_id: str) -> None:
        self.store.delete("task", task_id)
        self.store.delete("run_config", task_id)
        self.store.delete("task_schedule", task_id)

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

    # ------------------------------------------------------------------ plans

    def plan(self, plan_id: str) -> Row:
        """A stored plan, or 404."""
        plan = self.store.get("plan", plan_id)
        if plan is None:
            raise not_found("Plan", plan_id)
        return plan

    def plan_model(self, plan_id: str) -> m.Plan:
        """A plan as returned by create and PUT."""
        plan = self.plan(plan_id)
        return m.Plan.model_validate(
            {**served(plan), "workspace": self.workspace_info(plan["workspaceId"]).to_wire()}
        )

    def plan_summary(self, plan_id: str) -> m.PlanSummary:
        """A plan as a list item and as ``GET .../plans/{id}``, with its chart of steps."""
        plan = self.plan(plan_id)
        chart: m.PlanStep | None = None
        for step in reversed(plan["steps"]):
            flows = []
            for task_id in step["taskIds"]:
                task = self.store.get("task", task_id)
                if task is not None:
                    flows.append(
                        m.PlanTask(
                            id=task_id,
                            name=task["name"],
                            version=task["version"],
                            workspace_id=task["workspaceId"],
                            artifact=m.ArtifactRef.model_validate(task["artifact"]),
                        )
                    )
            chart = m.PlanStep(
                id=step.get("id"),
                name=step["name"],
                flows=flows,
                task_ids=step["taskIds"],
                note=step.get("note"),
                next_step=chart,
            )
        return m.PlanSummary(
            executable=plan["id"],
            name=plan["name"],
            workspace=self.workspace_info(plan["workspaceId"]),
            chart=chart,
        )

    def _plan_body(self, body: m.PlanRequest, plan_id: str, old: Row | None) -> Row:
        self.workspace(body.workspace_id)
        if not body.steps:
            raise bad_request("A plan needs at least one step")
        for step in body.steps:
            if not step.task_ids:
                raise bad_request(f"Step '{step.name}' has no task")
            for task_id in step.task_ids:
                task = self.store.get("task", task_id)
                if task is None:
                    raise bad_request(f"Step '{step.name}' names unknown task {task_id}")
                if task["workspaceId"] != body.workspace_id:
                    raise bad_request(f"Task {task_id} belongs to another workspace")
        now = iso(utcnow())
        return {
            "id": plan_id,
            "name": body.name,
            "workspaceId": body.workspace_id,
            "createDate": old["createDate"] if old else now,
            "updateDate": now,
            "author": "sandbox",
            "authorType": "HUMAN",
            "steps": [
                {**step.to_wire(), "id": step.id or stable_id(plan_id, str(i))}
                for i, step in enumerate(body.steps)
            ],
        }

    def create_plan(self, body: m.PlanRequest, *, id: str | None = None) -> m.Plan:
        """Create a plan; its name is unique in the workspace."""
        with self.store.transaction():
            if self.store.find("plan", name=body.name, workspace_id=body.workspace_id):
                raise conflict(f"Plan '{body.name}' already exists in this workspace")
            plan_id = id or new_id()
            plan = self._plan_body(body, plan_id, None)
            self.store.put("plan", plan_id, plan, name=body.name, workspace_id=body.workspace_id,
                           environment_id=self.workspace(body.workspace_id)["environmentId"])
        return self.plan_model(plan_id)

    def replace_plan(self, plan_id: str, body: m.PlanRequest) -> m.Plan:
        """Full replacement of a plan's name and steps."""
        with self.store.transaction():
            old = self.plan(plan_id)
            if any(
                p["id"] != plan_id
                for p in self.store.find("plan", name=body.name, workspace_id=body.workspace_id)
            ):
                raise conflict(f"Plan '{body.name}' already exists in this workspace")
            plan = self._plan_body(body, plan_id, old)
            self.store.put("plan", plan_id, plan, name=body.name, workspace_id=body.workspace_id,
                           environment_id=self.workspace(body.workspace_id)["environmentId"])
        return self.plan_model(plan_id)

    def delete_plan(self, plan_id: str) -> None:
        """Delete a plan (its tasks stay)."""
        with self.store.transaction():
            self.plan(plan_id)
            self.store.delete("plan", plan_id)

    # ------------------------------------------------------------------ schedules

    def schedule(self, schedule_id: str) -> Row:
        """A stored schedule, or 404."""
        schedule = self.store.get("schedule", schedule_id)
        if schedule is None:
            raise not_found("Schedule", schedule_id)
        return schedule

    def schedule_model(self, schedule_id: str) -> m.Schedule:
        """A schedule, with the executable bound to it if any."""
        schedule = self.schedule(schedule_id)
        bound = self.store.find("task_schedule", parent_id=schedule_id)
        extra = {"executableId": bound[0]["taskId"], "executableType": "TASK"} if bound else {}
        return m.Schedule.model_validate({**schedule, **extra})

    def create_schedule(self, body: m.ScheduleCreateRequest, *, id: str | None = None) -> str:
        """Create a schedule in an environment."""
        with self.store.transaction():
            self.environment(body.environment_id)
            schedule_id = id or new_id()
            schedule = {
                "id": schedule_id,
                "environmentId": body.environment_id,
                "description": body.description,
                "triggers": [body.trigger.to_wire()],
            }
            self.store.put("schedule", schedule_id, schedule, environment_id=body.environment_id)
        return schedule_id

    def delete_schedule(self, schedule_id: str) -> None:
        """Delete a schedule; 409 while a task is bound to it."""
        with self.store.transaction():
            self.schedule(schedule_id)
            if self.store.find("task_schedule", parent_id=schedule_id):
                raise conflict("Schedule is bound to a task", "Unlink it from the task first.")
            self.store.delete("schedule", schedule_id)

    def task_schedule(self, task_id: str) -> m.Schedule:
        """The schedule a task is bound to; 404 when it has none."""
        self.task(task_id)
        binding = self.store.get("task_schedule", task_id)
        if binding is None:
            raise ApiError(404, "Task has no schedule")
        return self.schedule_model(binding["scheduleId"])

    def bind_task_schedule(self, task_id: str, schedule_id: str) -> None:
        """Bind a task to a schedule of its environment."""
        with self.store.transaction():
            task = self.task(task_id)
            schedule = self.schedule(schedule_id)
            env_id = self.workspace(task["workspaceId"])["environmentId"]
            if schedule["environmentId"] != env_id:
                raise bad_request("The schedule belongs to another environment")
            self.store.put(
                "task_schedule", task_id, {"taskId": task_id, "scheduleId": schedule_id},
                parent_id=schedule_id, workspace_id=task["workspaceId"],
            )

    def unbind_task_schedule(self, task_id: str) -> None:
        """Remove a task's schedule binding."""
        self.task(task_id)
        if not self.store.delete("task_schedule", task_id):
            raise ApiError(404, "Task has no schedule")

    # ------------------------------------------------------------------ connections

    def connection(self, connection_id: str) -> Row:
        """A stored connection, or 404."""
        connection = self.store.get("connection", connection_id)
        if connection is None:
            raise not_found("Connection", connection_id)
        return connection

    def connection_model(self, connection_id: str) -> m.Connection:
        """A connection as served."""
        connection = self.connection(connection_id)
        return m.Connection.model_validate(
            {**served(connection), "workspace": self.workspace_info(connection["workspaceId"]).to_wire()}
        )

    def create_connection(self, body: m.ConnectionCreateRequest, *, id: str | None = None) -> m.Connection:
        """Create a connection; 409 on a duplicate name in the workspace."""
        with self.store.transaction():
            ws = self.workspace(body.workspace_id)
            if self.store.find("connection", name=body.name, workspace_id=body.workspace_id):
                raise conflict(f"Connection '{body.name}' already exists in this workspace")
            connection_id = id or new_id()
            now = iso(utcnow())
            connection = {
                "id": connection_id,
                "name": body.name,
                "app": body.app,
                "workspaceId": body.workspace_id,
                "parameters": [p.to_wire() for p in body.parameters],
                "createDate": now,
                "updateDate": now,
            }
            self.store.put("connection", connection_id, connection, name=body.name,
                           workspace_id=body.workspace_id, environment_id=ws["environmentId"])
        return self.connection_model(connection_id)

    def update_connection(self, connection_id: str, body: m.ConnectionUpdateRequest) -> m.Connection:
        """Rename a connection or replace its parameters."""
        with self.store.transaction():
            connection = self.connection(connection_id)
            if body.name is not None:
                if any(
                    c["id"] != connection_id
                    for c in self.store.find("connection", name=body.name, workspace_id=connection["workspaceId"])
                ):
                    raise conflict(f"Connection '{body.name}' already exists in this workspace")
                connection["name"] = body.name
            if body.parameters is not None:
                connection["parameters"] = [p.to_wire() for p in body.parameters]
            connection["updateDate"] = iso(utcnow())
            self.store.put(
                "connection", connection_id, connection, name=connection["name"],
                workspace_id=connection["workspaceId"],
                environment_id=self.workspace(connection["workspaceId"])["environmentId"],
            )
        return self.connection_model(connection_id)

    def delete_connection(self, connection_id: str) -> None:
        """Delete a connection; 409 while a task uses it."""
        with self.store.transaction():
            connection = self.connection(connection_id)
            users = [
                t["name"]
                for t in self.store.find("task", workspace_id=connection["workspaceId"])
                if connection_id in (t.get("connections") or {}).values()
            ]
            if users:
                raise conflict("Connection is used by tasks", f"Used by: {', '.join(users)}")
            self.store.delete("connection", connection_id)

    # ------------------------------------------------------------------ resources

    def create_resource(self, *, workspace_id: str, name: str, id: str | None = None) -> m.Resource:
        """Register a (file) resource in a workspace."""
        with self.store.transaction():
            ws = self.workspace(workspace_id)
            resource_id = id or new_id()
            self.store.put(
                "resource", resource_id,
                {"id": resource_id, "name": name, "workspaceId": workspace_id, "file": True},
                name=name, workspace_id=workspace_id, environment_id=ws["environmentId"],
            )
        return self.resource_model(resource_id)

    def resource_model(self, resource_id: str) -> m.Resource:
        """A resource as served."""
        resource = self.store.get("resource", resource_id)
        if resource is None:
            raise not_found("Resource", resource_id)
        return m.Resource(
            id=resource["id"], name=resource["name"], file=resource["file"],
            workspace_info=self.workspace_info(resource["workspaceId"]),
        )


def _version_key(artifact_id: str, version: str) -> str:
    return f"{artifact_id}/{version}"


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
