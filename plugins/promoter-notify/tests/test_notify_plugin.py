"""promoter-notify against a real local HTTP receiver and promoter's sandbox.

Only ``promoter.testing`` fixtures and promoter's public API are used, as any plugin author would.
"""

from __future__ import annotations

from typing import Any

from promoter import RunStatus
from promoter.testing import PromoterRunner, WebhookReceiver


def hooks(receiver: WebhookReceiver, *webhooks: dict[str, Any], **options: Any) -> dict[str, Any]:
    """A ``notify:`` section whose webhooks post to ``receiver`` (paths /slack, /teams...)."""
    return {
        "webhooks": [{**w, "url": receiver.url + w["url"]} for w in webhooks],
        "backoff": 0.01,
        **options,
    }


def test_slack_start_and_finish_of_a_promotion(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    pipeline = promoter_runner.pipeline(
        smoke=False, notify=hooks(webhook_receiver, {"url": "/slack", "format": "slack"})
    )
    result = promoter_runner.promote(pipeline, target="test", extra_args=["--reason", "CHG-1"])
    assert result.exit_code == 0, result.stderr
    start, finish = webhook_receiver.bodies("/slack")
    assert start == {
        "text": (
            "tester is promoting finance-release from dev/Finance to test/Finance (CHG-1)"
            f" - run {result.run_id}"
        )
    }
    assert finish["text"].startswith("finance-release to test/Finance: promoted - promoted to")
    assert webhook_receiver.requests[0].headers["Content-Type"] == "application/json"


def test_teams_card_on_rollback_only(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    pipeline = promoter_runner.pipeline(
        notify=hooks(
            webhook_receiver,
            {"url": "/teams", "format": "teams", "events": ["rollback"]},
            {"url": "/slack", "events": ["finish"]},
        )
    )
    # prod follows test in the lifecycle: the release is verified in test first.
    verified = promoter_runner.promote(pipeline, target="test")
    assert verified.exit_code == 0, verified.stderr
    finishes = webhook_receiver.bodies("/slack")
    # prod: the smoke run of "Finance ledger sync" fails there, so the run is rolled back.
    result = promoter_runner.promote(pipeline, target="prod")
    assert result.outcome is not None and result.outcome.status is RunStatus.ROLLED_BACK
    (card,) = webhook_receiver.bodies("/teams")
    assert card["@type"] == "MessageCard"
    assert card["themeColor"] == "F2994A"
    assert card["title"] == "promoter: finance-release -> prod/Finance (rollback)"
    assert "ROLLED BACK (rolled-back)" in card["text"]
    assert "Finance ledger sync" in card["text"]
    assert webhook_receiver.bodies("/slack") == finishes  # a rollback is not a "finish"


def test_blocked_run_is_a_failure_with_a_custom_template(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    template = "{% raw %}{{ event }}|{{ status }}|{{ exit_code }}|{{ gates | length }}{% endraw %}"
    pipeline = promoter_runner.pipeline(
        smoke=False,
        gates={"require_reason": True},
        notify=hooks(webhook_receiver, {"url": "/x", "events": ["failure"], "template": template}),
    )
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 4
    (body,) = webhook_receiver.bodies("/x")
    assert body["text"].startswith("failure|blocked|4|")


def test_template_file_next_to_the_pipeline(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    (promoter_runner.workdir / "notify.j2").write_text(
        "{{ pipeline }} {{ plan_summary.create }} created\n"
    )
    pipeline = promoter_runner.pipeline(
        smoke=False,
        notify=hooks(
            webhook_receiver, {"url": "/f", "events": ["finish"], "template_file": "notify.j2"}
        ),
    )
    promoter_runner.promote(pipeline, target="test")
    assert webhook_receiver.bodies("/f") == [{"text": "finance-release 2 created"}]


def test_secrets_are_masked_in_messages(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    promoter_runner.env["NOTIFY_TEST_PASSWORD"] = "hunter2-very-secret"
    pipeline = promoter_runner.pipeline(
        smoke=False,
        parameters={"secrets": {"DB_PASSWORD": "${env:NOTIFY_TEST_PASSWORD}"}},
        notify=hooks(webhook_receiver, {"url": "/s"}),
    )
    result = promoter_runner.promote(
        pipeline, target="test", extra_args=["--reason", "rotate hunter2-very-secret"]
    )
    assert result.exit_code == 0, result.stderr
    texts = [b["text"] for b in webhook_receiver.bodies("/s")]
    assert len(texts) == 2
    assert all("hunter2-very-secret" not in t for t in texts)
    assert "(rotate ***)" in texts[0]


def test_retries_then_delivers(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(2, status=503)
    pipeline = promoter_runner.pipeline(
        smoke=False, notify=hooks(webhook_receiver, {"url": "/r", "events": ["start"]})
    )
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 0
    assert [r.status for r in webhook_receiver.requests] == [503, 503, 200]
    assert len(webhook_receiver.bodies("/r")) == 1


def test_an_undeliverable_notification_does_not_change_the_outcome(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(10, status=500)
    pipeline = promoter_runner.pipeline(
        smoke=False,
        notify=hooks(
            webhook_receiver, {"url": "/token/T0123/secret-path", "events": ["start"]}, retries=1
        ),
    )
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 0
    assert len(webhook_receiver.requests) == 2  # the first attempt and one retry
    assert "did not take the 'start' notification" in result.stderr
    assert "secret-path" not in result.stderr  # the URL's path is not shown


def test_a_client_error_is_not_retried(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_next(1, status=404)
    pipeline = promoter_runner.pipeline(
        smoke=False, notify=hooks(webhook_receiver, {"url": "/gone", "events": ["start"]})
    )
    promoter_runner.promote(pipeline, target="test")
    assert [r.status for r in webhook_receiver.requests] == [404]


def test_dry_runs_are_not_announced(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, notify=hooks(webhook_receiver, {"url": "/d"}))
    result = promoter_runner.promote(pipeline, target="test", extra_args=["--dry-run"])
    assert result.exit_code == 0
    assert webhook_receiver.requests == []


def test_invalid_section_is_reported_with_its_key(promoter_runner: PromoterRunner) -> None:
    pipeline = promoter_runner.pipeline(
        smoke=False, notify={"webhooks": [{"url": "http://x", "format": "email"}]}
    )
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 2
    assert "notify.webhooks[0].format" in result.stdout


def test_blocking_the_plugin_ignores_its_section(
    promoter_runner: PromoterRunner, webhook_receiver: WebhookReceiver
) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, notify=hooks(webhook_receiver, {"url": "/b"}))
    result = promoter_runner.promote(
        pipeline, target="test", env={"PROMOTER_DISABLE_PLUGINS": "notify"}
    )
    assert result.exit_code == 0, result.stdout
    assert webhook_receiver.requests == []
