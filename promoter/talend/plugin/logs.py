"""An execution's log, a page at a time, for ``promoter dashboard``: Talend's
``GET /monitoring/executions/{id}/logs`` (``startIndex``/``count``, oldest line first), as the
platform-neutral page ``promoter_execution_log`` returns.

Log lines are Talend data — whoever can edit a job writes them: they are passed on as they are,
and whoever shows them escapes them (the dashboard HTML-escapes every line, and never renders
one as a template).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from promoter import RunContext, hookimpl
from promoter.talend.plugin.session import session
from promoter.talend.resources.executions import LogsAPI


def log_time(epoch_ms: int | None) -> str | None:
    """A log line's time (epoch milliseconds) as ISO 8601 UTC with milliseconds and a ``Z``."""
    if epoch_ms is None:
        return None
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def execution_log(run: RunContext, execution_id: str, start: int, count: int) -> dict[str, Any]:
    """One page of the log of ``execution_id``: ``count`` lines (at most Talend's 200) from
    line ``start``."""
    client = session(run).client
    start = max(0, start)
    page = client.logs.page(
        execution_id,
        start_index=start,
        count=max(1, min(count, LogsAPI.MAX_COUNT)),
        order="ASC",
    )
    following = page.next_index
    if following is not None and (following <= start or not page.data):
        following = None  # no progress: the last page, whatever the server says
    return {
        "lines": [
            {
                "at": log_time(entry.log_timestamp),
                "severity": (entry.severity or "").upper() or None,
                "message": entry.log_message or "",
            }
            for entry in page.data
        ],
        "total": page.total_size,
        "next": following,
    }


@hookimpl(trylast=True)
def promoter_execution_log(
    run: RunContext, execution_id: str, start: int, count: int
) -> dict[str, Any] | None:
    """The built-in Talend answer (for pipelines with an ``artifacts:`` section)."""
    if run.section("artifacts") is None:
        return None
    return execution_log(run, execution_id, start, count)
