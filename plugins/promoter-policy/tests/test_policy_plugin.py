"""promoter-policy: each policy on a real promotion of the sandbox's demo estate.

Only ``promoter.testing`` fixtures and promoter's public API are used.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from promoter_policy import FreezeRule, PolicySection
from pydantic import ValidationError

from promoter import RunStatus
from promoter.testing import PromoterRunner, PromotionResult

ALL_WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def policy_gates(result: PromotionResult) -> dict[str, dict[str, Any]]:
    return {g["gate"]: g for g in result.document("gates") if g["gate"].startswith("policy:")}


def promote(runner: PromoterRunner, **policy: Any) -> PromotionResult:
    return runner.promote(runner.pipeline(smoke=False, policy=policy), target="test")


def test_policies_that_pass_are_recorded_and_the_promotion_goes_ahead(
    promoter_runner: PromoterRunner,
) -> None:
    result = promote(
        promoter_runner,
        freeze=[{"name": "last-year", "start": "2020-12-23", "end": "2021-01-04"}],
        max_tasks_changed={"test": 2, "default": 0},
        naming={"task": "^Finance [a-z ]+$", "connection": "^[a-z_]+$"},
        required_tags=["finance"],
        artifact_types={"test": ["standard"]},
    )
    assert result.exit_code == 0, result.stderr
    assert {name: g["allowed"] for name, g in policy_gates(result).items()} == {
        "policy:freeze": True,
        "policy:blast-radius": True,
        "policy:naming": True,
        "policy:required-tags": True,
        "policy:artifact-types": True,
    }
    assert policy_gates(result)["policy:blast-radius"]["reason"] == (
        "2 task(s) change, at most 2 allowed"
    )


def test_freeze_calendar_blocks(promoter_runner: PromoterRunner) -> None:
    result = promote(
        promoter_runner,
        freeze=[{"name": "always", "weekdays": ALL_WEEK, "reason": "audit"}],
    )
    assert result.exit_code == 4
    assert result.outcome is not None and result.outcome.status is RunStatus.BLOCKED
    gate = policy_gates(result)["policy:freeze"]
    assert gate["reason"].startswith("test is frozen by 'always' (mon, tue")
    assert gate["reason"].endswith(": audit")


def test_freeze_rule_for_another_environment_does_not_apply(
    promoter_runner: PromoterRunner,
) -> None:
    result = promote(
        promoter_runner,
        freeze=[{"name": "prod-only", "weekdays": ALL_WEEK, "environments": ["prod"]}],
    )
    assert result.exit_code == 0, result.stderr


def test_blast_radius_blocks_a_plan_changing_too_many_tasks(
    promoter_runner: PromoterRunner,
) -> None:
    result = promote(promoter_runner, max_tasks_changed=1)
    assert result.exit_code == 4
    assert policy_gates(result)["policy:blast-radius"]["reason"] == (
        "2 tasks change ('Finance daily load', 'Finance ledger sync'), more than the 1 allowed "
        "for test"
    )


def test_naming_tags_and_artifact_types_block_with_the_offenders(
    promoter_runner: PromoterRunner,
) -> None:
    result = promote(
        promoter_runner,
        naming={"task": "^[a-z_]+$"},
        required_tags={"test": ["nightly"]},
        artifact_types={"test": ["route"], "prod": ["standard"]},
    )
    assert result.exit_code == 4
    gates = policy_gates(result)
    assert gates["policy:naming"]["reason"] == (
        "names break the naming rules: task 'Finance daily load', 'Finance ledger sync' "
        "(must match ^[a-z_]+$)"
    )
    assert gates["policy:required-tags"]["reason"] == (
        "tasks without the required tags: 'Finance ledger sync' lacks nightly"
    )
    assert gates["policy:artifact-types"]["reason"].startswith(
        "test accepts only route artifacts, not finance_daily_load@"
    )
    # Nothing was promoted.
    assert "no-downgrade" in {g["gate"] for g in result.document("gates")}
    assert result.document("snapshot") is None


def test_invalid_policies_are_pipeline_errors(promoter_runner: PromoterRunner) -> None:
    result = promote(promoter_runner, naming={"task": "("}, freeze=[{"name": "empty"}])
    assert result.exit_code == 2
    assert "policy.naming" in result.stdout
    assert "policy.freeze[0]" in result.stdout


def test_blocking_the_plugin_removes_its_gates(promoter_runner: PromoterRunner) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, policy={"max_tasks_changed": 0})
    result = promoter_runner.promote(
        pipeline, target="test", env={"PROMOTER_DISABLE_PLUGINS": "policy"}
    )
    assert result.exit_code == 0, result.stdout
    assert policy_gates(result) == {}


# --- the freeze calendar, at chosen moments ------------------------------------------------------


def rule(**fields: Any) -> FreezeRule:
    return PolicySection.model_validate({"freeze": [{"name": "r", **fields}]}).freeze[0]


@pytest.mark.parametrize(
    ("fields", "moment", "frozen"),
    [
        ({"weekdays": ["sat", "sun"]}, "2026-11-28T12:00:00Z", True),  # a Saturday
        ({"weekdays": ["sat", "sun"]}, "2026-11-30T12:00:00Z", False),  # a Monday
        # Friday 15:00 in Paris is 14:00 UTC in winter.
        (
            {"weekdays": ["fri"], "from": "15:00", "timezone": "Europe/Paris"},
            "2026-11-27T14:00:00Z",
            True,
        ),
        (
            {"weekdays": ["fri"], "from": "15:00", "timezone": "Europe/Paris"},
            "2026-11-27T13:59:00Z",
            False,
        ),
        # A window across midnight.
        ({"from": "22:00", "to": "06:00"}, "2026-11-27T23:30:00Z", True),
        ({"from": "22:00", "to": "06:00"}, "2026-11-27T05:59:00Z", True),
        ({"from": "22:00", "to": "06:00"}, "2026-11-27T06:00:00Z", False),
        # Dates: start included, end excluded.
        ({"start": "2026-12-23", "end": "2027-01-04"}, "2026-12-23T00:00:00Z", True),
        ({"start": "2026-12-23", "end": "2027-01-04"}, "2027-01-04T00:00:00Z", False),
        ({"start": "2026-12-23T18:00:00Z"}, "2026-12-23T17:59:00Z", False),
        ({"weekdays": ["mon"], "environments": ["prod"]}, "2026-11-30T12:00:00Z", False),
    ],
)
def test_freeze_rules(fields: dict[str, Any], moment: str, frozen: bool) -> None:
    when = datetime.fromisoformat(moment).astimezone(UTC)
    assert rule(**fields).covers(when, "test") is frozen


def test_freeze_rule_validation() -> None:
    with pytest.raises(ValidationError, match="needs weekdays"):
        rule()
    with pytest.raises(ValidationError, match="not a time"):
        rule(**{"from": "25:00"})
    with pytest.raises(ValidationError, match="unknown time zone"):
        rule(weekdays=["mon"], timezone="Mars/Olympus")
