"""Environments and workspaces."""

from __future__ import annotations

from typing import Literal, cast

import httpx

from promoter.talend.errors import NotFound
from promoter.talend.models import (
    EnvironmentCreateRequest,
    EnvironmentInfo,
    EnvironmentUpdateRequest,
    Workspace,
    WorkspaceCreateRequest,
    WorkspaceInfo,
    WorkspaceUpdateRequest,
)
from promoter.talend.resources.base import Resource, fiql, many, matching, nothing, one


class EnvironmentsAPI(Resource):
    """Environments (``/orchestration/environments``). Listed as a bare array; no GET by id."""

    PATH = "/orchestration/environments"

    def list(self, query: str | None = None) -> list[EnvironmentInfo]:
        """Every environment, or those matching a FIQL ``query`` (e.g. ``name==dev``)."""
        return self._t.call("GET", self.PATH, params={"query": query}, parse=many(EnvironmentInfo))

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
            parse=one(EnvironmentInfo),
            reconcile=lambda: matching(
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
            parse=nothing,
        )

    def delete(self, environment_id: str) -> None:
        """Delete an environment."""
        self._t.call("DELETE", self.PATH + "/{id}", path_params={"id": environment_id}, parse=nothing)


class WorkspacesAPI(Resource):
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
        return self._t.call("GET", self.PATH, params={"query": query}, parse=many(WorkspaceInfo))

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
            "PUT", self.PATH + "/{id}", path_params={"id": workspace_id}, json=request.to_wire(), parse=nothing
        )

    def delete(self, workspace_id: str) -> None:
        """Delete a (empty) workspace."""
        self._t.call("DELETE", self.PATH + "/{id}", path_params={"id": workspace_id}, parse=nothing)


def _workspace_info(response: httpx.Response) -> WorkspaceInfo:
    """The list form of the long form a workspace create answers (without its environment)."""
    created = Workspace.model_validate(response.json())
    kind = cast(Literal["shared", "personal", "custom"], created.type.lower())
    return WorkspaceInfo(
        id=created.id, name=created.name, description=created.description, owner=created.owner, type=kind
    )
