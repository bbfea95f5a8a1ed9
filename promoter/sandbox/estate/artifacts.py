"""Artifacts and their versions: published (as Studio or Maven do), read, and deleted while no
task runs them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from promoter.sandbox.errors import conflict, not_found
from promoter.sandbox.estate.environments import Environments
from promoter.sandbox.estate.rows import BEHAVIOUR_KEY, iso, public, stable_id, utcnow, version_key
from promoter.sandbox.store import Row
from promoter.talend import models as m


class Artifacts(Environments):
    """Artifacts, each in one workspace, with versions newest first."""

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
        body = self.store.get("artifact_version", version_key(artifact_id, version))
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
            key = version_key(artifact["id"], version)
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
                self.store.delete("artifact_version", version_key(artifact_id, version["version"]))
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
            self.store.delete("artifact_version", version_key(artifact_id, version))
