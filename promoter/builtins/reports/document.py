"""``run.json``: the one document every report is made from (schema ``docs/schemas/run-v1.json``).

Secrets never reach it: secret values the run resolved are redacted, and secret fingerprints
(``secret:sha256:...``) read ``(secret)``.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from promoter import ObjectProgress, RunContext, RunOutcome
from promoter.builtins.reports.state import rollback_effects, target_state

SCHEMA_VERSION = 1
"""The version of ``run.json``; a change that breaks readers bumps it (``run-v2.json``)."""
SCHEMA_ID = "https://promoter.dev/schemas/run-v1.json"
"""The ``$id`` of the published schema (``docs/schemas/run-v1.json``)."""

SECRET_FINGERPRINT = "secret:sha256:"
SECRET_SHOWN = "(secret)"
_STATE_KEY = "reports"

# --- what the run produced, captured from hooks ---------------------------------------------------


@dataclass
class RunCapture:
    """What the report needs beyond the :class:`RunOutcome`: when it started, per-object progress."""

    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    progress: list[ObjectProgress] = field(default_factory=list)


def capture(run: RunContext) -> RunCapture:
    """The run's capture, created on first use (kept in ``run.state['reports']``)."""
    found = run.state.get(_STATE_KEY)
    if not isinstance(found, RunCapture):
        found = RunCapture()
        run.state[_STATE_KEY] = found
    return found


def mask_fingerprints(value: Any) -> Any:
    """``value`` with every secret fingerprint replaced by ``(secret)`` (recursively)."""
    if isinstance(value, str):
        return SECRET_SHOWN if value.startswith(SECRET_FINGERPRINT) else value
    if isinstance(value, dict):
        return {k: mask_fingerprints(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_fingerprints(v) for v in value]
    return value


def iso_time(moment: datetime) -> str:
    """A time as ISO 8601 UTC with milliseconds and a ``Z`` (what run.json says)."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_document(
    run: RunContext, outcome: RunOutcome, *, finished_at: datetime | None = None
) -> dict[str, Any]:
    """The ``run.json`` document (schema ``docs/schemas/run-v1.json``), secrets masked."""
    captured = capture(run)
    facts = {
        "id": outcome.run_id,
        "command": run.command,
        "pipeline": run.pipeline.name,
        "pipeline_kind": run.pipeline.kind,
        "pipeline_file": str(run.pipeline_path),
        "pipeline_sha256": run.loaded.sha256,
        "source": run.source.key,
        "target": run.target.key,
        "user": run.user,
        "host": socket.gethostname(),
        "reason": run.reason,
        "dry_run": run.dry_run,
        "resumed": run.resumed,
        "versions": outcome.versions,
    }
    started = min([captured.started_at, *(s.started_at for s in outcome.stages)])
    document = assemble_document(
        facts,
        outcome,
        captured.progress,
        started=started,
        finished=finished_at or datetime.now(UTC),
    )
    # Secret values the run resolved never leave it, whatever field they ended up in.
    redacted: dict[str, Any] = json.loads(run.secrets.redact(json.dumps(document)))
    return redacted


def assemble_document(
    facts: dict[str, Any],
    outcome: RunOutcome,
    progress: Iterable[ObjectProgress],
    *,
    started: datetime,
    finished: datetime,
) -> dict[str, Any]:
    """The ``run.json`` document of a run whose own ``facts`` (the ``run`` object's fields up to
    ``versions``: id, command, pipeline, target...) are given, from its outcome and per-object
    progress; secret fingerprints masked. The run's reports build it as the run ends; the
    dashboard builds it again from what the ledger kept."""
    plan = outcome.plan
    document: dict[str, Any] = {
        "$schema": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "run": {
            **facts,
            "started_at": iso_time(started),
            "finished_at": iso_time(finished),
            "duration": round((finished - started).total_seconds(), 3),
        },
        "outcome": {
            "status": outcome.status.value,
            "exit_code": outcome.exit_code,
            "message": outcome.message,
        },
        "stages": [
            {
                "stage": s.stage,
                "status": s.status.value,
                "started_at": iso_time(s.started_at),
                "offset": round(max(0.0, (s.started_at - started).total_seconds()), 3),
                "duration": round(s.duration, 3),
                "plugin": s.plugin,
                "messages": list(s.messages),
            }
            for s in outcome.stages
        ],
        "plan": None,
        "gates": [g.model_dump(mode="json") for g in outcome.gates],
        "checks": [c.model_dump(mode="json") for c in outcome.checks],
        "rollback": (
            {
                "complete": outcome.rollback.complete,
                "restored": [str(r) for r in outcome.rollback.restored],
                "differences": list(outcome.rollback.differences),
                "message": outcome.rollback.message,
                "effects": rollback_effects(outcome),
            }
            if outcome.rollback is not None
            else None
        ),
        "target_state": target_state(outcome, facts["target"]),
        "progress": [
            {
                "stage": p.stage,
                "object": f"{p.kind}:{p.key}",
                "status": p.status.value,
                "message": p.message,
                "at": iso_time(p.at),
            }
            for p in progress
        ],
    }
    if plan is not None:
        document["plan"] = {
            "target": plan.target.key,
            "summary": plan.counts(),
            "changes": [
                {
                    "kind": c.kind,
                    "key": c.key,
                    "action": c.action.value,
                    "fields": [
                        {"path": f.path, "before": f.before, "after": f.after} for f in c.fields
                    ],
                }
                for c in plan.changes
            ],
        }
    masked: dict[str, Any] = mask_fingerprints(document)
    return masked
