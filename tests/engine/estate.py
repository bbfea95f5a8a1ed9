"""A fake platform's estate for the tests of the engine, hooks, pipeline, ledger and cli: a
source and a target that are JSON files, driven by the ``fake_target`` plugin.

The ``estate`` and ``harness`` fixtures are registered in ``tests/conftest.py``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from promoter.context import RunContext, RunOptions
from promoter.engine import Engine
from promoter.hooks.calls import PromoterHooks
from promoter.hooks.manager import BUILTIN_PLUGINS, get_plugin_manager
from promoter.ledger import SQLiteLedger
from promoter.model import PromoterConfig, RunOutcome
from promoter.pipeline import LoadedPipeline, load_pipeline

FAKE_TARGET = Path(__file__).with_name("fake_target.py")
PROMOTER = [sys.executable, "-m", "promoter.cli"]

ENGINE_PLUGINS = {"core", "gates", "console", "reports"}
# These tests drive the engine with the fake target; platform stage plugins that other issues
# add to the built-ins (Talend) would only bring their own gates and checks into it.
OTHER_BUILTINS = tuple(sorted(set(BUILTIN_PLUGINS) - ENGINE_PLUGINS))

SOURCE_OBJECTS = {
    "task:daily_load": {"version": "1.2", "param": "a"},
    "task:ledger_sync": {"version": "3.0", "param": "b"},
    "connection:warehouse": {"host": "wh"},
}


@dataclass
class Estate:
    """A directory with a source, a target, the fake_target plugin and pipelines."""

    root: Path
    ledger_path: Path
    pipelines: list[Path] = field(default_factory=list)

    @property
    def source(self) -> Path:
        return self.root / "source.json"

    @property
    def target(self) -> Path:
        return self.root / "target.json"

    def target_objects(self) -> dict[str, Any]:
        """The target's objects now."""
        if not self.target.exists():
            return {}
        data: dict[str, Any] = json.loads(self.target.read_text())
        return data

    def writes(self) -> list[str]:
        """Every object written to the target, in order."""
        log = self.target.with_suffix(".writes")
        return log.read_text().split() if log.exists() else []

    def pipeline(self, name: str = "release.yaml", **overrides: Any) -> Path:
        """Write a pipeline (as JSON, which is YAML) with ``overrides`` of top-level sections."""
        fake = {"source": "source.json", "target": "target.json", **overrides.pop("fake", {})}
        document: dict[str, Any] = {
            "name": "finance-release",
            "kind": "release",
            "source": {"environment": "dev", "workspace": "Finance"},
            "targets": [{"environment": "test"}, {"environment": "prod"}],
            "reports": {"formats": []},
            "plugins": ["./fake_target.py"],
            "fake": fake,
            **overrides,
        }
        path = self.root / name
        path.write_text(json.dumps(document, indent=2) + "\n")
        self.pipelines.append(path)
        return path

    def ledger(self) -> SQLiteLedger:
        """A connection to the estate's ledger (close it)."""
        return SQLiteLedger(self.ledger_path)

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a ``promoter`` subprocess."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOTER_")}
        env.update(
            PROMOTER_LEDGER=str(self.ledger_path),
            PROMOTER_USER="tester",
            PROMOTER_DISABLE_PLUGINS=",".join(OTHER_BUILTINS),
        )
        env.update(extra)
        return env

    def cli(
        self, *args: str, check: int | None = None, timeout: float = 60, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run ``promoter ARGS`` in the estate's directory."""
        result = subprocess.run(
            [*PROMOTER, *args],
            cwd=self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check is not None:
            assert result.returncode == check, (result.returncode, result.stdout, result.stderr)
        return result

    def popen(self, *args: str, **env: str) -> subprocess.Popen[str]:
        """Start ``promoter ARGS`` in the background."""
        return subprocess.Popen(
            [*PROMOTER, *args],
            cwd=self.root,
            env=self.env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


@pytest.fixture
def estate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Estate:
    """A fresh estate: three source objects, an empty target, fake_target.py next to them."""
    for name in list(os.environ):
        if name.startswith("PROMOTER_"):
            monkeypatch.delenv(name)
    if OTHER_BUILTINS:
        monkeypatch.setenv("PROMOTER_DISABLE_PLUGINS", ",".join(OTHER_BUILTINS))
    shutil.copy(FAKE_TARGET, tmp_path / "fake_target.py")
    (tmp_path / "source.json").write_text(json.dumps(SOURCE_OBJECTS, indent=2))
    return Estate(root=tmp_path, ledger_path=tmp_path / ".promoter" / "ledger.db")


@dataclass
class Harness:
    """An in-process engine over an estate, with test plugins registered through the hooks."""

    estate: Estate
    ledger: SQLiteLedger
    hooks: PromoterHooks | None = None

    def load(
        self,
        pipeline: Path,
        *plugins: object,
        variables: dict[str, str] | None = None,
        disabled: Sequence[str] = (),
    ) -> LoadedPipeline:
        pm = get_plugin_manager(
            load_entrypoints=False, extra=list(plugins), disabled=[*disabled, *OTHER_BUILTINS]
        )
        self.hooks = PromoterHooks(pm)
        self.hooks.configure(PromoterConfig(command="promote", cwd=self.estate.root))
        return load_pipeline(pipeline, variables=variables, hooks=self.hooks)

    def engine(self, command: str = "promote") -> Engine:
        assert self.hooks is not None
        return Engine(self.hooks, self.ledger, lock_wait=0, lock_lease=10, command=command)

    def context(
        self, loaded: LoadedPipeline, *, target: str | None = None, **options: Any
    ) -> RunContext:
        return self.engine().context(loaded, target=target, options=RunOptions(yes=True, **options))

    def promote(
        self,
        pipeline: Path,
        *plugins: object,
        target: str | None = None,
        disabled: Sequence[str] = (),
        **options: Any,
    ) -> RunOutcome:
        loaded = self.load(pipeline, *plugins, disabled=disabled)
        engine = self.engine()
        run = engine.context(loaded, target=target, options=RunOptions(yes=True, **options))
        return engine.promote(run)


@pytest.fixture
def harness(estate: Estate) -> Iterator[Harness]:
    """The in-process engine for ``estate``."""
    ledger = estate.ledger()
    try:
        yield Harness(estate=estate, ledger=ledger)
    finally:
        ledger.close()
