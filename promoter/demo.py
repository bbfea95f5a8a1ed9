"""``make demo``: the release story, for real, against the embedded sandbox, step by step.

1. start the sandbox with the demo estate (in this process, on a free port, state in a work dir);
2. check the pipeline file (``promoter validate``);
3. make a release from dev (``promoter release create``): exact versions, frozen configuration;
4. promote that release to test: planned, applied, smoke-tested, verified;
5. promote *the same release* to prod: its newest ``finance_ledger_sync`` fails its smoke run in
   prod (by design, in the demo estate), so promoter rolls prod back to its snapshot;
6. dev moves on (a newer build is published); a second release is made, and prod refuses it
   because test has not verified it (the lifecycle gate, exit 4);
7. ``promoter status`` shows what each phase runs and what may come next; ``promoter history``
   the runs; the reports of each are in the work dir; the sandbox stops.

Every promoter step runs the real command line (``python -m promoter.cli ...``) in a subprocess,
over real HTTP, exactly as a user or CI job would. Run it with ``python -m promoter.demo``
(``--workdir DIR`` keeps the ledger, the sandbox state and the reports in ``DIR``).
Exit 0 when every step ended as the demo expects.

What the demo prints itself (versions read from the sandbox, paths, titles) goes through
:func:`promoter.terminal.printable_markup`: data is shown, never taken for markup or an escape.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from promoter.builtins.console import is_plain, make_console
from promoter.sandbox import Sandbox, SandboxSettings
from promoter.talend.client import TalendClient
from promoter.terminal import printable_markup

REPO = Path(__file__).resolve().parent.parent
PIPELINE = "pipelines/release.yaml"
DEMO_PASSWORD = "demo-only-password"  # the demo value of ${env:FINANCE_DB_PASSWORD}
TASKS = ("Finance daily load", "Finance ledger sync")
NEW_BUILD = "1.2.0.20261203090000"  # the build dev gets after the first release
ENVIRONMENTS = ("dev", "test", "prod")


@dataclass
class Step:
    """One command the demo ran, and how it ended."""

    title: str
    args: list[str]
    expected: int
    exit_code: int
    seconds: float

    @property
    def as_expected(self) -> bool:
        """Whether the command exited as the demo expects."""
        return self.exit_code == self.expected


class Demo:
    """The demo's state: console, work dir, the running sandbox, and the steps run so far."""

    def __init__(self, console: Console, workdir: Path, sandbox: Sandbox) -> None:
        self.console = console
        self.workdir = workdir
        self.sandbox = sandbox
        self.steps: list[Step] = []
        self.number = 0

    def environment(self) -> dict[str, str]:
        """The environment of every promoter command: the sandbox, the ledger, the demo secret."""
        env = dict(os.environ)
        env.update(
            TALEND_API_URL=self.sandbox.base_url,
            TALEND_ACCESS_TOKEN=self.sandbox.token,
            PROMOTER_LEDGER=str(self.workdir / "ledger.db"),
            FINANCE_DB_PASSWORD=DEMO_PASSWORD,
            PYTHONUNBUFFERED="1",
        )
        env.pop("PROMOTER_REPORT_DIR", None)
        if is_plain(self.console):
            env.setdefault("PROMOTER_CONSOLE", "plain")
        return env

    def heading(self, title: str, *why: str) -> None:
        """A numbered heading, and what the step does and why."""
        self.number += 1
        self.console.print()
        self.console.rule(
            f"[bold]Step {self.number}: {printable_markup(title)}[/bold]", align="left"
        )
        for line in why:
            self.console.print(printable_markup(line))

    def promoter(self, title: str, *args: str, expected: int = 0) -> Step:
        """Run ``promoter ARGS`` as a user would; its output goes straight to the terminal."""
        shown = " ".join(f"'{a}'" if " " in a else a for a in args)
        self.console.print(f"\n[bold cyan]$ promoter {printable_markup(shown)}[/bold cyan]")
        sys.stdout.flush()
        sys.stderr.flush()
        started = time.monotonic()
        completed = subprocess.run(
            [sys.executable, "-m", "promoter.cli", *args],
            cwd=REPO,
            env=self.environment(),
            check=False,
        )
        step = Step(title, list(args), expected, completed.returncode, time.monotonic() - started)
        self.steps.append(step)
        verdict = "as expected" if step.as_expected else f"UNEXPECTED: the demo expects {expected}"
        style = "green" if step.as_expected else "bold red"
        self.console.print(
            f"[{style}]-> exit code {step.exit_code} ({verdict}), {step.seconds:.1f}s[/{style}]"
        )
        return step


def latest_release(workdir: Path) -> str:
    """The id of the newest release in the demo's ledger (what `release create` just made)."""
    from promoter.ledger import SQLiteLedger

    ledger = SQLiteLedger(workdir / "ledger.db")
    try:
        releases = ledger.releases(limit=1)
    finally:
        ledger.close()
    if not releases:
        raise SystemExit("the demo made no release: see the output above")
    return releases[0].id


def publish_build(sandbox: Sandbox, client: TalendClient, name: str, version: str) -> None:
    """A newer build of ``name`` lands in dev/Finance, as Studio or a Maven build would do."""
    workspace = client.workspaces.get_by_name("Finance", environment_name="dev")
    assert workspace is not None and workspace.id is not None
    with sandbox.http() as http:
        published = http.post(
            "/_sandbox/artifacts",
            json={"workspaceId": workspace.id, "name": name, "version": version},
        )
        published.raise_for_status()


def task_versions(client: TalendClient) -> dict[str, dict[str, str]]:
    """``{task name: {environment: artifact version}}`` of the Finance tasks, read over HTTP."""
    versions: dict[str, dict[str, str]] = {name: {} for name in TASKS}
    for environment in ENVIRONMENTS:
        workspace = client.workspaces.get_by_name("Finance", environment_name=environment)
        if workspace is None:
            continue
        for summary in client.tasks.list(workspace_id=workspace.id):
            if summary.name in versions:
                versions[summary.name][environment] = client.tasks.get(
                    summary.executable
                ).artifact.version
    return versions


def versions_table(versions: dict[str, dict[str, str]], plain: bool) -> Table:
    """The Finance tasks' artifact versions per environment."""
    from rich import box

    table = Table(box=box.ASCII2 if plain else box.SIMPLE_HEAD, expand=False)
    table.add_column("task")
    for environment in ENVIRONMENTS:
        table.add_column(environment)
    for name, per_env in versions.items():
        table.add_row(
            printable_markup(name), *(printable_markup(per_env.get(e, "-")) for e in ENVIRONMENTS)
        )
    return table


def run_demo(console: Console, workdir: Path) -> int:
    """Every step of the demo; 0 when each ended as expected."""
    plain = is_plain(console)
    console.rule("[bold]promoter demo[/bold]: a Talend release, dev -> test -> prod")
    console.print(
        "promoter moves a release (artifact versions, tasks, connections, plans) from one Talend\n"
        "Cloud environment to the next: export, map, plan, gate, snapshot, apply, verify - and\n"
        "rolls the target back to its snapshot when verification fails. This demo runs it for real\n"
        "against promoter's local Talend-Cloud-compatible sandbox."
    )
    reports = workdir / "reports"
    settings = SandboxSettings(dispatch_seconds=0.2, run_seconds=0.8)
    with Sandbox.start(seed="demo", state=workdir / "sandbox.db", settings=settings) as sandbox:
        demo = Demo(console, workdir, sandbox)
        client = TalendClient(sandbox.base_url, token=sandbox.token)
        try:
            demo.heading(
                "start the sandbox",
                f"The sandbox listens on {sandbox.base_url} with the demo estate: a Finance",
                "workspace in dev, test and prod. Dev has newer builds of the Finance artifacts than",
                "test and prod. The Finance tasks run these versions now:",
            )
            console.print(versions_table(task_versions(client), plain))
            console.print(
                "Every promoter command below gets the sandbox from TALEND_API_URL and\n"
                "TALEND_ACCESS_TOKEN, exactly as it would get Talend Cloud; the ledger of runs is\n"
                f"PROMOTER_LEDGER={printable_markup(workdir / 'ledger.db')}; the database password "
                "the tasks need is\nthe demo value of FINANCE_DB_PASSWORD (a secret: never shown, "
                "only fingerprinted)."
            )

            demo.heading(
                "check the pipeline file",
                f"{PIPELINE} says what to promote (the Finance artifacts, newest versions), from",
                "where (dev) to where (test, then prod), and how to verify it (smoke-run both tasks).",
            )
            demo.promoter("validate", "validate", PIPELINE)

            demo.heading(
                "make a release from dev",
                "A release freezes what dev holds now: every artifact resolved to its exact",
                "version, and the configuration of every task, connection and plan it promotes",
                "(secrets only as fingerprints). It is content-addressed: its digest changes",
                "whenever anything it holds changes. Every later step promotes exactly this.",
            )
            demo.promoter("release create", "release", "create", PIPELINE)
            first = latest_release(workdir)

            demo.heading(
                "promote the release to test",
                "promoter maps connections and parameters for test, plans the exact changes",
                "(table below), snapshots test, applies the plan and smoke-runs both tasks in",
                "test. Both succeed: the release is verified in test.",
            )
            demo.promoter(
                "promote to test",
                "promote",
                PIPELINE,
                "--release",
                first,
                "--target",
                "test",
                "--yes",
                "--reason",
                "demo: release to test",
                "--report-dir",
                str(reports / "test"),
            )

            demo.heading(
                "promote the same release to prod (fails its smoke run, rolled back)",
                "prod comes after test in the lifecycle: it takes only a release test verified.",
                "It needs an approval too (`approval: required`), given with --approve.",
                "The release's finance_ledger_sync build fails in prod by design in the demo",
                "estate: its smoke run ends in execution_failed, so verification fails and",
                "promoter restores prod from the snapshot it took before applying. Exit code 1",
                "means exactly that: failed, and rolled back cleanly.",
            )
            demo.promoter(
                "promote to prod",
                "promote",
                PIPELINE,
                "--release",
                first,
                "--target",
                "prod",
                "--yes",
                "--approve",
                "--reason",
                "demo: release to prod",
                "--report-dir",
                str(reports / "prod"),
                expected=1,
            )
            console.print("\nThe Finance tasks now run these versions - prod is as it was:")
            console.print(versions_table(task_versions(client), plain))

            demo.heading(
                "dev moves on: a second release, which prod refuses",
                f"A newer finance_ledger_sync build ({NEW_BUILD}) is published in dev, as CI",
                "would. A second release is made from dev; promoting it straight to prod is",
                "refused by the lifecycle gate (exit 4): test has not verified it. The message",
                "names the command that would.",
            )
            publish_build(sandbox, client, "finance_ledger_sync", NEW_BUILD)
            demo.promoter("release create", "release", "create", PIPELINE)
            second = latest_release(workdir)
            demo.promoter(
                "promote the second release to prod",
                "promote",
                PIPELINE,
                "--release",
                second,
                "--target",
                "prod",
                "--yes",
                "--approve",
                "--reason",
                "demo: straight to prod?",
                "--report-dir",
                str(reports / "prod-refused"),
                expected=4,
            )

            demo.heading(
                "where everything is",
                "`promoter status` reads the ledger and the targets: the release each phase runs,",
                "whether the target still matches it (drift), and what may be promoted next.",
            )
            demo.promoter("status", "status", PIPELINE)

            demo.heading(
                "what happened, from the ledger",
                "Every run is recorded: who, what, the plan, each stage, the checks, the rollback.",
            )
            demo.promoter("history", "history")
        finally:
            client.close()
        requests = len(sandbox.requests())
    console.print()
    console.rule("[bold]Sandbox stopped[/bold]", align="left")
    ok = all(step.as_expected for step in demo.steps)
    console.print(f"{requests} API requests served. Work dir: {printable_markup(workdir)}")
    console.print("Reports of each run (open report.html in a browser):")
    for target in ("test", "prod", "prod-refused"):
        where = printable_markup(reports / target)
        console.print(f"  {where}/  run.json  junit.xml  summary.md  report.html")
    console.print(
        "Next: docs/getting-started.md - your own sandbox (`promoter sandbox serve`), `promoter plan`,\n"
        "`promoter show RUN`, `promoter runs`, `promoter logs EXECUTION` and `promoter init`."
    )
    if ok:
        console.print("[bold green]Demo finished: every step ended as expected.[/bold green]")
        return 0
    for step in demo.steps:
        if not step.as_expected:
            console.print(
                f"[bold red]{printable_markup(step.title)}: exit {step.exit_code}, "
                f"expected {step.expected}[/bold red]"
            )
    return 1


def main(argv: list[str] | None = None) -> int:
    """``python -m promoter.demo [--workdir DIR]``: the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m promoter.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="where the ledger, the sandbox state and the reports go (default: a new temp dir, kept)",
    )
    args = parser.parse_args(argv)
    workdir: Path = args.workdir or Path(tempfile.mkdtemp(prefix="promoter-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    console = make_console(sys.stdout)
    started = time.monotonic()
    code = run_demo(console, workdir.resolve())
    console.print(f"({time.monotonic() - started:.1f}s)")
    return code


if __name__ == "__main__":
    sys.exit(main())
