"""An execution's log page: one page of the platform's log (``promoter_execution_log``), its
ERROR lines marked.

The dashboard reads a log only for an execution a run recorded (a failed smoke check, a
phase's last failure: :meth:`promoter.dashboard.data.Dashboard.execution`), through a read-only
run context of the pipeline on the target the execution ran on. Log lines are the platform's
data: the page escapes them, and nothing renders them as a template.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from promoter.context import RunOptions
from promoter.dashboard.data import Execution
from promoter.engine.runs import build_context
from promoter.errors import PromoterError
from promoter.hooks.calls import PromoterHooks

ERROR_SEVERITIES = frozenset({"ERROR", "FATAL", "SEVERE"})
"""Severities whose lines a log page highlights."""

MAX_STATIC_PAGES = 20
"""Pages of one log a static site holds at most (``--serve`` serves every page)."""


class LogLine(BaseModel):
    """One line of a log page, as ``promoter_execution_log`` answers it."""

    model_config = ConfigDict(extra="ignore")

    at: str | None = None
    severity: str | None = None
    message: str = ""


class LogPage(BaseModel):
    """One page of a log, as ``promoter_execution_log`` answers it."""

    model_config = ConfigDict(extra="ignore")

    lines: list[LogLine] = Field(default_factory=list)
    total: int | None = None
    next: int | None = None


def log_page(
    hooks: PromoterHooks, execution: Execution, page: int, size: int
) -> dict[str, Any]:
    """Page ``page`` (from 1) of ``execution``'s log, ``size`` lines a page, for the log
    template: the lines (numbered from 1, ERROR lines marked), the pages there are, or why the
    log could not be read."""
    start = (page - 1) * size
    view: dict[str, Any] = {
        "execution": execution.execution_id,
        "task": execution.task,
        "environment": execution.environment,
        "pipeline": execution.source.name,
        "run": execution.run_id,
        "page": page,
        "pages": None,
        "lines": [],
        "errors": 0,
        "first_error": None,
        "has_next": False,
        "total": None,
        "error": None,
    }
    run = build_context(
        execution.source.loaded,
        target=execution.environment,
        options=RunOptions(dry_run=True, yes=True),
        command="dashboard",
    )
    try:
        answer = hooks.execution_log(
            run=run, execution_id=execution.execution_id, start=start, count=size
        )
        if answer is None:
            view["error"] = "no plugin reads this platform's logs"
            return view
        found = LogPage.model_validate(answer)
    except PromoterError as exc:
        view["error"] = f"the log could not be read: {run.secrets.redact(exc.message)}"
        return view
    except ValidationError as exc:
        view["error"] = f"the plugin answered an unreadable log page ({exc.error_count()} problem(s))"
        return view
    finally:
        run.close()
    lines = []
    for index, line in enumerate(found.lines):
        severity = (line.severity or "").upper()
        lines.append(
            {
                "n": start + index + 1,
                "at": line.at,
                "severity": severity or "-",
                "message": line.message,
                "error": severity in ERROR_SEVERITIES,
            }
        )
    errors = [line["n"] for line in lines if line["error"]]
    view.update(
        lines=lines,
        errors=len(errors),
        first_error=errors[0] if errors else None,
        has_next=found.next is not None,
        total=found.total,
        pages=math.ceil(found.total / size) if found.total else None,
    )
    return view
