"""Fixtures for end-to-end tests of the Talend stages: real promotions against a real sandbox.

``stage_run`` is an in-process ``promoter``: the built-in plugins (plus any test plugins), the
pipeline loaded from a copy of ``pipelines/`` and ``templates/`` in ``tmp_path``, the engine and a
ledger in ``tmp_path`` — talking over HTTP to a sandbox on 127.0.0.1, exactly as the command line
would (the environment variables it reads are set for the test). ``dump_workspace`` reads a
workspace with raw HTTP GETs, bypassing promoter's client, so that "identical before and after"
is judged by what the server answers, not by promoter's own view of it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from promoter import hookimpl
from promoter.context import RunContext, RunOptions
from promoter.engine import Engine, MadeRelease, create_release
from promoter.errors import StageError
from promoter.hooks.calls import PromoterHooks
from promoter.hooks.manager import get_plugin_manager
from promoter.ledger import SQLiteLedger
from promoter.model import ObjectProgress, Plan, PromoterConfig, RunOutcome, StageOutcome
from promoter.pipeline import load_pipeline
from promoter.sandbox import Sandbox, SandboxSettings

REPO = Path(__file__).resolve().parents[3]

#: Quick simulated runs, no per-minute budgets: these tests are about promotion, not pacing.
FAST = SandboxSettings(budgets=None, dispatch_seconds=0.02, run_seconds=0.1)

#: Methods that change the estate.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: Server-maintained fields that change whenever an object is written, whatever was written:

SECRET = "s3cret-finance-password"


# ------------------------------------------------------------------ the raw dump


def _get(http: httpx.Client, path: str, **params: Any) -> Any:
    response = http.get(path, params=params)
    response.raise_for_status()
    return response.json()


def _items(http: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    """Every item of a paged list."""
    items: list[dict[str, Any]] = []
    while True:
        page = _get(http, path, limit=100, offset=len(items), **params)
        items.extend(page["items"])
        if not page["items"] or len(items) >= page["total"]:
            return items


def dump_workspace(sandbox: Sandbox, environment: str, workspace: str) -> dict[str, Any]:
    """Everything in one workspace, as the server answers raw ``GET`` requests.

    Every task (its ``GET``, its run-config and its schedule), every connection, every artifact
    (with each version's ``GET``) and every plan, keyed by name; nothing is left out: a
    rollback must bring back every byte (promoter never rewrites an existing connection, and a
    task's version is a label). A workspace that does not exist dumps as ``{"exists": False}``.
    """
    with sandbox.http(timeout=30) as http:
        environments = {e["name"]: e for e in _get(http, "/orchestration/environments")}
        env_id = environments[environment]["id"]
        workspaces = _get(http, "/orchestration/workspaces", query=f"environment.id=={env_id}")
        found = [w for w in workspaces if w["name"] == workspace]
        if not found:
            return {"exists": False}
        ws = found[0]
        tasks: dict[str, Any] = {}
        for summary in _items(http, "/orchestration/executables/tasks", workspaceId=ws["id"]):
            task_id = summary["executable"]
            task = _get(http, f"/orchestration/executables/tasks/{task_id}")
            run_config = http.get(f"/orchestration/executables/tasks/{task_id}/run-config")
            schedule = http.get(f"/orchestration/executables/tasks/{task_id}/schedule")
            tasks[task["name"]] = {
                "task": task,
                "runConfig": run_config.json() if run_config.status_code == 200 else None,
                "schedule": schedule.json() if schedule.status_code == 200 else None,
            }
        connections = {
            c["name"]: _get(http, f"/orchestration/connections/{c['id']}")
            for c in _items(http, "/orchestration/connections", workspaceId=ws["id"])
        }
        artifacts: dict[str, Any] = {}
        for listed in _items(http, "/orchestration/artifacts", workspaceId=ws["id"]):
            artifact = _get(http, f"/orchestration/artifacts/{listed['id']}")
            artifacts[artifact["name"]] = {
                "artifact": artifact,
                "versions": {
                    v: _get(http, f"/orchestration/artifacts/{artifact['id']}/versions/{v}")
                    for v in artifact["versions"]
                },
            }
        plans = {
            p["name"]: _get(http, f"/orchestration/executables/plans/{p['executable']}")
            for p in _items(http, "/orchestration/executables/plans", workspaceId=ws["id"])
        }
    return {
        "exists": True,
        "workspace": ws,
        "tasks": tasks,
        "connections": connections,
        "artifacts": artifacts,
        "plans": plans,
    }


def dump_difference(before: dict[str, Any], after: dict[str, Any]) -> str:
    """What differs between two dumps, for assertion messages."""
    lines = []
    for section in sorted(set(before) | set(after)):
        b, a = before.get(section), after.get(section)
        if b == a:
            continue
        if isinstance(b, dict) and isinstance(a, dict):
            for name in sorted(set(b) | set(a)):
                if b.get(name) != a.get(name):
                    lines.append(
                        f"{section}/{name}:\n  before {json.dumps(b.get(name), sort_keys=True)}"
                        f"\n  after  {json.dumps(a.get(name), sort_keys=True)}"
                    )
        else:
            lines.append(f"{section}: {b!r} -> {a!r}")
    return "\n".join(lines) or "(identical)"


def writes(entries: Sequence[dict[str, Any]]) -> list[str]:
    """The writes among request-log entries, to Talend's orchestration and processing routes."""
    return [
        f"{e['method']} {e['path']} -> {e['status']}"
        for e in entries
        if e["method"] in WRITE_METHODS and e["family"] in ("orchestration", "processing")
    ]


# ------------------------------------------------------------------ test plugins


class ProgressRecorder:
    """A test plugin that keeps every per-object progress event."""

    name = "progress-recorder"

    def __init__(self) -> None:
        self.events: list[ObjectProgress] = []

    @hookimpl
    def promoter_progress(self, run: RunContext, event: ObjectProgress) -> None:
        self.events.append(event)

    def done(self, stage: str) -> list[str]:
        """``kind:key`` of the objects ``stage`` finished, in order."""
        return [f"{e.kind}:{e.key}" for e in self.events if e.stage == stage and e.status == "done"]


class WriteOutage:
    """A test plugin that ends the sandbox's write outage when a stage fails.

    Arm it with ``sandbox.set_faults(fail_writes_after=k, retry_after=0)``: the ``k+1``-th write
    of apply and every one after it get 503 (at once, so the client's retries are quick), until
    apply gives up. Then this plugin clears the faults, so that rollback can write. It keeps the
    failed stage and where the request log stood at that moment.
    """

    name = "write-outage"

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.failed: list[str] = []
        self.failed_at: int | None = None

    @hookimpl
    def promoter_on_stage_error(self, run: RunContext, stage: str, error: StageError) -> None:
        self.failed.append(stage)
        entries = self.sandbox.requests()
        self.failed_at = entries[-1]["seq"] if entries else 0
        self.sandbox.set_faults()


class DumpAfterStage:
    """A test plugin that dumps the target workspace right after a stage (default: apply)."""

    name = "dump-after-stage"

    def __init__(self, sandbox: Sandbox, environment: str, workspace: str, stage: str = "apply"):
        self.sandbox = sandbox
        self.environment = environment
        self.workspace = workspace
        self.stage = stage
        self.dump: dict[str, Any] | None = None

    @hookimpl
    def promoter_after_stage(self, run: RunContext, stage: str, outcome: StageOutcome) -> None:
        if stage == self.stage:
            self.dump = dump_workspace(self.sandbox, self.environment, self.workspace)


# ------------------------------------------------------------------ the in-process promoter


@dataclass
class StageRun:
    """Promotions of the Talend stages, in process, against one sandbox."""

    sandbox: Sandbox
    root: Path
    ledger: SQLiteLedger

    @property
    def release(self) -> Path:
        """The copy of ``pipelines/release.yaml`` (its template next to it, as in the repo)."""
        return self.root / "pipelines" / "release.yaml"

    def write_pipeline(self, name: str, document: dict[str, Any]) -> Path:
        """Write a pipeline file (JSON is YAML) into ``pipelines/``."""
        path = self.root / "pipelines" / name
        path.write_text(json.dumps(document, indent=2, default=str) + "\n")
        return path

    def engine_for(
        self,
        pipeline: Path,
        plugins: Sequence[object],
        variables: dict[str, str] | None,
        command: str = "promote",
    ) -> tuple[Engine, Any]:
        """A fresh plugin manager, engine and loaded pipeline, as one ``promoter`` command has.

        Built-in plugins and ``plugins`` only: installed distributions' entry points are not
        loaded, so that these tests see promoter's own stages whatever else is installed.
        """
        pm = get_plugin_manager(load_entrypoints=False, extra=list(plugins), disabled=())
        pm.check()
        hooks = PromoterHooks(pm)
        hooks.configure(PromoterConfig(command=command, cwd=self.root))
        loaded = load_pipeline(pipeline, variables=variables or {}, hooks=hooks)
        engine = Engine(hooks, self.ledger, lock_wait=0, lock_lease=30, command=command)
        return engine, loaded

    def promote(
        self,
        pipeline: Path | None = None,
        *plugins: object,
        target: str = "test",
        dry_run: bool = False,
        reason: str | None = None,
        variables: dict[str, str] | None = None,
        release: str | None = None,
        only: dict[str, str | None] | None = None,
        **extra: Any,
    ) -> RunOutcome:
        """``promoter promote PIPELINE --target TARGET --yes`` (``--dry-run``: ``promoter plan``;
        ``release``: ``--release ID``; ``only``: ``--only NAME[=VERSION]``)."""
        engine, loaded = self.engine_for(pipeline or self.release, plugins, variables)
        options = RunOptions(
            dry_run=dry_run,
            yes=True,
            reason=reason,
            variables=variables or {},
            extra=extra,
            release=release,
            only=only or {},
        )
        return engine.promote(engine.context(loaded, target=target, options=options))

    def create_release(
        self, pipeline: Path | None = None, *, name: str | None = None
    ) -> MadeRelease:
        """``promoter release create PIPELINE [--name NAME]``, in process."""
        engine, loaded = self.engine_for(pipeline or self.release, (), None, command="release")
        run = engine.context(loaded, target=None, options=RunOptions(dry_run=True, yes=True))
        return create_release(engine.hooks, self.ledger, run, name=name)

    def plan(self, pipeline: Path | None = None, *, target: str = "test") -> Plan:
        """``promoter plan``: the plan of a dry run, from the ledger."""
        outcome = self.promote(pipeline, target=target, dry_run=True)
        assert outcome.exit_code == 0, outcome.message
        body = self.ledger.document(outcome.run_id, "plan")
        assert body is not None
        return Plan.model_validate_json(body)

    def cli(self, *args: str) -> tuple[int, str]:
        """``promoter ARGS --ledger LEDGER``, in process: the exit code and standard output."""
        from promoter.cli import main as promoter_main

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                promoter_main([*args, "--ledger", str(self.root / "ledger.db")])
            except SystemExit as exited:
                code = exited.code
            else:  # pragma: no cover - main() always exits
                code = 0
        return int(code or 0), out.getvalue()

    def rollback(self, run_id: str, reason: str = "test") -> RunOutcome:
        """``promoter rollback RUN``: the run's pipeline reloaded, its snapshot restored.

        In process with promoter's built-in plugins only, like :meth:`promote` (the command
        line would also load every installed distribution's plugins).
        """
        record = self.ledger.get_run(run_id)
        engine, loaded = self.engine_for(
            Path(record.pipeline_file), (), dict(record.variables), command="rollback"
        )
        options = RunOptions(yes=True, reason=reason, variables=dict(record.variables))
        run = engine.context(
            loaded, target=record.options.get("target"), options=options, run_id=record.id
        )
        return engine.rollback(run, record, reason)

    def document(self, run_id: str, kind: str) -> Any:
        """A document the ledger keeps for a run (``plan``, ``snapshot``, ``outcome``...)."""
        body = self.ledger.document(run_id, kind)
        return None if body is None else json.loads(body)

    def release_document(self) -> dict[str, Any]:
        """``pipelines/release.yaml`` as a dict (its Jinja2 expressions are quoted strings)."""
        from ruamel.yaml import YAML

        document: dict[str, Any] = YAML(typ="safe").load(self.release.read_text())
        return document

    def dump(self, environment: str = "test", workspace: str = "Finance") -> dict[str, Any]:
        """:func:`dump_workspace` of this sandbox."""
        return dump_workspace(self.sandbox, environment, workspace)

    def mark(self) -> int:
        """The request log's position now (pass it to :meth:`writes_since`)."""
        entries = self.sandbox.requests()
        return entries[-1]["seq"] if entries else 0

    def writes_since(self, mark: int) -> list[str]:
        """Writes the sandbox answered since ``mark``."""
        return writes(self.sandbox.requests(since=mark))


def _stage_run(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StageRun]:
    for name in list(os.environ):
        if name.startswith(("PROMOTER_", "TALEND_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TALEND_API_URL", sandbox.base_url)
    monkeypatch.setenv("TALEND_ACCESS_TOKEN", sandbox.token)
    monkeypatch.setenv("FINANCE_DB_PASSWORD", SECRET)
    monkeypatch.setenv("PROMOTER_USER", "tester")
    monkeypatch.chdir(tmp_path)  # reports.dir is relative to the working directory
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    ledger = SQLiteLedger(tmp_path / "ledger.db")
    try:
        yield StageRun(sandbox=sandbox, root=tmp_path, ledger=ledger)
    finally:
        ledger.close()


@pytest.fixture
def demo_sandbox() -> Iterator[Sandbox]:
    """A fresh demo-estate sandbox with quick runs."""
    with Sandbox.start(seed="demo", settings=FAST) as sandbox:
        yield sandbox


@pytest.fixture
def stage_run(
    demo_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StageRun]:
    """In-process promotions against a fresh demo-estate sandbox."""
    yield from _stage_run(demo_sandbox, tmp_path, monkeypatch)


@pytest.fixture
def large_stage_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StageRun]:
    """In-process promotions against a ``large`` sandbox of 20 tasks (dev Finance; test empty)."""
    with Sandbox.start(seed="large", tasks=20, settings=FAST) as sandbox:
        yield from _stage_run(sandbox, tmp_path, monkeypatch)


def large_pipeline(run: StageRun, **overrides: Any) -> Path:
    """A pipeline promoting every artifact of the ``large`` seed from dev to test (Finance)."""
    document: dict[str, Any] = {
        "name": "large-release",
        "kind": "release",
        "source": {"environment": "dev", "workspace": "Finance"},
        "targets": [{"environment": "test", "values": {"db_host": "finance-db.test.internal"}}],
        "artifacts": [{"name": f"job_{a:04d}", "version": "latest"} for a in range(4)],
        "parameters": {"policy": "keep-target", "values": {"DB_SCHEMA": "finance_test"}},
        "apply": {"strategy": "direct", "concurrency": 4},
        "verify": {"smoke": [{"task": "task_00000", "timeout": 60}]},
        "reports": {"formats": []},
        **overrides,
    }
    return run.write_pipeline("large.yaml", document)
