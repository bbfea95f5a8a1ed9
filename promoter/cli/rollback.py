"""``promoter rollback RUN``: restore a target to the snapshot taken before a run applied.

The on-call path, made safe: before anything is written the command shows what the rollback will
do — every object of the run's snapshot, restored to its state before the run or removed because
the run created it, with the plan's action for it — read from the run's documents in the ledger
(``snapshot``, ``plan``). Then it asks on a terminal, or needs ``--yes``; ``--dry-run`` shows the
preview and writes nothing at all (not Talend, not the ledger). A real rollback needs ``--reason``,
recorded in the ledger with who asked (the ``rollback-request`` document, which ``promoter
history`` and ``show`` read to tell a manual rollback from an automatic one).

The work itself is :meth:`promoter.engine.Engine.rollback`'s.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from promoter.cli.history import REQUEST_DOCUMENT
from promoter.cli.options import (
    confirmation_refused,
    echo_json,
    ledger_option,
    lock_wait_option,
    needs_confirmation,
    open_ledger,
    output_option,
    terminate_as_interrupt,
)
from promoter.cli.run import print_outcome, reopen_run
from promoter.terminal import printable

if TYPE_CHECKING:
    from promoter.ledger import Ledger, RunRecord

@dataclass(frozen=True)
class RollbackStep:
    """What the rollback does to one object of the snapshot."""

    action: str
    """``restore`` (the object existed before the run) or ``remove`` (the run created it)."""
    kind: str
    key: str
    planned: str | None = None
    """The run's plan for the object (``create``, ``update``, ``delete``...), when it had one."""

    def describe(self) -> str:
        """``restore task:Finance daily load to its state before the run (update)``."""
        name = f"{self.kind}:{self.key}"
        if self.action == "remove":
            return f"remove {name} (the run created it)"
        return f"restore {name} to its state before the run" + (
            f" ({self.planned})" if self.planned else ""
        )

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON (``--dry-run --output json``)."""
        return {
            "action": self.action,
            "kind": self.kind,
            "key": self.key,
            "planned": self.planned,
            "text": self.describe(),
        }


@dataclass(frozen=True)
class RollbackPreview:
    """What rolling a run back would do, read from its ledger documents."""

    record: RunRecord
    steps: list[RollbackStep]
    snapshot_taken: bool
    """Whether the run took a snapshot (without one it wrote nothing: nothing to restore)."""
    snapshot_at: str | None = None

    def lines(self) -> list[str]:
        """The preview as text lines, every value shown through :func:`printable`."""
        record = self.record
        head = f"rollback of run {record.id} ({record.status.value}) on {record.target}"
        if not self.snapshot_taken:
            return [head + ": nothing to restore (the run stopped before it wrote anything)"]
        when = f", to its snapshot of {self.snapshot_at}" if self.snapshot_at else ""
        lines = [f"{head}{when}:"]
        lines += [f"  {step.describe()}" for step in self.steps]
        restored = sum(1 for s in self.steps if s.action == "restore")
        removed = len(self.steps) - restored
        lines.append(f"  {len(self.steps)} object(s): {restored} restored, {removed} removed")
        return [printable(line, one_line=True) for line in lines]

    def to_dict(self) -> dict[str, Any]:
        """The preview as JSON."""
        return {
            "run_id": self.record.id,
            "target": self.record.target,
            "status": self.record.status.value,
            "snapshot_taken": self.snapshot_taken,
            "snapshot_at": self.snapshot_at,
            "steps": [s.to_dict() for s in self.steps],
        }


def rollback_preview(ledger: Ledger, record: RunRecord) -> RollbackPreview:
    """What rolling ``record`` back would do: its snapshot's objects, each restored or removed,
    with the plan's action for it. Reads the ledger only."""
    snapshot_body = ledger.document(record.id, "snapshot")
    if snapshot_body is None:
        return RollbackPreview(record, [], snapshot_taken=False)
    snapshot = json.loads(snapshot_body)
    plan_body = ledger.document(record.id, "plan")
    planned: dict[tuple[str, str], str] = {}
    if plan_body is not None:
        for change in json.loads(plan_body).get("changes", []):
            planned[(str(change.get("kind")), str(change.get("key")))] = str(change.get("action"))
    steps = []
    for entry in snapshot.get("entries", []):
        kind, key = str(entry.get("kind")), str(entry.get("key"))
        action = "remove" if entry.get("body") is None else "restore"
        steps.append(RollbackStep(action, kind, key, planned.get((kind, key))))
    taken = snapshot.get("taken_at")
    return RollbackPreview(record, steps, snapshot_taken=True, snapshot_at=taken)


def refuse_unless_rollbackable(ledger: Ledger, record: RunRecord, *, force: bool) -> None:
    """The engine's refusals, before the preview and the question: a run that cannot be rolled
    back (its status), or one a later run overtook (unless ``force``). The engine checks again
    under the target's lock."""
    from promoter.engine import refuse_if_overtaken
    from promoter.errors import RunStateError
    from promoter.model import RunStatus

    # Engine.rollback's rule (kept in step with it): what a rollback can restore.
    allowed = {RunStatus.PROMOTED, RunStatus.INTERRUPTED, RunStatus.ROLLBACK_INCOMPLETE}
    if record.status not in allowed:
        raise RunStateError(
            f"run {record.id} is {record.status.value}; only a promoted, interrupted or "
            "incompletely rolled back run can be rolled back",
            hint=f"`promoter show {record.id}` shows what it did",
        )
    refuse_if_overtaken(ledger, record, "rollback", force=force)


def record_request(ledger: Ledger, run_id: str, user: str, reason: str, force: bool) -> None:
    """Keep who asked for a manual rollback and why (the ``rollback-request`` document)."""
    document = {
        "user": user,
        "reason": reason,
        "requested_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "force": force,
    }
    ledger.save_document(run_id, REQUEST_DOCUMENT, json.dumps(document))


@click.command(short_help="Restore the target to a run's snapshot (previewed first).")
@click.argument("run_id", metavar="RUN")
@click.option(
    "--reason", default=None, help="Why (required to roll back; recorded in the ledger)."
)
@click.option("--yes", "-y", is_flag=True, help="Roll back without asking for confirmation.")
@click.option("--dry-run", is_flag=True, help="Show what the rollback would do; write nothing.")
@click.option(
    "-p",
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE",
    help="Load another plugin (the run's own -p plugins are loaded again).",
)
@click.option(
    "--force", is_flag=True, help="Roll back even though a later run changed the same target."
)
@lock_wait_option
@ledger_option
@output_option
@click.pass_context
def rollback(
    ctx: click.Context,
    run_id: str,
    reason: str | None,
    yes: bool,
    dry_run: bool,
    plugins: tuple[str, ...],
    force: bool,
    lock_wait: float | None,
    ledger_location: str | None,
    output: str,
) -> None:
    """Restore the target to the snapshot taken before RUN applied (today or a week later).

    First shows what it will do: each object restored to its state before the run, or removed
    because the run created it. Then asks for confirmation on a terminal; without one, pass
    --yes. --dry-run shows the same and writes nothing. --reason is required.

    \b
    promoter rollback RUN --dry-run
    promoter rollback RUN --reason "INC-1234: wrong totals" --yes

    Works on promoted and interrupted runs. Exit 0 when the target equals the snapshot again,
    3 when the rollback is incomplete; 2 (nothing written) when a later run changed the same
    target (unless --force) or --reason is missing. Without --yes and no terminal it refuses
    as `promote` does (docs/ci.md).
    """
    from promoter.engine import current_user
    from promoter.errors import ConfigurationError, ExitCode

    ledger = open_ledger(ledger_location)
    try:
        record = ledger.get_run(run_id)
        refuse_unless_rollbackable(ledger, record, force=force)
        preview = rollback_preview(ledger, record)
        if dry_run:
            if output == "json":
                echo_json({**preview.to_dict(), "dry_run": True})
                return
            for line in preview.lines():
                click.echo(line)
            click.echo(
                f"dry run: nothing written; to roll back: `promoter rollback {record.id} "
                '--reason "..." --yes`',
                err=True,
            )
            return
        if not reason or not reason.strip():
            raise ConfigurationError(
                "rollback needs --reason: why the target is rolled back (recorded in the ledger)",
                hint=f'pass --reason "INC-1234: ..." (`promoter rollback {record.id} --dry-run` '
                "shows what it would do)",
            )
        for line in preview.lines():
            click.echo(line, err=True)
        if not yes:
            if needs_confirmation(output):
                raise confirmation_refused(
                    "rollback",
                    hint=f"pass --yes (after reviewing `promoter rollback {record.id} --dry-run`)",
                )
            question = printable(f"Roll back run {record.id} on {record.target}?", one_line=True)
            if not click.confirm(question, err=True):
                click.echo("not confirmed; nothing written", err=True)
                raise click.exceptions.Exit(int(ExitCode.BLOCKED))
        engine, run, record = reopen_run(
            ctx, record.id, ledger, plugins, "rollback", allow_changed=True
        )
        # The rollback's reports give the rollback's reason, not the promotion's.
        run.options = dataclasses.replace(run.options, reason=reason)
        with terminate_as_interrupt():
            outcome = engine.rollback(run, record, reason, force=force)
        record_request(ledger, record.id, run.user or current_user(), reason, force)
        print_outcome(outcome, output)
    finally:
        ledger.close()


__all__ = [
    "REQUEST_DOCUMENT",
    "RollbackPreview",
    "RollbackStep",
    "record_request",
    "refuse_unless_rollbackable",
    "rollback",
    "rollback_preview",
]
