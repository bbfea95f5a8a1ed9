"""Several `promoter` processes ("CI runners") on one PostgreSQL ledger and one target.

Each runner is a separate ``python -m promoter.cli`` process with ``PROMOTER_LEDGER=postgresql://``;
the target is the engine tests' fake platform (a JSON file written object by object).
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import time
from collections.abc import Callable

from promoter.ledger.postgres import PostgresLedger

from .conftest import Runners, source_objects

TARGET = "test/Finance"


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_promotions_into_one_target_are_serialised(runners: Runners) -> None:
    pipelines = [runners.pipeline(f"release{i}.yaml", variant=i, apply_delay=0.1) for i in range(3)]
    started = [
        runners.start("promote", p.name, "--yes", "--lock-wait", "90", "--output", "json")
        for p in pipelines
    ]
    outcomes = []
    for process in started:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        outcomes.append(json.loads(out))
    assert sorted(o["status"] for o in outcomes) == ["promoted"] * 3

    # Each run held the target alone, from its start to its end: the intervals do not overlap.
    log = runners.run_log()
    spans = {}
    for line in log:
        spans.setdefault(line["run"], {})[line["event"]] = line["t"]
    ordered = sorted(spans.values(), key=lambda span: span["start"])
    assert len(ordered) == 3
    for before, after in itertools.pairwise(ordered):
        assert before["end"] <= after["start"], ordered
    # every runner wrote its three objects (nine writes, none lost to a race)
    assert len(runners.writes()) == 9
    last = max(outcomes, key=lambda o: spans[o["run_id"]]["start"])
    assert last["run_id"] == max(spans, key=lambda run: spans[run]["start"])

    # The ledger shows the same: acquired / released in turn, one run at a time.
    ledger = PostgresLedger(runners.ledger_url)
    try:
        events = [(e["event"], e["run_id"]) for e in ledger.lock_events(TARGET)]
    finally:
        ledger.close()
    assert [e for e, _ in events] == ["acquired", "released"] * 3
    assert all(events[i][1] == events[i + 1][1] for i in range(0, 6, 2))

    # Every runner reads the same history.
    readers = [runners.start("history", "--output", "json") for _ in range(3)]
    histories = []
    for reader in readers:
        out, err = reader.communicate(timeout=60)
        assert reader.returncode == 0, err
        histories.append(json.loads(out))
    assert histories[0] == histories[1] == histories[2]
    assert sorted(h["id"] for h in histories[0]) == sorted(o["run_id"] for o in outcomes)


def test_a_killed_runners_run_is_resumed_by_another_runner(runners: Runners) -> None:
    hold = runners.root / "hold"
    hold.touch()
    runners.pipeline(hold_file="hold", hold_after=1)
    first = runners.start("promote", "release.yaml", "--yes")
    ledger = PostgresLedger(runners.ledger_url)
    try:

        def applied_one() -> bool:
            runs = ledger.list_runs(limit=1)
            return bool(runs) and any(p.status == "done" for p in ledger.progress(runs[0].id))

        wait_for(applied_one, what="the first runner's first write")
        run_id = ledger.list_runs(limit=1)[0].id
        os.kill(first.pid, signal.SIGKILL)  # the runner dies mid-apply, lock held
        first.communicate(timeout=30)
        killed_at = time.monotonic()
        assert runners.writes() == ["connection:warehouse"]

        # Another runner sees it interrupted at once (no need to wait for the 120 s lease: the
        # server frees the dead runner's advisory lock as soon as its backend has exited)...
        wait_for(lambda: ledger.get_run(run_id).status == "interrupted", 10, "the run interrupted")
        shown = json.loads(runners.run("show", run_id, "--output", "json").stdout)
        assert shown["run"]["status"] == "interrupted" and shown["has_snapshot"] is True
        # ...and resumes it: objects already written are not written again.
        hold.unlink()
        resumed = json.loads(
            runners.run("resume", run_id, "--lock-wait", "10", "--output", "json").stdout
        )
        assert resumed["status"] == "promoted" and resumed["run_id"] == run_id
        assert time.monotonic() - killed_at < 60
        assert sorted(runners.writes()) == sorted(source_objects(0))
        assert json.loads((runners.root / "target.json").read_text()).keys() == set(
            source_objects(0)
        )

        record = ledger.get_run(run_id)
        assert record.status == "promoted"
        events = [(e["event"], e["run_id"], e["pid"]) for e in ledger.lock_events(TARGET)]
        # the dead runner's lock, then the resuming runner's (a new epoch), then released
        assert [e for e, _, _ in events] == ["acquired", "acquired", "released"]
        assert events[0][2] == first.pid and events[1][2] != first.pid
    finally:
        ledger.close()
        if first.poll() is None:
            first.kill()

    # The history is the same from every runner, and from here.
    one = runners.run("history", "--output", "json").stdout
    two = runners.run("history", "--output", "json").stdout
    assert one == two
    assert [h["status"] for h in json.loads(one)] == ["promoted"]


def test_a_runner_that_lost_its_lock_stops_before_its_next_write(runners: Runners) -> None:
    hold = runners.root / "hold"
    hold.touch()
    runners.pipeline(hold_file="hold", hold_after=1)
    first = runners.start("promote", "release.yaml", "--yes")
    ledger = PostgresLedger(runners.ledger_url)
    try:
        wait_for(lambda: runners.writes() != [], what="the first runner's first write")
        run_id = ledger.list_runs(limit=1)[0].id
        # An operator forces the lock open (the runner looked dead); another run takes it.
        refused = runners.run("unlock", "test", "--reason", "looked stuck", check=4)
        assert f"locked by run {run_id} by runner@" in refused.stderr
        assert f"promoter show {run_id}" in refused.stderr
        runners.run("unlock", "test", "--force", "--reason", "looked stuck")
        taken = ledger.acquire_lock(TARGET, run_id="other", owner="ops", lease=60, wait=5)
        hold.unlink()
        out, err = first.communicate(timeout=60)
    finally:
        ledger.close()
        if first.poll() is None:
            first.kill()
    assert first.returncode == 130, (out, err)
    assert f"run {run_id} lost the lock of target {TARGET}" in err
    assert "this runner stopped before writing anything more" in err
    # It wrote the object it was in the middle of, then stopped: no third write, no rollback.
    assert runners.writes() == ["connection:warehouse", "task:daily_load"]
    assert taken.epoch is not None
