"""Scenario 1, 3 and 5: a promotion (or a plan) with promoter, driven in-process through the engine.

:func:`pipeline_text` writes the pipeline a user would write for the sandbox's ``large`` estate:
source dev/Finance, target test, every ``job_*`` artifact at its latest version, smoke runs of
10 % of the tasks. :func:`run_promoter` runs it in *this* process and measures wall time, the CPU
time of this process (the sandbox runs in another one) and the client's metrics.

``python -m benchmarks.promotion URL TOKEN TASKS WORKDIR [--dry-run] [--no-client-limit]`` does the same in a fresh
process and prints the figures as JSON, with the process's peak RSS: the memory figure is then
promoter's own (imports, models, caches), not the benchmark driver's.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

SMOKE_SHARE = 0.10
TASKS_PER_ARTIFACT = 5  # the large seed's sharing


def smoke_tasks(tasks: int) -> list[str]:
    """Every tenth task of the ``large`` estate (at least one)."""
    step = max(1, round(1 / SMOKE_SHARE))
    return [f"task_{t:05d}" for t in range(0, tasks, step)] or ["task_00000"]


def pipeline_text(tasks: int, *, concurrency: int = 16, smoke_timeout: float = 120) -> str:
    """The pipeline file for ``tasks`` tasks of the ``large`` estate, dev/Finance → test."""
    artifacts = -(-tasks // TASKS_PER_ARTIFACT)
    lines = [
        "name: bench-large",
        "source: {environment: dev, workspace: Finance}",
        "targets:",
        "  - environment: test",
        "artifacts:",
        *(f"  - {{name: job_{a:04d}, version: latest}}" for a in range(artifacts)),
        "apply:",
        "  strategy: direct",
        f"  concurrency: {concurrency}",
        "verify:",
        "  smoke:",
        *(f"    - {{task: {name}, timeout: {smoke_timeout:g}}}" for name in smoke_tasks(tasks)),
        "reports:",
        "  formats: []",
    ]
    return "\n".join(lines) + "\n"


def run_promoter(
    base_url: str, token: str, tasks: int, workdir: Path, *, dry_run: bool = False, concurrency: int = 16
) -> dict[str, Any]:
    """Promote (or plan) the ``large`` estate with promoter's engine in this process."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["TALEND_API_URL"] = base_url
    os.environ["TALEND_ACCESS_TOKEN"] = token
    pipeline_file = workdir / "pipeline.yaml"
    pipeline_file.write_text(pipeline_text(tasks, concurrency=concurrency))
    cpu0, wall0 = time.process_time(), time.perf_counter()

    from promoter.context import RunOptions
    from promoter.engine import Engine
    from promoter.hooks.calls import PromoterHooks
    from promoter.hooks.manager import get_plugin_manager
    from promoter.ledger import open_ledger
    from promoter.model import PromoterConfig
    from promoter.pipeline import load_pipeline

    imported_cpu = time.process_time() - cpu0
    hooks = PromoterHooks(get_plugin_manager(load_entrypoints=True))
    command = "plan" if dry_run else "promote"
    hooks.configure(PromoterConfig(command=command, cwd=workdir))
    loaded = load_pipeline(str(pipeline_file), variables={}, hooks=hooks)
    ledger = open_ledger(str(workdir / "ledger.db"))
    try:
        engine = Engine(hooks, ledger, lock_wait=0, command=command)
        run = engine.context(
            loaded, target="test", options=RunOptions(dry_run=dry_run, yes=True)
        )
        outcome = engine.promote(run)
    finally:
        ledger.close()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    metrics: dict[str, Any] = run.state.get("talend_metrics", {})
    stages = {s.stage: round(s.duration, 3) for s in outcome.stages}
    return {
        "status": outcome.status.value,
        "message": outcome.message,
        "exit_code": int(outcome.exit_code),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "import_cpu_seconds": round(imported_cpu, 3),
        "stages": stages,
        "metrics": metrics,
        "smoke_runs": 0 if dry_run else len(smoke_tasks(tasks)),
    }


def http_cpu_per_request(base_url: str, token: str, requests: int = 100) -> float:
    """CPU seconds one plain httpx ``GET`` of a task costs in this process (send, receive, JSON).

    The floor any Python client built on httpx pays per request; multiplied by the run's
    requests it tells how much of the run's CPU is the HTTP library's rather than promoter's.
    """
    import httpx

    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}) as http:
        items = http.get("/orchestration/executables/tasks", params={"limit": 1}).json()["items"]
        path = f"/orchestration/executables/tasks/{items[0]['executable']}"
        http.get(path).json()
        started = time.process_time()
        for _ in range(requests):
            http.get(path).json()
        return (time.process_time() - started) / requests


def unlimited_client_budgets() -> None:
    """Make every client of this process unpaced (for CPU measurements only).

    Pacing waits without using CPU, but a plan of 1,000 tasks (2,200 requests) would wait a
    minute for the second minute's budget; with the sandbox's budgets off too, the figure is the
    same and the benchmark a minute shorter.
    """
    from promoter.talend import ratelimit

    defaults = ratelimit.RateLimits.__init__.__defaults__
    assert defaults is not None and len(defaults) == 5  # orchestration ... security, period
    ratelimit.RateLimits.__init__.__defaults__ = (None, None, None, None, defaults[-1])


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB (Linux reports ``ru_maxrss`` in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> int:
    """``URL TOKEN TASKS WORKDIR [--dry-run]``: run and print the figures as JSON."""
    url, token, tasks, workdir = argv[0], argv[1], int(argv[2]), Path(argv[3])
    if "--no-client-limit" in argv:
        unlimited_client_budgets()
    result = run_promoter(url, token, tasks, workdir, dry_run="--dry-run" in argv)
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
