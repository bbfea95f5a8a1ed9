"""The lifecycle gate: a release enters a phase only after the phases before it verified it.

A pipeline's targets are the phases of its lifecycle, in order: a release (the same content
digest) must have been promoted *and verified* to the target listed before — or to those a
target names in ``after:`` — before it may be promoted here. Per target, optionally:

- ``soak: 2h`` — it must have been verified there at least that long ago;
- ``require_clean_runs: 3`` — the executions of its promoted tasks there since then (read from
  the platform's monitoring through ``promoter_target_health``) succeeded at least 3 times, and
  none failed.

A promotion rolled back since no longer counts. A hotfix (a ``kind: hotfix`` pipeline, or
``--only``) may skip phases, but only with ``--reason`` and an approval (``--approve``, or the
approval file); the decision says it skipped them, and history and reports mark the run.
Anchors: Octopus Deploy's lifecycles, Kargo's verified freight, Talend's promotion pairs.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime

from promoter import GateDecision, Plan, Promotion, Release, RunContext, hookimpl
from promoter.builtins.gates import approved_by
from promoter.pipeline import TargetConfig
from promoter.release import format_duration

GATE = "lifecycle"


def lifecycle(run: RunContext, plan: Plan, now: datetime | None = None) -> GateDecision | None:
    """Refuse a release the phases before this target have not verified (and soaked)."""
    phases = run.pipeline.phases_before(run.target.environment)
    if not phases:
        return GateDecision(
            gate=GATE,
            allowed=True,
            reason=f"{run.target.environment} is a first phase: no phase has to verify it before",
        )
    release = run.release
    if release is None or run.history is None:
        return GateDecision(
            gate=GATE,
            allowed=False,
            reason=(
                f"{run.target.environment} comes after {', '.join(phases)}, and this run has no "
                "release to check against them (a plan made by an older promoter?)"
            ),
            hint="make the plan again: `promoter plan FILE --target ... --out plan.json`",
        )
    moment = now or datetime.now(UTC)
    promotions = run.history.promotions(digest=release.digest)
    met: list[str] = []
    unmet: list[str] = []
    for phase in phases:
        problem, detail = _phase(run, release, phase, promotions, moment)
        (unmet if problem else met).append(detail)
    if not unmet:
        return GateDecision(gate=GATE, allowed=True, reason="; ".join(met))
    if run.hotfix:
        return _hotfix(run, plan, unmet)
    return GateDecision(
        gate=GATE,
        allowed=False,
        reason=f"release {release.id}: " + "; ".join(unmet),
        hint=_next_step(run, release, phases, promotions),
    )


def _phase(
    run: RunContext,
    release: Release,
    phase: str,
    promotions: list[Promotion],
    now: datetime,
) -> tuple[bool, str]:
    """``(unmet, what to say)`` for one phase before this target."""
    config = run.pipeline.select_target(phase)
    where = run.pipeline.target_ref(config).key
    verified = [p for p in promotions if p.target == where and p.verified]
    if not verified:
        tried = [p for p in promotions if p.target == where and not p.dry_run]
        last = f" (its last run there, {tried[0].run_id}, {tried[0].status.value})" if tried else ""
        return True, f"{phase} has not verified it{last}"
    first = min(verified, key=lambda p: p.finished_at)
    since = first.finished_at
    target = run.target_config
    said = f"verified in {phase} by run {first.run_id} at {since:%Y-%m-%d %H:%M} UTC"
    if target.soak is not None:
        soaked = now - since
        if soaked < target.soak:
            left = format_duration(target.soak - soaked)
            return True, f"{said}, soaking for {format_duration(target.soak)}: {left} to go"
        said += f", soaked {format_duration(soaked)}"
    if target.require_clean_runs:
        problem, health = _clean_runs(run, release, config, since, target)
        if problem:
            return True, f"{said}; {health}"
        said += f", {health}"
    return False, said


def _clean_runs(
    run: RunContext, release: Release, phase: TargetConfig, since: datetime, target: TargetConfig
) -> tuple[bool, str]:
    wanted = target.require_clean_runs
    ref = run.pipeline.target_ref(phase)
    health = run.observer.target_health(ref, release, since) if run.observer else None
    if health is None:
        return True, (
            f"{wanted} clean run(s) required, and no platform plugin reports the executions "
            f"of {ref}"
        )
    if health.failures:
        last = health.last_failure or {}
        which = f" (last: {last.get('task')} {last.get('executionId')})" if last else ""
        return True, (
            f"{health.failures} execution(s) failed in {ref.environment} since{which}; "
            f"{wanted} clean run(s) required"
        )
    if health.successes < wanted:
        return True, (
            f"{health.successes} of {wanted} clean run(s) in {ref.environment} so far "
            f"({health.describe()})"
        )
    return False, f"{health.successes} clean run(s) in {ref.environment}"


def _hotfix(run: RunContext, plan: Plan, unmet: list[str]) -> GateDecision:
    """A hotfix may skip the phases before, with a reason and an approval."""
    skipped = "; ".join(unmet)
    approver = approved_by(run, plan)
    reason = (run.reason or "").strip()
    if reason and approver:
        return GateDecision(
            gate=GATE,
            allowed=True,
            reason=f"HOTFIX skips the lifecycle ({skipped}); reason: {reason}; approved by "
            f"{approver}",
        )
    missing = " and ".join(
        what for what, present in (("--reason", reason), ("an approval", approver)) if not present
    )
    return GateDecision(
        gate=GATE,
        allowed=False,
        reason=f"a hotfix may skip the lifecycle ({skipped}) only with a reason and an "
        f"approval; {missing} missing",
        hint='pass --reason "INC-123: why" and --approve (--approver NAME records who)',
    )


def _next_step(
    run: RunContext, release: Release, phases: list[str], promotions: list[Promotion]
) -> str:
    """The command that moves the release on (and the emergency way round it)."""
    file = shlex.quote(str(run.loaded.display))
    missing = [
        phase
        for phase in phases
        if not any(
            p.target == run.pipeline.target_ref(run.pipeline.select_target(phase)).key
            and p.verified
            for p in promotions
        )
    ]
    if missing:
        step = (
            f"promote it to {missing[0]} first: `promoter promote {file} --release {release.id} "
            f"--target {missing[0]}`"
        )
    else:
        step = (
            f"wait, then promote again: `promoter promote {file} --release {release.id} "
            f"--target {run.target.environment}`"
        )
    return step + "; in an emergency, a hotfix: --only ARTIFACT --reason WHY --approve"


@hookimpl(trylast=True)
def promoter_gate(run: RunContext, plan: Plan) -> list[GateDecision]:
    """The lifecycle gate's decision."""
    decision = lifecycle(run, plan)
    return [decision] if decision is not None else []
