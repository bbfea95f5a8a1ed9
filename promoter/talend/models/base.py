"""The wire format's foundations: camelCase models, the API version, enums, pages and errors."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["EXECUTION_STATUS_UPPER", "TALEND_VERSION", "ArtifactType", "ErrorBody", "ExecutionStatus", "LogLevel", "ObjectResultStatus", "Page", "PromotionReportStatus", "RequestModel", "RuntimeType", "TokenRequest", "TokenResponse", "TriggerType", "UserType", "WireModel"]

T = TypeVar("T")

#: The version header every request carries.
TALEND_VERSION = "2021-03"


class WireModel(BaseModel):
    """Base of every server response: camelCase on the wire, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready body, with the wire's field names and without unset (None) fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class RequestModel(WireModel):
    """Base of request bodies: camelCase on the wire, unknown fields ignored."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_camel)


class ArtifactType(StrEnum):
    """``Artifact.type``."""

    STANDARD = "standard"
    BIG_DATA_STREAMING = "big_data_streaming"
    BIG_DATA_BATCH = "big_data_batch"
    ROUTE = "route"
    DATA_SERVICE = "data_service"
    PIPELINE = "pipeline"


class ExecutionStatus(StrEnum):
    """``JobExecutionStatusV21.status`` (lower case): the life of a task execution."""

    DISPATCHING = "dispatching"
    DEPLOY_FAILED = "deploy_failed"
    EXECUTING = "executing"
    EXECUTION_REJECTED = "execution_rejected"
    EXECUTION_SUCCESSFUL = "execution_successful"
    EXECUTION_FAILED = "execution_failed"
    TERMINATED = "terminated"
    TERMINATED_TIMEOUT = "terminated_timeout"
    TERMINATED_SHUTDOWN = "terminated_shutdown"

    @property
    def is_terminal(self) -> bool:
        """Whether the execution has ended (successfully or not)."""
        return self not in (ExecutionStatus.DISPATCHING, ExecutionStatus.EXECUTING)


#: ``executionStatus`` (upper case) that goes with each ``status``.
EXECUTION_STATUS_UPPER: dict[ExecutionStatus, str] = {
    ExecutionStatus.DISPATCHING: "DISPATCHING_FLOW",
    ExecutionStatus.DEPLOY_FAILED: "DEPLOY_FAILED",
    ExecutionStatus.EXECUTING: "STARTING_FLOW_EXECUTION",
    ExecutionStatus.EXECUTION_REJECTED: "EXECUTION_REJECTED",
    ExecutionStatus.EXECUTION_SUCCESSFUL: "EXECUTION_SUCCESS",
    ExecutionStatus.EXECUTION_FAILED: "EXECUTION_FAILED",
    ExecutionStatus.TERMINATED: "EXECUTION_TERMINATED",
    ExecutionStatus.TERMINATED_TIMEOUT: "EXECUTION_TERMINATED_TIMEOUT",
    ExecutionStatus.TERMINATED_SHUTDOWN: "EXECUTION_TERMINATED_SHUTDOWN",
}


class PromotionReportStatus(StrEnum):
    """``PromotionExecutionStatusV26.status``. ``ANALIZED`` is spelled as the service spells it."""

    ANALIZED = "ANALIZED"
    PROMOTION_STARTED = "PROMOTION_STARTED"
    PROMOTION_WARNING = "PROMOTION_WARNING"
    PROMOTION_FAILED = "PROMOTION_FAILED"
    PROMOTED = "PROMOTED"


LogLevel = Literal["OFF", "ERROR", "WARN", "INFO"]
UserType = Literal["HUMAN", "SERVICE"]
RuntimeType = Literal[
    "CLOUD", "REMOTE_ENGINE", "REMOTE_ENGINE_CLUSTER", "CLOUD_EXCLUSIVE", "PIPELINE_ENGINE"
]
TriggerType = Literal["ONCE", "DAILY", "WEEKLY", "MONTHLY", "WEBHOOK", "MANUAL", "CRON", "MULTIPLE"]
ObjectResultStatus = Literal["CREATED", "REPLACED", "REUSED", "FAILED", "SKIPPED"]


class Page(WireModel, Generic[T]):
    """A page of a paged list: ``{items, limit, offset, total}`` (``PageTask``, ``PageConnection``...)."""

    items: list[T] = Field(default_factory=list)
    limit: int = 100
    offset: int = 0
    total: int = 0


class ErrorBody(WireModel):
    """``ErrorResponse``: the body of every 4xx/5xx answer."""

    status: int
    message: str | None = None
    detail: str | None = None
    request_id: str | None = None


class TokenRequest(RequestModel):
    """``TokenRequest``: body of ``POST /security/oauth/token`` (client credentials grant)."""

    grant_type: str = Field(alias="grant_type")
    audience: str


class TokenResponse(WireModel):
    """``TokenResponse``. ``expires_in`` is a string of seconds, as in the spec."""

    access_token: str = Field(alias="access_token")
    token_type: str = Field(alias="token_type")
    expires_in: str | None = Field(default=None, alias="expires_in")
