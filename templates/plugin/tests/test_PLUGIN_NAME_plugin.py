"""Tests of promoter-PLUGIN_NAME, with the fixtures promoter ships (``promoter.testing``).

``promoter_runner`` runs promotions in-process against a local Talend sandbox (demo estate), with
every installed plugin; ``promoter_runner.pipeline(...)`` writes a pipeline for that estate.
"""

from __future__ import annotations

from promoter.testing import PromoterRunner


def test_a_reason_with_a_ticket_lets_the_promotion_through(
    promoter_runner: PromoterRunner,
) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, PLUGIN_NAME={"ticket_pattern": "CHG-[0-9]+"})
    result = promoter_runner.promote(pipeline, target="test", extra_args=["--reason", "CHG-42"])
    assert result.exit_code == 0, result.stderr
    decision = next(g for g in result.document("gates") if g["gate"] == "PLUGIN_NAME")
    assert decision == {
        "gate": "PLUGIN_NAME",
        "allowed": True,
        "reason": "change ticket CHG-42",
        "hint": None,
    }


def test_no_ticket_blocks_and_nothing_is_written(promoter_runner: PromoterRunner) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, PLUGIN_NAME={})
    result = promoter_runner.promote(pipeline, target="test", extra_args=["--reason", "because"])
    assert result.exit_code == 4  # blocked by a gate
    assert result.document("snapshot") is None  # stopped before the snapshot: nothing written


def test_blocking_the_plugin_ignores_its_section(promoter_runner: PromoterRunner) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, PLUGIN_NAME={})
    result = promoter_runner.promote(
        pipeline, target="test", env={"PROMOTER_DISABLE_PLUGINS": "PLUGIN_NAME"}
    )
    assert result.exit_code == 0, result.stdout
