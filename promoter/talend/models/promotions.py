"""Talend's own promotions: definitions, analyses, runs and their reports."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from promoter.talend.models.base import RequestModel, WireModel
from promoter.talend.models.environments import EnvironmentInfo

__all__ = ["AdvancedPromotionSpec", "ArtifactPromotionResult", "FlowPromotionResult", "PromotionAdvancedInfo", "PromotionAnalysisRequest", "PromotionCreateRequest", "PromotionDefinition", "PromotionExecution", "PromotionReport", "PromotionRunRequest", "Report", "ReportMessage", "RuntimePromotionResult", "WorkspacePromotionResult"]

class PromotionDefinition(WireModel):
    """``PromotionExecutableDetails``: a promotion between a pair of environments."""

    executable: str
    name: str
    source_environment: EnvironmentInfo | None = None
    target_environment: EnvironmentInfo | None = None


class PromotionCreateRequest(RequestModel):
    """``CreatePromotionRequest``: one definition per (source, target) pair."""

    source_environment_id: str
    target_environment_id: str


class PromotionAdvancedInfo(WireModel):
    """``PromotionAdvancedInfo``."""

    id: str | None = None
    name: str | None = None
    workspace_id: str | None = None
    type: str | None = None


class PromotionAnalysisRequest(RequestModel):
    """``PromotionExecutionDetails``: body of the analysis (dry run) ``POST .../promotions/{id}``."""

    keep_target_run_profiles: bool | None = None
    keep_target_resources: bool | None = None
    context: str | None = None
    promotion_advanced_info: PromotionAdvancedInfo | None = None


class AdvancedPromotionSpec(WireModel):
    """``AdvancedPromotionSpec``: narrows a promotion to one artifact (for FLOW, a task id)."""

    artifact_id: str | None = None
    artifact_type: str | None = None


class PromotionRunRequest(RequestModel):
    """``PromotionExecutableTaskV26``: body of ``POST /processing/executions/promotions``."""

    executable: str
    keep_target_resources: bool | None = None
    keep_target_run_profiles: bool | None = None
    advanced: AdvancedPromotionSpec | None = None
    context: str | None = Field(default=None, max_length=255)


class ReportMessage(WireModel):
    """``Message``."""

    info: str | None = None
    level: str | None = None


class Report(WireModel):
    """``Report``: what analysis or promotion did (or would do) to one object."""

    status: str | None = None
    messages: list[ReportMessage] | None = None


class FlowPromotionResult(WireModel):
    """``FlowPromotionResult``: a task in a promotion report."""

    id: str | None = None
    target_id: str | None = None
    name: str | None = None
    type: str | None = None
    analyze_report: Report | None = None
    promotion_report: Report | None = None
    target_version: str | None = None
    version: int | None = None
    job_type: str | None = None
    workspace_id: str | None = None
    artifact_id: str | None = None


class ArtifactPromotionResult(WireModel):
    """``ArtifactPromotionResult``: a plan, action, connection or resource in a promotion report."""

    id: str | None = None
    target_id: str | None = None
    name: str | None = None
    type: str | None = None
    analyze_report: Report | None = None
    promotion_report: Report | None = None
    used_by: list[FlowPromotionResult] | None = None
    target_version: str | None = None
    version: str | None = None
    versions: list[ArtifactPromotionResult] | None = None
    job_type: str | None = None
    workspace_id: str | None = None
    artifact_id: str | None = None


class RuntimePromotionResult(WireModel):
    """``RuntimePromotionResult``."""

    id: str | None = None
    target_id: str | None = None
    name: str | None = None
    type: str | None = None
    analyze_report: Report | None = None
    promotion_report: Report | None = None


class WorkspacePromotionResult(WireModel):
    """``WorkspacePromotionResult``: one workspace's part of a promotion report."""

    id: str | None = None
    target_id: str | None = None
    name: str | None = None
    type: str | None = None
    analyze_report: Report | None = None
    promotion_report: Report | None = None
    flows: list[FlowPromotionResult] | None = None
    plans: list[ArtifactPromotionResult] | None = None
    actions: list[ArtifactPromotionResult] | None = None
    connections: list[ArtifactPromotionResult] | None = None
    resources: list[ArtifactPromotionResult] | None = None
    workspace_type: str | None = None


class PromotionReport(WireModel):
    """``PromotionExecutionStatusV26``: the report of a promotion analysis or run."""

    execution_id: str
    start_timestamp: datetime | None = None
    trigger_timestamp: datetime
    finish_timestamp: datetime | None = None
    user_id: str
    user_type: str
    promotion_id: str | None = None
    keep_target_resources: bool | None = None
    keep_target_run_profiles: bool | None = None
    advanced: AdvancedPromotionSpec | None = None
    defective: bool | None = None
    status: str | None = None
    status_message: str | None = None
    workspaces: list[WorkspacePromotionResult] | None = None
    context: str | None = None


class PromotionExecution(WireModel):
    """``Execution``: answer of ``POST /processing/executions/promotions``.

    ``execution_report`` is present when the run finished quickly (201); otherwise (202) poll
    ``GET /processing/executions/promotions/{executionId}``.
    """

    execution_id: str | None = None
    execution_report: PromotionReport | None = None
