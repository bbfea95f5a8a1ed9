"""The floors a run is compared with: what no client of Talend's API can go below.

**API floor (calls).** From the API's shape, for what promoter promotes (tasks with their run
configuration, connections by name, artifact versions by Talend's own promotion, smoke runs):

- per new task: ``GET`` the task and ``GET`` its run configuration in the source (the list item
  has neither parameters nor connections, nor triggers), ``POST`` it to the target and ``PUT``
  its run configuration (the create body has no place for it): 4;
- per artifact: one promotion run (``POST /processing/executions/promotions``: artifacts travel
  only that way; its report names the target artifact and the versions it holds), plus a
  ``DELETE`` per version the promotion brings along that the release does not name (an
  artifact-scoped promotion brings every version the target lacks; the target must hold exactly
  the release);
- per smoke run: its ``POST`` and one ``GET`` of its final status;
- once: the source and target workspaces (one FIQL query each), the source's task and artifact
  lists (pages of 100), its connections, schedules and plans, the target's task, artifact and
  connection lists, and the promotion definition.

**Window floor (time).** Talend's budgets are per sliding minute: ``C`` calls of a family with
budget ``B`` need ``60 x (ceil(C / B) - 1)`` seconds before the last window opens, counted on the
run's own calls (the larger over the families), plus the dependent chain of the last calls
(the last task's ``POST`` and ``PUT``). The **smoke floor** is what follows the last write: a
smoke run's duration and its ``POST`` and ``GET``.

**Latency floor (time).** The longest dependent chain, each step at the median server-side
duration of its endpoint in the same run (the sandbox's log: injected latency + processing):
find the workspace, list the tasks, read one, then the artifact promotions one after another
(Talend runs one per environment pair at a time), then the last task's ``POST`` and ``PUT``; and
for the smoke runs: the promotions of the smoke tasks' artifacts (first, at best), the last
one's task writes, its smoke run's ``POST``, the run's duration and a ``GET``. The larger chain is the floor; the calls' count over the client's
concurrency is printed beside it (``throughput_seconds``) but not counted, as concurrency is
the client's choice.
"""

from __future__ import annotations

import math
from typing import Any

BUDGETS = {"orchestration": 1800, "processing": 1800, "monitoring": 600}  # per minute
WINDOW = 60.0
PAGE = 100


def api_floor(
    *,
    new_tasks: int,
    artifacts: int,
    extra_versions: int,
    smoke_runs: int,
    source_tasks: int,
    source_artifacts: int,
    target_tasks: int = 0,
) -> dict[str, Any]:
    """The fewest calls, by family, that promote ``new_tasks`` new tasks (see the module)."""
    lists = (
        2  # the source and target workspaces
        + max(1, math.ceil(source_tasks / PAGE))
        + max(1, math.ceil(source_artifacts / PAGE))
        + 3  # source connections, schedules, plans
        + max(1, math.ceil(target_tasks / PAGE))
        + 2  # target artifacts, connections
        + 1  # the promotion definition
    )
    orchestration = 4 * new_tasks + extra_versions + lists
    processing = artifacts + 2 * smoke_runs
    return {
        "requests": {"orchestration": orchestration, "processing": processing},
        "total": orchestration + processing,
        "per_task": 4,
        "per_artifact": 1,
        "deletes_of_versions_brought_along": extra_versions,
        "smoke": 2 * smoke_runs,
        "lists_and_lookups": lists,
    }


def window_seconds(requests: dict[str, int]) -> float:
    """``60 x (ceil(C / B) - 1)``, the larger over the families."""
    return max(
        (WINDOW * (math.ceil(n / BUDGETS[f]) - 1) for f, n in requests.items() if f in BUDGETS and n),
        default=0.0,
    )


def median(medians: dict[str, float], endpoint: str, default: float) -> float:
    """An endpoint's median duration in seconds (``default`` ms when it was not called)."""
    return medians.get(endpoint, default) / 1000.0


def floors(
    *,
    requests: dict[str, int],
    medians: dict[str, float],
    latency_ms: float,
    artifacts: int,
    smoke_runs: int,
    run_seconds: float,
    concurrency: int,
    smoke_artifacts: int | None = None,
) -> dict[str, Any]:
    """The window, smoke and latency floors of one run (seconds; see the module)."""
    ms = latency_ms  # an endpoint not called costs at least the injected latency

    def rt(endpoint: str) -> float:
        return median(medians, endpoint, ms)

    find = rt("GET /orchestration/workspaces")
    listing = rt("GET /orchestration/executables/tasks")
    read = rt("GET /orchestration/executables/tasks/{id}")
    promote = rt("POST /processing/executions/promotions")
    post = rt("POST /orchestration/executables/tasks")
    put = rt("PUT /orchestration/executables/tasks/{id}/run-config")
    start = rt("POST /processing/executions")
    status = rt("GET /processing/executions/{id}")
    smoke = (run_seconds + start + status) if smoke_runs else 0.0
    every_write = find + listing + read + artifacts * promote + post + put
    # The last smoke run can start only after its artifact's promotion: at best, the smoke tasks'
    # artifacts are promoted first, one after another.
    before_smoke = min(artifacts, smoke_artifacts if smoke_artifacts is not None else smoke_runs)
    last_smoke = (find + listing + read + before_smoke * promote + post + put + smoke) if smoke_runs else 0.0
    latency = max(every_write, last_smoke)
    window = window_seconds(requests)
    window_chain = (window + post + put) if window else 0.0
    total = sum(requests.values())
    return {
        "window_seconds": round(window_chain, 3),
        "smoke_seconds": round(smoke, 3),
        "latency_seconds": round(latency, 3),
        "bound_seconds": round(max(window_chain + smoke, latency), 3),
        "throughput_seconds": round(latency_ms / 1000.0 * total / concurrency, 3),
        "chain": {
            "all_written_seconds": round(every_write, 3),
            "last_smoke_seconds": round(last_smoke, 3),
            "promotions_before_the_last_smoke": before_smoke,
            "round_trip_ms": {
                "find workspace": round(find * 1000, 2), "list tasks": round(listing * 1000, 2),
                "read task": round(read * 1000, 2), "promotion run": round(promote * 1000, 2),
                "POST task": round(post * 1000, 2), "PUT run-config": round(put * 1000, 2),
                "start smoke": round(start * 1000, 2), "poll smoke": round(status * 1000, 2),
            },
        },
    }
