"""The engine's commands: validate, plan, promote, resume, rollback, history, show, plugins, unlock.

Registered lazily in :data:`promoter.cli.COMMANDS`; heavy imports (pydantic, the engine) happen
inside the command functions so that ``promoter --help`` stays fast. Every command takes
``--output json`` and then prints one JSON document on standard output (errors included); human
output goes to standard error for progress and standard output for results. Text output shows
data (names, messages, keys, reasons: they come from pipeline files, Talend and the ledger)
through :func:`promoter.terminal.printable`, so that no escape sequence in them reaches a terminal.
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from promoter.terminal import printable

if TYPE_CHECKING:
    from promoter.engine import Engine
    from promoter.hooks import PromoterHooks
    from promoter.ledger import Ledger
    from promoter.pipeline import LoadedPipeline
    from promoter.plugins import PromoterPluginManager
    from promoter.run import Plan, RunOutcome

F = TypeVar("F", bound=Callable[..., Any])

_PM_KEY = "promoter.plugin_manager"


# --- shared plumbing ------------------------------------------------------------------------------


def _base_plugin_manager(ctx: click.Context) -> PromoterPluginManager:
    """Built-in and entry-point plugins, built once per command invocation."""
    root = ctx.find_root()
    pm = root.meta.get(_PM_KEY)
    if pm is None:
        from promoter.plugins import get_plugin_manager

        pm = get_plugin_manager(load_entrypoints=True)
        root.meta[_PM_KEY] = pm
    return cast("PromoterPluginManager", pm)


class PluginOptionsCommand(click.Command):
    """A command whose options include those plugins contribute (``promoter_add_cli_options``)."""

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        """The command's own parameters, then the plugins' (cached per invocation)."""
        params = super().get_params(ctx)
        cache_key = f"promoter.plugin_params.{self.name}"
        extra = ctx.meta.get(cache_key)
        if extra is None:
            from promoter.hooks import PromoterHooks

            hooks = PromoterHooks(_base_plugin_manager(ctx))
            taken = {p.name for p in params}
            extra = [p for p in hooks.add_cli_options(self.name or "") if p.name not in taken]
            ctx.meta[cache_key] = extra
        return [*params, *extra]


def output_option(fn: F) -> F:
    """``--output text|json``; with json, errors are printed as JSON on standard output too."""

    @click.option(
        "--output",
        "output",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Output format.",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, output: str, **kwargs: Any) -> Any:
        from promoter.errors import PipelineError, PromoterError

        try:
            return fn(*args, output=output, **kwargs)
        except PromoterError as exc:
            if output != "json":
                raise
            document: dict[str, Any] = {
                "error": exc.message,
                "hint": exc.hint,
                "exit_code": int(exc.exit_code),
                "type": type(exc).__name__,
            }
            if isinstance(exc, PipelineError):
                document["problems"] = [p.to_dict() for p in exc.problems]
            click.echo(json.dumps(document, indent=2))
            raise click.exceptions.Exit(int(exc.exit_code)) from exc

    return cast(F, wrapper)


def ledger_option(fn: F) -> F:
    """``--ledger PATH|URL`` (default: ``PROMOTER_LEDGER``, then ``.promoter/ledger.db``)."""
    return click.option(
        "--ledger",
        "ledger_location",
        default=None,
        metavar="PATH|URL",
        help="Ledger location: a path, sqlite:///path or postgresql://... [env PROMOTER_LEDGER; default .promoter/ledger.db].",
    )(fn)


def pipeline_options(fn: F) -> F:
    """``--var``, ``-p`` and ``--target``."""
    for decorator in reversed(
        [
            click.option(
                "--var",
                "variables",
                multiple=True,
                metavar="NAME=VALUE",
                help="A template variable for the pipeline file (repeatable).",
            ),
            click.option(
                "-p",
                "--plugin",
                "plugins",
                multiple=True,
                metavar="MODULE",
                help="Load a plugin: a module name or a .py path (repeatable).",
            ),
            click.option(
                "--target",
                "target",
                default=None,
                metavar="ENV",
                help="The target environment (default: the pipeline's first target).",
            ),
        ]
    ):
        fn = decorator(fn)
    return fn


def lock_wait_option(fn: F) -> F:
    """``--lock-wait SECONDS``."""
    return click.option(
        "--lock-wait",
        type=click.FloatRange(min=0),
        default=None,
        metavar="SECONDS",
        help="How long to wait for another run's lock on the target [env PROMOTER_LOCK_WAIT; default 30].",
    )(fn)


def _hooks(ctx: click.Context, plugins: tuple[str, ...] | list[str], command: str) -> PromoterHooks:
    from promoter.hooks import PromoterHooks
    from promoter.plugins import PromoterConfig

    pm = _base_plugin_manager(ctx)
    for spec in plugins:
        pm.load_module(spec, source="cli")
    pm.check()
    hooks = PromoterHooks(pm)
    hooks.configure(PromoterConfig(command=command, cwd=Path.cwd(), options=dict(ctx.params)))
    return hooks


def _load(hooks: PromoterHooks, file: str, variables: dict[str, str]) -> LoadedPipeline:
    from promoter.pipeline import load_pipeline

    return load_pipeline(file, variables=variables, hooks=hooks)


def _variables(pairs: tuple[str, ...]) -> dict[str, str]:
    from promoter.errors import ConfigurationError
    from promoter.pipeline import parse_variables

    try:
        return parse_variables(pairs)
    except ValueError as exc:
        raise ConfigurationError(str(exc), hint="write --var name=value") from None


def _ledger(location: str | None) -> Ledger:
    from promoter.ledger import open_ledger

    return open_ledger(location)


def _absolute_specs(specs: tuple[str, ...]) -> tuple[str, ...]:
    from promoter.plugins import _looks_like_path

    return tuple(str(Path(s).resolve()) if _looks_like_path(s) else s for s in specs)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job) stops a run like Ctrl-C: rolled back or left resumable."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _finish(outcome: RunOutcome, output: str, plan: Plan | None = None) -> None:
    if output == "json":
        document = outcome.model_dump(mode="json")
        if plan is not None:
            document["plan"] = plan.model_dump(mode="json")
        click.echo(json.dumps(document, indent=2))
    else:
        if plan is not None:
            click.echo(format_plan(plan))
        click.echo(f"run {outcome.run_id}: {outcome.status.value} - {printable(outcome.message)}")
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
    from promoter.plan_file import save_plan

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


def format_plan(plan: Plan) -> str:
    """The plan as a text table: action, object, changed fields (data shown, never obeyed)."""
    lines = [
        f"plan for {printable(plan.target, one_line=True)}: "
        + ", ".join(f"{n} {a}" for a, n in plan.summary().items())
    ]
    for change in plan.changes:
        fields = ", ".join(f.path for f in change.fields)
        lines.append(
            f"  {change.action.value:<9} "
            + printable(f"{change.kind}:{change.key}", one_line=True)
            + (f"  ({printable(fields, one_line=True)})" if fields else "")
        )
    return "\n".join(lines)


def _engine(
    hooks: PromoterHooks,
    ledger: Ledger,
    lock_wait: float | None,
    command: str,
    confirm: Callable[[Plan], bool] | None = None,
) -> Engine:
    from promoter.engine import Engine

    return Engine(hooks, ledger, lock_wait=lock_wait, confirm=confirm, command=command)


def _extra_options(ctx: click.Context, core: set[str]) -> dict[str, Any]:
    return {k: v for k, v in ctx.params.items() if k not in core}


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
    hooks = _hooks(ctx, plugins, "validate")
    loaded = _load(hooks, file, _variables(variables))
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
    )


@click.command(cls=PluginOptionsCommand, short_help="Promote a pipeline's artifacts to a target.")
@click.argument("file", type=click.Path(dir_okay=False))
@pipeline_options
@click.option("--dry-run", is_flag=True, help="Stop after the plan and show it; write nothing.")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking for confirmation.")
@click.option("--reason", default=None, help="Why this promotion (required for hotfixes).")
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
    plan_file: str | None,
    lock_wait: float | None,
    ledger_location: str | None,
    output: str,
    **plugin_options: Any,
) -> None:
    """Promote FILE's artifacts to a target: export, map, plan, gate, snapshot, apply, verify.

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
) -> None:
    from promoter.errors import ConfigurationError
    from promoter.run import RunOptions

    values = _variables(variables)
    saved = None
    if plan_file is not None:
        from promoter.plan_file import load_plan

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
        if not sys.stdin.isatty() or output == "json":
            raise ConfigurationError(
                "promote asks for confirmation, but there is no terminal",
                hint="pass --yes (after reviewing `promoter plan FILE`), or --dry-run",
            )

        def confirm(plan: Plan) -> bool:
            click.echo(format_plan(plan), err=True)
            return click.confirm(
                f"Apply {len(plan.pending)} change(s) to {printable(plan.target, one_line=True)}?",
                err=True,
            )

    hooks = _hooks(ctx, plugins, command)
    loaded = _load(hooks, file, values)
    ledger = _ledger(ledger_location)
    try:
        engine = _engine(hooks, ledger, lock_wait, command, confirm)
        options = RunOptions(
            dry_run=dry_run,
            yes=yes,
            reason=reason,
            variables=values,
            plugins=_absolute_specs(plugins),
            extra=_extra_options(ctx, _CORE_PROMOTE),
        )
        run = engine.context(loaded, target=target, options=options)
        reviewed = None
        if saved is not None and plan_file is not None:
            from promoter.plan_file import check_plan

            check_plan(saved, loaded, run.target, Path(plan_file))
            reviewed = saved.plan
        with _terminate_as_interrupt():
            outcome = engine.promote(
                run,
                reviewed=reviewed,
                reviewed_from=f"the plan in {plan_file} (made by run {saved.run_id})"
                if saved is not None
                else "a reviewed plan",
            )
        from promoter.run import Plan

        body = ledger.document(run.run_id, "plan") if dry_run else None
        planned = Plan.model_validate_json(body) if body else None
        if out is not None:
            _save_plan_file(Path(out), loaded, planned, run.run_id, values, output)
        _finish(outcome, output, planned)
    finally:
        ledger.close()


# --- resume / rollback ----------------------------------------------------------------------------


def _reopen(
    ctx: click.Context,
    run_id: str,
    ledger: Ledger,
    plugins: tuple[str, ...],
    command: str,
    *,
    allow_changed: bool,
) -> tuple[Engine, Any, Any]:
    """The engine, run context and record of an earlier run (its pipeline and plugins reloaded)."""
    from promoter.errors import RunStateError
    from promoter.run import RunOptions

    record = ledger.get_run(run_id)
    stored_plugins = tuple(record.options.get("cli_plugins", []))
    hooks = _hooks(ctx, (*stored_plugins, *plugins), command)
    loaded = _load(hooks, record.pipeline_file, dict(record.variables))
    if loaded.sha256 != record.pipeline_sha256 and not allow_changed:
        raise RunStateError(
            f"the pipeline file {record.pipeline_file} changed since run {record.id} started",
            hint="restore it (git), or pass --force to continue with the file as it is now",
        )
    engine = _engine(hooks, ledger, ctx.params.get("lock_wait"), command)
    extra = {
        k: v for k, v in record.options.items() if k not in {"target", "plugins", "cli_plugins"}
    }
    options = RunOptions(
        yes=True,
        reason=record.reason,
        variables=dict(record.variables),
        plugins=(*stored_plugins, *plugins),
        extra=extra,
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
    ledger = _ledger(ledger_location)
    try:
        engine, run, record = _reopen(ctx, run_id, ledger, plugins, "resume", allow_changed=force)
        with _terminate_as_interrupt():
            outcome = engine.resume(run, record, force=force)
        _finish(outcome, output)
    finally:
        ledger.close()


@click.command(short_help="Restore the target to a run's snapshot.")
@click.argument("run_id", metavar="RUN")
@click.option("--reason", default=None, help="Why (recorded in the ledger).")
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
    plugins: tuple[str, ...],
    force: bool,
    lock_wait: float | None,
    ledger_location: str | None,
    output: str,
) -> None:
    """Restore the target to the snapshot taken before RUN applied (today or a week later).

    Works on promoted and interrupted runs. Exit 0 when the target equals the snapshot again,
    3 when the rollback is incomplete; 2 (nothing written) when a later run changed the same
    target, unless --force.
    """
    ledger = _ledger(ledger_location)
    try:
        engine, run, record = _reopen(ctx, run_id, ledger, plugins, "rollback", allow_changed=True)
        with _terminate_as_interrupt():
            outcome = engine.rollback(run, record, reason, force=force)
        _finish(outcome, output)
    finally:
        ledger.close()


# --- history / show -------------------------------------------------------------------------------


@click.command(short_help="List the latest runs.")
@click.option("--target", default=None, metavar="ENV/WORKSPACE", help="Only runs on this target.")
@click.option("--limit", type=click.IntRange(min=1), default=30, show_default=True)
@ledger_option
@output_option
def history(target: str | None, limit: int, ledger_location: str | None, output: str) -> None:
    """List the latest runs, newest first (a dead run shows as interrupted)."""
    ledger = _ledger(ledger_location)
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
    ledger = _ledger(ledger_location)
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


# --- plugins / unlock -----------------------------------------------------------------------------


@click.command(short_help="List plugins and the hooks they implement.")
@click.option(
    "-p", "--plugin", "plugins", multiple=True, metavar="MODULE", help="Also load this plugin."
)
@click.option(
    "--pipeline",
    "file",
    default=None,
    type=click.Path(dir_okay=False),
    help="Also load the local plugins of this pipeline file.",
)
@output_option
@click.pass_context
def plugins(ctx: click.Context, plugins: tuple[str, ...], file: str | None, output: str) -> None:
    """List the plugins: name, where from (distribution and version), hooks implemented."""
    hooks = _hooks(ctx, plugins, "plugins")
    if file is not None:
        _load(hooks, file, {})
    infos = hooks.pm.infos()
    if output == "json":
        click.echo(json.dumps([i.to_dict() for i in infos], indent=2))
        return
    for info in infos:
        origin = info.origin
        where = (
            f"{origin.distribution} {origin.version}" if origin.distribution else origin.location
        )
        click.echo(printable(f"{info.name}  ({origin.source}: {where})", one_line=True))
        click.echo(printable(f"    {', '.join(info.hooks) or '(no hooks)'}", one_line=True))


@click.command(short_help="Force a dead run's lock open (recorded).")
@click.argument("target", metavar="TARGET")
@click.option("--reason", default=None, help="Why (recorded in the lock history).")
@click.option(
    "--force",
    is_flag=True,
    help="Also open the lock of a live holder (needs --reason): it stops before its next write.",
)
@ledger_option
@output_option
def unlock(
    target: str, reason: str | None, force: bool, ledger_location: str | None, output: str
) -> None:
    """Open the lock of TARGET (ENV/WORKSPACE, or ENV when it has one lock); recorded.

    Meant for a holder that is dead but whose lease has not run out (a runner on another host
    that vanished). A live holder — lease valid, and its process (SQLite, this host) or database
    session (PostgreSQL) alive — is refused with exit 4, naming it and how to check it. With
    --force (and --reason) its lock is opened anyway: that run stops before its next write
    (exit 130, shown as interrupted, resumable) and the event is recorded as forced while alive.
    """
    from promoter.engine import current_user
    from promoter.errors import ConfigurationError

    ledger = _ledger(ledger_location)
    try:
        if "/" not in target:
            matches = [
                lock.target for lock in ledger.locks() if lock.target.split("/")[0] == target
            ]
            if len(matches) > 1:
                raise ConfigurationError(
                    f"environment {target!r} has several locks: {', '.join(matches)}",
                    hint="name one as ENV/WORKSPACE",
                )
            target = matches[0] if matches else target
        current = ledger.get_lock(target)
        if force and reason is None and current is not None and current.holder_alive:
            raise ConfigurationError(
                f"--force stops a live run ({current.describe()}); say why with --reason",
                hint=f"promoter unlock {target} --force --reason WHY",
            )
        # The ledger judges the holder again in the transaction that removes the lock.
        previous = ledger.force_unlock(
            target, by=current_user(), reason=reason, spare_live=not force
        )
    finally:
        ledger.close()
    was_alive = previous is not None and previous.holder_alive
    if output == "json":
        click.echo(
            json.dumps(
                {
                    "target": target,
                    "unlocked": previous is not None,
                    "previous_holder": previous.model_dump(mode="json") if previous else None,
                    "holder_was_alive": was_alive,
                },
                indent=2,
            )
        )
    elif previous is None:
        click.echo(f"{printable(target, one_line=True)} was not locked")
    else:
        stopped = (
            f"; that run stops before its next write: `promoter show {previous.run_id}`"
            if was_alive
            else ""
        )
        click.echo(
            printable(
                f"unlocked {target} (was held by {previous.describe()}){stopped}; "
                "recorded in the ledger",
                one_line=True,
            )
        )


__all__ = [
    "history",
    "plan",
    "plugins",
    "promote",
    "resume",
    "rollback",
    "show",
    "unlock",
    "validate",
]
