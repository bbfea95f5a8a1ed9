"""The ledger interface, on every backend: append-only history, runs, progress, target locks."""

from __future__ import annotations

import os
import threading
import time

import pytest

from promoter.errors import LockHeld, RunNotFound
from promoter.ledger import HOSTNAME, LeaseLost, Ledger
from promoter.model import ObjectProgress, RunStatus, StageOutcome, StageStatus

from .conftest import Backend, run_record

TARGET = "test/Finance"


def test_history_is_append_only(backend: Backend, ledger: Ledger) -> None:
    ledger.create_run(run_record("r1"))
    ledger.add_progress("r1", ObjectProgress(stage="apply", kind="task", key="a", status="done"))
    ledger.set_status("r1", RunStatus.PROMOTED, exit_code=0, message="done")
    for statement in backend.history_mutations():
        with pytest.raises(Exception, match="append-only"):
            backend.execute(statement)
    run = ledger.get_run("r1")
    assert (run.status, run.exit_code, run.user) == (RunStatus.PROMOTED, 0, "alice")
    assert len(ledger.progress("r1")) == 1


def test_runs_are_found_by_unique_prefix(ledger: Ledger) -> None:
    ledger.create_run(run_record("20261129-000000-aaaaaa"))
    ledger.create_run(run_record("20261129-000000-aabbbb"))
    ledger.create_run(run_record("20261129-000000-a_cccc"))
    assert ledger.get_run("20261129-000000-aab").id == "20261129-000000-aabbbb"
    assert ledger.get_run("20261129-000000-a_").id == "20261129-000000-a_cccc"
    with pytest.raises(RunNotFound, match="ambiguous"):
        ledger.get_run("20261129-000000-aa")
    with pytest.raises(RunNotFound, match="no run 'nope'"):
        ledger.get_run("nope")


def test_runs_are_listed_newest_first_per_target(ledger: Ledger) -> None:
    ledger.create_run(run_record("a", created_at="2026-11-29T00:00:01.000+00:00"))
    ledger.create_run(run_record("b", created_at="2026-11-29T00:00:03.000+00:00", target="prod/F"))
    ledger.create_run(run_record("c", created_at="2026-11-29T00:00:02.000+00:00"))
    assert [r.id for r in ledger.list_runs()] == ["b", "c", "a"]
    assert [r.id for r in ledger.list_runs(limit=2)] == ["b", "c"]
    assert [r.id for r in ledger.list_runs(target=TARGET)] == ["c", "a"]


def test_stage_events_documents_and_progress_round_trip(ledger: Ledger) -> None:
    ledger.create_run(run_record("r1"))
    outcome = StageOutcome(
        stage="plan", status=StageStatus.OK, plugin="core", duration=0.25, messages=["3 create"]
    )
    ledger.add_stage_event("r1", "finished", outcome)
    ledger.save_document("r1", "plan", '{"v": 1}')
    ledger.save_document("r1", "plan", '{"v": 2}')
    ledger.add_progress("r1", ObjectProgress(stage="apply", kind="task", key="a", status="done"))
    ledger.add_progress(
        "r1", ObjectProgress(stage="apply", kind="task", key="b", status="failed", message="x")
    )
    [event] = ledger.stage_events("r1")
    assert {
        k: event[k] for k in ("stage", "event", "status", "plugin", "duration", "messages")
    } == {
        "stage": "plan",
        "event": "finished",
        "status": "ok",
        "plugin": "core",
        "duration": 0.25,
        "messages": ["3 create"],
    }
    assert ledger.document("r1", "plan") == '{"v": 2}'
    assert ledger.document("r1", "snapshot") is None
    assert [(p.key, p.status, p.message) for p in ledger.progress("r1")] == [
        ("a", "done", None),
        ("b", "failed", "x"),
    ]


def test_progress_data_round_trips(ledger: Ledger) -> None:
    ledger.create_run(run_record("r1"))
    ledger.add_progress(
        "r1",
        ObjectProgress(
            stage="verify", kind="task", key="a", status="started", data={"executionId": "e-1"}
        ),
    )
    ledger.add_progress("r1", ObjectProgress(stage="verify", kind="task", key="b", status="done"))
    assert [p.data for p in ledger.progress("r1")] == [{"executionId": "e-1"}, {}]


def test_a_second_run_fails_naming_the_holder(backend: Backend, ledger: Ledger) -> None:
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
    other = backend.open()
    started = time.monotonic()
    with pytest.raises(LockHeld) as info:
        other.acquire_lock(TARGET, run_id="r2", owner="bob", lease=60, wait=0.3)
    assert time.monotonic() - started >= 0.3  # it waited, bounded
    assert f"target {TARGET} is locked by run r1 by alice@{HOSTNAME} (pid {os.getpid()})" in str(
        info.value
    )
    assert "promoter unlock" in str(info.value)


def test_a_second_run_waits_for_the_lock(backend: Backend, ledger: Ledger) -> None:
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
    releaser = threading.Timer(0.3, lambda: ledger.release_lock(TARGET, run_id="r1"))
    releaser.start()
    other = backend.open()
    try:
        lock = other.acquire_lock(TARGET, run_id="r2", owner="bob", lease=60, wait=10)
        assert lock.run_id == "r2"
    finally:
        releaser.join()
    assert [e["event"] for e in ledger.lock_events(TARGET)] == ["acquired", "released", "acquired"]


def test_a_stale_lock_is_taken_over_after_its_lease(backend: Backend, ledger: Ledger) -> None:
    backend.foreign_lock(TARGET, run_id="other-run", expires_in=0.4)
    with pytest.raises(LockHeld, match="ci-runner-7"):
        ledger.acquire_lock(TARGET, run_id="r2", owner="alice", lease=60, wait=0)
    lock = ledger.acquire_lock(TARGET, run_id="r2", owner="alice", lease=60, wait=5)
    assert lock.run_id == "r2"
    events = ledger.lock_events(TARGET)
    assert [(e["event"], e["run_id"]) for e in events] == [
        ("taken-over", "other-run"),
        ("acquired", "r2"),
    ]


def test_a_lock_of_a_dead_holder_on_this_host_is_taken_over_at_once(
    backend: Backend, ledger: Ledger
) -> None:
    holder = backend.foreign_lock(TARGET, run_id="other-run", expires_in=600, host=HOSTNAME)
    with pytest.raises(LockHeld):
        ledger.acquire_lock(TARGET, run_id="r2", owner="alice", lease=60, wait=0)
    holder.die()
    assert ledger.acquire_lock(TARGET, run_id="r2", owner="alice", lease=60, wait=2).run_id == "r2"


def test_a_run_cannot_take_its_own_lock_from_another_live_process(
    backend: Backend, ledger: Ledger
) -> None:
    holder = backend.foreign_lock(TARGET, run_id="other-run", expires_in=600, host=HOSTNAME)
    with pytest.raises(LockHeld, match="run other-run"):
        ledger.acquire_lock(TARGET, run_id="other-run", owner="alice", lease=60, wait=0)
    holder.die()
    # once that process is gone, the run (resumed) takes its lock back
    assert ledger.acquire_lock(TARGET, run_id="other-run", owner="alice", lease=60, wait=2)


def test_renew_extends_only_the_holders_lease(ledger: Ledger) -> None:
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=1, wait=0)
    assert ledger.renew_lock(TARGET, run_id="r1", lease=100)
    lock = ledger.get_lock(TARGET)
    assert lock is not None and lock.expires_at > time.time() + 50
    assert not ledger.renew_lock(TARGET, run_id="r2", lease=100)


def test_force_unlock_is_recorded(backend: Backend, ledger: Ledger) -> None:
    backend.foreign_lock(TARGET, run_id="other-run", expires_in=600)
    # The holder (on another host, lease valid) counts as alive: refused unless forced.
    with pytest.raises(LockHeld, match=r"locked by run other-run by bob@ci-runner-7.* alive"):
        ledger.force_unlock(TARGET, by="carol", reason="runner died", spare_live=True)
    assert ledger.get_lock(TARGET) is not None
    previous = ledger.force_unlock(TARGET, by="carol", reason="runner died")
    assert previous is not None and previous.owner == "bob"
    assert ledger.get_lock(TARGET) is None
    forced = ledger.lock_events(TARGET)[-1]
    assert forced["event"] == "forced" and forced["run_id"] == "other-run"
    assert forced["detail"] == f"unlocked by carol@{HOSTNAME} while its holder was alive: runner died"
    assert ledger.force_unlock(TARGET, by="carol", reason=None) is None
    # the target is free again
    assert ledger.acquire_lock(TARGET, run_id="r3", owner="carol", lease=60, wait=2).run_id == "r3"


def test_a_running_run_whose_process_died_is_interrupted(backend: Backend, ledger: Ledger) -> None:
    import subprocess
    import sys

    ledger.create_run(run_record("alive"))
    assert ledger.get_run("alive").status is RunStatus.RUNNING
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    backend.append_running_status("alive", host=HOSTNAME, pid=process.pid)
    run = ledger.get_run("alive")
    assert run.status is RunStatus.INTERRUPTED
    assert "resume or roll it back" in run.message


def test_a_running_run_with_an_expired_lease_is_interrupted(ledger: Ledger) -> None:
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=0.3, wait=0)
    ledger.create_run(run_record("r1"))
    assert ledger.get_run("r1").status is RunStatus.RUNNING
    time.sleep(0.4)
    assert ledger.get_run("r1").status is RunStatus.INTERRUPTED


def test_every_ledger_object_sees_the_same_history(backend: Backend, ledger: Ledger) -> None:
    ledger.create_run(run_record("r1"))
    ledger.set_status("r1", RunStatus.PROMOTED, exit_code=0, message="promoted to test/Finance")
    other = backend.open()
    assert [r.model_dump() for r in other.list_runs()] == [
        r.model_dump() for r in ledger.list_runs()
    ]
    assert other.get_run("r1").status is RunStatus.PROMOTED


# --- fencing: a holder that lost its lock writes nothing more (both backends alike) -------------


def writes_of(ledger: Ledger, run_id: str) -> list[object]:
    """Every write a run can make, as calls (each must be refused once its lock is lost)."""
    progress = ObjectProgress(stage="apply", kind="task", key="a", status="done")
    stage = StageOutcome(stage="apply", status=StageStatus.OK)
    return [
        lambda: ledger.add_progress(run_id, progress),
        lambda: ledger.set_status(run_id, RunStatus.PROMOTED, exit_code=0, message="too late"),
        lambda: ledger.add_stage_event(run_id, "finished", stage),
        lambda: ledger.save_document(run_id, "outcome", "{}"),
    ]


def test_unlock_refuses_a_live_holder_and_a_forced_one_writes_nothing_more(
    backend: Backend, ledger: Ledger
) -> None:
    holder = ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=60, wait=0)
    assert holder.epoch is not None and holder.epoch > 0
    ledger.create_run(run_record("r1"))
    operator = backend.open()
    with pytest.raises(LockHeld, match=r"locked by run r1 by alice@.* and it is alive") as info:
        operator.force_unlock(TARGET, by="carol", reason="looks stuck", spare_live=True)
    assert "promoter show r1" in str(info.value) and "--force" in str(info.value)
    ledger.add_progress("r1", ObjectProgress(stage="apply", kind="task", key="x", status="done"))

    previous = operator.force_unlock(TARGET, by="carol", reason="stop it")
    assert previous is not None and previous.epoch == holder.epoch
    for write in writes_of(ledger, "r1"):
        with pytest.raises(LeaseLost, match="lost the lock of target test/Finance: its lock was"):
            write()  # type: ignore[operator]
    assert [p.key for p in ledger.progress("r1")] == ["x"]  # nothing more was written
    assert ledger.get_run("r1").status is RunStatus.RUNNING
    assert not ledger.renew_lock(TARGET, run_id="r1", lease=60)
    forced = operator.lock_events(TARGET)[-1]
    assert forced["detail"] == f"unlocked by carol@{HOSTNAME} while its holder was alive: stop it"


def test_a_taken_over_holder_writes_nothing_more(backend: Backend, ledger: Ledger) -> None:
    first = ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=0.3, wait=0)
    ledger.create_run(run_record("r1"))
    time.sleep(0.5)  # alice's lease lapses (a frozen process)
    other = backend.open()
    taken = other.acquire_lock(TARGET, run_id="r2", owner="bob", lease=60, wait=5)
    assert taken.epoch is not None and first.epoch is not None and taken.epoch > first.epoch
    with pytest.raises(LeaseLost, match="the lock was taken over: now run r2 by bob@"):
        ledger.add_progress("r1", ObjectProgress(stage="apply", kind="task", key="a", status="done"))
    assert ledger.progress("r1") == []
    ledger.release_lock(TARGET, run_id="r1")  # leaves bob's lock alone
    assert other.get_lock(TARGET) is not None


def test_a_lapsed_lease_stops_its_holder_even_if_nobody_took_it(ledger: Ledger) -> None:
    ledger.acquire_lock(TARGET, run_id="r1", owner="alice", lease=0.3, wait=0)
    ledger.create_run(run_record("r1"))
    time.sleep(0.5)
    with pytest.raises(LeaseLost, match="lease expired"):
        ledger.save_document("r1", "plan", "{}")
    assert ledger.document("r1", "plan") is None
    assert not ledger.renew_lock(TARGET, run_id="r1", lease=60)


def test_every_acquisition_gets_a_new_epoch(ledger: Ledger) -> None:
    epochs = []
    for run_id in ("r1", "r2", "r2"):
        epochs.append(ledger.acquire_lock(TARGET, run_id=run_id, owner="a", lease=60, wait=0).epoch)
        ledger.release_lock(TARGET, run_id=run_id)
    assert epochs == sorted(set(epochs)) and len(epochs) == 3
