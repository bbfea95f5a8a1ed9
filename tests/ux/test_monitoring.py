"""``promoter runs`` and ``promoter logs`` against a sandbox with real executions.

The commands run in-process through :func:`promoter.cli.main` (the ``promoter`` script's entry
point, with its exit codes), with the environment set as a user would set it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promoter.sandbox import Sandbox, SandboxSettings
from promoter.talend.client import TalendClient
from promoter.talend.models import ExecutionStartRequest

from .conftest import Invoke, cli_env


@dataclass
class Executions:
    """Three finished executions: dev's two Finance tasks (one failed) and prod's daily load."""

    sandbox: Sandbox
    env: dict[str, str]
    invoke: Invoke
    dev_ok: str
    dev_failed: str
    prod_ok: str


def task_id(client: TalendClient, environment: str, name: str) -> str:
    env = client.environments.get_by_name(environment)
    assert env is not None
    [task] = [t for t in client.tasks.list(environment_id=env.id, name=name) if t.name == name]
    return task.executable


def start(client: TalendClient, task: str, **parameters: str) -> str:
    request = ExecutionStartRequest(executable=task, parameters=parameters or None)
    return client.executions.start(request).execution_id


@pytest.fixture
def executions(talend_sandbox: Sandbox, tmp_path: Path, invoke: Invoke) -> Iterator[Executions]:
    with TalendClient(talend_sandbox.base_url, token=talend_sandbox.token) as client:
        ids = [
            start(client, task_id(client, "dev", "Finance daily load")),
            start(
                client,
                task_id(client, "dev", "Finance ledger sync"),
                SANDBOX_OUTCOME="execution_failed",
            ),
            start(client, task_id(client, "prod", "Finance daily load")),
        ]
        for execution_id in ids:
            client.executions.wait(execution_id, timeout=30, poll_interval=0.05)
    yield Executions(talend_sandbox, cli_env(talend_sandbox, tmp_path), invoke, *ids)


def runs_json(executions: Executions, *args: str) -> list[dict[str, object]]:
    result = executions.invoke("runs", "--output", "json", *args, env=executions.env)
    assert result.returncode == 0, result.stderr
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_runs_lists_executions_with_metrics(executions: Executions) -> None:
    rows = runs_json(executions)
    assert {r["execution_id"] for r in rows} == {
        executions.dev_ok,
        executions.dev_failed,
        executions.prod_ok,
    }
    by_id = {r["execution_id"]: r for r in rows}
    failed = by_id[executions.dev_failed]
    assert failed["task"] == "Finance ledger sync" and failed["status"] == "execution_failed"
    ok = by_id[executions.dev_ok]
    assert ok["status"] == "execution_successful" and isinstance(ok["processed_rows"], int)
    assert isinstance(ok["duration"], float) and ok["duration"] > 0
    triggered = [str(r["triggered_at"]) for r in rows]
    assert triggered == sorted(triggered, reverse=True)  # newest first
    # Metrics come from the execution, not its log.
    assert not any("/logs" in r["path"] for r in executions.sandbox.requests())


def test_runs_filters(executions: Executions) -> None:
    def ids(*args: str) -> set[object]:
        return {r["execution_id"] for r in runs_json(executions, *args)}

    assert ids("--environment", "dev") == {executions.dev_ok, executions.dev_failed}
    assert ids("-e", "dev", "--status", "execution_failed") == {executions.dev_failed}
    assert ids("-e", "prod", "-w", "Finance") == {executions.prod_ok}
    assert ids("--task", "Finance daily load") == {executions.dev_ok, executions.prod_ok}
    assert ids("--task", "Finance daily load", "-e", "prod") == {executions.prod_ok}
    assert ids("--tag", "nightly") == {executions.dev_ok, executions.prod_ok}
    assert ids("--tag", "marketing") == set()
    assert ids("--since", "1m", "--status", "execution_failed") == {executions.dev_failed}
    assert ids("--from", "2020-01-01T00:00:00Z", "--to", "2020-01-02T00:00:00Z") == set()
    assert len(runs_json(executions, "--limit", "2")) == 2
    searched = [r for r in executions.sandbox.requests() if r["method"] == "POST"]
    assert any(r["path"] == "/processing/executables/tasks/executions" for r in searched)


def test_runs_text_and_errors(executions: Executions) -> None:
    result = executions.invoke("runs", "-e", "dev", env=executions.env)
    assert result.returncode == 0, result.stderr
    assert executions.dev_failed in result.stdout and "execution_failed" in result.stdout
    assert "2 execution(s) from" in result.stdout and "1 not successful" in result.stdout
    assert "\x1b" not in result.stdout
    unknown = executions.invoke("runs", "-e", "staging", env=executions.env)
    assert unknown.returncode == 2
    assert "no environment 'staging'" in unknown.stderr and "dev, test, prod" in unknown.stderr
    missing = executions.invoke("runs", "--task", "No such task", env=executions.env)
    assert missing.returncode == 2 and "no task 'No such task'" in missing.stderr
    unset = {k: v for k, v in executions.env.items() if k != "TALEND_API_URL"}
    assert executions.invoke("runs", env=unset).returncode == 2


def log_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if re.match(r"^\d{4}-\d\d-\d\dT", line)]


def log_requests(sandbox: Sandbox, *, at_least: int) -> list[dict[str, object]]:
    """The sandbox's requests for log pages, once ``at_least`` are logged (or after 5 s).

    The sandbox logs a request after it has sent the response: the client may have read the last
    page, and the command may have ended, a moment before that page's request is in the log.
    """
    deadline = time.monotonic() + 5
    while True:
        pages = [r for r in sandbox.requests() if str(r["path"]).endswith("/logs")]
        if len(pages) >= at_least or time.monotonic() > deadline:
            return pages
        time.sleep(0.02)


def test_logs_pages_and_filters_by_severity(executions: Executions) -> None:
    whole = executions.invoke("logs", executions.dev_failed, env=executions.env)
    assert whole.returncode == 0, whole.stderr
    lines = log_lines(whole.stdout)
    assert len(lines) >= 4 and any(" ERROR " in line for line in lines)
    executions.sandbox.clear_requests()
    paged = executions.invoke("logs", executions.dev_failed, "--page-size", "2", env=executions.env)
    assert log_lines(paged.stdout) == lines
    pages = log_requests(executions.sandbox, at_least=len(lines) // 2)
    assert len(pages) >= len(lines) // 2
    errors = executions.invoke(
        "logs", executions.dev_failed, "--severity", "error", env=executions.env
    )
    assert log_lines(errors.stdout) == [line for line in lines if " ERROR " in line]
    at_least_info = executions.invoke(
        "logs", executions.dev_failed, "--severity", "INFO", env=executions.env
    )
    assert log_lines(at_least_info.stdout) == lines
    as_json = executions.invoke("logs", executions.dev_ok, "--output", "json", env=executions.env)
    assert all("logMessage" in json.loads(line) for line in as_json.stdout.splitlines())
    gone = executions.invoke("logs", "no-such-execution", env=executions.env)
    assert gone.returncode != 0 and "Traceback" not in gone.stderr


def test_logs_follow_reads_until_the_execution_ends(tmp_path: Path, invoke: Invoke) -> None:
    settings = SandboxSettings(budgets=None, dispatch_seconds=0.2, run_seconds=1.5)
    with (
        Sandbox.start(seed="demo", settings=settings) as sandbox,
        TalendClient(sandbox.base_url, token=sandbox.token) as client,
    ):
        ok = start(client, task_id(client, "dev", "Finance daily load"))
        failing = start(
            client,
            task_id(client, "test", "Finance daily load"),
            SANDBOX_OUTCOME="execution_failed",
        )
        env = cli_env(sandbox, tmp_path)
        assert not client.executions.get(ok).status.is_terminal
        started = time.monotonic()
        followed = invoke("logs", ok, "--follow", "--poll", "0.1", env=env)
        assert followed.returncode == 0, followed.stderr
        assert time.monotonic() - started < 30
        assert client.executions.get(ok).status.is_terminal
        assert f"execution {ok}: execution_successful" in followed.stderr
        # Every line, once, in order: what --follow printed is the whole log.
        assert log_lines(followed.stdout) == log_lines(invoke("logs", ok, env=env).stdout)
        polls = [r for r in sandbox.requests() if r["path"] == f"/processing/executions/{ok}"]
        assert len(polls) >= 3  # it kept reading while the execution ran
        failed = invoke("logs", failing, "--follow", "--poll", "0.1", env=env)
        assert failed.returncode == 1
        assert f"execution {failing}: execution_failed" in failed.stderr
