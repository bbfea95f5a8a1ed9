"""The promotion commands: validate, plan, promote, resume (rollback: :mod:`promoter.cli.rollback`).

Heavy imports (pydantic, the engine) happen inside the command functions so that
``promoter --help`` stays fast. With ``--output json`` a command prints one JSON document on
standard output (errors included); human output goes to standard error for progress and
standard output for results. Text output shows data (names, messages, keys, reasons: they come
from pipeline files, Talend and the ledger) through :func:`promoter.terminal.printable`, so that
no escape sequence in them reaches a terminal.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from promoter.cli.options import (
    PluginOptionsCommand,
    absolute_specs,
    command_hooks,
    confirmation_refused,
    extra_options,
    ledger_option,
    load,
    lock_wait_option,
    make_engine,
    needs_confirmation,
    only_option,
    only_values,
    open_ledger,
    output_option,
    pipeline_options,
    terminate_as_interrupt,
    var_values,
)
from promoter.terminal import printable

if TYPE_CHECKING:
    from promoter.engine import Engine
    from promoter.ledger import Ledger
    from promoter.model import Plan, RunOutcome
    from promoter.pipeline import LoadedPipeline


def print_outcome(outcome: RunOutcome, output: str) -> None:
    """With ``--output json``, the outcome (with its plan) as one JSON document on standard
    output. In text, nothing more: the console (standard error) showed the plan once and the
    outcome once. Either way, the process exits with the outcome's code."""
    if output == "json":
        click.echo(json.dumps(outcome.model_dump(mode="json"), indent=2))
    if outcome.exit_code:
        raise click.exceptions.Exit(outcome.exit_code)


def _save_plan_file(
    path: Path,
    loaded: LoadedPipeline,
    plan: Plan | None,
    run_id: str,
    values: dict[str, str],
    output: str,
) -> None:
    """``plan --out``: write the plan file (nothing when the run made no plan)."""
    if plan is None:
        click.echo(
            f"no plan to save to {printable(path, one_line=True)}: the run did not get to a plan",
            err=True,
        )
        return
    from promoter.pipeline.plan_file import save_plan

    save_plan(path, loaded, plan, run_id=run_id, variables=values)
    if output != "json":
        click.echo(
            printable(
                f"plan saved to {path}; apply exactly it with "
                f"`promoter promote {loaded.display} --plan {path}`",
                one_line=True,
            ),
            err=True,
        )


# --- validate -------------------------------------------------------------------------------------


@click.command(cls=PluginOptionsCommand, short_help="Check a pipeline file; write nothing.")
@click.argument("file", type=click.Path(dir_okay=False))
@pipeline_options
@output_option
@click.pass_context
def validate(
    ctx: click.Context,
    /,
    file: str,
    variables: tuple[str, ...],
    plugins: tuple[str, ...],
    target: str | None,
    output: str,
    **plugin_options: Any,
) -> None:
    """Check a pipeline file: template, YAML, keys, types, secret references, plugins.

    Exit 0 when valid, 2 with every problem (file:line: key: message) when not. Nothing is written.
    """
    hooks = command_hooks(ctx, plugins, "validate")
    loaded = load(hooks, file, var_values(variables))
    pipeline = loaded.pipeline
    if target is not None:
        from promoter.errors import ConfigurationError

        try:
            pipeline.select_target(target)
        except KeyError:
            raise ConfigurationError(f"pipeline {file} has no target {target!r}") from None
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "valid": True,
                    "file": file,
                    "name": pipeline.name,
                    "kind": pipeline.kind,
                    "sha256": loaded.sha256,
                    "source": pipeline.source_ref().key,
                    "targets": [pipeline.target_ref(t).key for t in pipeline.targets],
                    "sections": sorted(loaded.sections),
                    "plugins": loaded.plugins,
                },
                indent=2,
            )
        )
    else:
        targets = ", ".join(pipeline.target_ref(t).key for t in pipeline.targets)
        click.echo(
            printable(
                f"{file}: valid {pipeline.kind} pipeline {pipeline.name!r} "
                f"({pipeline.source_ref()} -> {targets})",
                one_line=True,
            )
        )


# --- plan / promote -------------------------------------------------------------------------------


@click.command(cls=PluginOptionsCommand, short_help="Show what a promotion would change.")
@click.argument("file", type=click.Path(dir_okay=False))
@pipeline_options
@click.option("--reason", default=None, help="Why (recorded in the ledger).")
@click.option(
    "--release",
    "release",
    default=None,
    metavar="ID",
    help="Promote exactly this release (`promoter release list`); the source is not read.",
)
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="PLAN.json",
    help="Save the plan for review; `promoter promote FILE --plan PLAN.json` applies exactly it.",
)
@ledger_option
@output_option
@click.pass_context
def plan(
    ctx: click.Context,
    /,
    file: str,
    variables: tuple[str, ...],
    plugins: tuple[str, ...],
    target: str | None,
    reason: str | None,
    release: str | None,
    out: str | None,
    ledger_location: str | None,
    output: str,
    **plugin_options: Any,
) -> None:
    """Show what promoting FILE would change on the target (export, map, plan; no write).

    With --out, the plan is saved (with the pipeline file's sha256 and the target) for review and
    for `promoter promote FILE --plan PLAN.json`.
    """
    _promote(
        ctx,
        file,
        variables,
        plugins,
        target,
        reason,
        ledger_location,
        output,
        dry_run=True,
        yes=True,
        lock_wait=None,
        command="plan",
        out=out,
        release=release,
    )


@click.command(cls=PluginOptionsCommand, short_help="Promote a pipeline's artifacts to a target.")
@click.argument("file", type=click.Path(dir_okay=False))
@pipeline_options
@click.option("--dry-run", is_flag=True, help="Stop after the plan and show it; write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--reason", default=None, help="Why this promotion (required for hotfixes).")
@click.option(
    "--release",
    "release",
    default=None,
    metavar="ID",
    help="Promote exactly this release (`promoter release list`); the source is not read.",
)
@only_option
@click.option(
    "--plan",
    "plan_file",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="PLAN.json",
    help="Apply exactly this reviewed plan (from `promoter plan --out`); refused when the "
    "pipeline file or the target changed since.",
)
@lock_wait_option
@ledger_option
@output_option
@click.pass_context
def promote(
    ctx: click.Context,
    /,
    file: str,
    variables: tuple[str, ...],
    plugins: tuple[str, ...],
    target: str | None,
    dry_run: bool,
    yes: bool,
    reason: str | None,
    release: str | None,
    only: tuple[str, ...],
    plan_file: str | None,
    lock_wait: float | None,
    ledger_location: str | None,
    output: str,
    **plugin_options: Any,
) -> None:
    """Promote FILE's artifacts to a target: export, map, plan, gate, snapshot, apply, verify.

    Without --release, a release is made from what export reads (or the existing one with the
    same content is found) and the run promotes it; with --release ID, exactly that release is
    promoted and the source is not read. A target after another in the pipeline's lifecycle
    takes only a release the phase before it verified. --only ARTIFACT[=VERSION] makes a hotfix
    of those artifacts alone: with --reason and an approval it may skip phases, and is marked.

    With --plan, a plan saved by `promoter plan --out` replaces export, map and plan.

    Exit codes: 0 promoted (or nothing to do), 1 failed and rolled back, 2 invalid input
    (also: the pipeline file or the target changed since the --plan was made), 3 rollback
    incomplete, 4 blocked by a gate (or the target is locked), 130 interrupted.
    """
    _promote(
        ctx,
        file,
        variables,
        plugins,
        target,
        reason,
        ledger_location,
        output,
        dry_run=dry_run,
        yes=yes,
        lock_wait=lock_wait,
        command="promote",
        plan_file=plan_file,
        release=release,
        only=only,
    )


_CORE_PROMOTE = {
    "file",
    "variables",
    "plugins",
    "target",
    "dry_run",
    "yes",
    "reason",
    "out",
    "release",
    "only",
    "plan_file",
    "lock_wait",
    "ledger_location",
    "output",
}


def _promote(
    ctx: click.Context,
    /,
    file: str,
    variables: tuple[str, ...],
    plugins: tuple[str, ...],
    target: str | None,
    reason: str | None,
    ledger_location: str | None,
    output: str,
    *,
    dry_run: bool,
    yes: bool,
    lock_wait: float | None,
    command: str,
    out: str | None = None,
    plan_file: str | None = None,
    release: str | None = None,
    only: tuple[str, ...] = (),
) -> None:
    from promoter.context import RunOptions
    from promoter.errors import ConfigurationError

    with reports_when_no_run_began(ctx, command, file, "start"):
        values = var_values(variables)
        saved = None
        if plan_file is not None:
            from promoter.pipeline.plan_file import load_plan

            if dry_run:
                raise ConfigurationError(
                    "--plan applies a reviewed plan; it cannot be combined with --dry-run",
                    hint=f"drop --dry-run (or look at the plan: `promoter plan {file}`)",
                )
            saved = load_plan(Path(plan_file))
            if values and values != saved.variables:
                raise ConfigurationError(
                    f"--var values differ from those {plan_file} was planned with",
                    hint="drop --var: a plan file is applied with the values it was made with",
                )
            values = dict(saved.variables)
            target = target or saved.target.environment

        confirm = None
        if not dry_run and not yes:
            if needs_confirmation(output):
                raise confirmation_refused(
                    "promote",
                    hint="pass --yes (after reviewing `promoter plan FILE`), or --dry-run",
                )

            def confirm(plan: Plan) -> bool:
                # The console showed the plan's table when the plan stage ended.
                return click.confirm(
                    f"Apply {len(plan.pending)} change(s) to "
                    f"{printable(plan.target, one_line=True)}?",
                    err=True,
                )

        hooks = command_hooks(ctx, plugins, command)
    with reports_when_no_run_began(ctx, command, file, "load"):
        # With --plan, the values are the plan's own, checked when it was made.
        loaded = load(hooks, file, values, check_names=saved is None)
    with reports_when_no_run_began(ctx, command, file, "start"):
        ledger = open_ledger(ledger_location)
    try:
        with reports_when_no_run_began(ctx, command, file, "start"):
            engine = make_engine(hooks, ledger, lock_wait, command, confirm)
            options = RunOptions(
                dry_run=dry_run,
                yes=yes,
                reason=reason,
                variables=values,
                plugins=absolute_specs(plugins),
                extra=extra_options(ctx, _CORE_PROMOTE),
                release=release,
                only=only_values(only),
            )
            run = engine.context(loaded, target=target, options=options)
            reviewed = None
            if saved is not None and plan_file is not None:
                from promoter.pipeline.plan_file import check_plan

                check_plan(saved, loaded, run.target, Path(plan_file))
                reviewed = saved.plan
            with terminate_as_interrupt():
                outcome = engine.promote(
                    run,
                    reviewed=reviewed,
                    reviewed_from=f"the plan in {plan_file} (made by run {saved.run_id})"
                    if saved is not None
                    else "a reviewed plan",
                )
        from promoter.model import Plan

        body = ledger.document(run.run_id, "plan") if dry_run else None
        planned = Plan.model_validate_json(body) if body else None
        if out is not None:
            _save_plan_file(Path(out), loaded, planned, run.run_id, values, output)
        print_outcome(outcome, output)
    finally:
        ledger.close()


@contextlib.contextmanager
def reports_when_no_run_began(
    ctx: click.Context, command: str, file: str, step: str
) -> Iterator[None]:
    """When the command stops before its run begins (invalid input, a locked target), write
    ``junit.xml`` and ``summary.md`` saying why into the report directory, if one is set
    (``--report-dir``, ``PROMOTER_REPORT_DIR``): no run, so the reports plugin writes nothing,
    and a CI job's test-report step would find no file (:mod:`promoter.cli.invalid_input`).
    ``step`` is ``load`` (the pipeline file) or ``start`` (anything else before the run)."""
    from promoter.errors import PromoterError
    from promoter.ledger import LeaseLost

    try:
        yield
    except LeaseLost:
        raise  # the run began: it is in the ledger, interrupted
    except PromoterError as exc:
        directory = ctx.params.get("report_dir")
        if directory:
            from promoter.cli.invalid_input import InvalidInput, write_invalid_input_reports

            try:
                report = InvalidInput(command, file, exc, step=step)
                write_invalid_input_reports(Path(directory), report)
            except OSError as error:
                click.echo(
                    printable(
                        f"warning: no report written to {directory}: {error.strerror or error}",
                        one_line=True,
                    ),
                    err=True,
                )
        raise


# --- resume ----------------------------------------------------------------------------------


def reopen_run(
    ctx: click.Context,
    run_id: str,
    ledger: Ledger,
    plugins: tuple[str, ...],
    command: str,
    *,
    allow_changed: bool,
) -> tuple[Engine, Any, Any]:
    """The engine, run context and record of an earlier run (its pipeline and plugins reloaded)."""
    from promoter.context import RunOptions
    from promoter.errors import RunStateError

    record = ledger.get_run(run_id)
    stored_plugins = tuple(record.options.get("cli_plugins", []))
    hooks = command_hooks(ctx, (*stored_plugins, *plugins), command)
    # The run's own --var values: checked when it started (the file may have changed since).
    loaded = load(hooks, record.pipeline_file, dict(record.variables), check_names=False)
    if loaded.sha256 != record.pipeline_sha256 and not allow_changed:
        raise RunStateError(
            f"the pipeline file {record.pipeline_file} changed since run {record.id} started",
            hint="restore it (git), or pass --force to continue with the file as it is now",
        )
    engine = make_engine(hooks, ledger, ctx.params.get("lock_wait"), command)
    core = {"target", "plugins", "cli_plugins", "kind", "release", "only"}
    extra = {k: v for k, v in record.options.items() if k not in core}
    options = RunOptions(
        yes=True,
        reason=record.reason,
        variables=dict(record.variables),
        plugins=(*stored_plugins, *plugins),
        extra=extra,
        release=record.options.get("release"),
        only=dict(record.options.get("only") or {}),
    )
    run = engine.context(
        loaded,
        target=record.options.get("target"),
        options=options,
        run_id=record.id,
    )
    return engine, run, record


@click.command(short_help="Continue an interrupted run.")
@click.argument("run_id", metavar="RUN")
@click.option(
    "-p",
    "--plugin",
    "plugins",
    multiple=True,
    metavar="MODULE",
    help="Load another plugin (the run's own -p plugins are loaded again).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Resume even if the pipeline file changed, or a later run changed the same target "
    "(resuming then writes this run's plan over that run's changes).",
)
@lock_wait_option
@ledger_option
@output_option
@click.pass_context
def resume(
    ctx: click.Context,
    run_id: str,
    plugins: tuple[str, ...],
    force: bool,
    lock_wait: float | None,
    ledger_location: str | None,
    output: str,
) -> None:
    """Continue an interrupted run (Ctrl-C, or a process that died) from where it stopped.

    The run's plan and snapshot are reused; objects already applied are skipped, and smoke
    executions the interrupted attempt started are waited for, not started again.

    Refused (exit 2, nothing written) when a later run changed the same target: resuming would
    undo part of it. Roll that run back first, or pass --force. Other exit codes as `promote`.
    """
    ledger = open_ledger(ledger_location)
    try:
        engine, run, record = reopen_run(
            ctx, run_id, ledger, plugins, "resume", allow_changed=force
        )
        with terminate_as_interrupt():
            outcome = engine.resume(run, record, force=force)
        print_outcome(outcome, output)
    finally:
        ledger.close()


__all__ = [
    "plan",
    "print_outcome",
    "promote",
    "reopen_run",
    "reports_when_no_run_began",
    "resume",
    "validate",
]
