"""The release gates: no version downgrade, approval for named targets.

Most tests call ``promoter_gate`` through the hooks with a hand-made plan (the gates read only the
run and the plan); the last ones run them on the sandbox, in process and through the command line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import StageRun

from promoter.cli import main as promoter_main
from promoter.context import RunContext, RunOptions
from promoter.engine import Engine
from promoter.errors import ExitCode
from promoter.hooks.calls import PromoterHooks
from promoter.hooks.manager import get_plugin_manager
from promoter.ledger import SQLiteLedger
from promoter.model import GATE, Change, ChangeAction, GateDecision, Plan, RunStatus
from promoter.pipeline import load_pipeline
from promoter.talend.plugin.gates import compare_versions

OLD = "0.2.0.20260921080000"
NEW = "0.3.0.20261031080000"
LEDGER_OLD = "1.0.0.20260906080000"
LEDGER_NEW = "1.1.0.20261102080000"
VERSIONS = {"finance_daily_load": NEW, "finance_ledger_sync": LEDGER_NEW}


# ------------------------------------------------------------------ versions


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (NEW, OLD, 1),
        (OLD, NEW, -1),
        (NEW, NEW, 0),
        ("0.10.0.20260101000000", "0.9.0.20261231000000", 1),  # numbers, not text
        ("0.3.0.20261031080000", "0.3.0.20261101080000", -1),  # same release, older build
        ("1.2", "1.2.0", 0),
        ("1.0.0-SNAPSHOT", "1.0.0", -1),
        ("2.0.0", "1.99.99.20991231235959", 1),
    ],
)
def test_talend_versions_compare_by_numbers_then_timestamp(a: str, b: str, expected: int) -> None:
    assert compare_versions(a, b) == expected


# ------------------------------------------------------------------ the gates through the hooks


class GateBench:
    """A pipeline file and the built-in plugins: runs ``promoter_gate`` on hand-made plans."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ledger = SQLiteLedger(root / "ledger.db")

    def pipeline(self, **overrides: Any) -> Path:
        document: dict[str, Any] = {
            "name": "finance-release",
            "source": {"environment": "dev", "workspace": "Finance"},
            "targets": [
                {"environment": "test"},
                {"environment": "prod", "approval": "required"},
            ],
            "artifacts": [{"name": "finance_daily_load"}, {"name": "finance_ledger_sync"}],
            "reports": {"formats": []},
            **overrides,
        }
        path = self.root / "release.yaml"
        path.write_text(json.dumps(document, default=str))
        return path

    def decide(
        self, plan_changes: list[Change], *, target: str = "test", **extra: Any
    ) -> dict[str, GateDecision]:
        """Every gate's decision on a plan of ``plan_changes``, by gate name."""
        pm = get_plugin_manager(load_entrypoints=False, disabled=())
        pm.check()
        hooks = PromoterHooks(pm)
        loaded = load_pipeline(self.root / "release.yaml", hooks=hooks)
        engine = Engine(hooks, self.ledger)
        run: RunContext = engine.context(loaded, target=target, options=RunOptions(extra=extra))
        plan = Plan(target=run.target, changes=plan_changes, versions=VERSIONS)
        return {d.gate: d for d in hooks.collect(GATE, run=run, plan=plan)}


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> GateBench:
    monkeypatch.setenv("PROMOTER_USER", "tester")
    monkeypatch.delenv("PROMOTER_DISABLE_PLUGINS", raising=False)
    bench = GateBench(tmp_path)
    bench.pipeline()
    return bench


def task_change(
    name: str, before: str | None, after: str, artifact: str = "finance_daily_load"
) -> Change:
    """A task change moving ``name`` from version ``before`` (None: a new task) to ``after``."""

    def body(version: str) -> dict[str, Any]:
        return {"name": name, "artifact": {"name": artifact, "version": version}}

    if before is None:
        return Change(kind="task", key=name, action=ChangeAction.CREATE, after=body(after))
    return Change(
        kind="task",
        key=name,
        action=ChangeAction.UPDATE,
        before=body(before),
        after=body(after),
        fields=[],
    )


def test_a_downgrade_is_blocked_with_what_to_pass(bench: GateBench) -> None:
    decisions = bench.decide(
        [
            task_change("Finance daily load", NEW, OLD),
            task_change("Finance ledger sync", LEDGER_OLD, LEDGER_NEW, "finance_ledger_sync"),
        ]
    )
    gate = decisions["no-downgrade"]
    assert not gate.allowed
    assert gate.reason == (
        f"1 task(s) would run an older version: 'Finance daily load': finance_daily_load {NEW} -> {OLD}"
    )
    assert gate.hint is not None and "--allow-downgrade" in gate.hint


def test_allow_downgrade_lets_it_through_and_says_who(bench: GateBench) -> None:
    decisions = bench.decide([task_change("Finance daily load", NEW, OLD)], allow_downgrade=True)
    gate = decisions["no-downgrade"]
    assert gate.allowed
    assert gate.reason.startswith("downgrade allowed by --allow-downgrade (tester):")


def test_upgrades_new_tasks_and_unchanged_versions_pass(bench: GateBench) -> None:
    decisions = bench.decide(
        [
            task_change("Finance daily load", OLD, NEW),
            task_change("Finance ledger sync", None, LEDGER_OLD, "finance_ledger_sync"),
            task_change("Finance audit", NEW, NEW),
            # another artifact: versions of different artifacts do not compare
            task_change("Finance report", "9.0.0", "1.0.0", "finance_ledger_sync").model_copy(
                update={"before": {"artifact": {"name": "other", "version": "9.0.0"}}}
            ),
        ]
    )
    assert decisions["no-downgrade"].allowed
    assert decisions["no-downgrade"].reason == "no task moves to an older version"


def test_no_downgrade_false_turns_the_gate_off(bench: GateBench) -> None:
    bench.pipeline(gates={"no_downgrade": False})
    decisions = bench.decide([task_change("Finance daily load", NEW, OLD)])
    assert "no-downgrade" not in decisions


def test_a_target_without_approval_required_has_no_approval_gate(bench: GateBench) -> None:
    assert "approval" not in bench.decide([task_change("Finance daily load", OLD, NEW)])


def test_approval_required_blocks_and_says_exactly_what_to_pass(bench: GateBench) -> None:
    gate = bench.decide([task_change("Finance daily load", OLD, NEW)], target="prod")["approval"]
    assert not gate.allowed
    assert gate.reason == "target prod requires an approval, and none was given"
    assert gate.hint is not None
    assert "pass --approve (add --approver NAME" in gate.hint
    assert "gates.approval_file" in gate.hint
    assert (
        "{pipeline: finance-release, target: prod, versions: {finance_daily_load: "
        f"{NEW}, finance_ledger_sync: {LEDGER_NEW}}}, approver: NAME}}" in gate.hint
    )


def test_approve_records_the_user_or_the_named_approver(bench: GateBench) -> None:
    changes = [task_change("Finance daily load", OLD, NEW)]
    gate = bench.decide(changes, target="prod", approve=True)["approval"]
    assert gate.allowed and gate.reason == "approved by tester (--approve)"
    gate = bench.decide(changes, target="prod", approve=True, approver="alice")["approval"]
    assert gate.allowed and gate.reason == "approved by alice (--approve)"
    # --approver alone approves nothing
    assert not bench.decide(changes, target="prod", approver="alice")["approval"].allowed


def write_approvals(bench: GateBench, *approvals: dict[str, Any]) -> None:
    bench.pipeline(gates={"approval_file": "approvals.yaml"})
    (bench.root / "approvals.yaml").write_text(json.dumps({"approvals": list(approvals)}))


def approval_entry(**overrides: Any) -> dict[str, Any]:
    return {
        "pipeline": "finance-release",
        "target": "prod",
        "versions": dict(VERSIONS),
        "approver": "alice",
        **overrides,
    }


@pytest.mark.parametrize("target", ["prod", "prod/Finance"])
def test_an_approval_file_approves_this_release(bench: GateBench, target: str) -> None:
    expires = datetime.now(UTC) + timedelta(days=1)
    write_approvals(
        bench,
        approval_entry(approver="bob", target="test"),
        approval_entry(target=target, expires=expires.isoformat()),
    )
    gate = bench.decide([task_change("Finance daily load", OLD, NEW)], target="prod")["approval"]
    assert gate.allowed
    assert gate.reason == f"approved by alice in approvals.yaml, expires {expires.isoformat()}"


def test_an_approval_of_other_versions_does_not_approve(bench: GateBench) -> None:
    write_approvals(
        bench,
        approval_entry(versions={"finance_daily_load": OLD, "finance_ledger_sync": LEDGER_NEW}),
        approval_entry(approver="carol", versions={"finance_daily_load": NEW}),
    )
    gate = bench.decide([task_change("Finance daily load", OLD, NEW)], target="prod")["approval"]
    assert not gate.allowed
    assert f"alice's: other versions (finance_daily_load {OLD} != {NEW})" in gate.reason
    assert (
        f"carol's: other versions (finance_ledger_sync (not listed) != {LEDGER_NEW})" in gate.reason
    )
    assert gate.hint is not None and gate.hint.startswith(
        f"add to approvals.yaml: {{pipeline: finance-release, target: prod, versions: "
        f"{{finance_daily_load: {NEW}"
    )


def test_an_expired_approval_does_not_approve(bench: GateBench) -> None:
    write_approvals(bench, approval_entry(expires="2020-01-01T00:00:00Z"))
    gate = bench.decide([task_change("Finance daily load", OLD, NEW)], target="prod")["approval"]
    assert not gate.allowed
    assert "alice's: expired 2020-01-01T00:00:00+00:00" in gate.reason


def test_a_broken_or_missing_approval_file_blocks_and_names_the_problem(bench: GateBench) -> None:
    broken = approval_entry()
    del broken["approver"]
    write_approvals(bench, broken)
    gate = bench.decide([task_change("Finance daily load", OLD, NEW)], target="prod")["approval"]
    assert not gate.allowed
    assert "is invalid: approvals[0]: approver: Field required" in gate.reason
    assert gate.hint == "fix approvals.yaml, or pass --approve (and --approver NAME)"

    (bench.root / "approvals.yaml").unlink()
    gate = bench.decide([task_change("Finance daily load", OLD, NEW)], target="prod")["approval"]
    assert not gate.allowed and "approvals.yaml does not exist" in gate.reason


# ------------------------------------------------------------------ on the sandbox


def test_a_downgrade_is_blocked_before_any_write_then_allowed(stage_run: StageRun) -> None:
    """test runs finance_daily_load 0.2: promoting 0.1 is blocked (nothing written, the decision
    in the ledger) until --allow-downgrade, which then promotes it."""
    oldest = "0.1.0.20260901080000"
    mark = stage_run.mark()
    blocked = stage_run.promote(variables={"version": oldest})
    assert blocked.status is RunStatus.BLOCKED and blocked.exit_code == ExitCode.BLOCKED
    assert "no-downgrade: 1 task(s) would run an older version" in blocked.message
    assert stage_run.writes_since(mark) == []
    recorded = {g["gate"]: g for g in stage_run.document(blocked.run_id, "gates")}
    assert recorded["no-downgrade"]["allowed"] is False

    allowed = stage_run.promote(variables={"version": oldest}, allow_downgrade=True)
    assert allowed.status is RunStatus.PROMOTED, allowed.message
    recorded = {g["gate"]: g for g in stage_run.document(allowed.run_id, "gates")}
    assert recorded["no-downgrade"]["allowed"] is True
    assert "--allow-downgrade (tester)" in recorded["no-downgrade"]["reason"]
    task = stage_run.dump("test")["tasks"]["Finance daily load"]["task"]
    assert task["artifact"]["version"] == oldest


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        promoter_main(list(args))
    code = exited.value.code
    return (code if isinstance(code, int) else 1), capsys.readouterr().out


def test_the_command_line_options_reach_the_gates_and_the_ledger(
    stage_run: StageRun, capsys: pytest.CaptureFixture[str]
) -> None:
    """`promote --target prod` without --approve is blocked with the hint; with --approve
    --approver the approval is recorded (a freeze window then stops the run before any write)."""
    ledger = str(stage_run.root / "ledger.db")
    mark = stage_run.mark()
    code, out = _cli(
        capsys, "promote", "pipelines/release.yaml", "--target", "prod", "--yes",
        "--ledger", ledger, "--output", "json",
    )  # fmt: skip
    assert code == ExitCode.BLOCKED
    outcome = json.loads(out)
    assert outcome["status"] == "blocked"
    assert "approval: target prod requires an approval" in outcome["message"]
    assert "pass --approve (add --approver NAME" in outcome["message"]
    gates = {g["gate"]: g for g in stage_run.document(outcome["run_id"], "gates")}
    assert gates["approval"]["allowed"] is False
    # The blocked run's outcome lists the decisions too (reports show them).
    assert {g["gate"]: g for g in outcome["gates"]}["approval"] == gates["approval"]
    assert outcome["plan_summary"]["update"] == 2

    document = stage_run.release_document()
    now = datetime.now(UTC)
    document["gates"]["freeze"] = [
        {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=1)).isoformat(),
         "environments": ["prod"], "reason": "test freeze"}
    ]  # fmt: skip
    stage_run.write_pipeline("frozen.yaml", document)
    code, out = _cli(
        capsys, "promote", "pipelines/frozen.yaml", "--target", "prod", "--yes", "--approve",
        "--approver", "alice", "--ledger", ledger, "--output", "json",
    )  # fmt: skip
    assert code == ExitCode.BLOCKED
    run_id = json.loads(out)["run_id"]
    code, out = _cli(capsys, "show", run_id, "--ledger", ledger, "--output", "json")
    shown = {g["gate"]: g for g in json.loads(out)["gates"]}
    assert shown["approval"] == {
        "gate": "approval",
        "allowed": True,
        "reason": "approved by alice (--approve)",
        "hint": None,
    }
    assert shown["freeze"]["allowed"] is False
    assert json.loads(out)["run"]["options"]["approver"] == "alice"
    assert stage_run.writes_since(mark) == []
