"""Environments and the workspaces in them: the root of the estate, and its cascades.

Deleting an environment deletes its workspaces and everything they hold; a workspace is deleted
only when empty.
"""

from __future__ import annotations

from promoter.sandbox.errors import conflict, not_found
from promoter.sandbox.estate.rows import (
    delete_task_rows,
    iso,
    new_id,
    stable_id,
    utcnow,
    version_key,
)
from promoter.sandbox.store import Row, Store
from promoter.talend import models as m


class Environments:
    """Environments and workspaces, over the store every part of the :class:`Estate` shares."""

    store: Store

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
            delete_task_rows(self.store, task["id"])
        for kind in ("plan", "connection", "resource"):
            for obj in self.store.find(kind, workspace_id=ws_id):
                self.store.delete(kind, obj.get("id") or obj["executable"])
        for artifact in self.store.find("artifact", workspace_id=ws_id):
            for version in self.store.find("artifact_version", parent_id=artifact["id"]):
                self.store.delete("artifact_version", version_key(artifact["id"], version["version"]))
            self.store.delete("artifact", artifact["id"])
