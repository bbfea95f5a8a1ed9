"""`promoter unlock` of a live holder, on both ledgers, with real processes and a real sandbox.

Run A holds test/Finance's lock in the middle of apply (``hold_plugin.py``: at its first task,
before writing any). ``promoter unlock`` refuses to open a live holder's lock (exit 4, naming it
and how to check it); ``--force`` opens it, and A stops before its next write: exit 130, no
request that changes anything reaches Talend after the unlock (the sandbox's request log), no
rollback, and A is left interrupted for `promoter resume` or `rollback`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability.estate import Workbench, fast_settings, large_pipeline, writes

from promoter.ledger import open_ledger
from promoter.sandbox import Sandbox

HOLD_PLUGIN = Path(__file__).resolve().parents[1] / "reliability" / "hold_plugin.py"
TARGET = "test/Finance"


def wait_for(condition: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each ledger backend in turn (a fresh file, or a fresh PostgreSQL schema)."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


def test_unlock_refuses_a_live_holder_and_force_stops_it_before_its_next_write(
    tmp_path: Path, ledger_url: str
) -> None:
    with Sandbox.start(seed="large", tasks=10, settings=fast_settings()) as sandbox:
        bench = Workbench(sandbox, tmp_path, env_extra={"PROMOTER_LEDGER": ledger_url})
        bench.write("release.yaml", large_pipeline(artifacts=2, smoke=()))
        hold = tmp_path / "hold"
        hold.touch()
        holder = bench.popen(
            "promote",
            "release.yaml",
            "--yes",
            "-p",
            str(HOLD_PLUGIN),
            env=bench.env(PROMOTER_TEST_HOLD_FILE=str(hold)),
        )
        try:
            held = tmp_path / "hold.held"
            wait_for(held.exists, what="run A to hold its lock in the middle of apply")
            run_id = held.read_text()

            refused = bench.call("unlock", TARGET, "--reason", "looks stuck")
            assert refused.returncode == 4, (refused.stdout, refused.stderr)
            assert f"target {TARGET} is locked by run {run_id} by " in refused.stderr
            assert "and it is alive" in refused.stderr
            assert f"`promoter show {run_id}`" in refused.stderr and "--force" in refused.stderr
            no_reason = bench.call("unlock", TARGET, "--force")
            assert no_reason.returncode == 2 and "--reason" in no_reason.stderr
            assert holder.poll() is None

            mark = sandbox.requests()[-1]["seq"]
            forced = bench.call("unlock", TARGET, "--force", "--reason", "stop A", "--output", "json")
            assert forced.returncode == 0, forced.stderr
            document = json.loads(forced.stdout)
            assert document["holder_was_alive"] and document["previous_holder"]["run_id"] == run_id
            hold.unlink()
            out, err = holder.communicate(timeout=120)
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.communicate()
        assert holder.returncode == 130, (out, err[-3000:])
        assert f"run {run_id} lost the lock of target {TARGET}: its lock was removed" in err
        # Nothing that changes the target reached Talend after the unlock.
        assert writes(sandbox.requests(since=mark)) == []

        shown = bench.show(run_id)
        assert shown["run"]["status"] == "interrupted"
        assert "outcome" not in shown
        assert [s["stage"] for s in shown["stages"]].count("rollback") == 0
        ledger = open_ledger(ledger_url)
        try:
            forced_event = ledger.lock_events(TARGET)[-1]
            assert forced_event["event"] == "forced" and forced_event["run_id"] == run_id
            assert "while its holder was alive: stop A" in forced_event["detail"]
            assert ledger.get_lock(TARGET) is None
        finally:
            ledger.close()

        # A is resumable: it finishes the apply it was stopped in.
        resumed = bench.call("resume", run_id, "--output", "json")
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert json.loads(resumed.stdout)["status"] == "promoted"
