"""The sandbox-only admin routes under ``/_sandbox`` (same bearer token): publishing artifact
versions and resources, faults, settings and the request log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from promoter.sandbox.faults import FaultConfig
from promoter.sandbox.routes.wire import no_content, sandbox_of, wire
from promoter.talend import models as m

router = APIRouter(prefix="/_sandbox", tags=["sandbox admin"])


class PublishRequest(BaseModel):
    """Publish an artifact version, as Studio or the Maven plugin do on the real service."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    workspace_id: str = Field(alias="workspaceId")
    name: str
    version: str
    type: m.ArtifactType = m.ArtifactType.STANDARD
    parameters: list[m.ArtifactParameter] = Field(default_factory=list)
    description: str | None = None
    repository: m.SourcesRepository | None = None
    publisher: str = "ci@example.com"
    behaviour: dict[str, Any] = Field(
        default_factory=dict,
        description="How executions of this version end: outcome, failInEnvironments, rejectedRows, processedRows, seconds, log.",
    )


class ResourceRequest(BaseModel):
    """Register a resource in a workspace."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    workspace_id: str = Field(alias="workspaceId")
    name: str


class SettingsUpdate(BaseModel):
    """Change the sandbox's timings, token lifetime or budgets at run time."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    token_ttl: float | None = Field(default=None, alias="tokenTtl", gt=0)
    dispatch_seconds: float | None = Field(default=None, alias="dispatchSeconds", ge=0)
    run_seconds: float | None = Field(default=None, alias="runSeconds", ge=0)
    promotion_seconds: float | None = Field(default=None, alias="promotionSeconds", ge=0)
    budgets: dict[str, int] | None = Field(default=None, description="Per-minute budgets per family; {} disables.")


@router.post("/artifacts", status_code=201, response_model=m.ArtifactVersion)
def publish_artifact(request: Request, body: PublishRequest) -> Response:
    """Publish an artifact version (sandbox only)."""
    version = sandbox_of(request).estate.publish(
        workspace_id=body.workspace_id, name=body.name, version=body.version, type=body.type.value,
        parameters=[p.to_wire() for p in body.parameters], description=body.description,
        repository=body.repository.to_wire() if body.repository else None,
        publisher=body.publisher, behaviour=body.behaviour,
    )
    return wire(version, 201)


@router.post("/resources", status_code=201, response_model=m.Resource)
def create_resource(request: Request, body: ResourceRequest) -> Response:
    """Register a resource (sandbox only; the real API takes a multipart upload)."""
    return wire(sandbox_of(request).estate.create_resource(workspace_id=body.workspace_id, name=body.name), 201)


@router.get("/faults", response_model=FaultConfig)
def get_faults(request: Request) -> Response:
    """The faults in force."""
    return wire(sandbox_of(request).faults.config.model_dump())


@router.put("/faults", response_model=FaultConfig)
def set_faults(request: Request, body: FaultConfig) -> Response:
    """Replace the faults in force (an empty body clears them)."""
    sandbox_of(request).faults.configure(body)
    return wire(body.model_dump())


@router.put("/settings")
def update_settings(request: Request, body: SettingsUpdate) -> Response:
    """Change timings, token lifetime or budgets."""
    sandbox = sandbox_of(request)
    sandbox.apply_settings(body.model_dump(exclude_none=True))
    return wire(sandbox.describe_settings())


@router.get("/settings")
def get_settings(request: Request) -> Response:
    """The sandbox's timings, token lifetime and budgets."""
    return wire(sandbox_of(request).describe_settings())


@router.get("/requests")
def get_requests(request: Request, since: Annotated[int, Query(ge=0)] = 0) -> Response:
    """The request log (entries after sequence number ``since``)."""
    return wire(sandbox_of(request).requests.entries(since))


@router.delete("/requests", status_code=204)
def clear_requests(request: Request) -> Response:
    """Forget the request log."""
    sandbox_of(request).requests.clear()
    return no_content()
