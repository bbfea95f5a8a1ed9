"""Talend's own promotion, as the sandbox serves it: definitions, analysis (dry run), runs.

This reproduces what Talend Cloud's native promotion does, gaps included, so that promoter can be
rehearsed against it and can show what it adds:

- workspaces and the objects in them are paired **by name** across environments; missing ones are
  created in the target (personal workspaces are never promoted);
- artifacts get their missing versions copied (same version strings, parameters, create dates and
  sandbox behaviour);
- a missing task is created with the source's parameters, connections mapped by name and the
  source's artifact version; an **existing** task keeps its parameter values, gains the new
  parameters, takes the source's tags and keeps running its old artifact version (Talend does not
  switch tasks: promoter closes that gap);
- a missing connection is created with the same name, app and parameters, secured values replaced
  by :data:`PLACEHOLDER`; an existing one is reused as it is;
- plans are created or replaced with steps pointing at the target's tasks;
- one run per environment pair at a time (409); a run is applied at once but reported as
  ``PROMOTION_STARTED`` until its simulated duration has passed.

A run is one store transaction: either everything it reports as done is written, or nothing is.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from promoter.sandbox import fiql
from promoter.sandbox.errors import ApiError, bad_request, conflict, not_found
from promoter.sandbox.estate import (
    BEHAVIOUR_KEY,
    Estate,
    _version_key,
    iso,
    new_id,
    public,
    utcnow,
)
from promoter.sandbox.store import Row
from promoter.talend import models as m

__all__ = ["PLACEHOLDER", "SCOPES", "NativePromotions"]

#: The value a promoted connection gets for each secured (``encrypted``) parameter.
PLACEHOLDER = "<to be set after promotion>"

#: The values of ``advanced.artifactType``: what an advanced promotion is narrowed to.
SCOPES = ("WORKSPACE", "PLAN", "FLOW", "ACTION")

_DEFINITION = "promotion"
_EXECUTION = "promotion_execution"

CREATED = "CREATED"
REPLACED = "REPLACED"
REUSED = "REUSED"
FAILED = "FAILED"
SKIPPED = "SKIPPED"
_NOT_PROMOTED = (FAILED, SKIPPED)

Message = tuple[str, str]  # (level, info)


class NativePromotions:
    """Talend's promotion definitions, analyses and runs over an :class:`Estate`.

    ``run_seconds`` is asked at each run how long it should be reported as running (0: it finishes
    at once and the run answers 201 with its report); ``clock`` is the time source (tests move it).
    """

    def __init__(
        self,
        estate: Estate,
        *,
        run_seconds: Callable[[], float],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.estate = estate
        self.store = estate.store
        self.run_seconds = run_seconds
        self.clock = clock

    # ------------------------------------------------------------------ definitions

    def list_definitions(self, query: str | None = None) -> list[m.PromotionDefinition]:
        """Every promotion definition matching a FIQL query (``name==dev to test``)."""
        predicate = fiql.parse(query)
        definitions = [self._definition_model(row) for row in self.store.find(_DEFINITION)]
        return [d for d in definitions if predicate(d.to_wire())]

    def create_definition(
        self, body: m.PromotionCreateRequest, *, id: str | None = None
    ) -> m.PromotionDefinition:
        """Define the promotion from one environment to another, named "<source> to <target>".

        404 for an unknown environment, 400 when both are the same, 409 when the pair (or the id)
        already has a definition.
        """
        with self.store.transaction():
            source = self.estate.environment(body.source_environment_id)
            target = self.estate.environment(body.target_environment_id)
            if source["id"] == target["id"]:
                raise bad_request(
                    "A promotion needs two different environments",
                    f"Source and target are both '{source['name']}'.",
                )
            existing = self._definition_for_pair(source["id"], target["id"])
            if existing is not None:
                raise conflict(
                    f"A promotion from '{source['name']}' to '{target['name']}' already exists",
                    f"Use promotion {existing['executable']}; there is one per environment pair.",
                )
            promotion_id = id or new_id()
            if self.store.get(_DEFINITION, promotion_id) is not None:
                raise conflict(f"Promotion '{promotion_id}' already exists")
            name = f"{source['name']} to {target['name']}"
            row = {"executable": promotion_id, "name": name, "_source": source["id"], "_target": target["id"]}
            self.store.put(
                _DEFINITION, promotion_id, row,
                name=name, environment_id=source["id"], parent_id=target["id"],
            )
        return self._definition_model(row)

    def get_definition(self, promotion_id: str) -> m.PromotionDefinition:
        """One promotion definition; 404 when unknown."""
        return self._definition_model(self._definition(promotion_id))

    def delete_definition(self, promotion_id: str) -> None:
        """Delete a promotion definition (its past runs stay); 409 while one of its runs is running."""
        with self.store.transaction():
            definition = self._definition(promotion_id)
            self._check_idle(definition)
            self.store.delete(_DEFINITION, promotion_id)

    def _definition(self, promotion_id: str) -> Row:
        row = self.store.get(_DEFINITION, promotion_id)
        if row is None:
            raise not_found("Promotion", promotion_id)
        return row

    def _definition_for_pair(self, source_id: str, target_id: str) -> Row | None:
        for row in self.store.find(_DEFINITION):
            if row["_source"] == source_id and row["_target"] == target_id:
                return row
        return None

    def _definition_model(self, row: Row) -> m.PromotionDefinition:
        source = self.store.get("environment", row["_source"])
        target = self.store.get("environment", row["_target"])
        return m.PromotionDefinition(
            executable=row["executable"],
            name=row["name"],
            source_environment=m.EnvironmentInfo.model_validate(source) if source else None,
            target_environment=m.EnvironmentInfo.model_validate(target) if target else None,
        )

    # ------------------------------------------------------------------ analysis and runs

    def analyse(
        self,
        promotion_id: str,
        body: m.PromotionAnalysisRequest,
        *,
        user_id: str = "sandbox",
        user_type: str = "HUMAN",
    ) -> m.PromotionReport:
        """The dry run: what a run would do to each object (``analyzeReport``), status ``ANALIZED``.

        Nothing is written, not even an execution. ``promotionAdvancedInfo`` narrows the analysis
        like ``advanced`` narrows a run (by ``id``, or by ``name`` in ``workspaceId``).
        """
        started = self.clock()
        with self.store.transaction():
            definition = self._definition(promotion_id)
            advanced = self._advanced_from_info(body.promotion_advanced_info, definition["_source"])
            scope = self._scope(definition["_source"], advanced)
            outcome = _Promotion(
                self.estate, definition["_target"], scope,
                apply=False, keep_target_resources=bool(body.keep_target_resources),
            ).walk()
        return m.PromotionReport(
            execution_id=str(uuid.uuid4()),
            trigger_timestamp=started,
            start_timestamp=started,
            finish_timestamp=self.clock(),
            user_id=user_id,
            user_type=user_type,
            promotion_id=promotion_id,
            keep_target_resources=body.keep_target_resources,
            keep_target_run_profiles=body.keep_target_run_profiles,
            advanced=advanced,
            status=m.PromotionReportStatus.ANALIZED,
            status_message=outcome.summary("would be"),
            workspaces=outcome.workspaces,
            context=body.context,
        )

    def run(
        self,
        body: m.PromotionRunRequest,
        *,
        user_id: str = "sandbox",
        user_type: str = "HUMAN",
    ) -> tuple[int, m.PromotionExecution]:
        """Run a promotion: ``(201, execution with its report)`` when ``run_seconds()`` is 0,
        otherwise ``(202, execution id only)`` and the report says ``PROMOTION_STARTED`` until
        that time has passed (poll :meth:`status`).

        404 for an unknown definition or advanced ``artifactId``; 400 for an advanced scope outside
        the source environment; 409 while a run of the same environment pair is running.
        """
        started = self.clock()
        seconds = self.run_seconds()
        duration = timedelta(seconds=seconds if seconds > 0 else 0)
        execution_id = str(uuid.uuid4())
        advanced = _clean_advanced(body.advanced)

        def report(
            status: str, message: str, workspaces: list[m.WorkspacePromotionResult] | None
        ) -> m.PromotionReport:
            return m.PromotionReport(
                execution_id=execution_id,
                trigger_timestamp=started,
                start_timestamp=started,
                finish_timestamp=started + duration,
                user_id=user_id,
                user_type=user_type,
                promotion_id=body.executable,
                keep_target_resources=body.keep_target_resources,
                keep_target_run_profiles=body.keep_target_run_profiles,
                advanced=advanced,
                status=status,
                status_message=message,
                workspaces=workspaces,
                context=body.context,
            )

        try:
            with self.store.transaction():
                definition = self._definition(body.executable)
                self._check_idle(definition)
                scope = self._scope(definition["_source"], advanced)
                try:
                    outcome = _Promotion(
                        self.estate, definition["_target"], scope,
                        apply=True, keep_target_resources=bool(body.keep_target_resources),
                    ).walk()
                except (ApiError, ValueError) as exc:
                    raise _RunFailed(definition, exc) from exc
                final = report(outcome.status(), outcome.summary("were"), outcome.workspaces)
                self._save(final, definition, started + duration)
        except _RunFailed as failure:
            # The transaction rolled back every change; the failed run itself is still recorded.
            message = failure.cause.message if isinstance(failure.cause, ApiError) else str(failure.cause)
            final = report(
                m.PromotionReportStatus.PROMOTION_FAILED,
                f"Promotion failed, nothing was changed: {message}",
                None,
            )
            with self.store.transaction():
                self._save(final, failure.definition, started + duration)
        if duration:
            return 202, m.PromotionExecution(execution_id=execution_id)
        return 201, m.PromotionExecution(execution_id=execution_id, execution_report=final)

    def status(self, execution_id: str) -> m.PromotionReport:
        """The report of a promotion run (``GET /processing/executions/promotions/{id}``); 404 when
        unknown. Until the run's time has passed it is ``PROMOTION_STARTED``, without results."""
        body = self.store.get(_EXECUTION, execution_id)
        if body is None:
            raise not_found("Promotion execution", execution_id)
        wire = public(body)
        if self._running(body):
            wire.update(
                status=m.PromotionReportStatus.PROMOTION_STARTED.value,
                statusMessage="Promotion in progress",
            )
            wire.pop("finishTimestamp", None)
            wire = _without_promotion_reports(wire)
        return m.PromotionReport.model_validate(wire)

    def _save(self, report: m.PromotionReport, definition: Row, finish_at: datetime) -> None:
        body = {
            **report.to_wire(),
            "_source": definition["_source"],
            "_target": definition["_target"],
            "_finishAt": iso(finish_at),
        }
        self.store.put(
            _EXECUTION, report.execution_id, body,
            environment_id=definition["_source"], parent_id=definition["executable"],
        )

    def _running(self, execution: Row) -> bool:
        return bool(self.clock() < datetime.fromisoformat(execution["_finishAt"]))

    def _check_idle(self, definition: Row) -> None:
        for execution in self.store.find(_EXECUTION, environment_id=definition["_source"]):
            if execution["_target"] == definition["_target"] and self._running(execution):
                raise conflict(
                    f"Promotion '{definition['name']}' is already running",
                    f"Execution {execution['executionId']} has not finished; one run per "
                    "environment pair at a time. Poll it, then run again.",
                )

    # ------------------------------------------------------------------ scope

    def _advanced_from_info(
        self, info: m.PromotionAdvancedInfo | None, source_env_id: str
    ) -> m.AdvancedPromotionSpec | None:
        """The analysis names its scope as ``{id, name, workspaceId, type}``; a run as
        ``{artifactId, artifactType}``."""
        if info is None or (info.id is None and info.type is None and info.name is None):
            return None
        artifact_id = info.id
        scope = (info.type or "").upper()
        if artifact_id is None and info.name is not None and scope in SCOPES:
            kind = {"WORKSPACE": "workspace", "PLAN": "plan", "FLOW": "task", "ACTION": "artifact"}[scope]
            if kind == "workspace":
                rows = self.store.find(kind, name=info.name, environment_id=source_env_id)
            elif info.workspace_id is not None:
                rows = self.store.find(kind, name=info.name, workspace_id=info.workspace_id)
            else:
                raise bad_request(f"promotionAdvancedInfo names {scope} '{info.name}' without a workspaceId")
            if not rows:
                raise not_found(scope.capitalize(), info.name)
            artifact_id = rows[0]["id"]
        return _clean_advanced(m.AdvancedPromotionSpec(artifact_id=artifact_id, artifact_type=info.type))

    def _scope(self, source_env_id: str, advanced: m.AdvancedPromotionSpec | None) -> _Scope:
        """The source objects a promotion covers, with everything they need, per workspace."""
        scope = _Scope(self.estate)
        if advanced is None:
            for ws in self.store.find("workspace", environment_id=source_env_id):
                if ws["type"] != "personal":
                    scope.add_workspace(ws)
            return scope
        assert advanced.artifact_id is not None and advanced.artifact_type is not None
        kind, label = {
            "WORKSPACE": ("workspace", "Workspace"),
            "PLAN": ("plan", "Plan"),
            "FLOW": ("task", "Task"),
            "ACTION": ("artifact", "Artifact"),
        }[advanced.artifact_type]
        row = self.store.get(kind, advanced.artifact_id)
        if row is None:
            raise not_found(label, advanced.artifact_id)
        home = self.store.get("workspace", row["id"] if kind == "workspace" else row["workspaceId"])
        if home is None or home["environmentId"] != source_env_id:
            raise bad_request(
                f"{label} {advanced.artifact_id} is not in the promotion's source environment",
                "An advanced promotion names an object of the source environment.",
            )
        if home["type"] == "personal":
            raise bad_request(
                f"{label} {advanced.artifact_id} is in a personal workspace",
                "Personal workspaces are never promoted; move it to a shared workspace first.",
            )
        if kind == "workspace":
            scope.add_workspace(home)
        elif kind == "plan":
            scope.add_plan(row)
        elif kind == "task":
            scope.add_task(row)
        else:
            scope.selection(row["workspaceId"]).add_artifact(row["id"], None)
        return scope


def _clean_advanced(advanced: m.AdvancedPromotionSpec | None) -> m.AdvancedPromotionSpec | None:
    """Validate ``advanced``: None when empty, both fields set otherwise, with a known type."""
    if advanced is None or (advanced.artifact_id is None and advanced.artifact_type is None):
        return None
    if advanced.artifact_type is None or advanced.artifact_id is None:
        raise bad_request(
            "An advanced promotion needs both artifactId and artifactType",
            f"artifactType is one of {', '.join(SCOPES)}; for FLOW, artifactId is a task id.",
        )
    scope = advanced.artifact_type.upper()
    if scope not in SCOPES:
        raise bad_request(
            f"Unknown advanced artifactType '{advanced.artifact_type}'",
            f"Use one of {', '.join(SCOPES)}.",
        )
    return m.AdvancedPromotionSpec(artifact_id=advanced.artifact_id, artifact_type=scope)


def _without_promotion_reports(value: Any) -> Any:
    """A report body without its ``promotionReport`` entries (what a running promotion shows)."""
    if isinstance(value, dict):
        return {k: _without_promotion_reports(v) for k, v in value.items() if k != "promotionReport"}
    if isinstance(value, list):
        return [_without_promotion_reports(v) for v in value]
    return value


class _RunFailed(Exception):
    """A run hit an error while applying: its transaction is rolled back, the run is recorded."""

    def __init__(self, definition: Row, cause: Exception) -> None:
        super().__init__(str(cause))
        self.definition = definition
        self.cause = cause


# ---------------------------------------------------------------------- scope


@dataclass
class _Selection:
    """What a promotion covers in one source workspace (ids in insertion order)."""

    artifacts: dict[str, set[str] | None] = field(default_factory=dict)  # id -> versions (None: all)
    tasks: dict[str, None] = field(default_factory=dict)
    plans: dict[str, None] = field(default_factory=dict)
    connections: dict[str, None] = field(default_factory=dict)
    resources: dict[str, None] = field(default_factory=dict)

    def add_artifact(self, artifact_id: str, version: str | None) -> None:
        """Cover an artifact's version (``None``: all its versions)."""
        if artifact_id not in self.artifacts:
            self.artifacts[artifact_id] = None if version is None else {version}
            return
        versions = self.artifacts[artifact_id]
        if versions is None:
            return
        if version is None:
            self.artifacts[artifact_id] = None
        else:
            versions.add(version)


class _Scope:
    """The selections of a promotion, per source workspace, closed over dependencies: a plan needs
    its tasks, a task its artifact version, connections and resources."""

    def __init__(self, estate: Estate) -> None:
        self.store = estate.store
        self.workspaces: dict[str, _Selection] = {}

    def selection(self, ws_id: str) -> _Selection:
        return self.workspaces.setdefault(ws_id, _Selection())

    def add_workspace(self, ws: Row) -> None:
        selection = self.selection(ws["id"])
        for artifact in self.store.find("artifact", workspace_id=ws["id"]):
            selection.add_artifact(artifact["id"], None)
        for kind, ids in (
            ("connection", selection.connections),
            ("resource", selection.resources),
        ):
            for row in self.store.find(kind, workspace_id=ws["id"]):
                ids[row["id"]] = None
        for task in self.store.find("task", workspace_id=ws["id"]):
            self.add_task(task)
        for plan in self.store.find("plan", workspace_id=ws["id"]):
            self.add_plan(plan)

    def add_task(self, task: Row) -> None:
        selection = self.selection(task["workspaceId"])
        selection.tasks[task["id"]] = None
        selection.add_artifact(task["artifact"]["id"], task["artifact"]["version"])
        for connection_id in (task.get("connections") or {}).values():
            if self.store.get("connection", connection_id) is not None:
                selection.connections[connection_id] = None
        for resource_id in (task.get("resources") or {}).values():
            if self.store.get("resource", resource_id) is not None:
                selection.resources[resource_id] = None

    def add_plan(self, plan: Row) -> None:
        self.selection(plan["workspaceId"]).plans[plan["id"]] = None
        for task_id in _plan_task_ids(plan):
            task = self.store.get("task", task_id)
            if task is not None:
                self.add_task(task)


def _plan_task_ids(plan: Row) -> list[str]:
    ids: list[str] = []
    for step in plan.get("steps") or []:
        ids.extend(step.get("taskIds") or [])
        ids.extend((step.get("handlerOnFailure") or {}).get("taskIds") or [])
    return ids


# ---------------------------------------------------------------------- the promotion itself


@dataclass
class _Target:
    """What became (or would become) of one source object in the target."""

    status: str
    target_id: str | None  # None: not promoted, or not created yet (analysis)


@dataclass
class _Outcome:
    """The per-workspace results of a promotion and the statuses of every object in them."""

    workspaces: list[m.WorkspacePromotionResult]
    statuses: list[str]

    def status(self) -> m.PromotionReportStatus:
        """PROMOTED; PROMOTION_WARNING when something was skipped or failed; PROMOTION_FAILED when
        nothing could be promoted."""
        bad = [s for s in self.statuses if s in _NOT_PROMOTED]
        if not bad:
            return m.PromotionReportStatus.PROMOTED
        if len(bad) == len(self.statuses):
            return m.PromotionReportStatus.PROMOTION_FAILED
        return m.PromotionReportStatus.PROMOTION_WARNING

    def summary(self, verb: str) -> str:
        """``"3 objects would be: 2 created, 1 reused"``."""
        counts = {s: self.statuses.count(s) for s in (CREATED, REPLACED, REUSED, SKIPPED, FAILED)}
        parts = [f"{n} {s.lower()}" for s, n in counts.items() if n]
        if not parts:
            return "Nothing to promote"
        return f"{len(self.statuses)} objects {verb}: {', '.join(parts)}"


class _Promotion:
    """One walk over a scope: decide for each source object what happens in the target (the
    analysis) and, when ``apply``, do it. Decisions are made before writing so that a run does
    exactly what its analysis says."""

    def __init__(
        self,
        estate: Estate,
        target_env_id: str,
        scope: _Scope,
        *,
        apply: bool,
        keep_target_resources: bool,
    ) -> None:
        self.estate = estate
        self.store = estate.store
        self.target_env_id = target_env_id
        self.scope = scope
        self.apply = apply
        self.keep_target_resources = keep_target_resources
        self.statuses: list[str] = []

    def walk(self) -> _Outcome:
        results = []
        for ws in self.store.find("workspace"):
            if ws["id"] in self.scope.workspaces:
                workspace = _WorkspacePromotion(self, ws, self.scope.workspaces[ws["id"]])
                results.append(workspace.promote())
        return _Outcome(results, self.statuses)

    def reports(
        self, status: str, messages: Iterable[Message], *, counted: bool = True
    ) -> dict[str, m.Report]:
        """The ``analyzeReport`` (and, in a run, the same ``promotionReport``) of one object;
        ``counted`` objects make the overall status (an artifact's versions are not)."""
        if counted:
            self.statuses.append(status)
        report = m.Report(
            status=status,
            messages=[m.ReportMessage(level=level, info=info) for level, info in messages] or None,
        )
        return {"analyze_report": report, "promotion_report": report} if self.apply else {
            "analyze_report": report
        }


class _WorkspacePromotion:
    """Promotes (or analyses) the selection of one source workspace."""

    def __init__(self, promotion: _Promotion, source: Row, selection: _Selection) -> None:
        self.promotion = promotion
        self.estate = promotion.estate
        self.store = promotion.store
        self.apply = promotion.apply
        self.source = source
        self.selection = selection
        self.target_ws_id: str | None = None
        # What became of each source object, by source id.
        self.connections: dict[str, _Target] = {}
        self.resources: dict[str, _Target] = {}
        self.artifacts: dict[str, _Target] = {}
        self.tasks: dict[str, _Target] = {}
        self.plans: dict[str, _Target] = {}

    def _selected(self, kind: str, ids: dict[str, Any]) -> list[Row]:
        return [row for row in self.store.find(kind, workspace_id=self.source["id"]) if row["id"] in ids]

    def _target_row(self, kind: str, name: str) -> Row | None:
        if self.target_ws_id is None:
            return None
        rows = self.store.find(kind, name=name, workspace_id=self.target_ws_id)
        return rows[0] if rows else None

    def promote(self) -> m.WorkspacePromotionResult:
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
        self.connections[source["id"]] = _Target(status, target_id)
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
        self.resources[source["id"]] = _Target(status, target_id)
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
        self.artifacts[source["id"]] = _Target(status, target_id)
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
            key = _version_key(artifact_id, row["version"])
            self.store.delete("artifact_version", key)
            self.store.put(
                "artifact_version", key, row, parent_id=artifact_id, workspace_id=self.target_ws_id
            )

    # ------------------------------------------------------------------ tasks

    def _mapped(
        self, links: dict[str, str] | None, promoted: dict[str, _Target], kind: str
    ) -> tuple[dict[str, str | None], list[str]]:
        """A task's connections (app -> id) or resources (name -> id) mapped to the target, and
        the names of those that could not be."""
        mapped: dict[str, str | None] = {}
        unmapped: list[str] = []
        for key, source_id in (links or {}).items():
            target = promoted.get(source_id)
            if target is None or target.status in _NOT_PROMOTED:
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
        self.tasks[source["id"]] = _Target(status, target_id)
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
        artifact: _Target | None,
        connections: dict[str, str | None],
        resources: dict[str, str | None],
        unmapped: list[str],
        messages: list[Message],
    ) -> tuple[str | None, str | None, str]:
        if artifact is None or artifact.status in _NOT_PROMOTED:
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
                if promoted is None or promoted.status in _NOT_PROMOTED:
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
                request = m.PlanRequest(name=source["name"], workspace_id=self.target_ws_id, steps=steps)
                if target_id is not None:
                    self.estate.replace_plan(target_id, request)
                else:
                    target_id = self.estate.create_plan(request).id
        self.plans[source["id"]] = _Target(status, target_id)
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
