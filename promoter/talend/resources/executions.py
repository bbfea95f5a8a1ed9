"""Task executions: start (never twice), status, waiting through a busy API, stop; their logs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any, Literal

from promoter.talend.errors import NotFound, TalendError, WaitTimeoutError
from promoter.talend.models import (
    ExecutionCreated,
    ExecutionStartRequest,
    ExecutionStatus,
    LogEntry,
    LogPage,
    Page,
    TaskExecution,
    TaskExecutionFilters,
    TaskExecutionSummary,
)
from promoter.talend.paging import MAX_PAGE_SIZE, Paginator
from promoter.talend.resources.base import (
    START_TIME_TOLERANCE,
    Resource,
    aware,
    nothing,
    one,
    page_of,
    paginator,
    poll_failure,
)
from promoter.talend.transport import Transport


class ExecutionsAPI(Resource):
    """Task executions (``/processing``): start, follow, stop, list and search."""

    START = "/processing/executions"
    ONE = START + "/{executionId}"
    FOR_TASK = "/processing/executables/tasks/{taskId}/executions"
    SEARCH = "/processing/executables/tasks/executions"

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        self._claimed_lock = threading.Lock()
        self._claimed: set[str] = set()

    def start(self, request: ExecutionStartRequest) -> ExecutionCreated:
        """Start a task. Never starts it twice.

        After an ambiguous failure (5xx, dropped connection, timeout) the task's executions
        triggered since the call began are looked up; one this client has not already accounted
        for is taken as the outcome, and the start is sent again only when there is none.
        """
        since = self._t.server_time() - START_TIME_TOLERANCE
        task_id = request.executable

        def lookup() -> ExecutionCreated | None:
            candidates = [
                item
                for item in self.list_for_task(task_id, from_=int(since * 1000))
                if aware(item.trigger_timestamp).timestamp() >= since
            ]
            candidates.sort(key=lambda item: aware(item.trigger_timestamp))
            with self._claimed_lock:
                for item in candidates:
                    if item.execution_id not in self._claimed:
                        self._claimed.add(item.execution_id)
                        return ExecutionCreated(execution_id=item.execution_id)
            return None

        created = self._t.call(
            "POST", self.START, json=request.to_wire(), parse=one(ExecutionCreated), reconcile=lookup
        )
        with self._claimed_lock:
            self._claimed.add(created.execution_id)
        return created

    def get(self, execution_id: str) -> TaskExecution:
        """An execution's status and details."""
        return self._t.call(
            "GET", self.ONE, path_params={"executionId": execution_id}, parse=one(TaskExecution)
        )

    def wait(
        self,
        execution_id: str,
        *,
        timeout: float = 3600.0,
        poll_interval: float = 2.0,
        not_found_grace: float = 10.0,
        first_poll: float = 0.0,
        poll_growth: float = 0.0,
        running_for: float = 0.0,
    ) -> TaskExecution:
        """Poll an execution until it ends; its final state (successful or not).

        The first poll goes out after ``first_poll`` seconds (an execution just started is not
        over yet). Then every ``poll_interval`` seconds — or, with ``poll_growth``, every
        ``poll_growth`` times the time it has run so far (``running_for`` when the wait begins)
        when that is shorter: a short execution is seen ending soon after it ends, a long one
        costs few polls.

        A 404 during the first ``not_found_grace`` seconds is waited out: for routes and data
        services Talend answers with a deploy receipt that is not readable at once. Polls that
        fail transiently (429, 5xx, no answer) even after the client's retries are waited out
        until ``timeout``: they say nothing about the execution, and must not fail a check.
        """
        what = f"execution {execution_id}"
        started = time.monotonic()
        deadline = started + timeout
        last: ExecutionStatus | None = None
        problem: str | None = None
        if first_poll > 0:
            time.sleep(min(first_poll, timeout))
        while True:
            pause = poll_interval
            if poll_growth > 0:
                ran = running_for + time.monotonic() - started
                pause = min(poll_interval, max(0.05, poll_growth * ran))
            try:
                execution = self.get(execution_id)
            except NotFound:
                if time.monotonic() - started > not_found_grace:
                    raise
            except TalendError as exc:
                pause, problem = poll_failure(what, exc, poll_interval), exc.message
            else:
                if execution.status.is_terminal:
                    return execution
                last, problem = execution.status, None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitTimeoutError(what, timeout, last, last_error=problem)
            time.sleep(min(pause, remaining))

    def run(
        self, request: ExecutionStartRequest, *, timeout: float = 3600.0, poll_interval: float = 2.0
    ) -> TaskExecution:
        """Start a task and wait for the execution to end."""
        created = self.start(request)
        return self.wait(created.execution_id, timeout=timeout, poll_interval=poll_interval)

    def stop(self, execution_id: str) -> None:
        """Terminate a running execution."""
        self._t.call("DELETE", self.ONE, path_params={"executionId": execution_id}, parse=nothing)

    def list_for_task(
        self,
        task_id: str,
        *,
        status: ExecutionStatus | str | None = None,
        last_days: int | None = None,
        from_: int | None = None,
        to: int | None = None,
        limit: int = MAX_PAGE_SIZE,
    ) -> Paginator[TaskExecutionSummary]:
        """A task's executions; ``from_``/``to`` are epoch milliseconds, ``last_days`` at most 60."""
        params: dict[str, Any] = {
            "status": str(status) if status is not None else None,
            "lastDays": last_days,
            "from": from_,
            "to": to,
        }
        return paginator(
            self._t, self.FOR_TASK, params, TaskExecutionSummary, limit, path_params={"taskId": task_id}
        )

    def search(self, filters: TaskExecutionFilters | None = None) -> Paginator[TaskExecutionSummary]:
        """Executions of all tasks matching ``filters`` (environment, workspace, status, tags...)."""
        base = filters if filters is not None else TaskExecutionFilters()
        parse = page_of(TaskExecutionSummary)

        def fetch(offset: int, limit: int) -> Page[TaskExecutionSummary]:
            body = base.model_copy(update={"offset": offset, "limit": limit}).to_wire()
            return self._t.call("POST", self.SEARCH, json=body, parse=parse, idempotent=True)

        return Paginator(fetch, limit=base.limit or MAX_PAGE_SIZE)


class LogsAPI(Resource):
    """Execution logs (``/monitoring/executions/{id}/logs``), paged by ``startIndex``/``nextIndex``."""

    PATH = "/monitoring/executions/{id}/logs"
    MAX_COUNT = 200

    def page(
        self,
        execution_id: str,
        *,
        start_index: int = 0,
        count: int = MAX_COUNT,
        order: Literal["ASC", "DESC"] = "ASC",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> LogPage:
        """One page of log lines (``count`` at most 200)."""
        if not 1 <= count <= self.MAX_COUNT:
            raise ValueError(f"count must be between 1 and {self.MAX_COUNT}, not {count}")
        params: dict[str, Any] = {
            "startIndex": start_index,
            "count": count,
            "order": order,
            "startTime": start_time.isoformat() if start_time else None,
            "endTime": end_time.isoformat() if end_time else None,
        }
        return self._t.call("GET", self.PATH, path_params={"id": execution_id}, params=params, parse=one(LogPage))

    def pages(
        self,
        execution_id: str,
        *,
        count: int = MAX_COUNT,
        order: Literal["ASC", "DESC"] = "ASC",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> Iterator[LogPage]:
        """Every page of the log, following ``nextIndex`` until the server gives none."""
        index = 0
        while True:
            page = self.page(
                execution_id,
                start_index=index,
                count=count,
                order=order,
                start_time=start_time,
                end_time=end_time,
            )
            yield page
            if page.next_index is None or not page.data or page.next_index <= index:
                return
            index = page.next_index

    def lines(
        self,
        execution_id: str,
        *,
        count: int = MAX_COUNT,
        order: Literal["ASC", "DESC"] = "ASC",
        start_time: datetime | None = None,
        end_time: datetime | None = None,
    ) -> Iterator[LogEntry]:
        """Every line of an execution's log, oldest first by default."""
        for page in self.pages(
            execution_id, count=count, order=order, start_time=start_time, end_time=end_time
        ):
            yield from page.data
