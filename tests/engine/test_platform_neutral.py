"""The engine knows no platform: a fake platform that registers its own pipeline section runs a
whole promotion from a file with none of Talend's keys (no ``artifacts:``), Talend's plugins
disabled."""

from __future__ import annotations

from engine.estate import OTHER_BUILTINS, Estate, Harness
from promoter.model import RunStatus


def test_a_fake_platform_promotes_a_file_without_talend_keys(
    estate: Estate, harness: Harness
) -> None:
    path = estate.pipeline()
    text = path.read_text()
    for talend_key in ("artifacts", "tasks", "connections", "parameters", "apply", "verify"):
        assert f'"{talend_key}"' not in text
    assert "talend" in OTHER_BUILTINS and "talend-export" in OTHER_BUILTINS

    loaded = harness.load(path)
    assert set(loaded.sections) == {"fake"}
    outcome = harness.promote(path, target="test")

    assert outcome.status is RunStatus.PROMOTED, outcome.message
    assert [s.stage for s in outcome.stages] == [
        "export",
        "map",
        "plan",
        "gate",
        "snapshot",
        "apply",
        "verify",
        "report",
    ]
    assert {s.plugin for s in outcome.stages if s.stage in ("export", "apply")} == {"fake_target"}
    # The versions every output shows come from the platform's plan, not from a Talend key.
    assert outcome.versions == {"daily_load": "1.2", "ledger_sync": "3.0"}
    assert sorted(estate.target_objects()) == [
        "connection:warehouse",
        "task:daily_load",
        "task:ledger_sync",
    ]
