"""promoter-git: source commits in the ledger and a changelog, on promoter's sandbox.

Only ``promoter.testing`` fixtures and promoter's public API are used.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from promoter_git import SourceCommit, source_commits

from promoter import Plan, RunContext, TargetRef, hookimpl
from promoter.testing import PluginRegistrar, PromoterRunner, PromotionResult


def provenance(result: PromotionResult) -> dict[str, Any]:
    (gate,) = [g for g in result.document("gates") if g["gate"] == "git:provenance"]
    return dict(gate)


def test_commits_are_recorded_and_a_changelog_entry_is_written(
    promoter_runner: PromoterRunner, talend_client: Any
) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, git={})
    result = promoter_runner.promote(pipeline, target="test", extra_args=["--reason", "CHG-7"])
    assert result.exit_code == 0, result.stderr

    # The commit each artifact version was published from, as the source (dev) has it.
    versions = result.document("plan")["versions"]
    dev = talend_client.environments.get_by_name("dev")
    finance = talend_client.workspaces.get_by_name("Finance", environment_id=dev.id)
    commits = {}
    for artifact in talend_client.artifacts.list(workspace_id=finance.id):
        if artifact.name in versions:
            detail = talend_client.artifacts.get_version(artifact.id, versions[artifact.name])
            commits[artifact.name] = detail.repository.commit.id
    assert set(commits) == {"finance_daily_load", "finance_ledger_sync"}

    gate = provenance(result)
    assert gate["allowed"] is True
    for name, commit in commits.items():
        assert f"{name} {versions[name]} from DATA_PLATFORM@main commit {commit}" in gate["reason"]

    changelog = (pipeline.parent / "CHANGELOG-promotions.md").read_text()
    assert changelog.startswith("# Promotions\n")
    assert "· finance-release → test/Finance" in changelog
    assert f"- run `{result.run_id}` by tester; reason: CHG-7" in changelog
    assert "- plan: 2 create, 2 update" in changelog
    for name, commit in commits.items():
        assert f"- `{name}` {versions[name]} — DATA_PLATFORM@main, commit `{commit}`" in changelog


def test_entries_are_added_newest_first_and_only_for_promoted_runs(
    promoter_runner: PromoterRunner,
) -> None:
    pipeline = promoter_runner.pipeline(git={"changelog": "docs/promotions.md"})
    changelog = promoter_runner.workdir / "docs" / "promotions.md"
    first = promoter_runner.promote(pipeline, target="test")
    assert first.exit_code == 0, first.stderr
    # prod: the smoke run fails there, the run is rolled back: no entry.
    rolled_back = promoter_runner.promote(pipeline, target="prod")
    assert rolled_back.exit_code == 1
    assert rolled_back.run_id not in changelog.read_text()
    # Up to date: nothing to do, no entry.
    assert promoter_runner.promote(pipeline, target="test").exit_code == 0
    assert changelog.read_text().count("\n## ") == 1
    # A successful promotion to prod (without the failing smoke run) goes on top.
    no_smoke = promoter_runner.pipeline(smoke=False, git={"changelog": "docs/promotions.md"})
    second = promoter_runner.promote(no_smoke, target="prod")
    assert second.exit_code == 0, second.stderr
    text = changelog.read_text()
    assert text.index(second.run_id) < text.index(first.run_id)
    assert text.count("\n## ") == 2


class DropRepositories:
    """A test plugin: the plan loses its artifacts' repositories (as if built without Git)."""

    @hookimpl(wrapper=True)
    def promoter_stage(self, run: RunContext, stage: Any) -> Generator[None, Any, Any]:
        result = yield
        if stage.name == "plan" and isinstance(result, Plan):
            result.metadata["repositories"] = {}
        return result


def test_require_commit_refuses_artifacts_without_one(
    promoter_runner: PromoterRunner, register_plugin: PluginRegistrar
) -> None:
    register_plugin(DropRepositories(), name="drop-repositories")
    pipeline = promoter_runner.pipeline(smoke=False, git={"require_commit": True})
    result = promoter_runner.promote(pipeline, target="test")
    assert result.exit_code == 4
    gate = provenance(result)
    assert gate["allowed"] is False
    assert "finance_daily_load" in gate["reason"] and "no source commit" in gate["reason"]
    assert gate["hint"].startswith("publish finance_daily_load, finance_ledger_sync from a Git")
    assert not (pipeline.parent / "CHANGELOG-promotions.md").exists()


def test_blocking_the_plugin_removes_its_effect(promoter_runner: PromoterRunner) -> None:
    pipeline = promoter_runner.pipeline(smoke=False, git={})
    result = promoter_runner.promote(
        pipeline, target="test", env={"PROMOTER_DISABLE_PLUGINS": "git"}
    )
    assert result.exit_code == 0, result.stdout
    assert [g for g in result.document("gates") if g["gate"] == "git:provenance"] == []
    assert not (pipeline.parent / "CHANGELOG-promotions.md").exists()


def test_source_commits_from_plan_metadata() -> None:
    plan = Plan(
        target=TargetRef(environment="test", workspace="W"),
        metadata={
            "versions": {"b": "2.0", "a": "1.0"},
            "repositories": {
                "a": {"project": "P", "branch": "main", "commit": {"id": "abc", "author": "x"}},
                "b": None,
            },
        },
    )
    assert source_commits(plan) == [
        SourceCommit(
            artifact="a", version="1.0", project="P", branch="main", commit="abc", author="x"
        ),
        SourceCommit(artifact="b", version="2.0"),
    ]
    assert source_commits(plan)[0].describe() == "a 1.0 from P@main commit abc by x"
    assert source_commits(plan)[1].describe() == "b 2.0: no source commit"
