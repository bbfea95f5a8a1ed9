"""``promoter rollback``: a preview first, then confirmation or ``--yes``; ``--dry-run`` writes
nothing; ``--reason`` required; ``history`` and ``show`` tell a manual rollback from promoter's own
and mark hotfixes. Real ``promoter`` processes against a real sandbox over HTTP (no terminal:
output captured), and one on a pseudo-terminal that answers the question."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ux.conftest import REPO, cli_env, fast_sandbox, run_cli

from promoter.ledger import RunRecord, SQLiteLedger
from promoter.sandbox import Sandbox

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Promoted:
    """A sandbox with one run promoted to test and one to prod (smoke failed: rolled back)."""

    sandbox: Sandbox
    workdir: Path
    env: dict[str, str]
    test_run: str
    prod_run: str

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env={**self.env, **env})

    def ledger(self) -> SQLiteLedger:
        return SQLiteLedger(self.workdir / "ledger.db")

    def ledger_rows(self) -> dict[str, int]:
        """How many rows each history table holds (a dry run must add none)."""
        ledger = self.ledger()
        try:
            return {
                table: sum(1 for _ in ledger.history_rows(table))
                for table in ("run_status", "stage_events", "documents", "progress")
            }
        finally:
            ledger.close()

    def writes_since(self, mark: int) -> list[tuple[str, str]]:
        return [
            (r["method"], r["path"]) for r in self.sandbox.requests()[mark:] if r["method"] in WRITES
        ]


@pytest.fixture
def promoted(tmp_path: Path) -> Iterator[Promoted]:
    with fast_sandbox() as sandbox:
        env = cli_env(
            sandbox, tmp_path, PROMOTER_USER="releaser", PROMOTER_REPORT_DIR=str(tmp_path / "reports")
        )
        test = run_cli(
            "promote", "pipelines/release.yaml", "--target", "test", "--yes", "--output", "json",
            "--report-dir", str(tmp_path / "reports-test"), env=env,
        )  # fmt: skip
        assert test.returncode == 0, test.stderr
        prod = run_cli(
            "promote", "pipelines/release.yaml", "--target", "prod", "--yes", "--approve",
            "--reason", "release 7", "--output", "json", env=env,
        )  # fmt: skip
        assert prod.returncode == 1, prod.stderr
        yield Promoted(
            sandbox, tmp_path, env, json.loads(test.stdout)["run_id"], json.loads(prod.stdout)["run_id"]
        )


PREVIEW_LINES = [
    "restore task:Finance daily load to its state before the run (update)",
    "restore task:Finance ledger sync to its state before the run (update)",
    "remove artifact_version:finance_ledger_sync@1.1.0.20261102080000 (the run created it)",
    "remove artifact_version:finance_daily_load@0.3.0.20261031080000 (the run created it)",
]


def test_dry_run_shows_the_preview_and_writes_nothing(promoted: Promoted) -> None:
    mark, rows = len(promoted.sandbox.requests()), promoted.ledger_rows()
    done = promoted.cli("rollback", promoted.test_run, "--dry-run")
    assert done.returncode == 0, done.stderr
    assert f"rollback of run {promoted.test_run} (promoted) on test/Finance" in done.stdout
    for line in PREVIEW_LINES:
        assert f"  {line}\n" in done.stdout
    assert "6 object(s): 4 restored, 2 removed" in done.stdout
    assert "dry run: nothing written" in done.stderr
    as_json = json.loads(promoted.cli("rollback", promoted.test_run, "--dry-run", "--output", "json").stdout)
    assert as_json["dry_run"] is True and as_json["run_id"] == promoted.test_run
    assert {s["text"] for s in as_json["steps"]} >= set(PREVIEW_LINES)
    # nothing written: no write request to Talend, no new row in the ledger, still promoted
    assert promoted.writes_since(mark) == []
    assert promoted.ledger_rows() == rows
    history = json.loads(promoted.cli("history", "--output", "json").stdout)
    assert {h["id"]: h["status"] for h in history}[promoted.test_run] == "promoted"


def test_without_yes_and_no_terminal_it_refuses_like_promote(promoted: Promoted) -> None:
    promote = promoted.cli("promote", "pipelines/release.yaml", "--target", "test")
    mark, rows = len(promoted.sandbox.requests()), promoted.ledger_rows()
    refused = promoted.cli("rollback", promoted.test_run, "--reason", "INC-1: totals wrong")
    assert refused.returncode == promote.returncode != 0, (refused.stderr, promote.stderr)
    assert "no terminal" in refused.stderr and "--yes" in refused.stderr
    # the preview was shown before the refusal
    assert PREVIEW_LINES[0] in refused.stderr
    assert promoted.writes_since(mark) == [] and promoted.ledger_rows() == rows


def test_a_real_rollback_needs_a_reason(promoted: Promoted) -> None:
    mark, rows = len(promoted.sandbox.requests()), promoted.ledger_rows()
    refused = promoted.cli("rollback", promoted.test_run, "--yes")
    assert refused.returncode == 2
    assert "rollback needs --reason" in refused.stderr and "hint:" in refused.stderr
    as_json = promoted.cli("rollback", promoted.test_run, "--yes", "--output", "json")
    assert json.loads(as_json.stdout)["error"].startswith("rollback needs --reason")
    assert "error: rollback needs --reason" in as_json.stderr  # on standard error too
    assert promoted.writes_since(mark) == [] and promoted.ledger_rows() == rows


def test_a_run_that_cannot_be_rolled_back_is_refused_before_the_preview(
    promoted: Promoted,
) -> None:
    refused = promoted.cli("rollback", promoted.prod_run, "--dry-run")
    assert refused.returncode == 2
    assert f"run {promoted.prod_run} is rolled-back" in refused.stderr
    assert "restore " not in refused.stdout


def _on_a_terminal(env: dict[str, str], args: list[str], answer: str) -> tuple[int, str]:
    """``promoter ARGS`` with a pseudo-terminal as standard input, answering ``answer``."""
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer.encode() + b"\n")
        process = subprocess.run(
            [sys.executable, "-m", "promoter.cli", *args],
            cwd=REPO, env=env, stdin=follower, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
    finally:
        os.close(leader)
        os.close(follower)
    return process.returncode, process.stdout + process.stderr


def test_on_a_terminal_it_asks_first(promoted: Promoted) -> None:
    args = ["rollback", promoted.test_run, "--reason", "INC-2: check"]
    mark, rows = len(promoted.sandbox.requests()), promoted.ledger_rows()
    code, output = _on_a_terminal(promoted.env, args, "n")
    assert code == 4, output
    assert f"Roll back run {promoted.test_run} on test/Finance?" in output
    assert "not confirmed; nothing written" in output
    assert promoted.writes_since(mark) == [] and promoted.ledger_rows() == rows
    code, output = _on_a_terminal(promoted.env, args, "y")
    assert code == 0, output
    assert promoted.writes_since(mark) != []


def test_history_and_show_tell_manual_from_automatic_rollbacks(promoted: Promoted) -> None:
    done = promoted.cli(
        "rollback", promoted.test_run, "--yes", "--reason", "INC-3: bad totals", PROMOTER_USER="oncall"
    )
    assert done.returncode == 0, done.stderr
    assert PREVIEW_LINES[0] in done.stderr  # the preview comes first, on standard error

    lines = promoted.cli("history").stdout.splitlines()
    manual = next(line for line in lines if line.startswith(promoted.test_run))
    auto = next(line for line in lines if line.startswith(promoted.prod_run))
    assert "rolled-back (manual)" in manual and "rolled back by oncall: INC-3: bad totals" in manual
    assert "rolled-back (auto)" in auto and "rolled back by" not in auto

    history = {h["id"]: h for h in json.loads(promoted.cli("history", "--output", "json").stdout)}
    assert history[promoted.test_run]["rollback"]["origin"] == "manual"
    assert history[promoted.test_run]["rollback"]["by"] == "oncall"
    assert history[promoted.test_run]["rollback"]["reason"] == "INC-3: bad totals"
    assert history[promoted.prod_run]["rollback"] == {
        "origin": "auto", "by": None, "reason": None, "at": None,
    }  # fmt: skip

    shown = promoted.cli("show", promoted.test_run).stdout
    assert f"run {promoted.test_run}: rolled-back (manual) (exit 0)" in shown
    assert "rolled back on request (`promoter rollback`) by oncall" in shown
    assert "reason: INC-3: bad totals" in shown
    shown_auto = promoted.cli("show", promoted.prod_run).stdout
    assert f"run {promoted.prod_run}: rolled-back (auto) (exit 1)" in shown_auto
    assert "rolled back automatically, after a failed apply or verify" in shown_auto


def test_history_target_is_an_environment_or_a_workspace(promoted: Promoted) -> None:
    def ids(*args: str) -> list[str]:
        done = promoted.cli("history", *args, "--output", "json")
        assert done.returncode == 0, done.stderr
        return [h["id"] for h in json.loads(done.stdout)]

    assert ids("--target", "prod") == [promoted.prod_run]
    assert ids("--target", "prod/Finance") == [promoted.prod_run]
    assert ids("--target", "test") == [promoted.test_run]
    assert ids("--target", "prod/Marketing") == []
    assert ids("--target", "pro") == []  # an environment matches whole, not as a prefix
    assert promoted.cli("history", "--target", "uat").stdout == "no runs on uat yet\n"


def _record(run_id: str, created_at: str, **options: Any) -> RunRecord:
    return RunRecord(
        id=run_id, created_at=created_at, user="dev", host="h", pid=1, command="promote",
        pipeline_name="finance-hotfix", pipeline_file="pipelines/hotfix.yaml",
        pipeline_sha256="0" * 64, source="test/Finance", target="prod/Finance",
        reason="INC-9", options={"target": "prod", **options},
    )  # fmt: skip


def test_hotfix_runs_are_marked(tmp_path: Path) -> None:
    from promoter.model import RunStatus

    ledger = SQLiteLedger(tmp_path / "ledger.db")
    try:
        ledger.create_run(_record("20260101-000000-aaaaaa", "2026-01-01T00:00:00.000+00:00", kind="hotfix"))
        ledger.create_run(_record("20260101-000001-bbbbbb", "2026-01-01T00:00:01.000+00:00", kind="release"))
        for run_id in ("20260101-000000-aaaaaa", "20260101-000001-bbbbbb"):
            ledger.set_status(run_id, RunStatus.PROMOTED, exit_code=0, message="promoted")
    finally:
        ledger.close()
    env = {**os.environ, "PROMOTER_LEDGER": str(tmp_path / "ledger.db")}
    lines = run_cli("history", env=env).stdout.splitlines()
    assert " hotfix finance-hotfix " in lines[1] and "20260101-000000-aaaaaa" in lines[1]
    assert "hotfix" not in lines[0].replace("finance-hotfix", "")
    history = json.loads(run_cli("history", "--output", "json", env=env).stdout)
    assert [h["kind"] for h in history] == ["release", "hotfix"]
    shown = run_cli("show", "20260101-000000-aaaaaa", env=env).stdout
    assert "run 20260101-000000-aaaaaa: promoted (exit 0) - hotfix" in shown
