"""The ``promoter`` command line.

Subcommands are registered by import path in :data:`COMMANDS` and imported only when invoked, so
that ``promoter --version`` and ``promoter --help`` stay fast (no pydantic, httpx or FastAPI at
start-up). Each subcommand lives next to the concept it drives.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from promoter.__about__ import __version__

#: command name -> "module:attribute" of a click command. Kept sorted by name.
COMMANDS: dict[str, str] = {
    "diff": "promoter.talend_commands:diff",
    "export": "promoter.talend_commands:export",
    "history": "promoter.commands:history",
    "ledger": "promoter.ledger_commands:ledger",
    "init": "promoter.scaffold:init",
    "logs": "promoter.monitoring:logs",
    "plan": "promoter.commands:plan",
    "plugins": "promoter.commands:plugins",
    "promote": "promoter.commands:promote",
    "resume": "promoter.commands:resume",
    "rollback": "promoter.commands:rollback",
    "runs": "promoter.monitoring:runs",
    "sandbox": "promoter.sandbox.cli:sandbox",
    "show": "promoter.commands:show",
    "unlock": "promoter.commands:unlock",
    "validate": "promoter.commands:validate",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy_commands:
            module_name, _, attr = self.lazy_commands[cmd_name].partition(":")
            command = getattr(importlib.import_module(module_name), attr)
            if not isinstance(command, click.Command):
                raise TypeError(f"{self.lazy_commands[cmd_name]} is not a click command")
            return command
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy_commands=COMMANDS)
@click.version_option(__version__, prog_name="promoter")
def cli() -> None:
    """Promote data-integration releases through Talend Cloud environments."""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``promoter`` script: maps promoter's errors to exit codes."""
    from promoter.errors import PromoterError

    try:
        # Without standalone mode, click returns (rather than raises) a command's exit code.
        code = cli.main(args=argv, prog_name="promoter", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2 if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except PromoterError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(int(exc.exit_code))
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
