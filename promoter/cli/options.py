"""What every command shares: one ``--output`` option and one JSON error shape, the common
options, and the plumbing from command-line arguments to plugins, pipeline, ledger and engine.

Commands of plugins (``promoter_register_commands``) use these too, so that every command reads
and fails alike.
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

if TYPE_CHECKING:
    from promoter.engine import Engine
    from promoter.errors import PromoterError
    from promoter.hooks.calls import PromoterHooks
    from promoter.hooks.manager import PromoterPluginManager
    from promoter.ledger import Ledger
    from promoter.model import Plan
    from promoter.pipeline import LoadedPipeline

F = TypeVar("F", bound=Callable[..., Any])

_PM_KEY = "promoter.plugin_manager"


# --- plugins --------------------------------------------------------------------------------------


def use_plugin_manager(ctx: click.Context, pm: PromoterPluginManager) -> None:
    """Run the command line with ``pm`` instead of building one (for test kits and embedders)."""
    ctx.find_root().meta[_PM_KEY] = pm


def base_plugin_manager(ctx: click.Context) -> PromoterPluginManager:
    """Built-in and entry-point plugins, built once per command invocation."""
    root = ctx.find_root()
    pm = root.meta.get(_PM_KEY)
    if pm is None:
        from promoter.hooks.manager import get_plugin_manager

        pm = get_plugin_manager(load_entrypoints=True)
        root.meta[_PM_KEY] = pm
    return cast("PromoterPluginManager", pm)


class PluginOptionsCommand(click.Command):
    """A command whose options include those plugins contribute (``promoter_add_cli_options``)."""

    ends_startup = True
    """Its start-up includes loading the plugins, when its arguments are parsed: it ends once
    they are (:func:`promoter.cli.startup_done`), not when the command is found."""

    def invoke(self, ctx: click.Context) -> Any:
        from promoter.cli import startup_done

        startup_done()
        return super().invoke(ctx)

    def get_params(self, ctx: click.Context) -> list[click.Parameter]:
        """The command's own parameters, then the plugins' (cached per invocation)."""
        params = super().get_params(ctx)
        cache_key = f"promoter.plugin_params.{self.name}"
        extra = ctx.meta.get(cache_key)
        if extra is None:
            from promoter.hooks.calls import PromoterHooks

            hooks = PromoterHooks(base_plugin_manager(ctx))
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
        from promoter.errors import PromoterError

        try:
            return fn(*args, output=output, **kwargs)
        except PromoterError as exc:
            if output != "json":
                raise
            click.echo(json.dumps(error_document(exc), indent=2))
            # The JSON is for the program reading standard output; a CI log shows standard
            # error, where the person reading it needs the message too.
            echo_error(exc)
            raise click.exceptions.Exit(int(exc.exit_code)) from exc

    return cast(F, wrapper)


def error_document(exc: Exception) -> dict[str, Any]:
    """The one JSON shape of an error, whatever the command: ``error``, ``hint``, ``exit_code``,
    ``type`` (and ``problems`` for an invalid pipeline file)."""
    from promoter.errors import PipelineError, PromoterError

    if isinstance(exc, PromoterError):
        document: dict[str, Any] = {
            "error": exc.message,
            "hint": exc.hint,
            "exit_code": int(exc.exit_code),
            "type": type(exc).__name__,
        }
        if isinstance(exc, PipelineError):
            document["problems"] = [p.to_dict() for p in exc.problems]
        return document
    if isinstance(exc, click.ClickException):  # a bad argument, before the command ran
        return {
            "error": exc.format_message(),
            "hint": "see `promoter COMMAND --help`",
            "exit_code": 2,
            "type": type(exc).__name__,
        }
    return {"error": str(exc), "hint": None, "exit_code": 1, "type": type(exc).__name__}


def echo_json(document: Any) -> None:
    """Print one JSON document on standard output (what ``--output json`` prints)."""
    click.echo(json.dumps(document, indent=2))


def echo_error(exc: Exception) -> None:
    """``error: MESSAGE`` (and its hint) on standard error, as every command fails."""
    from promoter.terminal import printable

    click.echo(f"error: {printable(str(exc))}", err=True)


def confirmation_refused(command: str, hint: str) -> PromoterError:
    """The error of a command that asks before writing but cannot ask: no terminal, or
    ``--output json`` (a prompt would mix with the document). ``promote`` and ``rollback``
    refuse alike, with one exit code (docs/ci.md)."""
    from promoter.errors import ConfigurationError

    return ConfigurationError(
        f"{command} asks for confirmation, but there is no terminal to ask on", hint=hint
    )


def needs_confirmation(output: str) -> bool:
    """Whether a command that asks before writing cannot ask here (see
    :func:`confirmation_refused`)."""
    return output == "json" or not sys.stdin.isatty()


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


def only_values(pairs: tuple[str, ...]) -> dict[str, str | None]:
    """``--only NAME[=VERSION]`` pairs: artifact name -> version (``None``: the pipeline's)."""
    from promoter.errors import ConfigurationError

    only: dict[str, str | None] = {}
    for pair in pairs:
        name, sep, version = pair.partition("=")
        if not name.strip() or (sep and not version.strip()):
            raise ConfigurationError(
                f"--only {pair!r}: expected ARTIFACT or ARTIFACT=VERSION",
                hint="e.g. --only finance_daily_load or --only finance_daily_load=0.2.1",
            )
        only[name.strip()] = version.strip() or None
    return only


def only_option(fn: F) -> F:
    """``--only ARTIFACT[=VERSION]`` (repeatable): a hotfix of these artifacts alone."""
    return click.option(
        "--only",
        "only",
        multiple=True,
        metavar="ARTIFACT[=VERSION]",
        help="A hotfix of this artifact alone (repeatable); needs --reason and, to skip "
        "lifecycle phases, an approval.",
    )(fn)


def lock_wait_option(fn: F) -> F:
    """``--lock-wait SECONDS``."""
    return click.option(
        "--lock-wait",
        type=click.FloatRange(min=0),
        default=None,
        metavar="SECONDS",
        help="How long to wait for another run's lock on the target [env PROMOTER_LOCK_WAIT; default 30].",
    )(fn)


# --- what commands share --------------------------------------------------------------------------


def command_hooks(
    ctx: click.Context, plugins: tuple[str, ...] | list[str], command: str
) -> PromoterHooks:
    """The plugin hooks of one command: built-ins, entry points, ``-p`` plugins; configured."""
    from promoter.hooks.calls import PromoterHooks
    from promoter.model import PromoterConfig

    pm = base_plugin_manager(ctx)
    for spec in plugins:
        pm.load_module(spec, source="cli")
    pm.check()
    hooks = PromoterHooks(pm)
    hooks.configure(PromoterConfig(command=command, cwd=Path.cwd(), options=dict(ctx.params)))
    return hooks


def load(
    hooks: PromoterHooks, file: str, variables: dict[str, str], *, check_names: bool = True
) -> LoadedPipeline:
    """Load a pipeline file with the command's plugins.

    With ``check_names`` (``--var`` values from the command line), a name the file neither reads
    nor declares under ``values:`` is refused (:func:`unknown_variables`): a misspelt
    ``--var verison=1.2`` would otherwise be ignored, and the plan use the default.
    """
    from promoter.errors import PipelineError
    from promoter.pipeline import load_pipeline

    unknown, known = unknown_variables(file, variables) if check_names else (set(), set())
    try:
        loaded = load_pipeline(file, variables=variables, hooks=hooks)
    except PipelineError as exc:
        # A misspelt name often leaves the one the file needs undefined: say which was misspelt.
        if unknown and any("undefined variable" in p.message for p in exc.problems):
            raise unknown_variables_error(unknown, known) from exc
        raise
    if unknown:
        declared = declared_values(loaded.pipeline)
        if unknown - declared:
            raise unknown_variables_error(unknown - declared, known | declared)
    return loaded


def unknown_variables(file: str, variables: dict[str, str]) -> tuple[set[str], set[str]]:
    """``(the names in variables the file's template does not read, the names it reads)``;
    nothing is unknown when the file cannot be parsed (loading it says why) or reads ``vars``
    as a whole."""
    from promoter.errors import PipelineError
    from promoter.pipeline.loader import template_variables

    if not variables:
        return set(), set()
    try:
        known = template_variables(file)
    except PipelineError:
        return set(), set()
    if "vars" in known:
        return set(), known - {"vars"}
    return set(variables) - known, known


def declared_values(pipeline: Any) -> set[str]:
    """The names of the pipeline's ``values:`` and its targets' (a ``--var`` overrides them)."""
    names = set(pipeline.values)
    for target in pipeline.targets:
        names.update(target.values)
    return names


def unknown_variables_error(unknown: set[str], known: set[str]) -> PromoterError:
    """``unknown variable 'verison' (the pipeline uses: version)``, exit 2."""
    from promoter.errors import ConfigurationError
    from promoter.terminal import printable

    listed = ", ".join(repr(n) for n in sorted(unknown))
    uses = ", ".join(sorted(known)) or "no variables"
    return ConfigurationError(
        printable(
            f"unknown variable{'s' if len(unknown) > 1 else ''} {listed} "
            f"(the pipeline uses: {uses})",
            one_line=True,
        ),
        hint="check the spelling: --var sets a name the pipeline file reads ({{ NAME }}, "
        "{{ vars.NAME }}, {{ values.NAME }}) or declares under values:",
    )


def var_values(pairs: tuple[str, ...]) -> dict[str, str]:
    """``--var`` pairs as a dict (a pair without ``=`` is a settings error)."""
    from promoter.errors import ConfigurationError
    from promoter.pipeline import parse_variables

    try:
        return parse_variables(pairs)
    except ValueError as exc:
        raise ConfigurationError(str(exc), hint="write --var name=value") from None


def open_ledger(location: str | None) -> Ledger:
    """The ledger at ``--ledger`` (default: ``PROMOTER_LEDGER``, then ``.promoter/ledger.db``)."""
    from promoter import ledger

    return ledger.open_ledger(location)


def absolute_specs(specs: tuple[str, ...]) -> tuple[str, ...]:
    """``-p`` specs with file paths made absolute (a resumed run loads them from elsewhere)."""
    from promoter.hooks.manager import looks_like_path

    return tuple(str(Path(s).resolve()) if looks_like_path(s) else s for s in specs)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job) stops a run like Ctrl-C: rolled back or left resumable."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def make_engine(
    hooks: PromoterHooks,
    ledger: Ledger,
    lock_wait: float | None,
    command: str,
    confirm: Callable[[Plan], bool] | None = None,
) -> Engine:
    """The engine a command runs its run with."""
    from promoter.engine import Engine

    return Engine(hooks, ledger, lock_wait=lock_wait, confirm=confirm, command=command)


def extra_options(ctx: click.Context, core: set[str]) -> dict[str, Any]:
    """The values of the options plugins added to this command."""
    return {k: v for k, v in ctx.params.items() if k not in core}
