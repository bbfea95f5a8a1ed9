"""``make demo``: start the embedded sandbox with the demo estate, show what is in it, stop it.

Everything below goes over real HTTP to the sandbox, exactly as it would to Talend Cloud.
Run it with ``python -m promoter.demo``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from promoter.sandbox import Sandbox, SandboxSettings


def _get(http: httpx.Client, path: str, **params: Any) -> Any:
    response = http.get(path, params=params)
    response.raise_for_status()
    return response.json()


def show_estate(http: httpx.Client, console: Console) -> None:
    """Print the environments, workspaces, artifacts, tasks and connections of the sandbox."""
    environments = _get(http, "/orchestration/environments")
    console.print(f"[bold]Environments[/bold]: {', '.join(e['name'] for e in environments)}")
    for env in environments:
        workspaces = _get(http, "/orchestration/workspaces", query=f"environment.id=={env['id']}")
        table = Table(title=f"{env['name']}", title_justify="left", expand=False)
        for column in ("workspace", "type", "artifacts (newest version)", "tasks", "connections → host"):
            table.add_column(column)
        for ws in workspaces:
            artifacts = _get(http, "/orchestration/artifacts", workspaceId=ws["id"])["items"]
            tasks = _get(http, "/orchestration/executables/tasks", workspaceId=ws["id"])["items"]
            connections = _get(http, "/orchestration/connections", workspaceId=ws["id"])["items"]
            hosts = []
            for c in connections:
                shown = next((p["value"] for p in c["parameters"] if p["name"] in ("host", "url", "bucket")), "")
                hosts.append(f"{c['name']} → {shown}")
            table.add_row(
                ws["name"], ws["type"],
                "\n".join(f"{a['name']} {a['versions'][0]}" for a in artifacts) or "-",
                "\n".join(t["name"] for t in tasks) or "-",
                "\n".join(hosts) or "-",
            )
        console.print(table)
    promotions = _get(http, "/orchestration/executables/promotions")
    console.print("[bold]Promotion definitions[/bold]: " + ", ".join(p["name"] for p in promotions))


def run_one_task(http: httpx.Client, console: Console) -> str:
    """Run dev's 'Finance daily load' and show its status and log; the final status."""
    dev = _get(http, "/orchestration/environments", query="name==dev")[0]
    task = _get(http, "/orchestration/executables/tasks", environmentId=dev["id"], name="Finance daily load")["items"][0]
    started = http.post("/processing/executions", json={"executable": task["executable"]})
    started.raise_for_status()
    execution_id = started.json()["executionId"]
    console.print(f"\nStarted [bold]{task['name']}[/bold] in dev: execution {execution_id}")
    status = "dispatching"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = _get(http, f"/processing/executions/{execution_id}")["status"]
        console.print(f"  status: {status}")
        if status not in ("dispatching", "executing"):
            break
        time.sleep(0.3)
    logs = _get(http, f"/monitoring/executions/{execution_id}/logs", order="ASC", count=200)
    for line in logs["data"]:
        console.print(f"  [dim]{line['severity']:<5}[/dim] {line['logMessage']}")
    return str(status)


def main() -> int:
    """Start the sandbox, show the demo estate, run one task, stop; the exit status."""
    console = Console()
    console.rule("promoter demo: the embedded Talend-Cloud-compatible sandbox")
    settings = SandboxSettings(dispatch_seconds=0.3, run_seconds=1.0)
    with Sandbox.start(seed="demo", settings=settings) as sandbox, sandbox.http(timeout=30) as http:
        console.print(f"Sandbox listening on [bold]{sandbox.base_url}[/bold] (demo estate, in-memory state)\n")
        show_estate(http, console)
        status = run_one_task(http, console)
        console.print("\n[bold]Reach a sandbox of your own[/bold]:")
        console.print("  .venv/bin/promoter sandbox serve --port 8080 --state sandbox.db --seed demo")
        console.print(f"  curl -H 'Authorization: Bearer {sandbox.token}' http://127.0.0.1:8080/orchestration/environments")
        console.print(f"  OAuth client credentials: {sandbox.client_id} / {sandbox.client_secret}; API document at /openapi.json")
        console.print(f"\nRequests served: {len(sandbox.requests())}")
    console.rule("sandbox stopped")
    return 0 if status == "execution_successful" else 1


if __name__ == "__main__":
    sys.exit(main())
