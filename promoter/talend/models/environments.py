"""Environments and workspaces."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from promoter.talend.models.base import RequestModel, WireModel

__all__ = ["EnvironmentCreateRequest", "EnvironmentInfo", "EnvironmentUpdateRequest", "Workspace", "WorkspaceCreateRequest", "WorkspaceInfo", "WorkspaceUpdateRequest"]

class EnvironmentInfo(WireModel):
    """``EnvironmentInfo``: an environment (dev, test, prod...)."""

    id: str
    name: str
    description: str | None = None
    max_cloud_containers: int | None = None
    default: bool | None = None


class EnvironmentCreateRequest(RequestModel):
    """Body of ``POST /orchestration/environments``; also creates a Custom workspace."""

    name: str
    workspace_name: str
    description: str | None = None
    max_cloud_containers: int = Field(default=0, ge=0)
    owner: str | None = None


class EnvironmentUpdateRequest(RequestModel):
    """Body of ``PUT /orchestration/environments/{Id}``."""

    name: str
    description: str | None = None
    max_cloud_containers: int | None = Field(default=None, ge=0)


class WorkspaceInfo(WireModel):
    """``WorkspaceInfo``: the short (list) form of a workspace, embedded in most objects."""

    id: str | None = None
    name: str | None = None
    description: str | None = None
    owner: str | None = None
    type: Literal["shared", "personal", "custom"] | None = None
    environment: EnvironmentInfo | None = None
    protected_artifact_update: bool | None = None


class Workspace(WireModel):
    """``Workspace``: the long form returned by ``POST /orchestration/workspaces``."""

    id: str
    name: str
    description: str | None = None
    create_date: datetime
    update_date: datetime
    owner: str | None = None
    owner_full_name: str
    type: Literal["Shared", "Personal", "Custom"]
    environment_id: str


class WorkspaceCreateRequest(RequestModel):
    """``CreateWorkspaceRequest``."""

    name: str
    environment_id: str
    description: str | None = None
    owner: str | None = None


class WorkspaceUpdateRequest(RequestModel):
    """Body of ``PUT /orchestration/workspaces/{id}``."""

    name: str
    description: str | None = None
    owner: str | None = None
    protected_artifact_update: bool | None = None
