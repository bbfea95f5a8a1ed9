"""Built-in console reporter: one line per stage and the run's outcome, on standard error.

Standard output stays free for ``--output json``. Disable it with
``PROMOTER_DISABLE_PLUGINS=console``.
"""

from __future__ import annotations

import click

from promoter.hookspecs import hookimpl
from promoter.run import ObjectProgress, ObjectStatus, RunContext, RunOutcome, StageOutcome

_MARKS = {
    "ok": "ok",
    "failed": "FAILED",
    "blocked": "blocked",
    "skipped": "skipped",
    "interrupted": "interrupted",
}


@hookimpl(trylast=True)
def promoter_run_started(run: RunContext) -> None:
    """Announce the run."""
    verb = {"plan": "planning", "resume": "resuming", "rollback": "rolling back"}.get(
        run.command, "planning" if run.dry_run else "promoting"
    )
    click.echo(
        f"{verb} {run.pipeline.name} ({run.source} -> {run.target}), run {run.run_id}", err=True
    )


@hookimpl(trylast=True)
def promoter_after_stage(run: RunContext, stage: str, outcome: StageOutcome) -> None:
    """One line per stage."""
    who = f" [{outcome.plugin}]" if outcome.plugin else ""
    click.echo(
        f"  {stage:<9} {_MARKS.get(outcome.status.value, outcome.status.value)}"
        f" ({outcome.duration:.2f}s){who}",
        err=True,
    )
    for message in outcome.messages:
        click.echo(f"            {message}", err=True)


@hookimpl(trylast=True)
def promoter_progress(run: RunContext, event: ObjectProgress) -> None:
    """Failed objects only: the full progress is in the ledger (`promoter show RUN`)."""
    if event.status is ObjectStatus.FAILED:
        click.echo(f"  {event.stage}: {event.kind} {event.key} failed: {event.message}", err=True)


@hookimpl(trylast=True)
def promoter_run_finished(run: RunContext, outcome: RunOutcome) -> None:
    """The outcome, and what to do next."""
    click.echo(f"{outcome.status.value}: {outcome.message} (exit {outcome.exit_code})", err=True)
