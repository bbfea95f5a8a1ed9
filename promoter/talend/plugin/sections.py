"""The Talend plugin's pipeline sections: the keys of a pipeline file only Talend stages read.

Registered by the ``talend`` plugin (:mod:`promoter.talend.plugin.session`) through
``promoter_register_pipeline_sections``; the file format users write is the one they always
wrote. Stages read them, with their defaults, through :func:`config`::

    settings = config(run)
    settings.apply.concurrency, settings.artifacts, settings.verify.smoke ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import Field, RootModel, ValidationInfo, model_validator

from promoter import RunContext
from promoter.pipeline import SecretRef, StrictModel, Value
from promoter.talend.client import DEFAULT_TIMEOUT


class ArtifactConfig(StrictModel):
    """An artifact to promote and which version: exact, ``latest``, or a glob pattern."""

    name: str = Field(min_length=1)
    version: str = Field(default="latest", min_length=1)


class CreateMissingConnections(StrictModel):
    """Create a connection the target lacks from a Jinja2 template (in ``templates/``)."""

    template: str = Field(min_length=1)
    values: dict[str, Value] = Field(default_factory=dict)


class ConnectionsConfig(StrictModel):
    """Connection mapping: source name -> target name (or per environment: ``{env: name}``)."""

    map: dict[str, str | dict[str, str]] = Field(default_factory=dict)
    create_missing: CreateMissingConnections | None = None


class ParametersConfig(StrictModel):
    """How task parameters are set on the target."""

    policy: Literal["keep-target", "override", "template", "add-new-only"] = "keep-target"
    values: dict[str, Value] = Field(default_factory=dict)
    secrets: dict[str, SecretRef] = Field(default_factory=dict)
    """Secured parameter values: references only (``${env:NAME}`` / ``${file:path}``)."""


class ApplyConfig(StrictModel):
    """How the plan is written: Talend's native promotion, or direct writes."""

    strategy: Literal["direct", "native"] = "direct"
    concurrency: int = Field(default=8, ge=1, le=64)


class SmokeTest(StrictModel):
    """A task to run after apply, and what its execution must look like."""

    task: str = Field(min_length=1)
    timeout: float = Field(default=300, gt=0)
    expect: Literal["execution_successful", "execution_failed"] = "execution_successful"
    parameters: dict[str, Value] = Field(default_factory=dict)
    max_rejected_rows: int | None = Field(default=None, ge=0)
    log_must_contain: list[str] = Field(default_factory=list)
    log_must_not_contain: list[str] = Field(default_factory=list)


class VerifyConfig(StrictModel):
    """Checks after apply; a failure rolls the promotion back."""

    smoke: list[SmokeTest] = Field(default_factory=list)



class TalendSection(StrictModel):
    """The ``talend:`` section of a pipeline file: where and how to reach Talend Cloud."""

    url: str | None = Field(default=None, description="API base URL (default: TALEND_API_URL).")
    region: str | None = Field(
        default=None, description="eu, us, us-west, ap or au (default: TALEND_REGION)."
    )
    token: SecretRef | None = Field(
        default=None, description="Access token reference, e.g. ${env:TALEND_ACCESS_TOKEN}."
    )
    client_id: str | None = Field(default=None, description="OAuth client id (service account).")
    client_secret: SecretRef | None = Field(
        default=None, description="OAuth client secret reference."
    )
    timeout: float = Field(
        default=DEFAULT_TIMEOUT,
        gt=0,
        description="Seconds one request may take, connect to last byte "
        "(default: PROMOTER_TALEND_TIMEOUT, else 30).",
    )
    budget_scope: Literal["client", "shared"] | None = Field(
        default=None,
        description="Whose request budgets the client paces itself under: its own (client), or "
        "one shared through the team ledger by every runner calling the same API (shared: "
        "runners behind one address, which Talend counts as one) "
        "(default: PROMOTER_TALEND_BUDGET_SCOPE, else client).",
    )


class ArtifactsSection(RootModel[list[ArtifactConfig]]):
    """The artifacts to promote (at least one; a hotfix pipeline promotes exactly one)."""

    root: list[ArtifactConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_for_a_hotfix(self, info: ValidationInfo) -> ArtifactsSection:
        pipeline = (info.context or {}).get("pipeline")
        if getattr(pipeline, "kind", None) == "hotfix" and len(self.root) != 1:
            raise ValueError(
                f"a hotfix pipeline promotes exactly one artifact, this one lists {len(self.root)}"
            )
        return self


class TasksSection(RootModel[list[str]]):
    """Task names to promote; default (empty): every task that runs one of the artifacts."""

    root: list[str] = Field(default_factory=list)


SECTIONS: dict[str, tuple[type[Any], bool]] = {
    "artifacts": (ArtifactsSection, True),
    "tasks": (TasksSection, False),
    "connections": (ConnectionsConfig, False),
    "parameters": (ParametersConfig, False),
    "apply": (ApplyConfig, False),
    "verify": (VerifyConfig, False),
    "talend": (TalendSection, False),
}
"""Section name -> (model, required)."""


@dataclass(frozen=True)
class TalendConfig:
    """A run's Talend sections, each with its defaults when the file leaves it out."""

    artifacts: list[ArtifactConfig]
    tasks: list[str]
    connections: ConnectionsConfig
    parameters: ParametersConfig
    apply: ApplyConfig
    verify: VerifyConfig
    talend: TalendSection


def config(run: RunContext) -> TalendConfig:
    """The Talend sections of ``run``'s pipeline."""
    sections = run.loaded.sections
    artifacts = sections.get("artifacts")
    tasks = sections.get("tasks")
    return TalendConfig(
        artifacts=list(artifacts.root) if isinstance(artifacts, ArtifactsSection) else [],
        tasks=list(tasks.root) if isinstance(tasks, TasksSection) else [],
        connections=_section(run, "connections", ConnectionsConfig),
        parameters=_section(run, "parameters", ParametersConfig),
        apply=_section(run, "apply", ApplyConfig),
        verify=_section(run, "verify", VerifyConfig),
        talend=_section(run, "talend", TalendSection),
    )


S = TypeVar("S", bound=StrictModel)


def _section(run: RunContext, name: str, model: type[S]) -> S:
    found = run.loaded.sections.get(name)
    return found if isinstance(found, model) else model()
