"""Export: read the artifact versions, tasks, connections and plans to promote from the source.

The pipeline names artifacts (by name or id) and a version each — exact, ``latest`` or a glob
pattern such as ``0.3.*`` — and optionally the tasks; by default every task of the source
workspace that runs one of the artifacts is promoted, with the connections it uses and the plans
that chain only promoted tasks. Secret values are fingerprinted, never exported.
"""

from __future__ import annotations

import fnmatch

from promoter import (
    ConfigurationError,
    ExportBundle,
    ExportedObject,
    ObjectRef,
    RunContext,
    hookimpl,
)
from promoter.talend.models import Artifact
from promoter.talend.plugin.sections import ArtifactConfig, config
from promoter.talend.plugin.session import session
from promoter.talend.plugin.workspace import (
    ARTIFACT_VERSION,
    CONNECTION,
    PLAN,
    TASK,
    TalendWorkspace,
    fingerprint,
    version_key,
)


def select_version(artifact: Artifact, wanted: str) -> str:
    """The version of ``artifact`` that ``wanted`` (exact, ``latest`` or a glob) designates."""
    versions = artifact.versions  # newest first
    if not versions:
        raise ConfigurationError(f"artifact {artifact.name!r} has no published version")
    if wanted == "latest":
        return versions[0]
    if wanted in versions:
        return wanted
    matching = [v for v in versions if fnmatch.fnmatchcase(v, wanted)]
    if matching:
        return matching[0]
    shown = ", ".join(versions[:5]) + (" ..." if len(versions) > 5 else "")
    raise ConfigurationError(
        f"artifact {artifact.name!r} has no version matching {wanted!r} (it has: {shown})",
        hint="use an exact version, 'latest', or a pattern like '0.3.*' under artifacts[].version",
    )


def _find_artifact(source: TalendWorkspace, name_or_id: str) -> Artifact:
    artifact = source.artifacts.get(name_or_id) or next(
        (a for a in source.artifacts.values() if a.id == name_or_id), None
    )
    if artifact is None:
        known = ", ".join(sorted(source.artifacts)) or "none"
        raise ConfigurationError(
            f"artifact {name_or_id!r} not found in {source.environment_name}/{source.workspace_name} "
            f"(artifacts there: {known})",
            hint="check artifacts[].name in the pipeline file",
        )
    return artifact


def selected_artifacts(run: RunContext) -> list[ArtifactConfig]:
    """The pipeline's artifacts, or for a hotfix (``--only NAME[=VERSION]``) those named, at
    the version given (else the pipeline's)."""
    artifacts = config(run).artifacts
    only = run.options.only
    if not only:
        return artifacts
    names = [a.name for a in artifacts]
    unknown = [name for name in only if name not in names]
    if unknown:
        raise ConfigurationError(
            f"--only {unknown[0]!r}: the pipeline promotes no such artifact "
            f"(it promotes: {', '.join(names)})",
            hint="name one of the pipeline's artifacts (artifacts[].name)",
        )
    return [
        a.model_copy(update={"version": only[a.name]}) if only[a.name] else a
        for a in artifacts
        if a.name in only
    ]


def export(run: RunContext) -> ExportBundle:
    """Read everything the pipeline promotes from the source workspace."""
    talend = session(run)
    source = talend.source
    if source.environment is None:
        raise ConfigurationError(
            f"source environment {source.environment_name!r} does not exist",
            hint="check source.environment in the pipeline file",
        )
    # Map reads the target next: its lists are read meanwhile — once Talend has answered, so
    # that an API out of reach is retried (and said) once, by the source's reads.
    talend.target.prefetch_in_background()
    if source.workspace is None:
        raise ConfigurationError(
            f"workspace {source.workspace_name!r} does not exist in {source.environment_name}",
            hint="check source.workspace in the pipeline file",
        )
    source.prefetch()
    objects: list[ExportedObject] = []
    selected: dict[str, str] = {}
    artifact_ids: dict[str, str] = {}
    chosen = []
    for wanted in selected_artifacts(run):
        artifact = _find_artifact(source, wanted.name)
        chosen.append((artifact, select_version(artifact, wanted.version)))
    # The versions' details (parameters, repository) are read in parallel, like the tasks.
    details = source.client.map(
        lambda pair: source.client.artifacts.get_version(pair[0].id, pair[1]),
        chosen,
        concurrency=config(run).apply.concurrency,
    )
    for (artifact, version), detail in zip(chosen, details, strict=True):
        selected[artifact.name] = version
        artifact_ids[artifact.id] = artifact.name
        objects.append(
            ExportedObject(
                kind=ARTIFACT_VERSION,
                key=version_key(artifact.name, version),
                body={
                    "name": artifact.name,
                    "type": str(artifact.type),
                    "version": version,
                    "parameters": [
                        {
                            "name": p.name,
                            "type": p.type,
                            "required": p.required,
                            "value": fingerprint(p.value) if source.is_secret(p.name) else p.value,
                        }
                        for p in detail.parameters
                    ],
                    "repository": detail.repository.to_wire() if detail.repository else None,
                },
            )
        )

    if config(run).tasks:
        missing = [t for t in config(run).tasks if t not in source.tasks]
        if missing:
            raise ConfigurationError(
                f"task(s) {', '.join(map(repr, missing))} not found in "
                f"{source.environment_name}/{source.workspace_name}",
                hint="check tasks: in the pipeline file",
            )
        task_names = list(config(run).tasks)
        if run.options.only:  # a hotfix: the listed tasks that run its artifacts
            task_names = [n for n in task_names if source.tasks[n].artifact_id in artifact_ids]
    else:
        task_names = [name for name, t in source.tasks.items() if t.artifact_id in artifact_ids]
    tasks = source.read_many(
        [ObjectRef(kind=TASK, key=n) for n in task_names],
        concurrency=config(run).apply.concurrency,
    )
    connections: set[str] = set()
    for ref, body in tasks.items():
        assert body is not None  # listed a moment ago
        if body["artifact"]["name"] not in selected:
            raise ConfigurationError(
                f"task {ref.key!r} runs artifact {body['artifact']['name']!r}, which the pipeline "
                "does not promote",
                hint="add the artifact under artifacts:, or remove the task from tasks:",
            )
        connections.update(n for n in (body.get("connections") or {}).values())
        objects.append(ExportedObject(kind=TASK, key=ref.key, body=body))
    for name in sorted(connections):
        body = source.read_connection(name)
        if body is not None:
            objects.append(ExportedObject(kind=CONNECTION, key=name, body=body))

    promoted = set(task_names)
    skipped_plans = []
    for name in sorted(source.plans):
        plan = source.read_plan(name)
        assert plan is not None
        plan_tasks = {t for step in plan["steps"] for t in step["tasks"]}
        if plan_tasks and plan_tasks <= promoted:
            objects.append(ExportedObject(kind=PLAN, key=name, body=plan))
        elif plan_tasks & promoted:
            skipped_plans.append(name)
    return ExportBundle(
        source=run.source,
        objects=objects,
        versions=selected,
        metadata={
            "skippedPlans": skipped_plans,
            "repositories": {
                o.body["name"]: o.body["repository"] for o in objects if o.kind == ARTIFACT_VERSION
            },
        },
    )


@hookimpl(trylast=True)
def promoter_export(run: RunContext) -> ExportBundle:
    """The built-in Talend export."""
    return export(run)
