"""The run context every hook receives as ``run``: the pipeline and target of one run, its
options, its secrets, per-object progress (recorded in the ledger), and what earlier attempts
of a resumed run recorded.

Plugins import these names from :mod:`promoter`; the engine builds the context
(:func:`promoter.engine.build_context`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import BaseModel

from promoter.model import ObjectProgress, ObjectStatus, TargetRef
from promoter.release import Promotion, Release, TargetHealth

if TYPE_CHECKING:
    from promoter.ledger import LeaseLost
    from promoter.pipeline import LoadedPipeline, Pipeline, SecretRef, TargetConfig

M = TypeVar("M", bound=BaseModel)


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


class History(Protocol):
    """What a stage may read of earlier runs (``run.history``): the promotions of releases, as
    the ledger recorded them. The lifecycle gate asks it which phases verified a release."""

    def promotions(
        self, *, digest: str | None = None, release: str | None = None
    ) -> list[Promotion]:
        """Runs of releases with that content ``digest`` (or of one ``release`` id), newest
        first, dry runs included (see :attr:`Promotion.verified`)."""
        ...


class Observer(Protocol):
    """What a stage may ask the platform plugins about any target (``run.observer``)."""

    def target_health(
        self, target: TargetRef, release: Release, since: datetime
    ) -> TargetHealth | None:
        """``promoter_target_health``: how ``release``'s tasks ran on ``target`` since then."""
        ...


class SharedBudgets(Protocol):
    """Request budgets that every runner of a team ledger shares (``run.budgets``): a sliding
    window of request slots per ``key`` and API family, kept in the ledger. Runners behind one
    address, which a platform counts as one client, draw from one window instead of each
    believing it owns the whole budget. ``None`` where the ledger keeps none (SQLite: one
    machine).

    Example (what the Talend plugin does with ``talend: budget_scope: shared``)::

        if run.budgets is not None:
            client.share_budgets(run.budgets, key=api_url)
    """

    def reserve(
        self, key: str, family: str, *, budget: int, period: float, count: int = 1
    ) -> list[float]:
        """Take ``count`` slots of ``family``'s ``budget`` per ``period`` seconds under ``key``;
        for each, in order, the seconds from now until a request may use it (0: at once)."""
        ...


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
    release: str | None = None
    """``--release ID``: promote that release (the source is not read)."""
    only: MappingABC[str, str | None] = field(default_factory=dict)
    """``--only NAME[=VERSION]``: a hotfix of these artifacts alone (``None``: the pipeline's
    version of it)."""
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
    release: Release | None = None
    """The release the run promotes: given with ``--release``, or made from what export read
    (set after export; ``None`` before, and for runs that export nothing)."""
    history: History | None = None
    """Earlier promotions, from the ledger (``None`` outside a ledger, e.g. ``promoter export``)."""
    observer: Observer | None = None
    """What the platform plugins observe of targets other than the run's (the engine asks
    ``promoter_target_health``); ``None`` outside an engine."""
    budgets: SharedBudgets | None = None
    """Request budgets shared with the other runners of the team ledger (``None`` without one)."""
    _sink: ProgressSink | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cleanups: list[Callable[[], object]] = field(default_factory=list, repr=False)
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
    def hotfix(self) -> bool:
        """Whether the run is a hotfix: a ``kind: hotfix`` pipeline, or ``--only``."""
        return self.pipeline.kind == "hotfix" or bool(self.options.only)

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

    def add_cleanup(self, cleanup: Callable[[], object]) -> None:
        """Call ``cleanup`` when the run is over (a plugin closes its clients, files...).

        Cleanups run last-added first, after ``promoter_run_finished``; one that raises does not
        keep the others from running.
        """
        with self._lock:
            self._cleanups.append(cleanup)

    def close(self) -> None:
        """Run the cleanups (the engine does it at the end of every run)."""
        with self._lock:
            cleanups, self._cleanups = self._cleanups[::-1], []
        for cleanup in cleanups:
            with contextlib.suppress(Exception):  # a cleanup must not mask the run's outcome
                cleanup()
    def _refuse_progress(self, lost: LeaseLost) -> None:
        """From now on, :meth:`progress` raises ``lost`` at once, in every thread (the engine calls
        this when the ledger refused an event: the run lost its lock)."""
        self._stopped = lost

    def already_done(self, stage: str, kind: str, key: str) -> bool:
        """Whether an earlier attempt of this run (or this one) finished this object."""
        with self._lock:
            return (stage, kind, key) in self.completed
