"""The pytest kit for plugin and pipeline authors (``promoter.testing``), used as they would use it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from promoter import GateDecision, Plan, RunContext, RunStatus, hookimpl
from promoter.testing import HookRecorder, PluginRegistrar, PromoterRunner, WebhookReceiver

REPO = Path(__file__).resolve().parents[1]


class BlockEverything:
    """A plugin object that refuses every promotion."""

    @hookimpl
    def promoter_gate(self, run: RunContext, plan: Plan) -> GateDecision:
        return GateDecision(gate="kit-test", allowed=False, reason=f"{len(plan.pending)} pending")


def test_talend_sandbox_gives_a_client_and_a_request_log(talend_sandbox: Any) -> None:
    with talend_sandbox.client() as client:
        names = [e.name for e in client.environments.list()]
    assert {"dev", "test", "prod"} <= set(names)
    # The sandbox logs a request just after answering it.
    deadline = time.monotonic() + 5
    while not any(r["path"].endswith("/environments") for r in talend_sandbox.requests()):
        assert time.monotonic() < deadline, talend_sandbox.requests()
        time.sleep(0.01)
    assert talend_sandbox.base_url.startswith("http://127.0.0.1:")


@pytest.mark.sandbox_seed("large", tasks=30)
def test_sandbox_seed_marker_chooses_the_estate(talend_client: Any) -> None:
    artifacts = {a.name for a in talend_client.artifacts.list()}
    assert "job_0000" in artifacts  # the large estate's artifacts, not the demo's
    assert "finance_daily_load" not in artifacts


def test_plugin_manager_is_fresh_and_register_plugin_adds_one(
    plugin_manager: Any, register_plugin: PluginRegistrar
) -> None:
    names = {info.name for info in plugin_manager.infos()}
    assert "core" in names
    assert not {i.origin.source for i in plugin_manager.infos()} & {"entrypoint"}
    name = register_plugin(BlockEverything(), name="blocker")
    assert plugin_manager.has_plugin(name)
    info = next(i for i in plugin_manager.infos() if i.name == "blocker")
    assert info.hooks == ("promoter_gate",)


def test_hook_recorder_records_calls_with_arguments(
    plugin_manager: Any, hook_recorder: HookRecorder
) -> None:
    plugin_manager.hook.promoter_add_cli_options(command="promote")
    (call,) = hook_recorder.calls_of("promoter_add_cli_options")
    assert call.kwargs == {"command": "promote"}
    assert isinstance(call.result, list)


def test_runner_promotes_in_process_and_keeps_ledger_and_reports(
    promoter_runner: PromoterRunner, hook_recorder: HookRecorder
) -> None:
    pipeline = promoter_runner.pipeline(smoke=False)
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 0, result.stderr
    assert result.outcome is not None and result.outcome.status is RunStatus.PROMOTED
    assert result.ledger.get_run(result.run_id).status is RunStatus.PROMOTED
    assert result.document("plan")["target"]["environment"] == "test"
    assert result.reports() and all(p.suffix == ".json" for p in result.reports())
    assert result.json()["run_id"] == result.run_id
    # The hooks the stages got, with their arguments.
    (started,) = hook_recorder.calls_of("promoter_run_started")
    assert started.kwargs["run"].target.environment == "test"
    # A second promotion has nothing left to do.
    again = promoter_runner.promote(pipeline, target="test")
    assert again.outcome is not None and again.outcome.status is RunStatus.NOTHING_TO_DO


def test_runner_includes_plugins_registered_for_the_test(
    promoter_runner: PromoterRunner, register_plugin: PluginRegistrar
) -> None:
    register_plugin(BlockEverything(), name="blocker")
    result = promoter_runner.promote(promoter_runner.pipeline(smoke=False), target="test")
    assert result.exit_code == 4
    assert {"gate": "kit-test", "allowed": False, "reason": "4 pending", "hint": None} in (
        result.document("gates")
    )
    # Nothing was written: the sandbox saw no write.
    writes = [r for r in promoter_runner.sandbox.requests() if r["method"] in {"POST", "PUT"}]
    assert writes == []


def test_runner_reports_invalid_input_without_a_run(promoter_runner: PromoterRunner) -> None:
    bad = promoter_runner.pipeline(unknown_section={"x": 1}, smoke=False)
    result = promoter_runner.promote(bad, target="test")
    assert result.exit_code == 2
    assert result.outcome is None
    assert "unknown_section" in result.stdout


def test_runner_runs_other_commands(promoter_runner: PromoterRunner) -> None:
    result = promoter_runner.cli("history", "--ledger", str(promoter_runner.ledger_path))
    assert result.exit_code == 0
    assert "no runs yet" in result.stdout


def test_webhook_receiver_records_posts_and_can_fail(webhook_receiver: WebhookReceiver) -> None:
    webhook_receiver.fail_next(1, status=503)
    assert httpx.post(webhook_receiver.url + "/hook", json={"a": 1}).status_code == 503
    assert httpx.post(webhook_receiver.url + "/hook", json={"a": 2}).status_code == 200
    assert webhook_receiver.bodies("/hook") == [{"a": 2}]
    assert [r.status for r in webhook_receiver.requests] == [503, 200]


def render_plugin_template(destination: Path, name: str) -> Path:
    """templates/plugin copied to ``destination`` with PLUGIN_NAME replaced, as its README says."""
    root = destination / f"promoter-{name}"
    shutil.copytree(REPO / "templates" / "plugin", root)
    for path in sorted(root.rglob("*"), reverse=True):  # files before their directories
        if path.is_file():
            path.write_text(path.read_text().replace("PLUGIN_NAME", name))
        if "PLUGIN_NAME" in path.name:
            path.rename(path.with_name(path.name.replace("PLUGIN_NAME", name)))
    return root


def test_plugin_template_works_once_its_placeholder_is_replaced(tmp_path: Path) -> None:
    root = render_plugin_template(tmp_path, "ticket")
    assert not [p for p in root.rglob("*") if "PLUGIN_NAME" in p.name]
    # Installed as pip would install it: a dist-info with the entry point, on the path.
    site = tmp_path / "site"
    info = site / "promoter_ticket-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: promoter-ticket\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[promoter]\nticket = promoter_ticket\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOTER_")}
    env["PYTHONPATH"] = os.pathsep.join([str(root), str(site)])
    listed = subprocess.run(
        [sys.executable, "-m", "promoter.cli", "plugins", "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    ticket = next(p for p in json.loads(listed.stdout) if p["name"] == "ticket")
    assert ticket["distribution"] == "promoter-ticket"
    assert ticket["hooks"] == ["promoter_gate", "promoter_register_pipeline_sections"]
    # The template's own tests pass, with the fixtures promoter ships.
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout
