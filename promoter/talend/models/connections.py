"""Connections (with their parameters) and resources."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from promoter.talend.models.base import RequestModel, WireModel
from promoter.talend.models.environments import WorkspaceInfo

__all__ = ["Connection", "ConnectionCreateRequest", "ConnectionParameter", "ConnectionUpdateRequest", "Resource"]

class ConnectionParameter(WireModel):
    """``ConnectionParameter``. ``encrypted`` values are secrets: never log or report them."""

    name: str
    value: str | None = None
    encrypted: bool | None = None

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Secret values (encrypted, or named like a password or key) never show in repr()/str().
        from promoter.talend.masking import MASK, is_secret_parameter

        secret = is_secret_parameter(self.name, self.encrypted)
        for key, value in super().__repr_args__():
            yield key, (MASK if secret and key == "value" and value is not None else value)


class Connection(WireModel):
    """``ConnectionDetails``: a connection of an app (database, SaaS...) in a workspace."""

    id: str
    name: str
    app: str
    parameters: list[ConnectionParameter]
    workspace: WorkspaceInfo
    create_date: datetime
    update_date: datetime | None = None


class ConnectionCreateRequest(RequestModel):
    """``CreateConnectionRequest``."""

    name: str
    workspace_id: str
    app: str
    parameters: list[ConnectionParameter]


class ConnectionUpdateRequest(RequestModel):
    """``UpdateConnectionRequest``."""

    name: str | None = None
    parameters: list[ConnectionParameter] | None = None


class Resource(WireModel):
    """``Resource``: a file or resource a task may use."""

    id: str
    name: str
    workspace_info: WorkspaceInfo
    file: bool
