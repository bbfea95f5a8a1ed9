"""The typed objects that stages pass to each other, and the run context they all receive.

Everything here is generic: an object on a target is identified by ``kind`` + ``key`` and carries a
JSON body, so the Talend stages (and any other platform's) can fill these models without the engine
knowing their wire format. All models are pydantic and serialise to JSON; the ledger stores them.

Stage order and what flows between the stages::

    export -> ExportBundle -> map -> Mapping -> plan -> Plan -> gate -> GateDecision[]
           -> snapshot -> Snapshot -> apply -> ApplyResult -> verify -> CheckResult[]
           (on failure: rollback(Snapshot) -> RollbackResult) -> report(RunOutcome)
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from promoter.ledger import LeaseLost
    from promoter.pipeline import LoadedPipeline, Pipeline, SecretRef, TargetConfig


M = TypeVar("M", bound=BaseModel)


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class _Model(BaseModel):
    """Base of the stage models: unknown fields are kept out, values are validated on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


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


class ExportBundle(_Model):
    """What ``promoter_export`` returns: the objects to promote, read from the source."""

    source: TargetRef
    objects: list[ExportedObject] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)


class MappingProblem(_Model):
    """A gap found while mapping, with what to add and where (e.g. a missing connection)."""

    object: ObjectRef | None = None
    message: str
    hint: str | None = None


class Mapping(_Model):
    """What ``promoter_map`` returns: the objects as they must look on the target."""

    target: TargetRef
    objects: list[ExportedObject] = Field(default_factory=list)
    problems: list[MappingProblem] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


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


class Plan(_Model):
    """What ``promoter_plan`` returns: the exact changes on the target."""

    target: TargetRef
    changes: list[Change] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime = Field(default_factory=utcnow)

    @property
    def pending(self) -> list[Change]:
        """The changes that write something (everything but ``unchanged``)."""
        return [c for c in self.changes if c.action is not ChangeAction.UNCHANGED]

    @property
    def has_changes(self) -> bool:
        """Whether applying the plan writes anything."""
        return bool(self.pending)

    def summary(self) -> dict[str, int]:
        """Counts per action, e.g. ``{"create": 2, "update": 1, "delete": 0, "unchanged": 5}``."""
        counts = {action.value: 0 for action in ChangeAction}
        for change in self.changes:
            counts[change.action.value] += 1
        return counts


class SnapshotEntry(_Model):
    """The pre-apply state of one object; ``body`` is ``None`` when the object did not exist."""

    kind: str
    key: str
    body: dict[str, Any] | None = None

    @property
    def ref(self) -> ObjectRef:
        """The object's identity."""
        return ObjectRef(kind=self.kind, key=self.key)


class Snapshot(_Model):
    """What ``promoter_snapshot`` returns: the full pre-apply state of what the plan touches."""

    target: TargetRef
    entries: list[SnapshotEntry] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    taken_at: datetime = Field(default_factory=utcnow)


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


class ApplyResult(_Model):
    """What ``promoter_apply`` returns: the objects written, and whatever the stage wants to keep."""

    applied: list[ObjectRef] = Field(default_factory=list)
    skipped: list[ObjectRef] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)


class GateDecision(_Model):
    """One gate's verdict on the plan; any ``allowed=False`` blocks the promotion (exit 4)."""

    gate: str
    allowed: bool
    reason: str
    hint: str | None = None


class CheckResult(_Model):
    """One verification check; any ``passed=False`` fails the run and triggers rollback."""

    name: str
    passed: bool
    message: str = ""
    details: dict[str, Any] = Field(default_factory=dict)


class RollbackResult(_Model):
    """What ``promoter_rollback`` returns; ``complete`` only when the target equals the snapshot."""

    complete: bool
    restored: list[ObjectRef] = Field(default_factory=list)
    differences: list[str] = Field(default_factory=list)
    message: str = ""


class StageStatus(enum.StrEnum):
    """How one stage ended."""

    OK = "ok"
    FAILED = "failed"
    BLOCKED = "blocked"
    SKIPPED = "skipped"
    INTERRUPTED = "interrupted"


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
    """The outcome of a run: status, exit code, every stage's outcome, and a message."""

    run_id: str
    status: RunStatus
    exit_code: int
    message: str = ""
    stages: list[StageOutcome] = Field(default_factory=list)
    plan_summary: dict[str, int] | None = None
    gates: list[GateDecision] = Field(default_factory=list)
    checks: list[CheckResult] = Field(default_factory=list)
    rollback: RollbackResult | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    """Counters plugins add while reporting, by plugin (``talend``: the client's requests,
    retries, 429s and waits), so that the ledger keeps what a run cost and survived."""


Stage = Literal[
    "export", "map", "plan", "gate", "snapshot", "apply", "verify", "rollback", "report"
]
STAGES: tuple[Stage, ...] = (
    "export",
    "map",
    "plan",
    "gate",
    "snapshot",
    "apply",
    "verify",
    "rollback",
    "report",
)
"""Every stage, in run order (rollback runs only when apply or verify failed)."""


@dataclass(frozen=True)
class EarlierAttempts:
    """What earlier attempts of a resumed run recorded, object by object (``run.earlier``).

    A resumed run is the same run carried on after a crash or a Ctrl-C: the ledger kept every
    progress event the interrupted attempts recorded, with its :attr:`ObjectProgress.data`. A stage
    that starts something on the platform records it *before* waiting for it, then takes it up
    on resume instead of doing it again::

        previous = run.earlier.data("verify", "task", name).get("executionId")
        if previous is None:
            run.progress("verify", "task", name, "started")     # fenced: see below
            previous = start_execution(name)
            run.progress("verify", "task", name, "started", data={"executionId": previous})
        result = wait_for(previous)                              # a new one, or the adopted one

    Empty on a first attempt. Events are in the order they were recorded (oldest first); those of
    the current attempt are not included (they are the stage's own).
    """

    events: tuple[ObjectProgress, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.events)

    def of(self, stage: str, kind: str, key: str) -> list[ObjectProgress]:
        """Every event recorded for one object of one stage, oldest first."""
        return [e for e in self.events if (e.stage, e.kind, e.key) == (stage, kind, key)]

    def last(self, stage: str, kind: str, key: str) -> ObjectProgress | None:
        """The latest event recorded for the object, or ``None``."""
        events = self.of(stage, kind, key)
        return events[-1] if events else None

    def data(self, stage: str, kind: str, key: str) -> dict[str, Any]:
        """The data of the object's events merged, later values winning (``{}`` if none)."""
        merged: dict[str, Any] = {}
        for event in self.of(stage, kind, key):
            merged.update(event.data)
        return merged

    def done(self, stage: str, kind: str, key: str) -> bool:
        """Whether an earlier attempt recorded the object ``done``."""
        return any(e.status is ObjectStatus.DONE for e in self.of(stage, kind, key))


class ProgressSink(Protocol):
    """Where :meth:`RunContext.progress` sends its events (the engine: ledger + hook)."""

    def __call__(self, run: RunContext, event: ObjectProgress) -> None: ...


class SecretResolver(Protocol):
    """Resolves secret references for a stage; see :class:`promoter.pipeline.Secrets`."""

    def resolve(self, ref: SecretRef | str) -> str: ...

    def redact(self, text: str) -> str: ...


@dataclass(frozen=True)
class RunOptions:
    """What the user asked for on the command line."""

    dry_run: bool = False
    yes: bool = False
    reason: str | None = None
    variables: MappingABC[str, str] = field(default_factory=dict)
    plugins: tuple[str, ...] = ()
    """``-p`` plugin specs (a resumed run loads them again)."""
    extra: MappingABC[str, Any] = field(default_factory=dict)
    """Values of options contributed by plugins through ``promoter_add_cli_options``."""


@dataclass
class RunContext:
    """Everything a stage needs, passed to every hook as ``run``.

    Stages read the pipeline (``run.pipeline``: the validated model, with its sections), the
    selected ``run.target`` and ``run.source``, the per-target ``run.values``, the command-line
    ``run.options``, resolve secrets with ``run.secrets.resolve(ref)``, keep private state in
    ``run.state`` (a dict, keyed by plugin name by convention), and report per-object progress with
    :meth:`progress` — which the ledger records, so that :meth:`already_done` lets a resumed apply
    skip what an interrupted one finished.

    Resuming: ``run.resumed`` is true and :attr:`earlier` holds what the interrupted attempts
    recorded (every progress event, with its data), so a stage takes up what they began — an
    execution they started, a promotion they triggered — instead of doing it twice.

    Fencing: :meth:`progress` writes to the ledger at once, and the ledger refuses the write of a
    run that lost its target's lock (``promoter unlock --force``, or a lapsed lease) with
    :class:`~promoter.ledger.LeaseLost`. Report an object ``started`` right before writing it to
    the platform, and a run that lost its lock stops before that write.
    """

    run_id: str
    loaded: LoadedPipeline
    target_config: TargetConfig
    source: TargetRef
    target: TargetRef
    options: RunOptions
    secrets: SecretResolver
    user: str
    command: str = "promote"
    """What the run does: ``promote``, ``plan``, ``resume`` or ``rollback``."""
    resumed: bool = False
    state: dict[str, Any] = field(default_factory=dict)
    completed: set[tuple[str, str, str]] = field(default_factory=set)
    """``(stage, kind, key)`` of objects a previous attempt of this run finished."""
    earlier: EarlierAttempts = field(default_factory=EarlierAttempts)
    """What earlier attempts of this run recorded (empty unless ``resumed``)."""
    _sink: ProgressSink | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stopped: LeaseLost | None = field(default=None, repr=False)

    @property
    def pipeline(self) -> Pipeline:
        """The validated pipeline model."""
        return self.loaded.pipeline

    @property
    def pipeline_path(self) -> Path:
        """The pipeline file; relative paths in the pipeline are relative to its directory."""
        return self.loaded.path

    @property
    def values(self) -> dict[str, Any]:
        """Per-target values: the pipeline's ``values``, then the target's, then ``--var``."""
        return {**self.pipeline.values, **self.target_config.values, **self.options.variables}

    @property
    def reason(self) -> str | None:
        """The ``--reason`` given for this run."""
        return self.options.reason

    @property
    def dry_run(self) -> bool:
        """Whether the run stops after the plan."""
        return self.options.dry_run

    def section(self, name: str) -> Any:
        """The validated model of a plugin-contributed pipeline section (``None`` if absent)."""
        return self.loaded.sections.get(name)

    def section_as(self, name: str, model: type[M]) -> M | None:
        """:meth:`section`, typed: the section's model instance, or ``None`` if absent."""
        section = self.loaded.sections.get(name)
        if section is None:
            return None
        if not isinstance(section, model):
            raise TypeError(f"section {name!r} is a {type(section).__name__}, not {model.__name__}")
        return section

    def progress(
        self,
        stage: str,
        kind: str,
        key: str,
        status: ObjectStatus | str,
        message: str | None = None,
        *,
        data: MappingABC[str, Any] | None = None,
    ) -> None:
        """Record per-object progress; thread-safe, so an apply with concurrency can call it.

        ``status="done"`` during ``apply`` marks the object finished: a resumed run sees it in
        :meth:`already_done` and must not write it again. ``data`` (small JSON values, e.g.
        ``{"executionId": ...}``) is stored with the event for a resumed run's :attr:`earlier`;
        its strings are redacted like ``message``.

        Raises :class:`~promoter.ledger.LeaseLost` when the run lost its target's lock — and
        again at every later call of any thread, so that no worker carries on.
        """
        event = ObjectProgress(
            stage=stage,
            kind=kind,
            key=key,
            status=ObjectStatus(status),
            message=self.secrets.redact(message) if message else None,
            data={
                name: self.secrets.redact(value) if isinstance(value, str) else value
                for name, value in (data or {}).items()
            },
        )
        with self._lock:
            if self._stopped is not None:
                # A copy: one exception object raised in several threads would mix tracebacks.
                raise type(self._stopped)(self._stopped.message, hint=self._stopped.hint)
            if event.status is ObjectStatus.DONE:
                self.completed.add((stage, kind, key))
            if self._sink is not None:
                self._sink(self, event)

    def _refuse_progress(self, lost: LeaseLost) -> None:
        """From now on, :meth:`progress` raises ``lost`` at once, in every thread (the engine calls
        this when the ledger refused an event: the run lost its lock)."""
        self._stopped = lost

    def already_done(self, stage: str, kind: str, key: str) -> bool:
        """Whether an earlier attempt of this run (or this one) finished this object."""
        with self._lock:
            return (stage, kind, key) in self.completed
