"""Snapshot: record the target as it is, right before apply writes to it.

The snapshot re-reads the target (nothing cached but the identity of its environment and
workspace, found by the plan moments before) and refuses to go on when it no longer matches
the plan: someone changed the target since the plan was made. It keeps the canonical body of
every object the plan touches — ``None`` for those the plan creates, so that rollback deletes
them — and the versions of every artifact that receives one.
"""

from __future__ import annotations

from promoter import (
    ExitCode,
    ObjectRef,
    Plan,
    PromoterError,
    RunContext,
    Snapshot,
    SnapshotEntry,
    hookimpl,
)
from promoter.talend.plugin.planning import comparable
from promoter.talend.plugin.sections import config
from promoter.talend.plugin.session import session
from promoter.talend.plugin.workspace import ARTIFACT, ARTIFACT_VERSION


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
    target = session(run).fresh_target(same_workspace=True)
    refs = snapshot_refs(plan)
    bodies = target.read_many(refs, concurrency=config(run).apply.concurrency)
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
        metadata={"strategy": config(run).apply.strategy},
    )


@hookimpl(trylast=True)
def promoter_snapshot(run: RunContext, plan: Plan) -> Snapshot:
    """The built-in Talend snapshot."""
    return take_snapshot(run, plan)
