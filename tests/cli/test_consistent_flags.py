"""One naming scheme for flags: ``executions --since/--until`` (``--from/--to`` kept, hidden,
deprecated), ``diff -w`` like ``executions -w``, ``export --out FILE`` (``-o`` kept, hidden,
deprecated). Real ``promoter`` processes against a real sandbox with real executions."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ux.conftest import cli_env, fast_sandbox, run_cli

from promoter.talend.client import TalendClient
from promoter.talend.models import ExecutionStartRequest


@dataclass
class Bench:
    env: dict[str, str]
    executions: set[str]
    workdir: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env=self.env)

    def ids(self, *args: str) -> set[str]:
        done = self.cli("executions", "-e", "dev", "--no-rows", "--output", "json", *args)
        assert done.returncode == 0, done.stderr
        return {row["execution_id"] for row in json.loads(done.stdout)}


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    workdir = tmp_path_factory.mktemp("flags")
    with fast_sandbox() as sandbox, TalendClient(sandbox.base_url, token=sandbox.token) as client:
        dev = client.environments.get_by_name("dev")
        assert dev is not None
        started = set()
        for task in client.tasks.list(environment_id=dev.id, name="Finance daily load"):
            execution = client.executions.start(ExecutionStartRequest(executable=task.executable))
            client.executions.wait(execution.execution_id, timeout=30, poll_interval=0.05)
            started.add(execution.execution_id)
        assert started
        yield Bench(cli_env(sandbox, workdir), started, workdir)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def test_executions_since_and_until_take_spans_and_times(bench: Bench) -> None:
    now = datetime.now(UTC)
    assert bench.ids("--since", "1h") == bench.executions
    assert bench.ids("--since", _iso(now - timedelta(hours=1))) == bench.executions
    assert bench.ids("--since", "1h", "--until", _iso(now + timedelta(hours=1))) == bench.executions
    assert bench.ids("--since", "2h", "--until", "1h") == set()  # they ran minutes ago
    assert bench.ids("--since", _iso(now + timedelta(hours=1))) == set()


def test_the_old_from_and_to_still_work_with_a_deprecation_line(bench: Bench) -> None:
    start, end = _iso(datetime.now(UTC) - timedelta(hours=1)), _iso(datetime.now(UTC) + timedelta(hours=1))
    for command in ("executions", "runs"):
        done = bench.cli(command, "-e", "dev", "--no-rows", "--output", "json", "--from", start, "--to", end)
        assert done.returncode == 0, done.stderr
        assert {row["execution_id"] for row in json.loads(done.stdout)} == bench.executions
        warnings = [line for line in done.stderr.splitlines() if "deprecated" in line]
        assert warnings == [
            "warning: --from is deprecated; use --since (same value)",
            "warning: --to is deprecated; use --until (same value)",
        ]
    shown = bench.cli("executions", "--help").stdout
    assert "--since SPAN|TIME" in shown and "--until SPAN|TIME" in shown
    assert "--from" not in shown and "--to" not in shown


def test_a_bad_time_names_the_option(bench: Bench) -> None:
    done = bench.cli("executions", "--until", "tomorrow")
    assert done.returncode == 2
    assert "--until" in done.stderr and "neither a time span nor an ISO 8601 time" in done.stderr


def test_diff_takes_w_like_executions(bench: Bench) -> None:
    short = bench.cli("diff", "--from", "dev", "--to", "test", "-w", "Finance", "--output", "json")
    long = bench.cli("diff", "--from", "dev", "--to", "test", "--workspace", "Finance", "--output", "json")
    assert short.returncode == long.returncode == 0, short.stderr
    assert [w["workspace"] for w in json.loads(short.stdout)["workspaces"]] == ["Finance"]
    assert json.loads(short.stdout)["workspaces"] == json.loads(long.stdout)["workspaces"]
    assert "-w, --workspace NAME" in bench.cli("diff", "--help").stdout


def test_export_out_is_the_file_and_o_is_deprecated(bench: Bench) -> None:
    out = bench.workdir / "bundle.json"
    done = bench.cli("export", "pipelines/release.yaml", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "deprecated" not in done.stderr and json.loads(out.read_text())["objects"]
    old = bench.workdir / "old.json"
    done = bench.cli("export", "pipelines/release.yaml", "-o", str(old))
    assert done.returncode == 0, done.stderr
    assert "warning: -o is deprecated; use --out FILE (same value)" in done.stderr
    assert json.loads(old.read_text())["objects"] == json.loads(out.read_text())["objects"]
    shown = bench.cli("export", "--help").stdout
    assert "--out BUNDLE.json" in shown and "-o " not in shown
