"""A sandbox in its own process, so that the CPU and memory measured are promoter's alone."""

from __future__ import annotations

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

    def __init__(self, tasks: int, *, rate_limit: bool = True, run_seconds: float = 0.8) -> None:
        command = [
            sys.executable, "-m", "promoter.cli", "sandbox", "serve",
            "--port", "0", "--state", ":memory:", "--seed", "large", "--tasks", str(tasks),
            "--run-seconds", str(run_seconds),
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


def request_log_summary(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """Requests by family and the 429s, as the sandbox saw them (admin routes left out)."""
    families: dict[str, int] = {}
    rate_limited = 0
    for entry in entries:
        family = entry.get("family")
        if not family or str(entry.get("path", "")).startswith("/_sandbox"):
            continue
        families[family] = families.get(family, 0) + 1
        if entry.get("status") == 429:
            rate_limited += 1
    return {"requests": families, "requests_total": sum(families.values()), "rate_limited": rate_limited}


def wait_until_idle(seconds: float = 0.05) -> None:
    """A moment for the sandbox to log the last answers (it logs after answering)."""
    time.sleep(seconds)
