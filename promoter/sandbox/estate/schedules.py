"""Schedules of an environment and the binding of a task to one of them."""

from __future__ import annotations

from promoter.sandbox.errors import ApiError, bad_request, conflict, not_found
from promoter.sandbox.estate.rows import new_id
from promoter.sandbox.estate.tasks import Tasks
from promoter.sandbox.store import Row
from promoter.talend import models as m


class Schedules(Tasks):
    """Schedules, and which task (at most one per schedule) each is bound to."""

    # ------------------------------------------------------------------ schedules

    def schedule(self, schedule_id: str) -> Row:
        """A stored schedule, or 404."""
        schedule = self.store.get("schedule", schedule_id)
        if schedule is None:
            raise not_found("Schedule", schedule_id)
        return schedule

    def schedule_model(self, schedule_id: str) -> m.Schedule:
        """A schedule, with the executable bound to it if any."""
        schedule = self.schedule(schedule_id)
        bound = self.store.find("task_schedule", parent_id=schedule_id)
        extra = {"executableId": bound[0]["taskId"], "executableType": "TASK"} if bound else {}
        return m.Schedule.model_validate({**schedule, **extra})

    def create_schedule(self, body: m.ScheduleCreateRequest, *, id: str | None = None) -> str:
        """Create a schedule in an environment."""
        with self.store.transaction():
            self.environment(body.environment_id)
            schedule_id = id or new_id()
            schedule = {
                "id": schedule_id,
                "environmentId": body.environment_id,
                "description": body.description,
                "triggers": [body.trigger.to_wire()],
            }
            self.store.put("schedule", schedule_id, schedule, environment_id=body.environment_id)
        return schedule_id

    def delete_schedule(self, schedule_id: str) -> None:
        """Delete a schedule; 409 while a task is bound to it."""
        with self.store.transaction():
            self.schedule(schedule_id)
            if self.store.find("task_schedule", parent_id=schedule_id):
                raise conflict("Schedule is bound to a task", "Unlink it from the task first.")
            self.store.delete("schedule", schedule_id)

    def task_schedule(self, task_id: str) -> m.Schedule:
        """The schedule a task is bound to; 404 when it has none."""
        self.task(task_id)
        binding = self.store.get("task_schedule", task_id)
        if binding is None:
            raise ApiError(404, "Task has no schedule")
        return self.schedule_model(binding["scheduleId"])

    def bind_task_schedule(self, task_id: str, schedule_id: str) -> None:
        """Bind a task to a schedule of its environment."""
        with self.store.transaction():
            task = self.task(task_id)
            schedule = self.schedule(schedule_id)
            env_id = self.workspace(task["workspaceId"])["environmentId"]
            if schedule["environmentId"] != env_id:
                raise bad_request("The schedule belongs to another environment")
            self.store.put(
                "task_schedule", task_id, {"taskId": task_id, "scheduleId": schedule_id},
                parent_id=schedule_id, workspace_id=task["workspaceId"],
            )

    def unbind_task_schedule(self, task_id: str) -> None:
        """Remove a task's schedule binding."""
        self.task(task_id)
        if not self.store.delete("task_schedule", task_id):
            raise ApiError(404, "Task has no schedule")
