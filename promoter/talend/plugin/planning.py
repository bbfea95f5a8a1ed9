"""Plan: compare the mapped objects with the target, field by field.

Each object becomes a :class:`~promoter.model.Change`: ``create`` when the target lacks it,
``update`` with the fields that differ, or ``unchanged``. The plan's metadata carries a
fingerprint of the target bodies it was computed against, so that a saved plan can be refused
when the target changed since (``promoter promote --plan plan.json``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from promoter import (
    Change,
    ChangeAction,
    FieldChange,
    ObjectRef,
    Plan,
    RunContext,
    TargetMapping,
    hookimpl,
)
from promoter.talend.plugin.sections import config
from promoter.talend.plugin.session import session
from promoter.talend.plugin.workspace import APPLY_ORDER, ARTIFACT_VERSION, Body

#: Keys of a mapped body that say how to write it, not what the target holds.
WRITE_ONLY_KEYS = frozenset({"secrets"})


def comparable(body: Body | None) -> Body | None:
    """A body without its write-only keys."""
    if body is None:
        return None
    return {k: v for k, v in body.items() if k not in WRITE_ONLY_KEYS}


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """The leaves that differ between two JSON values, as dotted paths."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[FieldChange] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                changes.append(FieldChange(path=sub, before=None, after=after[key]))
            elif key not in after:
                changes.append(FieldChange(path=sub, before=before[key], after=None))
            else:
                changes.extend(field_changes(before[key], after[key], sub))
        return changes
    if before != after:
        return [FieldChange(path=path or "(body)", before=before, after=after)]
    return []


def change_for(kind: str, key: str, desired: Body, current: Body | None) -> Change:
    """The change that takes ``current`` (None: absent) to ``desired``."""
    if current is None:
        return Change(kind=kind, key=key, action=ChangeAction.CREATE, before=None, after=desired)
    fields = field_changes(current, comparable(desired))
    action = ChangeAction.UPDATE if fields else ChangeAction.UNCHANGED
    return Change(kind=kind, key=key, action=action, before=current, after=desired, fields=fields)


def bodies_fingerprint(bodies: dict[str, Body | None]) -> str:
    """A digest of target bodies, to detect that the target changed."""
    text = json.dumps(bodies, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def plan_mapping(run: RunContext, mapping: TargetMapping) -> Plan:
    """Read the target and compute the changes."""
    target = session(run).target
    objects = sorted(mapping.objects, key=lambda o: (APPLY_ORDER.index(o.kind), o.key))
    refs = [ObjectRef(kind=o.kind, key=o.key) for o in objects]
    current = target.read_many(refs, concurrency=config(run).apply.concurrency)
    changes = [
        change_for(o.kind, o.key, o.body, current[ref])
        for o, ref in zip(objects, refs, strict=True)
    ]
    # The versions the target holds before the run, of each artifact the plan brings a version
    # of: apply deletes what Talend's promotion brings along beyond the release and these, also
    # when a resumed run finds the versions of an attempt that died before deleting them.
    created = {
        c.after["name"]
        for c in changes
        if c.kind == ARTIFACT_VERSION and c.action is ChangeAction.CREATE and c.after is not None
    }
    held = {name: target.artifacts.get(name) for name in sorted(created)}
    return Plan(
        target=run.target,
        changes=changes,
        versions=dict(mapping.versions),
        metadata={
            "repositories": mapping.metadata.get("repositories", {}),
            "strategy": config(run).apply.strategy,
            "targetFingerprint": bodies_fingerprint({str(r): current[r] for r in refs}),
            "targetVersions": {
                name: list(artifact.versions) if artifact is not None else []
                for name, artifact in held.items()
            },
        },
    )


@hookimpl(trylast=True)
def promoter_plan(run: RunContext, mapping: TargetMapping) -> Plan:
    """The built-in Talend plan."""
    return plan_mapping(run, mapping)
