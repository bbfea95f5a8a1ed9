"""Apply: write the plan's changes to the target (after :mod:`.snapshot` recorded it).

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

from promoter import (
    ApplyResult,
    Change,
    ObjectRef,
    Plan,
    RunContext,
    Snapshot,
    hookimpl,
)
from promoter.talend.plugin.sections import config
from promoter.talend.plugin.session import TalendSession, session
from promoter.talend.plugin.workspace import (
    APPLY_ORDER,
    ARTIFACT_VERSION,
    CONNECTION,
    PLAN,
    TASK,
    WORKSPACE,
)
from promoter.talend.plugin.writes import (
    WriteError,
    copy_artifact_versions,
    create_workspace,
    promote_scoped,
    write_connection,
    write_plan,
    write_task,
)


def _native_flow(talend: TalendSession, name: str) -> None:
    """Talend's own promotion of one task (FLOW scope), analysis first."""
    promote_scoped(talend, talend.source.tasks[name].executable, name, "FLOW")
    talend.target.forget(TASK, CONNECTION)


def apply_plan(run: RunContext, plan: Plan) -> ApplyResult:
    """Write the plan's pending changes, in dependency order."""
    talend = session(run)
    target = talend.target
    resolve = run.secrets.resolve
    native = config(run).apply.strategy == "native"
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
                talend.client.map(write, changes, concurrency=config(run).apply.concurrency)
        elif kind == PLAN:
            for change in changes:
                write_plan(target, change.after or {})
                done(change)
    return ApplyResult(
        applied=applied, skipped=skipped, metadata={"strategy": config(run).apply.strategy}
    )


@hookimpl(trylast=True)
def promoter_apply(run: RunContext, plan: Plan, snapshot: Snapshot) -> ApplyResult:
    """The built-in Talend apply (``direct`` or ``native``)."""
    return apply_plan(run, plan)
