"""Schedules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from promoter.talend.models import Schedule, ScheduleCreated, ScheduleCreateRequest
from promoter.talend.paging import MAX_PAGE_SIZE, Paginator
from promoter.talend.resources.base import Resource, nothing, one, paginator


class SchedulesAPI(Resource):
    """Reusable schedules (``/orchestration/schedules``) that tasks and plans are bound to."""

    PATH = "/orchestration/schedules"
    ONE = PATH + "/{scheduleId}"

    def list(
        self,
        *,
        environment_id: str | None = None,
        description_filter: str | None = None,
        only_bound: bool | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[Schedule]:
        """Schedules, filtered (``description_filter`` is a regular expression)."""
        params: dict[str, Any] = {
            "environmentId": environment_id,
            "descriptionFilter": description_filter,
            "onlyBound": None if only_bound is None else str(only_bound).lower(),
        }
        return paginator(self._t, self.PATH, params, Schedule, limit)

    def get(self, schedule_id: str) -> Schedule:
        """One schedule."""
        return self._t.call("GET", self.ONE, path_params={"scheduleId": schedule_id}, parse=one(Schedule))

    def create(self, request: ScheduleCreateRequest) -> ScheduleCreated:
        """Create a schedule.

        Schedules have no name: after an ambiguous failure the schedule is looked up by its
        description and trigger name, so give each schedule a unique description — without one a
        dropped connection raises :class:`~promoter.talend.errors.AmbiguousOutcomeError`.
        """
        reconcile: Callable[[], ScheduleCreated | None] | None = None
        description = request.description
        if description:

            def lookup() -> ScheduleCreated | None:
                for schedule in self.list(environment_id=request.environment_id):
                    triggers = [t.name for t in schedule.triggers or []]
                    if schedule.description == description and request.trigger.name in triggers:
                        return ScheduleCreated(id=schedule.id)
                return None

            reconcile = lookup
        return self._t.call(
            "POST", self.PATH, json=request.to_wire(), parse=one(ScheduleCreated), reconcile=reconcile
        )

    def delete(self, schedule_id: str) -> None:
        """Delete a schedule."""
        self._t.call("DELETE", self.ONE, path_params={"scheduleId": schedule_id}, parse=nothing)
