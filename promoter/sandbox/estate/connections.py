"""Connections (parameters of an app, some of them secured) and (file) resources of a workspace."""

from __future__ import annotations

from promoter.sandbox.errors import conflict, not_found
from promoter.sandbox.estate.environments import Environments
from promoter.sandbox.estate.rows import iso, new_id, served, utcnow
from promoter.sandbox.store import Row
from promoter.talend import models as m


class Connections(Environments):
    """Connections, deleted only while no task uses them, and resources."""

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
