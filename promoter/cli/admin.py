"""Looking after promoter itself: ``promoter plugins`` and ``promoter unlock``."""

from __future__ import annotations

import json

import click

from promoter.cli.options import command_hooks, ledger_option, load, open_ledger, output_option
from promoter.terminal import printable

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
    hooks = command_hooks(ctx, plugins, "plugins")
    if file is not None:
        load(hooks, file, {})
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

    ledger = open_ledger(ledger_location)
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


__all__ = ["plugins", "unlock"]
