"""One budget for many runners: four promotions at once through one address-scoped budget.

One sandbox counts its budgets per source address (``--budget-scope ip``), as Talend Cloud
does: every runner here is on 127.0.0.1, like CI runners behind one NAT address. Four runners —
processes of their own, started together, each with its own target environment (``t1`` ...
``t4``) and a quarter of the ``large`` estate — promote with the team ledger on PostgreSQL:

- ``shared``: ``talend: budget_scope: shared`` — one sliding window in the ledger, one slot per
  request;
- ``leased slices``: the same, 32 slots per round trip to the ledger
  (``PROMOTER_TALEND_BUDGET_SLICE=32``);
- ``unshared``: without it — each runner believes it owns the whole budget.

Each variant gets a fresh sandbox and a fresh ledger schema. Wall time runs from the common start
to the last runner's exit; the floor is the window floor of the runners' combined calls
(:mod:`benchmarks.floors`), and the 429s are the sandbox's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.floors import floors
from benchmarks.machine import Conditions
from benchmarks.sandbox import SandboxProcess, request_log_summary, wait_until_idle

RUNNERS = 4
TASKS_PER_RUNNER = 125
LEASED_SLICE = 32
RUN_SECONDS = 1.0


def postgres_url(root: Path) -> str | None:
    """The PostgreSQL server of the tests (``PROMOTER_TEST_POSTGRES_URL``, else the one ``make
    postgres`` starts and records in ``.venv/postgres-url``, started here if need be)."""
    url = os.environ.get("PROMOTER_TEST_POSTGRES_URL", "").strip()
    if url:
        return url
    script = root / ".ci" / "postgres.sh"
    if not script.exists():
        return None
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, cwd=root)
    lines = [line for line in done.stdout.splitlines() if line.startswith("postgres")]
    return lines[-1].strip() if done.returncode == 0 and lines else None


def _schema_url(url: str, schema: str) -> str:
    """``url`` with ``search_path`` set to ``schema`` (created first)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    return url + ("&" if "?" in url else "?") + f"options=-csearch_path%3D{schema}"


def _drop_schema(url: str, schema: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def run_variant(variant: str, base_url: str, workdir: Path) -> dict[str, Any]:
    """The four runners, ``variant`` ``shared``, ``leased slices`` or ``unshared``."""
    conditions = Conditions()
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    ledger = _schema_url(base_url, schema)
    try:
        from promoter.ledger.postgres import PostgresLedger

        PostgresLedger(ledger).close()  # migrated once, before the runners (not timed)
        with SandboxProcess(RUNNERS * TASKS_PER_RUNNER, budget_scope="ip") as sandbox:
            targets = [f"t{i}" for i in range(1, RUNNERS + 1)]
            for name in targets:
                sandbox.add_target(name)
            sandbox.reset_budgets()
            sandbox.clear_requests()
            start_at = time.time() + 3.0
            env = dict(os.environ)
            env.pop("PROMOTER_TALEND_BUDGET_SCOPE", None)
            if variant == "leased slices":
                env["PROMOTER_TALEND_BUDGET_SLICE"] = str(LEASED_SLICE)
            runners = []
            for i, target in enumerate(targets):
                command = [
                    sys.executable, "-m", "benchmarks.promotion", sandbox.base_url, sandbox.token,
                    str(TASKS_PER_RUNNER), str(workdir / f"{variant.replace(' ', '-')}-{target}"),
                    "--target", target, "--first-task", str(i * TASKS_PER_RUNNER),
                    "--ledger", ledger, "--start-at", str(start_at),
                ]
                if variant != "unshared":
                    command += ["--budget-scope", "shared"]
                runners.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                text=True, env=env))
            results = []
            for process in runners:
                out, err = process.communicate(timeout=600)
                lines = out.strip().splitlines()
                if process.returncode != 0 or not lines:
                    raise RuntimeError(f"a runner failed ({process.returncode}):\n{err[-3000:]}")
                results.append(json.loads(lines[-1]))
            wait_until_idle()
            log = request_log_summary(sandbox.requests())
    finally:
        _drop_schema(base_url, schema)
    wall = max(r["finished_at"] for r in results) - start_at
    bound = floors(
        requests=log["requests"], medians=log["median_ms"], latency_ms=0.0,
        artifacts=TASKS_PER_RUNNER // 5, smoke_runs=-(-TASKS_PER_RUNNER // 10), run_seconds=RUN_SECONDS,
        concurrency=16,
    )
    floor_seconds = bound["bound_seconds"]
    return {
        "scenario": "four runners, one address",
        "variant": variant,
        "runners": RUNNERS,
        "tasks_per_runner": TASKS_PER_RUNNER,
        "wall_seconds": round(wall, 3),
        "statuses": [r["status"] for r in results],
        "runner_walls": [round(r["finished_at"] - start_at, 3) for r in results],
        "requests": log["requests"],
        "requests_total": log["requests_total"],
        "rate_limited": log["rate_limited"],
        "floor": bound,
        "wall_over_floor": round(wall / floor_seconds, 3) if floor_seconds else None,
        "shared_budget": [r.get("shared_budget", {}) for r in results],
        "conditions": conditions.end(),
    }
