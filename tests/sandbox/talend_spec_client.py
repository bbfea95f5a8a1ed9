"""A tiny Talend Cloud client written from the published docs alone, as a user would write it.

It knows nothing of promoter or of the sandbox: a base URL, a bearer token (a personal access
token, or one obtained with service-account client credentials), ``talend-version: 2021-03``, and
plain httpx. ``test_spec_client.py`` runs it, unmodified, against the sandbox.

Usage: ``python talend_spec_client.py BASE_URL (--token TOKEN | --client-id ID --client-secret SECRET)
[--task NAME]``; prints a JSON summary of what it did.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import httpx

TERMINAL = {
    "execution_successful", "execution_failed", "execution_rejected", "deploy_failed",
    "terminated", "terminated_timeout", "terminated_shutdown",
}


def get_token(base_url: str, client_id: str, client_secret: str) -> str:
    """Client-credentials grant: HTTP Basic clientId:secret, audience = the API's base URL."""
    response = httpx.post(
        f"{base_url}/security/oauth/token",
        auth=(client_id, client_secret),
        json={"audience": base_url, "grant_type": "client_credentials"},
        headers={"talend-version": "2021-03"},
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def run_task(base_url: str, token: str, task_name: str) -> dict[str, Any]:
    """List tasks, start the one named ``task_name``, poll it to its end, read its executions and logs."""
    headers = {"Authorization": f"Bearer {token}", "talend-version": "2021-03"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:
        tasks: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = http.get("/orchestration/executables/tasks", params={"limit": 100, "offset": offset})
            page.raise_for_status()
            body = page.json()
            tasks.extend(body["items"])
            offset += len(body["items"])
            if not body["items"] or offset >= body["total"]:
                break
        task = next(t for t in tasks if t["name"] == task_name)

        started = http.post("/processing/executions", json={"executable": task["executable"]})
        started.raise_for_status()
        execution_id = started.json()["executionId"]

        statuses: list[str] = []
        deadline = time.monotonic() + 60
        while True:
            status = http.get(f"/processing/executions/{execution_id}")
            status.raise_for_status()
            current = status.json()
            if not statuses or statuses[-1] != current["status"]:
                statuses.append(current["status"])
            if current["status"] in TERMINAL or time.monotonic() > deadline:
                break
            time.sleep(0.05)

        executions = http.get(f"/processing/executables/tasks/{task['executable']}/executions")
        executions.raise_for_status()

        lines: list[dict[str, Any]] = []
        start_index: int | None = 0
        while start_index is not None:
            logs = http.get(
                f"/monitoring/executions/{execution_id}/logs",
                params={"count": 3, "startIndex": start_index, "order": "ASC"},
            )
            logs.raise_for_status()
            log_page = logs.json()
            lines.extend(log_page["data"])
            start_index = log_page.get("nextIndex")

    return {
        "tasks": [t["name"] for t in tasks],
        "task": task["executable"],
        "executionId": execution_id,
        "statuses": statuses,
        "final": current,
        "executions": executions.json(),
        "logs": lines,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base_url")
    parser.add_argument("--token")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    parser.add_argument("--task", default="Leads scoring")
    args = parser.parse_args(argv)
    token = args.token or get_token(args.base_url, args.client_id, args.client_secret)
    print(json.dumps(run_task(args.base_url, token, args.task)))


if __name__ == "__main__":
    main()
