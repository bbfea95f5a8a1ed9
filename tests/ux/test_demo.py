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


def test_make_demo_promotes_to_test_and_rolls_prod_back(tmp_path: Path) -> None:
    # What `make demo` runs (python -m promoter.demo), keeping its work dir where we can read it.
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PROMOTER_CONSOLE")}
    env.pop("GITHUB_STEP_SUMMARY", None)
    demo = subprocess.run(
        [sys.executable, "-m", "promoter.demo", "--workdir", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = demo.stdout + demo.stderr
    assert demo.returncode == 0, output

    # Output a person can follow: numbered steps, the commands, their exit codes, no escape codes.
    for heading in (
        "Step 1: start the sandbox",
        "Step 2: check the pipeline file",
        "Step 3: promote dev -> test",
        "Step 4: promote test -> prod",
        "Step 5: what happened, from the ledger",
    ):
        assert heading in demo.stdout
    assert "$ promoter promote pipelines/release.yaml --target test --yes" in demo.stdout
    assert "-> exit code 1 (as expected)" in demo.stdout
    assert "Demo finished: every step ended as expected." in demo.stdout
    assert "Plan for prod/Finance: 2 create, 2 update, 3 unchanged" in demo.stderr
    assert "\x1b" not in output
    assert "demo-only-password" not in output

    # The ledger: the test run promoted, the prod run rolled back after the failed smoke run.
    ledger = open_ledger(str(tmp_path / "ledger.db"))
    try:
        runs = ledger.list_runs(limit=10)
        assert [(r.target, r.status, r.exit_code) for r in runs] == [
            ("prod/Finance", RunStatus.ROLLED_BACK, 1),
            ("test/Finance", RunStatus.PROMOTED, 0),
        ]
        prod, test = runs
        assert prod.reason == "demo: release to prod" and f"{prod.id}  " in demo.stdout
        assert f"{test.id}  " in demo.stdout  # `promoter history` listed both
        events = ledger.stage_events(prod.id)
        assert ("rollback", "finished") in {(e["stage"], e["event"]) for e in events}
        checks = ledger.document(prod.id, "checks")
        assert checks is not None and '"smoke:Finance ledger sync", "passed": false' in checks
        rollback = ledger.document(prod.id, "rollback")
        assert rollback is not None and '"complete":true' in rollback.replace(" ", "")
    finally:
        ledger.close()

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

    for target in ("test", "prod"):
        files = sorted(p.name for p in (tmp_path / "reports" / target).iterdir())
        assert files == ["junit.xml", "report.html", "run.json", "summary.md"]
        assert str(tmp_path / "reports" / target) in demo.stdout
