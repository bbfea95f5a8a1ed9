"""The contract between the engine and the plugins: what each stage returns, and the one table
of stages. (The run context every hook receives is :mod:`promoter.context`.)

Everything here is generic: an object on a target is identified by ``kind`` + ``key`` and carries a
JSON body, so the Talend stages (and any other platform's) can fill these models without the engine
knowing their wire format. All models are pydantic and serialise to JSON; the ledger stores them.

Stage order and what flows between the stages (:data:`STAGES` is the one list of them)::

    export -> ExportBundle -> map -> TargetMapping -> plan -> Plan -> gate -> GateDecision[]
           -> snapshot -> Snapshot -> apply -> ApplyResult -> verify -> CheckResult[]
           (on failure: rollback(Snapshot) -> RollbackResult) -> report(RunOutcome)

This module imports nothing of the engine, the hooks or any platform: plugins, the engine and
the hook specifications all depend on it, never the other way round.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    pass


M = TypeVar("M", bound=BaseModel)
R = TypeVar("R")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class _Model(BaseModel):
    """Base of the stage models: unknown fields are kept out, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class StageStatus(enum.StrEnum):
    """How one stage ended."""

    OK = "ok"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


class Payload(_Model):
    """What a stage returns; :meth:`summary` is what the ledger and the console say about it."""

    def summary(self) -> str:
        """One line about this result, for the stage's outcome."""
        return ""

    def verdict(self) -> StageStatus:
        """How this result ends its stage: ``ok`` unless it says otherwise (a refusing gate is
        ``blocked``, a failed check ``failed``). Every output reads the stage's status from here."""
        return StageStatus.OK


class TargetRef(_Model):
    """One place objects live: an environment and a workspace in it."""

    environment: str
    workspace: str

    @property
    def key(self) -> str:
        """``environment/workspace``: the ledger's and the lock's name for this target."""
        return f"{self.environment}/{self.workspace}"

    def __str__(self) -> str:
        return self.key


class ObjectRef(_Model):
    """The identity of an object on a target: its kind (``task``, ``connection``...) and key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    key: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class ExportedObject(_Model):
    """One object read from the source, with its JSON body (secrets masked or as references)."""

    kind: str
    key: str
    body: dict[str, Any] = Field(default_factory=dict)

    @property
    def ref(self) -> ObjectRef:
        """The object's identity."""
        return ObjectRef(kind=self.kind, key=self.key)


class ExportBundle(Payload):
    """What ``promoter_export`` returns: the objects to promote, read from the source."""

    source: TargetRef
    objects: list[ExportedObject] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    """Artifact name -> the exact version exported (never ``latest`` or a pattern)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    def summary(self) -> str:
        """``12 object(s) exported from dev/Finance``."""
        return f"{len(self.objects)} object(s) exported from {self.source}"


class MappingProblem(_Model):
    """A gap found while mapping, with what to add and where (e.g. a missing connection)."""

    object: ObjectRef | None = None
    message: str
    hint: str | None = None


class TargetMapping(Payload):
    """What ``promoter_map`` returns: the objects as they must look on the target."""

    target: TargetRef
    objects: list[ExportedObject] = Field(default_factory=list)
    problems: list[MappingProblem] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    """Artifact name -> the exact version the target must run."""
    metadata: dict[str, Any] = Field(default_factory=dict)

    def summary(self) -> str:
        """``12 object(s) mapped to test/Finance, 1 problem(s)``."""
        problems = f", {len(self.problems)} problem(s)" if self.problems else ""
        return f"{len(self.objects)} object(s) mapped to {self.target}{problems}"

    def verdict(self) -> StageStatus:
        """``failed`` when mapping found problems (the run stops there)."""
        return StageStatus.FAILED if self.problems else StageStatus.OK


Mapping = TargetMapping
"""The name :class:`TargetMapping` had before 0.2 (kept for plugins that import it)."""


class ChangeAction(enum.StrEnum):
    """What the plan does to one object."""

    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


class FieldChange(_Model):
    """One field that differs: a dotted path and the values before and after."""

    path: str
    before: Any = None
    after: Any = None


class Change(_Model):
    """The plan for one object: the action, the bodies before/after, and a field-level diff."""

    kind: str
    key: str
    action: ChangeAction
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    fields: list[FieldChange] = Field(default_factory=list)

    @property
    def ref(self) -> ObjectRef:
        """The object's identity."""
        return ObjectRef(kind=self.kind, key=self.key)


class Plan(Payload):
    """What ``promoter_plan`` returns: the exact changes on the target."""

    target: TargetRef
    changes: list[Change] = Field(default_factory=list)
    versions: dict[str, str] = Field(default_factory=dict)
    """Artifact name -> the exact version the plan promotes (what approvals and reports name)."""
    release: str | None = None
    """The release the plan was made from (set by the engine; a reviewed plan carries it)."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    @model_validator(mode="before")
    @classmethod
    def _versions_from_metadata(cls, data: Any) -> Any:
        # Plans saved before 0.2 kept the versions in their metadata.
        if isinstance(data, dict) and "versions" not in data:
            versions = (data.get("metadata") or {}).get("versions")
            if isinstance(versions, dict):
                return {**data, "versions": versions}
        return data

    @property
    def pending(self) -> list[Change]:
        """The changes that write something (everything but ``unchanged``)."""
        return [c for c in self.changes if c.action is not ChangeAction.UNCHANGED]

    @property
    def has_changes(self) -> bool:
        """Whether applying the plan writes anything."""
        return bool(self.pending)

    def counts(self) -> dict[str, int]:
        """Counts per action, e.g. ``{"create": 2, "update": 1, "delete": 0, "unchanged": 5}``."""
        counts = {action.value: 0 for action in ChangeAction}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts

    def summary(self) -> str:
        """``2 create, 1 update, 5 unchanged`` (``empty`` for a plan without objects)."""
        return ", ".join(f"{n} {action}" for action, n in self.counts().items() if n) or "empty"


class SnapshotEntry(_Model):
    """The pre-apply state of one object; ``body`` is ``None`` when the object did not exist."""

    kind: str
    key: str
    body: dict[str, Any] | None = None

    @property
    def ref(self) -> ObjectRef:
        """The object's identity."""
        return ObjectRef(kind=self.kind, key=self.key)


class Snapshot(Payload):
    """What ``promoter_snapshot`` returns: the full pre-apply state of what the plan touches."""

    target: TargetRef
    entries: list[SnapshotEntry] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    taken_at: datetime = Field(default_factory=utcnow)

    def summary(self) -> str:
        """``6 object(s) captured``."""
        return f"{len(self.entries)} object(s) captured"


class ObjectStatus(enum.StrEnum):
    """Status of one object in a progress event."""

    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


class ObjectProgress(_Model):
    """A per-object progress event during apply, verify or rollback."""

    stage: str
    kind: str
    key: str
    status: ObjectStatus
    message: str | None = None
    at: datetime = Field(default_factory=utcnow)
    data: dict[str, Any] = Field(default_factory=dict)
    """What the stage needs to take the object up again after a crash: small JSON values, such
    as the id of a smoke execution it started (``{"executionId": "..."}``). Stored in the ledger
    with the event; a resumed run reads it through :attr:`RunContext.earlier`."""


class ApplyResult(Payload):
    """What ``promoter_apply`` returns: the objects written, and whatever the stage wants to keep."""

    applied: list[ObjectRef] = Field(default_factory=list)
    skipped: list[ObjectRef] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)

    def summary(self) -> str:
        """``4 object(s) applied, 2 already done``."""
        skipped = f", {len(self.skipped)} already done" if self.skipped else ""
        return f"{len(self.applied)} object(s) applied{skipped}"


class GateDecision(Payload):
    """One gate's verdict on the plan; any ``allowed=False`` blocks the promotion (exit 4)."""

    gate: str
    allowed: bool
    reason: str
    hint: str | None = None

    def summary(self) -> str:
        """``freeze: BLOCKED - prod is frozen until ...``."""
        return f"{self.gate}: {'allowed' if self.allowed else 'BLOCKED'} - {self.reason}"

    def verdict(self) -> StageStatus:
        """``blocked`` when the gate refuses."""
        return StageStatus.OK if self.allowed else StageStatus.BLOCKED


class CheckResult(Payload):
    """One verification check; any ``passed=False`` fails the run and triggers rollback."""

    name: str
    passed: bool
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)

    def summary(self) -> str:
        """``smoke:daily: FAILED - ended execution_failed``."""
        verdict = "passed" if self.passed else "FAILED"
        return f"{self.name}: {verdict}" + (f" - {self.message}" if self.message else "")

    def verdict(self) -> StageStatus:
        """``failed`` when the check did not pass."""
        return StageStatus.OK if self.passed else StageStatus.FAILED


class RollbackResult(Payload):
    """What ``promoter_rollback`` returns; ``complete`` only when the target equals the snapshot."""

    complete: bool
    restored: list[ObjectRef] = Field(default_factory=list)
    differences: list[str] = Field(default_factory=list)
    message: str = ""

    def summary(self) -> str:
        """``6 object(s) restored, complete``."""
        state = "complete" if self.complete else "INCOMPLETE: " + "; ".join(self.differences)
        return f"{len(self.restored)} object(s) restored, {state}"

    def verdict(self) -> StageStatus:
        """``failed`` when the target does not equal the snapshot afterwards."""
        return StageStatus.OK if self.complete else StageStatus.FAILED


class StageOutcome(_Model):
    """The record of one stage: status, duration, messages and the plugin that did the work."""

    stage: str
    status: StageStatus
    duration: float = 0.0
    plugin: str | None = None
    """The plugin that raised, when the stage failed; otherwise the first implementation in call
    order (for collecting stages: every implementation)."""
    messages: list[str] = Field(default_factory=list)
    """A summary of the result (counts, gate verdicts, checks), or the error."""
    started_at: datetime = Field(default_factory=utcnow)


class RunStatus(enum.StrEnum):
    """The states of a run in the ledger."""

    RUNNING = "running"
    PLANNED = "planned"
    """A dry run (or ``promoter plan``) that stopped after the plan."""
    NOTHING_TO_DO = "nothing-to-do"
    PROMOTED = "promoted"
    BLOCKED = "blocked"
    ROLLED_BACK = "rolled-back"
    ROLLBACK_INCOMPLETE = "rollback-incomplete"
    INTERRUPTED = "interrupted"
    """Stopped (Ctrl-C, or the process died): ``promoter resume`` or ``promoter rollback`` it."""
    FAILED = "failed"
    """Failed before anything was written (e.g. in export or plan)."""


class RunOutcome(_Model):
    """The outcome of a run: status, exit code, every stage's outcome, the plan, and a message.

    Every output of a run — console, ``--output json``, run.json, junit.xml, summary.md,
    report.html and the ledger — is made from this one object.
    """

    run_id: str
    status: RunStatus
    exit_code: int
    message: str = ""
    stages: list[StageOutcome] = Field(default_factory=list)
    plan: Plan | None = None
    """The plan the run made (or applied); ``None`` when it stopped before one."""
    plan_summary: dict[str, int] | None = None
    """``plan.counts()`` (kept for readers of run.json that do not read the plan)."""
    gates: list[GateDecision] = Field(default_factory=list)
    checks: list[CheckResult] = Field(default_factory=list)
    rollback: RollbackResult | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    """Counters plugins add while reporting, by plugin (``talend``: the client's requests,
    retries, 429s and waits), so that the ledger keeps what a run cost and survived."""
    release: str | None = None
    """The release the run promoted (or planned)."""
    digest: str | None = None
    """That release's content digest."""
    hotfix: bool = False
    """Whether the run was a hotfix (``kind: hotfix``, or ``--only``)."""

    @property
    def versions(self) -> dict[str, str]:
        """Artifact name -> exact version the run promoted (from its plan)."""
        return dict(self.plan.versions) if self.plan is not None else {}


# --- the stages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stage(Generic[R]):
    """One stage of a run: its name, the hook that does its work, and what that hook returns.

    Whether one plugin does the stage (``firstresult``) or every plugin contributes is the hook
    specification's business (:mod:`promoter.hooks.specs`); the engine asks pluggy.
    """

    name: str
    result: type[R]
    """The payload type the hook returns (for collecting stages: the type of each item)."""
    does: str
    """What the stage does, in a few words (for docs and ``promoter plugins``)."""

    @property
    def hook(self) -> str:
        """The hook that does the stage's work: ``promoter_<name>``."""
        return f"promoter_{self.name}"


EXPORT = Stage("export", ExportBundle, "read what to promote from the source")
MAP = Stage("map", TargetMapping, "turn it into what the target must hold")
PLAN = Stage("plan", Plan, "compare with the target: the exact changes")
GATE = Stage("gate", GateDecision, "decide whether the plan may be applied")
SNAPSHOT = Stage("snapshot", Snapshot, "record what the plan touches, before writing")
APPLY = Stage("apply", ApplyResult, "write the changes")
VERIFY = Stage("verify", CheckResult, "check the target (smoke runs)")
ROLLBACK = Stage("rollback", RollbackResult, "restore the snapshot after a failure")
REPORT = Stage("report", type(None), "tell everyone how the run ended")

STAGES: tuple[Stage[Any], ...] = (
    EXPORT,
    MAP,
    PLAN,
    GATE,
    SNAPSHOT,
    APPLY,
    VERIFY,
    ROLLBACK,
    REPORT,
)
"""Every stage, in run order (rollback runs only when apply or verify failed). The one list."""

STAGE_NAMES: tuple[str, ...] = tuple(stage.name for stage in STAGES)


@dataclass
class StageCall:
    """What ``promoter_stage`` receives: the stage, and the call that does its work."""

    stage: Stage[Any]
    execute: Callable[[], Any]

    @property
    def name(self) -> str:
        """The stage's name (``export``, ``apply``...)."""
        return self.stage.name


@dataclass
class PromoterConfig:
    """What ``promoter_configure`` receives: the command's settings, and a stash for plugins."""

    command: str = ""
    cwd: Path = field(default_factory=Path.cwd)
    ledger: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    stash: dict[str, Any] = field(default_factory=dict)
    """Free space for plugins, keyed by plugin name by convention."""
