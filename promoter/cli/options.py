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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

if TYPE_CHECKING:
    from promoter.engine import Engine
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


def load(hooks: PromoterHooks, file: str, variables: dict[str, str]) -> LoadedPipeline:
    """Load a pipeline file with the command's plugins."""
    from promoter.pipeline import load_pipeline

    return load_pipeline(file, variables=variables, hooks=hooks)


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
