"""Artifacts (published jobs) and their versions."""

from __future__ import annotations

from datetime import datetime

from promoter.talend.models.base import ArtifactType, RequestModel, UserType, WireModel
from promoter.talend.models.environments import WorkspaceInfo

__all__ = ["Artifact", "ArtifactParameter", "ArtifactRef", "ArtifactRequest", "ArtifactVersion", "RepositoryCommit", "SourcesRepository"]

class ArtifactParameter(WireModel):
    """``ArtifactParameter``: a context parameter the artifact declares."""

    name: str
    value: str | None = None
    type: str
    required: bool
    comment: str | None = None


class RepositoryCommit(WireModel):
    """``RepositoryCommitData``: the source commit an artifact version was built from."""

    id: str
    date: datetime
    author: str


class SourcesRepository(WireModel):
    """``SourcesRepositoryData``: where an artifact version's sources live."""

    project: str
    branch: str | None = None
    commit: RepositoryCommit | None = None


class Artifact(WireModel):
    """``Artifact``. ``versions`` are newest first."""

    id: str
    name: str
    type: ArtifactType
    versions: list[str]
    workspace: WorkspaceInfo


class ArtifactVersion(WireModel):
    """``ArtifactVersion``: one published version of an artifact, with its parameters."""

    id: str
    name: str | None = None
    version: str
    type: ArtifactType
    publisher: str
    marketplace_product: str
    parameters: list[ArtifactParameter]
    workspace: WorkspaceInfo
    description: str | None = None
    create_date: datetime
    repository: SourcesRepository | None = None
    publisher_type: UserType


class ArtifactRef(WireModel):
    """``BaseArtifactVersion``: the artifact (and version) a task runs."""

    id: str
    name: str | None = None
    version: str


class ArtifactRequest(RequestModel):
    """``ArtifactRequest``: the artifact a task should run, in create/replace bodies."""

    id: str
    version: str
