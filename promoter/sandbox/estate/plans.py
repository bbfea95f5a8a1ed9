"""Plans: tasks of one workspace chained in steps, served with their chart of steps."""

from __future__ import annotations

from promoter.sandbox.errors import bad_request, conflict, not_found
from promoter.sandbox.estate.environments import Environments
from promoter.sandbox.estate.rows import iso, new_id, served, stable_id, utcnow
from promoter.sandbox.store import Row
from promoter.talend import models as m


class Plans(Environments):
    """Plans, each in one workspace; deleting a plan keeps its tasks."""

    # ------------------------------------------------------------------ plans

    def plan(self, plan_id: str) -> Row:
        """A stored plan, or 404."""
        plan = self.store.get("plan", plan_id)
        if plan is None:
            raise not_found("Plan", plan_id)
        return plan

    def plan_model(self, plan_id: str) -> m.ExecutionPlan:
        """A plan as returned by create and PUT."""
        plan = self.plan(plan_id)
        return m.ExecutionPlan.model_validate(
            {**served(plan), "workspace": self.workspace_info(plan["workspaceId"]).to_wire()}
        )

    def plan_summary(self, plan_id: str) -> m.ExecutionPlanSummary:
        """A plan as a list item and as ``GET .../plans/{id}``, with its chart of steps."""
        plan = self.plan(plan_id)
        chart: m.ExecutionPlanStep | None = None
        for step in reversed(plan["steps"]):
            flows = []
            for task_id in step["taskIds"]:
                task = self.store.get("task", task_id)
                if task is not None:
                    flows.append(
                        m.ExecutionPlanTask(
                            id=task_id,
                            name=task["name"],
                            version=task["version"],
                            workspace_id=task["workspaceId"],
                            artifact=m.ArtifactRef.model_validate(task["artifact"]),
                        )
                    )
            chart = m.ExecutionPlanStep(
                id=step.get("id"),
                name=step["name"],
                flows=flows,
                task_ids=step["taskIds"],
                note=step.get("note"),
                next_step=chart,
            )
        return m.ExecutionPlanSummary(
            executable=plan["id"],
            name=plan["name"],
            workspace=self.workspace_info(plan["workspaceId"]),
            chart=chart,
        )

    def _plan_body(self, body: m.ExecutionPlanRequest, plan_id: str, old: Row | None) -> Row:
        self.workspace(body.workspace_id)
        if not body.steps:
            raise bad_request("A plan needs at least one step")
        for step in body.steps:
            if not step.task_ids:
                raise bad_request(f"Step '{step.name}' has no task")
            for task_id in step.task_ids:
                task = self.store.get("task", task_id)
                if task is None:
                    raise bad_request(f"Step '{step.name}' names unknown task {task_id}")
                if task["workspaceId"] != body.workspace_id:
                    raise bad_request(f"Task {task_id} belongs to another workspace")
        now = iso(utcnow())
        return {
            "id": plan_id,
            "name": body.name,
            "workspaceId": body.workspace_id,
            "createDate": old["createDate"] if old else now,
            "updateDate": now,
            "author": "sandbox",
            "authorType": "HUMAN",
            "steps": [
                {**step.to_wire(), "id": step.id or stable_id(plan_id, str(i))}
                for i, step in enumerate(body.steps)
            ],
        }

    def create_plan(self, body: m.ExecutionPlanRequest, *, id: str | None = None) -> m.ExecutionPlan:
        """Create a plan; its name is unique in the workspace."""
        with self.store.transaction():
            if self.store.find("plan", name=body.name, workspace_id=body.workspace_id):
                raise conflict(f"Plan '{body.name}' already exists in this workspace")
            plan_id = id or new_id()
            plan = self._plan_body(body, plan_id, None)
            self.store.put("plan", plan_id, plan, name=body.name, workspace_id=body.workspace_id,
                           environment_id=self.workspace(body.workspace_id)["environmentId"])
        return self.plan_model(plan_id)

    def replace_plan(self, plan_id: str, body: m.ExecutionPlanRequest) -> m.ExecutionPlan:
        """Full replacement of a plan's name and steps."""
        with self.store.transaction():
            old = self.plan(plan_id)
            if any(
                p["id"] != plan_id
                for p in self.store.find("plan", name=body.name, workspace_id=body.workspace_id)
            ):
                raise conflict(f"Plan '{body.name}' already exists in this workspace")
            plan = self._plan_body(body, plan_id, old)
            self.store.put("plan", plan_id, plan, name=body.name, workspace_id=body.workspace_id,
                           environment_id=self.workspace(body.workspace_id)["environmentId"])
        return self.plan_model(plan_id)

    def delete_plan(self, plan_id: str) -> None:
        """Delete a plan (its tasks stay)."""
        with self.store.transaction():
            self.plan(plan_id)
            self.store.delete("plan", plan_id)
