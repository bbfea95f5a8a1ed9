"""Fixtures of the user-facing tests: the CLI in a subprocess, promoted runs with reports, Chromium.

Everything talks to a real sandbox on 127.0.0.1 over HTTP, through the real ``promoter`` command
line (``python -m promoter.cli``), with the ledger and the reports in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from promoter.cli import main
from promoter.sandbox import Sandbox, SandboxSettings

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "ux-canary-Pa55w0rd"
"""FINANCE_DB_PASSWORD in these tests: it must never appear in any output or report."""
CHROMIUM = Path("/usr/bin/chromium")


def cli_env(sandbox: Sandbox, workdir: Path, **extra: str) -> dict[str, str]:
    """The environment of a ``promoter`` command against ``sandbox``, ledger in ``workdir``."""
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "PROMOTER_CONSOLE")}
    env.pop("GITHUB_STEP_SUMMARY", None)
    env.pop("PROMOTER_REPORT_DIR", None)
    env.update(
        TALEND_API_URL=sandbox.base_url,
        TALEND_ACCESS_TOKEN=sandbox.token,
        PROMOTER_LEDGER=str(workdir / "ledger.db"),
        FINANCE_DB_PASSWORD=PASSWORD,
        PROMOTER_DISABLE_PLUGINS="sample",
        COLUMNS="160",
    )
    env.update(extra)
    return env


def run_cli(
    *args: str, env: dict[str, str], cwd: Path = REPO, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``promoter ARGS`` in a subprocess, output captured (so: no TTY)."""
    return subprocess.run(
        [sys.executable, "-m", "promoter.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def fast_sandbox(**kwargs: object) -> Sandbox:
    """A demo-estate sandbox whose executions take a fraction of a second."""
    settings = SandboxSettings(budgets=None, dispatch_seconds=0.05, run_seconds=0.25)
    return Sandbox.start(seed="demo", settings=settings, **kwargs)  # type: ignore[arg-type]


@dataclass
class PromotedRuns:
    """dev -> test (promoted) and test -> prod (smoke fails, rolled back), with their reports."""

    workdir: Path
    test: subprocess.CompletedProcess[str]
    prod: subprocess.CompletedProcess[str]
    step_summary: Path

    def reports(self, target: str) -> Path:
        """The report directory of the run to ``target``."""
        return self.workdir / "reports" / target


@pytest.fixture(scope="session")
def promoted_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromotedRuns]:
    """Two real promotions with ``--report-dir`` and ``GITHUB_STEP_SUMMARY`` set, output captured
    (no TTY). Session-scoped: the report and console tests read the same runs."""
    workdir = tmp_path_factory.mktemp("promoted")
    summary = workdir / "step-summary.md"
    with fast_sandbox() as sandbox:
        env = cli_env(sandbox, workdir, GITHUB_STEP_SUMMARY=str(summary))
        test = run_cli(
            "promote", "pipelines/release.yaml", "--target", "test", "--yes",
            "--report-dir", str(workdir / "reports" / "test"), env=env,
        )  # fmt: skip
        assert test.returncode == 0, test.stderr
        prod = run_cli(
            "promote", "pipelines/release.yaml", "--target", "prod", "--yes", "--approve",
            "--reason", "ux test", "--report-dir", str(workdir / "reports" / "prod"), env=env,
        )  # fmt: skip
        assert prod.returncode == 1, prod.stderr
        yield PromotedRuns(workdir, test, prod, summary)


def _install_chromium() -> None:
    """Debian's chromium, as root (CI containers); the tests need a real browser."""
    if shutil.which("apt-get") is None:
        raise RuntimeError("chromium is missing and there is no apt-get to install it")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run([*prefix, "apt-get", "update"], check=True, env=env, capture_output=True)
    subprocess.run(
        [*prefix, "apt-get", "install", "-y", "--no-install-recommends", "chromium"],
        check=True,
        env=env,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def chromium() -> Path:
    """``/usr/bin/chromium``, installed with apt-get when missing (one xdist worker at a time)."""
    import fcntl
    import tempfile

    with open(Path(tempfile.gettempdir()) / "promoter-chromium-install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not CHROMIUM.exists():
            _install_chromium()
    assert CHROMIUM.exists(), "apt-get install chromium did not provide /usr/bin/chromium"
    return CHROMIUM


def chromium_args(chromium: Path, profile: Path) -> list[str]:
    """Headless Chromium with no network chatter, no sandbox (root in CI), a throwaway profile."""
    return [
        str(chromium),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
    ]


@dataclass
class Result:
    """How a command ended and what it printed."""

    returncode: int
    stdout: str
    stderr: str


Invoke = Callable[..., Result]


@pytest.fixture
def invoke(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Invoke:
    """Run ``promoter ARGS`` in this process with ``env`` as the environment."""

    def run(*args: str, env: dict[str, str]) -> Result:
        for name in ("TALEND_API_URL", "TALEND_REGION", "TALEND_ACCESS_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run
