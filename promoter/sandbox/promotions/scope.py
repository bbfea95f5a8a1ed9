"""What a promotion covers: every shared workspace of the source environment, or the one object
an advanced promotion names, closed over what it needs (a plan its tasks, a task its artifact
version, connections and resources)."""

from __future__ import annotations

from dataclasses import dataclass, field

from promoter.sandbox.errors import bad_request, not_found
from promoter.sandbox.estate import Estate
from promoter.sandbox.store import Row
from promoter.talend import models as m

#: The values of ``advanced.artifactType``: what an advanced promotion is narrowed to.
SCOPES = ("WORKSPACE", "PLAN", "FLOW", "ACTION")


def scope_of(estate: Estate, source_env_id: str, advanced: m.AdvancedPromotionSpec | None) -> Scope:
    """The source objects a promotion covers, with everything they need, per workspace."""
    scope = Scope(estate)
    if advanced is None:
        for ws in estate.store.find("workspace", environment_id=source_env_id):
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
    row = estate.store.get(kind, advanced.artifact_id)
    if row is None:
        raise not_found(label, advanced.artifact_id)
    home = estate.store.get("workspace", row["id"] if kind == "workspace" else row["workspaceId"])
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


def clean_advanced(advanced: m.AdvancedPromotionSpec | None) -> m.AdvancedPromotionSpec | None:
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


@dataclass
class Selection:
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


class Scope:
    """The selections of a promotion, per source workspace, closed over dependencies: a plan needs
    its tasks, a task its artifact version, connections and resources."""

    def __init__(self, estate: Estate) -> None:
        self.store = estate.store
        self.workspaces: dict[str, Selection] = {}

    def selection(self, ws_id: str) -> Selection:
        """The selection of one source workspace (empty at first)."""
        return self.workspaces.setdefault(ws_id, Selection())

    def add_workspace(self, ws: Row) -> None:
        """Cover a whole workspace: every artifact version, connection, resource, task and plan."""
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
        """Cover a task with its artifact version and the connections and resources it uses."""
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
        """Cover a plan with the tasks of its steps and failure handlers."""
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
