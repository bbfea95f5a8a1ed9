"""Talend commands that write nothing: ``promoter diff`` (drift) and ``promoter export``.

Registered by the Talend plugin (``promoter_register_commands``). Both talk to Talend Cloud as a run does:
``promoter diff`` with the environment's settings (``TALEND_API_URL`` or ``TALEND_REGION``,
``TALEND_ACCESS_TOKEN`` or ``TALEND_CLIENT_ID`` + ``TALEND_CLIENT_SECRET``), ``promoter export``
through the pipeline's export stage (its ``talend:`` section first, then the environment).

Names and values read from Talend are data: the text output shows them through
:func:`promoter.terminal.printable` (escape sequences shown, not obeyed), and JSON documents go
through :func:`promoter.terminal.printable_json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from promoter.cli.options import (
    PluginOptionsCommand,
    command_hooks,
    load,
    output_option,
    pipeline_options,
    var_values,
)
from promoter.terminal import printable, printable_json, printable_markup

if TYPE_CHECKING:
    from rich.console import Console

    from promoter.talend.plugin.drift import DriftReport, ObjectDrift


# --- diff -----------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return printable(value, one_line=True)
    return printable(json.dumps(value, sort_keys=True), one_line=True)


def _name(value: object) -> str:
    return printable(value, one_line=True)


def drift_rows(report: DriftReport, workspace: str) -> list[tuple[str, str, str, str, str]]:
    """``(kind, name, field, from value, to value)`` rows of one workspace's drift, printable."""
    rows = []
    for found in next(w for w in report.workspaces if w.workspace == workspace).objects:
        rows.extend(_object_rows(report, found))
    return rows


def _object_rows(report: DriftReport, found: ObjectDrift) -> list[tuple[str, str, str, str, str]]:
    kind, key = _name(found.kind), _name(found.key)
    if found.state == "only-from":
        return [(kind, key, f"(only in {_name(report.from_environment)})", "present", "-")]
    if found.state == "only-to":
        return [(kind, key, f"(only in {_name(report.to_environment)})", "-", "present")]
    return [
        (kind, key, _name(f.path), _cell(f.from_value), _cell(f.to_value)) for f in found.fields
    ]


def _headline(report: DriftReport) -> str:
    pair = f"{_name(report.from_environment)} -> {_name(report.to_environment)}"
    if not report.has_drift:
        count = len(report.workspaces)
        return f"{pair}: no drift ({count} workspace(s) compared)"
    drifting = sum(1 for w in report.workspaces if w.has_drift)
    return f"{pair}: {report.differences} difference(s) in {drifting} workspace(s)"


def _one_sided(report: DriftReport, state: str) -> str:
    side = report.from_environment if state == "only-from" else report.to_environment
    return f"the workspace exists only in {_name(side)}"


def format_drift(report: DriftReport) -> str:
    """The drift as plain text: a headline, then an aligned table per workspace."""
    lines = [_headline(report)]
    header = ("KIND", "NAME", "FIELD", _name(report.from_environment), _name(report.to_environment))
    for workspace in report.workspaces:
        name = _name(workspace.workspace)
        if workspace.state != "compared":
            lines.append(f"{name}: {_one_sided(report, workspace.state)}")
            continue
        if not workspace.objects:
            lines.append(f"{name}: no drift")
            continue
        rows = [header, *drift_rows(report, workspace.workspace)]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines.append(f"{name}:")
        for row in rows:
            cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
            lines.append("  " + "  ".join([*cells, row[4]]).rstrip())
    return "\n".join(lines)


def print_drift_table(report: DriftReport, console: Console) -> None:
    """The drift as rich tables (for a terminal); every name and value is markup-escaped text."""
    from rich.markup import escape
    from rich.table import Table

    style = "bold" if report.has_drift else "green"
    console.print(escape(_headline(report)), style=style)
    for workspace in report.workspaces:
        name = printable_markup(workspace.workspace)
        if workspace.state != "compared":
            console.print(f"{name}: {escape(_one_sided(report, workspace.state))}")
            continue
        if not workspace.objects:
            console.print(f"{name}: no drift", style="green")
            continue
        table = Table(title=name, title_justify="left")
        for column in ("kind", "name", "field", report.from_environment, report.to_environment):
            table.add_column(printable_markup(column), overflow="fold")
        for row in drift_rows(report, workspace.workspace):
            table.add_row(*(escape(cell) for cell in row))  # cells are printable already
        console.print(table)


@click.command(short_help="Show what differs between two environments.")
@click.option("--from", "from_env", required=True, metavar="ENV", help="One environment.")
@click.option("--to", "to_env", required=True, metavar="ENV", help="The other environment.")
@click.option(
    "--workspace",
    "-w",
    "workspaces",
    multiple=True,
    metavar="NAME",
    help="Compare this workspace (repeatable; default: every shared workspace in either).",
)
@click.option("--exit-code", is_flag=True, help="Exit 1 when anything differs (for CI).")
@output_option
def diff(
    from_env: str, to_env: str, workspaces: tuple[str, ...], exit_code: bool, output: str
) -> None:
    """Show which artifact versions, tasks, connections and plans differ between two
    environments (secrets masked): drift, e.g. `promoter diff --from dev --to prod -w Finance`.

    Talend Cloud is reached with TALEND_API_URL (or TALEND_REGION) and TALEND_ACCESS_TOKEN (or
    TALEND_CLIENT_ID and TALEND_CLIENT_SECRET). Nothing is written.
    """
    from promoter.talend.client import TalendClient
    from promoter.talend.plugin.drift import drift

    client = TalendClient.from_env()
    try:
        report = drift(client, from_env, to_env, workspaces)
    finally:
        client.close()
    if output == "json":
        click.echo(printable_json(report.model_dump_json(by_alias=True, indent=2)))
    elif sys.stdout.isatty():
        from rich.console import Console

        print_drift_table(report, Console())
    else:
        click.echo(format_drift(report))
    if exit_code and report.has_drift:
        raise click.exceptions.Exit(1)


# --- export ---------------------------------------------------------------------------------------


@click.command(cls=PluginOptionsCommand, short_help="Show what a pipeline would promote.")
@click.argument("file", type=click.Path(dir_okay=False))
@pipeline_options
@click.option(
    "--out",
    "out",
    default=None,
    type=click.Path(dir_okay=False),
    metavar="BUNDLE.json",
    help="Also write the bundle, as JSON, to this file (for review).",
)
# `-o` was --out's short name; `--output` is a format in every command, so `-o` is no longer
# documented (it would read as --output): kept, not shown, with a deprecation line.
@click.option("-o", "out_short", default=None, type=click.Path(dir_okay=False), hidden=True)
@output_option
@click.pass_context
def export(
    ctx: click.Context,
    /,
    file: str,
    variables: tuple[str, ...],
    plugins: tuple[str, ...],
    target: str | None,
    out: str | None,
    out_short: str | None,
    output: str,
    **plugin_options: Any,
) -> None:
    """Run only the export stage of FILE: what it would promote (the artifact versions, tasks,
    connections and plans, secrets as fingerprints). ``--output json`` prints the bundle;
    ``--out BUNDLE.json`` writes it to a file.

    Nothing is written to Talend or to the ledger.
    """
    from promoter.context import RunOptions
    from promoter.engine import build_context
    from promoter.errors import PromoterError, StageError
    from promoter.talend.monitoring import deprecated_option

    if out_short is not None:
        deprecated_option("-o", "--out FILE")
        out = out or out_short
    from promoter.model import EXPORT, StageCall

    values = var_values(variables)
    hooks = command_hooks(ctx, plugins, "export")
    loaded = load(hooks, file, values)
    run = build_context(
        loaded,
        target=target,
        options=RunOptions(dry_run=True, yes=True, variables=values),
        command="export",
    )
    hooks.require(EXPORT.hook)
    try:
        result = hooks.stage(
            run=run, call=StageCall(stage=EXPORT, execute=lambda: hooks.first(EXPORT, run=run))
        )
    except StageError as error:
        # The stage's own error (an unknown artifact...) says best what to fix, with its code.
        cause = error.__cause__
        raise (cause if isinstance(cause, PromoterError) else error) from None
    finally:
        run.close()
    document = printable_json(run.secrets.redact(result.model_dump_json(indent=2)))
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document + "\n", encoding="utf-8")
        click.echo(
            f"exported {len(result.objects)} object(s) from "
            f"{printable(result.source, one_line=True)} to {printable(path, one_line=True)}",
            err=True,
        )
    if output == "json":
        click.echo(document)
    elif out is None:
        click.echo(f"{len(result.objects)} object(s) from {printable(result.source, one_line=True)}:")
        for obj in result.objects:
            click.echo(f"  {printable(f'{obj.kind}:{obj.key}', one_line=True)}")


__all__ = ["diff", "export"]
