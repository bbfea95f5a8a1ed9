"""Talend's ``/monitoring`` family: the log of an execution, a page at a time."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from promoter.sandbox.errors import bad_request
from promoter.sandbox.routes.wire import sandbox_of, wire
from promoter.talend import models as m

router = APIRouter(prefix="/monitoring")


def _logs(
    request: Request, id: str, count: int, startIndex: int, order: str,
    startTime: str | None, endTime: str | None,
) -> Response:
    entries = sandbox_of(request).executions.logs(id)
    total = len(entries)
    start_ms, end_ms = _epoch_ms(startTime, "startTime"), _epoch_ms(endTime, "endTime")
    filtered = [
        e for e in entries
        if (start_ms is None or (e.log_timestamp or 0) >= start_ms)
        and (end_ms is None or (e.log_timestamp or 0) <= end_ms)
    ]
    if order == "DESC":
        filtered.reverse()
    chunk = filtered[startIndex : startIndex + count]
    more = startIndex + count < len(filtered)
    return wire(
        m.LogPage(
            size=len(chunk),
            total_size=total,
            total_size_filtered=len(filtered),
            data=chunk,
            next_index=startIndex + count if more else None,
        )
    )


@router.get("/executions/{id}/logs", response_model=m.LogPage, tags=["logs"])
def execution_logs(
    request: Request,
    id: str,
    count: Annotated[int, Query(ge=1, le=200)] = 50,
    startIndex: Annotated[int, Query(ge=0)] = 0,
    order: Literal["ASC", "DESC"] = "DESC",
    startTime: str | None = None,
    endTime: str | None = None,
) -> Response:
    """A page of an execution's log; follow ``nextIndex`` for the next one."""
    return _logs(request, id, count, startIndex, order, startTime, endTime)


@router.get("/executions/{id}/log", response_model=m.LogPage, tags=["logs"])
def execution_log_alias(
    request: Request,
    id: str,
    count: Annotated[int, Query(ge=1, le=200)] = 50,
    startIndex: Annotated[int, Query(ge=0)] = 0,
    order: Literal["ASC", "DESC"] = "DESC",
    startTime: str | None = None,
    endTime: str | None = None,
) -> Response:
    """The source document's spelling of the log route; same answer as ``.../logs``."""
    return _logs(request, id, count, startIndex, order, startTime, endTime)


def _epoch_ms(value: str | None, name: str) -> int | None:
    if value is None:
        return None
    if value.isdecimal():  # what int() reads (isdigit() also takes "¹")
        return int(value)
    from datetime import datetime

    try:
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
    except ValueError as exc:
        raise bad_request(f"Invalid {name}: {value!r}", "Use epoch milliseconds or an ISO 8601 date.") from exc
