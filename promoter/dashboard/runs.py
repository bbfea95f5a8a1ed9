"""A run's report, made again from what the ledger kept of it.

The run wrote ``report.html`` where it ran (a CI workspace, a laptop); the dashboard may run
anywhere the ledger is. So it makes the same page again: the ``run.json`` document (schema
``docs/schemas/run-v1.json``) from the run's record, its ``outcome`` and ``plan`` documents, its
stages and per-object progress — and the reports module's own renderer
(:func:`promoter.builtins.reports.formats.render_html`) turns it into the page. The documents
were redacted when they were stored; secret fingerprints are masked again here, as in run.json.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from typing import Any

from promoter.builtins.reports.document import assemble_document
from promoter.ledger import Ledger, RunRecord
from promoter.model import Plan, RunOutcome


def _moment(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def stored_outcome(ledger: Ledger, run_id: str) -> RunOutcome | None:
    """The run's outcome with its plan, as the ledger kept them (``None``: the run has not
    ended, or ended before recording one)."""
    body = ledger.document(run_id, "outcome")
    if body is None:
        return None
    outcome = RunOutcome.model_validate_json(body)
    plan = ledger.document(run_id, "plan")
    if plan is not None and outcome.plan is None:
        outcome = outcome.model_copy(update={"plan": Plan.model_validate_json(plan)})
    return outcome


def run_document(ledger: Ledger, record: RunRecord) -> dict[str, Any] | None:
    """The run's ``run.json`` document, made from the ledger (``None`` without an outcome)."""
    outcome = stored_outcome(ledger, record.id)
    if outcome is None:
        return None
    created = _moment(record.created_at, datetime.now(UTC))
    started = min([created, *(s.started_at for s in outcome.stages)])
    ends = [s.started_at.timestamp() + s.duration for s in outcome.stages]
    finished = max(
        _moment(record.updated_at, created),
        datetime.fromtimestamp(max(ends), UTC) if ends else created,
    )
    facts = {
        "id": record.id,
        "command": record.command,
        "pipeline": record.pipeline_name,
        "pipeline_kind": record.options.get("kind") or "release",
        "pipeline_file": record.pipeline_file,
        "pipeline_sha256": record.pipeline_sha256,
        "source": record.source,
        "target": record.target,
        "user": record.user,
        "host": record.host or socket.gethostname(),
        "reason": record.reason,
        "dry_run": record.dry_run,
        "resumed": record.command == "resume",
        "versions": outcome.versions or dict(record.versions),
    }
    document = assemble_document(
        facts, outcome, ledger.progress(record.id), started=started, finished=finished
    )
    # Through JSON: what the page renders is what run.json would hold.
    shown: dict[str, Any] = json.loads(json.dumps(document, default=str))
    return shown


def report_html(ledger: Ledger, record: RunRecord) -> str | None:
    """The run's ``report.html``, rendered by the reports module from :func:`run_document`."""
    from promoter.builtins.reports.formats import render_html

    document = run_document(ledger, record)
    return None if document is None else render_html(document)


def smoke_durations(ledger: Ledger, run_id: str) -> dict[str, float]:
    """Task -> seconds its smoke execution took, as the verify stage saw it: from the ``started``
    progress event of the task to its ``done`` or ``failed`` one (the poll that saw it end)."""
    started: dict[str, datetime] = {}
    durations: dict[str, float] = {}
    for event in ledger.progress(run_id):
        if event.stage != "verify":
            continue
        if event.status.value == "started":
            started[event.key] = event.at
        elif event.status.value in ("done", "failed") and event.key in started:
            durations[event.key] = round((event.at - started[event.key]).total_seconds(), 3)
    return durations
