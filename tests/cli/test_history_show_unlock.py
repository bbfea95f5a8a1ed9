"""Real `promoter` processes on one target: locks, SIGKILL, resume, rollback, history, show."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable

from engine.estate import SOURCE_OBJECTS, Estate

from promoter.ledger import SQLiteLedger

TARGET = "test/Finance"


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def lock_holder(estate: Estate) -> str | None:
    if not estate.ledger_path.exists():
        return None
    ledger = SQLiteLedger(estate.ledger_path)
    try:
        lock = ledger.get_lock(TARGET)
        return lock.run_id if lock else None
    finally:
        ledger.close()


def applied_objects(estate: Estate, run_id: str) -> int:
    ledger = SQLiteLedger(estate.ledger_path)
    try:
        return sum(1 for p in ledger.progress(run_id) if p.status == "done")
    finally:
        ledger.close()


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=60)
    return process.returncode, out, err


def test_promote_plan_history_show(estate: Estate) -> None:
    estate.pipeline()
    planned = estate.cli("plan", "release.yaml", check=0)
    # The plan is shown once, by the console on standard error (stdout carries --output json).
    assert "Plan for test/Finance: 3 create" in planned.stderr
    assert "task:daily_load" in planned.stderr and planned.stdout == ""
    assert estate.target_objects() == {}
    promoted = json.loads(
        estate.cli(
            "promote",
            "release.yaml",
            "--yes",
            "--reason",
            "release 42",
            "--output",
            "json",
            check=0,
        ).stdout
    )
    assert promoted["status"] == "promoted" and promoted["exit_code"] == 0
    assert len(estate.target_objects()) == 3
    history = json.loads(estate.cli("history", "--output", "json", check=0).stdout)
    assert [h["status"] for h in history] == ["promoted", "planned"]
    assert history[0]["reason"] == "release 42" and history[0]["user"] == "tester"
    shown = estate.cli("show", promoted["run_id"][:18], check=0).stdout
    assert f"run {promoted['run_id']}: promoted (exit 0)" in shown
    assert "apply progress: 3 object(s) done" in shown


def test_promote_without_a_terminal_needs_yes(estate: Estate) -> None:
    estate.pipeline()
    result = estate.cli("promote", "release.yaml", check=2)
    assert "pass --yes" in result.stderr
    assert not estate.ledger_path.exists()


def test_two_concurrent_promotions_one_fails_naming_the_holder_one_waits(estate: Estate) -> None:
    hold = estate.root / "hold"
    hold.touch()
    estate.pipeline(fake={"hold_file": "hold"})
    first = estate.popen("promote", "release.yaml", "--yes")
    try:
        wait_for(lambda: lock_holder(estate) is not None, what="the first run's lock")
        holder = lock_holder(estate)
        impatient = estate.cli("promote", "release.yaml", "--yes", "--lock-wait", "0", check=4)
        assert f"target {TARGET} is locked by run {holder} by tester@" in impatient.stderr
        patient = estate.popen("promote", "release.yaml", "--yes", "--lock-wait", "30")
        time.sleep(0.5)
        assert patient.poll() is None  # waiting for the lock
        hold.unlink()
        code, _, err = finish(first)
        assert code == 0, err
        code, _, err = finish(patient)
        assert code == 0, err
        # It waited for the first run, then found nothing to do.
        assert "nothing to do: the target is up to date" in err
    finally:
        for process in (first,):
            if process.poll() is None:
                process.kill()
    assert sorted(estate.writes()) == sorted(SOURCE_OBJECTS)  # each object written once


def test_a_stale_lock_is_taken_over_after_its_lease_and_unlock_is_recorded(estate: Estate) -> None:
    estate.pipeline()
    ledger = estate.ledger()
    ledger._db.execute(
        "INSERT INTO locks (target, run_id, owner, host, pid, acquired_at, expires_at)"
        " VALUES (?,?,?,?,?,?,?)",
        (
            TARGET,
            "ghost-run",
            "bob",
            "ci-runner-7",
            4242,
            "2026-11-29T00:00:00+00:00",
            time.time() + 600,
        ),
    )
    blocked = estate.cli("promote", "release.yaml", "--yes", "--lock-wait", "0", check=4)
    assert "locked by run ghost-run by bob@ci-runner-7 (pid 4242)" in blocked.stderr
    # the holder on another host stops renewing its lease: it expires shortly
    ledger._db.execute("UPDATE locks SET expires_at = ?", (time.time() + 0.5,))
    ledger.close()
    estate.cli("promote", "release.yaml", "--yes", "--lock-wait", "20", check=0)
    ledger = estate.ledger()
    try:
        events = [(e["event"], e["run_id"]) for e in ledger.lock_events(TARGET)]
        assert events[0] == ("taken-over", "ghost-run")
        # and a lock that is not stale yet is forced open with `promoter unlock`, recorded
        ledger._db.execute(
            "INSERT INTO locks (target, run_id, owner, host, pid, acquired_at, expires_at)"
            " VALUES (?,?,?,?,?,?,?)",
            (
                TARGET,
                "ghost-2",
                "bob",
                "ci-runner-7",
                4242,
                "2026-11-29T00:00:00+00:00",
                time.time() + 600,
            ),
        )
    finally:
        ledger.close()
    # A holder on another host with a valid lease may well be alive: refused (exit 4) unless forced.
    refused = estate.cli("unlock", "test", "--reason", "runner is gone", check=4)
    assert "locked by run ghost-2 by bob@ci-runner-7 (pid 4242)" in refused.stderr
    assert "`promoter show ghost-2`" in refused.stderr and "--force" in refused.stderr
    unlocked = estate.cli("unlock", "test", "--force", "--reason", "runner is gone", check=0)
    assert f"unlocked {TARGET} (was held by run ghost-2 by bob@ci-runner-7" in unlocked.stdout
    ledger = estate.ledger()
    try:
        forced = ledger.lock_events(TARGET)[-1]
        assert forced["event"] == "forced" and forced["run_id"] == "ghost-2"
        assert "unlocked by tester@" in forced["detail"] and "runner is gone" in forced["detail"]
        assert ledger.get_lock(TARGET) is None
    finally:
        ledger.close()


def stop_during_apply(estate: Estate, sig: signal.Signals = signal.SIGKILL) -> tuple[str, int]:
    """Start a promotion, send it ``sig`` after it applied one object; its run id and exit code.

    The pipeline holds apply before the second object while the ``hold`` file exists.
    """
    hold = estate.root / "hold"
    hold.touch()
    process = estate.popen("promote", "release.yaml", "--yes")
    try:
        wait_for(lambda: lock_holder(estate) is not None, what="the lock")
        run_id = lock_holder(estate)
        assert run_id is not None
        wait_for(lambda: applied_objects(estate, run_id) >= 1, what="apply progress")
    finally:
        os.kill(process.pid, sig)
        process.communicate(timeout=30)
        hold.unlink()
    return run_id, process.returncode


def kill_during_apply(estate: Estate) -> str:
    """SIGKILL a promotion after it applied one object; return its run id."""
    run_id, code = stop_during_apply(estate, signal.SIGKILL)
    assert code == -signal.SIGKILL
    return run_id


def test_a_killed_run_shows_interrupted_and_resumes(estate: Estate) -> None:
    estate.pipeline(fake={"hold_file": "hold", "hold_after": 1})
    run_id = kill_during_apply(estate)
    written_before = estate.writes()
    assert len(written_before) == 1

    shown = json.loads(estate.cli("show", run_id, "--output", "json", check=0).stdout)
    assert shown["run"]["status"] == "interrupted"
    assert shown["has_snapshot"] is True
    text = estate.cli("show", run_id, check=0).stdout
    assert "interrupted" in text and f"promoter resume {run_id}" in text
    history = json.loads(estate.cli("history", "--output", "json", check=0).stdout)
    assert history[0]["status"] == "interrupted"

    # the pipeline file changed since the run started: resume refuses (unless --force)
    pipeline = estate.root / "release.yaml"
    original = pipeline.read_text()
    pipeline.write_text(original + "# edited\n")
    changed = estate.cli("resume", run_id, check=2)
    assert "changed since run" in changed.stderr and "--force" in changed.stderr
    pipeline.write_text(original)

    resumed = json.loads(estate.cli("resume", run_id, "--output", "json", check=0).stdout)
    assert resumed["status"] == "promoted"
    assert len(estate.target_objects()) == 3
    assert sorted(estate.writes()) == sorted(SOURCE_OBJECTS)  # nothing written twice
    assert estate.writes()[: len(written_before)] == written_before
    shown = json.loads(estate.cli("show", run_id, "--output", "json", check=0).stdout)
    assert shown["run"]["status"] == "promoted"
    # resuming a finished run is refused
    refused = estate.cli("resume", run_id, check=2)
    assert "only an interrupted run can be resumed" in refused.stderr


def test_a_killed_run_can_be_rolled_back_later(estate: Estate) -> None:
    original = {"task:daily_load": {"version": "1.1", "param": "a", "env": "test"}}
    estate.target.write_text(json.dumps(original))
    estate.pipeline(fake={"hold_file": "hold", "hold_after": 1})
    run_id = kill_during_apply(estate)
    assert estate.target_objects() != original

    rolled = json.loads(
        estate.cli(
            "rollback", run_id, "--reason", "bad release", "--yes", "--output", "json", check=0
        ).stdout
    )
    assert rolled["status"] == "rolled-back"
    assert estate.target_objects() == original
    shown = json.loads(estate.cli("show", run_id, "--output", "json", check=0).stdout)
    assert shown["run"]["status"] == "rolled-back"
    assert shown["rollback"]["complete"] is True
    stages = [(s["stage"], s["event"]) for s in shown["stages"] if s["event"] != "started"]
    assert ("rollback", "finished") in stages


def test_a_promoted_run_is_rolled_back_a_week_later(estate: Estate) -> None:
    estate.pipeline()
    promoted = json.loads(
        estate.cli("promote", "release.yaml", "--yes", "--output", "json", check=0).stdout
    )
    assert len(estate.target_objects()) == 3
    estate.cli("rollback", promoted["run_id"], "--reason", "undo", "--yes", check=0)
    assert estate.target_objects() == {}
    again = estate.cli("rollback", promoted["run_id"], check=2)
    assert "only a promoted, interrupted" in again.stderr


def test_failed_rollback_exits_3(estate: Estate) -> None:
    estate.pipeline(fake={"fail_apply_after": 1, "fail_rollback": True})
    result = estate.cli("promote", "release.yaml", "--yes", check=3)
    assert "ROLLBACK INCOMPLETE" in result.stderr
    history = json.loads(estate.cli("history", "--output", "json", check=0).stdout)
    assert history[0]["status"] == "rollback-incomplete" and history[0]["exit_code"] == 3


def test_ctrl_c_records_interrupted_releases_the_lock_and_resumes(estate: Estate) -> None:
    estate.pipeline(fake={"hold_file": "hold", "hold_after": 1})
    run_id, code = stop_during_apply(estate, signal.SIGINT)
    assert code == 130
    assert lock_holder(estate) is None  # released on the way out
    ledger = estate.ledger()
    try:
        record = ledger.get_run(run_id)
        assert record.status == "interrupted" and record.exit_code == 130
        assert f"promoter resume {run_id}" in record.message
    finally:
        ledger.close()
    estate.cli("resume", run_id, check=0)
    assert sorted(estate.writes()) == sorted(SOURCE_OBJECTS)


def test_plan_json_contains_the_changes(estate: Estate) -> None:
    estate.pipeline()
    document = json.loads(estate.cli("plan", "release.yaml", "--output", "json", check=0).stdout)
    assert document["status"] == "planned"
    assert [(c["action"], c["kind"], c["key"]) for c in document["plan"]["changes"]] == [
        ("create", "connection", "warehouse"),
        ("create", "task", "daily_load"),
        ("create", "task", "ledger_sync"),
    ]


def test_resume_is_refused_after_a_later_run_changed_the_target(estate: Estate) -> None:
    """Kill A during apply, promote B (other versions), then `resume A`: refused (exit 2, nothing
    written) naming B, since A's plan would overwrite B's objects; `--force` resumes anyway."""
    estate.pipeline(fake={"hold_file": "hold", "hold_after": 1})
    first = kill_during_apply(estate)
    source = json.loads(estate.source.read_text())
    source["task:daily_load"]["version"] = "1.3"
    source["task:ledger_sync"]["version"] = "3.1"
    estate.source.write_text(json.dumps(source))
    later = json.loads(
        estate.cli("promote", "release.yaml", "--yes", "--output", "json", check=0).stdout
    )
    assert later["status"] == "promoted"
    after_later = estate.target_objects()
    writes = len(estate.writes())

    refused = estate.cli("resume", first, check=2)
    assert f"run {later['run_id']} (promoted) changed {TARGET} after run {first}" in refused.stderr
    assert f"promoter rollback {later['run_id']}" in refused.stderr and "--force" in refused.stderr
    refused_json = json.loads(estate.cli("resume", first, "--output", "json", check=2).stdout)
    assert refused_json["type"] == "RunStateError" and refused_json["exit_code"] == 2
    assert estate.target_objects() == after_later and len(estate.writes()) == writes
    assert json.loads(estate.cli("show", first, "--output", "json", check=0).stdout)["run"][
        "status"
    ] == "interrupted"

    # --force proceeds: A's remaining objects are written over B's (what the refusal warned of).
    forced = json.loads(
        estate.cli("resume", first, "--force", "--output", "json", check=0).stdout
    )
    assert forced["status"] == "promoted"
    assert estate.target_objects()["task:ledger_sync"]["version"] == "3.0"


def test_data_in_text_output_is_shown_not_obeyed(estate: Estate) -> None:
    """Escape sequences in data (here a --reason, kept in the ledger) never reach a terminal raw
    from history, show or promote: they are shown as ``\\x1b``."""
    estate.pipeline()
    hostile = "fix\x1b]0;pwned\x07\x1b[8m hidden\u202e"
    promoted = estate.cli("promote", "release.yaml", "--yes", "--reason", hostile, check=0)
    history = estate.cli("history", check=0).stdout
    run_id = json.loads(estate.cli("history", "--output", "json", check=0).stdout)[0]["id"]
    shown = estate.cli("show", run_id, check=0).stdout
    for text in (promoted.stderr, history, shown):
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    assert "fix\\x1b]0;pwned\\x07\\x1b[8m hidden\\u202e" in history
    assert "reason: fix\\x1b]0;pwned" in shown
