"""The plugin contract: every hook promoter calls, with its markers.

The docstrings in this module ARE the plugin reference; ``docs/hooks.md`` is generated from them
(``python -m promoter.hooks.reference``), and a test fails when a hook has no docstring or the file is stale.

There are four kinds of hook, named by their kind:

1. **Stage work** (``firstresult=True``): ``promoter_export``, ``promoter_map``, ``promoter_plan``,
   ``promoter_snapshot``, ``promoter_apply``, ``promoter_rollback``. The first implementation that
   returns something other than ``None`` does the stage; the rest are not called.
2. **Collecting** (every plugin contributes): ``promoter_gate``, ``promoter_verify``,
   ``promoter_report``.
3. **Events** (return ``None``): ``promoter_run_started``, ``promoter_run_finished``,
   ``promoter_before_stage``, ``promoter_after_stage``, ``promoter_on_stage_error``,
   ``promoter_progress``.
4. **Observing a platform** (``firstresult``): ``promoter_target_health``,
   ``promoter_execution_log``.
5. **Setup and registries**: ``promoter_configure`` (historic), ``promoter_add_cli_options``,
   ``promoter_register_commands``, ``promoter_register_pipeline_sections``, ``promoter_check_run``.

Which stages exist, in which order, and what each returns is ``promoter.model.STAGES``; a
stage's hook is ``promoter_<stage>``.

``promoter_stage`` wraps every stage: implement it with ``wrapper=True`` for cross-cutting work
(timing, tracing) that must see all stages.

Implementations may accept fewer arguments than the spec names; promoter always calls hooks with
keyword arguments, so new arguments can be added without breaking plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from promoter.hooks.markers import hookspec

if TYPE_CHECKING:
    import click
    from pydantic import BaseModel

    from promoter.context import RunContext
    from promoter.errors import StageError
    from promoter.model import (
        ApplyResult,
        CheckResult,
        ExportBundle,
        GateDecision,
        ObjectProgress,
        Plan,
        PromoterConfig,
        RollbackResult,
        RunOutcome,
        Snapshot,
        StageCall,
        StageOutcome,
        TargetMapping,
        TargetRef,
    )
    from promoter.release import Release, TargetHealth


# --- setup ----------------------------------------------------------------------------------------


@hookspec(historic=True)
def promoter_configure(config: PromoterConfig) -> None:
    """Configure a plugin once the plugin manager is set up.

    When: once per command, after the built-in, entry-point and ``-p`` plugins are registered.
    The call is *historic*: plugins registered later (the local plugins a pipeline file names)
    receive it on registration too.

    Parameters:
        config: the command's :class:`~promoter.model.PromoterConfig` (working directory,
            ledger location, the command's name and options).

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_configure(config):
            config.stash["my-plugin"] = {"started": time.monotonic()}
    """


@hookspec
def promoter_add_cli_options(command: str) -> list[click.Option] | None:
    """Contribute command-line options to a promoter command.

    When: when ``promoter promote``, ``plan`` or ``validate`` builds its options (entry-point and
    built-in plugins only; a local plugin named in a pipeline is loaded too late to add options).
    The option's value reaches stages as ``run.options.extra[name]``.

    Parameters:
        command: the command being built: ``"promote"``, ``"plan"`` or ``"validate"``.

    Returns: a list of :class:`click.Option` to add, or ``None``.

    Example::

        @hookimpl
        def promoter_add_cli_options(command):
            if command == "promote":
                return [click.Option(["--allow-downgrade"], is_flag=True,
                                     help="Allow promoting an older version.")]
            return None
    """


@hookspec
def promoter_register_commands(register: Callable[[str, click.Command | str], None]) -> None:
    """Add commands to the ``promoter`` command line.

    When: the first time the command line meets a command name it does not know (and for
    ``promoter --help``); built-in and entry-point plugins only. promoter's own commands cannot
    be replaced, and a name two plugins register is an error naming both.

    Parameters:
        register: ``register(name, command)``; ``command`` is a :class:`click.Command` or, to
            keep ``promoter --help`` fast, ``"module:attribute"`` naming one (imported only when
            it runs). Commands print data through :func:`promoter.terminal.printable` and take
            ``@output_option`` from :mod:`promoter.cli.options` for ``--output json``.

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_register_commands(register):
            register("audit", "my_plugin.cli:audit")
    """


@hookspec
def promoter_register_pipeline_sections(
    register: Callable[[str, type[BaseModel]], None],
) -> None:
    """Register top-level pipeline-file sections, each validated by a pydantic model.

    When: while a pipeline file is loaded, before it is validated. A key in the file that neither
    promoter nor a plugin registered is an error. Registering a name twice (or a built-in name) is an
    error that names both plugins.

    Parameters:
        register: ``register(name, model)``; ``model`` should use ``extra="forbid"``. Stages read
            the validated section with ``run.section(name)`` (``None`` when the file omits it).

    Returns: nothing.

    Example::

        class Notify(BaseModel):
            model_config = ConfigDict(extra="forbid")
            channel: str

        @hookimpl
        def promoter_register_pipeline_sections(register):
            register("notify", Notify)
    """


@hookspec
def promoter_check_run(run: RunContext) -> None:
    """Check that a run can start — credentials, endpoints, settings — before anything happens.

    When: by ``promote``, ``plan``, ``resume`` and ``rollback``, after the pipeline is loaded and
    before the target is locked or the run is recorded in the ledger; every implementation is
    called. Raise :class:`~promoter.errors.ConfigurationError` (exit 2) to refuse the run: nothing
    is written and the ledger is unchanged. Check settings only; talk to no server here.

    Parameters:
        run: the run context (the pipeline, its sections and the selected target).

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_check_run(run):
            if "SLACK_WEBHOOK" not in os.environ:
                raise ConfigurationError("no Slack webhook", hint="set SLACK_WEBHOOK")
    """


# --- events ---------------------------------------------------------------------------------------


@hookspec
def promoter_run_started(run: RunContext) -> None:
    """A run starts (or resumes: ``run.resumed`` is true).

    When: after the pipeline is loaded and validated and the run is recorded in the ledger, before
    the first stage.

    Parameters:
        run: the run context.

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_run_started(run):
            print(f"promoting {run.pipeline.name} to {run.target}")
    """


@hookspec
def promoter_run_finished(run: RunContext, outcome: RunOutcome) -> None:
    """A run finished, whatever the outcome (also when it was interrupted).

    When: after ``promoter_report``, once the outcome is recorded in the ledger.

    Parameters:
        run: the run context.
        outcome: the run's :class:`~promoter.model.RunOutcome` (status, exit code, stages).

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_run_finished(run, outcome):
            metrics.count("promotions", status=outcome.status)
    """


@hookspec
def promoter_before_stage(run: RunContext, stage: str) -> None:
    """A stage is about to run.

    When: before each stage (``export``, ``map``, ``plan``, ``gate``, ``snapshot``, ``apply``,
    ``verify``, ``rollback``, ``report``). An exception here fails the stage.

    Parameters:
        run: the run context.
        stage: the stage's name.

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_before_stage(run, stage):
            log.info("stage %s starts", stage)
    """


@hookspec
def promoter_after_stage(
    run: RunContext, stage: str, outcome: StageOutcome, result: Any
) -> None:
    """A stage ended (successfully, blocked, or failed).

    When: after each stage, with the outcome the ledger records.

    Parameters:
        run: the run context.
        stage: the stage's name.
        outcome: the :class:`~promoter.model.StageOutcome` (status, duration, plugin, messages).
        result: what the stage returned — its payload (:data:`~promoter.model.STAGES` says
            which: the :class:`~promoter.model.Plan` after ``plan``, a list of
            :class:`~promoter.model.CheckResult` after ``verify``...); ``None`` when it failed or
            was skipped.

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_after_stage(run, stage, outcome, result):
            print(f"{stage}: {outcome.status} in {outcome.duration:.1f}s")
            if isinstance(result, Plan):
                print(f"{len(result.pending)} change(s) planned")
    """


@hookspec
def promoter_on_stage_error(run: RunContext, stage: str, error: StageError) -> None:
    """A stage raised an exception.

    When: right after the failure, before rollback (if any) and before ``promoter_after_stage``.

    Parameters:
        run: the run context.
        stage: the stage's name.
        error: a :class:`~promoter.errors.StageError` naming the stage and the plugin whose code
            raised; the original exception is ``error.__cause__``.

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_on_stage_error(run, stage, error):
            pager.alert(f"{run.pipeline.name}: {error}")
    """


@hookspec
def promoter_progress(run: RunContext, event: ObjectProgress) -> None:
    """Per-object progress during apply, verify or rollback.

    When: each time a stage calls ``run.progress(...)``; possibly from several threads at once
    (apply with concurrency), so implementations must be thread-safe. The ledger records the event
    before this hook is called.

    Parameters:
        run: the run context.
        event: the :class:`~promoter.model.ObjectProgress` (stage, kind, key, status, message).

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_progress(run, event):
            bar.update(event.key, event.status)
    """


# --- stage work -----------------------------------------------------------------------------------


@hookspec(firstresult=True)
def promoter_stage(run: RunContext, stage: StageCall) -> Any:
    """Run one stage; wrap it to see every stage (timing, tracing, extra locking).

    When: the engine runs every stage through this hook. The built-in ``core`` plugin (trylast)
    calls ``stage.execute()``, which calls the stage's own hook (``promoter_export``...).
    Implement it with ``wrapper=True`` (and ``return (yield)``) to observe every stage. A plain
    implementation that returns a non-``None`` value replaces the stage (``firstresult``);
    returning ``None`` leaves the stage to the next implementation.

    Parameters:
        run: the run context.
        stage: a :class:`~promoter.model.StageCall` with ``name`` and ``execute()``.

    Returns: the stage's result (the stage hook's return value, or the replacement's); a wrapper
    must return what its ``yield`` gave it.

    Example::

        @hookimpl(wrapper=True)
        def promoter_stage(run, stage):
            started = time.monotonic()
            try:
                return (yield)
            finally:
                print(stage.name, time.monotonic() - started)
    """


@hookspec(firstresult=True)
def promoter_export(run: RunContext) -> ExportBundle | None:
    """Read what to promote from the source.

    When: first stage of every run (also ``promoter plan`` and ``--dry-run``). Nothing may be
    written to the target.

    Parameters:
        run: the run context (``run.source``, ``run.pipeline.artifacts`` and ``.tasks``).

    Returns: an :class:`~promoter.model.ExportBundle`; stops at the first non-``None`` result. When
    every implementation returns ``None`` the run fails: no plugin did the stage.

    Example::

        @hookimpl
        def promoter_export(run):
            return ExportBundle(source=run.source, objects=[
                ExportedObject(kind="task", key="daily", body={"version": "1.2"})])
    """


@hookspec(firstresult=True)
def promoter_map(run: RunContext, bundle: ExportBundle) -> TargetMapping | None:
    """Turn the exported objects into the objects the target must hold.

    When: after export. Map workspaces, environments, connections and parameters for
    ``run.target``; list every gap in ``TargetMapping.problems`` (the run fails before any write when
    there is one). Nothing may be written to the target.

    Parameters:
        run: the run context (``run.values`` holds the per-target values).
        bundle: the export's result.

    Returns: a :class:`~promoter.model.TargetMapping`; stops at the first non-``None`` result.

    Example::

        @hookimpl
        def promoter_map(run, bundle):
            return TargetMapping(target=run.target, objects=bundle.objects)
    """


@hookspec(firstresult=True)
def promoter_plan(run: RunContext, mapping: TargetMapping) -> Plan | None:
    """Compute the exact changes on the target.

    When: after map. Read the target and compare: one :class:`~promoter.model.Change` per object
    (create, update, delete or unchanged, with a field-level diff). A plan without pending changes
    ends the run with "nothing to do" (exit 0). ``--dry-run`` and ``promoter plan`` stop here.

    Parameters:
        run: the run context.
        mapping: the map's result.

    Returns: a :class:`~promoter.model.Plan`; stops at the first non-``None`` result.

    Example::

        @hookimpl
        def promoter_plan(run, mapping):
            return Plan(target=run.target, changes=[diff(o, read(o)) for o in mapping.objects])
    """


@hookspec
def promoter_gate(run: RunContext, plan: Plan) -> list[GateDecision] | GateDecision | None:
    """Decide whether the plan may be applied.

    When: after plan, when it has pending changes, before snapshot; every implementation is called.
    Any decision with ``allowed=False`` blocks the run (exit 4, nothing written). Every decision is
    recorded in the ledger.

    Parameters:
        run: the run context (``run.reason``, ``run.options``, ``run.pipeline.gates``).
        plan: the plan.

    Returns: a :class:`~promoter.model.GateDecision`, a list of them, or ``None`` (no opinion).

    Example::

        @hookimpl
        def promoter_gate(run, plan):
            if run.target.environment == "prod" and datetime.now().weekday() == 4:
                return GateDecision(gate="no-friday", allowed=False, reason="no prod on Fridays")
            return None
    """


@hookspec(firstresult=True)
def promoter_snapshot(run: RunContext, plan: Plan) -> Snapshot | None:
    """Record the full pre-apply state of everything the plan touches.

    When: after the gates allowed the plan, right before apply. The snapshot is stored in the
    ledger; rollback restores it (today or a week later), and a resumed run reuses it rather than
    taking a new one. Include an entry with ``body=None`` for each object the plan creates, so
    that rollback deletes it.

    Parameters:
        run: the run context.
        plan: the plan.

    Returns: a :class:`~promoter.model.Snapshot`; stops at the first non-``None`` result.

    Example::

        @hookimpl
        def promoter_snapshot(run, plan):
            return Snapshot(target=run.target, entries=[
                SnapshotEntry(kind=c.kind, key=c.key, body=c.before) for c in plan.pending])
    """


@hookspec(firstresult=True)
def promoter_apply(run: RunContext, plan: Plan, snapshot: Snapshot) -> ApplyResult | None:
    """Write the plan's changes to the target.

    When: after snapshot. Call ``run.progress("apply", kind, key, "done")`` after each object is
    written: the ledger records it, and when the run is resumed after a crash
    ``run.already_done("apply", kind, key)`` is true for it, so skip it. An exception fails the
    stage and triggers rollback.

    Parameters:
        run: the run context (``run.pipeline.apply`` holds strategy and concurrency).
        plan: the plan to apply (``plan.pending``).
        snapshot: the pre-apply state.

    Returns: an :class:`~promoter.model.ApplyResult`; stops at the first non-``None`` result.

    Example::

        @hookimpl
        def promoter_apply(run, plan, snapshot):
            for change in plan.pending:
                if not run.already_done("apply", change.kind, change.key):
                    write(change)
                    run.progress("apply", change.kind, change.key, "done")
            return ApplyResult(applied=[c.ref for c in plan.pending])
    """


@hookspec
def promoter_verify(run: RunContext, plan: Plan) -> list[CheckResult] | None:
    """Check the target after apply (smoke runs, read-back checks...).

    When: after apply; every implementation is called. Any ``passed=False`` fails the run and
    triggers rollback.

    Parameters:
        run: the run context (``run.pipeline.verify`` holds the smoke tests).
        plan: the applied plan.

    Returns: a list of :class:`~promoter.model.CheckResult`, or ``None``.

    Example::

        @hookimpl
        def promoter_verify(run, plan):
            return [CheckResult(name=f"smoke:{t.task}", passed=smoke(t)) for t in
                    run.pipeline.verify.smoke]
    """


@hookspec(firstresult=True)
def promoter_rollback(run: RunContext, snapshot: Snapshot, reason: str) -> RollbackResult | None:
    """Restore the target to the snapshot.

    When: after apply or verify failed, or on ``promoter rollback RUN``. Restore every entry
    (delete the objects whose snapshot body is ``None``), then read the target back and compare:
    ``complete=True`` only when it equals the snapshot. An exception, or ``complete=False``, ends
    the run as "rollback incomplete" (exit 3).

    Parameters:
        run: the run context.
        snapshot: the snapshot taken before apply.
        reason: why the rollback happens (the failure, or the user's request).

    Returns: a :class:`~promoter.model.RollbackResult`; stops at the first non-``None`` result.

    Example::

        @hookimpl
        def promoter_rollback(run, snapshot, reason):
            for entry in snapshot.entries:
                restore(entry)
            return RollbackResult(complete=read_all() == snapshot.entries)
    """


@hookspec
def promoter_report(run: RunContext, outcome: RunOutcome) -> None:
    """Report the run's outcome (console, files, chat...).

    When: last stage of every run that got past validation, whatever the outcome; every
    implementation is called. An exception here is recorded but does not change the exit code.

    Parameters:
        run: the run context (``run.pipeline.reports`` holds the directory and formats).
        outcome: the run's :class:`~promoter.model.RunOutcome`.

    Returns: nothing.

    Example::

        @hookimpl
        def promoter_report(run, outcome):
            Path("outcome.json").write_text(outcome.model_dump_json())
    """


# --- what a platform observes ---------------------------------------------------------------------


@hookspec(firstresult=True)
def promoter_target_health(
    run: RunContext, target: TargetRef, release: Release, since: datetime
) -> TargetHealth | None:
    """How the promoted tasks of ``release`` have run on ``target`` since ``since``.

    When: asked by the lifecycle gate for a phase with ``require_clean_runs`` (the executions of
    the phase before, since the release was verified there), and by ``promoter status``. Read
    the platform's monitoring (executions by period and status); start nothing, download no
    logs. A platform plugin answers for the targets it knows; the first answer wins.

    Parameters:
        run: the run context (for the platform's settings and clients).
        target: the environment/workspace to look at (not necessarily ``run.target``).
        release: the release whose tasks count (``release.bundle`` holds them).
        since: count executions started at or after this moment (UTC).

    Returns: a :class:`~promoter.release.TargetHealth`, or ``None`` when the plugin cannot tell.

    Example::

        @hookimpl
        def promoter_target_health(run, target, release, since):
            runs = my_platform.executions(target, since=since)
            return TargetHealth(since=since, successes=sum(r.ok for r in runs),
                                failures=sum(not r.ok for r in runs))
    """


@hookspec(firstresult=True)
def promoter_execution_log(
    run: RunContext, execution_id: str, start: int, count: int
) -> dict[str, Any] | None:
    """One page of an execution's log: up to ``count`` lines from line ``start``, oldest first.

    When: asked by ``promoter dashboard`` for the log page of an execution a run recorded (a
    failed smoke check's ``executionId``, a phase's last failed execution). Read the platform's
    log, one page per call; start nothing, write nothing. A platform plugin answers for the
    executions it knows; the first answer wins.

    Parameters:
        run: a read-only run context of the pipeline, for the target the execution ran on (for
            the platform's settings and clients); nothing is locked or recorded.
        execution_id: the platform's id of the execution.
        start: the index of the first line wanted (``0``: the oldest line).
        count: how many lines at most (a platform may answer fewer).

    Returns: ``None`` when the plugin does not know the execution's platform; otherwise a
    mapping ``{"lines": [{"at": "2026-12-03T10:00:00.000Z" | None, "severity": "ERROR" | None,
    "message": "..."}], "total": <lines in the whole log, or None>, "next": <index of the next
    page's first line, or None on the last page>}``. Lines are the platform's data, written by
    whoever can edit a job: whoever shows them escapes them, and nothing renders them as a
    template.

    Example::

        @hookimpl
        def promoter_execution_log(run, execution_id, start, count):
            lines = my_platform.log(execution_id)
            page = lines[start:start + count]
            return {
                "lines": [{"at": l.time, "severity": l.level, "message": l.text} for l in page],
                "total": len(lines),
                "next": start + count if start + count < len(lines) else None,
            }
    """
