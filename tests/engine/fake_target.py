"""A fake platform for the engine's tests: the source and the target are JSON files.

Loaded like any local plugin (``plugins: [./fake_target.py]`` in a pipeline, or ``-p``). It
registers a ``fake:`` pipeline section (its only section: a fake pipeline has no ``artifacts:``
or any other Talend key) that names the two files (relative to the pipeline file)
and injects failures. Each file maps ``"kind:key"`` to a JSON body. Every write to the target is
also appended to ``<target>.writes`` so tests can check that nothing was written twice.

Its stage implementations are ``trylast``, like promoter's built-in stage plugins, so a test plugin
replaces any of them whatever the registration order.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from promoter import (
    ApplyResult,
    Change,
    ChangeAction,
    CheckResult,
    ExportBundle,
    ExportedObject,
    FieldChange,
    MappingProblem,
    Plan,
    RollbackResult,
    RunContext,
    SecretRef,
    Snapshot,
    SnapshotEntry,
    TargetMapping,
    hookimpl,
)


class FakeSection(BaseModel):
    """The ``fake:`` section of a test pipeline."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    source: str
    target: str
    apply_delay: float = 0.0
    hold_file: str | None = None
    """While this file exists, apply waits before writing object number ``hold_after``."""
    hold_after: int = 0
    fail_apply_after: int | None = None
    fail_verify: bool = False
    fail_rollback: bool = False
    mapping_problem: str | None = None
    leak_secret: SecretRef | None = None
    """Resolve this secret in apply and raise with its value in the message (redaction test)."""


def read_objects(path: Path) -> dict[str, dict[str, Any]]:
    """The objects of a fake file (``{}`` when it does not exist)."""
    if not path.exists():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return data


def write_objects(path: Path, objects: dict[str, dict[str, Any]]) -> None:
    """Replace a fake file atomically."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(objects, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _config(run: RunContext) -> FakeSection:
    section = run.section("fake")
    assert isinstance(section, FakeSection), "the pipeline needs a `fake:` section"
    return section


def _path(run: RunContext, name: str) -> Path:
    return run.pipeline_path.parent / name


def _split(ref: str) -> tuple[str, str]:
    kind, _, key = ref.partition(":")
    return kind, key


@hookimpl
def promoter_register_pipeline_sections(register: Any) -> None:
    register("fake", FakeSection)


@hookimpl(trylast=True)
def promoter_export(run: RunContext) -> ExportBundle:
    objects = read_objects(_path(run, _config(run).source))
    return ExportBundle(
        source=run.source,
        objects=[
            ExportedObject(kind=_split(r)[0], key=_split(r)[1], body=b)
            for r, b in sorted(objects.items())
        ],
    )


@hookimpl(trylast=True)
def promoter_map(run: RunContext, bundle: ExportBundle) -> TargetMapping:
    problems = []
    if _config(run).mapping_problem:
        problems.append(MappingProblem(message=str(_config(run).mapping_problem), hint="add it"))
    objects = [
        ExportedObject(kind=o.kind, key=o.key, body={**o.body, "env": run.target.environment})
        for o in bundle.objects
    ]
    return TargetMapping(target=run.target, objects=objects, problems=problems)


@hookimpl(trylast=True)
def promoter_plan(run: RunContext, mapping: TargetMapping) -> Plan:
    current = read_objects(_path(run, _config(run).target))
    changes = []
    for obj in mapping.objects:
        before = current.get(f"{obj.kind}:{obj.key}")
        if before is None:
            action = ChangeAction.CREATE
        elif before == obj.body:
            action = ChangeAction.UNCHANGED
        else:
            action = ChangeAction.UPDATE
        fields = [
            FieldChange(path=k, before=(before or {}).get(k), after=obj.body.get(k))
            for k in sorted({*obj.body, *(before or {})})
            if (before or {}).get(k) != obj.body.get(k)
        ]
        changes.append(
            Change(
                kind=obj.kind,
                key=obj.key,
                action=action,
                before=before,
                after=obj.body,
                fields=fields,
            )
        )
    versions = {o.key: str(o.body["version"]) for o in mapping.objects if "version" in o.body}
    return Plan(target=run.target, changes=changes, versions=versions)


@hookimpl(trylast=True)
def promoter_snapshot(run: RunContext, plan: Plan) -> Snapshot:
    current = read_objects(_path(run, _config(run).target))
    return Snapshot(
        target=run.target,
        entries=[
            SnapshotEntry(kind=c.kind, key=c.key, body=current.get(f"{c.kind}:{c.key}"))
            for c in plan.pending
        ],
    )


@hookimpl(trylast=True)
def promoter_apply(run: RunContext, plan: Plan, snapshot: Snapshot) -> ApplyResult:
    config = _config(run)
    path = _path(run, config.target)
    if config.leak_secret is not None:
        value = run.secrets.resolve(config.leak_secret)
        raise RuntimeError(f"cannot connect with password {value}")
    applied, skipped, written = [], [], 0
    for change in plan.pending:
        if run.already_done("apply", change.kind, change.key):
            skipped.append(change.ref)
            continue
        if config.fail_apply_after is not None and written >= config.fail_apply_after:
            raise RuntimeError(f"injected failure after {written} writes")
        time.sleep(config.apply_delay)
        if config.hold_file and written >= config.hold_after:
            hold = _path(run, config.hold_file)
            while hold.exists():
                time.sleep(0.02)
        objects = read_objects(path)
        assert change.after is not None
        objects[f"{change.kind}:{change.key}"] = change.after
        write_objects(path, objects)
        with path.with_suffix(".writes").open("a", encoding="utf-8") as log:
            log.write(f"{change.kind}:{change.key}\n")
        written += 1
        run.progress("apply", change.kind, change.key, "done")
        applied.append(change.ref)
    return ApplyResult(applied=applied, skipped=skipped)


@hookimpl(trylast=True)
def promoter_verify(run: RunContext, plan: Plan) -> list[CheckResult]:
    config = _config(run)
    current = read_objects(_path(run, config.target))
    same = all(current.get(f"{c.kind}:{c.key}") == c.after for c in plan.pending)
    if config.fail_verify:
        return [CheckResult(name="fake:smoke", passed=False, message="injected smoke failure")]
    return [
        CheckResult(name="fake:read-back", passed=same, message="" if same else "target differs")
    ]


@hookimpl(trylast=True)
def promoter_rollback(run: RunContext, snapshot: Snapshot, reason: str) -> RollbackResult:
    config = _config(run)
    if config.fail_rollback:
        raise RuntimeError("injected rollback failure")
    path = _path(run, config.target)
    objects = read_objects(path)
    for entry in snapshot.entries:
        ref = f"{entry.kind}:{entry.key}"
        if entry.body is None:
            objects.pop(ref, None)
        else:
            objects[ref] = entry.body
    write_objects(path, objects)
    after = read_objects(path)
    differences = [
        f"{e.kind}:{e.key}" for e in snapshot.entries if after.get(f"{e.kind}:{e.key}") != e.body
    ]
    return RollbackResult(
        complete=not differences,
        restored=[e.ref for e in snapshot.entries],
        differences=differences,
    )
