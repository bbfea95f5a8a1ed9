"""Verify: smoke-run the tasks the pipeline names on the target, in parallel, and check them.

For each ``verify.smoke`` entry: start the task (with its run parameters), wait for the
execution within ``timeout`` seconds (and stop it if it overruns), then check the final status
against ``expect``, the rejected rows against ``max_rejected_rows``, and the log against
``log_must_contain`` / ``log_must_not_contain`` (substrings). Each result says where to read
the execution's log. Other plugins add checks through the same ``promoter_verify`` hook.

A smoke task that apply writes is started by apply as soon as it is written and its write checked
(:func:`start_early`): the execution runs while apply goes on, and this stage waits for it and
judges it. Polls begin a second after the start and then come every quarter of the time the
execution has run (at most ``timeout / 200`` seconds apart, 5 s at most): a short run is seen
ending soon after it ends, a long one costs few requests.

Every smoke task is started once per run, also across a crash. Its execution id is in the
ledger before the stage waits for it (the ``started`` progress event's ``data``), and a resumed
run adopts it from :attr:`~promoter.model.RunContext.earlier`: a running execution is waited for,
a finished one judged, neither started again (a second start would be refused by a task that
forbids parallel executions, and the healthy release rolled back). The one gap — Talend accepted
the start, the process died before the ledger recorded the id — is closed by asking Talend: when
the interrupted attempt had begun starting the task (a ``started`` event without an id), the
task's executions triggered by hand since then are looked up and the latest is adopted. Such a
lookup can only mistake for ours a run of the same task that someone started by hand in the
time between that event and the resume (the target was locked: no other promotion ran).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from promoter import CheckResult, ObjectStatus, Plan, RunContext, hookimpl
from promoter.pipeline import SecretRef
from promoter.talend.client import TalendClient
from promoter.talend.errors import NotFound, WaitTimeoutError
from promoter.talend.models import ExecutionStartRequest
from promoter.talend.plugin.evidence import failure_evidence
from promoter.talend.plugin.sections import SmokeTest, config
from promoter.talend.plugin.session import session
from promoter.talend.plugin.workspace import TASK
from promoter.talend.resources import START_TIME_TOLERANCE

EXECUTION_ID = "executionId"
"""The key of a smoke execution's id in its progress events' ``data``."""

LOOKUP_TOLERANCE = START_TIME_TOLERANCE
"""Seconds before the interrupted attempt's ``started`` event from which a lookup of the task's
executions begins: what remains of the clock difference with Talend once its ``Date`` headers
are accounted for (as for the client's own look-up after an ambiguous start)."""


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


def _epoch(moment: datetime) -> float:
    """Epoch seconds of a Talend time stamp (one without a zone is UTC)."""
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


@dataclass(frozen=True)
class SmokeExecution:
    """The execution a smoke test judges: its id, since when it runs, and how it was found."""

    execution_id: str
    began: float
    """When the run started it (epoch seconds, this host's clock): its timeout counts from then."""
    adopted: str | None = None
    """Why an earlier attempt's execution was taken up (``None``: started by this attempt)."""


def adopt_earlier(
    run: RunContext, client: TalendClient, task: str, task_id: str
) -> SmokeExecution | None:
    """The execution an interrupted attempt of this run started for ``task``, if any.

    Recorded in the ledger (and still known to Talend), or, when the attempt died between
    starting it and recording it, found among the task's executions triggered since then.
    """
    events = run.earlier.of("verify", TASK, task)
    if not events:
        return None
    recorded = run.earlier.data("verify", TASK, task).get(EXECUTION_ID)
    if isinstance(recorded, str):
        began = next(e.at for e in events if e.data.get(EXECUTION_ID) == recorded).timestamp()
        try:
            client.executions.get(recorded)
        except NotFound:
            pass  # Talend forgot it (resumed days later): start a new one
        else:
            return SmokeExecution(recorded, began, "recorded by the interrupted attempt")
    starting = [e for e in events if e.status is ObjectStatus.STARTED and not e.data]
    if not starting:
        return None
    since = starting[0].at.timestamp()
    clock_offset = client.transport.server_time() - time.time()
    found = [
        item
        for item in client.executions.list_for_task(
            task_id, from_=int((since + clock_offset - LOOKUP_TOLERANCE) * 1000)
        )
        # Ours was started by hand (not by a schedule, a plan or a webhook), after the event.
        if item.execution_type == "MANUAL"
        and _epoch(item.trigger_timestamp) - clock_offset >= since - LOOKUP_TOLERANCE
    ]
    if not found:
        return None
    latest = max(found, key=lambda item: _epoch(item.trigger_timestamp))
    return SmokeExecution(
        latest.execution_id, since, "started by the interrupted attempt, found in Talend"
    )


EARLY_KEY = "talend_smoke_started"
"""``run.state`` key: the smoke executions apply started (or failed to start) as soon as their
task was written, by the index of their test in ``verify.smoke``."""


def smoke_tests_by_task(run: RunContext) -> dict[str, list[int]]:
    """The indexes of the pipeline's smoke tests, by the task they run."""
    found: dict[str, list[int]] = {}
    for index, test in enumerate(config(run).verify.smoke):
        found.setdefault(test.task, []).append(index)
    return found


def start_smoke(run: RunContext, client: TalendClient, test: SmokeTest, task_id: str) -> SmokeExecution:
    """Start one smoke test's execution, recorded in the ledger before and after the start."""
    # Recorded before the start: a run that lost its lock stops here (the ledger refuses
    # the write), and a resume knows to look for an execution this start may have made.
    run.progress("verify", TASK, test.task, "started")
    created = client.executions.start(
        ExecutionStartRequest(executable=task_id, parameters=_parameters(run, test))
    )
    ours = SmokeExecution(created.execution_id, time.time())
    # Durable before the wait: a crash from here on leaves the id for `promoter resume`.
    run.progress(
        "verify",
        TASK,
        test.task,
        "started",
        f"execution {ours.execution_id}",
        data={EXECUTION_ID: ours.execution_id},
    )
    return ours


def start_early(run: RunContext, client: TalendClient, task: str, task_id: str) -> None:
    """Start the smoke tests of ``task`` now that apply wrote it (apply calls this), so that they
    run while apply goes on; verify waits for them and judges them. A start that fails is kept
    and raised by verify, as if verify had started it."""
    early: dict[int, SmokeExecution | BaseException] = run.state.setdefault(EARLY_KEY, {})
    tests = config(run).verify.smoke
    for index in smoke_tests_by_task(run).get(task, []):
        try:
            early[index] = start_smoke(run, client, tests[index], task_id)
        except Exception as exc:  # verify reports it, in its place
            early[index] = exc


def stop_early(run: RunContext, client: TalendClient, why: str) -> None:
    """Stop the smoke executions apply started (apply failed: the target is rolled back)."""
    early: dict[int, SmokeExecution | BaseException] = run.state.pop(EARLY_KEY, {})
    tests = config(run).verify.smoke
    for index, started in early.items():
        if isinstance(started, SmokeExecution):
            try:
                client.executions.stop(started.execution_id)
                run.progress("verify", TASK, tests[index].task, "failed", why,
                             data={EXECUTION_ID: started.execution_id})
            except Exception:  # best effort: the rollback that follows matters more
                continue


def smoke(run: RunContext, test: SmokeTest, index: int | None = None) -> CheckResult:
    """Run one smoke test (or take up the one apply or an interrupted attempt started) and
    judge it."""
    talend = session(run)
    target, client = talend.target, talend.client
    name = f"smoke:{test.task}"
    early: dict[int, SmokeExecution | BaseException] = run.state.get(EARLY_KEY, {})
    started = early.pop(index, None) if index is not None else None
    if isinstance(started, BaseException):
        raise started
    if started is not None:
        return judge(run, client, test, started)
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
    ours = adopt_earlier(run, client, test.task, summary.executable) if run.resumed else None
    if ours is None:
        ours = start_smoke(run, client, test, summary.executable)
    else:
        # Durable before the wait: a crash from here on leaves the id for `promoter resume`.
        run.progress(
            "verify",
            TASK,
            test.task,
            "started",
            f"execution {ours.execution_id} adopted: {ours.adopted}",
            data={EXECUTION_ID: ours.execution_id},
        )
    return judge(run, client, test, ours)


#: When the first poll of a smoke execution goes out (seconds after its start): no Talend job
#: ends sooner, and every poll before it would be a request spent on "still running".
FIRST_POLL_SECONDS = 1.0

#: Later polls come every quarter of the time the execution has run, at most ``timeout / 200``
#: seconds (and 5 s) apart: a 1-second run is seen ending within a quarter second, a 5-minute
#: one costs a poll every 5 s.
POLL_GROWTH = 0.25


def judge(run: RunContext, client: TalendClient, test: SmokeTest, ours: SmokeExecution) -> CheckResult:
    """Wait for a smoke execution (within the test's timeout, counted from its start) and
    judge it."""
    name = f"smoke:{test.task}"
    execution_id = ours.execution_id
    data = {EXECUTION_ID: execution_id}
    details: dict[str, Any] = {
        "task": test.task,
        "executionId": execution_id,
        "logs": f"promoter logs {execution_id}",
        "logsUrl": f"{client.base_url}/monitoring/executions/{execution_id}/logs",
    }
    if ours.adopted:
        details["adopted"] = ours.adopted
    poll = min(5.0, max(0.1, test.timeout / 200))
    elapsed = time.time() - ours.began
    remaining = max(0.0, test.timeout - elapsed)
    try:
        execution = client.executions.wait(
            execution_id,
            timeout=remaining,
            poll_interval=poll,
            first_poll=max(0.0, min(FIRST_POLL_SECONDS, test.timeout) - elapsed),
            poll_growth=POLL_GROWTH,
            running_for=max(0.0, elapsed),
        )
    except WaitTimeoutError as exc:
        client.executions.stop(execution_id)
        details.update(failure_evidence(client, execution_id, redact=run.secrets.redact))
        run.progress("verify", TASK, test.task, "failed", "timed out", data=data)
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
    if problems:  # the evidence on-call reads first: the execution's last ERROR lines
        details.update(failure_evidence(client, execution_id, redact=run.secrets.redact))
    run.progress(
        "verify",
        TASK,
        test.task,
        "failed" if problems else "done",
        "; ".join(problems) or status,
        data=data,
    )
    message = "; ".join(problems) if problems else f"{status}, {rejected} rejected rows"
    return CheckResult(name=name, passed=not problems, message=message, details=details)


@hookimpl(trylast=True)
def promoter_verify(run: RunContext, plan: Plan) -> list[CheckResult]:
    """The pipeline's smoke tests, run in parallel."""
    tests = config(run).verify.smoke
    if not tests:
        return []
    return session(run).client.map(
        lambda item: smoke(run, item[1], item[0]),
        list(enumerate(tests)),
        concurrency=config(run).apply.concurrency,
    )
