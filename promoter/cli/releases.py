"""Releases and where they are: ``promoter release create|list|show`` and ``promoter status``.

A release is made from the source once (every version resolved, every promoted object's
configuration frozen) and then promoted as it is: ``promoter promote FILE --release ID
--target T``. ``promoter status FILE`` shows the lifecycle: what each phase runs, whether the
target still matches it, how it has run since, and what may be promoted next.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from promoter.cli.options import (
    command_hooks,
    echo_json,
    ledger_option,
    load,
    only_option,
    only_values,
    open_ledger,
    output_option,
    var_values,
)
from promoter.terminal import printable

if TYPE_CHECKING:
    from promoter.engine.status import PipelineStatus
    from promoter.release import Release


def file_options(fn: Any) -> Any:
    """``--var`` and ``-p``: how a pipeline file is read (no target: these commands see all)."""
    fn = click.option(
        "-p", "--plugin", "plugins", multiple=True, metavar="MODULE",
        help="Load a plugin: a module name or a .py path (repeatable).",
    )(fn)  # fmt: skip
    return click.option(
        "--var", "variables", multiple=True, metavar="NAME=VALUE",
        help="A template variable for the pipeline file (repeatable).",
    )(fn)  # fmt: skip


@click.group("release")
def release() -> None:
    """Releases: what a promotion moves, made once from the source."""


@release.command("create")
@click.argument("file", type=click.Path(dir_okay=False))
@file_options
@click.option("--name", default=None, metavar="ID", help="The release's id (default: <pipeline>-<date>.<n>).")
@only_option
@ledger_option
@output_option
def create(
    file: str,
    variables: tuple[str, ...],
    plugins: tuple[str, ...],
    name: str | None,
    only: tuple[str, ...],
    ledger_location: str | None,
    output: str,
) -> None:
    """Make a release of FILE from its source: versions resolved, configuration frozen."""
    from promoter.context import RunOptions
    from promoter.engine import Engine, create_release

    ctx = click.get_current_context()
    hooks = command_hooks(ctx, plugins, "release")
    loaded = load(hooks, file, var_values(variables))
    options = RunOptions(
        dry_run=True, yes=True, variables=var_values(variables), only=only_values(only)
    )
    ledger = open_ledger(ledger_location)
    try:
        engine = Engine(hooks, ledger, command="release")
        made = create_release(hooks, ledger, engine.context(loaded, target=None, options=options), name=name)
    finally:
        ledger.close()
    if output == "json":
        click.echo(made.release.summary().model_dump_json(indent=2))
        return
    click.echo(printable(made.describe()))
    _echo_versions(made.release)
    click.echo(
        f"next: promoter promote {printable(file)} --release {made.release.id} "
        f"--target {printable(loaded.pipeline.targets[0].environment)}"
    )


@release.command("list")
@click.option("--pipeline", default=None, metavar="NAME", help="Only this pipeline's releases.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@ledger_option
@output_option
def list_releases(pipeline: str | None, limit: int, ledger_location: str | None, output: str) -> None:
    """The latest releases, newest first."""
    ledger = open_ledger(ledger_location)
    try:
        releases = ledger.releases(pipeline=pipeline, limit=limit)
    finally:
        ledger.close()
    if output == "json":
        click.echo("[" + ",\n".join(r.model_dump_json(indent=2) for r in releases) + "]")
        return
    if not releases:
        click.echo("no releases yet: `promoter release create FILE` makes one")
        return
    for r in releases:
        versions = ", ".join(f"{n} {v}" for n, v in sorted(r.versions.items()))
        mark = " HOTFIX" if r.hotfix else ""
        click.echo(
            printable(
                f"{r.id:<36} {r.created_at:%Y-%m-%d %H:%M} {r.digest[:15]}{mark}  {versions}"
            )
        )


@release.command("show")
@click.argument("release_id", metavar="ID")
@ledger_option
@output_option
def show(release_id: str, ledger_location: str | None, output: str) -> None:
    """A release: its digest, exact versions, objects, and every promotion of it."""
    ledger = open_ledger(ledger_location)
    try:
        found = ledger.release(release_id)
        runs = ledger.runs_of_release(release=found.id)
    finally:
        ledger.close()
    promotions: list[dict[str, Any]] = [
        {
            "run": r.id,
            "target": r.target,
            "status": r.status.value,
            "dry_run": r.dry_run,
            "hotfix": r.hotfix,
            "at": r.created_at,
            "user": r.user,
        }
        for r in runs
    ]
    if output == "json":
        document = found.summary().model_dump(mode="json")
        document["objects"] = [f"{kind}:{key}" for kind, key in found.objects]
        document["promotions"] = promotions
        echo_json(document)
        return
    click.echo(printable(f"release {found.id}{' (HOTFIX)' if found.hotfix else ''}"))
    click.echo(printable(f"  digest:  {found.digest}"))
    click.echo(printable(f"  made:    {found.created_at:%Y-%m-%d %H:%M:%S} UTC by {found.created_by} from {found.source}"))
    _echo_versions(found)
    click.echo(f"  objects ({len(found.objects)}):")
    for kind, key in found.objects:
        click.echo(printable(f"    {kind}:{key}"))
    if not promotions:
        click.echo("  promotions: none yet")
    else:
        click.echo("  promotions:")
        for p in promotions:
            what = "plan" if p["dry_run"] else p["status"]
            mark = " HOTFIX" if p["hotfix"] else ""
            click.echo(printable(f"    {p['at'][:19]}  {p['target']:<24} {what:<20} run {p['run']}{mark}"))


@click.command("status")
@click.argument("file", type=click.Path(dir_okay=False))
@file_options
@click.option("--no-check", is_flag=True, help="Read the ledger only: no drift or health check on the targets.")
@ledger_option
@output_option
def status(
    file: str,
    variables: tuple[str, ...],
    plugins: tuple[str, ...],
    no_check: bool,
    ledger_location: str | None,
    output: str,
) -> None:
    """Where each release is: what every phase runs, drift, health, and what may come next."""
    from promoter.engine.status import pipeline_status

    ctx = click.get_current_context()
    hooks = command_hooks(ctx, plugins, "status")
    loaded = load(hooks, file, var_values(variables))
    ledger = open_ledger(ledger_location)
    try:
        report = pipeline_status(hooks, ledger, loaded, check_target=not no_check)
    finally:
        ledger.close()
    if output == "json":
        click.echo(report.model_dump_json(indent=2))
        return
    _echo_status(report, file)


def _echo_versions(found: Release) -> None:
    click.echo("  versions:")
    for name, version in sorted(found.versions.items()):
        click.echo(printable(f"    {name} {version}"))


def _echo_status(report: PipelineStatus, file: str) -> None:
    phases = [p.environment for p in report.phases]
    click.echo(printable(f"{report.pipeline}: {report.source} -> {' -> '.join(phases)}"))
    click.echo("")
    for phase in report.phases:
        click.echo(printable(f"{phase.environment} ({phase.target})"))
        if phase.release is None:
            click.echo("  runs:    no release promoted here yet")
        else:
            mark = " HOTFIX" if phase.hotfix else ""
            when = f"{phase.promoted_at:%Y-%m-%d %H:%M} UTC" if phase.promoted_at else "?"
            click.echo(printable(f"  runs:    {phase.release.describe()}{mark}"))
            click.echo(printable(f"           promoted by run {phase.promoted_by} at {when}"))
        if phase.drift is not None:
            click.echo(printable(f"  drift:   {phase.drift.describe()}"))
        if phase.health is not None:
            click.echo(printable(f"  health:  {phase.health.describe()}"))
        if phase.last_attempt is not None:
            a = phase.last_attempt
            click.echo(printable(f"  last:    run {a['run']} ({a['release']}) {a['status']}"))
        if phase.lock is not None:
            click.echo(printable(f"  locked:  {phase.lock.describe()}"))
        if phase.next is not None:
            click.echo(
                printable(
                    f"  next:    promoter promote {file} --release {phase.next} "
                    f"--target {phase.environment}"
                )
            )
        for waiting in phase.waiting:
            click.echo(printable(f"  waiting: {waiting}"))
    if report.releases:
        click.echo("")
        width = max(len(r.id) for r in report.releases)
        click.echo(f"{'release':<{width}}  " + "  ".join(f"{p:<24}" for p in phases))
        for r in report.releases:
            cells = report.matrix.get(r.id, {})
            row = "  ".join(f"{cells.get(p, '') or '-':<24}" for p in phases)
            click.echo(printable(f"{r.id:<{width}}  {row}"))
