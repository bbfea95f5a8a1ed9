"""Where things are (``promoter status FILE``): for each lifecycle phase, the release it runs
now by the ledger, whether the target still matches it (drift, read from the platform), how its
tasks have run since, who holds its lock, and what may be promoted next; and the release x
phase matrix of the latest releases.

The drift check plans the phase's current release against the target without writing or
recording anything (the same map and plan stages as a promotion): no pending change means the
target is what was promoted.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from promoter.context import RunContext, RunOptions
from promoter.errors import PromoterError
from promoter.hooks.calls import PromoterHooks
from promoter.ledger import Ledger, LockInfo, RunRecord
from promoter.model import MAP, PLAN, RunStatus
from promoter.pipeline import LoadedPipeline
from promoter.release import Release, ReleaseSummary, TargetHealth

FAILED_HERE = frozenset({RunStatus.ROLLED_BACK, RunStatus.FAILED, RunStatus.ROLLBACK_INCOMPLETE})
"""How a release's last run on a target ended when status does not suggest it there again."""

RELEASES_SHOWN = 10
"""How many of the latest releases the matrix lists."""


class Drift(BaseModel):
    """Whether a target still holds what the ledger says was promoted there."""

    checked: bool
    """``False`` when it could not be read (``error`` says why)."""
    changes: list[str] = Field(default_factory=list)
    """``update task:Finance daily load`` ...: what promoting the release again would write."""
    error: str | None = None

    @property
    def drifted(self) -> bool:
        """Whether the target differs from the release."""
        return bool(self.changes)

    def describe(self) -> str:
        """``none``, ``2 change(s): update task:X, ...`` or ``unknown: ...``."""
        if not self.checked:
            return f"unknown: {self.error}"
        if not self.changes:
            return "none"
        shown = ", ".join(self.changes[:3]) + (" ..." if len(self.changes) > 3 else "")
        return f"{len(self.changes)} change(s): {shown}"


class PhaseStatus(BaseModel):
    """One phase of the lifecycle: what runs there and what comes next."""

    environment: str
    target: str
    after: list[str] = Field(default_factory=list)
    release: ReleaseSummary | None = None
    """The release the ledger says runs there now (its latest promotion still in place)."""
    promoted_by: str | None = None
    promoted_at: datetime | None = None
    hotfix: bool = False
    last_attempt: dict[str, str] | None = None
    """The latest run there when it is not the one in place: ``{run, status, release}``."""
    drift: Drift | None = None
    health: TargetHealth | None = None
    lock: LockInfo | None = None
    next: str | None = None
    """The newest release that may be promoted here now, if any."""
    waiting: list[str] = Field(default_factory=list)
    """Newer releases that may not come yet, with why (``R: waiting for test``)."""


class PipelineStatus(BaseModel):
    """``promoter status FILE``."""

    pipeline: str
    source: str
    phases: list[PhaseStatus]
    releases: list[ReleaseSummary]
    """The latest releases, newest first."""
    matrix: dict[str, dict[str, str]]
    """release id -> environment -> what happened to it there (``runs now``, ``verified``,
    ``rolled-back``, ``blocked``..., or nothing)."""


def verified(record: RunRecord) -> bool:
    """Whether a run promoted and verified its release (and was not rolled back since): the
    latest such run of a target is what the target runs now."""
    return record.status is RunStatus.PROMOTED and not record.dry_run and record.release is not None


def pipeline_status(
    hooks: PromoterHooks,
    ledger: Ledger,
    loaded: LoadedPipeline,
    *,
    check_target: bool = True,
) -> PipelineStatus:
    """Everything ``promoter status`` shows; ``check_target`` reads the targets (drift and
    health) — without it, only the ledger is read."""
    pipeline = loaded.pipeline
    releases = ledger.releases(pipeline=pipeline.name, limit=RELEASES_SHOWN)
    runs_by_release = {
        r.id: [x for x in ledger.runs_of_release(release=r.id, limit=200) if not x.dry_run]
        for r in releases
    }
    verified_digests: dict[str, set[str]] = {}  # environment -> digests verified there
    phases = []
    for config in pipeline.targets:
        target = pipeline.target_ref(config)
        history = [r for r in ledger.list_runs(target=target.key, limit=200) if not r.dry_run]
        verified_digests[target.environment] = {
            r.digest for r in history if verified(r) and r.digest is not None
        }
        phases.append(_phase(hooks, ledger, loaded, config.environment, history, check_target))
    for phase in phases:
        attempts = {
            r.id: [x for x in runs_by_release[r.id] if x.target == phase.target]
            for r in releases
        }
        _next(
            phase, releases, verified_digests, pipeline.phases_before(phase.environment), attempts
        )
    matrix = {r.id: _cells(r, runs_by_release[r.id], phases) for r in releases}
    return PipelineStatus(
        pipeline=pipeline.name,
        source=pipeline.source_ref().key,
        phases=phases,
        releases=releases,
        matrix=matrix,
    )


def _phase(
    hooks: PromoterHooks,
    ledger: Ledger,
    loaded: LoadedPipeline,
    environment: str,
    history: list[RunRecord],
    check_target: bool,
) -> PhaseStatus:
    pipeline = loaded.pipeline
    target = pipeline.target_ref(pipeline.select_target(environment))
    current = next((r for r in history if verified(r)), None)
    phase = PhaseStatus(
        environment=environment,
        target=target.key,
        after=pipeline.phases_before(environment),
        lock=ledger.get_lock(target.key),
    )
    latest = history[0] if history else None
    if latest is not None and latest is not current and latest.status is not RunStatus.RUNNING:
        phase.last_attempt = {
            "run": latest.id,
            "status": latest.status.value,
            "release": latest.release or "-",
        }
    if current is None or current.release is None:
        return phase
    release = ledger.release(current.release)
    phase.release = release.summary()
    phase.promoted_by = current.id
    phase.promoted_at = datetime.fromisoformat(current.updated_at or current.created_at)
    phase.hotfix = current.hotfix
    if check_target:
        run = _observer_run(hooks, loaded, environment, release)
        try:
            phase.drift = _drift(hooks, run, release)
            phase.health = _health(hooks, run, release, phase.promoted_at)
        finally:
            run.close()
    return phase


def _observer_run(
    hooks: PromoterHooks, loaded: LoadedPipeline, environment: str, release: Release
) -> RunContext:
    """A run context that only reads (nothing locked or recorded)."""
    from promoter.engine.runs import build_context

    run = build_context(
        loaded,
        target=environment,
        options=RunOptions(dry_run=True, yes=True),
        command="status",
    )
    run.release = release
    return run


def _drift(hooks: PromoterHooks, run: RunContext, release: Release) -> Drift:
    try:
        mapping = hooks.first(MAP, run=run, bundle=release.bundle)
        if mapping.problems:
            return Drift(checked=False, error="; ".join(p.message for p in mapping.problems))
        plan = hooks.first(PLAN, run=run, mapping=mapping)
    except PromoterError as exc:
        return Drift(checked=False, error=run.secrets.redact(exc.message))
    return Drift(checked=True, changes=[f"{c.action.value} {c.ref}" for c in plan.pending])


def _health(
    hooks: PromoterHooks, run: RunContext, release: Release, since: datetime
) -> TargetHealth | None:
    try:
        return hooks.target_health(run=run, target=run.target, release=release, since=since)
    except PromoterError:
        return None


def _next(
    phase: PhaseStatus,
    releases: list[ReleaseSummary],
    verified: dict[str, set[str]],
    before: list[str],
    attempts: dict[str, list[RunRecord]],
) -> None:
    """The newest release that may come to ``phase`` now, and the newer ones still waiting (a
    release that failed here last time is not suggested again: it is listed with its run)."""
    current = phase.release.digest if phase.release else None
    for release in releases:  # newest first
        if release.digest == current:
            break
        missing = [p for p in before if release.digest not in verified.get(p, set())]
        if missing:
            phase.waiting.append(f"{release.id}: waiting for {', '.join(missing)}")
            continue
        tried = attempts.get(release.id) or []
        if tried and tried[0].status in FAILED_HERE:
            phase.waiting.append(
                f"{release.id}: {tried[0].status.value} here by run {tried[0].id}"
            )
            continue
        phase.next = release.id
        break


def _cells(
    release: ReleaseSummary, runs: list[RunRecord], phases: list[PhaseStatus]
) -> dict[str, str]:
    """What happened to ``release`` in each phase."""
    cells: dict[str, str] = {}
    for phase in phases:
        mine = [r for r in runs if r.target == phase.target]
        waiting = next(
            (w.split(": ", 1)[1] for w in phase.waiting if w.startswith(f"{release.id}: wait")),
            None,
        )
        if phase.release is not None and phase.release.id == release.id:
            cells[phase.environment] = "runs now"
        elif mine and verified(mine[0]):
            cells[phase.environment] = "verified, replaced since"
        elif waiting is not None:
            cells[phase.environment] = waiting
        elif mine:
            cells[phase.environment] = mine[0].status.value
        elif phase.next == release.id:
            cells[phase.environment] = "may promote"
        else:
            cells[phase.environment] = ""
    return cells
