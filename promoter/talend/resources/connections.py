"""Connections (their secret parameters registered for masking)."""

from __future__ import annotations

from typing import Any

import httpx

from promoter.talend.masking import register_connection_parameters
from promoter.talend.models import Connection, ConnectionCreateRequest, ConnectionUpdateRequest
from promoter.talend.paging import MAX_PAGE_SIZE, Paginator
from promoter.talend.resources.base import (
    Resource,
    matching,
    nothing,
    paginator,
    visible_parameters,
)


class ConnectionsAPI(Resource):
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
        return paginator(self._t, self.PATH, params, Connection, limit)

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
            reconcile=lambda: matching(
                self.find(request.name, workspace_id=request.workspace_id),
                lambda found: found.app == request.app
                and visible_parameters(found.parameters) == visible_parameters(request.parameters),
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
        self._t.call("DELETE", self.ONE, path_params={"connectionId": connection_id}, parse=nothing)


def _connection(response: httpx.Response) -> Connection:
    data = response.json()
    if isinstance(data, dict) and isinstance(data.get("parameters"), list):
        register_connection_parameters(p for p in data["parameters"] if isinstance(p, dict))
    return Connection.model_validate(data)
