"""What the ledger remembers: ``promoter history`` lists runs, ``promoter show RUN`` one run."""

from __future__ import annotations

import json
from typing import Any

import click

from promoter.cli.options import ledger_option, open_ledger, output_option
from promoter.terminal import printable

# --- history / show -------------------------------------------------------------------------------


@click.command(short_help="List the latest runs.")
@click.option("--target", default=None, metavar="ENV/WORKSPACE", help="Only runs on this target.")
@click.option("--limit", type=click.IntRange(min=1), default=30, show_default=True)
@ledger_option
@output_option
def history(target: str | None, limit: int, ledger_location: str | None, output: str) -> None:
    """List the latest runs, newest first (a dead run shows as interrupted)."""
    ledger = open_ledger(ledger_location)
    try:
        records = ledger.list_runs(limit=limit, target=target)
    finally:
        ledger.close()
    if output == "json":
        click.echo(json.dumps([r.model_dump(mode="json") for r in records], indent=2))
        return
    if not records:
        click.echo("no runs yet")
        return
    for r in records:
        click.echo(
            printable(
                f"{r.id}  {r.created_at}  {r.status.value:<19} {r.pipeline_name} "
                f"{r.source} -> {r.target}  by {r.user}" + (f"  ({r.reason})" if r.reason else ""),
                one_line=True,
            )
        )


@click.command(short_help="Show one run in detail.")
@click.argument("run_id", metavar="RUN")
@ledger_option
@output_option
def show(run_id: str, ledger_location: str | None, output: str) -> None:
    """Show one run: who, what, status, stage events, gates, checks, progress, rollback."""
    ledger = open_ledger(ledger_location)
    try:
        record = ledger.get_run(run_id)
        events = ledger.stage_events(record.id)
        progress = ledger.progress(record.id)
        docs = {
            kind: json.loads(body)
            for kind in ("plan", "gates", "checks", "rollback", "outcome")
            if (body := ledger.document(record.id, kind)) is not None
        }
        has_snapshot = ledger.document(record.id, "snapshot") is not None
    finally:
        ledger.close()
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "run": record.model_dump(mode="json"),
                    "stages": events,
                    "progress": [p.model_dump(mode="json") for p in progress],
                    "has_snapshot": has_snapshot,
                    **docs,
                },
                indent=2,
            )
        )
        return
    def line(text: str) -> None:
        # Every value here is data (from the pipeline file, Talend or the ledger): shown, never
        # obeyed; one line each, so that a value cannot forge a line promoter did not write.
        click.echo(printable(text, one_line=True))

    line(
        f"run {record.id}: {record.status.value}"
        + (f" (exit {record.exit_code})" if record.exit_code is not None else "")
    )
    for message_line in (record.message or "").splitlines():
        line(f"  {message_line}")
    line(
        f"  pipeline {record.pipeline_name} ({record.pipeline_file}, sha256 {record.pipeline_sha256[:12]})"
    )
    line(f"  {record.source} -> {record.target}, by {record.user}@{record.host}, {record.created_at}")
    line(
        f"  reason: {record.reason or '-'}; versions: "
        + ", ".join(f"{k}={v}" for k, v in record.versions.items())
    )
    for event in events:
        if event["event"] == "started":
            continue
        extra = f" [{event['plugin']}]" if event["plugin"] else ""
        line(f"  {event['stage']:<9} {event['status']:<11} {event['duration']:.2f}s{extra}")
        for message in event["messages"]:
            for message_line in str(message).splitlines():
                line(f"            {message_line}")
    done = sum(1 for p in progress if p.stage == "apply" and p.status.value == "done")
    if progress:
        line(f"  apply progress: {done} object(s) done")
    if "plan" in docs:
        line("  plan: " + ", ".join(f"{n} {a}" for a, n in _summary(docs["plan"]).items()))
    for gate in docs.get("gates", []):
        line(f"  gate {gate['gate']}: {'allowed' if gate['allowed'] else 'BLOCKED'} - {gate['reason']}")
    for check in docs.get("checks", []):
        line(f"  check {check['name']}: {'passed' if check['passed'] else 'FAILED'} {check['message']}")
    if record.status.value == "interrupted":
        line(f"  next: `promoter resume {record.id}` or `promoter rollback {record.id}`")


def _summary(plan: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for change in plan.get("changes", []):
        counts[change["action"]] = counts.get(change["action"], 0) + 1
    return counts


__all__ = ["history", "show"]
