"""The hotfix scenario: one artifact, one task, one smoke run — promoter's CLI against a script.

One sandbox (the ``large`` estate, 10 tasks) gets fresh target environments (``hf_p1`` ...,
``hf_s1`` ...: a Finance workspace, the connection, the promotion definition; set-up, not
timed). Then, alternately, ``promoter promote hotfix.yaml --target hf_pK --only job_0000
--reason ... --yes`` as a process of its own (the pipeline names two artifacts and two tasks;
``--only`` makes the hotfix), and ``python -m benchmarks.baseline hotfix ...`` — the same
promotion as a plain httpx script, a process too — each timed from spawn to exit. The best of
the repetitions of each is compared (the machine's noise only ever adds time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.sandbox import SandboxProcess, request_log_summary, wait_until_idle
from benchmarks.startup import promoter_command

ARTIFACT = "job_0000"
TASK = "task_00000"


def pipeline_text(targets: list[str]) -> str:
    """A release pipeline of two artifacts and two tasks; every target independent."""
    return "\n".join([
        "name: bench-hotfix",
        "source: {environment: dev, workspace: Finance}",
        "targets:",
        *(f"  - {{environment: {t}, after: []}}" for t in targets),
        "artifacts:",
        "  - {name: job_0000, version: latest}",
        "  - {name: job_0001, version: latest}",
        "tasks: [task_00000, task_00005]",
        "apply: {strategy: direct, concurrency: 16}",
        "verify:",
        "  smoke:",
        "    - {task: task_00000, timeout: 120}",
        "reports: {formats: []}",
    ]) + "\n"


def run_hotfix(workdir: Path, repeat: int = 3) -> dict[str, Any]:
    """Promoter's CLI and the script, ``repeat`` times each, alternately, on one sandbox."""
    workdir.mkdir(parents=True, exist_ok=True)
    promoter_targets = [f"hf_p{i}" for i in range(1, repeat + 1)]
    script_targets = [f"hf_s{i}" for i in range(1, repeat + 1)]
    with SandboxProcess(10) as sandbox:
        for name in [*promoter_targets, *script_targets]:
            sandbox.add_target(name)
        sandbox.reset_budgets()
        (workdir / "hotfix.yaml").write_text(pipeline_text(promoter_targets))
        env = {**os.environ, "TALEND_API_URL": sandbox.base_url, "TALEND_ACCESS_TOKEN": sandbox.token,
               "PROMOTER_LEDGER": str(workdir / "ledger.db")}
        # The ledger exists (a CI job's runner would have it, or make it once): not timed.
        subprocess.run([*promoter_command(), "ledger", "migrate"], cwd=workdir, env=env,
                       capture_output=True, check=True)
        promoter_runs: list[dict[str, Any]] = []
        script_runs: list[dict[str, Any]] = []
        for mine, theirs in zip(promoter_targets, script_targets, strict=True):
            sandbox.clear_requests()
            started = time.perf_counter()
            done = subprocess.run(
                [*promoter_command(), "promote", "hotfix.yaml", "--target", mine, "--only", ARTIFACT,
                 "--reason", "bench hotfix", "--yes"],
                cwd=workdir, env=env, capture_output=True, text=True,
            )
            wall = time.perf_counter() - started
            wait_until_idle()
            log = request_log_summary(sandbox.requests())
            if done.returncode != 0:
                raise RuntimeError(f"promoter's hotfix failed ({done.returncode}):\n{done.stderr[-3000:]}")
            promoter_runs.append({"target": mine, "wall_seconds": round(wall, 3), "exit_code": done.returncode,
                                  "requests": log["requests"], "requests_total": log["requests_total"],
                                  "endpoints": log["endpoints"]})
            sandbox.clear_requests()
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.baseline", "hotfix", sandbox.base_url, sandbox.token,
                 theirs, ARTIFACT, TASK],
                capture_output=True, text=True,
            )
            wall = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"the hotfix script failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            script_runs.append({"target": theirs, "wall_seconds": round(wall, 3),
                                "calls_seconds": result["wall_seconds"], "status": result["status"],
                                "requests": result["requests"], "requests_total": result["requests_total"]})
    best_promoter = min(r["wall_seconds"] for r in promoter_runs)
    best_script = min(r["wall_seconds"] for r in script_runs)
    return {
        "scenario": "hotfix",
        "what": "one artifact, one task, one smoke run (1 s); processes timed from spawn to exit",
        "promoter_cli": promoter_runs,
        "script": script_runs,
        "promoter_best_seconds": best_promoter,
        "script_best_seconds": best_script,
        "ratio": round(best_promoter / best_script, 2),
    }
