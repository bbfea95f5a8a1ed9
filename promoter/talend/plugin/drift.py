"""Drift: what differs between two environments' copies of the same workspaces.

``promoter diff --from dev --to prod`` pairs workspaces by name (by default every shared
workspace present in either environment) and, inside each, objects by name, then compares their
canonical bodies (see :mod:`promoter.talend.plugin.workspace`):

- **artifacts**: the latest version, and the versions present on one side only;
- **tasks**: the artifact and its version, parameters, connections and run configuration;
- **connections**: the app and the parameters;
- **plans**: their steps and the tasks they run.

Secrets never show: the canonical bodies hold fingerprints, not values, and a report shows a
secret that differs as ``(secret differs)`` and one present on one side only as ``(secret)``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from promoter import ConfigurationError, FieldChange, ObjectRef
from promoter.talend.client import TalendClient
from promoter.talend.plugin.planning import field_changes
from promoter.talend.plugin.workspace import (
    ARTIFACT,
    CONNECTION,
    PLAN,
    TASK,
    Body,
    TalendWorkspace,
    is_fingerprint,
)

SECRET = "(secret)"
"""Shown for a secret present on one side only."""
SECRET_DIFFERS = "(secret differs)"
"""Shown on both sides for a secret whose value differs."""

KINDS = (ARTIFACT, TASK, CONNECTION, PLAN)
"""The kinds compared, in report order."""

TASK_FIELDS = ("artifact", "parameters", "connections", "runConfig")
"""The parts of a task that drift compares."""

State = Literal["differs", "only-from", "only-to"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DriftField(_Model):
    """One field that differs: its dotted path and its value on each side (secrets masked)."""

    path: str
    from_value: Any = Field(default=None, alias="from")
    to_value: Any = Field(default=None, alias="to")


class ObjectDrift(_Model):
    """An object that differs between the two sides, or exists on one side only."""

    kind: str
    key: str
    state: State
    fields: list[DriftField] = Field(default_factory=list)


class WorkspaceDrift(_Model):
    """The drift of one workspace (``state`` says when it exists on one side only)."""

    workspace: str
    state: Literal["compared", "only-from", "only-to"] = "compared"
    objects: list[ObjectDrift] = Field(default_factory=list)

    @property
    def has_drift(self) -> bool:
        """Whether anything differs."""
        return self.state != "compared" or bool(self.objects)


class DriftReport(_Model):
    """What ``promoter diff`` found between two environments."""

    from_environment: str = Field(alias="from")
    to_environment: str = Field(alias="to")
    workspaces: list[WorkspaceDrift] = Field(default_factory=list)

    @property
    def has_drift(self) -> bool:
        """Whether any workspace differs."""
        return any(w.has_drift for w in self.workspaces)

    @property
    def differences(self) -> int:
        """How many objects (and one-sided workspaces) differ."""
        return sum(len(w.objects) if w.state == "compared" else 1 for w in self.workspaces)


# --- masking --------------------------------------------------------------------------------------


def mask(value: Any) -> Any:
    """``value`` with every secret fingerprint, however deep, replaced by ``(secret)``."""
    if is_fingerprint(value):
        return SECRET
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) for v in value]
    return value


def masked_field(change: FieldChange) -> DriftField:
    """A field change as a report shows it: a secret on either side hides both values."""
    before, after = change.before, change.after
    if is_fingerprint(before) or is_fingerprint(after):
        if before is not None and after is not None:
            return DriftField(path=change.path, from_value=SECRET_DIFFERS, to_value=SECRET_DIFFERS)
        return DriftField(
            path=change.path,
            from_value=None if before is None else SECRET,
            to_value=None if after is None else SECRET,
        )
    return DriftField(path=change.path, from_value=mask(before), to_value=mask(after))


# --- comparing ------------------------------------------------------------------------------------


def comparable_body(kind: str, body: Body) -> Body:
    """The part of a canonical body that drift compares."""
    if kind == ARTIFACT:
        return {"latest": (body.get("versions") or [None])[0]}
    if kind == TASK:
        return {name: body.get(name) for name in TASK_FIELDS}
    if kind == CONNECTION:
        return {"app": body.get("app"), "parameters": body.get("parameters")}
    return {"steps": body.get("steps")}


def compare_object(
    kind: str, key: str, left: Body | None, right: Body | None
) -> ObjectDrift | None:
    """How one object differs between the two sides, or ``None`` when it does not."""
    if left is None and right is None:
        return None
    if left is None or right is None:
        return ObjectDrift(kind=kind, key=key, state="only-to" if left is None else "only-from")
    fields = [
        masked_field(c)
        for c in field_changes(comparable_body(kind, left), comparable_body(kind, right))
    ]
    if kind == ARTIFACT:
        only_left = [v for v in left.get("versions", []) if v not in right.get("versions", [])]
        only_right = [v for v in right.get("versions", []) if v not in left.get("versions", [])]
        if only_left or only_right:
            fields.append(
                DriftField(
                    path="versions only on this side",
                    from_value=only_left,
                    to_value=only_right,
                )
            )
    if not fields:
        return None
    return ObjectDrift(kind=kind, key=key, state="differs", fields=fields)


def _names(side: TalendWorkspace, kind: str) -> set[str]:
    if kind == ARTIFACT:
        return set(side.artifacts)
    if kind == TASK:
        return set(side.tasks)
    if kind == CONNECTION:
        return set(side.connections)
    return set(side.plans)


def _bodies(side: TalendWorkspace, kind: str, names: Iterable[str]) -> dict[str, Body | None]:
    refs = [ObjectRef(kind=kind, key=name) for name in sorted(names)]
    read = side.read_many(refs)
    return {ref.key: read[ref] for ref in refs}


def compare_workspaces(left: TalendWorkspace, right: TalendWorkspace) -> WorkspaceDrift:
    """The drift between two copies of a workspace (either may be missing)."""
    name = left.workspace_name
    if left.workspace is None and right.workspace is None:
        raise ConfigurationError(
            f"workspace {name!r} exists in neither {left.environment_name} nor {right.environment_name}",
            hint="check --workspace",
        )
    if right.workspace is None:
        return WorkspaceDrift(workspace=name, state="only-from")
    if left.workspace is None:
        return WorkspaceDrift(workspace=name, state="only-to")
    objects: list[ObjectDrift] = []
    for kind in KINDS:
        names = _names(left, kind) | _names(right, kind)
        lefts = _bodies(left, kind, _names(left, kind))
        rights = _bodies(right, kind, _names(right, kind))
        for key in sorted(names):
            drift = compare_object(kind, key, lefts.get(key), rights.get(key))
            if drift is not None:
                objects.append(drift)
    return WorkspaceDrift(workspace=name, objects=objects)


def shared_workspaces(client: TalendClient, environment_id: str) -> set[str]:
    """Names of an environment's shared workspaces (not personal or custom ones)."""
    return {
        w.name
        for w in client.workspaces.list(environment_id=environment_id)
        if w.name and (w.type is None or w.type == "shared")
    }


def drift(
    client: TalendClient,
    from_environment: str,
    to_environment: str,
    workspaces: Iterable[str] = (),
    *,
    progress: Callable[[str], None] | None = None,
) -> DriftReport:
    """Compare the workspaces of two environments (default: every shared one present in either)."""
    environments = {e.name: e for e in client.environments.list()}
    for name, option in ((from_environment, "--from"), (to_environment, "--to")):
        if name not in environments:
            known = ", ".join(sorted(environments)) or "none"
            raise ConfigurationError(
                f"environment {name!r} does not exist (environments: {known})",
                hint=f"check {option}",
            )
    if from_environment == to_environment:
        raise ConfigurationError(
            f"--from and --to are both {from_environment!r}", hint="name two environments"
        )
    names = sorted(set(workspaces))
    if not names:
        names = sorted(
            shared_workspaces(client, environments[from_environment].id)
            | shared_workspaces(client, environments[to_environment].id)
        )
    report = DriftReport(from_environment=from_environment, to_environment=to_environment)
    for name in names:
        if progress is not None:
            progress(name)
        left = TalendWorkspace(client, from_environment, name)
        right = TalendWorkspace(client, to_environment, name)
        report.workspaces.append(compare_workspaces(left, right))
    return report
