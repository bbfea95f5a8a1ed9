"""``make demo`` end to end: what it prints, what the ledger recorded, what the sandbox holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from promoter.ledger import open_ledger
from promoter.model import RunStatus
from promoter.sandbox import Sandbox
from promoter.talend.client import TalendClient

from .conftest import REPO

TEST_DISTRIBUTIONS = Path(sys.prefix) / "test-distributions"
"""Where the Makefile installs the tests' own distributions (tests/conftest.py)."""

NEW = {"Finance daily load": "0.3.0.20261031080000", "Finance ledger sync": "1.1.0.20261102080000"}
OLD_PROD = {
    "Finance daily load": "0.1.0.20260901080000",
    "Finance ledger sync": "1.0.0.20260906080000",
}


def task_versions(client: TalendClient, environment: str) -> dict[str, str]:
    workspace = client.workspaces.get_by_name("Finance", environment_name=environment)
    assert workspace is not None and workspace.id is not None
    return {
        t.name: client.tasks.get(t.executable).artifact.version
        for t in client.tasks.list(workspace_id=workspace.id)
        if t.name in NEW
    }


def test_make_demo_tells_the_release_story(tmp_path: Path) -> None:
    # What `make demo` runs (python -m promoter.demo), keeping its work dir where we can read it.
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PROMOTER_CONSOLE")}
    env.pop("GITHUB_STEP_SUMMARY", None)
    # `make demo` runs without the tests' own distributions (tests/conftest.py adds them).
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(TEST_DISTRIBUTIONS)
    )
    demo = subprocess.run(
        [sys.executable, "-m", "promoter.demo", "--workdir", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output

    # Output a person can follow: numbered steps, the commands, their exit codes, no escape codes.
    for heading in (
        "Step 1: start the sandbox",
        "Step 2: check the pipeline file",
        "Step 3: make a release from dev",
        "Step 4: promote the release to test",
        "Step 5: promote the same release to prod",
        "Step 6: dev moves on: a second release, which prod refuses",
        "Step 7: where everything is",
        "Step 8: what happened, from the ledger",
    ):
        assert heading in demo.stdout
    assert "$ promoter release create pipelines/release.yaml" in demo.stdout
    assert "-> exit code 1 (as expected)" in demo.stdout
    assert "-> exit code 4 (as expected)" in demo.stdout
    assert "Demo finished: every step ended as expected." in demo.stdout
    assert "Plan for prod/Finance: 2 create, 2 update, 3 unchanged" in demo.stderr
    assert "\x1b" not in output
    assert "demo-only-password" not in output
    assert "sample" not in output  # the tests' own plugin is not in the demo's environment

    # The ledger: two releases; the first promoted to test, then rolled back in prod; the
    # second refused by prod because test has not verified it.
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    try:
        second, first = ledger.releases()
        assert first.versions == {
            "finance_daily_load": NEW["Finance daily load"],
            "finance_ledger_sync": NEW["Finance ledger sync"],
        }
        assert second.versions["finance_ledger_sync"] == "1.2.0.20261203090000"
        assert second.digest != first.digest
        runs = ledger.list_runs(limit=10)
        assert [(r.target, r.status, r.exit_code, r.release) for r in runs] == [
            ("prod/Finance", RunStatus.BLOCKED, 4, second.id),
            ("prod/Finance", RunStatus.ROLLED_BACK, 1, first.id),
            ("test/Finance", RunStatus.PROMOTED, 0, first.id),
        ]
        refused, prod, test = runs
        assert f"--release {second.id} --target test" in refused.message
        assert prod.reason == "demo: release to prod" and f"{prod.id}  " in demo.stdout
        assert f"{test.id}  " in demo.stdout  # `promoter history` listed them
        assert prod.versions == first.versions == test.versions  # exact, never "latest"
        events = ledger.stage_events(prod.id)
        assert ("rollback", "finished") in {(e["stage"], e["event"]) for e in events}
        checks = ledger.document(prod.id, "checks")
        assert checks is not None and '"smoke:Finance ledger sync", "passed": false' in checks
        rollback = ledger.document(prod.id, "rollback")
        assert rollback is not None and '"complete":true' in rollback.replace(" ", "")
    finally:
        ledger.close()
    # `promoter status`: test runs the first release; the second waits for test.
    assert f"{second.id}: waiting for test" in demo.stdout

    # The sandbox's state, reopened from the demo's state file: test has the release, prod not.
    with (
        Sandbox.start(seed=None, state=tmp_path / "sandbox.db") as sandbox,
        TalendClient(sandbox.base_url, token=sandbox.token) as client,
    ):
        assert task_versions(client, "test") == NEW
        assert task_versions(client, "prod") == OLD_PROD
        prod_ws = client.workspaces.get_by_name("Finance", environment_name="prod")
        assert prod_ws is not None and prod_ws.id is not None
        failed = [
            e
            for task in client.tasks.list(workspace_id=prod_ws.id, name="Finance ledger sync")
            for e in client.executions.list_for_task(task.executable)
            if str(e.status) == "execution_failed"
        ]
        assert len(failed) == 1  # the smoke run that triggered the rollback

    for target in ("test", "prod", "prod-refused"):
        files = sorted(p.name for p in (tmp_path / "reports" / target).iterdir())
        assert files == ["junit.xml", "report.html", "run.json", "summary.md"]
        assert str(tmp_path / "reports" / target) in demo.stdout
