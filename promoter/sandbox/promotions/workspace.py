"""The promotion of one source workspace: for each covered object, Talend's rule for what happens
in the target (created, replaced, reused, skipped or failed) and, in a run, doing it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from promoter.sandbox.estate.rows import BEHAVIOUR_KEY, version_key
from promoter.sandbox.promotions.outcome import (
    CREATED,
    FAILED,
    NOT_PROMOTED,
    REPLACED,
    REUSED,
    SKIPPED,
    Message,
    Target,
)
from promoter.sandbox.promotions.scope import Selection
from promoter.sandbox.store import Row
from promoter.talend import models as m

if TYPE_CHECKING:
    from promoter.sandbox.promotions.walk import Promotion

#: The value a promoted connection gets for each secured (``encrypted``) parameter.
PLACEHOLDER = "<to be set after promotion>"


class WorkspacePromotion:
    """Promotes (or analyses) the selection of one source workspace."""

    def __init__(self, promotion: Promotion, source: Row, selection: Selection) -> None:
        self.promotion = promotion
        self.estate = promotion.estate
        self.store = promotion.store
        self.apply = promotion.apply
        self.source = source
        self.selection = selection
        self.target_ws_id: str | None = None
        # What became of each source object, by source id.
        self.connections: dict[str, Target] = {}
        self.resources: dict[str, Target] = {}
        self.artifacts: dict[str, Target] = {}
        self.tasks: dict[str, Target] = {}
        self.plans: dict[str, Target] = {}

    def _selected(self, kind: str, ids: dict[str, Any]) -> list[Row]:
        return [row for row in self.store.find(kind, workspace_id=self.source["id"]) if row["id"] in ids]

    def _target_row(self, kind: str, name: str) -> Row | None:
        if self.target_ws_id is None:
            return None
        rows = self.store.find(kind, name=name, workspace_id=self.target_ws_id)
        return rows[0] if rows else None

    def promote(self) -> m.WorkspacePromotionResult:
        """The workspace's result: itself (reused, or created by name) and each covered object."""
        source = self.source
        target_env = self.promotion.target_env_id
        targets = self.store.find("workspace", name=source["name"], environment_id=target_env)
        messages: list[Message] = []
        if targets:
            status, self.target_ws_id = REUSED, targets[0]["id"]
            if targets[0]["type"] != source["type"]:
                messages.append(("WARN", f"Target workspace is {targets[0]['type']}, the source {source['type']}"))
        else:
            status = CREATED
            if self.apply:
                self.target_ws_id = self.estate.create_workspace(
                    m.WorkspaceCreateRequest(
                        name=source["name"], environment_id=target_env,
                        description=source.get("description"), owner=source.get("owner"),
                    ),
                    type=source["type"],
                ).id
        # A reused workspace is no achievement: it does not keep a run that did nothing else from
        # being PROMOTION_FAILED.
        reports = self.promotion.reports(status, messages, counted=status == CREATED)
        connections = [self._connection(c) for c in self._selected("connection", self.selection.connections)]
        resources = [self._resource(r) for r in self._selected("resource", self.selection.resources)]
        actions = [self._artifact(a) for a in self._selected("artifact", self.selection.artifacts)]
        flows = [self._task(t) for t in self._selected("task", self.selection.tasks)]
        plans = [self._plan(p) for p in self._selected("plan", self.selection.plans)]
        return m.WorkspacePromotionResult(
            id=source["id"],
            target_id=self.target_ws_id,
            name=source["name"],
            type="WORKSPACE",
            workspace_type=source["type"].capitalize(),
            flows=flows,
            plans=plans,
            actions=actions,
            connections=connections,
            resources=resources,
            **reports,
        )

    # ------------------------------------------------------------------ connections, resources

    def _connection(self, source: Row) -> m.ArtifactPromotionResult:
        target = self._target_row("connection", source["name"])
        messages: list[Message] = []
        target_id: str | None = None
        if target is not None and target["app"] != source["app"]:
            status = FAILED
            messages.append((
                "ERROR",
                f"The target workspace has a connection '{source['name']}' for app {target['app']}, "
                f"not {source['app']}; rename one of them",
            ))
        elif target is not None:
            status, target_id = REUSED, target["id"]
            messages.append(("INFO", "The target connection exists; its parameters are kept"))
        else:
            status = CREATED
            secured = [p["name"] for p in source.get("parameters") or [] if p.get("encrypted")]
            if secured:
                messages.append((
                    "WARN",
                    f"Secured parameters get a placeholder value: {', '.join(secured)}; "
                    "set them in the target environment",
                ))
            if self.apply:
                assert self.target_ws_id is not None
                target_id = self.estate.create_connection(
                    m.ConnectionCreateRequest(
                        name=source["name"],
                        workspace_id=self.target_ws_id,
                        app=source["app"],
                        parameters=[
                            m.ConnectionParameter(
                                name=p["name"],
                                value=PLACEHOLDER if p.get("encrypted") else p.get("value"),
                                encrypted=p.get("encrypted"),
                            )
                            for p in source.get("parameters") or []
                        ],
                    )
                ).id
        self.connections[source["id"]] = Target(status, target_id)
        return m.ArtifactPromotionResult(
            id=source["id"], target_id=target_id, name=source["name"], type="CONNECTION",
            **self.promotion.reports(status, messages),
        )

    def _resource(self, source: Row) -> m.ArtifactPromotionResult:
        target = self._target_row("resource", source["name"])
        messages: list[Message] = []
        target_id: str | None = None
        if target is not None:
            target_id = target["id"]
            if self.promotion.keep_target_resources:
                status = REUSED
                messages.append(("INFO", "keepTargetResources: the target resource is kept"))
            else:
                status = REPLACED
        else:
            status = CREATED
            if self.apply:
                assert self.target_ws_id is not None
                target_id = self.estate.create_resource(
                    workspace_id=self.target_ws_id, name=source["name"]
                ).id
        self.resources[source["id"]] = Target(status, target_id)
        return m.ArtifactPromotionResult(
            id=source["id"], target_id=target_id, name=source["name"], type="RESOURCE",
            **self.promotion.reports(status, messages),
        )

    # ------------------------------------------------------------------ artifacts

    def _artifact(self, source: Row) -> m.ArtifactPromotionResult:
        wanted = self.selection.artifacts[source["id"]]
        source_versions = [
            v for v in self.store.find("artifact_version", parent_id=source["id"])
            if wanted is None or v["version"] in wanted
        ]
        target = self._target_row("artifact", source["name"])
        target_id = target["id"] if target is not None else None
        messages: list[Message] = []
        if target is not None and target["type"] != source["type"]:
            status = FAILED
            messages.append((
                "ERROR",
                f"The target workspace has an artifact '{source['name']}' of type {target['type']}, "
                f"not {source['type']}",
            ))
            missing: list[Row] = []
            present: set[str] = set()
        else:
            present = (
                {v["version"] for v in self.store.find("artifact_version", parent_id=target_id)}
                if target_id is not None
                else set()
            )
            missing = [v for v in source_versions if v["version"] not in present]
            status = CREATED if target is None else REPLACED if missing else REUSED
            if missing:
                messages.append(("INFO", f"Versions missing in the target: {', '.join(v['version'] for v in missing)}"))
            if self.apply and missing:
                target_id = self._copy_versions(source, missing)
        self.artifacts[source["id"]] = Target(status, target_id)
        version_results = [
            m.ArtifactPromotionResult(
                id=source["id"],
                target_id=target_id,
                name=source["name"],
                type="ACTION",
                version=v["version"],
                target_version=v["version"] if status != FAILED else None,
                job_type=source["type"],
                **self.promotion.reports(
                    SKIPPED if status == FAILED else REUSED if v["version"] in present else CREATED,
                    (),
                    counted=False,
                ),
            )
            for v in reversed(source_versions)
        ]
        return m.ArtifactPromotionResult(
            id=source["id"],
            target_id=target_id,
            name=source["name"],
            type="ACTION",
            job_type=source["type"],
            version=source_versions[-1]["version"] if source_versions else None,
            versions=version_results,
            **self.promotion.reports(status, messages),
        )

    def _copy_versions(self, source: Row, versions: list[Row]) -> str:
        assert self.target_ws_id is not None
        published: m.ArtifactVersion | None = None
        for version in sorted(versions, key=lambda v: datetime.fromisoformat(v["createDate"])):
            published = self.estate.publish(
                workspace_id=self.target_ws_id,
                name=source["name"],
                version=version["version"],
                type=source["type"],
                parameters=version.get("parameters"),
                description=version.get("description"),
                repository=version.get("repository"),
                publisher=version.get("publisher") or "sandbox",
                behaviour=version.get(BEHAVIOUR_KEY),
                create_date=datetime.fromisoformat(version["createDate"]),
            )
        assert published is not None
        self._order_versions(published.id)
        return published.id

    def _order_versions(self, artifact_id: str) -> None:
        """Artifacts list their versions in publication order: re-insert the target's versions in
        create-date order when copied versions landed after newer ones."""
        rows = self.store.find("artifact_version", parent_id=artifact_id)
        by_date = sorted(rows, key=lambda v: datetime.fromisoformat(v["createDate"]))
        if [v["version"] for v in rows] == [v["version"] for v in by_date]:
            return
        assert self.target_ws_id is not None
        for row in by_date:
            key = version_key(artifact_id, row["version"])
            self.store.delete("artifact_version", key)
            self.store.put(
                "artifact_version", key, row, parent_id=artifact_id, workspace_id=self.target_ws_id
            )

    # ------------------------------------------------------------------ tasks

    def _mapped(
        self, links: dict[str, str] | None, promoted: dict[str, Target], kind: str
    ) -> tuple[dict[str, str | None], list[str]]:
        """A task's connections (app -> id) or resources (name -> id) mapped to the target, and
        the names of those that could not be."""
        mapped: dict[str, str | None] = {}
        unmapped: list[str] = []
        for key, source_id in (links or {}).items():
            target = promoted.get(source_id)
            if target is None or target.status in NOT_PROMOTED:
                unmapped.append(f"{kind} {key}")
            else:
                mapped[key] = target.target_id
        return mapped, unmapped

    def _task(self, source: Row) -> m.FlowPromotionResult:
        target = self._target_row("task", source["name"])
        connections, unmapped = self._mapped(source.get("connections"), self.connections, "connection")
        resources, unmapped_resources = self._mapped(source.get("resources"), self.resources, "resource")
        unmapped += unmapped_resources
        artifact = self.artifacts.get(source["artifact"]["id"])
        messages: list[Message] = []
        if target is None:
            target_id, target_version, status = self._new_task(source, artifact, connections, resources, unmapped, messages)
        else:
            target_id, target_version, status = self._existing_task(source, target, connections, resources, unmapped, messages)
        self.tasks[source["id"]] = Target(status, target_id)
        try:
            source_version: int | None = int(source["version"])
        except (TypeError, ValueError):
            source_version = None
        return m.FlowPromotionResult(
            id=source["id"],
            target_id=target_id,
            name=source["name"],
            type="FLOW",
            version=source_version,
            target_version=target_version,
            workspace_id=self.target_ws_id,
            artifact_id=artifact.target_id if artifact is not None else None,
            **self.promotion.reports(status, messages),
        )

    def _new_task(
        self,
        source: Row,
        artifact: Target | None,
        connections: dict[str, str | None],
        resources: dict[str, str | None],
        unmapped: list[str],
        messages: list[Message],
    ) -> tuple[str | None, str | None, str]:
        if artifact is None or artifact.status in NOT_PROMOTED:
            messages.append(("ERROR", f"Artifact '{source['artifact']['name']}' could not be promoted"))
            return None, None, SKIPPED
        if unmapped:
            messages.append(("ERROR", f"Could not be promoted: {', '.join(unmapped)}"))
            return None, None, SKIPPED
        run_config = self.store.get("run_config", source["id"])
        if run_config is not None:
            messages.append(("INFO", "Run configuration taken from the source task"))
        if not self.apply:
            return None, None, CREATED
        assert self.target_ws_id is not None and artifact.target_id is not None
        task = self.estate.create_task(
            m.TaskCreateRequest(
                workspace_id=self.target_ws_id,
                environment_id=self.promotion.target_env_id,
                name=source["name"],
                description=source.get("description"),
                tags=source.get("tags"),
                connections=_ids(connections),
                parameters=source.get("parameters"),
                resources=_ids(resources),
                artifact=m.ArtifactRequest(id=artifact.target_id, version=source["artifact"]["version"]),
                auto_upgrade_info=_auto_upgrade(source),
            )
        )
        if run_config is not None:
            self.estate.set_run_config(task.id, m.TaskRunConfig.model_validate(run_config))
        return task.id, task.version, CREATED

    def _existing_task(
        self,
        source: Row,
        target: Row,
        connections: dict[str, str | None],
        resources: dict[str, str | None],
        unmapped: list[str],
        messages: list[Message],
    ) -> tuple[str, str, str]:
        target_parameters: dict[str, str] = target.get("parameters") or {}
        added = {k: v for k, v in (source.get("parameters") or {}).items() if k not in target_parameters}
        target_connections: dict[str, str] = target.get("connections") or {}
        new_connections = {k: v for k, v in connections.items() if k not in target_connections}
        target_resources: dict[str, str] = target.get("resources") or {}
        new_resources = {k: v for k, v in resources.items() if k not in target_resources}
        tags = source.get("tags") or []
        changed = bool(added or new_connections or new_resources or tags != (target.get("tags") or []))
        if target_parameters:
            messages.append(("INFO", f"The target values of {len(target_parameters)} parameters are kept"))
        if added:
            messages.append(("INFO", f"New parameters, with the source values: {', '.join(added)}"))
        if unmapped:
            messages.append(("WARN", f"Not linked: {', '.join(unmapped)}"))
        source_version = source["artifact"]["version"]
        if target["artifact"]["version"] != source_version:
            messages.append((
                "WARN",
                f"The task still runs artifact version {target['artifact']['version']}; the source "
                f"runs {source_version} (promotion does not switch a task's artifact version)",
            ))
        status = REPLACED if changed else REUSED
        if not (self.apply and changed):
            return target["id"], target["version"], status
        task = self.estate.replace_task(
            target["id"],
            m.TaskUpdateRequest(
                workspace_id=target["workspaceId"],
                name=target["name"],
                description=target.get("description") or "",
                tags=tags,
                connections={**target_connections, **_ids(new_connections)},
                parameters={**target_parameters, **added},
                resources={**target_resources, **_ids(new_resources)},
                artifact=m.ArtifactRequest(id=target["artifact"]["id"], version=target["artifact"]["version"]),
                auto_upgrade_info=_auto_upgrade(target),
            ),
        )
        return task.id, task.version, status

    # ------------------------------------------------------------------ plans

    def _plan(self, source: Row) -> m.ArtifactPromotionResult:
        target = self._target_row("plan", source["name"])
        messages: list[Message] = []
        blocked: list[str] = []
        steps: list[m.Step] = []

        def task_ids(ids: list[str]) -> list[str]:
            mapped = []
            for task_id in ids:
                promoted = self.tasks.get(task_id)
                if promoted is None or promoted.status in NOT_PROMOTED:
                    task = self.store.get("task", task_id)
                    blocked.append(task["name"] if task else task_id)
                elif promoted.target_id is not None:
                    mapped.append(promoted.target_id)
            return mapped

        for step in source.get("steps") or []:
            handler = step.get("handlerOnFailure")
            handler_model = None
            if handler:
                plan_ids = []
                for plan_id in handler.get("planIds") or []:
                    promoted_plan = self.plans.get(plan_id)
                    if promoted_plan is not None and promoted_plan.target_id is not None:
                        plan_ids.append(promoted_plan.target_id)
                    else:
                        messages.append(("WARN", f"Step '{step['name']}': failure handler plan {plan_id} dropped"))
                handler_model = m.StepErrorHandler(
                    task_ids=task_ids(handler.get("taskIds") or []) or None, plan_ids=plan_ids or None
                )
            steps.append(
                m.Step(
                    name=step["name"],
                    condition=step["condition"],
                    task_ids=task_ids(step.get("taskIds") or []),
                    handler_on_failure=handler_model,
                    note=step.get("note"),
                )
            )
        target_id = target["id"] if target is not None else None
        if blocked:
            status = SKIPPED
            messages.append(("ERROR", f"Tasks not promoted: {', '.join(dict.fromkeys(blocked))}"))
        elif target is not None and _same_steps(target.get("steps") or [], steps):
            status = REUSED
        else:
            status = REPLACED if target is not None else CREATED
            if self.apply:
                assert self.target_ws_id is not None
                request = m.ExecutionPlanRequest(name=source["name"], workspace_id=self.target_ws_id, steps=steps)
                if target_id is not None:
                    self.estate.replace_plan(target_id, request)
                else:
                    target_id = self.estate.create_plan(request).id
        self.plans[source["id"]] = Target(status, target_id)
        return m.ArtifactPromotionResult(
            id=source["id"], target_id=target_id, name=source["name"], type="PLAN",
            **self.promotion.reports(status, messages),
        )


def _same_steps(stored: list[Row], steps: list[m.Step]) -> bool:
    """Whether a target plan already has these steps (step ids aside)."""
    def shape(step: Row) -> Row:
        return {k: v for k, v in step.items() if k != "id" and v is not None}

    return [shape(s) for s in stored] == [shape(s.to_wire()) for s in steps]


def _auto_upgrade(task: Row) -> m.AutoUpgradeInfo | None:
    info = task.get("autoUpgradeInfo")
    return m.AutoUpgradeInfo.model_validate(info) if info else None


def _ids(mapping: dict[str, str | None]) -> dict[str, str]:
    """A mapping to target ids, all known once the run has created them."""
    return {k: v for k, v in mapping.items() if v is not None}
