"""The pytest kit for plugin and pipeline authors (``promoter.testing``), used as they would use it."""

from __future__ import annotations

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
