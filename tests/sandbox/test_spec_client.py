"""A client written against the published spec runs, unmodified, against the sandbox.

``talend_spec_client.py`` is a standalone script (plain httpx, no promoter import); it runs in its
own Python process, as a user's script would, against a sandbox on a free port.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promoter.sandbox import Sandbox

CLIENT = Path(__file__).with_name("talend_spec_client.py")


def run_client(*args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, str(CLIENT), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, f"the spec client failed:\n{completed.stderr}"
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


def test_the_client_knows_nothing_of_promoter() -> None:
    source = CLIENT.read_text(encoding="utf-8")
    assert "promoter" not in source.replace("knows nothing of promoter", "")
    assert "import httpx" in source


@pytest.mark.parametrize("credentials", ["personal token", "client credentials"])
def test_a_spec_client_lists_tasks_runs_one_and_reads_its_executions_and_logs(
    talend_sandbox: Sandbox, credentials: str
) -> None:
    if credentials == "personal token":
        auth = ["--token", talend_sandbox.token]
    else:
        auth = ["--client-id", talend_sandbox.client_id, "--client-secret", talend_sandbox.client_secret]
    result = run_client(talend_sandbox.base_url, *auth, "--task", "Leads scoring")

    assert {"Finance daily load", "Leads scoring", "Campaign export"} <= set(result["tasks"])
    assert result["statuses"][-1] == "execution_successful"
    assert result["statuses"][0] in ("dispatching", "executing")
    final = result["final"]
    assert final["executionId"] == result["executionId"] and final["executionStatus"] == "EXECUTION_SUCCESS"
    assert final["numberOfProcessedRows"] == 1000 and final["jobId"]
    executions = result["executions"]
    assert executions["total"] == 1
    assert executions["items"][0]["executionId"] == result["executionId"]
    assert executions["items"][0]["taskId"] == result["task"]
    assert executions["items"][0]["status"] == "execution_successful"
    messages = [line["logMessage"] for line in result["logs"]]
    assert len(messages) > 3, "the log should span several pages of 3"
    assert messages[0].startswith(f"Execution {result['executionId']} dispatched")
    assert messages[-1].startswith("Job finished")
    timestamps = [line["logTimestamp"] for line in result["logs"]]
    assert timestamps == sorted(timestamps)
    # Both ways of authenticating went through the sandbox's auth, as recorded in its request log.
    logged = talend_sandbox.requests()
    if credentials == "client credentials":
        assert [e["status"] for e in logged if e["path"] == "/security/oauth/token"] == [200]
    assert all(e["status"] != 401 for e in logged)


def test_the_spec_client_is_refused_with_wrong_credentials(talend_sandbox: Sandbox) -> None:
    completed = subprocess.run(
        [sys.executable, str(CLIENT), talend_sandbox.base_url, "--client-id", talend_sandbox.client_id,
         "--client-secret", "not-the-secret"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode != 0
    assert "401" in completed.stderr
