"""promoter-approvals: N approvers from an approvals file or signed tokens, on promoter's sandbox.

Only ``promoter.testing`` fixtures and promoter's public API are used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from promoter_approvals import sign, verify

from promoter import RunStatus
from promoter.testing import PromoterRunner

SECRET = "approval-signing-key"


def latest_versions(client: Any) -> dict[str, str]:
    """The newest versions of the demo's Finance artifacts in dev: what the pipeline promotes."""
    dev = client.environments.get_by_name("dev")
    finance = client.workspaces.get_by_name("Finance", environment_id=dev.id)
    wanted = {"finance_daily_load", "finance_ledger_sync"}
    versions = {a.name: a.versions[0] for a in client.artifacts.list(workspace_id=finance.id)}
    return {name: version for name, version in versions.items() if name in wanted}


def approvals_file(runner: PromoterRunner, *entries: dict[str, Any]) -> None:
    """Write approvals.yaml (JSON is YAML) next to the pipeline."""
    document = {"approvals": list(entries)}
    (runner.workdir / "approvals.yaml").write_text(json.dumps(document, indent=2))


def approval(approver: str, versions: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "pipeline": "finance-release",
        "target": "test",
        "versions": versions,
        "approver": approver,
        **extra,
    }


@pytest.fixture
def pipeline(promoter_runner: PromoterRunner) -> Path:
    promoter_runner.env["APPROVAL_TOKEN_SECRET"] = SECRET
    return promoter_runner.pipeline(
        smoke=False,
        approvals={
            "required": 2,
            "file": "approvals.yaml",
            "token_secret": "${env:APPROVAL_TOKEN_SECRET}",
        },
    )


def gate(result: Any) -> dict[str, Any]:
    (decision,) = [g for g in result.document("gates") if g["gate"] == "approvals"]
    return dict(decision)


def test_two_approvers_in_the_file_let_the_promotion_through_and_are_recorded(
    promoter_runner: PromoterRunner, pipeline: Path, talend_client: Any
) -> None:
    versions = latest_versions(talend_client)
    approvals_file(promoter_runner, approval("alice", versions), approval("bob", versions))
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 0, result.stderr
    assert gate(result) == {
        "gate": "approvals",
        "allowed": True,
        "reason": "2 of 2 approval(s): alice (approvals.yaml), bob (approvals.yaml)",
        "hint": None,
    }
    shown = promoter_runner.cli("show", result.run_id, "--ledger", str(result.ledger_path))
    assert "gate approvals: allowed - 2 of 2 approval(s): alice" in shown.stdout


def test_one_approval_is_not_enough_and_nothing_is_written(
    promoter_runner: PromoterRunner, pipeline: Path, talend_client: Any
) -> None:
    versions = latest_versions(talend_client)
    approvals_file(promoter_runner, approval("alice", versions))
    since = len(promoter_runner.sandbox.requests())
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 4
    assert result.outcome is not None and result.outcome.status is RunStatus.BLOCKED
    decision = gate(result)
    assert decision["reason"] == "1 of 2 approval(s): alice (approvals.yaml)"
    assert decision["hint"].startswith("1 more approver(s) needed for finance-release -> test")
    writes = [r for r in promoter_runner.sandbox.requests(since) if r["method"] != "GET"]
    assert writes == []


def test_a_signed_token_counts_as_an_approval(
    promoter_runner: PromoterRunner, pipeline: Path, talend_client: Any
) -> None:
    versions = latest_versions(talend_client)
    approvals_file(promoter_runner, approval("alice", versions))
    token = sign(SECRET, "bob", "finance-release", "test", versions)
    result = promoter_runner.promote(
        pipeline, target="test", extra_args=["--approval-token", token]
    )
    assert result.exit_code == 0, result.stderr
    assert gate(result)["reason"] == "2 of 2 approval(s): alice (approvals.yaml), bob (token)"


def test_tokens_from_the_environment(
    promoter_runner: PromoterRunner, pipeline: Path, talend_client: Any
) -> None:
    versions = latest_versions(talend_client)
    tokens = [sign(SECRET, who, "finance-release", "test", versions) for who in ("carol", "dan")]
    result = promoter_runner.promote(
        pipeline, target="test", env={"PROMOTER_APPROVAL_TOKENS": ",".join(tokens)}
    )
    assert result.exit_code == 0, result.stderr
    assert gate(result)["reason"] == (
        "2 of 2 approval(s): carol (token), dan (token); "
        "not counted: no approvals file (approvals.yaml does not exist)"
    )


def test_approvals_that_do_not_count_are_listed_with_why(
    promoter_runner: PromoterRunner, pipeline: Path, talend_client: Any
) -> None:
    versions = latest_versions(talend_client)
    older = {name: "0.0.1" for name in versions}
    approvals_file(
        promoter_runner,
        approval("alice", versions),
        approval("alice", versions),  # the same person twice counts once
        approval("erin", older),
        approval("frank", versions, expires="2020-01-01T00:00:00Z"),
        approval("tester", versions),  # the runner's user: no self-approval
        approval("gina", versions, pipeline="another-pipeline"),  # ignored: not this promotion
    )
    forged = sign("not-the-key", "mallory", "finance-release", "test", versions)
    other_target = sign(SECRET, "oscar", "finance-release", "prod", versions)
    result = promoter_runner.promote(
        pipeline,
        target="test",
        extra_args=["--approval-token", forged, "--approval-token", other_target],
    )
    assert result.exit_code == 4
    reason = gate(result)["reason"]
    assert reason.startswith("1 of 2 approval(s): alice (approvals.yaml); not counted: ")
    assert "erin (approvals.yaml: approved other versions of finance_daily_load" in reason
    assert "frank (approvals.yaml: expired 2020-01-01T00:00:00+00:00)" in reason
    assert "tester (approvals.yaml: runs this promotion)" in reason
    assert "mallory (token: invalid for this pipeline, target and versions)" in reason
    assert "oscar (token: invalid" in reason
    assert "gina" not in reason


def test_only_listed_environments_need_approvals(promoter_runner: PromoterRunner) -> None:
    pipeline = promoter_runner.pipeline(
        smoke=False, approvals={"required": 3, "environments": ["prod"], "file": "none.yaml"}
    )
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 0, result.stderr
    assert [g for g in result.document("gates") if g["gate"] == "approvals"] == []


def test_a_missing_approvals_file_counts_no_approval(promoter_runner: PromoterRunner) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, approvals={"file": "missing.yaml"})
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 4
    decision = gate(result)
    assert decision["reason"] == (
        "0 of 1 approval(s): none; not counted: no approvals file (missing.yaml does not exist)"
    )
    assert "add them to missing.yaml" in decision["hint"]


def test_an_invalid_approvals_file_blocks_and_says_where(promoter_runner: PromoterRunner) -> None:
    (promoter_runner.workdir / "approvals.yaml").write_text("approvals:\n  - approver: x\n")
    pipeline = promoter_runner.pipeline(smoke=False, approvals={"file": "approvals.yaml"})
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 4
    decision = gate(result)
    assert "approvals[0]: pipeline: Field required" in decision["reason"]
    assert "approvals.file" in decision["hint"]


def test_blocking_the_plugin_removes_the_gate(
    promoter_runner: PromoterRunner, pipeline: Path
) -> None:
    result = promoter_runner.promote(
        pipeline, target="test", env={"PROMOTER_DISABLE_PLUGINS": "approvals"}
    )
    assert result.exit_code == 0, result.stdout
    assert [g for g in result.document("gates") if g["gate"] == "approvals"] == []


def test_tokens_are_bound_to_the_approver_pipeline_target_and_versions() -> None:
    versions = {"a": "1.0", "b": "2.0"}
    token = sign(SECRET, "alice", "p", "prod", versions)
    assert verify(token, SECRET, "p", "prod", dict(reversed(versions.items()))) == "alice"
    assert verify(token, SECRET, "p", "test", versions) is None
    assert verify(token, SECRET, "q", "prod", versions) is None
    assert verify(token, SECRET, "p", "prod", {"a": "1.1", "b": "2.0"}) is None
    assert verify(token.replace("alice", "bob"), SECRET, "p", "prod", versions) is None
    assert verify(token, "other-key", "p", "prod", versions) is None
    assert verify("garbage", SECRET, "p", "prod", versions) is None


def test_coexists_with_promoters_own_approval_gate(
    promoter_runner: PromoterRunner, talend_client: Any
) -> None:
    """promoter's ``approval: required`` (gate ``approval``) and this plugin's gate both apply."""
    versions = latest_versions(talend_client)
    approvals_file(promoter_runner, approval("alice", versions), approval("bob", versions))
    pipeline = promoter_runner.pipeline(
        smoke=False,
        targets=[{"environment": "test", "approval": "required"}],
        approvals={"required": 2, "file": "approvals.yaml"},
    )
    without = promoter_runner.promote(pipeline, target="test")
    assert without.exit_code == 4
    decisions = {g["gate"]: g["allowed"] for g in without.document("gates")}
    assert decisions["approval"] is False
    assert decisions["approvals"] is True

    result = promoter_runner.promote(pipeline, target="test", extra_args=["--approve"])
    assert result.exit_code == 0, result.stderr
    decisions = {g["gate"]: g["allowed"] for g in result.document("gates")}
    assert decisions["approval"] is True
    assert decisions["approvals"] is True
