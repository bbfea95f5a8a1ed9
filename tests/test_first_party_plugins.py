"""The four first-party plugins (plugins/*) installed together, on the example release pipeline.

``make`` installs them into the test environment like any distribution, so they are discovered
through their ``promoter`` entry points here exactly as on a user's machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from promoter import RunStatus
from promoter.testing import PromoterRunner, PromotionResult, WebhookReceiver

REPO = Path(__file__).resolve().parents[1]
FIRST_PARTY = {
    "notify": ("promoter-notify", {"promoter_run_started", "promoter_run_finished"}),
    "approvals": ("promoter-approvals", {"promoter_gate", "promoter_add_cli_options"}),
    "policy": ("promoter-policy", {"promoter_gate"}),
    "git": ("promoter-git", {"promoter_gate", "promoter_report"}),
}


def test_promoter_plugins_lists_the_four_with_their_hooks() -> None:
    env = {k: v for k, v in os.environ.items() if k != "PROMOTER_DISABLE_PLUGINS"}
    done = subprocess.run(
        [sys.executable, "-m", "promoter.cli", "plugins", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    listed = {p["name"]: p for p in json.loads(done.stdout)}
    for name, (distribution, hooks) in FIRST_PARTY.items():
        plugin = listed[name]
        assert plugin["source"] == "entrypoint"
        assert plugin["distribution"] == distribution
        assert plugin["version"] == "0.1.0"
        assert hooks | {"promoter_register_pipeline_sections"} <= set(plugin["hooks"])


def demo_pipeline(runner: PromoterRunner, receiver: WebhookReceiver, talend_client: Any) -> Path:
    """pipelines/release.yaml copied to a temporary directory, with the plugins' sections added."""
    pipeline = runner.copy_pipeline(REPO / "pipelines" / "release.yaml", with_dirs=["../templates"])
    dev = talend_client.environments.get_by_name("dev")
    finance = talend_client.workspaces.get_by_name("Finance", environment_id=dev.id)
    versions = {
        a.name: a.versions[0] for a in talend_client.artifacts.list(workspace_id=finance.id)
    }
    approvals = [
        {"pipeline": "finance-release", "target": "test", "approver": who, "versions": versions}
        for who in ("alice", "bob")
    ]
    (pipeline.parent / "approvals.yaml").write_text(json.dumps({"approvals": approvals}))
    sections = {
        "notify": {"webhooks": [{"url": f"{receiver.url}/slack", "format": "slack"}]},
        "approvals": {"required": 2, "file": "approvals.yaml", "environments": ["test"]},
        "policy": {"max_tasks_changed": 5, "required_tags": ["finance"]},
        "git": {},
    }
    with pipeline.open("a", encoding="utf-8") as handle:
        handle.write("\n# Added by the test: the first-party plugins' sections (JSON is YAML)\n")
        for name, section in sections.items():
            handle.write(f"{name}: {json.dumps(section)}\n")
    runner.env["FINANCE_DB_PASSWORD"] = "demo-db-password"
    return pipeline


def gates(result: PromotionResult) -> dict[str, dict[str, Any]]:
    return {g["gate"]: g for g in result.document("gates")}


def test_demo_promotion_notifies_gates_and_writes_the_changelog(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver, talend_client: Any
) -> None:
    pipeline = demo_pipeline(promoter_runner, webhook_receiver, talend_client)
    result = promoter_runner.promote(pipeline, target="test", extra_args=["--reason", "demo"])
    assert result.exit_code == 0, result.stderr
    assert result.outcome is not None and result.outcome.status is RunStatus.PROMOTED

    # A notification received, at the start and at the end.
    start, finish = webhook_receiver.bodies("/slack")
    assert start["text"].startswith("tester is promoting finance-release from dev/Finance")
    assert finish["text"].startswith("finance-release to test/Finance: promoted")

    # Gate decisions, recorded in the ledger with the run.
    decisions = gates(result)
    assert decisions["approvals"]["allowed"] is True
    assert decisions["approvals"]["reason"].startswith(
        "2 of 2 approval(s): alice (approvals.yaml), bob (approvals.yaml)"
    )
    assert decisions["policy:blast-radius"]["allowed"] is True
    assert decisions["policy:required-tags"]["allowed"] is True
    assert "from DATA_PLATFORM@main commit" in decisions["git:provenance"]["reason"]
    shown = promoter_runner.cli("show", result.run_id, "--ledger", str(result.ledger_path))
    assert "gate approvals: allowed - 2 of 2 approval(s)" in shown.stdout

    # A changelog entry next to the pipeline.
    changelog = (pipeline.parent / "CHANGELOG-promotions.md").read_text()
    assert f"- run `{result.run_id}` by tester; reason: demo" in changelog
    assert "- `finance_daily_load` 0.3.0." in changelog


def test_blocking_the_plugins_removes_their_effect(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver, talend_client: Any
) -> None:
    pipeline = demo_pipeline(promoter_runner, webhook_receiver, talend_client)
    # No approval: with the approvals plugin, the run is blocked.
    (pipeline.parent / "approvals.yaml").write_text("approvals: []\n")
    blocked = promoter_runner.promote(pipeline, target="test", env={"PROMOTER_DISABLE_PLUGINS": ""})
    assert blocked.exit_code == 4
    assert gates(blocked)["approvals"]["allowed"] is False
    webhook_receiver.requests.clear()

    result = promoter_runner.promote(
        pipeline, target="test", env={"PROMOTER_DISABLE_PLUGINS": "notify,approvals,policy,git"}
    )
    assert result.exit_code == 0, result.stdout
    assert webhook_receiver.requests == []
    assert not {"approvals", "git:provenance"} & set(gates(result))
    assert not any(g.startswith("policy:") for g in gates(result))
    assert not (pipeline.parent / "CHANGELOG-promotions.md").exists()


def test_each_plugin_registers_a_section_named_like_itself() -> None:
    """Blocking a plugin ignores the section of the same name: each plugin must keep to that."""
    from promoter import get_plugin_manager
    from promoter.hooks.calls import PromoterHooks
    from promoter.pipeline import collect_sections

    registry = collect_sections(PromoterHooks(get_plugin_manager(disabled=())))
    owners = {name: spec.owner for name, spec in registry.items() if spec.owner in FIRST_PARTY}
    assert owners == {name: name for name in FIRST_PARTY}
