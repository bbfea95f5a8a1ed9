"""Rollback: restore the snapshot, then read the target back and compare.

Objects are restored in the reverse of apply's order: plans, tasks, connections, artifact
versions, workspace. An object the snapshot does not have (its body is ``None``) was created by
the run and is deleted. The run is ``rolled back`` only when every object read back equals its
snapshot; otherwise the differences are reported and the run is ``rollback incomplete``.
"""

from __future__ import annotations

from collections.abc import Callable

from promoter import ObjectRef, RollbackResult, RunContext, Snapshot, SnapshotEntry, hookimpl
from promoter.talend.plugin.sections import config
from promoter.talend.plugin.session import session
from promoter.talend.plugin.workspace import (
    APPLY_ORDER,
    ARTIFACT,
    ARTIFACT_VERSION,
    CONNECTION,
    PLAN,
    TASK,
    WORKSPACE,
    TalendWorkspace,
)
from promoter.talend.plugin.writes import (
    delete_artifact_versions,
    delete_connection,
    delete_plan,
    delete_task,
    delete_workspace,
    differences,
    write_connection,
    write_plan,
    write_task,
)

#: Restore order: the reverse of apply's, artifacts (whole version lists) with their versions.
RESTORE_ORDER = (PLAN, TASK, CONNECTION, ARTIFACT, ARTIFACT_VERSION, WORKSPACE)
assert set(RESTORE_ORDER) == {*APPLY_ORDER, ARTIFACT}


def _restore(run: RunContext, target: TalendWorkspace, entry: SnapshotEntry) -> None:
    resolve = run.secrets.resolve
    body = entry.body
    if entry.kind == WORKSPACE:
        if body is None:
            delete_workspace(target)
    elif target.workspace is None:
        return  # nothing of the run can be there
    elif entry.kind == PLAN:
        delete_plan(target, entry.key) if body is None else write_plan(target, body)
    elif entry.kind == TASK:
        delete_task(target, entry.key) if body is None else write_task(target, body, resolve)
    elif entry.kind == CONNECTION:
        if body is None:
            delete_connection(target, entry.key)
        elif target.read_connection(entry.key) != body:
            write_connection(target, body, resolve)
    elif entry.kind == ARTIFACT:
        delete_artifact_versions(
            target, entry.key, None if body is None else list(body["versions"])
        )
    elif entry.kind == ARTIFACT_VERSION and body is None:
        name, _, version = entry.key.partition("@")
        artifact = target.artifacts.get(name)
        if artifact is not None and version in artifact.versions:
            target.client.artifacts.delete_version(artifact.id, version)
            target.forget(ARTIFACT)


def rollback(run: RunContext, snapshot: Snapshot) -> RollbackResult:
    """Restore every snapshot entry, then compare the target with the snapshot."""
    talend = session(run)
    target = talend.fresh_target()
    restored: list[ObjectRef] = []
    failures: list[str] = []
    entries = sorted(snapshot.entries, key=lambda e: RESTORE_ORDER.index(e.kind))
    for kind in RESTORE_ORDER:
        batch = [e for e in entries if e.kind == kind]
        step: Callable[[SnapshotEntry], str | None] = lambda e: _attempt(run, target, e)  # noqa: E731
        results = (
            talend.client.map(step, batch, concurrency=config(run).apply.concurrency)
            if kind == TASK
            else [step(e) for e in batch]
        )
        for entry, failure in zip(batch, results, strict=True):
            run.progress(
                "rollback", entry.kind, entry.key, "failed" if failure else "done", failure
            )
            if failure:
                failures.append(failure)
            else:
                restored.append(entry.ref)
    check = talend.fresh_target()
    found: list[str] = []
    for entry in snapshot.entries:
        found.extend(differences(entry.kind, entry.key, entry.body, check.read(entry.ref)))
    complete = not found and not failures
    message = (
        "the target equals the snapshot"
        if complete
        else f"{len(found) + len(failures)} difference(s) remain"
    )
    return RollbackResult(
        complete=complete, restored=restored, differences=failures + found, message=message
    )


def _attempt(run: RunContext, target: TalendWorkspace, entry: SnapshotEntry) -> str | None:
    try:
        _restore(run, target, entry)
    except Exception as exc:  # keep restoring the rest; the comparison tells what is left
        message = run.secrets.redact(str(exc))
        named = f"{entry.kind} {entry.key!r}"
        # Writers name the object themselves ("task 'X': ..."): say it once.
        return message if message.startswith(named) else f"{named}: {message}"
    return None


@hookimpl(trylast=True)
def promoter_rollback(run: RunContext, snapshot: Snapshot, reason: str) -> RollbackResult:
    """The built-in Talend rollback."""
    return rollback(run, snapshot)
