"""The engine driven through the hooks by test plugins, as a third-party plugin would drive it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.estate import SOURCE_OBJECTS, Estate, Harness
from promoter import hookimpl
from promoter.context import RunContext, RunOptions
from promoter.engine.runs import run_record_for
from promoter.errors import ExitCode, MissingStageError
from promoter.model import (
    CheckResult,
    ExportBundle,
    ExportedObject,
    ObjectProgress,
    Plan,
    RunOutcome,
    RunStatus,
    Snapshot,
    StageOutcome,
)

PENDING = sorted(SOURCE_OBJECTS)


class StageRecorder:
    """Records the stage events and progress it sees."""

    name = "recorder"

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.outcomes: list[StageOutcome] = []
        self.progress: list[ObjectProgress] = []
        self.finished: RunOutcome | None = None

    @hookimpl
    def promoter_before_stage(self, run: RunContext, stage: str) -> None:
        self.events.append(("before", stage))

    @hookimpl
    def promoter_after_stage(self, run: RunContext, stage: str, outcome: StageOutcome) -> None:
        self.events.append(("after", stage))
        self.outcomes.append(outcome)

    @hookimpl
    def promoter_progress(self, run: RunContext, event: ObjectProgress) -> None:
        self.progress.append(event)

    @hookimpl
    def promoter_run_finished(self, run: RunContext, outcome: RunOutcome) -> None:
        self.finished = outcome

    def stages(self) -> list[str]:
        return [stage for when, stage in self.events if when == "before"]


def test_stages_run_in_order_and_the_ledger_records_them(estate: Estate, harness: Harness) -> None:
    recorder = StageRecorder()
    outcome = harness.promote(estate.pipeline(), recorder)

    assert outcome.status is RunStatus.PROMOTED
    assert outcome.exit_code == ExitCode.OK
    assert recorder.stages() == [
        "export",
        "map",
        "plan",
        "gate",
        "snapshot",
        "apply",
        "verify",
        "report",
    ]
    assert [o.stage for o in recorder.outcomes] == recorder.stages()
    assert recorder.outcomes[0].plugin == "fake_target"
    assert recorder.finished is not None and recorder.finished.run_id == outcome.run_id
    assert sorted(estate.target_objects()) == PENDING
    assert sorted(f"{p.kind}:{p.key}" for p in recorder.progress) == PENDING

    record = harness.ledger.get_run(outcome.run_id)
    assert record.status is RunStatus.PROMOTED
    assert (record.source, record.target) == ("dev/Finance", "test/Finance")
    assert outcome.versions == {"daily_load": "1.2", "ledger_sync": "3.0"}
    finished = [
        e["stage"] for e in harness.ledger.stage_events(outcome.run_id) if e["event"] == "finished"
    ]
    assert finished == recorder.stages()
    messages = {
        e["stage"]: e["messages"]
        for e in harness.ledger.stage_events(outcome.run_id)
        if e["event"] == "finished"
    }
    assert messages["plan"] == ["3 create"]
    assert messages["apply"] == ["3 object(s) applied"]
    assert messages["verify"] == ["fake:read-back: passed"]
    plan = Plan.model_validate_json(harness.ledger.document(outcome.run_id, "plan") or "")
    assert plan.counts()["create"] == 3
    snapshot = Snapshot.model_validate_json(
        harness.ledger.document(outcome.run_id, "snapshot") or ""
    )
    assert {e.body for e in snapshot.entries} == {None}
    assert harness.ledger.get_lock("test/Finance") is None  # released


def test_second_promotion_plans_nothing(estate: Estate, harness: Harness) -> None:
    harness.promote(estate.pipeline())
    recorder = StageRecorder()
    outcome = harness.promote(estate.pipeline(), recorder)
    assert outcome.status is RunStatus.NOTHING_TO_DO
    assert outcome.exit_code == 0
    assert "apply" not in recorder.stages()
    assert len(estate.writes()) == 3


def test_dry_run_stops_after_the_plan_and_takes_no_lock(estate: Estate, harness: Harness) -> None:
    recorder = StageRecorder()
    outcome = harness.promote(estate.pipeline(), recorder, dry_run=True)
    assert outcome.status is RunStatus.PLANNED
    assert recorder.stages() == ["export", "map", "plan", "report"]
    assert estate.target_objects() == {}
    assert harness.ledger.lock_events() == []


def test_target_option_selects_the_environment(estate: Estate, harness: Harness) -> None:
    outcome = harness.promote(estate.pipeline(), target="prod")
    assert harness.ledger.get_run(outcome.run_id).target == "prod/Finance"
    assert {body["env"] for body in estate.target_objects().values()} == {"prod"}


class ReplacementExport:
    """Exports one object of its own instead of the fake source's."""

    name = "replacement"

    @hookimpl
    def promoter_export(self, run: RunContext) -> ExportBundle:
        return ExportBundle(
            source=run.source, objects=[ExportedObject(kind="task", key="replaced", body={"v": 1})]
        )


class BuiltinLikeExport:
    """Like a built-in stage: trylast, so that any other plugin overrides it."""

    name = "builtin_like"

    @hookimpl(trylast=True)
    def promoter_export(self, run: RunContext) -> ExportBundle:
        raise AssertionError("a trylast export must not run when another plugin does the stage")


def test_a_plugin_replaces_a_stage_whatever_the_registration_order(
    estate: Estate, harness: Harness
) -> None:
    # fake_target (trylast, like a built-in stage) is registered last, from the pipeline file, and
    # another trylast implementation after the replacement: the replacement does the stage.
    outcome = harness.promote(estate.pipeline(), ReplacementExport(), BuiltinLikeExport())
    assert outcome.status is RunStatus.PROMOTED
    assert estate.target_objects() == {"task:replaced": {"v": 1, "env": "test"}}
    assert outcome.stages[0].stage == "export"


class SkipVerify:
    """Replaces the built-in stage runner (core's promoter_stage) for the verify stage."""

    name = "skip_verify"

    @hookimpl
    def promoter_stage(self, run: RunContext, stage: Any) -> Any:
        if stage.name == "verify":
            return []
        return None  # let the built-in runner do the other stages


def test_a_plugin_replaces_the_builtin_stage_runner(estate: Estate, harness: Harness) -> None:
    outcome = harness.promote(estate.pipeline(fake={"fail_verify": True}), SkipVerify())
    assert outcome.status is RunStatus.PROMOTED  # the failing verification never ran
    assert outcome.checks == []


class StageWrapper:
    """A new-style wrapper around every stage."""

    name = "wrapper"

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl(wrapper=True)
    def promoter_stage(self, run: RunContext, stage: Any) -> Any:
        try:
            result = yield
        except Exception as exc:
            self.seen.append((stage.name, f"raised {type(exc).__name__}"))
            raise
        self.seen.append((stage.name, type(result).__name__))
        return result


def test_a_wrapper_sees_every_stage_and_its_result(estate: Estate, harness: Harness) -> None:
    wrapper = StageWrapper()
    harness.promote(estate.pipeline(), wrapper)
    assert wrapper.seen == [
        ("export", "ExportBundle"),
        ("map", "TargetMapping"),
        ("plan", "Plan"),
        ("gate", "list"),
        ("snapshot", "Snapshot"),
        ("apply", "ApplyResult"),
        ("verify", "list"),
        ("report", "NoneType"),
    ]


def test_a_wrapper_sees_failures_and_rollback(estate: Estate, harness: Harness) -> None:
    wrapper = StageWrapper()
    harness.promote(estate.pipeline(fake={"fail_apply_after": 1}), wrapper)
    assert ("apply", "raised StageError") in wrapper.seen
    assert ("rollback", "RollbackResult") in wrapper.seen


class RollbackSpy:
    """Records the snapshot the engine hands to rollback, then lets fake_target restore it."""

    name = "rollback_spy"

    def __init__(self) -> None:
        self.snapshots: list[Snapshot] = []
        self.reasons: list[str] = []

    @hookimpl(tryfirst=True)
    def promoter_rollback(self, run: RunContext, snapshot: Snapshot, reason: str) -> None:
        self.snapshots.append(snapshot)
        self.reasons.append(reason)


def test_exception_in_apply_rolls_back_with_the_snapshot(estate: Estate, harness: Harness) -> None:
    estate.target.write_text(json.dumps({"task:daily_load": {"version": "1.1"}}))
    before = estate.target_objects()
    spy, recorder = RollbackSpy(), StageRecorder()
    outcome = harness.promote(estate.pipeline(fake={"fail_apply_after": 2}), spy, recorder)

    assert outcome.exit_code == ExitCode.FAILED_ROLLED_BACK
    assert outcome.status is RunStatus.ROLLED_BACK
    assert len(estate.writes()) == 2  # two objects were written before the failure...
    assert estate.target_objects() == before  # ...and the rollback restored the target
    stored = Snapshot.model_validate_json(harness.ledger.document(outcome.run_id, "snapshot") or "")
    assert spy.snapshots == [stored]
    assert {f"{e.kind}:{e.key}": e.body for e in stored.entries} == {
        "connection:warehouse": None,
        "task:daily_load": {"version": "1.1"},
        "task:ledger_sync": None,
    }
    assert "injected failure after 2 writes" in spy.reasons[0]
    apply_outcome = next(o for o in recorder.outcomes if o.stage == "apply")
    assert apply_outcome.status == "failed" and apply_outcome.plugin == "fake_target"
    assert "stage 'apply' (plugin 'fake_target') failed" in apply_outcome.messages[0]
    record = harness.ledger.get_run(outcome.run_id)
    assert record.status is RunStatus.ROLLED_BACK and record.exit_code == 1


def test_failed_verification_rolls_back(estate: Estate, harness: Harness) -> None:
    outcome = harness.promote(estate.pipeline(fake={"fail_verify": True}))
    assert outcome.exit_code == ExitCode.FAILED_ROLLED_BACK
    assert "injected smoke failure" in outcome.message
    assert estate.target_objects() == {}
    assert [c.passed for c in outcome.checks] == [False]


def test_exception_in_rollback_exits_3_and_the_ledger_says_so(
    estate: Estate, harness: Harness
) -> None:
    outcome = harness.promote(estate.pipeline(fake={"fail_apply_after": 1, "fail_rollback": True}))
    assert outcome.exit_code == ExitCode.ROLLBACK_INCOMPLETE
    assert outcome.status is RunStatus.ROLLBACK_INCOMPLETE
    record = harness.ledger.get_run(outcome.run_id)
    assert record.status is RunStatus.ROLLBACK_INCOMPLETE
    assert record.exit_code == 3
    assert "ROLLBACK INCOMPLETE" in record.message
    assert "injected rollback failure" in record.message
    errors = [e for e in harness.ledger.stage_events(outcome.run_id) if e["event"] == "error"]
    assert [(e["stage"], e["plugin"]) for e in errors] == [
        ("apply", "fake_target"),
        ("rollback", "fake_target"),
    ]


def test_an_exception_names_the_plugin_that_raised(estate: Estate, harness: Harness) -> None:
    class Broken:
        name = "broken_planner"

        @hookimpl(tryfirst=True)
        def promoter_plan(self, run: RunContext, mapping: Any) -> Plan:
            raise ValueError("cannot read the target")

    recorder = StageRecorder()
    outcome = harness.promote(estate.pipeline(), Broken(), recorder)
    assert outcome.status is RunStatus.FAILED
    assert outcome.exit_code == 1
    assert (
        "stage 'plan' (plugin 'broken_planner') failed: ValueError: cannot read the target"
        in outcome.message
    )
    assert "snapshot" not in recorder.stages() and estate.target_objects() == {}


def test_missing_stage_implementation_is_a_clear_error(estate: Estate, harness: Harness) -> None:
    path = estate.pipeline(plugins=[])
    # without fake_target's section, the pipeline's `fake:` key is unknown: drop it
    data = json.loads(path.read_text())
    del data["fake"]
    path.write_text(json.dumps(data))
    loaded = harness.load(path)
    engine = harness.engine()
    run = engine.context(loaded, target=None, options=RunOptions(yes=True))
    with pytest.raises(MissingStageError) as info:
        engine.promote(run)
    assert str(info.value).startswith(
        "no plugin implements promoter_export; install or enable a stage plugin"
    )
    assert harness.ledger.list_runs() == []


def test_mapping_problems_stop_before_any_write(estate: Estate, harness: Harness) -> None:
    recorder = StageRecorder()
    outcome = harness.promote(
        estate.pipeline(fake={"mapping_problem": "connection 'wh' has no mapping for 'test'"}),
        recorder,
    )
    assert outcome.exit_code == ExitCode.INVALID_INPUT
    assert "connection 'wh' has no mapping for 'test'" in outcome.message
    assert "plan" not in recorder.stages()
    assert estate.target_objects() == {}


def test_a_gate_blocks_before_anything_is_written(estate: Estate, harness: Harness) -> None:
    class NoFriday:
        name = "no_friday"

        @hookimpl
        def promoter_gate(self, run: RunContext, plan: Plan) -> Any:
            from promoter.model import GateDecision

            return GateDecision(gate="no-friday", allowed=False, reason="not today", hint="wait")

    recorder = StageRecorder()
    outcome = harness.promote(estate.pipeline(), NoFriday(), recorder)
    assert outcome.exit_code == ExitCode.BLOCKED
    assert outcome.status is RunStatus.BLOCKED
    assert "no-friday: not today (wait)" in outcome.message
    assert "snapshot" not in recorder.stages()
    assert estate.target_objects() == {}
    gates = json.loads(harness.ledger.document(outcome.run_id, "gates") or "[]")
    assert {"gate": "no-friday", "allowed": False, "reason": "not today", "hint": "wait"} in gates


def test_hotfix_requires_a_reason(estate: Estate, harness: Harness) -> None:
    path = estate.pipeline(kind="hotfix")
    blocked = harness.promote(path)
    assert blocked.exit_code == ExitCode.BLOCKED
    assert "require-reason" in blocked.message and "--reason" in blocked.message
    promoted = harness.promote(path, reason="INC-1: wrong rate")
    assert promoted.status is RunStatus.PROMOTED
    assert harness.ledger.get_run(promoted.run_id).reason == "INC-1: wrong rate"


def test_builtin_gates_can_be_disabled_by_name(estate: Estate, harness: Harness) -> None:
    outcome = harness.promote(estate.pipeline(kind="hotfix"), disabled=["gates"])
    assert outcome.status is RunStatus.PROMOTED


def test_freeze_window_blocks_the_frozen_environment_only(estate: Estate, harness: Harness) -> None:
    gates = {
        "freeze": [
            {
                "start": "2000-01-01T00:00:00Z",
                "end": "2999-01-01T00:00:00Z",
                "environments": ["prod"],
                "reason": "year-end close",
            }
        ]
    }
    path = estate.pipeline(gates=gates)
    frozen = harness.promote(path, target="prod")
    assert frozen.exit_code == ExitCode.BLOCKED and "year-end close" in frozen.message
    assert harness.promote(path, target="test").status is RunStatus.PROMOTED


def test_keyboard_interrupt_leaves_the_run_resumable(estate: Estate, harness: Harness) -> None:
    class CtrlC:
        name = "ctrl_c"

        def __init__(self) -> None:
            self.count = 0

        @hookimpl
        def promoter_progress(self, run: RunContext, event: ObjectProgress) -> None:
            self.count += 1
            if self.count == 1:
                raise KeyboardInterrupt

    path = estate.pipeline()
    outcome = harness.promote(path, CtrlC())
    assert outcome.exit_code == ExitCode.INTERRUPTED
    record = harness.ledger.get_run(outcome.run_id)
    assert record.status is RunStatus.INTERRUPTED
    assert harness.ledger.get_lock("test/Finance") is None
    assert len(estate.writes()) == 1

    loaded = harness.load(path)
    engine = harness.engine("resume")
    run = engine.context(loaded, target="test", options=RunOptions(yes=True), run_id=record.id)
    resumed = engine.resume(run, record)
    assert resumed.status is RunStatus.PROMOTED
    assert sorted(estate.target_objects()) == PENDING
    assert sorted(estate.writes()) == PENDING  # the first object was not written twice


def test_secrets_are_never_stored_resolved(
    estate: Estate, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DB_PASSWORD", "s3cr3t-value-42")
    path = estate.pipeline(
        fake={"leak_secret": "${env:FAKE_DB_PASSWORD}"},
        values={"DB_PASSWORD": "${env:FAKE_DB_PASSWORD}"},
    )
    outcome = harness.promote(path)
    assert outcome.exit_code == ExitCode.FAILED_ROLLED_BACK
    assert "cannot connect with password ***" in outcome.message
    harness.ledger.close()
    raw = b"".join(p.read_bytes() for p in estate.ledger_path.parent.iterdir())
    assert b"s3cr3t-value-42" not in raw
    assert b"cannot connect with password ***" in raw
    harness.ledger = estate.ledger()


def test_rolling_back_an_older_run_is_refused_when_a_later_one_changed_the_target(
    estate: Estate, harness: Harness
) -> None:
    first = harness.promote(estate.pipeline())
    source = json.loads(estate.source.read_text())
    source["task:daily_load"]["version"] = "1.3"
    estate.source.write_text(json.dumps(source))
    second = harness.promote(estate.pipeline())
    assert second.status is RunStatus.PROMOTED

    from promoter.errors import RunStateError

    loaded = harness.load(estate.pipelines[-1])
    engine = harness.engine("rollback")
    record = harness.ledger.get_run(first.run_id)
    run = engine.context(loaded, target="test", options=RunOptions(yes=True), run_id=record.id)
    with pytest.raises(RunStateError, match=f"run {second.run_id} .* changed test/Finance after"):
        engine.rollback(run, record, None)

    # rolling back the later run first, then the earlier one, restores the empty target
    for run_id in (second.run_id, first.run_id):
        record = harness.ledger.get_run(run_id)
        run = engine.context(loaded, target="test", options=RunOptions(yes=True), run_id=run_id)
        assert engine.rollback(run, record, "undo").status is RunStatus.ROLLED_BACK
    assert estate.target_objects() == {}


def test_a_failing_progress_listener_is_named(estate: Estate, harness: Harness) -> None:
    class BadListener:
        name = "bad_listener"

        @hookimpl
        def promoter_progress(self, run: RunContext, event: ObjectProgress) -> None:
            raise OSError("dashboard unreachable")

    recorder = StageRecorder()
    errors: list[Any] = []

    class ErrorSpy:
        name = "error_spy"

        @hookimpl
        def promoter_on_stage_error(self, run: RunContext, stage: str, error: Any) -> None:
            errors.append((stage, error.plugin))

    outcome = harness.promote(estate.pipeline(), BadListener(), recorder, ErrorSpy())
    assert outcome.status is RunStatus.ROLLED_BACK
    assert (
        "stage 'apply' (plugin 'bad_listener') failed: OSError: dashboard unreachable"
        in outcome.message
    )
    assert errors == [("apply", "bad_listener")]


def test_an_event_hook_failure_is_recorded_and_the_lock_released(
    estate: Estate, harness: Harness
) -> None:
    class BadStart:
        name = "bad_start"

        @hookimpl
        def promoter_run_started(self, run: RunContext) -> None:
            raise RuntimeError("metrics backend down")

    outcome = harness.promote(estate.pipeline(), BadStart())
    assert outcome.status is RunStatus.FAILED and outcome.exit_code == 1
    assert "metrics backend down (plugin 'bad_start'); nothing was written" in outcome.message
    assert harness.ledger.get_run(outcome.run_id).status is RunStatus.FAILED
    assert harness.ledger.get_lock("test/Finance") is None
    assert estate.target_objects() == {}


def test_a_failing_reporter_does_not_change_the_outcome(estate: Estate, harness: Harness) -> None:
    class BadReporter:
        name = "bad_reporter"

        @hookimpl
        def promoter_report(self, run: RunContext, outcome: RunOutcome) -> None:
            raise RuntimeError("chat webhook refused")

    outcome = harness.promote(estate.pipeline(), BadReporter())
    assert outcome.status is RunStatus.PROMOTED and outcome.exit_code == 0
    report = outcome.stages[-1]
    assert (report.stage, report.status, report.plugin) == ("report", "failed", "bad_reporter")
    assert harness.ledger.get_run(outcome.run_id).status is RunStatus.PROMOTED


def test_reports_are_written_in_every_format(
    estate: Estate, harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(estate.root)
    outcome = harness.promote(
        estate.pipeline(reports={"dir": "out", "formats": ["json", "junit", "markdown", "html"]})
    )
    # One directory per run: <reports.dir>/<run id>/.
    directory = estate.root / "out" / outcome.run_id
    files = sorted(p.name for p in directory.iterdir())
    assert files == ["junit.xml", "report.html", "run.json", "summary.md"]
    document = json.loads((directory / "run.json").read_text())
    assert document["outcome"]["status"] == "promoted"
    junit = (directory / "junit.xml").read_text()
    assert 'name="fake:read-back"' in junit and 'failures="0"' in junit


def test_typed_section_access(estate: Estate, harness: Harness) -> None:
    loaded = harness.load(estate.pipeline())
    run = harness.context(loaded)
    section_type = type(loaded.sections["fake"])
    section = run.section_as("fake", section_type)
    assert section is not None and section.source == "source.json"  # type: ignore[attr-defined]
    assert run.section_as("absent", section_type) is None
    with pytest.raises(TypeError):
        run.section_as("fake", RunOutcome)


def test_progress_is_thread_safe(estate: Estate, harness: Harness) -> None:
    import threading

    loaded = harness.load(estate.pipeline())
    engine = harness.engine()
    run = engine.context(loaded, target=None, options=RunOptions(yes=True))
    harness.ledger.create_run(run_record_for(run, engine.command))

    def worker(n: int) -> None:
        for i in range(50):
            run.progress("apply", "task", f"t{n}-{i}", "done")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(harness.ledger.progress(run.run_id)) == 400
    assert run.already_done("apply", "task", "t7-49")
    assert not run.already_done("verify", "task", "t7-49")


def test_a_resumed_stage_reads_what_the_interrupted_attempt_recorded(
    estate: Estate, harness: Harness
) -> None:
    """``run.earlier``: the events of earlier attempts, with their data (e.g. an execution id)."""

    class Starter:
        """A verify that starts something once per run and takes it up after a crash."""

        name = "starter"

        def __init__(self) -> None:
            self.started: list[str] = []
            self.seen: list[tuple[bool, dict[str, Any], str | None, bool]] = []

        @hookimpl
        def promoter_verify(self, run: RunContext, plan: Plan) -> list[CheckResult]:
            earlier = run.earlier.data("verify", "job", "smoke").get("executionId")
            last = run.earlier.last("verify", "job", "smoke")
            self.seen.append(
                (
                    bool(run.earlier),
                    run.earlier.data("verify", "job", "smoke"),
                    last.status.value if last else None,
                    run.earlier.done("apply", "task", "daily_load"),
                )
            )
            if earlier is None:
                earlier = f"exec-{len(self.started)}"
                self.started.append(earlier)
                run.progress("verify", "job", "smoke", "started", data={"executionId": earlier})
                raise KeyboardInterrupt  # the process stops while the execution runs
            return [CheckResult(name="smoke", passed=True, details={"executionId": earlier})]

    starter = Starter()
    path = estate.pipeline()
    outcome = harness.promote(path, starter)
    assert outcome.status is RunStatus.INTERRUPTED

    loaded = harness.load(path, starter)
    engine = harness.engine("resume")
    record = harness.ledger.get_run(outcome.run_id)
    run = engine.context(loaded, target="test", options=RunOptions(yes=True), run_id=record.id)
    resumed = engine.resume(run, record)
    assert resumed.status is RunStatus.PROMOTED
    assert starter.started == ["exec-0"]  # started once in all
    assert resumed.checks[0].details == {"executionId": "exec-0"}
    assert starter.seen == [
        (False, {}, None, False),
        (True, {"executionId": "exec-0"}, "started", True),
    ]
    assert run.earlier.of("verify", "job", "smoke")[0].data == {"executionId": "exec-0"}


def test_a_run_that_loses_its_lock_stops_with_no_rollback_and_no_more_writes(
    estate: Estate, harness: Harness
) -> None:
    """Forced open mid-apply: the next ledger write raises LeaseLost; the engine does not roll
    back (the target may be someone else's by now), records nothing, and tells run_finished."""
    from promoter.ledger import LeaseLost

    recorder = StageRecorder()

    class Operator:
        name = "operator"

        @hookimpl
        def promoter_progress(self, run: RunContext, event: ObjectProgress) -> None:
            if event.stage == "apply" and event.status == "done" and event.key == "warehouse":
                other = estate.ledger()
                try:
                    other.force_unlock("test/Finance", by="ops", reason="stop it")
                finally:
                    other.close()

    path = estate.pipeline()
    loaded = harness.load(path, Operator(), recorder)
    engine = harness.engine()
    run = engine.context(loaded, target="test", options=RunOptions(yes=True))
    with pytest.raises(LeaseLost, match="its lock was removed"):
        engine.promote(run)
    # fake_target writes an object, then reports it: the one being written went through
    assert estate.writes() == ["connection:warehouse", "task:daily_load"]
    assert "rollback" not in recorder.stages()
    assert recorder.finished is not None and recorder.finished.status is RunStatus.INTERRUPTED
    assert recorder.finished.exit_code == ExitCode.INTERRUPTED
    done = [p.key for p in harness.ledger.progress(run.run_id) if p.status == "done"]
    assert done == ["warehouse"]  # daily_load's progress was refused
    assert harness.ledger.document(run.run_id, "outcome") is None
    with pytest.raises(LeaseLost):  # every later write of the run is refused at once
        run.progress("apply", "task", "ledger_sync", "done")
