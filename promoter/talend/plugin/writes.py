"""Writing canonical bodies to a Talend workspace: what apply does forward and rollback backward.

Every writer looks the object up by name first, so it can be called again after a crash (a
resumed run) without creating anything twice. Tasks are written read-modify-write (Talend's
``PUT`` is a full replacement) and read back: a write that changed something the body does not
say — a run configuration reset by an artifact upgrade, say — is an error, not a surprise.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection
from typing import Any, Literal

from promoter import FieldChange, PromoterError
from promoter.talend.errors import AmbiguousOutcomeError, NotFound
from promoter.talend.models import (
    AdvancedPromotionSpec,
    Artifact,
    ArtifactPromotionResult,
    ArtifactRequest,
    AutoUpgradeInfo,
    ConnectionCreateRequest,
    ConnectionParameter,
    ConnectionUpdateRequest,
    ExecutionPlanRequest,
    PromotionDefinition,
    PromotionReport,
    PromotionReportStatus,
    PromotionRunRequest,
    Step,
    TaskCreateRequest,
    TaskRunConfig,
    TaskUpdateRequest,
    WorkspaceCreateRequest,
)
from promoter.talend.plugin.session import TalendSession
from promoter.talend.plugin.workspace import (
    ARTIFACT,
    CONNECTION,
    PLAN,
    TASK,
    WORKSPACE,
    Body,
    TalendWorkspace,
    fingerprint,
    is_fingerprint,
)

Resolve = Callable[[str], str]
"""Resolves a secret reference (``${env:NAME}``) to its value."""


class WriteError(PromoterError):
    """A write to the target failed or read back differently from what was written."""

    exit_code = PromoterError.exit_code


def _connection_id(target: TalendWorkspace, name: str) -> str:
    if name.startswith("id:"):
        return name[3:]
    connection = target.connections.get(name)
    if connection is None:
        raise WriteError(
            f"connection {name!r} does not exist in {target.environment_name}/{target.workspace_name}"
        )
    return connection.id


def _artifact_id(target: TalendWorkspace, name: str) -> str:
    artifact = target.artifacts.get(name)
    if artifact is None:
        target.forget(ARTIFACT)
        artifact = target.artifacts.get(name)
    if artifact is None:
        raise WriteError(
            f"artifact {name!r} does not exist in {target.environment_name}/{target.workspace_name}"
        )
    return artifact.id


def _parameter_values(
    name: str, desired: Body, current: dict[str, str] | None, resolve: Resolve
) -> dict[str, Any] | None:
    """Values to send: fingerprinted secrets come from their reference, or stay as they are."""
    wanted = desired.get("parameters")
    if wanted is None:
        return None
    refs: dict[str, str] = desired.get("secrets", {})
    values: dict[str, Any] = {}
    for key, value in wanted.items():
        if key in refs:
            values[key] = resolve(refs[key])
        elif is_fingerprint(value):
            raw = (current or {}).get(key)
            if raw is None or fingerprint(raw) != value:
                raise WriteError(
                    f"task {name!r}: the value of secret parameter {key!r} is not known to promoter "
                    "(it never stores secrets)",
                    hint=f"give it as a reference under parameters.secrets ({key}: ${{env:NAME}})",
                )
            values[key] = raw
        else:
            values[key] = value
    return values


# ------------------------------------------------------------------ workspace, artifacts


def create_workspace(target: TalendWorkspace, body: Body) -> None:
    """Create the target workspace unless it exists."""
    if target.workspace is not None:
        return
    assert target.environment is not None
    target.client.workspaces.create(
        WorkspaceCreateRequest(
            name=body["name"],
            environment_id=target.environment.id,
            description=body.get("description"),
        )
    )
    target.forget(WORKSPACE, TASK, CONNECTION, ARTIFACT, PLAN)


def delete_workspace(target: TalendWorkspace) -> None:
    """Delete the target workspace (it must be empty by now)."""
    if target.workspace is not None and target.workspace.id:
        target.client.workspaces.delete(target.workspace.id)
    target.forget(WORKSPACE, TASK, CONNECTION, ARTIFACT, PLAN)


#: How often an artifact-only promotion run that failed ambiguously (5xx, dropped connection) is
#: sent (see :func:`promote_scoped`).
AMBIGUOUS_PROMOTION_ATTEMPTS = 4

PromotionScope = Literal["ACTION", "FLOW"]
"""What one of promoter's promotions through Talend covers: an artifact (``ACTION``: its versions
only, tasks untouched) or a task (``FLOW``)."""


def promotion_definition(talend: TalendSession) -> PromotionDefinition:
    """Talend's promotion definition from the source environment to the target's; created when
    there is none.

    Talend keeps one per environment pair: two runs promoting to the same environment at once
    (different workspaces) may both find none and both create it — the second is answered 409,
    and uses the one that exists. Looked up once per run.
    """
    if talend.promotion is None:
        source, target = talend.source.environment, talend.target.environment
        assert source is not None and target is not None
        talend.promotion = talend.client.promotions.find_or_create(source.id, target.id)
    return talend.promotion


def promote_scoped(
    talend: TalendSession,
    artifact_id: str,
    name: str,
    scope: PromotionScope,
    *,
    timeout: float = 1800.0,
) -> PromotionReport:
    """Talend's own promotion of one artifact (``ACTION``) or task (``FLOW``) of the source
    workspace; its final report (a failed run is a WriteError).

    No analysis first: a run reports per object what its analysis would have (an artifact that
    cannot be promoted is ``FAILED`` in the run's report, and a failed run changes nothing), so
    the analysis would cost a request — on the critical path, one artifact after another — to
    learn what the run says anyway. For an artifact, any ``FAILED`` object of the report is a
    WriteError; a task's (FLOW) failures are left to the writes that follow it, which bind what
    Talend's promotion does not.

    Talend runs one promotion per environment pair at a time: a run refused because another is
    going (another workspace promoted to the same environment) is sent again until it is
    accepted (:meth:`~promoter.talend.resources.PromotionsAPI.promote`).
    """
    client = talend.client
    definition = promotion_definition(talend)
    request = PromotionRunRequest(
        executable=definition.executable,
        keep_target_resources=True,
        keep_target_run_profiles=True,
        advanced=AdvancedPromotionSpec(artifact_id=artifact_id, artifact_type=scope),
    )
    # An artifact-only promotion is safe to send again after an ambiguous failure: versions the
    # first run copied are reused, not duplicated, and tasks are left alone (the caller checks
    # that the versions arrived). A task's is not.
    attempts = AMBIGUOUS_PROMOTION_ATTEMPTS if scope == "ACTION" else 1
    for attempt in range(1, attempts + 1):
        try:
            report = client.promotions.promote(request, timeout=timeout, poll_interval=1.0)
            break
        except AmbiguousOutcomeError:
            if attempt == attempts:
                raise
    if report.status == PromotionReportStatus.PROMOTION_FAILED:
        what = "artifact" if scope == "ACTION" else "task"
        raise WriteError(
            f"Talend's promotion of {what} {name!r} failed: {report.status_message or 'no message'}"
        )
    if scope == "ACTION":
        _refuse_failures(name, report.workspaces or [], "promotion")
    return report


def _promoted_action(report: PromotionReport, name: str) -> ArtifactPromotionResult | None:
    """The artifact ``name`` in a promotion report (its target id and versions), if reported."""
    for workspace in report.workspaces or []:
        for action in workspace.actions or []:
            if action.name == name:
                return action
    return None


def copy_artifact_version(
    talend: TalendSession,
    name: str,
    wanted: set[str],
    *,
    timeout: float = 1800.0,
    delete: Callable[[str, str], None] | None = None,
    before: Collection[str] | None = None,
) -> list[str]:
    """Bring the ``wanted`` versions of artifact ``name`` into the target workspace through
    Talend's own promotion; the versions the target has afterwards.

    Talend has no upload API: versions travel by promotion only, scoped to one artifact
    (``ACTION``), which leaves tasks alone — and brings *every* version the target lacks. Those
    the release does not name (a newer build published in the source since) are deleted again,
    so that the target holds exactly what was promoted. What arrived is read from the run's
    report (the target artifact's id, and each version ``CREATED`` or ``REUSED``) and compared
    with the target's versions before it (as the snapshot listed them), so no list of the
    target follows each promotion; a report without them (an older Talend) makes the target
    be listed again. The target's cached artifact list is kept up to date either way (the task
    writes that follow need the target artifact's id). ``delete(artifact_id, version)`` deletes a
    version brought along (default: at once; apply hands it to another thread, so that the next
    promotion need not wait for it). ``before`` is what the target held before the run (the
    plan's ``targetVersions``; default: what it holds now), so that a resumed run also deletes
    what an attempt that died brought along.
    """
    source, target = talend.source, talend.target
    _same_workspace_names(talend)
    known = target.artifacts.get(name)
    held = set(before) if before is not None else set(known.versions if known else ())
    report = promote_scoped(talend, source.artifacts[name].id, name, "ACTION", timeout=timeout)
    action = _promoted_action(report, name)
    reported = action is not None and action.target_id is not None and action.versions
    if action is not None and reported:
        assert action.target_id is not None
        statuses: dict[str, str | None] = {}  # version -> its status, newest first
        for item in action.versions or []:
            version = item.target_version or item.version
            if version:
                statuses[version] = item.promotion_report.status if item.promotion_report else None
        arrived = [v for v, status in statuses.items() if status in ("CREATED", "REUSED")]
        # What this promotion brought (REUSED too: a run sent again after an ambiguous failure
        # finds what the first one copied) that the release does not name goes again.
        gone = [v for v in arrived if v not in held and v not in wanted]
        for version in gone:
            (delete or target.client.artifacts.delete_version)(action.target_id, version)
            arrived.remove(version)
        kept = [v for v in (known.versions if known else []) if v not in arrived and v not in gone]
        versions = arrived + kept
        assert target.workspace is not None
        target.artifacts[name] = Artifact(
            id=action.target_id,
            name=name,
            type=known.type if known is not None else source.artifacts[name].type,
            versions=versions,
            workspace=target.workspace,
        )
        return versions
    target.forget(ARTIFACT)
    artifact = target.artifacts.get(name)
    if artifact is None:
        return []
    deleted = False
    for version in sorted(set(artifact.versions) - held - wanted):
        target.client.artifacts.delete_version(artifact.id, version)
        deleted = True
    if deleted:
        target.forget(ARTIFACT)
        artifact = target.artifacts.get(name)
    return list(artifact.versions) if artifact is not None else []


def _same_workspace_names(talend: TalendSession) -> None:
    source, target = talend.source, talend.target
    if source.workspace_name != target.workspace_name:
        raise WriteError(
            f"artifact versions can only be promoted between workspaces of the same name "
            f"({source.workspace_name!r} → {target.workspace_name!r})",
            hint="publish the version into the target workspace first, then promote with apply.strategy: direct",
        )


def copy_artifact_versions(
    talend: TalendSession, wanted: dict[str, set[str]], *, timeout: float = 1800.0
) -> None:
    """Bring the ``wanted`` versions of artifacts (name -> versions) into the target workspace,
    one artifact after another (:func:`copy_artifact_version`: Talend runs one promotion per
    environment pair at a time). Talend pairs workspaces by name, so the target workspace must
    have the source workspace's name."""
    if not wanted:
        return
    _same_workspace_names(talend)
    for name in sorted(wanted):
        copy_artifact_version(talend, name, wanted[name], timeout=timeout)


def _refuse_failures(name: str, workspaces: list[Any], what: str) -> None:
    for workspace in workspaces:
        for group in ("actions", "flows", "connections", "plans"):
            for item in getattr(workspace, group) or []:
                report = item.analyze_report
                if report is not None and report.status == "FAILED":
                    messages = "; ".join(m.info or "" for m in report.messages or [])
                    raise WriteError(
                        f"Talend's {what} refuses to promote {name!r}: {messages or 'FAILED'}"
                    )


def delete_artifact_versions(target: TalendWorkspace, name: str, keep: list[str] | None) -> None:
    """Delete the versions of an artifact not in ``keep`` (``None``: the whole artifact)."""
    target.forget(ARTIFACT)
    artifact = target.artifacts.get(name)
    if artifact is None:
        return
    if keep is None:
        target.client.artifacts.delete(artifact.id)
    else:
        for version in artifact.versions:
            if version not in keep:
                target.client.artifacts.delete_version(artifact.id, version)
    target.forget(ARTIFACT)


# ------------------------------------------------------------------ connections


def write_connection(target: TalendWorkspace, body: Body, resolve: Resolve) -> None:
    """Create a connection, or set the non-secret parameters of an existing one."""
    refs: dict[str, str] = body.get("secrets", {})
    existing = target.connections.get(body["name"])
    if existing is None:
        parameters = [
            ConnectionParameter(
                name=key,
                value=resolve(refs[key]) if key in refs else value,
                encrypted=key in refs or target.is_secret(key) or None,
            )
            for key, value in body["parameters"].items()
            if key in refs or not is_fingerprint(value)
        ]
        target.client.connections.create(
            ConnectionCreateRequest(
                name=body["name"],
                workspace_id=target.workspace_id,
                app=body["app"],
                parameters=parameters,
            )
        )
    else:
        current = {p.name: p for p in existing.parameters}
        parameters = []
        for key, value in body["parameters"].items():
            if key in refs:
                parameters.append(
                    ConnectionParameter(name=key, value=resolve(refs[key]), encrypted=True)
                )
            elif is_fingerprint(value):
                kept = current.get(key)
                if kept is None or fingerprint(kept.value) != value:
                    raise WriteError(
                        f"connection {body['name']!r}: the value of secret parameter {key!r} is not known to promoter"
                    )
                parameters.append(kept)
            else:
                was = current.get(key)
                parameters.append(
                    ConnectionParameter(
                        name=key, value=value, encrypted=was.encrypted if was else None
                    )
                )
        target.client.connections.update(
            existing.id, ConnectionUpdateRequest(parameters=parameters)
        )
    target.forget(CONNECTION)


def delete_connection(target: TalendWorkspace, name: str) -> None:
    """Delete a connection if it exists."""
    existing = target.connections.get(name)
    if existing is not None:
        target.client.connections.delete(existing.id)
    target.forget(CONNECTION)


# ------------------------------------------------------------------ tasks


def write_task(target: TalendWorkspace, desired: Body, resolve: Resolve) -> None:
    """Create or update a task, its run configuration and its schedule, and check the result.

    The check compares the body with the server's answers to the writes (``POST``/``PUT`` of the
    task, ``PUT`` of its run configuration), which are its view after them, instead of reading
    the task back: two requests fewer per task.
    """
    name = desired["name"]
    client = target.client
    connections = None
    if desired.get("connections") is not None:
        connections = {app: _connection_id(target, n) for app, n in desired["connections"].items()}
    artifact = ArtifactRequest(
        id=_artifact_id(target, desired["artifact"]["name"]), version=desired["artifact"]["version"]
    )
    auto_upgrade = (
        AutoUpgradeInfo.model_validate(desired["autoUpgradeInfo"])
        if desired.get("autoUpgradeInfo")
        else None
    )
    summary = target.tasks.get(name)
    if summary is None:
        assert target.environment is not None
        task = client.tasks.create(
            TaskCreateRequest(
                workspace_id=target.workspace_id,
                environment_id=target.environment.id,
                name=name,
                description=desired.get("description"),
                tags=desired.get("tags"),
                connections=connections,
                parameters=_parameter_values(name, desired, None, resolve),
                resources=desired.get("resources"),
                artifact=artifact,
                auto_upgrade_info=auto_upgrade,
            )
        )
        task_id = task.id
        target.remember_task(task)
    else:
        task_id = summary.executable

        def change(body: TaskUpdateRequest) -> TaskUpdateRequest:
            current = body.parameters
            return body.model_copy(
                update={
                    "name": name,
                    "description": desired.get("description") or "",
                    "tags": desired.get("tags"),
                    "connections": connections,
                    "parameters": _parameter_values(name, desired, current, resolve),
                    "resources": desired.get("resources"),
                    "artifact": artifact,
                    "auto_upgrade_info": auto_upgrade,
                }
            )

        task = client.tasks.modify(task_id, change, keep_run_config=False)
    created = summary is None
    run_config = _write_run_config(target, task_id, desired.get("runConfig"), created=created)
    schedule = _write_schedule(target, task_id, desired.get("schedule"), created=created)
    target.invalidate_task(name)
    actual = target.canonical_task_body(task, run_config, schedule)
    found = differences(TASK, name, desired, actual)
    if found:
        raise WriteError(
            "the target's answers to the writes differ from what was written: " + "; ".join(found),
            hint="the target changed under promoter, or Talend rewrote a field; see the run's log",
        )


def _write_run_config(
    target: TalendWorkspace, task_id: str, wanted: Body | None, *, created: bool
) -> TaskRunConfig | None:
    """Set (or remove) a task's run configuration; returns the server's view of it afterwards."""
    tasks = target.client.tasks
    if created and wanted is not None:
        # A task just created has no run configuration to compare with: write it at once.
        return tasks.put_run_config(task_id, TaskRunConfig.model_validate(wanted))
    current = tasks.get_run_config(task_id)
    if wanted is None:
        if current is not None:
            tasks.delete_run_config(task_id)
        return None
    if current is None or current.to_wire() != wanted:
        return tasks.put_run_config(task_id, TaskRunConfig.model_validate(wanted))
    return current


def _write_schedule(
    target: TalendWorkspace, task_id: str, wanted: str | None, *, created: bool
) -> str | None:
    """Bind (or unbind) a task's schedule; returns the name of the schedule bound afterwards."""
    if created and wanted is None:
        return None  # a task just created is bound to no schedule
    target.forget("schedule")
    current = target.schedules.get(task_id)
    current_name = (current.description or current.id) if current else None
    if current_name == wanted:
        return current_name
    if wanted is None:
        target.client.tasks.unbind_schedule(task_id)
    else:
        schedule = next(
            (s for s in target.all_schedules if (s.description or s.id) == wanted), None
        )
        if schedule is None:
            raise WriteError(f"no schedule {wanted!r} in {target.environment_name}")
        target.client.tasks.bind_schedule(task_id, schedule.id)
    target.forget("schedule")
    return wanted


def delete_task(target: TalendWorkspace, name: str) -> None:
    """Delete a task (with its run configuration and schedule binding) if it exists."""
    summary = target.tasks.get(name)
    if summary is not None:
        with contextlib.suppress(NotFound):
            target.client.tasks.delete(summary.executable)
    target.forget(TASK)


# ------------------------------------------------------------------ plans


def write_plan(target: TalendWorkspace, body: Body) -> None:
    """Create or replace a plan; its steps name tasks of the target."""
    ids = {name: t.executable for name, t in target.tasks.items()}
    steps = []
    for step in body["steps"]:
        missing = [t for t in step["tasks"] if t not in ids and not t.startswith("id:")]
        if missing:
            raise WriteError(
                f"plan {body['name']!r}: task(s) {', '.join(missing)} do not exist in the target"
            )
        steps.append(
            Step(
                name=step["name"],
                condition="ALL_SUCCEEDED",
                task_ids=[t[3:] if t.startswith("id:") else ids[t] for t in step["tasks"]],
            )
        )
    request = ExecutionPlanRequest(name=body["name"], workspace_id=target.workspace_id, steps=steps)
    existing = target.plans.get(body["name"])
    if existing is None:
        target.client.plans.create(request)
    else:
        target.client.plans.replace(existing.executable, request)
    target.forget(PLAN)


def delete_plan(target: TalendWorkspace, name: str) -> None:
    """Delete a plan if it exists."""
    existing = target.plans.get(name)
    if existing is not None:
        target.client.plans.delete(existing.executable)
    target.forget(PLAN)


# ------------------------------------------------------------------ read-back


def differences(kind: str, key: str, expected: Body | None, actual: Body | None) -> list[str]:
    """How ``actual`` differs from ``expected`` (write-only keys ignored), in words."""
    from promoter.talend.plugin.planning import comparable, field_changes

    if expected is None and actual is None:
        return []
    if expected is None:
        return [f"{kind} {key!r} exists but should not"]
    if actual is None:
        return [f"{kind} {key!r} is missing"]
    return [
        f"{kind} {key!r}: {c.path} is {_show(c)}"
        for c in field_changes(actual, comparable(expected))
    ]


def _show(change: FieldChange) -> str:
    return f"{change.before!r}, expected {change.after!r}"


def check_read_back(target: TalendWorkspace, kind: str, key: str, expected: Body) -> None:
    """Read an object back and fail if it is not what was written."""
    found = differences(kind, key, expected, target.read_task(key) if kind == TASK else None)
    if found:
        raise WriteError(
            "read-back after writing differs: " + "; ".join(found),
            hint="the target changed under promoter, or Talend rewrote a field; see the run's log",
        )
