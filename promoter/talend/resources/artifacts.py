"""Artifacts and their versions."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from promoter.talend.models import Artifact, ArtifactType, ArtifactVersion
from promoter.talend.paging import MAX_PAGE_SIZE, Paginator
from promoter.talend.resources.base import Resource, nothing, one, paginator


class ArtifactsAPI(Resource):
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
        return paginator(self._t, self.PATH, params, Artifact, limit)

    def get(self, artifact_id: str) -> Artifact:
        """One artifact."""
        return self._t.call("GET", self.PATH + "/{id}", path_params={"id": artifact_id}, parse=one(Artifact))

    def get_version(self, artifact_id: str, version: str) -> ArtifactVersion:
        """One version of an artifact, with its parameters."""
        return self._t.call(
            "GET",
            self.PATH + "/{id}/versions/{version}",
            path_params={"id": artifact_id, "version": version},
            parse=one(ArtifactVersion),
        )

    def delete(self, artifact_id: str) -> None:
        """Delete an artifact and all its versions."""
        self._t.call("DELETE", self.PATH + "/{id}", path_params={"id": artifact_id}, parse=nothing)

    def delete_version(self, artifact_id: str, version: str) -> None:
        """Delete one version of an artifact."""
        self._t.call(
            "DELETE",
            self.PATH + "/{id}/versions/{version}",
            path_params={"id": artifact_id, "version": version},
            parse=nothing,
        )
