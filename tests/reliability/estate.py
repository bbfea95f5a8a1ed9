"""Shared by the reliability and security suites: a sandbox, a generated pipeline, the real
``promoter`` command in a subprocess, and a name-keyed dump of a target workspace.

Every promotion here is a real ``python -m promoter.cli`` process talking HTTP to a sandbox on
127.0.0.1, with its own ledger under ``tmp_path``: nothing is mocked.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from promoter.ledger import SQLiteLedger
from promoter.sandbox import Sandbox, SandboxSettings
from promoter.talend.client import TalendClient
from promoter.talend.plugin.workspace import TalendWorkspace

REPO = Path(__file__).resolve().parents[2]


def fast_settings(**overrides: Any) -> SandboxSettings:
    """Sandbox settings for tests: no budgets, short simulated runs."""
    values: dict[str, Any] = {"budgets": None, "dispatch_seconds": 0.05, "run_seconds": 0.2}
    values.update(overrides)
    return SandboxSettings(**values)


def large_pipeline(
    *,
    artifacts: int,
    smoke: Sequence[str] = ("task_00000",),
    target: str = "test",
    name: str = "large-release",
    concurrency: int = 8,
    extra: str = "",
) -> str:
    """A pipeline promoting ``job_0000..`` of the ``large`` seed's dev/Finance to ``target``."""
    lines = [
        f"name: {name}",
        "source: {environment: dev, workspace: Finance}",
        "targets:",
        f"  - environment: {target}",
        "artifacts:",
        *(f"  - {{name: job_{a:04d}, version: latest}}" for a in range(artifacts)),
        "apply:",
        "  strategy: direct",
        f"  concurrency: {concurrency}",
    ]
    if smoke:
        lines += ["verify:", "  smoke:"]
        lines += [f"    - {{task: {task}, timeout: 60}}" for task in smoke]
    lines += ["reports: {formats: []}"]
    return "\n".join(lines) + "\n" + extra


@dataclass
class Workbench:
    """A sandbox, a working directory with pipeline files, and a ledger: the CLI's world."""

    sandbox: Sandbox
    directory: Path
    env_extra: dict[str, str] = field(default_factory=dict)

    @property
    def ledger_path(self) -> Path:
        return self.directory / "ledger.db"

    def env(self, **overrides: str | None) -> dict[str, str]:
        """The environment of a ``promoter`` process (``None`` removes a variable)."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TALEND_", "PROMOTER_", "FINANCE_"))
        }
        env.update(
            {
                "TALEND_API_URL": self.sandbox.base_url,
                "TALEND_ACCESS_TOKEN": self.sandbox.token,
                "PROMOTER_LEDGER": str(self.ledger_path),
                "PYTHONPATH": str(REPO),
            }
        )
        env.update(self.env_extra)
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def write(self, name: str, text: str) -> Path:
        path = self.directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "promoter.cli", *args]

    def cli(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``promoter ARGS`` to completion in the working directory."""
        return subprocess.run(
            self.command(*args),
            cwd=self.directory,
            env=env if env is not None else self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def call(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``promoter ARGS`` in this process (``promoter.cli.main``): the same command without
        a process start, for the many quick ``show``/``resume``/``rollback`` calls."""
        from promoter.cli import main

        out, err = io.StringIO(), io.StringIO()
        saved_env, saved_cwd = dict(os.environ), Path.cwd()
        os.environ.clear()
        os.environ.update(env if env is not None else self.env())
        os.chdir(self.directory)
        code: int | str | None = 0
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                main(list(args))
        except SystemExit as exc:
            code = exc.code
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        returncode = code if isinstance(code, int) else (0 if code is None else 1)
        return subprocess.CompletedProcess(list(args), returncode, out.getvalue(), err.getvalue())

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``promoter ARGS`` without waiting."""
        return subprocess.Popen(
            self.command(*args),
            cwd=self.directory,
            env=env if env is not None else self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def show(self, run_id: str) -> dict[str, Any]:
        """``promoter show RUN --output json``."""
        shown = self.call("show", run_id, "--output", "json")
        assert shown.returncode == 0, shown.stderr
        document: dict[str, Any] = json.loads(shown.stdout)
        return document

    def runs(self) -> list[dict[str, Any]]:
        """``promoter history --output json`` (newest first)."""
        if not self.ledger_path.exists():
            return []
        listed = self.call("history", "--output", "json", "--limit", "1000")
        assert listed.returncode == 0, listed.stderr
        runs: list[dict[str, Any]] = json.loads(listed.stdout)
        return runs

    def ledger(self) -> SQLiteLedger:
        return SQLiteLedger(self.ledger_path)


def dump_workspace(sandbox: Sandbox, environment: str, workspace: str) -> dict[str, Any]:
    """Everything in a workspace, keyed by name, ids left out (they differ between sandboxes):
    tasks with their run-configs and schedules, connections (secrets fingerprinted), artifacts
    with their versions, plans."""
    with TalendClient(sandbox.base_url, token=sandbox.token) as client:
        ws = TalendWorkspace(client, environment, workspace)
        if ws.workspace is None:
            return {}
        return {
            "tasks": {name: ws.read_task(name) for name in sorted(ws.tasks)},
            "connections": {name: ws.read_connection(name) for name in sorted(ws.connections)},
            "artifacts": {name: ws.read_artifact(name) for name in sorted(ws.artifacts)},
            "plans": {name: ws.read_plan(name) for name in sorted(ws.plans)},
        }


def took_effect(entry: dict[str, Any]) -> bool:
    """Whether a logged request was processed successfully (answered, or dropped after)."""
    status = entry.get("effective_status") if entry.get("fault") == "drop-after" else entry["status"]
    return isinstance(status, int) and 200 <= status < 300


def writes(entries: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Logged requests that change something (not the OAuth token endpoint, not admin routes)."""
    return [
        e
        for e in entries
        if e["method"] in {"POST", "PUT", "PATCH", "DELETE"}
        and not e["path"].startswith(("/security/", "/_sandbox"))
        and not e["path"].endswith("/search")
    ]
