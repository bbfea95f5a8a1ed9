"""Schedules and their bindings to tasks."""

from __future__ import annotations

from typing import Any, Literal

from promoter.talend.models.base import RequestModel, WireModel

__all__ = ["Schedule", "ScheduleCreateRequest", "ScheduleCreated", "ScheduleTrigger", "TaskScheduleBinding"]

class ScheduleTrigger(WireModel):
    """``ScheduleTrigger``."""

    name: str
    type: Literal["ONCE", "DAILY", "WEEKLY", "MONTHLY", "CRON"]
    interval: int | None = None
    start_date: str | None = None
    start_time: str | None = None
    time_zone: str | None = None
    at_times: dict[str, Any] | None = None
    at_days: dict[str, Any] | None = None
    cron_expression: str | None = None
    timeout: int | None = None


class Schedule(WireModel):
    """``Schedule``: a reusable schedule a task or plan can be bound to."""

    id: str
    triggers: list[ScheduleTrigger] | None = None
    environment_id: str
    executable_id: str | None = None
    executable_type: str | None = None
    description: str | None = None


class ScheduleCreateRequest(RequestModel):
    """Body of ``POST /orchestration/schedules``."""

    environment_id: str
    trigger: ScheduleTrigger
    description: str | None = None


class ScheduleCreated(WireModel):
    """Answer of ``POST /orchestration/schedules``."""

    id: str


class TaskScheduleBinding(RequestModel):
    """Body of ``PUT /orchestration/executables/tasks/{taskId}/schedule``."""

    schedule_id: str
