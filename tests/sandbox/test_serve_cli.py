"""`promoter sandbox serve` as a user runs it: a real process, a real port, a state file."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def _serve(state: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "promoter.cli", "sandbox", "serve", "--port", "0", "--state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    banner = process.stdout.readline()
    match = re.search(r"on (http://127\.0\.0\.1:\d+)", banner)
    assert match, f"unexpected banner: {banner!r}"
    return process, match.group(1)


def _wait_ready(base_url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(base_url + "/openapi.json", timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_serve_seeds_once_and_keeps_state_across_restarts(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.db"
    headers = {"Authorization": "Bearer sandbox-dev-token"}
    process, base_url = _serve(state)
    try:
        _wait_ready(base_url)
        environments = httpx.get(base_url + "/orchestration/environments", headers=headers).json()
        assert [e["name"] for e in environments] == ["dev", "test", "prod"]
        created = httpx.post(
            base_url + "/orchestration/environments",
            json={"name": "staging", "workspaceName": "staging-custom"},
            headers=headers,
        )
        assert created.status_code == 201
        assert httpx.get(base_url + "/orchestration/environments").status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)

    process, base_url = _serve(state)
    try:
        _wait_ready(base_url)
        names = [e["name"] for e in httpx.get(base_url + "/orchestration/environments", headers=headers).json()]
        assert names == ["dev", "test", "prod", "staging"]  # kept, and not seeded twice
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
