"""A sandbox in its own process, so that the CPU and memory measured are promoter's alone."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

import httpx

TOKEN = "sandbox-dev-token"


class SandboxProcess:
    """``promoter sandbox serve --port 0 --state :memory: --seed large --tasks N`` as a child process.

    Use as a context manager; :attr:`base_url` is the URL it printed. The admin routes
    (``/_sandbox/faults``, ``/_sandbox/requests``) set the latency and read the request log.
    """

    def __init__(
        self, tasks: int, *, rate_limit: bool = True, run_seconds: float = 0.8, budget_scope: str = "credential"
    ) -> None:
        command = [
            sys.executable, "-m", "promoter.cli", "sandbox", "serve",
            "--port", "0", "--state", ":memory:", "--seed", "large", "--tasks", str(tasks),
            "--run-seconds", str(run_seconds), "--budget-scope", budget_scope,
        ]
        if not rate_limit:
            command.append("--no-rate-limit")
        self.tasks = tasks
        self._process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if "http://" not in line:
            self.close()
            raise RuntimeError(f"the sandbox did not start: {line!r}")
        self.base_url = line.split("http://", 1)[1].split()[0]
        self.base_url = "http://" + self.base_url
        self.token = TOKEN
        self._http = httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
        )

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        """Call an admin route (``/_sandbox/...``)."""
        response = self._http.request(method, path, json=body)
        response.raise_for_status()
        return response.json() if response.content else None

    def set_latency(self, latency_ms: float) -> None:
        """Add ``latency_ms`` to every Talend request."""
        self.admin("PUT", "/_sandbox/faults", {"latency_ms": latency_ms})

    def add_target(self, name: str) -> None:
        """A target environment like the seed's test: a shared Finance workspace with the
        ``finance_warehouse`` connection, and Talend's promotion definition dev → it (set-up, not
        measured; the budgets are reset afterwards)."""
        api = self._http
        env = api.post("/orchestration/environments",
                       json={"name": name, "workspaceName": f"{name}-custom", "maxCloudContainers": 2})
        env.raise_for_status()
        env_id = env.json()["id"]
        ws = api.post("/orchestration/workspaces", json={"name": "Finance", "environmentId": env_id})
        ws.raise_for_status()
        api.post("/orchestration/connections", json={
            "name": "finance_warehouse", "workspaceId": ws.json()["id"], "app": "PostgreSQL",
            "parameters": [{"name": "host", "value": f"finance-db.{name}.internal"},
                           {"name": "port", "value": "5432"},
                           {"name": "password", "value": f"{name}-password", "encrypted": True}],
        }).raise_for_status()
        dev = next(e["id"] for e in api.get("/orchestration/environments").json() if e["name"] == "dev")
        api.post("/orchestration/executables/promotions",
                 json={"sourceEnvironmentId": dev, "targetEnvironmentId": env_id}).raise_for_status()

    def reset_budgets(self) -> None:
        """Forget the requests counted so far (set-up calls) by setting the budgets again."""
        budgets = self.admin("GET", "/_sandbox/settings")["budgets"]
        if budgets:
            self.admin("PUT", "/_sandbox/settings", {"budgets": budgets})

    def requests(self) -> list[dict[str, Any]]:
        """The request log."""
        entries: list[dict[str, Any]] = self.admin("GET", "/_sandbox/requests")
        return entries

    def clear_requests(self) -> None:
        """Forget the request log."""
        self.admin("DELETE", "/_sandbox/requests")

    def close(self) -> None:
        """Stop the server."""
        if hasattr(self, "_http"):
            self._http.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


_ID = re.compile(r"^([0-9a-f]{24}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")


def endpoint_of(method: str, path: str) -> str:
    """``GET /orchestration/executables/tasks/{id}`` for ``GET /orchestration/executables/tasks/5f...``."""
    parts = ["{id}" if _ID.match(p) else ("{version}" if re.match(r"^\d+\.\d+\.", p) else p)
             for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"


def talend_entries(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The log without admin routes and token requests."""
    return [e for e in entries if e.get("family") and e.get("family") != "security"
            and not str(e.get("path", "")).startswith("/_sandbox")]


def request_log_summary(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests by family and endpoint, the 429s, and each endpoint's median server-side duration
    (ms, injected latency included), as the sandbox saw them (admin routes left out)."""
    families: dict[str, int] = {}
    endpoints: dict[str, int] = {}
    durations: dict[str, list[float]] = {}
    rate_limited = 0
    for entry in talend_entries(entries):
        family = entry["family"]
        families[family] = families.get(family, 0) + 1
        endpoint = endpoint_of(entry["method"], entry["path"])
        endpoints[endpoint] = endpoints.get(endpoint, 0) + 1
        if entry.get("status") == 429:
            rate_limited += 1
        elif entry.get("duration_ms") is not None:
            durations.setdefault(endpoint, []).append(float(entry["duration_ms"]))
    return {
        "requests": families,
        "requests_total": sum(families.values()),
        "endpoints": dict(sorted(endpoints.items(), key=lambda kv: -kv[1])),
        "rate_limited": rate_limited,
        "median_ms": {k: round(statistics.median(v), 2) for k, v in sorted(durations.items())},
    }


def wait_until_idle(seconds: float = 0.05) -> None:
    """A moment for the sandbox to log the last answers (it logs after answering)."""
    time.sleep(seconds)
