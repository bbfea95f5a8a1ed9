"""A promotion under a bad day's faults ends exactly where a fault-free one does.

Two sandboxes with the same ``large`` estate; one promotion runs clean, the other meets seeded
5xx answers, dropped connections (before and after the request took effect), latency jitter and
429 bursts — half of them with ``Retry-After``, half without (``retry_after_share``). Both targets must then dump identically, each smoke run must have
started exactly once, and the ledger's outcome must carry the client's retry counters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promoter.sandbox import Sandbox, SandboxSettings

from .estate import Workbench, dump_workspace, fast_settings, large_pipeline, took_effect

SMOKE = ("task_00000", "task_00011")

FAULTS: dict[str, Any] = {
    "latency_ms": 2,
    "jitter_ms": 15,
    "error_rate": 0.10,
    "drop_before_rate": 0.02,
    "drop_after_rate": 0.02,
    "burst_429_every": 15,
    "burst_429_length": 3,
    "retry_after": 0.2,
    "retry_after_share": 0.5,
}


def promote_under_faults(tmp_path: Path, *, tasks: int, seed: int) -> dict[str, Any]:
    """Run a clean and a faulty promotion side by side; return what the test checks."""
    artifacts = tasks // 5
    settings: SandboxSettings = fast_settings()
    with (
        Sandbox.start(seed="large", tasks=tasks, settings=settings) as clean,
        Sandbox.start(seed="large", tasks=tasks, settings=fast_settings()) as faulty,
    ):
        benches = []
        for name, sandbox in (("clean", clean), ("faulty", faulty)):
            directory = tmp_path / name
            directory.mkdir()
            bench = Workbench(sandbox, directory)
            bench.write("release.yaml", large_pipeline(artifacts=artifacts, smoke=SMOKE))
            benches.append(bench)
        faulty.set_faults(**FAULTS, seed=seed)
        faulty.clear_requests()
        processes = [b.popen("promote", "release.yaml", "--yes", "--output", "json") for b in benches]
        try:
            results = [p.communicate(timeout=600) for p in processes]
        finally:
            faulty.set_faults()
        for process, (_out, err) in zip(processes, results, strict=True):
            assert process.returncode == 0, err[-3000:]
        outcomes = [json.loads(out) for out, _err in results]
        log = faulty.requests()
        return {
            "outcomes": outcomes,
            "clean": dump_workspace(clean, "test", "Finance"),
            "faulty": dump_workspace(faulty, "test", "Finance"),
            "log": log,
            "shown": benches[1].show(outcomes[1]["run_id"]),
            "executions": {
                task: _executions(faulty, task) for task in SMOKE
            },
        }


def _executions(sandbox: Sandbox, task_name: str) -> list[dict[str, Any]]:
    """Every execution of the target's task, from the sandbox's own API."""
    with sandbox.http() as http:
        tasks = http.get(
            "/orchestration/executables/tasks", params={"name": task_name, "limit": 100}
        ).json()["items"]
        (task,) = [t for t in tasks if t["workspace"]["environment"]["name"] == "test"]
        answer = http.get(f"/processing/executables/tasks/{task['executable']}/executions")
        answer.raise_for_status()
        body = answer.json()
        items: list[dict[str, Any]] = body["items"] if isinstance(body, dict) else body
        return items


def check(result: dict[str, Any], tasks: int) -> dict[str, int]:
    """The assertions shared by the short and the soak variant; the fault figures."""
    clean, faulty = result["outcomes"]
    assert clean["status"] == faulty["status"] == "promoted"
    # Same end state, object for object.
    assert len(result["clean"]["tasks"]) == tasks
    assert result["faulty"] == result["clean"]
    # No task ran twice: the starts that took effect are exactly the smoke runs, one each.
    starts = [
        e
        for e in result["log"]
        if e["method"] == "POST" and e["path"] == "/processing/executions" and took_effect(e)
    ]
    assert len(starts) == len(SMOKE)
    assert {task: len(runs) for task, runs in result["executions"].items()} == dict.fromkeys(
        SMOKE, 1
    )
    # The faults happened, of every kind...
    faults: dict[str, int] = {}
    for entry in result["log"]:
        if entry["fault"]:
            faults[entry["fault"]] = faults.get(entry["fault"], 0) + 1
    assert {"drop-before", "drop-after", "429-burst", "429-burst-retry-after"} <= set(faults)
    assert sum(faults.get(s, 0) for s in ("500", "502", "503")) > 0
    # ...and the ledger's outcome records the retries they cost.
    metrics = result["shown"]["outcome"]["metrics"]["talend"]
    injected = sum(faults.values())
    # Each fault costs a retry, but a drop after the fact may be settled by a look-up instead.
    assert metrics["retries_total"] >= injected - faults.get("drop-after", 0), (metrics, faults)
    assert metrics["rate_limited_total"] >= faults["429-burst"] + faults["429-burst-retry-after"]
    assert clean["metrics"]["talend"]["retries_total"] == 0
    return {"injected": injected, **faults, "retries": metrics["retries_total"]}


def test_promotion_under_faults_matches_a_clean_one(tmp_path: Path) -> None:
    result = promote_under_faults(tmp_path, tasks=20, seed=8)
    figures = check(result, tasks=20)
    print("faults survived (20 tasks):", figures)


@pytest.mark.soak
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_promotion_of_100_tasks_under_faults(tmp_path: Path, seed: int) -> None:
    result = promote_under_faults(tmp_path, tasks=100, seed=seed)
    figures = check(result, tasks=100)
    print(f"faults survived (100 tasks, seed {seed}):", figures)
