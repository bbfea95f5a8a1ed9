"""The platform-neutral pipeline file: what every promotion has, whatever the platform.

:class:`Pipeline` holds the keys promoter itself reads — name, kind, source, targets, values,
gates, reports, plugins. Everything a platform needs (Talend's ``artifacts``, ``tasks``,
``connections``, ``parameters``, ``apply``, ``verify``, ``talend``) is a *section* its plugin
registers through ``promoter_register_pipeline_sections`` and validates with its own model; the
file users write does not change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from promoter.model import TargetRef
from promoter.pipeline.secrets import SecretRef
from promoter.release import parse_duration

Value = SecretRef | bool | int | float | str | None
"""A configuration value: a scalar, or a secret reference."""


class StrictModel(BaseModel):
    """User configuration: unknown keys are errors (typos fail loudly)."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


class SourceConfig(StrictModel):
    """Where the release comes from."""

    environment: str = Field(min_length=1)
    workspace: str = Field(min_length=1)


class TargetConfig(StrictModel):
    """One target of the pipeline; ``--target ENV`` picks one (default: the first)."""

    environment: str = Field(min_length=1)
    workspace: str | None = Field(default=None, min_length=1)
    """Defaults to the source's workspace name."""
    approval: Literal["none", "required"] = "none"
    values: dict[str, Value] = Field(default_factory=dict)
    """Per-target values (connection hosts...), available to stages as ``run.values``."""
    after: list[str] | None = None
    """The lifecycle phases (target environments) that must have verified a release before it
    may come here. Default: the target listed before this one (none for the first); ``[]``: no
    phase before it."""
    soak: timedelta | None = None
    """How long the release must have run in the phases before (``2h``, ``30m``, ``1d``)."""
    require_clean_runs: int = Field(default=0, ge=0)
    """How many executions of the promoted tasks must have succeeded in the phases before since
    the release got there, with none failed (read from the platform's monitoring)."""

    @field_validator("after", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("soak", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else parse_duration(value)


class FreezeWindow(StrictModel):
    """No promotion (to the listed environments, or all) between ``start`` and ``end``."""

    start: datetime
    end: datetime
    environments: list[str] | None = None
    reason: str = "change freeze"

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self

    def covers(self, moment: datetime, environment: str) -> bool:
        """Whether the window freezes ``environment`` at ``moment``."""
        in_scope = self.environments is None or environment in self.environments
        return in_scope and self.start <= moment < self.end


class GatesConfig(StrictModel):
    """Built-in gates."""

    no_downgrade: bool = True
    freeze: list[FreezeWindow] = Field(default_factory=list)
    require_reason: bool = False
    """Hotfix pipelines always require a reason."""
    approval_file: str | None = Field(default=None, min_length=1)
    """A YAML file of approvals (relative to the pipeline file) for targets with
    ``approval: required``; ``--approve`` on the command line is the other way."""


ReportFormat = Literal["json", "junit", "markdown", "html"]
DEFAULT_REPORT_FORMATS: tuple[ReportFormat, ...] = ("json", "markdown")


class ReportsConfig(StrictModel):
    """Report files written at the end of every run."""

    dir: str = "reports"
    formats: list[ReportFormat] = Field(default_factory=lambda: list(DEFAULT_REPORT_FORMATS))

    @field_validator("dir")
    @classmethod
    def _inside_working_directory(cls, value: str) -> str:
        # A path from the file stays under the working directory; one from the command line
        # (--report-dir) is the user's choice. Both flavours of path: a file written on Linux
        # may run on Windows, and the other way round.
        posix, windows = PurePosixPath(value), PureWindowsPath(value)
        if posix.is_absolute() or windows.is_absolute() or windows.drive or value.startswith("~"):
            raise ValueError(
                f"{value!r} is not a relative path; reports.dir stays inside the working "
                "directory (give --report-dir on the command line for another place)"
            )
        if ".." in posix.parts or ".." in windows.parts:
            raise ValueError(
                f"{value!r} leaves the working directory ('..'); reports.dir stays inside it "
                "(give --report-dir on the command line for another place)"
            )
        return value


class Pipeline(StrictModel):
    """A pipeline file: what to promote, from where, to which targets, and how."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    kind: Literal["release", "hotfix"] = "release"
    description: str | None = None
    source: SourceConfig
    targets: list[TargetConfig] = Field(min_length=1)
    values: dict[str, Value] = Field(default_factory=dict)
    """Values shared by every target (a target's ``values`` override them)."""
    gates: GatesConfig = Field(default_factory=GatesConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    plugins: list[str] = Field(default_factory=list)
    """Local plugin modules: ``.py`` paths relative to this file, or module names."""

    def phases_before(self, environment: str) -> list[str]:
        """The lifecycle phases that must verify a release before it goes to ``environment``:
        the target's ``after``, or by default the target listed before it."""
        for index, target in enumerate(self.targets):
            if target.environment == environment:
                if target.after is not None:
                    return list(target.after)
                return [self.targets[index - 1].environment] if index > 0 else []
        raise KeyError(environment)

    @property
    def requires_reason(self) -> bool:
        """Hotfix pipelines, and pipelines with ``gates.require_reason``, need ``--reason``."""
        return self.kind == "hotfix" or self.gates.require_reason

    def select_target(self, environment: str | None) -> TargetConfig:
        """The target named ``environment``, or the first one; raises ``KeyError`` if unknown."""
        if environment is None:
            return self.targets[0]
        for target in self.targets:
            if target.environment == environment:
                return target
        raise KeyError(environment)

    def target_ref(self, target: TargetConfig) -> TargetRef:
        """The environment/workspace of a target (the workspace defaults to the source's)."""
        return TargetRef(
            environment=target.environment, workspace=target.workspace or self.source.workspace
        )

    def source_ref(self) -> TargetRef:
        """The source's environment/workspace."""
        return TargetRef(environment=self.source.environment, workspace=self.source.workspace)


CORE_SECTIONS = frozenset(Pipeline.model_fields)

