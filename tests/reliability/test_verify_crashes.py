"""SIGKILL during verify, while the smoke executions run: resume adopts them, never starts a task
twice, and promotes the release.

The smoke tasks forbid parallel executions (the ``large`` seed's run configs), so a resume that
started them again would see its executions refused (``PARALLEL_EXECUTION_FORBIDDEN``) and roll
the healthy release back. The promotion is a real ``promoter promote`` process with
``kill_plugin.py`` loaded (``PROMOTER_TEST_KILL_IN=verify``); every start of an execution is a
``POST /processing/executions`` in the sandbox's request log, which is what these tests count.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from promoter.sandbox import Sandbox
from promoter.talend.client import TalendClient
from promoter.talend.models import ExecutionStartRequest
from promoter.talend.plugin.workspace import TalendWorkspace

from .estate import Workbench, dump_workspace, fast_settings, large_pipeline

KILLER = Path(__file__).with_name("kill_plugin.py")
TASKS = 10  # two artifacts of five tasks
SMOKE = ("task_00000", "task_00005")  # one task of each artifact
RUN_SECONDS = 6.0  # each smoke execution runs this long: the kill lands while they run
KILL_DELAY = 1.0  # seconds after the last execution id was recorded


@pytest.fixture
def bench(tmp_path: Path) -> Iterator[Workbench]:
    """A sandbox whose executions run for RUN_SECONDS, and a release with two smoke tasks."""
    settings = fast_settings(run_seconds=RUN_SECONDS)
    with Sandbox.start(seed="large", tasks=TASKS, settings=settings) as sandbox:
        workbench = Workbench(sandbox, tmp_path)
        workbench.write("release.yaml", large_pipeline(artifacts=TASKS // 5, smoke=SMOKE))
        workbench.write("one-smoke.yaml", large_pipeline(artifacts=TASKS // 5, smoke=SMOKE[:1]))
        yield workbench


def last_seq(sandbox: Sandbox) -> int:
    log = sandbox.requests()
    return int(log[-1]["seq"]) if log else 0


def execution_starts(sandbox: Sandbox, since: int) -> list[dict[str, Any]]:
    """Every start of an execution the sandbox received since ``since``."""
    return [
        e
        for e in sandbox.requests(since=since)
        if e["method"] == "POST" and e["path"] == "/processing/executions"
    ]


def latest_run(bench: Workbench) -> str:
    ledger = bench.ledger()
    try:
        return ledger.list_runs(limit=1)[0].id
    finally:
        ledger.close()


def recorded_executions(bench: Workbench, run_id: str) -> dict[str, str]:
    """task -> the execution id the run's verify recorded in the ledger."""
    ledger = bench.ledger()
    try:
        return {
            p.key: p.data["executionId"]
            for p in ledger.progress(run_id)
            if p.stage == "verify" and "executionId" in p.data
        }
    finally:
        ledger.close()


def execution_status(sandbox: Sandbox, execution_id: str) -> str:
    with TalendClient(sandbox.base_url, token=sandbox.token) as client:
        return str(client.executions.get(execution_id).status)


def wait_until_finished(sandbox: Sandbox, execution_ids: list[str], timeout: float = 60) -> None:
    with TalendClient(sandbox.base_url, token=sandbox.token) as client:
        deadline = time.monotonic() + timeout
        while not all(client.executions.get(e).status.is_terminal for e in execution_ids):
            assert time.monotonic() < deadline, "the smoke executions did not finish"
            time.sleep(0.2)


def kill_during_verify(bench: Workbench, pipeline: str, where: str, after: int, delay: float) -> str:
    """``promoter promote`` killed in verify; the run id, checked to be interrupted."""
    env = bench.env(
        PROMOTER_TEST_KILL_IN=where,
        PROMOTER_TEST_KILL_AFTER=str(after),
        PROMOTER_TEST_KILL_DELAY=str(delay),
    )
    killed = bench.cli("promote", pipeline, "--yes", "-p", str(KILLER), env=env)
    assert killed.returncode == -9, killed.stderr[-3000:]
    run_id = latest_run(bench)
    shown = bench.show(run_id)
    assert shown["run"]["status"] == "interrupted", shown["run"]
    assert "outcome" not in shown and "checks" not in shown
    return run_id


def resume_promotes(bench: Workbench, run_id: str) -> dict[str, Any]:
    """``promoter resume RUN``: promoted, exit 0; its checks (name -> check)."""
    resumed = bench.call("resume", run_id, "--output", "json")
    assert resumed.returncode == 0, (resumed.stdout[-3000:], resumed.stderr[-3000:])
    outcome = json.loads(resumed.stdout)
    assert outcome["status"] == "promoted", outcome["message"]
    return {c["name"]: c for c in outcome["checks"]}


def roll_back(bench: Workbench, run_id: str, base: dict[str, Any]) -> None:
    """Back to where the trials start, so that the next promotion has work to do."""
    rolled = bench.call("rollback", run_id, "--reason", "undo", "--yes", "--output", "json")
    assert rolled.returncode == 0, rolled.stderr[-3000:]
    assert dump_workspace(bench.sandbox, "test", "Finance") == base


def verify_kill_trials(bench: Workbench, trials: list[str]) -> dict[str, int]:
    """Kill a promotion once its smoke executions run, then resume it while they still run
    (``running``) or after they finished (``finished``): one start per smoke task in all."""
    sandbox = bench.sandbox
    base = dump_workspace(sandbox, "test", "Finance")
    figures = {"trials": 0, "adopted_running": 0, "adopted_finished": 0}
    for trial in trials:
        mark = last_seq(sandbox)
        run_id = kill_during_verify(bench, "release.yaml", "verify", len(SMOKE), KILL_DELAY)
        recorded = recorded_executions(bench, run_id)
        assert sorted(recorded) == sorted(SMOKE), recorded  # durable before the wait
        if trial == "finished":
            wait_until_finished(sandbox, list(recorded.values()))
        else:
            states = {execution_status(sandbox, e) for e in recorded.values()}
            assert states <= {"dispatching", "executing"}, states  # the kill landed mid-run
        checks = resume_promotes(bench, run_id)
        # One execution per smoke task, the one the killed attempt started, judged on resume.
        assert len(execution_starts(sandbox, mark)) == len(SMOKE), execution_starts(sandbox, mark)
        for task, execution_id in recorded.items():
            check = checks[f"smoke:{task}"]
            assert check["passed"] and check["details"]["executionId"] == execution_id, check
            assert check["details"]["adopted"] == "recorded by the interrupted attempt"
        figures[f"adopted_{trial}"] += 1
        roll_back(bench, run_id, base)
        figures["trials"] += 1
    return figures


def test_resume_after_a_kill_in_verify_adopts_the_running_and_the_finished_executions(
    bench: Workbench,
) -> None:
    figures = verify_kill_trials(bench, ["running", "finished"])
    print("verify kills survived:", figures)


def test_an_execution_started_but_not_recorded_is_found_in_talend_and_adopted(
    bench: Workbench,
) -> None:
    """The window between Talend accepting a start and the ledger recording its id."""
    sandbox = bench.sandbox
    base = dump_workspace(sandbox, "test", "Finance")

    # Killed right before the start request: nothing in Talend, nothing to find; resume starts it.
    mark = last_seq(sandbox)
    run_id = kill_during_verify(bench, "one-smoke.yaml", "verify-start", 1, 0)
    assert execution_starts(sandbox, mark) == [] and recorded_executions(bench, run_id) == {}
    checks = resume_promotes(bench, run_id)
    assert len(execution_starts(sandbox, mark)) == 1
    assert "adopted" not in checks[f"smoke:{SMOKE[0]}"]["details"]
    roll_back(bench, run_id, base)

    # Killed the same way, but Talend did get the start (the process died before recording it).
    mark = last_seq(sandbox)
    run_id = kill_during_verify(bench, "one-smoke.yaml", "verify-start", 1, 0)
    with TalendClient(sandbox.base_url, token=sandbox.token) as client:
        task = TalendWorkspace(client, "test", "Finance").tasks[SMOKE[0]]
        started = client.executions.start(ExecutionStartRequest(executable=task.executable))
    checks = resume_promotes(bench, run_id)
    assert len(execution_starts(sandbox, mark)) == 1  # that start only
    details = checks[f"smoke:{SMOKE[0]}"]["details"]
    assert details["executionId"] == started.execution_id
    assert details["adopted"] == "started by the interrupted attempt, found in Talend"
    roll_back(bench, run_id, base)


@pytest.mark.soak
def test_ten_kills_in_verify(bench: Workbench) -> None:
    figures = verify_kill_trials(bench, ["running", "finished"] * 5)
    assert figures["trials"] == 10
    print("verify kills survived:", figures)
