"""The ``promoter`` command line.

promoter's own commands are registered by import path in :data:`COMMANDS` and imported only when
invoked, so that ``promoter --version`` and ``promoter --help`` stay fast (no pydantic, httpx or
FastAPI at start-up). Plugins add commands through ``promoter_register_commands`` (the Talend
plugin adds ``diff``, ``export``, ``executions``, ``logs`` and ``sandbox``); they are looked up
only when a name is not one of promoter's own.

- :mod:`promoter.cli.options` — the options and plumbing every command shares (one ``--output``,
  one JSON error shape);
- :mod:`promoter.cli.run` — validate, plan, promote, resume;
- :mod:`promoter.cli.rollback` — rollback, previewed first;
- :mod:`promoter.cli.history` — history, show;
- :mod:`promoter.cli.releases` — release create, list, show; status;
- :mod:`promoter.cli.dashboard` — the release dashboard (static site or served);
- :mod:`promoter.cli.admin` — plugins, unlock;
- :mod:`promoter.cli.ledger` — ledger migrate, export, import;
- :mod:`promoter.cli.init` — init (scaffolding).
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
from typing import Any

import click

from promoter.__about__ import __version__

#: command name -> "module:attribute" of a click command. Kept sorted by name.
COMMANDS: dict[str, str] = {
    "dashboard": "promoter.cli.dashboard:dashboard",
    "history": "promoter.cli.history:history",
    "init": "promoter.cli.init:init",
    "ledger": "promoter.cli.ledger:ledger",
    "plan": "promoter.cli.run:plan",
    "plugins": "promoter.cli.admin:plugins",
    "promote": "promoter.cli.run:promote",
    "release": "promoter.cli.releases:release",
    "resume": "promoter.cli.run:resume",
    "rollback": "promoter.cli.rollback:rollback",
    "show": "promoter.cli.history:show",
    "status": "promoter.cli.releases:status",
    "unlock": "promoter.cli.admin:unlock",
    "validate": "promoter.cli.run:validate",
}

_PLUGIN_COMMANDS_KEY = "promoter.plugin_commands"


def _resolve(name: str, target: click.Command | str) -> click.Command:
    if isinstance(target, click.Command):
        return target
    module_name, _, attr = target.partition(":")
    command = getattr(importlib.import_module(module_name), attr)
    if not isinstance(command, click.Command):
        raise TypeError(f"{target} (command {name!r}) is not a click command")
    return command


def plugin_commands(ctx: click.Context) -> dict[str, tuple[click.Command | str, str]]:
    """Commands plugins register: name -> (command or ``"module:attr"``, plugin name)."""
    root = ctx.find_root()
    found = root.meta.get(_PLUGIN_COMMANDS_KEY)
    if found is not None:
        return dict(found)
    from promoter.cli.options import base_plugin_manager
    from promoter.errors import PluginError
    from promoter.hooks.calls import PromoterHooks

    hooks = PromoterHooks(base_plugin_manager(ctx))
    registered: dict[str, tuple[click.Command | str, str]] = {}

    def register(name: str, command: click.Command | str) -> None:
        owner = hooks.calling_plugin("promoter_register_commands") or "?"
        if name in COMMANDS:
            raise PluginError(owner, f"plugin {owner!r} registers command {name!r}, one of promoter's own")
        if name in registered and registered[name][1] != owner:
            raise PluginError(
                owner,
                f"command {name!r} is registered by both plugin {registered[name][1]!r} and "
                f"plugin {owner!r}",
                hint="uninstall or disable (PROMOTER_DISABLE_PLUGINS) one of them",
            )
        registered[name] = (command, owner)

    hooks.register_commands(register)
    root.meta[_PLUGIN_COMMANDS_KEY] = registered
    return dict(registered)


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use; plugins may add commands."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        from promoter.errors import PromoterError

        names = {*super().list_commands(ctx), *self.lazy_commands}
        try:
            names.update(plugin_commands(ctx))
        except PromoterError as exc:  # a broken plugin must not hide promoter's own commands
            click.echo(f"warning: plugin commands unavailable: {exc}", err=True)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self._find_command(ctx, cmd_name)
        if command is not None and not getattr(command, "ends_startup", False):
            # Its module is imported and its parsing is cheap: the command's work begins.
            startup_done()
        return command

    def _find_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            return _resolve(cmd_name, self.lazy_commands[cmd_name])
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        found = plugin_commands(ctx).get(cmd_name)
        return _resolve(cmd_name, found[0]) if found is not None else None


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.version_option(__version__, prog_name="promoter")
def cli() -> None:
    """Promote data-integration releases through Talend Cloud environments."""


def _wants_json(argv: list[str]) -> bool:
    return any(
        arg == "--output=json" or (arg == "--output" and nxt == "json")
        for arg, nxt in zip(argv, [*argv[1:], ""], strict=True)
    )


class _StderrLines(logging.Handler):
    """promoter's INFO lines (the Talend client's ``retrying 1/7 GET https://...``) on standard
    error, as ``talend: ...``; written to ``sys.stderr`` as it is at each line, so that a live
    console that redirects it keeps them above its display."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            from promoter.terminal import printable

            source = record.name.removeprefix("promoter.").split(".")[0]
            sys.stderr.write(f"{source}: {printable(record.getMessage(), one_line=True)}\n")
            sys.stderr.flush()
        except Exception:  # a log line must never break a command
            self.handleError(record)


def show_library_lines() -> None:
    """Show promoter's INFO log lines on standard error — unless logging is configured already
    (by a program embedding promoter, or pytest)."""
    library = logging.getLogger("promoter")
    if logging.getLogger().handlers or any(isinstance(h, _StderrLines) for h in library.handlers):
        return
    library.setLevel(logging.INFO)
    library.addHandler(_StderrLines(logging.INFO))


_starting = False


def startup_done() -> None:
    """The command's start-up is over (its modules imported, its plugins loaded, its arguments
    parsed): collect garbage again, leaving what start-up made out of every collection.

    Called by every command before it begins its work (see :func:`main`); does nothing in a
    process where :func:`main` did not start as the program, and after the first call.
    """
    global _starting
    if _starting:
        _starting = False
        gc.freeze()
        gc.enable()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``promoter`` script: maps promoter's errors to exit codes.

    As the program (``argv`` is ``None``), it runs without the garbage collector until the
    command's start-up is over (:func:`startup_done`): start-up makes objects that live as long
    as the process (modules, classes, pydantic's validators), so a collection then frees nothing
    and walks all of them — about a tenth of a second of a hotfix. For the same reason the
    objects alive at exit are frozen, so that the interpreter's last collection skips them.
    """
    global _starting
    if argv is None and gc.isenabled():
        _starting = True
        gc.disable()
    show_library_lines()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        _run(args)
    finally:
        startup_done()
        if argv is None:
            gc.freeze()


def _run(args: list[str]) -> None:
    from promoter.errors import PromoterError

    try:
        # Without standalone mode, click returns (rather than raises) a command's exit code.
        code = cli.main(args=args, prog_name="promoter", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        if _wants_json(args):
            from promoter.cli.options import echo_json, error_document

            echo_json(error_document(exc))
        exc.show()
        sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PromoterError as exc:
        if _wants_json(args):
            from promoter.cli.options import echo_json, error_document

            echo_json(error_document(exc))
        click.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
