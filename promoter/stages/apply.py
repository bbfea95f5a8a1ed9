"""Snapshot and apply: record the target as it is, then write the plan's changes.

The snapshot re-reads the target (nothing cached) and refuses to go on when it no longer matches
the plan: someone changed the target since the plan was made. It keeps the canonical body of
every object the plan touches — ``None`` for those the plan creates, so that rollback deletes
them — and the versions of every artifact that receives one.

Apply writes in dependency order — workspace, artifact versions, connections, tasks (in
parallel, ``apply.concurrency`` at a time), plans — reporting progress per object, and skips
what an interrupted attempt of the same run already finished. Two strategies:

``direct``
    Talend's orchestration API writes. Artifact versions missing from the target are brought by
    Talend's promotion scoped to the artifact (``ACTION``), which does not touch tasks.
``native``
    Talend's own promotion for each task (``FLOW`` scope: analysis first, then the run), then the
    same writes as ``direct`` to bind each task to the promoted version and to the mapped
    connections and parameters — which Talend's promotion does not do.
"""

from __future__ import annotations

from promoter.errors import ExitCode, PromoterError
from promoter.hookspecs import hookimpl
from promoter.run import (
    ApplyResult,
    Change,
    ObjectRef,
    Plan,
    RunContext,
    Snapshot,
    SnapshotEntry,
)
from promoter.stages.planning import comparable
from promoter.stages.session import TalendSession, session
from promoter.stages.workspace import (
    APPLY_ORDER,
    ARTIFACT,
    ARTIFACT_VERSION,
    CONNECTION,
    PLAN,
    TASK,
    WORKSPACE,
)
from promoter.stages.writes import (
    WriteError,
    copy_artifact_versions,
    create_workspace,
    promote_scoped,
    write_connection,
    write_plan,
    write_task,
)


class TargetChanged(PromoterError):
    """The target no longer matches the plan: plan again."""

    exit_code = ExitCode.INVALID_INPUT


def snapshot_refs(plan: Plan) -> list[ObjectRef]:
    """Everything the plan's pending changes touch, plus the artifacts receiving versions."""
    refs = [c.ref for c in plan.pending]
    artifacts = {c.after["name"] for c in plan.pending if c.kind == ARTIFACT_VERSION and c.after}
    refs.extend(ObjectRef(kind=ARTIFACT, key=name) for name in sorted(artifacts))
    return refs


def take_snapshot(run: RunContext, plan: Plan) -> Snapshot:
    """Read the target afresh; refuse when it changed since the plan."""
    target = session(run).fresh_target()
    refs = snapshot_refs(plan)
    bodies = target.read_many(refs, concurrency=run.pipeline.apply.concurrency)
    changed = [
        str(c.ref) for c in plan.pending if comparable(bodies[c.ref]) != comparable(c.before)
    ]
    if changed:
        raise TargetChanged(
            f"the target changed since the plan was made: {', '.join(changed)}",
            hint="plan again (promoter plan), review it, then promote",
        )
    return Snapshot(
        target=run.target,
        entries=[SnapshotEntry(kind=r.kind, key=r.key, body=bodies[r]) for r in refs],
        metadata={"strategy": run.pipeline.apply.strategy},
    )


@hookimpl(trylast=True)
def promoter_snapshot(run: RunContext, plan: Plan) -> Snapshot:
    """The built-in Talend snapshot."""
    return take_snapshot(run, plan)


def _native_flow(talend: TalendSession, name: str) -> None:
    """Talend's own promotion of one task (FLOW scope), analysis first."""
    promote_scoped(talend, talend.source.tasks[name].executable, name, "FLOW")
    talend.target.forget(TASK, CONNECTION)


def apply_plan(run: RunContext, plan: Plan) -> ApplyResult:
    """Write the plan's pending changes, in dependency order."""
    talend = session(run)
    target = talend.target
    resolve = run.secrets.resolve
    native = run.pipeline.apply.strategy == "native"
    applied: list[ObjectRef] = []
    skipped: list[ObjectRef] = []
    by_kind: dict[str, list[Change]] = {}
    for change in plan.pending:
        if run.already_done("apply", change.kind, change.key):
            skipped.append(change.ref)
        else:
            by_kind.setdefault(change.kind, []).append(change)

    def done(change: Change) -> None:
        run.progress("apply", change.kind, change.key, "done", f"{change.action.value}d")
        applied.append(change.ref)

    for kind in APPLY_ORDER:
        changes = by_kind.get(kind, [])
        if not changes:
            continue
        for change in changes:
            run.progress("apply", change.kind, change.key, "started")
        if kind == WORKSPACE:
            for change in changes:
                create_workspace(target, change.after or {})
                done(change)
        elif kind == ARTIFACT_VERSION:
            names = sorted({c.after["name"] for c in changes if c.after})
            copy_artifact_versions(talend, names)
            present = {
                n: target.artifacts[n].versions if n in target.artifacts else [] for n in names
            }
            for change in changes:
                assert change.after is not None
                if change.after["version"] not in present[change.after["name"]]:
                    raise WriteError(f"artifact version {change.key} did not reach the target")
                done(change)
        elif kind == CONNECTION:
            for change in changes:
                write_connection(target, change.after or {}, resolve)
                done(change)
        elif kind == TASK:

            def write(change: Change) -> None:
                assert change.after is not None
                if native:
                    _native_flow(talend, change.key)
                write_task(target, change.after, resolve)
                done(change)

            if native:  # Talend runs one promotion per environment pair at a time
                for change in changes:
                    write(change)
            else:
                talend.client.map(write, changes, concurrency=run.pipeline.apply.concurrency)
        elif kind == PLAN:
            for change in changes:
                write_plan(target, change.after or {})
                done(change)
    return ApplyResult(
        applied=applied, skipped=skipped, metadata={"strategy": run.pipeline.apply.strategy}
    )


@hookimpl(trylast=True)
def promoter_apply(run: RunContext, plan: Plan, snapshot: Snapshot) -> ApplyResult:
    """The built-in Talend apply (``direct`` or ``native``)."""
    return apply_plan(run, plan)
