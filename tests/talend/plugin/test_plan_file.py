"""Plan files: `promoter plan --out plan.json`, then `promoter promote --plan plan.json`.

Through the command line (in process) against the sandbox: the reviewed plan is applied exactly,
and refused — exit 2, nothing written — when the pipeline file, the target or the values changed
since it was made.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import StageRun

from promoter.cli import main as promoter_main
from promoter.errors import ExitCode
from promoter.model import Plan
from promoter.pipeline.plan_file import load_plan
from promoter.talend.client import TalendClient

PIPELINE = "pipelines/release.yaml"


class Cli:
    """``promoter ...`` in process, with this test's ledger."""

    def __init__(self, run: StageRun, capsys: pytest.CaptureFixture[str]) -> None:
        self.run = run
        self.capsys = capsys
        self.ledger = str(run.root / "ledger.db")

    def __call__(self, *args: str) -> tuple[int, str, str]:
        """Exit code, standard output, standard error."""
        self.capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            promoter_main([*args, "--ledger", self.ledger])
        captured = self.capsys.readouterr()
        code = exited.value.code
        return (code if isinstance(code, int) else 1), captured.out, captured.err

    def plan_out(self, path: str = "plan.json", *extra: str) -> Path:
        code, _out, err = self("plan", PIPELINE, "--target", "test", "--out", path, *extra)
        assert code == 0, err
        return self.run.root / path

    def promote_plan(self, path: str = "plan.json", *extra: str) -> tuple[int, dict[str, Any]]:
        code, out, _err = self(
            "promote", PIPELINE, "--plan", path, "--yes", "--output", "json", *extra
        )
        return code, json.loads(out)

    def runs(self) -> int:
        return len(self.run.ledger.list_runs(limit=1000))


@pytest.fixture
def cli(stage_run: StageRun, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(stage_run, capsys)


def test_a_saved_plan_is_applied_exactly_once(stage_run: StageRun, cli: Cli) -> None:
    pinned = "0.3.0.20261031080000"  # a --var the plan keeps, and the promotion reuses
    mark = stage_run.mark()
    path = cli.plan_out("plan.json", "--var", f"version={pinned}")
    assert stage_run.writes_since(mark) == []

    saved = load_plan(path)
    assert saved.variables == {"version": pinned}
    assert saved.plan.versions["finance_daily_load"] == pinned
    pipeline_bytes = (stage_run.root / PIPELINE).read_bytes()
    assert saved.pipeline_sha256 == hashlib.sha256(pipeline_bytes).hexdigest()
    assert saved.pipeline == "finance-release" and saved.target.key == "test/Finance"
    assert saved.plan.target == saved.target
    pending = {str(c.ref): c.action.value for c in saved.plan.pending}
    assert pending["task:Finance daily load"] == "update"
    assert any(ref.startswith("artifact_version:finance_daily_load@") for ref in pending)

    code, outcome = cli.promote_plan()
    assert code == 0, outcome["message"]
    assert outcome["status"] == "promoted"
    stages = [(s["stage"], s["status"]) for s in outcome["stages"]]
    assert stages[:2] == [("plan", "skipped"), ("gate", "ok")]
    assert not {"export", "map"} & {s for s, _ in stages}
    assert (
        "the plan in plan.json (made by run " + saved.run_id in outcome["stages"][0]["messages"][0]
    )
    applied = Plan.model_validate_json(stage_run.ledger.document(outcome["run_id"], "plan") or "")
    assert applied == saved.plan
    assert stage_run.ledger.get_run(outcome["run_id"]).variables == {"version": pinned}
    after = stage_run.dump("test")
    assert after["tasks"]["Finance daily load"]["task"]["artifact"]["version"] == pinned

    # The plan's "before" is gone from the target: applying it again is refused, nothing written.
    mark = stage_run.mark()
    code, outcome = cli.promote_plan()
    assert code == ExitCode.INVALID_INPUT
    assert outcome["status"] == "failed"
    assert "the target changed since the plan was made" in outcome["message"]
    assert stage_run.writes_since(mark) == []


def test_a_plan_is_refused_when_the_target_changed_since(stage_run: StageRun, cli: Cli) -> None:
    path = cli.plan_out()
    # Someone changes a task the plan updates: its run configuration, directly in Talend.
    with TalendClient(stage_run.sandbox.base_url, token=stage_run.sandbox.token) as client:
        environment = client.environments.get_by_name("test")
        assert environment is not None
        task = next(
            t
            for t in client.tasks.list(environment_id=environment.id)
            if t.name == "Finance daily load"
        )
        config = client.tasks.get_run_config(task.executable)
        assert config is not None and config.log_level != "WARN"
        client.tasks.put_run_config(
            task.executable, config.model_copy(update={"log_level": "WARN"})
        )
    # The sandbox logs a request once it has answered it: wait for the PUT before the mark.
    deadline = time.monotonic() + 10
    while not any(
        e["method"] == "PUT" and e["path"].endswith("/run-config")
        for e in stage_run.sandbox.requests()
    ):
        assert time.monotonic() < deadline, "the sandbox never logged the run-config PUT"
        time.sleep(0.01)
    mark = stage_run.mark()

    code, outcome = cli.promote_plan(path.name)

    assert code == ExitCode.INVALID_INPUT == 2
    assert outcome["status"] == "failed"
    assert (
        "the target changed since the plan was made: task:Finance daily load" in outcome["message"]
    )
    assert "plan again" in outcome["message"]
    assert stage_run.writes_since(mark) == []
    record = stage_run.ledger.get_run(outcome["run_id"])
    assert record.status == "failed" and record.exit_code == 2


def test_a_plan_is_refused_when_the_pipeline_file_changed(stage_run: StageRun, cli: Cli) -> None:
    cli.plan_out()
    with (stage_run.root / PIPELINE).open("a") as file:
        file.write("# edited after the review\n")
    runs, mark = cli.runs(), stage_run.mark()

    code, _out, err = cli("promote", PIPELINE, "--plan", "plan.json", "--yes")

    assert code == ExitCode.INVALID_INPUT
    assert f"the pipeline file {PIPELINE} changed since the plan plan.json was made" in err
    assert (
        "hint: plan again: `promoter plan pipelines/release.yaml --target test --out plan.json`"
        in err
    )
    assert cli.runs() == runs  # refused before a run was recorded
    assert stage_run.writes_since(mark) == []


def test_a_plan_is_refused_for_another_target_other_values_or_a_dry_run(
    stage_run: StageRun, cli: Cli
) -> None:
    cli.plan_out()
    runs, mark = cli.runs(), stage_run.mark()

    code, _out, err = cli("promote", PIPELINE, "--plan", "plan.json", "--yes", "--target", "prod")
    assert code == 2 and "the plan plan.json is for test/Finance, not prod/Finance" in err
    assert "hint: pass --target test" in err

    code, _out, err = cli(
        "promote", PIPELINE, "--plan", "plan.json", "--yes", "--var", "version=0.1"
    )
    assert code == 2 and "--var values differ from those plan.json was planned with" in err

    code, _out, err = cli("promote", PIPELINE, "--plan", "plan.json", "--dry-run")
    assert code == 2 and "cannot be combined with --dry-run" in err

    (stage_run.root / "other.json").write_text('{"plan": {}}')
    code, _out, err = cli("promote", PIPELINE, "--plan", "other.json", "--yes")
    assert code == 2 and "other.json is not a promoter plan file" in err
    code, _out, err = cli("promote", PIPELINE, "--plan", "missing.json", "--yes")
    assert code == 2 and "cannot read the plan file missing.json" in err

    assert cli.runs() == runs
    assert stage_run.writes_since(mark) == []
