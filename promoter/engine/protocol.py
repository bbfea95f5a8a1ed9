"""The promotion protocol: the stages in order, their outcomes, rollback, interruption and resume.

One run::

    check_run                        a settings problem -> exit 2, nothing locked or recorded
    run_started
    export -> map -> plan            (--dry-run / `promoter plan` stop here: "planned";
                                      `promote --plan FILE` skips them for the reviewed plan)
        no pending change            -> "nothing-to-do" (exit 0)
    gate                             any refusal -> "blocked" (exit 4), nothing written
    [lock target] snapshot           the target changed since the plan -> "failed" (exit 2)
                  -> apply -> verify
        apply or verify fails        -> rollback(snapshot): "rolled-back" (exit 1)
                                        or "rollback-incomplete" (exit 3)
        Ctrl-C                       -> "interrupted" (exit 130), resumable
        the lock is lost             -> LeaseLost (exit 130): no rollback, no further write,
                                        nothing more recorded; the run shows "interrupted"
    report -> run_finished           (always; after a lost lock only run_finished)

Every stage runs through the ``promoter_stage`` hook (so wrappers see all of them) and is recorded
in the ledger (started / finished / error, with the plugin and duration). The target's lock is
held from before export to after report (not for dry runs); a heartbeat renews its lease, and the
ledger refuses every write of a run that lost it (:class:`~promoter.ledger.LeaseLost`).

``resume`` and ``rollback`` of a run are refused when a later run changed the same target
(:meth:`~promoter.ledger.Ledger.later_runs`), unless forced: either would silently undo that run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import NoReturn

from promoter.context import EarlierAttempts, RunContext, RunOptions
from promoter.engine.releases import (
    HookObserver,
    LedgerHistory,
    make_release,
    release_for_run,
)
from promoter.engine.runs import (
    DEFAULT_LOCK_LEASE,
    DEFAULT_LOCK_WAIT,
    LOCK_LEASE_ENV,
    LOCK_WAIT_ENV,
    TargetLock,
    build_context,
    deferred_interrupts,
    run_record_for,
    seconds_from_env,
)
from promoter.engine.stages import StageRecorder
from promoter.errors import ExitCode, PromoterError, RunStateError, StageError
from promoter.hooks.calls import PromoterHooks
from promoter.ledger import LeaseLost, Ledger, RunRecord
from promoter.model import (
    APPLY,
    EXPORT,
    GATE,
    MAP,
    PLAN,
    REPORT,
    ROLLBACK,
    SNAPSHOT,
    VERIFY,
    CheckResult,
    GateDecision,
    ObjectStatus,
    Plan,
    RollbackResult,
    RunOutcome,
    RunStatus,
    Snapshot,
)
from promoter.pipeline import LoadedPipeline
from promoter.terminal import printable

log = logging.getLogger(__name__)



def refuse_if_overtaken(ledger: Ledger, record: RunRecord, command: str, *, force: bool) -> None:
    """Raise :class:`RunStateError` when a later run changed ``record``'s target (see
    :meth:`~promoter.ledger.Ledger.later_runs`); ``command`` is ``resume`` or ``rollback``;
    ``force`` skips the check."""
    if force:
        return
    later = ledger.later_runs(record)
    if not later:
        return
    latest = later[0]
    more = f" (and {len(later) - 1} other later run(s))" if len(later) > 1 else ""
    what = {
        "rollback": f"rolling {record.id} back would undo it too",
        "resume": f"resuming {record.id} would write its plan over it",
    }[command]
    raise RunStateError(
        f"run {latest.id} ({latest.status.value}) changed {record.target} after "
        f"run {record.id}{more}; {what}",
        hint=(
            f"roll back {latest.id} first (`promoter rollback {latest.id}`), "
            f"or pass --force to {command} anyway"
        ),
    )


def input_or_failure(error: StageError) -> ExitCode:
    """The exit code of a stage that failed before anything was written: 2 when what it raised
    is the user's to fix (:attr:`~promoter.errors.PromoterError.exit_code` 2: refused credentials,
    an unknown artifact, environment or object), else 1."""
    cause: BaseException | None = error.__cause__
    while cause is not None:
        if isinstance(cause, PromoterError) and not isinstance(cause, StageError):
            return (
                ExitCode.INVALID_INPUT
                if cause.exit_code is ExitCode.INVALID_INPUT
                else ExitCode.FAILED_ROLLED_BACK
            )
        cause = cause.__cause__
    return ExitCode.FAILED_ROLLED_BACK


class _Failure(Exception):
    """Apply or verify failed: roll back (internal to the engine)."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason


class _Stop(Exception):
    """The run ends early with this status (internal to the engine)."""

    def __init__(
        self,
        status: RunStatus,
        exit_code: ExitCode,
        message: str,
        *,
        plan: Plan | None = None,
        gates: list[GateDecision] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.exit_code = exit_code
        self.message = message
        self.plan = plan
        self.gates = gates or []
        """What the run got to before it stopped (a blocked run's outcome lists its gates)."""


class Engine:
    """Runs promotions: new runs, dry runs, resumes and rollbacks, recorded in the ledger.

    One engine runs one run at a time (it keeps the run's stage outcomes and lock heartbeat).
    On resume, the plan and the snapshot come back from the ledger; ``run.state`` does not, so
    stages rebuild what they keep there (clients, caches) when they first need it.
    """

    def __init__(
        self,
        hooks: PromoterHooks,
        ledger: Ledger,
        *,
        lock_wait: float | None = None,
        lock_lease: float | None = None,
        confirm: Callable[[Plan], bool] | None = None,
        command: str = "promote",
    ) -> None:
        self.hooks = hooks
        self.ledger = ledger
        self.lock_wait = (
            seconds_from_env(LOCK_WAIT_ENV, DEFAULT_LOCK_WAIT) if lock_wait is None else lock_wait
        )
        self.lock_lease = (
            seconds_from_env(LOCK_LEASE_ENV, DEFAULT_LOCK_LEASE)
            if lock_lease is None
            else lock_lease
        )
        self.confirm = confirm
        self.command = command
        self.stages = StageRecorder(hooks, ledger)
        self._target_lock: TargetLock | None = None

    # --- entry points -----------------------------------------------------------------------

    def context(
        self,
        loaded: LoadedPipeline,
        *,
        target: str | None,
        options: RunOptions,
        run_id: str | None = None,
        user: str | None = None,
    ) -> RunContext:
        """Build the run context for ``target`` (an environment name; default: the first)."""
        run = build_context(
            loaded, target=target, options=options, command=self.command, run_id=run_id, user=user
        )
        run._sink = self.stages.progress
        run.history = LedgerHistory(self.ledger)
        run.observer = HookObserver(self.hooks, run)
        run.budgets = self.ledger.shared_budgets()
        return run

    def promote(
        self,
        run: RunContext,
        *,
        reviewed: Plan | None = None,
        reviewed_from: str = "a reviewed plan",
    ) -> RunOutcome:
        """Run a new promotion (or, with ``run.options.dry_run``, stop after the plan).

        With ``reviewed`` (``promoter promote --plan``), export, map and plan are skipped and that
        plan goes to the gates and the snapshot, which refuses it when the target changed since it
        was made; ``reviewed_from`` names it in the ledger.
        """
        if reviewed is not None:
            if run.dry_run:
                raise RunStateError("a reviewed plan is applied, not planned again: drop --dry-run")
            if reviewed.target != run.target:
                raise RunStateError(
                    f"{reviewed_from} is for {reviewed.target}, not {run.target}",
                    hint=f"pass --target {reviewed.target.environment}",
                )
        self._release_of_run(run, reviewed)
        required = ["promoter_map", "promoter_plan"]
        if run.release is None:
            required.insert(0, "promoter_export")
        if not run.dry_run:
            required += ["promoter_snapshot", "promoter_apply", "promoter_rollback"]
        self.hooks.require(*required)
        self.hooks.check_run(run=run)
        if not run.dry_run:
            self._lock(run)
        try:
            self.ledger.create_run(run_record_for(run, self.command))
        except BaseException:
            self._unlock(run)
            raise
        return self._execute(run, resume=False, reviewed=(reviewed, reviewed_from))

    def resume(self, run: RunContext, record: RunRecord, *, force: bool = False) -> RunOutcome:
        """Continue an interrupted run: its plan and snapshot, skipping objects already applied.

        Stages see what the interrupted attempts recorded in ``run.earlier`` (verify adopts the
        smoke executions they started). Refused (unless ``force``) when a later run changed the
        same target: resuming would write this run's plan over that run's changes.
        """
        if record.status is not RunStatus.INTERRUPTED:
            raise RunStateError(
                f"run {record.id} is {record.status.value}; only an interrupted run can be resumed",
                hint="`promoter show RUN` shows its state",
            )
        if record.dry_run:
            raise RunStateError(f"run {record.id} was a dry run; start a new one instead")
        refuse_if_overtaken(self.ledger, record, "resume", force=force)
        self.hooks.require("promoter_apply", "promoter_rollback")
        self.hooks.check_run(run=run)
        self._lock(run)
        try:
            # Again under the lock: a run may have started on the target while we waited for it.
            refuse_if_overtaken(self.ledger, record, "resume", force=force)
            earlier = self.ledger.progress(run.run_id)
        except BaseException:
            self._unlock(run)
            raise
        run.resumed = True
        run.release = self.ledger.release(record.release) if record.release else None
        run.earlier = EarlierAttempts(tuple(earlier))
        run.completed = {
            (e.stage, e.kind, e.key) for e in earlier if e.status is ObjectStatus.DONE
        }
        self.ledger.set_status(run.run_id, RunStatus.RUNNING, message="resumed")
        return self._execute(run, resume=True)

    def rollback(
        self, run: RunContext, record: RunRecord, reason: str | None, *, force: bool = False
    ) -> RunOutcome:
        """Restore the target to the snapshot of a finished or interrupted run.

        Refused (unless ``force``) when a later run changed the same target: restoring this
        run's snapshot would silently undo that run too.
        """
        allowed = {RunStatus.PROMOTED, RunStatus.INTERRUPTED, RunStatus.ROLLBACK_INCOMPLETE}
        if record.status not in allowed:
            raise RunStateError(
                f"run {record.id} is {record.status.value}; only a promoted, interrupted or "
                "incompletely rolled back run can be rolled back",
            )
        refuse_if_overtaken(self.ledger, record, "rollback", force=force)
        self.hooks.require("promoter_rollback")
        self.hooks.check_run(run=run)
        self._lock(run)
        try:
            refuse_if_overtaken(self.ledger, record, "rollback", force=force)
        except BaseException:
            self._unlock(run)
            raise
        self.stages.outcomes = []
        run.release = self.ledger.release(record.release) if record.release else None
        # Who asked, and why, recorded before anything is written (a rollback killed half-way
        # keeps them; `history` marks the run as rolled back on request).
        asked = f"rollback requested by {run.user}" + (f": {reason}" if reason else "")
        self.ledger.set_status(
            run.run_id, RunStatus.RUNNING, message=run.secrets.redact(asked)
        )
        why = reason or f"rollback of run {run.run_id} requested by {run.user}"
        status, code, message = RunStatus.ROLLED_BACK, ExitCode.OK, ""
        rollback: RollbackResult | None = None
        plan = self.stages.load(run, "plan", Plan)  # what the run promoted: its reports name it
        try:
            self.hooks.run_started(run=run)
            snapshot = self.stages.load(run, "snapshot", Snapshot)
            if snapshot is None:
                message = "nothing to roll back: the run stopped before it wrote anything"
            else:
                rollback, status, code, message = self._roll_back(run, snapshot, why, ExitCode.OK)
        except LeaseLost as lost:
            self._abandon(run, lost)
        except KeyboardInterrupt:
            status, code = RunStatus.INTERRUPTED, ExitCode.INTERRUPTED
            message = f"interrupted during rollback; run `promoter rollback {run.run_id}` again"
        except Exception as exc:
            status, code, message = self._unexpected(run, exc)
        return self._finish(run, status, code, message, plan=plan, rollback=rollback)

    def _release_of_run(self, run: RunContext, reviewed: Plan | None) -> None:
        """``run.release`` from ``--release`` or from the reviewed plan (refused before anything
        is locked when it is unknown, of another pipeline, or not the plan's)."""
        wanted = run.options.release
        if wanted is not None and run.options.only:
            raise RunStateError(
                "--only makes a hotfix release from the source; --release promotes one that "
                "exists: use one of them",
            )
        if reviewed is not None and reviewed.release is not None:
            if wanted is not None and self.ledger.release(wanted).id != reviewed.release:
                raise RunStateError(
                    f"the reviewed plan was made from release {reviewed.release}, not {wanted}",
                    hint="drop --release (the plan names its release)",
                )
            wanted = reviewed.release
        if wanted is not None:
            run.release = release_for_run(self.ledger, run, wanted)

    def _abandon(self, run: RunContext, lost: LeaseLost) -> NoReturn:
        """The run lost its lock: stop here, write nothing more (to the ledger or the target).

        No rollback (the target may be another run's by now) and no outcome (the ledger refuses
        it): the run shows ``interrupted``. ``promoter_run_finished`` still runs, so that plugins
        close their clients and tell people; then :class:`LeaseLost` goes to the caller (exit 130).
        """
        outcome = RunOutcome(
            run_id=run.run_id,
            status=RunStatus.INTERRUPTED,
            exit_code=int(ExitCode.INTERRUPTED),
            message=run.secrets.redact(lost.message),
            stages=list(self.stages.outcomes),
        )
        with contextlib.suppress(Exception):
            self.hooks.run_finished(run=run, outcome=outcome)
        with contextlib.suppress(Exception):
            self._unlock(run)  # releases only a lock that is still ours (a lapsed lease)
        raise lost

    def _unexpected(self, run: RunContext, exc: Exception) -> tuple[RunStatus, ExitCode, str]:
        """Status, exit code and message for an error outside any stage."""
        hooks = ("promoter_run_started", "promoter_before_stage", "promoter_after_stage")
        plugin = self.hooks.guilty_plugin(exc, *hooks)
        what = f"{type(exc).__name__}: {exc}" + (f" (plugin {plugin!r})" if plugin else "")
        if self.ledger.document(run.run_id, "snapshot") is None:
            return RunStatus.FAILED, ExitCode.FAILED_ROLLED_BACK, f"{what}; nothing was written"
        return (
            RunStatus.INTERRUPTED,
            ExitCode.ROLLBACK_INCOMPLETE,
            (
                f"{what}; the target may be partly promoted: `promoter resume {run.run_id}` or "
                f"`promoter rollback {run.run_id}`"
            ),
        )

    # --- the run ----------------------------------------------------------------------------

    def _execute(
        self,
        run: RunContext,
        *,
        resume: bool,
        reviewed: tuple[Plan | None, str] = (None, ""),
    ) -> RunOutcome:
        self.stages.outcomes = []
        plan: Plan | None = None
        stopped_plan: Plan | None = None
        gates: list[GateDecision] = []
        checks: list[CheckResult] = []
        rollback: RollbackResult | None = None
        status, code, message = RunStatus.PROMOTED, ExitCode.OK, ""
        try:
            self.hooks.run_started(run=run)
            snapshot = self.stages.load(run, "snapshot", Snapshot) if resume else None
            plan = self.stages.load(run, "plan", Plan) if resume else None
            if snapshot is None or plan is None:
                # A fresh run, or a resumed one that stopped before writing anything.
                plan, gates = self._prepare(run, *reviewed)
                try:
                    snapshot = self.stages.run(
                        run, SNAPSHOT, lambda: self.hooks.first(SNAPSHOT, run=run, plan=plan)
                    )
                except StageError as error:
                    # e.g. the target changed since the plan: invalid input, nothing written.
                    if input_or_failure(error) is ExitCode.INVALID_INPUT:
                        raise _Stop(RunStatus.FAILED, ExitCode.INVALID_INPUT, str(error)) from error
                    raise
                self.stages.save(run, "snapshot", snapshot)
            try:
                self.stages.run(
                    run,
                    APPLY,
                    lambda: self.hooks.first(APPLY, run=run, plan=plan, snapshot=snapshot),
                )
                checks = self.stages.run(
                    run, VERIFY, lambda: self.hooks.collect(VERIFY, run=run, plan=plan)
                )
                self.stages.save_list(run, "checks", checks)
                failed = [c for c in checks if not c.passed]
                if failed:
                    raise _Failure(
                        "verify",
                        "verification failed: "
                        + "; ".join(f"{c.name}: {c.message or 'failed'}" for c in failed),
                    )
                message = f"promoted to {run.target}"
            except (StageError, _Failure) as failure:
                reason = failure.message if isinstance(failure, StageError) else failure.reason
                rollback, status, code, message = self._roll_back(
                    run, snapshot, reason, ExitCode.FAILED_ROLLED_BACK
                )
                message = f"{reason}; {message}"
        except _Stop as stop:
            status, code, message = stop.status, stop.exit_code, stop.message
            stopped_plan, gates = stop.plan, gates or stop.gates
        except LeaseLost as lost:
            self._abandon(run, lost)
        except StageError as error:
            # export, map, plan, gate or snapshot failed: nothing was written. Refused
            # credentials, an unknown artifact or environment are the user's to fix (exit 2).
            status, code, message = RunStatus.FAILED, input_or_failure(error), str(error)
        except KeyboardInterrupt:
            status, code = RunStatus.INTERRUPTED, ExitCode.INTERRUPTED
            message = (
                f"interrupted; `promoter resume {run.run_id}` continues it, "
                f"`promoter rollback {run.run_id}` undoes it"
            )
        except Exception as exc:
            # Not a stage's failure (those are StageErrors): an event hook or the ledger broke.
            # Record it either way, and release the lock, rather than leave the run hanging.
            status, code, message = self._unexpected(run, exc)
        return self._finish(
            run,
            status,
            code,
            message,
            plan=plan or stopped_plan,
            gates=gates,
            checks=checks,
            rollback=rollback,
        )

    def _prepare(
        self, run: RunContext, reviewed: Plan | None = None, reviewed_from: str = ""
    ) -> tuple[Plan, list[GateDecision]]:
        """export -> map -> plan -> gate; raises :class:`_Stop` when the run ends there."""
        if reviewed is not None:
            plan = reviewed
            if run.release is not None:
                self.ledger.link_release(run.run_id, run.release.id)
            self.stages.save(run, "plan", plan)
            self.stages.skipped(run, PLAN, f"export, map and plan skipped: applying {reviewed_from}")
        else:
            plan = self._make_plan(run)
        if not plan.has_changes:
            raise _Stop(
                RunStatus.NOTHING_TO_DO,
                ExitCode.OK,
                "nothing to do: the target is up to date",
                plan=plan,
            )
        gates = self.stages.run(run, GATE, lambda: self.hooks.collect(GATE, run=run, plan=plan))
        self.stages.save_list(run, "gates", gates)
        refused = [g for g in gates if not g.allowed]
        if refused:
            raise _Stop(
                RunStatus.BLOCKED,
                ExitCode.BLOCKED,
                "blocked: "
                + "; ".join(
                    f"{g.gate}: {g.reason}" + (f" ({g.hint})" if g.hint else "") for g in refused
                ),
                plan=plan,
                gates=gates,
            )
        if self.confirm is not None and not run.options.yes and not self.confirm(plan):
            raise _Stop(
                RunStatus.BLOCKED,
                ExitCode.BLOCKED,
                "not confirmed; nothing written",
                plan=plan,
                gates=gates,
            )
        if self._target_lock is not None and self._target_lock.lost:
            raise _Stop(
                RunStatus.FAILED,
                ExitCode.FAILED_ROLLED_BACK,
                "lost the target's lock (forced unlock?); nothing written",
                plan=plan,
                gates=gates,
            )
        return plan, gates

    def _make_plan(self, run: RunContext) -> Plan:
        """export -> map -> plan; raises :class:`_Stop` on mapping problems and for dry runs."""
        if run.release is not None:
            # Exactly what the release holds: the source is not read again.
            bundle = run.release.bundle
            self.stages.skipped(
                run, EXPORT, f"release {run.release.id}: the source is not read again"
            )
        else:
            bundle = self.stages.run(run, EXPORT, lambda: self.hooks.first(EXPORT, run=run))
            self.stages.save(run, "export", bundle)
            made = make_release(self.ledger, run, bundle)
            run.release = made.release
            log.info("%s", printable(made.describe()))
        self.ledger.link_release(run.run_id, run.release.id)
        mapping = self.stages.run(run, MAP, lambda: self.hooks.first(MAP, run=run, bundle=bundle))
        self.stages.save(run, "mapping", mapping)
        if mapping.problems:
            # Each problem with its hint: what to add, and where.
            lines = [
                (f"{p.object}: {p.message}" if p.object else p.message)
                + (f"\n    fix: {p.hint}" if p.hint else "")
                for p in mapping.problems
            ]
            raise _Stop(
                RunStatus.FAILED,
                ExitCode.INVALID_INPUT,
                f"{len(lines)} mapping problem(s), nothing written:\n  " + "\n  ".join(lines),
            )
        plan = self.stages.run(run, PLAN, lambda: self.hooks.first(PLAN, run=run, mapping=mapping))
        plan.release = run.release.id
        self.stages.save(run, "plan", plan)
        if run.dry_run:
            summary = plan.summary() if plan.changes else "no objects"
            raise _Stop(RunStatus.PLANNED, ExitCode.OK, f"planned ({summary})", plan=plan)
        return plan

    def _roll_back(
        self, run: RunContext, snapshot: Snapshot, reason: str, clean_code: ExitCode
    ) -> tuple[RollbackResult | None, RunStatus, ExitCode, str]:
        try:
            result = self.stages.run(
                run,
                ROLLBACK,
                lambda: self.hooks.first(ROLLBACK, run=run, snapshot=snapshot, reason=reason),
            )
        except StageError as error:
            return (
                None,
                RunStatus.ROLLBACK_INCOMPLETE,
                ExitCode.ROLLBACK_INCOMPLETE,
                (
                    f"ROLLBACK INCOMPLETE: {error}; the target may be half-promoted: inspect it, then "
                    f"`promoter rollback {run.run_id}` again"
                ),
            )
        self.stages.save(run, "rollback", result)
        if result.complete:
            return result, RunStatus.ROLLED_BACK, clean_code, "rolled back to the snapshot"
        detail = "; ".join(result.differences) or result.message or "the target differs"
        return (
            result,
            RunStatus.ROLLBACK_INCOMPLETE,
            ExitCode.ROLLBACK_INCOMPLETE,
            (
                f"ROLLBACK INCOMPLETE: {detail}; inspect the target, then "
                f"`promoter rollback {run.run_id}` again"
            ),
        )

    def _finish(
        self,
        run: RunContext,
        status: RunStatus,
        code: ExitCode,
        message: str,
        *,
        plan: Plan | None = None,
        gates: list[GateDecision] | None = None,
        checks: list[CheckResult] | None = None,
        rollback: RollbackResult | None = None,
    ) -> RunOutcome:
        message = run.secrets.redact(message)
        outcome = RunOutcome(
            run_id=run.run_id,
            status=status,
            exit_code=int(code),
            message=message,
            stages=list(self.stages.outcomes),
            plan=plan,
            plan_summary=plan.counts() if plan is not None else None,
            gates=gates or [],
            checks=checks or [],
            rollback=rollback,
            release=run.release.id if run.release is not None else None,
            digest=run.release.digest if run.release is not None else None,
            hotfix=run.hotfix,
        )
        try:
            with deferred_interrupts():
                self.ledger.set_status(run.run_id, status, exit_code=int(code), message=message)
                self.stages.save_outcome(run, outcome)
            with contextlib.suppress(StageError, KeyboardInterrupt):
                self.stages.run(run, REPORT, lambda: self.hooks.report(run=run, outcome=outcome))
            outcome.stages = list(self.stages.outcomes)
            self.stages.save_outcome(run, outcome)
            with contextlib.suppress(Exception):
                self.hooks.run_finished(run=run, outcome=outcome)
        finally:
            run.close()
            self._unlock(run)
        return outcome

    def _lock(self, run: RunContext) -> None:
        self._target_lock = TargetLock.take(self.ledger, run, wait=self.lock_wait, lease=self.lock_lease)

    def _unlock(self, run: RunContext) -> None:
        if self._target_lock is not None:
            self._target_lock.release()
            self._target_lock = None
