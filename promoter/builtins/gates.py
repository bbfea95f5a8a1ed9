"""Built-in gates that need no platform: a required reason, freeze windows, and approvals.

Configured in the pipeline's ``gates:`` section and its targets; every decision is recorded in
the ledger (``promoter show RUN`` lists them).

- **Reason**: hotfixes (``kind: hotfix``, ``--only``) and ``gates.require_reason`` need
  ``--reason``.
- **Freeze** (``gates.freeze``): no promotion to a frozen environment during a window.
- **Approval** (``approval: required`` on a target): the promotion goes ahead only with
  ``--approve`` (the approver recorded is ``--approver NAME``, or the user running promoter), or
  when ``gates.approval_file`` lists an approval of this pipeline, target and the exact versions
  the plan promotes (format: :mod:`promoter.builtins.approvals`).

A gate is a function ``(run, plan) -> GateDecision | None`` in :data:`GATES`; add one there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import click

from promoter import GateDecision, Plan, RunContext, hookimpl
from promoter.builtins.approvals import (
    ApprovalFileError,
    approval_example,
    load_approvals,
    match_approval,
)

APPROVE = "approve"
APPROVER = "approver"


def require_reason(run: RunContext, plan: Plan) -> GateDecision | None:
    """Refuse a hotfix (or ``gates.require_reason``) promotion without ``--reason``."""
    if not (run.pipeline.requires_reason or run.hotfix):
        return None
    if run.reason and run.reason.strip():
        return GateDecision(gate="require-reason", allowed=True, reason=f"reason: {run.reason}")
    why = (
        "a hotfix pipeline"
        if run.pipeline.kind == "hotfix"
        else "a hotfix (--only)"
        if run.hotfix
        else "gates.require_reason is set"
    )
    return GateDecision(
        gate="require-reason",
        allowed=False,
        reason=f"{why}: a reason is required",
        hint='pass --reason "why this promotion is needed"',
    )


def freeze_windows(
    run: RunContext, plan: Plan, now: datetime | None = None
) -> GateDecision | None:
    """Refuse a promotion to a frozen environment during one of ``gates.freeze``'s windows."""
    windows = run.pipeline.gates.freeze
    if not windows:
        return None
    moment = now or datetime.now(UTC)
    for window in windows:
        if window.covers(moment, run.target.environment):
            return GateDecision(
                gate="freeze",
                allowed=False,
                reason=(
                    f"{run.target.environment} is frozen until {window.end.isoformat()}: "
                    f"{window.reason}"
                ),
                hint="wait for the window to end, or change gates.freeze in the pipeline file",
            )
    return GateDecision(gate="freeze", allowed=True, reason="no freeze window is active")


def approval(run: RunContext, plan: Plan, now: datetime | None = None) -> GateDecision | None:
    """Require an approval for targets with ``approval: required``."""
    if run.target_config.approval != "required":
        return None
    extra = run.options.extra
    environment = run.target.environment
    if extra.get(APPROVE):
        approver = str(extra.get(APPROVER) or run.user)
        return GateDecision(
            gate="approval", allowed=True, reason=f"approved by {approver} (--approve)"
        )
    example = approval_example(run.pipeline.name, environment, plan.versions)
    configured = run.pipeline.gates.approval_file
    if configured is None:
        return GateDecision(
            gate="approval",
            allowed=False,
            reason=f"target {environment} requires an approval, and none was given",
            hint=(
                "pass --approve (add --approver NAME to record who approved; default: you), or "
                f"set gates.approval_file in {run.loaded.display} and list there {example}"
            ),
        )
    path = _approval_file(run, configured)
    try:
        approvals = load_approvals(path)
    except ApprovalFileError as exc:
        return GateDecision(
            gate="approval",
            allowed=False,
            reason=f"target {environment} requires an approval: {exc}",
            hint=f"fix {configured}, or pass --approve (and --approver NAME)",
        )
    rejected = []
    for candidate in approvals:
        match = match_approval(
            candidate,
            pipeline=run.pipeline.name,
            target=run.target,
            versions=plan.versions,
            now=now,
        )
        if match.approves:
            expiry = f", expires {candidate.expires.isoformat()}" if candidate.expires else ""
            return GateDecision(
                gate="approval",
                allowed=True,
                reason=f"approved by {candidate.approver} in {configured}{expiry}",
            )
        if match.applies:
            rejected.append(f"{candidate.approver}'s: {match.why_not()}")
    found = f" ({'; '.join(rejected)})" if rejected else ""
    return GateDecision(
        gate="approval",
        allowed=False,
        reason=f"target {environment} requires an approval; {configured} has none for this "
        f"release{found}",
        hint=f"add to {configured}: {example}; or pass --approve (and --approver NAME)",
    )


def _approval_file(run: RunContext, configured: str) -> Path:
    """``gates.approval_file``, relative to the pipeline file."""
    path = Path(configured).expanduser()
    return path if path.is_absolute() else run.loaded.base_dir / path


def approved_by(run: RunContext, plan: Plan, now: datetime | None = None) -> str | None:
    """Who approved this promotion (``--approve``, or a matching entry of the approval file),
    whether or not the target requires it; ``None`` when nobody did. (A hotfix that skips the
    lifecycle needs this.)"""
    extra = run.options.extra
    if extra.get(APPROVE):
        return str(extra.get(APPROVER) or run.user)
    configured = run.pipeline.gates.approval_file
    if configured is None:
        return None
    path = _approval_file(run, configured)
    try:
        approvals = load_approvals(path)
    except ApprovalFileError:
        return None
    for candidate in approvals:
        match = match_approval(
            candidate,
            pipeline=run.pipeline.name,
            target=run.target,
            versions=plan.versions,
            now=now or datetime.now(UTC),
        )
        if match.approves:
            return candidate.approver
    return None


GATES: tuple[Callable[[RunContext, Plan], GateDecision | None], ...] = (
    require_reason,
    freeze_windows,
    approval,
)
"""The built-in gates, in the order their decisions are listed."""


@hookimpl(trylast=True)
def promoter_add_cli_options(command: str) -> list[click.Option] | None:
    """``--approve`` and ``--approver`` for ``promoter promote``."""
    if command != "promote":
        return None
    return [
        click.Option(
            ["--approve", APPROVE],
            is_flag=True,
            help="Approve the promotion to a target with `approval: required` (recorded).",
        ),
        click.Option(
            ["--approver", APPROVER],
            default=None,
            metavar="NAME",
            help="Who approves (with --approve; default: the user running promoter).",
        ),
    ]


@hookimpl(trylast=True)
def promoter_gate(run: RunContext, plan: Plan) -> list[GateDecision]:
    """The built-in gates' decisions."""
    decisions = (gate(run, plan) for gate in GATES)
    return [d for d in decisions if d is not None]
