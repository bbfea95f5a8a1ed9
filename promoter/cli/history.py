"""What the ledger remembers: ``promoter history`` lists runs, ``promoter show RUN`` one run.

Both mark what an on-call engineer looks for first: a rollback asked for with ``promoter
rollback`` (``rolled-back (manual)``, with who and why) apart from one promoter made after a
failed apply or verify (``rolled-back (auto)``), and hotfix runs (``hotfix``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from promoter.cli.options import ledger_option, open_ledger, output_option
from promoter.terminal import printable

if TYPE_CHECKING:
    from promoter.ledger import Ledger, RunRecord

ROLLBACK_REQUESTED = "rollback requested"
"""The status message the engine records when ``promoter rollback`` starts on a run."""
REQUEST_DOCUMENT = "rollback-request"
"""Who asked for a manual rollback and why (written by ``promoter rollback``)."""

# Statuses a run can have after a rollback began: done, incomplete, or stopped (or under way).
_ROLLED_BACK = {"rolled-back", "rollback-incomplete"}
_AFTER_ROLLBACK = {*_ROLLED_BACK, "interrupted", "running"}


def run_kind(record: RunRecord) -> str:
    """``hotfix`` or ``release``: what kind of promotion the run was (from its record)."""
    return "hotfix" if record.hotfix else "release"


@dataclass(frozen=True)
class RollbackMark:
    """How a run came to be rolled back: ``manual`` (``promoter rollback``) or ``auto``."""

    origin: str
    by: str | None = None
    reason: str | None = None
    at: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The mark as JSON."""
        return {"origin": self.origin, "by": self.by, "reason": self.reason, "at": self.at}


def rollback_marks(ledger: Ledger, records: Iterable[RunRecord]) -> dict[str, RollbackMark]:
    """Each rolled-back run's :class:`RollbackMark`, by run id (runs never rolled back have none).

    A manual rollback left a ``rollback requested`` status (the engine's) and, from ``promoter
    rollback``, a ``rollback-request`` document saying who and why; a rollback without them was
    promoter's own, after a failed apply or verify. The status history is read only when a run's
    document does not settle it.
    """
    marks: dict[str, RollbackMark] = {}
    undecided = []
    for record in records:
        if record.status.value not in _AFTER_ROLLBACK:
            continue
        body = ledger.document(record.id, REQUEST_DOCUMENT)
        if body is not None:
            request = json.loads(body)
            marks[record.id] = RollbackMark(
                "manual", request.get("user"), request.get("reason"), request.get("requested_at")
            )
        else:
            undecided.append(record)
    if undecided:
        wanted = {r.id for r in undecided}
        requested = {
            row["run_id"]: str(row["at"])
            for row in _status_rows(ledger)
            if row["run_id"] in wanted and str(row["message"] or "").startswith(ROLLBACK_REQUESTED)
        }
        for record in undecided:
            if record.id in requested:
                marks[record.id] = RollbackMark("manual", at=requested[record.id])
            elif record.status.value in _ROLLED_BACK:
                marks[record.id] = RollbackMark("auto")
    return marks


def _status_rows(ledger: Ledger) -> Iterator[dict[str, Any]]:
    # Every run's status history, oldest first: the ledger has no per-run reader of it.
    yield from ledger.history_rows("run_status")


def status_label(record: RunRecord, mark: RollbackMark | None) -> str:
    """``rolled-back (manual)``, ``rolled-back (auto)``, ``interrupted (manual rollback)``..."""
    status = record.status.value
    if mark is None:
        return status
    if status in _ROLLED_BACK:
        return f"{status} ({mark.origin})"
    return f"{status} ({mark.origin} rollback)"


def _matches(record: RunRecord, target: str) -> bool:
    """``--target prod`` is any workspace of prod; ``--target prod/Finance`` that one."""
    if "/" in target:
        return record.target == target
    return record.target.partition("/")[0] == target


def _runs(ledger: Ledger, target: str | None, limit: int) -> list[RunRecord]:
    """The latest ``limit`` runs on ``target`` (an environment, or environment/workspace)."""
    if target is None or "/" in target:
        return ledger.list_runs(limit=limit, target=target)
    # An environment: the ledger matches targets exactly, so read more runs until enough match.
    wanted = limit
    while True:
        records = ledger.list_runs(limit=wanted)
        found = [r for r in records if _matches(r, target)]
        if len(found) >= limit or len(records) < wanted:
            return found[:limit]
        wanted *= 4


# --- history / show -------------------------------------------------------------------------------


@click.command(short_help="List the latest runs.")
@click.option(
    "--target",
    default=None,
    metavar="ENV[/WORKSPACE]",
    help="Only runs on this environment (any workspace), or on this environment/workspace.",
)
@click.option("--limit", type=click.IntRange(min=1), default=30, show_default=True)
@ledger_option
@output_option
def history(target: str | None, limit: int, ledger_location: str | None, output: str) -> None:
    """List the latest runs, newest first (a dead run shows as interrupted).

    A rolled-back run says whether the rollback was asked for (manual: `promoter rollback`, with
    who and why) or promoter's own after a failed apply or verify (auto); hotfix runs are marked.
    """
    ledger = open_ledger(ledger_location)
    try:
        records = _runs(ledger, target, limit)
        marks = rollback_marks(ledger, records)
    finally:
        ledger.close()
    if output == "json":
        click.echo(
            json.dumps(
                [
                    {
                        **r.model_dump(mode="json"),
                        "kind": run_kind(r),
                        "rollback": marks[r.id].to_dict() if r.id in marks else None,
                    }
                    for r in records
                ],
                indent=2,
            )
        )
        return
    if not records:
        click.echo(f"no runs on {printable(target, one_line=True)} yet" if target else "no runs yet")
        return
    for r in records:
        mark = marks.get(r.id)
        text = (
            f"{r.id}  {r.created_at}  {status_label(r, mark):<22} "
            + ("hotfix " if run_kind(r) == "hotfix" else "")
            + f"{r.pipeline_name} {r.source} -> {r.target}"
            + (f"  release {r.release}" if r.release else "")
            + f"  by {r.user}"
            + (f"  ({r.reason})" if r.reason else "")
        )
        if mark is not None and mark.origin == "manual" and (mark.by or mark.reason):
            text += f"; rolled back by {mark.by or '?'}" + (
                f": {mark.reason}" if mark.reason else ""
            )
        click.echo(printable(text, one_line=True))


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
        mark = rollback_marks(ledger, [record]).get(record.id)
    finally:
        ledger.close()
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "run": record.model_dump(mode="json"),
                    "kind": run_kind(record),
                    "rollback_origin": mark.to_dict() if mark is not None else None,
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
        f"run {record.id}: {status_label(record, mark)}"
        + (f" (exit {record.exit_code})" if record.exit_code is not None else "")
        + (" - hotfix" if run_kind(record) == "hotfix" else "")
    )
    for message_line in (record.message or "").splitlines():
        line(f"  {message_line}")
    line(
        f"  pipeline {record.pipeline_name} ({record.pipeline_file}, sha256 {record.pipeline_sha256[:12]})"
    )
    line(f"  {record.source} -> {record.target}, by {record.user}@{record.host}, {record.created_at}")
    if record.release is not None:
        line(f"  release {record.release} ({record.digest})")
    line(
        f"  reason: {record.reason or '-'}; versions: "
        + (", ".join(f"{k}={v}" for k, v in record.versions.items()) or "-")
    )
    if mark is not None:
        if mark.origin == "manual":
            line(
                f"  rolled back on request (`promoter rollback`) by {mark.by or '?'}"
                + (f" at {mark.at}" if mark.at else "")
                + f"; reason: {mark.reason or '-'}"
            )
        else:
            line("  rolled back automatically, after a failed apply or verify")
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


__all__ = ["RollbackMark", "history", "rollback_marks", "run_kind", "show", "status_label"]
