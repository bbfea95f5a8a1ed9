"""Scenario 1, 3 and 5: a promotion (or a plan) with promoter, driven in-process through the engine.

:func:`pipeline_text` writes the pipeline a user would write for the sandbox's ``large`` estate:
source dev/Finance, target test, every ``job_*`` artifact at its latest version, smoke runs of
10 % of the tasks. :func:`run_promoter` runs it in *this* process and measures wall time, the CPU
time of this process (the sandbox runs in another one) and the client's metrics.

``python -m benchmarks.promotion URL TOKEN TASKS WORKDIR [--dry-run] [--no-client-limit]
[--target ENV] [--first-task K] [--budget-scope shared] [--ledger URL] [--start-at EPOCH]`` does
the same in a fresh process and prints the figures as JSON, with the process's peak RSS: the
memory figure is then promoter's own (imports, models, caches), not the benchmark driver's.
"""

from __future__ import annotations

import argparse
import gc
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


def pipeline_text(
    tasks: int,
    *,
    concurrency: int = 16,
    smoke_timeout: float = 120,
    target: str = "test",
    first_task: int = 0,
    budget_scope: str | None = None,
) -> str:
    """The pipeline file for tasks ``first_task`` .. ``first_task + tasks - 1`` of the ``large``
    estate (whole artifacts of 5 tasks), dev/Finance → ``target``/Finance, one target."""
    first = first_task // TASKS_PER_ARTIFACT
    artifacts = -(-tasks // TASKS_PER_ARTIFACT)
    smoke = [f"task_{first_task + t:05d}" for t in range(0, tasks, round(1 / SMOKE_SHARE))]
    lines = [
        "name: bench-large",
        "source: {environment: dev, workspace: Finance}",
        "targets:",
        f"  - {{environment: {target}, after: []}}",
        "artifacts:",
        *(f"  - {{name: job_{a:04d}, version: latest}}" for a in range(first, first + artifacts)),
        "apply:",
        "  strategy: direct",
        f"  concurrency: {concurrency}",
        "verify:",
        "  smoke:",
        *(f"    - {{task: {name}, timeout: {smoke_timeout:g}}}" for name in smoke),
        "reports:",
        "  formats: []",
    ]
    if budget_scope:
        lines += ["talend:", f"  budget_scope: {budget_scope}"]
    return "\n".join(lines) + "\n"


class LedgerClock:
    """Wall time spent in the ledger's writes (summed over threads), by wrapping its methods."""

    WRITES = ("create_run", "set_status", "add_stage_event", "save_document", "add_progress",
              "acquire_lock", "release_lock", "link_release", "add_release")

    def __init__(self, ledger: Any) -> None:
        self.seconds = 0.0
        self.calls = 0
        for name in self.WRITES:
            original = getattr(ledger, name, None)
            if original is not None:
                setattr(ledger, name, self._timed(original))

    def _timed(self, method: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
                self.calls += 1
        return timed


def run_promoter(
    base_url: str,
    token: str,
    tasks: int,
    workdir: Path,
    *,
    dry_run: bool = False,
    concurrency: int = 16,
    target: str = "test",
    first_task: int = 0,
    budget_scope: str | None = None,
    ledger_url: str | None = None,
) -> dict[str, Any]:
    """Promote (or plan) the ``large`` estate with promoter's engine in this process."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.environ["TALEND_API_URL"] = base_url
    os.environ["TALEND_ACCESS_TOKEN"] = token
    pipeline_file = workdir / "pipeline.yaml"
    pipeline_file.write_text(pipeline_text(
        tasks, concurrency=concurrency, target=target, first_task=first_task, budget_scope=budget_scope
    ))
    cpu0, wall0 = time.process_time(), time.perf_counter()

    from promoter.context import RunOptions
    from promoter.engine import Engine
    from promoter.hooks.calls import PromoterHooks
    from promoter.hooks.manager import get_plugin_manager
    from promoter.ledger import open_ledger
    from promoter.model import PromoterConfig
    from promoter.pipeline import load_pipeline

    imported_cpu, imported_wall = time.process_time() - cpu0, time.perf_counter() - wall0
    hooks = PromoterHooks(get_plugin_manager(load_entrypoints=True))
    command = "plan" if dry_run else "promote"
    hooks.configure(PromoterConfig(command=command, cwd=workdir))
    loaded = load_pipeline(str(pipeline_file), variables={}, hooks=hooks)
    ledger = open_ledger(ledger_url or str(workdir / "ledger.db"))
    clock = LedgerClock(ledger)
    try:
        engine = Engine(hooks, ledger, lock_wait=0, command=command)
        run = engine.context(
            loaded, target=target, options=RunOptions(dry_run=dry_run, yes=True)
        )
        ready_wall = time.perf_counter() - wall0
        if not gc.isenabled():  # started as the promoter script starts (main, below)
            gc.freeze()
            gc.enable()
        outcome = engine.promote(run)
    finally:
        ledger.close()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    metrics: dict[str, Any] = outcome.metrics.get("talend", {})
    stages = {s.stage: round(s.duration, 3) for s in outcome.stages}
    shared: dict[str, Any] = {}
    talend = run.state.get("talend")
    limiter = getattr(getattr(getattr(talend, "client", None), "transport", None), "limiter", None)
    if limiter is not None and getattr(limiter, "shared", False):
        shared = limiter.shared_figures()
    return {
        "status": outcome.status.value,
        "message": outcome.message,
        "exit_code": int(outcome.exit_code),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "import_cpu_seconds": round(imported_cpu, 3),
        "fixed_costs": {
            "imports_seconds": round(imported_wall, 3),
            "until_first_stage_seconds": round(ready_wall, 3),
            "outside_stages_seconds": round(wall - sum(stages.values()), 3),
            "ledger_write_seconds": round(clock.seconds, 3),
            "ledger_writes": clock.calls,
        },
        "stages": stages,
        "metrics": metrics,
        "shared_budget": shared,
        "smoke_runs": 0 if dry_run else len(range(0, tasks, round(1 / SMOKE_SHARE))),
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
    """``URL TOKEN TASKS WORKDIR [options]``: run and print the figures as JSON (last line)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.promotion")
    parser.add_argument("url")
    parser.add_argument("token")
    parser.add_argument("tasks", type=int)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--dry-run", action="store_true")
    parser.add_argument("--no-client-limit", action="store_true")
    parser.add_argument("--target", default="test")
    parser.add_argument("--first-task", type=int, default=0)
    parser.add_argument("--budget-scope", default=None)
    parser.add_argument("--ledger", default=None)
    parser.add_argument("--start-at", type=float, default=None, help="epoch seconds to start at")
    args = parser.parse_args(argv)
    # As the promoter script does (promoter.cli.main): no collection while starting, none of
    # what start-up made afterwards, and none of what is alive at exit.
    gc.disable()
    if args.no_client_limit:
        unlimited_client_budgets()
    if args.start_at is not None:  # concurrent runners start together
        time.sleep(max(0.0, args.start_at - time.time()))
    result = run_promoter(
        args.url, args.token, args.tasks, args.workdir, dry_run=args.dry_run, target=args.target,
        first_task=args.first_task, budget_scope=args.budget_scope, ledger_url=args.ledger,
    )
    result["peak_rss_mb"] = round(peak_rss_mb(), 1)
    result["finished_at"] = time.time()
    print(json.dumps(result))
    gc.freeze()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
