"""Simulated task executions and their logs.

An execution is decided when it starts and then simply unfolds with the clock: it is
``dispatching`` for a while, ``executing`` for a while, then reaches its outcome. Its status and
its log are computed from the stored record and the current time, so they survive a restart and
need no background thread.

The outcome is data a scenario controls, in this order of precedence:

1. the ``SANDBOX_OUTCOME`` run parameter (``POST /processing/executions`` ``parameters``);
2. the task's ``SANDBOX_OUTCOME`` parameter;
3. the artifact version's behaviour (published through the sandbox's admin route):
   ``{"outcome": "execution_failed", "failInEnvironments": ["prod"], "rejectedRows": 3,
   "processedRows": 1000, "seconds": 2.0, "log": ["a line"]}``;
4. otherwise ``execution_successful``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from promoter.sandbox.errors import ApiError, not_found
from promoter.sandbox.estate import Estate
from promoter.sandbox.estate.rows import BEHAVIOUR_KEY, iso, utcnow
from promoter.sandbox.store import Row
from promoter.talend import models as m

OUTCOME_PARAMETER = "SANDBOX_OUTCOME"
ROWS_PARAMETER = "SANDBOX_REJECTED_ROWS"
TERMINAL = {s.value for s in m.ExecutionStatus if s.is_terminal}
ACCOUNT_ID = "sandbox-account"


class Executions:
    """Starts, stops and reports simulated task executions."""

    def __init__(self, estate: Estate, *, dispatch_seconds: float = 0.2, run_seconds: float = 0.8):
        self.estate = estate
        self.store = estate.store
        self.dispatch_seconds = dispatch_seconds
        self.run_seconds = run_seconds

    # ------------------------------------------------------------------ start / stop

    def start(self, body: m.ExecutionStartRequest, *, user: str = "sandbox") -> m.ExecutionCreated:
        """Start a task: 404 unknown task, 405 paused, 501 without run configuration."""
        with self.store.transaction():
            task = self.estate.task(body.executable)
            if (task.get("taskPauseDetails") or {}).get("pause"):
                raise ApiError(405, "Task is paused", "Resume the task before running it.")
            run_config = self.store.get("run_config", task["id"])
            if run_config is None:
                raise ApiError(
                    501, "Task has no run configuration", "PUT a run-config for the task first."
                )
            version = self.estate.artifact_version(task["artifact"]["id"], task["artifact"]["version"])
            ws = self.estate.workspace(task["workspaceId"])
            env = self.estate.environment(ws["environmentId"])
            now = utcnow()
            run_parameters = {k: str(v) for k, v in (body.parameters or {}).items()}
            outcome, processed, rejected, seconds, extra_log = self._decide(
                task, version, env["name"], run_parameters
            )
            timeout_minutes = body.timeout or run_config.get("timeout")
            misfire = None
            if not run_config.get("parallelExecutionAllowed") and self._running(task["id"], now):
                outcome, seconds, misfire = "execution_rejected", 0.0, "PARALLEL_EXECUTION_FORBIDDEN"
            if timeout_minutes and seconds > timeout_minutes * 60:
                outcome, seconds = "terminated_timeout", timeout_minutes * 60.0
            execution_id = str(uuid.uuid4())
            record: Row = {
                "executionId": execution_id,
                "taskId": task["id"],
                "taskName": task["name"],
                "taskVersion": task["version"],
                "jobId": task["artifact"]["id"],
                "jobName": task["artifact"].get("name") or version.get("name"),
                "jobVersion": task["artifact"]["version"],
                "workspaceId": ws["id"],
                "environmentId": env["id"],
                "tags": task.get("tags") or [],
                "userId": user,
                "triggerTimestamp": iso(now),
                "dispatchSeconds": 0.0 if misfire else self.dispatch_seconds,
                "runSeconds": seconds,
                "outcome": outcome,
                "processedRows": processed,
                "rejectedRows": rejected,
                "misfiredExecutionReason": misfire,
                "timeout": timeout_minutes,
                "logLevel": body.log_level or run_config.get("logLevel") or "INFO",
                "parallelExecutionAllowed": bool(run_config.get("parallelExecutionAllowed")),
                "runtime": run_config.get("runtime"),
                "connectionHosts": self._hosts(task),
                "extraLog": extra_log,
                "stoppedAt": None,
            }
            self.store.put(
                "execution", execution_id, record, parent_id=task["id"],
                workspace_id=ws["id"], environment_id=env["id"],
            )
        return m.ExecutionCreated(execution_id=execution_id)

    def stop(self, execution_id: str) -> None:
        """Stop a running execution (it ends ``terminated``); 404 unknown."""
        with self.store.transaction():
            record = self._record(execution_id)
            if self._status(record, utcnow()) not in TERMINAL:
                record["stoppedAt"] = iso(utcnow())
                self.store.put(
                    "execution", execution_id, record, parent_id=record["taskId"],
                    workspace_id=record["workspaceId"], environment_id=record["environmentId"],
                )

    # ------------------------------------------------------------------ reading

    def get(self, execution_id: str) -> m.TaskExecution:
        """``GET /processing/executions/{id}``."""
        record = self._record(execution_id)
        now = utcnow()
        status = self._status(record, now)
        started, finished = self._times(record, now)
        terminal = status in TERMINAL
        return m.TaskExecution(
            execution_id=record["executionId"],
            trigger_timestamp=_parse(record["triggerTimestamp"]),
            start_timestamp=started,
            finish_timestamp=finished if terminal else None,
            user_id=record["userId"],
            user_type="HUMAN",
            job_id=record["jobId"],
            job_version=record["jobVersion"],
            environment_version="1.3",
            execution_status=m.EXECUTION_STATUS_UPPER[m.ExecutionStatus(status)],
            execution_type="MANUAL",
            execution_destination=_destination(record),
            number_of_processed_rows=record["processedRows"] if terminal else None,
            number_of_rejected_rows=record["rejectedRows"] if terminal else None,
            account_id=ACCOUNT_ID,
            workspace_id=record["workspaceId"],
            error_message=_error_message(status, record) if terminal else None,
            error_type="JOB_ERROR" if status == "execution_failed" else None,
            timeout=record.get("timeout"),
            status=m.ExecutionStatus(status),
            misfired_execution_reason=record.get("misfiredExecutionReason"),
        )

    def summary(self, record: Row, now: datetime | None = None) -> m.TaskExecutionSummary:
        """A list item of the task-executions lists."""
        now = now or utcnow()
        status = self._status(record, now)
        started, finished = self._times(record, now)
        terminal = status in TERMINAL
        return m.TaskExecutionSummary(
            parallel_execution_allowed=record.get("parallelExecutionAllowed"),
            task_id=record["taskId"],
            task_version=record["taskVersion"],
            execution_type="MANUAL",
            status=m.ExecutionStatus(status),
            runtime=m.Runtime.model_validate(record["runtime"]) if record.get("runtime") else None,
            error_message=_error_message(status, record) if terminal else None,
            execution_status=m.EXECUTION_STATUS_UPPER[m.ExecutionStatus(status)],
            timeout=record.get("timeout"),
            execution_id=record["executionId"],
            trigger_timestamp=_parse(record["triggerTimestamp"]),
            start_timestamp=started,
            finish_timestamp=finished if terminal else None,
            user_id=record["userId"],
            user_type="HUMAN",
        )

    def search(
        self,
        *,
        task_id: str | None = None,
        environment_id: str | None = None,
        workspace_id: str | None = None,
        status: str | None = None,
        tags: list[str] | None = None,
        last_days: int | None = None,
        from_ms: int | None = None,
        to_ms: int | None = None,
    ) -> list[m.TaskExecutionSummary]:
        """Executions matching the filters, newest first."""
        now = utcnow()
        records = self.store.find(
            "execution", parent_id=task_id, environment_id=environment_id, workspace_id=workspace_id
        )
        since = now - timedelta(days=last_days) if last_days else None
        result = []
        for record in reversed(records):
            triggered = _parse(record["triggerTimestamp"])
            if since and triggered < since:
                continue
            millis = int(triggered.timestamp() * 1000)
            if from_ms is not None and millis < from_ms:
                continue
            if to_ms is not None and millis > to_ms:
                continue
            if tags and not set(tags) <= set(record.get("tags") or []):
                continue
            summary = self.summary(record, now)
            if status and summary.status != status:
                continue
            result.append(summary)
        return result

    def logs(self, execution_id: str) -> list[m.LogEntry]:
        """Every log line written so far, oldest first (a running execution has a partial log)."""
        record = self._record(execution_id)
        now = utcnow()
        triggered = _parse(record["triggerTimestamp"])
        started = triggered + timedelta(seconds=record["dispatchSeconds"])
        status = self._status(record, now)
        end = self._end(record)
        lines: list[tuple[datetime, str, str]] = [
            (triggered, "INFO", f"Execution {execution_id} dispatched for task '{record['taskName']}'"),
        ]
        if record.get("misfiredExecutionReason"):
            lines.append((triggered, "WARN", f"Execution rejected: {record['misfiredExecutionReason']}"))
        else:
            lines.append((started, "INFO", f"Starting job {record['jobName']} version {record['jobVersion']}"))
            for app, host in sorted(record.get("connectionHosts", {}).items()):
                lines.append((started, "INFO", f"Connecting to {app} at {host}"))
            span = max(end - started, timedelta(0))
            for i, text in enumerate(record.get("extraLog") or []):
                lines.append((started + span * (i + 1) / (len(record["extraLog"]) + 2), "INFO", text))
            for i in range(1, 4):
                done = record["processedRows"] * i // 4
                lines.append((started + span * i / 4, "INFO", f"Processed {done} rows"))
            if record["rejectedRows"]:
                lines.append((started + span * 3 / 4, "WARN", f"{record['rejectedRows']} rows rejected"))
            if status in TERMINAL:
                if status == "execution_successful":
                    lines.append((end, "INFO", f"Job finished: {record['processedRows']} rows processed, {record['rejectedRows']} rejected"))
                else:
                    lines.append((end, "ERROR", _error_message(status, record) or status))
        return [
            m.LogEntry(
                severity=severity,
                log_type="USER",
                log_timestamp=int(moment.timestamp() * 1000),
                log_message=text,
                bundle_name=record["jobName"],
                bundle_version=record["jobVersion"],
                pod_name="sandbox-engine-0",
            )
            for moment, severity, text in sorted(lines, key=lambda line: line[0])
            if moment <= now
        ]

    def delete_logs(self, execution_id: str) -> None:
        """Forget an execution's extra log lines (its generated lines stay reproducible)."""
        record = self._record(execution_id)
        record["extraLog"] = []
        self.store.put(
            "execution", execution_id, record, parent_id=record["taskId"],
            workspace_id=record["workspaceId"], environment_id=record["environmentId"],
        )

    # ------------------------------------------------------------------ internals

    def _record(self, execution_id: str) -> Row:
        record = self.store.get("execution", execution_id)
        if record is None:
            raise not_found("Execution", execution_id)
        return record

    def _decide(
        self, task: Row, version: Row, env_name: str, run_parameters: dict[str, str]
    ) -> tuple[str, int, int, float, list[str]]:
        behaviour: dict[str, Any] = version.get(BEHAVIOUR_KEY) or {}
        task_parameters = task.get("parameters") or {}
        outcome = run_parameters.get(OUTCOME_PARAMETER) or task_parameters.get(OUTCOME_PARAMETER)
        if not outcome:
            fail_in = behaviour.get("failInEnvironments")
            if fail_in is not None:
                outcome = "execution_failed" if env_name in fail_in else "execution_successful"
            else:
                outcome = behaviour.get("outcome") or "execution_successful"
        if outcome not in TERMINAL:
            outcome = "execution_failed"
        rejected_text = run_parameters.get(ROWS_PARAMETER) or task_parameters.get(ROWS_PARAMETER)
        rejected = int(rejected_text) if rejected_text and rejected_text.isdecimal() else int(behaviour.get("rejectedRows", 0))
        processed = int(behaviour.get("processedRows", 1000))
        seconds = float(behaviour.get("seconds", self.run_seconds))
        return outcome, processed, rejected, seconds, list(behaviour.get("log") or [])

    def _hosts(self, task: Row) -> dict[str, str]:
        hosts = {}
        for app, connection_id in (task.get("connections") or {}).items():
            connection = self.store.get("connection", connection_id)
            if connection is None:
                continue
            for parameter in connection["parameters"]:
                if parameter["name"] in ("host", "url", "endpoint") and not parameter.get("encrypted"):
                    hosts[app] = parameter.get("value") or ""
        return hosts

    def _running(self, task_id: str, now: datetime) -> bool:
        return any(
            self._status(record, now) not in TERMINAL
            for record in self.store.find("execution", parent_id=task_id)
        )

    def _end(self, record: Row) -> datetime:
        triggered = _parse(record["triggerTimestamp"])
        natural = triggered + timedelta(seconds=record["dispatchSeconds"] + record["runSeconds"])
        if record.get("stoppedAt"):
            return min(natural, _parse(record["stoppedAt"]))
        return natural

    def _times(self, record: Row, now: datetime) -> tuple[datetime | None, datetime]:
        triggered = _parse(record["triggerTimestamp"])
        started = triggered + timedelta(seconds=record["dispatchSeconds"])
        return (started if now >= started else None), self._end(record)

    def _status(self, record: Row, now: datetime) -> str:
        triggered = _parse(record["triggerTimestamp"])
        stopped = _parse(record["stoppedAt"]) if record.get("stoppedAt") else None
        natural_end = triggered + timedelta(seconds=record["dispatchSeconds"] + record["runSeconds"])
        if stopped is not None and stopped < natural_end:
            return "terminated" if now >= stopped else "executing"
        if now >= natural_end:
            return str(record["outcome"])
        if now >= triggered + timedelta(seconds=record["dispatchSeconds"]):
            return "executing"
        return "dispatching"


def _destination(record: Row) -> Any:
    runtime_type = (record.get("runtime") or {}).get("type")
    return runtime_type if runtime_type in _DESTINATIONS else "CLOUD"


_DESTINATIONS = {"CLOUD", "CLOUD_EXCLUSIVE", "REMOTE_ENGINE", "REMOTE_ENGINE_CLUSTER"}


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _error_message(status: str, record: Row) -> str | None:
    if status == "execution_successful":
        return None
    if record.get("misfiredExecutionReason"):
        return f"Execution rejected: {record['misfiredExecutionReason']}"
    return {
        "execution_failed": f"Job {record['jobName']} failed: tDie reached in component tRunJob_1",
        "terminated": "Execution terminated by user request",
        "terminated_timeout": "Execution exceeded its timeout",
        "deploy_failed": "Deployment of the artifact failed",
        "execution_rejected": "Execution rejected by the engine",
    }.get(status, status)
