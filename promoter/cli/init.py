"""``promoter init``: a commented ``pipelines/`` and ``templates/`` in a user's repository.

It writes a release pipeline, a hotfix pipeline and a connection template, each explaining its
keys; ``promoter validate pipelines/release.yaml`` passes on the result. It never overwrites: when
any of the files exists, nothing is written and the command says which (exit 2). It also keeps
promoter's local files out of Git: the lines of :data:`GITIGNORE_LINES` that the directory's
``.gitignore`` lacks are appended to it (the file is created if needed).
"""

from __future__ import annotations

from pathlib import Path

import click

from promoter.cli.options import echo_json, output_option

RELEASE = """\
# A release pipeline: what to promote, from where, to which targets, and how to check it.
# Written by `promoter init`; docs/pipeline-reference.md lists every key.
#
#   promoter validate pipelines/release.yaml                 # check this file; writes nothing
#   promoter plan     pipelines/release.yaml --target {first}    # what would change
#   promoter promote  pipelines/release.yaml --target {first} --yes
#
# The file is a Jinja2 template rendered once: `--var name=value` values are variables
# (`version` below) and environment variables are `env.NAME`. `values.NAME` is filled per target.
# Secrets are references - ${{env:NAME}} or ${{file:path}} - resolved only when written, never shown.
name: {name}
kind: release
description: {workspace} promoted {chain}.

source:
  environment: {source}
  workspace: {workspace}               # targets use the same workspace name unless they say otherwise

targets:                             # `--target ENV` picks one (default: the first)
{targets}
artifacts:                           # which artifact versions: exact, latest, or a glob like 1.2.*
  - name: my_job
    version: "{{{{ version | default('latest') }}}}"

tasks: []                            # task names to promote; [] = every task running the artifacts

connections:
  map: {{}}                            # same names everywhere; or {{source: target}} / {{source: {{env: target}}}}
  create_missing:                    # a connection the target lacks is created from this template
    template: ../templates/connections/database.yaml.j2

parameters:
  policy: keep-target                # keep-target | override | template | add-new-only
  values:
    LOG_LEVEL: "{{{{ values.log_level }}}}"
  secrets: {{}}                        # e.g. DB_PASSWORD: "${{env:DB_PASSWORD}}"

apply:
  strategy: direct                   # direct | native (Talend's own promotion, then binding)
  concurrency: 8

verify:
  smoke: []                          # tasks to run after apply; a failure rolls the target back
  # smoke:
  #   - task: My daily load
  #     timeout: 300
  #     max_rejected_rows: 0
  #     log_must_not_contain: [ERROR]

gates:
  no_downgrade: true
  freeze: []                         # - {{start: 2026-12-23T00:00:00Z, end: 2027-01-04T00:00:00Z, environments: [{last}]}}

reports:                             # written after every run; --report-dir DIR overrides the place
  dir: reports                       # one directory per run: reports/<run id>/
  formats: [json, junit, markdown, html]
"""

TARGET = """\
  - environment: {environment}
{approval}    values:
      log_level: {log_level}
      db_host: db.{environment}.example.internal
"""

HOTFIX = """\
# A hotfix: one artifact version, from {previous} straight to {last}; `--reason` is required.
#
#   promoter promote pipelines/hotfix.yaml --var version=1.2.3 --reason "INC-1234: ..." --yes
name: {name}-hotfix
kind: hotfix                         # hotfix pipelines refuse to run without --reason

source:
  environment: {previous}
  workspace: {workspace}

targets:
  - environment: {last}
{approval}
artifacts:
  - name: my_job
    version: "{{{{ version }}}}"         # give it with --var version=...

verify:
  smoke: []

reports:
  formats: [json, junit, markdown]
"""

CONNECTION = """\
{# A connection a target lacks, created by `connections.create_missing` in a pipeline file.
   Context: connection (name, source_name, app, parameters: the source's non-secret ones),
   target (environment, workspace), values (the pipeline's and the target's values).
   Write secrets as references - ${env:NAME} or ${file:path} - never as values. #}
name: {{ connection.name }}
app: {{ connection.app }}
parameters:
  host: {{ values.db_host }}
  port: "{{ connection.parameters.port | default('5432') }}"
  database: {{ connection.parameters.database | default('app') }}
  username: {{ connection.parameters.username | default('etl') }}
  password: ${env:DB_PASSWORD}
"""


GITIGNORE_HEADER = "# promoter's local state and reports: never committed (from `promoter init`)"
GITIGNORE_LINES = (
    ".promoter/",
    "ledger.db",
    "ledger.db-wal",
    "ledger.db-shm",
    "sandbox.db",
    "sandbox.db-wal",
    "sandbox.db-shm",
    "reports/",
)
"""What ``promoter init`` puts in the project's ``.gitignore``: the ledger (``.promoter/ledger.db``
by default, or a ``ledger.db`` next to the pipelines) and SQLite's ``-wal``/``-shm`` files beside
it, a local sandbox's state, and the reports' default directory."""


def update_gitignore(path: Path) -> list[str]:
    """Add the lines of :data:`GITIGNORE_LINES` that ``path`` lacks (creating it if needed);
    never removes or rewrites a line. The lines added."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip() for line in existing.splitlines()}
    missing = [line for line in GITIGNORE_LINES if line not in present]
    if not missing:
        return []
    block = "\n".join([GITIGNORE_HEADER, *missing]) + "\n"
    if existing and not existing.endswith("\n"):
        existing += "\n"
    separator = "\n" if existing.strip() else ""
    path.write_text(existing + separator + block, encoding="utf-8")
    return missing


def scaffold_files(
    name: str, workspace: str, environments: list[str], approval_for: set[str]
) -> dict[str, str]:
    """The files ``promoter init`` writes: relative path -> content."""
    source, *targets = environments
    rendered_targets = "".join(
        TARGET.format(
            environment=env,
            approval="    approval: required               # promote with --approve\n"
            if env in approval_for
            else "",
            log_level="WARN" if env == targets[-1] else "INFO",
        )
        for env in targets
    )
    last = targets[-1]
    previous = environments[-2]
    return {
        "pipelines/release.yaml": RELEASE.format(
            name=name,
            workspace=workspace,
            source=source,
            targets=rendered_targets,
            chain=" -> ".join(environments),
            first=targets[0],
            last=last,
        ),
        "pipelines/hotfix.yaml": HOTFIX.format(
            name=name,
            workspace=workspace,
            previous=previous,
            last=last,
            approval="    approval: required\n" if last in approval_for else "",
        ),
        "templates/connections/database.yaml.j2": CONNECTION,
    }


@click.command(short_help="Scaffold pipelines/ and templates/ here.")
@click.argument(
    "directory", default=".", type=click.Path(file_okay=False, path_type=Path), required=False
)
@click.option("--name", default="my-release", show_default=True, help="The pipeline's name.")
@click.option("--workspace", default="Default", show_default=True, help="The Talend workspace.")
@click.option(
    "--environments",
    default="dev,test,prod",
    show_default=True,
    metavar="ENV,ENV,...",
    help="Source first, then the targets in order.",
)
@output_option
def init(directory: Path, name: str, workspace: str, environments: str, output: str) -> None:
    """Write a commented pipelines/release.yaml, pipelines/hotfix.yaml and a connection template,
    and keep promoter's local files (ledger, sandbox state, reports) out of Git in .gitignore.

    Refuses to overwrite: if any of the files exists, nothing is written (exit 2). An existing
    .gitignore is kept; only the lines it lacks are appended.
    """
    from promoter.errors import ConfigurationError

    envs = [e.strip() for e in environments.split(",") if e.strip()]
    if len(envs) < 2:
        raise ConfigurationError(
            "--environments needs a source and at least one target",
            hint="e.g. --environments dev,test,prod",
        )
    files = scaffold_files(name, workspace, envs, approval_for={envs[-1]})
    existing = [path for path in files if (directory / path).exists()]
    if existing:
        raise ConfigurationError(
            f"{', '.join(str(directory / p) for p in existing)} already exist(s); nothing written",
            hint="move them aside, or run `promoter init` in another directory",
        )
    written = []
    for path, content in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        written.append(str(target))
    gitignore = directory / ".gitignore"
    had_gitignore = gitignore.exists()
    added = update_gitignore(gitignore)
    if output == "json":
        echo_json({"written": written, "gitignore": {"path": str(gitignore), "added": added}})
        return
    for target_name in written:
        click.echo(f"wrote {target_name}")
    if added:
        what = f"added {len(added)} line(s) to" if had_gitignore else "wrote"
        click.echo(f"{what} {gitignore} ({', '.join(added)})")
    click.echo(
        f"next: edit the artifact names in {directory / 'pipelines/release.yaml'}, then\n"
        f"  promoter validate {directory / 'pipelines/release.yaml'}\n"
        f"  promoter plan {directory / 'pipelines/release.yaml'} --target {envs[1]}"
    )


__all__ = ["GITIGNORE_LINES", "init", "scaffold_files", "update_gitignore"]
