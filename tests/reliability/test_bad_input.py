"""Broken pipeline files, connection templates, command-line arguments and environment settings:
each ends with exit 2 and a message that names the file:line, the key or the flag — and nothing
written (the sandbox's request log shows no write, the ledger records no run and no lock).

The ``promoter`` command runs in this process (``promoter.cli.main``), against a real sandbox, so
that forty cases stay fast; ``test_a_few_cases_in_a_real_process`` runs some as subprocesses too.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from promoter.cli import main
from promoter.ledger import SQLiteLedger
from promoter.sandbox import Sandbox

from .estate import REPO, fast_settings, writes

RELEASE = "pipelines/release.yaml"
TEMPLATE = "templates/connections/database.yaml.j2"
# Map the warehouse to a connection the target lacks, so the template is used.
NEEDS_TEMPLATE = ("connections:\n  map: {}", "connections:\n  map: {finance_warehouse: finance_dwh}")


@dataclass(frozen=True)
class BadInput:
    """One broken input: how to break the world, and what the error must name."""

    id: str
    args: tuple[str, ...] = ("promote", RELEASE, "--target", "test", "--yes")
    edit: Callable[[Path], None] | None = None
    env: dict[str, str | None] = field(default_factory=dict)
    names: tuple[str, ...] = ()
    found_by_map: bool = False
    """Found only once the source's connection is read (map): the run is then recorded, as a
    failed run with exit 2, no snapshot and no progress — the target is still untouched."""


def replace(path: str, old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    """An edit replacing ``old`` by ``new`` in a file of the working copy."""

    def edit(root: Path) -> None:
        target = root / path
        text = target.read_text()
        assert old in text, f"{old!r} not in {path}"
        target.write_text(text.replace(old, new, count))

    return edit


def write(path: str, text: str) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)

    return edit


def both(*edits: Callable[[Path], None]) -> Callable[[Path], None]:
    def edit(root: Path) -> None:
        for one in edits:
            one(root)

    return edit


def pipeline_line(marker: str) -> str:
    """``release.yaml:N`` of the first line containing ``marker`` in the shipped pipeline."""
    for number, line in enumerate((REPO / RELEASE).read_text().splitlines(), start=1):
        if marker in line:
            return f"release.yaml:{number}"
    raise AssertionError(marker)


CASES = [
    # --- pipeline files -------------------------------------------------------------------------
    BadInput(
        "yaml-syntax",
        edit=replace(RELEASE, "  strategy: direct", "  strategy: [direct"),
        names=("release.yaml:",),
    ),
    BadInput(
        "unknown-top-level-key",
        edit=replace(RELEASE, "artifacts:\n", "artefacts:\n"),
        names=(pipeline_line("artifacts:"), "artefacts", "did you mean"),
    ),
    BadInput(
        "unknown-nested-key",
        edit=replace(RELEASE, "concurrency: 8", "concurency: 8"),
        names=(pipeline_line("concurrency: 8"), "apply.concurency"),
    ),
    BadInput(
        "bad-strategy",
        edit=replace(RELEASE, "strategy: direct", "strategy: sideways"),
        names=(pipeline_line("strategy: direct"), "apply.strategy"),
    ),
    BadInput(
        "concurrency-zero",
        edit=replace(RELEASE, "concurrency: 8", "concurrency: 0"),
        names=(pipeline_line("concurrency: 8"), "apply.concurrency"),
    ),
    BadInput(
        "concurrency-huge",
        edit=replace(RELEASE, "concurrency: 8", "concurrency: 999"),
        names=("apply.concurrency",),
    ),
    BadInput(
        "duplicate-key",
        edit=replace(RELEASE, "kind: release\n", "kind: release\nkind: hotfix\n"),
        names=("release.yaml:", "kind"),
    ),
    BadInput(
        "jinja-syntax",
        edit=replace(RELEASE, "{{ version | default('latest') }}", "{{ version | default('latest') "),
        names=("release.yaml:",),
    ),
    BadInput(
        "jinja-undefined",
        edit=replace(RELEASE, "{{ version | default('latest') }}", "{{ no_such_variable }}"),
        names=(pipeline_line("{{ version"), "no_such_variable"),
    ),
    BadInput(
        "secret-env-missing",
        env={"FINANCE_DB_PASSWORD": None},
        names=(pipeline_line("DB_PASSWORD:"), "FINANCE_DB_PASSWORD"),
    ),
    BadInput(
        "secret-file-missing",
        edit=replace(RELEASE, "${env:FINANCE_DB_PASSWORD}", "${file:no/such/secret.txt}"),
        names=(pipeline_line("DB_PASSWORD:"), "secret.txt"),
    ),
    BadInput(
        "no-targets",
        edit=replace(RELEASE, "targets:\n", "targets: []\nold_targets:\n"),
        names=(pipeline_line("targets:"),),
    ),
    BadInput(
        "bad-name",
        edit=replace(RELEASE, "name: finance-release", "name: finance release!"),
        names=(pipeline_line("name: finance-release"), "name"),
    ),
    BadInput(
        "bad-kind",
        edit=replace(RELEASE, "kind: release", "kind: emergency"),
        names=(pipeline_line("kind: release"), "kind"),
    ),
    BadInput(
        "artifacts-not-a-list",
        edit=replace(RELEASE, "tasks: []", "tasks: 7"),
        names=(pipeline_line("tasks: []"), "tasks"),
    ),
    BadInput(
        "smoke-timeout-negative",
        edit=replace(RELEASE, "timeout: 120", "timeout: -5"),
        names=(pipeline_line("timeout: 120"), "verify.smoke"),
    ),
    BadInput(
        "freeze-not-a-date",
        edit=replace(
            RELEASE, "  freeze: []", "  freeze:\n    - {start: next christmas, end: 2027-01-04T00:00:00Z}"
        ),
        # the window is on the line after `freeze:`
        names=(f"release.yaml:{int(pipeline_line('freeze: []').split(':')[1]) + 1}", "gates.freeze"),
    ),
    BadInput(
        "report-format",
        edit=replace(RELEASE, "formats: [json, junit, markdown, html]", "formats: [pdf]"),
        names=(pipeline_line("formats:"), "reports.formats"),
    ),
    BadInput(
        "parameter-policy",
        edit=replace(RELEASE, "policy: keep-target", "policy: whatever"),
        names=(pipeline_line("policy: keep-target"), "parameters.policy"),
    ),
    BadInput(
        "missing-plugin-file",
        edit=replace(RELEASE, "reports:\n", "plugins: [no_such_plugin.py]\nreports:\n"),
        names=("no_such_plugin.py",),
    ),
    BadInput(
        "not-a-mapping",
        edit=write(RELEASE, "- just\n- a list\n"),
        names=("release.yaml:1",),
    ),
    BadInput("empty-file", edit=write(RELEASE, ""), names=("release.yaml",)),
    BadInput(
        "file-missing",
        args=("promote", "pipelines/nowhere.yaml", "--target", "test", "--yes"),
        names=("nowhere.yaml",),
    ),
    BadInput(
        "no-source",
        edit=replace(RELEASE, "source:\n  environment: dev\n", "origin:\n  environment: dev\n"),
        names=("source",),
    ),
    # --- connection templates -------------------------------------------------------------------
    BadInput(
        "template-syntax",
        edit=both(
            replace(RELEASE, *NEEDS_TEMPLATE),
            replace(TEMPLATE, "name: {{ connection.name }}", "name: {{ connection.name }"),
        ),
        names=("database.yaml.j2:",),
    ),
    BadInput(
        "template-undefined",
        edit=both(
            replace(RELEASE, *NEEDS_TEMPLATE),
            replace(TEMPLATE, "host: {{ values.db_host }}", "host: {{ values.no_such_host }}"),
        ),
        names=("database.yaml.j2", "no_such_host"),
    ),
    BadInput(
        "template-not-yaml",
        edit=both(
            replace(RELEASE, *NEEDS_TEMPLATE),
            replace(TEMPLATE, "name: {{ connection.name }}", "name: [{{ connection.name }}"),
        ),
        names=("database.yaml.j2", "not valid YAML"),
        found_by_map=True,
    ),
    BadInput(
        "template-missing",
        edit=both(
            replace(RELEASE, *NEEDS_TEMPLATE),
            replace(
                RELEASE,
                "template: ../templates/connections/database.yaml.j2",
                "template: ../templates/connections/nowhere.yaml.j2",
            ),
        ),
        names=("nowhere.yaml.j2",),
    ),
    # --- command-line arguments -----------------------------------------------------------------
    BadInput(
        "unknown-target",
        args=("promote", RELEASE, "--target", "staging", "--yes"),
        names=("staging", "--target"),
    ),
    BadInput(
        "var-without-equals",
        args=("promote", RELEASE, "--target", "test", "--yes", "--var", "version"),
        names=("--var",),
    ),
    BadInput(
        "negative-lock-wait",
        args=("promote", RELEASE, "--target", "test", "--yes", "--lock-wait", "-1"),
        names=("--lock-wait",),
    ),
    BadInput(
        "unknown-option",
        args=("promote", RELEASE, "--target", "test", "--yes", "--frobnicate"),
        names=("--frobnicate",),
    ),
    BadInput(
        "unknown-plugin-module",
        args=("promoter", RELEASE) and ("promote", RELEASE, "--yes", "-p", "no_such_plugin_module"),
        names=("no_such_plugin_module",),
    ),
    BadInput(
        "bad-output",
        args=("promote", RELEASE, "--target", "test", "--yes", "--output", "xml"),
        names=("--output",),
    ),
    BadInput(
        "no-yes-without-terminal",
        args=("promote", RELEASE, "--target", "test"),
        names=("--yes",),
    ),
    BadInput("resume-unknown-run", args=("resume", "20990101-000000-abcdef"), names=("20990101",)),
    BadInput(
        "rollback-unknown-run", args=("rollback", "20990101-000000-abcdef"), names=("20990101",)
    ),
    BadInput("unknown-command", args=("promotee", RELEASE), names=("promotee",)),
    # --- environment ----------------------------------------------------------------------------
    BadInput("no-api-url", env={"TALEND_API_URL": None}, names=("TALEND_API_URL",)),
    BadInput(
        "bad-region",
        env={"TALEND_API_URL": None, "TALEND_REGION": "mars"},
        names=("mars", "TALEND_API_URL"),
    ),
    BadInput("no-token", env={"TALEND_ACCESS_TOKEN": None}, names=("TALEND_ACCESS_TOKEN",)),
    BadInput(
        "client-id-without-secret",
        env={"TALEND_ACCESS_TOKEN": None, "TALEND_CLIENT_ID": "sandbox-client"},
        names=("TALEND_CLIENT_SECRET",),
    ),
    BadInput(
        "ledger-cannot-be-created",
        env={"PROMOTER_LEDGER": "{root}/a-file/ledger.db"},
        edit=write("a-file", "not a directory\n"),
        names=("a-file/ledger.db",),
    ),
    BadInput("lock-wait-not-a-number", env={"PROMOTER_LOCK_WAIT": "soon"}, names=("PROMOTER_LOCK_WAIT",)),
    BadInput(
        "export-plugin-disabled",
        env={"PROMOTER_DISABLE_PLUGINS": "talend-export"},
        names=("promoter_export",),
    ),
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(seed="demo", settings=fast_settings()) as running:
        yield running


def working_copy(root: Path) -> None:
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    shutil.copytree(REPO / "templates", root / "templates")


def ledger_contents(path: Path) -> tuple[int, int]:
    """(runs, lock events) recorded in a ledger file (0, 0 when there is none)."""
    if not path.exists():
        return 0, 0
    ledger = SQLiteLedger(path)
    try:
        return len(ledger.list_runs(limit=1000)), len(ledger.lock_events())
    finally:
        ledger.close()


def environment(sandbox: Sandbox, root: Path, case: BadInput) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "TALEND_API_URL": sandbox.base_url,
        "TALEND_ACCESS_TOKEN": sandbox.token,
        "TALEND_REGION": None,
        "TALEND_CLIENT_ID": None,
        "TALEND_CLIENT_SECRET": None,
        "PROMOTER_LEDGER": str(root / "ledger.db"),
        "PROMOTER_LOCK_WAIT": None,
        "PROMOTER_DISABLE_PLUGINS": None,
        "FINANCE_DB_PASSWORD": "not-a-real-password",
    }
    env.update({k: v.format(root=root) if v else v for k, v in case.env.items()})
    return env


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_exits_2_names_the_culprit_and_writes_nothing(
    case: BadInput,
    sandbox: Sandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    working_copy(tmp_path)
    if case.edit:
        case.edit(tmp_path)
    for key, value in environment(sandbox, tmp_path, case).items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    # The request log is written after each answer: wait for earlier tests' requests to land.
    before = sandbox.requests()[-1]["seq"] if sandbox.requests() else 0
    with pytest.raises(SystemExit) as exited:
        main(list(case.args))
    out, err = capsys.readouterr()
    assert exited.value.code == 2, (case.id, exited.value.code, out[-2000:], err[-2000:])
    message = out + err
    for name in case.names:
        assert name in message, (case.id, name, message[-2000:])
    assert "Traceback" not in message
    assert writes(sandbox.requests(since=before)) == []
    if not case.found_by_map:
        assert ledger_contents(tmp_path / "ledger.db") == (0, 0)
        return
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    try:
        (run,) = ledger.list_runs()
        assert (run.status.value, run.exit_code) == ("failed", 2)
        assert ledger.document(run.id, "snapshot") is None and ledger.progress(run.id) == []
    finally:
        ledger.close()


def test_there_are_at_least_thirty_bad_inputs() -> None:
    assert len(CASES) >= 30


def test_a_few_cases_in_a_real_process(sandbox: Sandbox, tmp_path: Path) -> None:
    """The same refusals from a real ``promoter`` process (exit status, stderr)."""
    working_copy(tmp_path)
    for case in (c for c in CASES if c.id in {"no-api-url", "unknown-nested-key", "unknown-target"}):
        env = {k: v for k, v in __import__("os").environ.items() if not k.startswith(("TALEND_", "PROMOTER_"))}
        env.update({k: v for k, v in environment(sandbox, tmp_path, case).items() if v is not None})
        if case.edit:
            case.edit(tmp_path)
        done = subprocess.run(
            [sys.executable, "-m", "promoter.cli", *case.args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, (case.id, done.stderr)
        assert all(name in done.stderr + done.stdout for name in case.names), done.stderr
        if case.edit:
            shutil.rmtree(tmp_path / "pipelines")
            shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    assert ledger_contents(tmp_path / "ledger.db") == (0, 0)
