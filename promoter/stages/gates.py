"""Built-in gates that need no platform: a required reason, and freeze windows.

Configured in the pipeline's ``gates:`` section. Hotfix pipelines always require ``--reason``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from promoter.hookspecs import hookimpl
from promoter.run import GateDecision, Plan, RunContext


def require_reason(run: RunContext) -> GateDecision | None:
    """Refuse a hotfix (or ``gates.require_reason``) promotion without ``--reason``."""
    if not run.pipeline.requires_reason:
        return None
    if run.reason and run.reason.strip():
        return GateDecision(gate="require-reason", allowed=True, reason=f"reason: {run.reason}")
    why = "a hotfix pipeline" if run.pipeline.kind == "hotfix" else "gates.require_reason is set"
    return GateDecision(
        gate="require-reason",
        allowed=False,
        reason=f"{why}: a reason is required",
        hint='pass --reason "why this promotion is needed"',
    )


def freeze_windows(run: RunContext, now: datetime | None = None) -> GateDecision | None:
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


@hookimpl(trylast=True)
def promoter_gate(run: RunContext, plan: Plan) -> list[GateDecision]:
    """The built-in gates' decisions."""
    decisions = [require_reason(run), freeze_windows(run)]
    return [d for d in decisions if d is not None]
