"""Each row of docs/ci.md's exit-code table, produced by the ``promoter`` command against a real
sandbox: 0 promoted; 1 a smoke check failed and the target was rolled back; 2 invalid input (a
refused token, an unknown artifact, an invalid pipeline file, no ``--yes`` without a terminal);
3 the rollback is incomplete (a write outage during it); 4 blocked by a gate, or the target
locked by another run; 130 interrupted (SIGINT, SIGTERM) during apply. And an unreachable API
ends the run within seconds, naming the URL, with a ``retrying n/N <url>`` line per retry.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promoter.errors import ExitCode
from promoter.ledger.sqlite import SQLiteLedger
from promoter.sandbox import Sandbox

from .conftest import PASSWORD, REPO, cli_env, fast_sandbox, run_cli

CI_DOC = REPO / "docs" / "ci.md"
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
PROMOTE_TEST = ("promote", "pipelines/release.yaml", "--target", "test", "--yes")
PROMOTE_PROD = ("promote", "pipelines/release.yaml", "--target", "prod", "--yes")


def writes_since(sandbox: Sandbox, mark: int) -> list[dict[str, object]]:
    """The writes the sandbox answered since request ``mark`` (token requests aside)."""
    return [
        e
        for e in sandbox.requests(since=mark)
        if e["method"] in WRITES and not str(e["path"]).startswith("/security")
    ]


def last_seq(sandbox: Sandbox) -> int:
    entries = sandbox.requests()
    return int(entries[-1]["seq"]) if entries else 0


def writes_before_rollback(writes: list[dict[str, object]]) -> int:
    """How many writes a prod promotion makes up to its smoke executions' starts (the last
    ``POST /processing/executions``): every write after them is the rollback's."""
    starts = [
        i
        for i, e in enumerate(writes)
        if e["method"] == "POST" and e["path"] == "/processing/executions"
    ]
    assert starts, "the promotion started no smoke execution"
    return starts[-1] + 1


@dataclass
class Ladder:
    """One sandbox, one ledger: test promoted (0), prod rolled back (1), prod blocked (4)."""

    sandbox: Sandbox
    workdir: Path
    env: dict[str, str]
    promoted: subprocess.CompletedProcess[str]
    rolled_back: subprocess.CompletedProcess[str]
    blocked: subprocess.CompletedProcess[str]
    prod_writes_before_rollback: int
    """The writes of the rolled-back prod promotion before its rollback began."""

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``promoter ARGS`` in the working copy (its reports stay there)."""
        return run_cli(*args, env={**self.env, **env}, cwd=self.workdir)


def working_copy(root: Path) -> Path:
    """The repository's pipelines and templates in ``root``: commands run there, so that the
    pipeline's own report directory and any variant of the file stay out of the repository."""
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    shutil.copytree(REPO / "templates", root / "templates")
    return root


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ladder]:
    workdir = working_copy(tmp_path_factory.mktemp("exit-codes"))
    with fast_sandbox() as sandbox:
        env = cli_env(sandbox, workdir)
        promoted = run_cli(*PROMOTE_TEST, env=env, cwd=workdir)
        mark = last_seq(sandbox)
        rolled_back = run_cli(*PROMOTE_PROD, "--approve", "--reason", "exit 1", env=env, cwd=workdir)
        writes = writes_since(sandbox, mark)
        blocked = run_cli(*PROMOTE_PROD, env=env, cwd=workdir)
        yield Ladder(
            sandbox,
            workdir,
            env,
            promoted,
            rolled_back,
            blocked,
            writes_before_rollback(writes),
        )


def test_the_documented_table_is_the_one_these_tests_check() -> None:
    rows = re.findall(r"^\| (\d+) \|", CI_DOC.read_text(), flags=re.MULTILINE)
    assert [int(r) for r in rows] == [0, 1, 2, 3, 4, 130]
    assert [int(c) for c in ExitCode] == [0, 1, 2, 3, 4, 130]


# --- 0 and 1 ---------------------------------------------------------------------------------------


def test_0_promoted_and_verified(ladder: Ladder) -> None:
    assert ladder.promoted.returncode == 0, ladder.promoted.stderr
    assert "promoted to test/Finance (exit 0)" in ladder.promoted.stderr


def test_1_a_failed_smoke_check_rolled_back_cleanly(ladder: Ladder) -> None:
    result = ladder.rolled_back
    assert result.returncode == 1, result.stderr
    assert "rolled-back: verification failed: smoke:Finance ledger sync" in result.stderr
    assert "rolled back to the snapshot (exit 1)" in result.stderr


# --- 2 -----------------------------------------------------------------------------------------------


def test_2_a_refused_token_on_promote(ladder: Ladder) -> None:
    mark = last_seq(ladder.sandbox)
    result = ladder.cli(*PROMOTE_TEST, TALEND_ACCESS_TOKEN="not-the-token")
    assert result.returncode == 2, result.stderr
    assert "401" in result.stderr and "check TALEND_ACCESS_TOKEN" in result.stderr
    assert writes_since(ladder.sandbox, mark) == []
    assert "not-the-token" not in result.stdout + result.stderr


def test_2_an_unknown_artifact(ladder: Ladder) -> None:
    pipelines = ladder.workdir / "pipelines"
    text = (pipelines / "release.yaml").read_text()
    assert text.count("- name: finance_ledger_sync") == 1
    (pipelines / "unknown-artifact.yaml").write_text(
        text.replace("- name: finance_ledger_sync", "- name: finance_ledgr_sync")
    )
    result = ladder.cli("promote", "pipelines/unknown-artifact.yaml", "--target", "test", "--yes")
    assert result.returncode == 2, result.stderr
    assert "artifact 'finance_ledgr_sync' not found in dev/Finance" in result.stderr
    assert "finance_ledger_sync" in result.stderr  # the artifacts there are listed


def test_2_an_invalid_pipeline_file(ladder: Ladder) -> None:
    pipelines = ladder.workdir / "pipelines"
    text = (pipelines / "release.yaml").read_text()
    (pipelines / "invalid.yaml").write_text(text.replace("kind: release", "kind: relase"))
    result = ladder.cli("promote", "pipelines/invalid.yaml", "--target", "test", "--yes")
    assert result.returncode == 2, result.stderr
    assert re.search(r"pipelines/invalid\.yaml:\d+: kind: ", result.stderr), result.stderr


def test_2_no_yes_and_no_terminal(ladder: Ladder) -> None:
    """A CI job that forgot --yes: a mistake in its command line (invalid input), nothing
    written — not a refusal by a gate or a person (that is 4)."""
    mark = last_seq(ladder.sandbox)
    result = ladder.cli("promote", "pipelines/release.yaml", "--target", "test")
    assert result.returncode == 2, result.stderr
    assert "no terminal" in result.stderr and "--yes" in result.stderr
    assert ladder.sandbox.requests(since=mark) == []


# --- 3 -----------------------------------------------------------------------------------------------


def test_3_the_rollback_is_incomplete(ladder: Ladder, tmp_path: Path) -> None:
    """A fresh sandbox, the same promotions; writes fail from the first of the rollback on."""
    workdir = working_copy(tmp_path)
    with fast_sandbox() as sandbox:
        env = cli_env(sandbox, workdir)
        assert run_cli(*PROMOTE_TEST, env=env, cwd=workdir).returncode == 0
        # As many writes as the rolled-back promotion made before its rollback, then 503s (with
        # Retry-After: 0, so the client's retries are quick) until the test ends.
        sandbox.set_faults(fail_writes_after=ladder.prod_writes_before_rollback, retry_after=0)
        mark = last_seq(sandbox)
        result = run_cli(
            *PROMOTE_PROD, "--approve", "--report-dir", str(tmp_path / "reports"), env=env,
            cwd=workdir,
        )  # fmt: skip
        refused = [e for e in writes_since(sandbox, mark) if e["fault"] == "write-limit"]
    assert result.returncode == 3, result.stderr
    assert refused, "no write of the rollback was refused"
    assert "ROLLBACK INCOMPLETE" in result.stderr and result.stderr.count("(exit 3)") == 1
    assert "rollback-incomplete" in (tmp_path / "reports" / "run.json").read_text()


# --- 4 -----------------------------------------------------------------------------------------------


def test_4_blocked_by_a_gate(ladder: Ladder) -> None:
    result = ladder.blocked
    assert result.returncode == 4, result.stderr
    assert "blocked: approval: target prod requires an approval" in result.stderr


def test_4_the_target_is_locked_by_another_run(ladder: Ladder, tmp_path: Path) -> None:
    ledger_file = tmp_path / "ledger.db"
    holder = SQLiteLedger(ledger_file)
    try:
        holder.acquire_lock("test/Finance", run_id="20261203-000000-c0ffee", owner="alice", lease=300, wait=0)  # fmt: skip
        mark = last_seq(ladder.sandbox)
        result = ladder.cli(*PROMOTE_TEST, "--lock-wait", "0.5", PROMOTER_LEDGER=str(ledger_file))
    finally:
        holder.close()
    assert result.returncode == 4, result.stderr
    assert "target test/Finance is locked by" in result.stderr and "alice" in result.stderr
    assert writes_since(ladder.sandbox, mark) == []


# --- 130 ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_130_interrupted_during_apply(tmp_path: Path, sig: signal.Signals) -> None:
    """A slow sandbox (every orchestration write takes a second and a half); the signal comes
    once apply has written."""
    workdir = working_copy(tmp_path)
    with fast_sandbox() as sandbox:
        env = cli_env(sandbox, workdir)
        mark = last_seq(sandbox)
        sandbox.set_faults(latency_ms=1500, methods=["POST", "PUT", "DELETE"], families=["orchestration"])  # fmt: skip
        process = subprocess.Popen(
            [sys.executable, "-m", "promoter.cli", *PROMOTE_TEST],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 90
            while not writes_since(sandbox, mark) and process.poll() is None:
                assert time.monotonic() < deadline, "apply never wrote"
                time.sleep(0.05)
            process.send_signal(sig)
            out, err = process.communicate(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == 130, err
    assert re.search(r"\| apply +\| interrupted +\|", err), err
    assert "(exit 130)" in err and "promoter resume" in err
    assert PASSWORD not in out + err


# --- an unreachable API ------------------------------------------------------------------------------


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_api_fails_within_seconds_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    workdir = working_copy(tmp_path)
    with fast_sandbox() as sandbox:
        env = cli_env(sandbox, workdir, TALEND_API_URL=url)
    env.pop("PROMOTER_TALEND_RETRY_TIME", None)  # the default: 5 s of retries
    started = time.monotonic()
    result = run_cli(*PROMOTE_TEST, env=env, cwd=workdir, timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stderr
    assert elapsed < 15, f"{elapsed:.1f}s before giving up"  # the bound, generously
    retries = re.findall(rf"retrying (\d+)/(\d+) GET {re.escape(url)}/\S+ ", result.stderr)
    assert retries, result.stderr
    assert [int(n) for n, _ in retries] == list(range(1, len(retries) + 1))
    assert all(int(n) <= int(total) for n, total in retries)
    closing = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert len(closing) == 1 and url in closing[0] and "Connection refused" in closing[0]
