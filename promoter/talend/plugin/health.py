"""How a release's tasks have run on a target since a moment: Talend's task executions of the
workspace (``POST /processing/executables/tasks/executions``, by period), counted per outcome —
without downloading a log. The lifecycle gate's ``require_clean_runs`` and ``promoter status``
read it.
"""

from __future__ import annotations

from datetime import datetime

from promoter import Release, RunContext, TargetHealth, TargetRef, hookimpl
from promoter.talend.models import ExecutionStatus, TaskExecutionFilters
from promoter.talend.plugin.session import session
from promoter.talend.plugin.workspace import TASK, TalendWorkspace


def target_health(
    run: RunContext, target: TargetRef, release: Release, since: datetime
) -> TargetHealth:
    """Executions of ``release``'s tasks in ``target`` started at or after ``since``."""
    client = session(run).client
    workspace = TalendWorkspace(client, target.environment, target.workspace)
    health = TargetHealth(since=since)
    if workspace.workspace is None:
        return health
    names = {o.key for o in release.bundle.objects if o.kind == TASK}
    tasks = {t.executable: name for name, t in workspace.tasks.items() if name in names}
    executions = client.executions.search(
        TaskExecutionFilters(
            workspace_id=workspace.workspace_id, from_=int(since.timestamp() * 1000)
        )
    )
    latest_failure: tuple[datetime, dict[str, str]] | None = None
    for execution in executions:
        name = tasks.get(execution.task_id)
        started = execution.start_timestamp or execution.trigger_timestamp
        if name is None or started < since:
            continue
        if not execution.status.is_terminal:
            health.running += 1
        elif execution.status is ExecutionStatus.EXECUTION_SUCCESSFUL:
            health.successes += 1
        else:
            health.failures += 1
            if latest_failure is None or started > latest_failure[0]:
                latest_failure = (
                    started,
                    {
                        "executionId": execution.execution_id,
                        "task": name,
                        "status": execution.status.value,
                        "at": started.isoformat(timespec="seconds"),
                    },
                )
    health.last_failure = latest_failure[1] if latest_failure else None
    return health


@hookimpl(trylast=True)
def promoter_target_health(
    run: RunContext, target: TargetRef, release: Release, since: datetime
) -> TargetHealth | None:
    """The built-in Talend answer (for pipelines with an ``artifacts:`` section)."""
    if run.section("artifacts") is None:
        return None
    return target_health(run, target, release, since)
