"""Execution plans (Talend's plans: tasks chained step by step)."""

from __future__ import annotations

from typing import Any

import httpx

from promoter.talend.models import ExecutionPlan, ExecutionPlanRequest, ExecutionPlanSummary
from promoter.talend.paging import MAX_PAGE_SIZE, Paginator
from promoter.talend.resources.base import (
    Resource,
    matching,
    nothing,
    one,
    paginator,
    plan_task_ids,
)


class PlansAPI(Resource):
    """Plans (``/orchestration/executables/plans``): tasks chained in steps."""

    PATH = "/orchestration/executables/plans"
    ONE = PATH + "/{planId}"

    def list(
        self,
        *,
        environment_id: str | None = None,
        workspace_id: str | None = None,
        name: str | None = None,
        task_id: str | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[ExecutionPlanSummary]:
        """Plan list items (``executable`` is the id), filtered."""
        params: dict[str, Any] = {
            "environmentId": environment_id,
            "workspaceId": workspace_id,
            "name": name,
            "taskId": task_id,
        }
        return paginator(self._t, self.PATH, params, ExecutionPlanSummary, limit)

    def get(self, plan_id: str) -> ExecutionPlanSummary:
        """One plan, with its chart."""
        return self._t.call("GET", self.ONE, path_params={"planId": plan_id}, parse=one(ExecutionPlanSummary))

    def find(self, name: str, *, workspace_id: str) -> ExecutionPlanSummary | None:
        """The plan called exactly ``name`` in a workspace, or ``None``."""
        for item in self.list(name=name, workspace_id=workspace_id):
            if item.name == name:
                return item
        return None

    def create(self, request: ExecutionPlanRequest) -> ExecutionPlanSummary:
        """Create a plan; returns it in the list form (the id is ``executable``), without chart.

        After an ambiguous failure, the plan is looked up by name first.
        """
        return self._t.call(
            "POST",
            self.PATH,
            json=request.to_wire(),
            parse=_plan_summary,
            reconcile=lambda: _short(
                matching(
                    self.find(request.name, workspace_id=request.workspace_id),
                    lambda plan: plan_task_ids(plan) == {t for step in request.steps for t in step.task_ids},
                )
            ),
        )

    def replace(self, plan_id: str, request: ExecutionPlanRequest) -> ExecutionPlan:
        """Replace a plan whole."""
        return self._t.call(
            "PUT", self.ONE, path_params={"planId": plan_id}, json=request.to_wire(), parse=one(ExecutionPlan)
        )

    def delete(self, plan_id: str) -> None:
        """Delete a plan."""
        self._t.call("DELETE", self.ONE, path_params={"planId": plan_id}, parse=nothing)


def _plan_summary(response: httpx.Response) -> ExecutionPlanSummary:
    """The list form of the plan a create answers (without the chart, which it lacks)."""
    plan = ExecutionPlan.model_validate(response.json())
    return ExecutionPlanSummary(executable=plan.id, name=plan.name, workspace=plan.workspace)


def _short(found: ExecutionPlanSummary | None) -> ExecutionPlanSummary | None:
    """A listed plan as :func:`_plan_summary` makes it, so that both ways answer the same."""
    if found is None:
        return None
    return ExecutionPlanSummary(executable=found.executable, name=found.name, workspace=found.workspace)
