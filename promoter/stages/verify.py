"""Verify: smoke-run the tasks the pipeline names on the target, in parallel, and check them.

For each ``verify.smoke`` entry: start the task (with its run parameters), wait for the
execution within ``timeout`` seconds (and stop it if it overruns), then check the final status
against ``expect``, the rejected rows against ``max_rejected_rows``, and the log against
``log_must_contain`` / ``log_must_not_contain`` (substrings). Each result says where to read
the execution's log. Other plugins add checks through the same ``promoter_verify`` hook.
"""

from __future__ import annotations

from typing import Any

from promoter.hookspecs import hookimpl
from promoter.pipeline import SecretRef, SmokeTest
from promoter.run import CheckResult, Plan, RunContext
from promoter.stages.session import session
from promoter.stages.workspace import TASK
from promoter.talend.errors import WaitTimeoutError
from promoter.talend.models import ExecutionStartRequest


def _parameters(run: RunContext, test: SmokeTest) -> dict[str, Any] | None:
    if not test.parameters:
        return None
    values: dict[str, Any] = {}
    for name, value in test.parameters.items():
        if isinstance(value, SecretRef):
            values[name] = run.secrets.resolve(value)
        elif isinstance(value, bool):
            values[name] = str(value).lower()
        else:
            values[name] = value
    return values


def smoke(run: RunContext, test: SmokeTest) -> CheckResult:
    """Run one smoke test and judge it."""
    talend = session(run)
    target, client = talend.target, talend.client
    name = f"smoke:{test.task}"
    summary = target.tasks.get(test.task)
    if summary is None:
        # Not in the list as apply left it: list again (someone else may have created it).
        target.forget(TASK)
        summary = target.tasks.get(test.task)
    if summary is None:
        return CheckResult(
            name=name,
            passed=False,
            message=f"task {test.task!r} does not exist in {run.target}",
            details={"hint": "check verify.smoke[].task in the pipeline file"},
        )
    run.progress("verify", TASK, test.task, "started")
    created = client.executions.start(
        ExecutionStartRequest(executable=summary.executable, parameters=_parameters(run, test))
    )
    execution_id = created.execution_id
    details: dict[str, Any] = {
        "task": test.task,
        "executionId": execution_id,
        "logs": f"promoter logs {execution_id}",
        "logsUrl": f"{client.base_url}/monitoring/executions/{execution_id}/logs",
    }
    poll = min(5.0, max(0.1, test.timeout / 200))
    try:
        execution = client.executions.wait(execution_id, timeout=test.timeout, poll_interval=poll)
    except WaitTimeoutError as exc:
        client.executions.stop(execution_id)
        run.progress("verify", TASK, test.task, "failed", "timed out")
        return CheckResult(
            name=name,
            passed=False,
            message=f"did not finish within {test.timeout:g}s (last status: {exc.last_status}); stopped",
            details=details,
        )
    status = str(execution.status)
    rejected = execution.number_of_rejected_rows or 0
    details.update(
        status=status, processedRows=execution.number_of_processed_rows, rejectedRows=rejected
    )
    problems: list[str] = []
    if status != test.expect:
        problems.append(
            f"ended {status}, expected {test.expect}"
            + (f": {execution.error_message}" if execution.error_message else "")
        )
    if test.max_rejected_rows is not None and rejected > test.max_rejected_rows:
        problems.append(f"{rejected} rows rejected, at most {test.max_rejected_rows} allowed")
    if test.log_must_contain or test.log_must_not_contain:
        lines = [entry.log_message or "" for entry in client.logs.lines(execution_id)]
        text = "\n".join(lines)
        for pattern in test.log_must_contain:
            if pattern not in text:
                problems.append(f"the log does not contain {pattern!r}")
        for pattern in test.log_must_not_contain:
            offending = next((line for line in lines if pattern in line), None)
            if offending is not None:
                problems.append(f"the log contains {pattern!r}: {run.secrets.redact(offending)}")
    run.progress(
        "verify", TASK, test.task, "failed" if problems else "done", "; ".join(problems) or status
    )
    message = "; ".join(problems) if problems else f"{status}, {rejected} rejected rows"
    return CheckResult(name=name, passed=not problems, message=message, details=details)


@hookimpl(trylast=True)
def promoter_verify(run: RunContext, plan: Plan) -> list[CheckResult]:
    """The pipeline's smoke tests, run in parallel."""
    tests = run.pipeline.verify.smoke
    if not tests:
        return []
    return session(run).client.map(
        lambda test: smoke(run, test), tests, concurrency=run.pipeline.apply.concurrency
    )
