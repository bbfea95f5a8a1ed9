"""``python -m benchmarks`` (``make bench``): run the scenarios, print a table and one JSON document.

Scenarios (docs/benchmarks.md says what each measures and why):

1. ``promoter``: a full promotion of the sandbox's ``large`` estate (N tasks, dev/Finance → test)
   with promoter's engine, at per-request latency L;
2. ``baseline``: the same end state reached by a sequential httpx script (benchmarks/baseline.py);
3. ``plan``: a dry run (export, map, plan) of 1,000 tasks — the CPU time of promoter's process;
4. ``startup``: ``promoter --version`` and ``promoter plan --help``, best of 5;
5. ``memory``: the peak RSS of promoter's process promoting 1,000 tasks.

Every sandbox runs in its own process with Talend's real budgets, and every promoter run in a
process of its own (benchmarks/promotion.py), so CPU and memory are promoter's alone.

Options: ``--quick`` (N ∈ {10, 100} only, for a smoke check), ``--json FILE`` (also write the
document there), ``--only NAME[,NAME]`` (scenarios by name).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.baseline import check_end_state, run_baseline
from benchmarks.promotion import http_cpu_per_request, smoke_tasks
from benchmarks.sandbox import SandboxProcess, request_log_summary, wait_until_idle
from benchmarks.startup import best_start, heavy_modules_at_start

BUDGETS = {"orchestration": 1800, "processing": 1800, "monitoring": 600}  # per minute
CONCURRENCY = 16
RUN_SECONDS = 1.0  # the sandbox's dispatch (0.2 s) + run (0.8 s) of an execution

TARGETS = {
    "calls_per_task": 2.5,
    "rate_limited": 0,
    "wall_over_bound_at_1000": 1.2,
    "speedup_over_baseline": 8.0,
    "plan_cpu_seconds": 1.0,
    "version_seconds": 0.25,
    "peak_rss_mb": 150.0,
}

#: The matrix, trimmed to fit 10 minutes on 2 cores (see ``trimmed`` in the output).
PROMOTER_MATRIX = [(10, 0), (10, 20), (100, 0), (100, 20), (1000, 0)]
BASELINE_MATRIX = [(10, 0), (10, 20), (100, 0), (100, 20)]
TRIMMED = [
    "promoter at N=1000, L=20 ms: not run (the N=1000 promotion is bound by the budget, "
    "not latency: L adds ~L x calls / 16 = 6 s to ~2 minutes)",
    "baseline at N=1000: not run (a sequential script needs ~4,600 requests, over 2.5 minutes "
    "of budget alone at L=0 and ~5 minutes at L=20 ms)",
]


def lower_bound(requests: dict[str, int], latency_ms: float, concurrency: int) -> dict[str, float]:
    """max(calls / budget, latency x calls / concurrency), and the time the smoke runs take.

    ``calls / budget`` is per family, at the budget's rate (budget / 60 per second); the latency
    term is the time the calls take on the network when ``concurrency`` are in flight.
    """
    budget_seconds = max(
        (n * 60.0 / BUDGETS[f] for f, n in requests.items() if f in BUDGETS), default=0.0
    )
    total = sum(requests.values())
    latency_seconds = latency_ms / 1000.0 * total / concurrency
    return {
        "budget_seconds": round(budget_seconds, 3),
        "latency_seconds": round(latency_seconds, 3),
        "seconds": round(max(budget_seconds, latency_seconds), 3),
    }


def _figures(
    kind: str, tasks: int, latency_ms: float, result: dict[str, Any], log: dict[str, Any], concurrency: int
) -> dict[str, Any]:
    metrics = result.pop("metrics")
    requests: dict[str, int] = metrics["requests"]
    total = sum(requests.values())
    bound = lower_bound(requests, latency_ms, concurrency)
    smoke = result.get("smoke_runs", 0)
    runs_floor = math.ceil(smoke / concurrency) * RUN_SECONDS if smoke else 0.0
    lists = sum(v for k, v in metrics.get("endpoints", {}).items() if _is_list(k))
    figures = {
        "scenario": kind,
        "tasks": tasks,
        "latency_ms": latency_ms,
        **result,
        "requests": requests,
        "requests_total": total,
        "endpoints": metrics.get("endpoints", {}),
        "calls_per_task": round(total / tasks, 3),
        "calls_per_task_beyond_lists": round((total - lists) / tasks, 3) if lists or kind == "promoter" else None,
        "rate_limited": metrics.get("rate_limited_total", 0),
        "limiter_wait_seconds": metrics.get("limiter_wait_seconds_total", 0.0),
        "sandbox_log": log,
        "log_matches_client": log["requests"] == requests,
        "lower_bound": {**bound, "smoke_runs_seconds": runs_floor},
        "wall_over_bound": round(result["wall_seconds"] / bound["seconds"], 2) if bound["seconds"] else None,
        "wall_over_bound_with_runs": round(result["wall_seconds"] / (bound["seconds"] + runs_floor), 2)
        if bound["seconds"] + runs_floor else None,
    }
    if kind == "baseline":
        figures.pop("calls_per_task_beyond_lists")
    if kind == "plan":  # run without budgets (a CPU measurement): no budget bound applies
        figures["wall_over_bound"] = figures["wall_over_bound_with_runs"] = None
    return figures


def _is_list(endpoint: str) -> bool:
    """``GET /a/b`` without a path parameter: a list (paged or not)."""
    method, _, path = endpoint.partition(" ")
    return method == "GET" and "{" not in path


def promoter_run(tasks: int, latency_ms: float, workdir: Path, *, dry_run: bool = False) -> dict[str, Any]:
    """One promotion (or plan) by promoter, in a process of its own, against a fresh sandbox."""
    with SandboxProcess(tasks, rate_limit=not dry_run) as sandbox:
        if latency_ms:
            sandbox.set_latency(latency_ms)
        sandbox.clear_requests()
        command = [sys.executable, "-m", "benchmarks.promotion", sandbox.base_url, sandbox.token,
                   str(tasks), str(workdir)]
        if dry_run:
            command += ["--dry-run", "--no-client-limit"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(f"promoter run failed:\n{done.stderr[-4000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        wait_until_idle()
        log = request_log_summary(sandbox.requests())
        if not dry_run:
            result["end_state"] = check_end_state(sandbox.base_url, sandbox.token, tasks)
        per_request = http_cpu_per_request(sandbox.base_url, sandbox.token)
    requests = sum(result["metrics"]["requests"].values())
    result["http_cpu"] = {
        "httpx_cpu_ms_per_request": round(per_request * 1000, 3),
        "httpx_estimate_seconds": round(per_request * requests, 3),
        "cpu_beyond_httpx_seconds": round(result["cpu_seconds"] - per_request * requests, 3),
    }
    return _figures("plan" if dry_run else "promoter", tasks, latency_ms, result, log, CONCURRENCY)


def baseline_run(tasks: int, latency_ms: float) -> dict[str, Any]:
    """The sequential httpx script against a fresh sandbox."""
    with SandboxProcess(tasks) as sandbox:
        if latency_ms:
            sandbox.set_latency(latency_ms)
        sandbox.clear_requests()
        result = run_baseline(sandbox.base_url, sandbox.token, smoke_tasks(tasks))
        wait_until_idle()
        log = request_log_summary(sandbox.requests())
        result["end_state"] = check_end_state(sandbox.base_url, sandbox.token, tasks)
    return _figures("baseline", tasks, latency_ms, result, log, 1)


def evaluate(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target, the figure measured and whether it is met (goals, not asserts)."""
    promoter = {(r["tasks"], r["latency_ms"]): r for r in document["promotions"]}
    verdicts: list[dict[str, Any]] = []

    def verdict(name: str, goal: str, value: Any, met: bool | None) -> None:
        verdicts.append({"target": name, "goal": goal, "measured": value, "met": met})

    if promoter:
        largest = promoter[max(promoter)]  # fixed costs (lookups, artifacts) weigh least there
        per_task = largest["calls_per_task_beyond_lists"]
        verdict(f"API calls per promoted task beyond list paging (N={largest['tasks']})",
                f"<= {TARGETS['calls_per_task']}", per_task, per_task <= TARGETS["calls_per_task"])
        refused = sum(r["rate_limited"] + r["sandbox_log"]["rate_limited"] for r in promoter.values())
        verdict("429s with the limiter at the budget", "0", refused, refused == 0)
        big = promoter.get((1000, 0))
        if big:
            verdict("wall / lower bound at N=1000", f"<= {TARGETS['wall_over_bound_at_1000']}",
                    big["wall_over_bound"], (big["wall_over_bound"] or 0) <= TARGETS["wall_over_bound_at_1000"])
            verdict("peak RSS at N=1000 (MB)", f"<= {TARGETS['peak_rss_mb']:g}", big["peak_rss_mb"],
                    big["peak_rss_mb"] <= TARGETS["peak_rss_mb"])
    for key, ratio in document["speedups"].items():
        n, latency = key.split("@")
        if int(n) >= 100 and latency == "20ms":
            verdict(f"baseline / promoter at N={n}, L=20 ms", f">= {TARGETS['speedup_over_baseline']:g}",
                    ratio, ratio >= TARGETS["speedup_over_baseline"])
    plan = document.get("plan")
    if plan:
        verdict("plan of 1,000 tasks, CPU seconds", f"<= {TARGETS['plan_cpu_seconds']:g}",
                plan["cpu_seconds"], plan["cpu_seconds"] <= TARGETS["plan_cpu_seconds"])
    for start in document.get("startup", []):
        if start["command"] == "promoter --version":
            verdict("promoter --version, seconds", f"<= {TARGETS['version_seconds']:g}",
                    start["best_seconds"], start["best_seconds"] <= TARGETS["version_seconds"])
    return verdicts


def table(document: dict[str, Any]) -> str:
    """The figures as a text table."""
    rows = [("scenario", "N", "L ms", "wall s", "CPU s", "calls", "/task", "429", "bound s", "wall/bound", "RSS MB")]
    for r in [*document["promotions"], *document["baselines"], *([document["plan"]] if document.get("plan") else [])]:
        rows.append((
            r["scenario"], str(r["tasks"]), f"{r['latency_ms']:g}", f"{r['wall_seconds']:.2f}",
            f"{r['cpu_seconds']:.2f}" if "cpu_seconds" in r else "-",
            str(r["requests_total"]), f"{r['calls_per_task']:.2f}",
            str(r["rate_limited"] + r["sandbox_log"]["rate_limited"]),
            f"{r['lower_bound']['seconds']:.2f}", f"{r['wall_over_bound']}" if r["wall_over_bound"] else "-",
            f"{r['peak_rss_mb']:.0f}" if "peak_rss_mb" in r else "-",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for key, ratio in document["speedups"].items():
        lines.append(f"baseline / promoter at N, L = {key}: {ratio}x")
    for start in document.get("startup", []):
        lines.append(f"{start['command']}: best {start['best_seconds'] * 1000:.0f} ms "
                     f"(median {start['median_seconds'] * 1000:.0f} ms), heavy imports: "
                     f"{', '.join(start['heavy_imports']) or 'none'}")
    lines.append("targets:")
    for v in document["targets"]:
        mark = "met" if v["met"] else "NOT met"
        lines.append(f"  {mark:<8} {v['target']}: {v['measured']} (goal {v['goal']})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; print the table on standard error and the JSON on standard output."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="N in {10, 100} only")
    parser.add_argument("--json", dest="json_file", help="also write the JSON document to this file")
    parser.add_argument("--only", default="promoter,baseline,plan,startup",
                        help="scenarios to run (comma-separated: promoter, baseline, plan, startup)")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    started = time.perf_counter()
    log = lambda message: print(f"[{time.perf_counter() - started:6.1f}s] {message}", file=sys.stderr)  # noqa: E731

    promoter_matrix = [m for m in PROMOTER_MATRIX if not (args.quick and m[0] > 100)]
    document: dict[str, Any] = {
        "sandbox": {"seed": "large", "tasks_per_artifact": 5, "budgets_per_minute": BUDGETS,
                    "execution_seconds": RUN_SECONDS},
        "promoter_concurrency": CONCURRENCY,
        "trimmed": TRIMMED + (["--quick: N=1000 left out"] if args.quick else []),
        "promotions": [], "baselines": [], "speedups": {}, "plan": None, "startup": [],
    }
    with tempfile.TemporaryDirectory(prefix="promoter-bench-") as tmp:
        if "promoter" in only:
            for tasks, latency in promoter_matrix:
                log(f"promoter: N={tasks}, L={latency} ms")
                document["promotions"].append(promoter_run(tasks, latency, Path(tmp) / f"p{tasks}-{latency}"))
        if "baseline" in only:
            for tasks, latency in BASELINE_MATRIX:
                log(f"baseline: N={tasks}, L={latency} ms")
                document["baselines"].append(baseline_run(tasks, latency))
        if "plan" in only and not args.quick:
            log("plan: N=1000, L=0")
            document["plan"] = promoter_run(1000, 0, Path(tmp) / "plan", dry_run=True)
    promoter = {(r["tasks"], r["latency_ms"]): r for r in document["promotions"]}
    for b in document["baselines"]:
        p = promoter.get((b["tasks"], b["latency_ms"]))
        if p:
            document["speedups"][f"{b['tasks']}@{b['latency_ms']:g}ms"] = round(b["wall_seconds"] / p["wall_seconds"], 2)
    if "startup" in only:
        log("startup")
        for arguments in (["--version"], ["plan", "--help"]):
            document["startup"].append({**best_start(arguments), "heavy_imports": heavy_modules_at_start(arguments)})
    document["targets"] = evaluate(document)
    document["bench_seconds"] = round(time.perf_counter() - started, 1)
    print(table(document), file=sys.stderr)
    text = json.dumps(document, indent=2)
    print(text)
    if args.json_file:
        Path(args.json_file).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
