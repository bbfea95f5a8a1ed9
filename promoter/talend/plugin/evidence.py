"""Failure evidence: what a failed smoke check points at, so that on-call reads the cause first.

A smoke check that fails keeps, in its :attr:`~promoter.model.CheckResult.details`:

- ``executionId`` and ``logs`` (``promoter logs <id>``): set by :mod:`.verify` for every check;
- ``errorLines``: the execution's last ERROR (and FATAL) log lines, oldest first, each
  ``<UTC time> <SEVERITY> <message>`` and at most :data:`MAX_LINE_LENGTH` characters — or
  ``errorLinesUnavailable``, saying why the log could not be read (the check's verdict never
  depends on it).

The console's last lines and ``report.html`` show them. The lines are Talend data: whoever can
edit a job writes them. They are stored as they are (secrets the run resolved redacted) and every
output escapes them: :func:`promoter.terminal.printable` on a terminal, HTML escaping in a page;
nothing ever renders them as a template.

The functions that shape the lines are pure (:func:`error_lines`, :func:`format_entry`);
:func:`failure_evidence` is the one call that reads the log: one request, the newest
:data:`TAIL_LINES` lines (``order=DESC``), enough for the end of a failed run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from promoter.talend.client import TalendClient
    from promoter.talend.models import LogEntry

ERROR_SEVERITIES = frozenset({"ERROR", "FATAL", "SEVERE"})
"""Log severities that count as an error line."""
MAX_ERROR_LINES = 5
"""How many of the last error lines a failed check keeps."""
MAX_LINE_LENGTH = 500
"""A longer log message (a stack trace) is cut here, with ``…``."""
TAIL_LINES = 200
"""How many of the newest log lines are read to find them (one page of Talend's log API)."""

ERROR_LINES = "errorLines"
"""The key of the error lines in a check's ``details``."""
ERROR_LINES_UNAVAILABLE = "errorLinesUnavailable"
"""The key of why they could not be read."""


def logs_command(execution_id: str) -> str:
    """The command that shows an execution's whole log: ``promoter logs <id>``."""
    return f"promoter logs {execution_id}"


def format_entry(entry: LogEntry) -> str:
    """One log line as ``<UTC time> <SEVERITY> <message>``, cut at :data:`MAX_LINE_LENGTH`.

    The message is kept as Talend wrote it (newlines of a stack trace included): the outputs
    escape it, each in its own way.
    """
    parts: list[str] = []
    if entry.log_timestamp is not None:
        moment = datetime.fromtimestamp(entry.log_timestamp / 1000, UTC)
        parts.append(moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"))
    parts.append((entry.severity or "ERROR").upper())
    parts.append((entry.log_message or "").rstrip())
    text = " ".join(parts)
    return text if len(text) <= MAX_LINE_LENGTH else text[: MAX_LINE_LENGTH - 1] + "…"


def error_lines(entries: Iterable[LogEntry], *, limit: int = MAX_ERROR_LINES) -> list[str]:
    """The last ``limit`` ERROR/FATAL lines of ``entries`` (oldest first), formatted."""
    found = [e for e in entries if (e.severity or "").upper() in ERROR_SEVERITIES]
    found.sort(key=lambda e: e.log_timestamp if e.log_timestamp is not None else 0)
    return [format_entry(e) for e in found[-limit:]] if limit > 0 else []


def failure_evidence(
    client: TalendClient, execution_id: str, *, redact: Callable[[str], str] = str
) -> dict[str, Any]:
    """What a failed check adds to its details: ``{"errorLines": [...]}`` from the execution's
    log (the newest :data:`TAIL_LINES` lines), each passed through ``redact``; or
    ``{"errorLinesUnavailable": why}`` when the log cannot be read. Never raises for a Talend or
    transport failure: evidence must not change a check's verdict."""
    from promoter.talend.errors import TalendError

    try:
        page = client.logs.page(execution_id, count=TAIL_LINES, order="DESC")
    except TalendError as exc:
        return {ERROR_LINES_UNAVAILABLE: redact(f"the log could not be read: {exc.message}")}
    return {ERROR_LINES: [redact(line) for line in error_lines(page.data)]}


__all__ = [
    "ERROR_LINES",
    "ERROR_LINES_UNAVAILABLE",
    "MAX_ERROR_LINES",
    "error_lines",
    "failure_evidence",
    "format_entry",
    "logs_command",
]
