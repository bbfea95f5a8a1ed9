"""``promoter dashboard FILE… --out DIR | --serve``: the release dashboard.

What runs where (pipelines down, lifecycle phases across: the release and exact versions of
each phase, drift, lock, health since the promotion, the last failed attempt), a page per
release and per run (with its report), failed executions' logs, and trends — as a static site
for a CI artifact or any static host (``--out``), or served live and read-only (``--serve``).
See ``docs/dashboard.md``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from promoter.cli.options import (
    command_hooks,
    echo_json,
    ledger_option,
    load,
    open_ledger,
    output_option,
    terminate_as_interrupt,
    var_values,
)
from promoter.terminal import printable

if TYPE_CHECKING:
    from promoter.dashboard.data import Dashboard


@click.command("dashboard", short_help="The release dashboard: a static site, or served live.")
@click.argument("files", nargs=-1, required=True, metavar="FILE…", type=click.Path(dir_okay=False))
@click.option("--out", "out", default=None, metavar="DIR", type=click.Path(file_okay=False), help="Write the static site into DIR.")
@click.option("--serve", is_flag=True, help="Serve the pages live (read-only) until Ctrl-C.")
@click.option("--host", default="127.0.0.1", show_default=True, help="With --serve: the address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="With --serve: the port (0: any free one).")
@click.option("--token", default=None, metavar="TOKEN", help="With --serve: the bearer token requests must carry; required off loopback [env PROMOTER_DASHBOARD_TOKEN].")
@click.option("--refresh", default=30, show_default=True, type=click.IntRange(1, 3600), metavar="SECONDS", help="With --serve: how often pages reload and the targets are read again.")
@click.option("--no-check", is_flag=True, help="Read the ledger only: no drift, health or logs read from the platform.")
@click.option("--history", "history", default=1000, show_default=True, type=click.IntRange(min=1), metavar="N", help="How many of the latest runs and releases the site holds.")
@click.option("--log-page-size", default=200, show_default=True, type=click.IntRange(1, 200), metavar="LINES", help="Lines per log page.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A template variable for the pipeline files (repeatable).")
@click.option("-p", "--plugin", "plugins", multiple=True, metavar="MODULE", help="Load a plugin (repeatable).")
@ledger_option
@output_option
def dashboard(
    files: tuple[str, ...],
    out: str | None,
    serve: bool,
    host: str,
    port: int,
    token: str | None,
    refresh: int,
    no_check: bool,
    history: int,
    log_page_size: int,
    variables: tuple[str, ...],
    plugins: tuple[str, ...],
    ledger_location: str | None,
    output: str,
) -> None:
    """The release dashboard of the pipelines in FILE…: what runs where, what may move next,
    and why the last run ended as it did.

    \b
    promoter dashboard pipelines/release.yaml --out site/       # a static site (works offline)
    promoter dashboard pipelines/*.yaml --serve                 # live on http://127.0.0.1:8765/
    promoter dashboard pipelines/release.yaml --serve --host 0.0.0.0 --token "$TOKEN"

    Exit 0; 2 when the options, a pipeline file or the ledger are wrong.
    """
    from promoter.dashboard.data import Dashboard, Source
    from promoter.dashboard.site import Site
    from promoter.errors import ConfigurationError

    if (out is None) == (not serve):
        raise ConfigurationError(
            "choose one: --out DIR (a static site) or --serve (live pages)",
            hint="e.g. promoter dashboard pipelines/release.yaml --out site/",
        )
    ctx = click.get_current_context()
    hooks = command_hooks(ctx, plugins, "dashboard")
    unique = list(dict.fromkeys(files))
    values = var_values(variables)
    # One --var may be meant for one of several files: only a single file is checked by name.
    sources = [
        Source(file, load(hooks, file, values, check_names=len(unique) == 1)) for file in unique
    ]
    ledger = open_ledger(ledger_location)
    try:
        board = Dashboard(
            hooks,
            ledger,
            sources,
            check_target=not no_check,
            history=history,
            log_page_size=log_page_size,
        )
        if out is not None:
            written = Site(board).write(Path(out))
            if output == "json":
                echo_json({"out": str(out), "pages": len(written)})
            else:
                click.echo(
                    printable(f"wrote {len(written)} page(s) into {out}: open {Path(out) / 'index.html'}")
                )
            return
        _serve(board, host, port, token or os.environ.get("PROMOTER_DASHBOARD_TOKEN"), refresh)
    finally:
        ledger.close()


def _serve(board: Dashboard, host: str, port: int, token: str | None, refresh: int) -> None:
    """Serve ``board`` until Ctrl-C (or SIGTERM)."""
    from promoter.dashboard.server import DashboardServer
    from promoter.dashboard.site import Site
    from promoter.errors import ConfigurationError

    try:
        server = DashboardServer(
            Site(board, live=True, refresh=refresh),
            host,
            port,
            token=token,
            refresh=refresh,
            log=lambda line: click.echo(printable(f"dashboard: {line}", one_line=True), err=True),
        )
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {printable(host, one_line=True)}:{port}: {exc.strerror or exc}",
            hint="choose another --port (0: any free one) or --host",
        ) from exc
    protected = "bearer token required" if server.token else "no token: loopback only"
    click.echo(f"serving {server.url} (read-only, {protected}; Ctrl-C stops)", err=True)
    try:
        with terminate_as_interrupt():
            server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()
