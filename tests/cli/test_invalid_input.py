"""Mistakes are refused, loudly, and CI gets a report of them: an unknown ``--var`` name lists
the known ones (exit 2); with ``--output json`` the error is on standard error too; with a report
directory, an invalid input leaves a ``junit.xml`` (valid JUnit) and a ``summary.md``."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
import xmlschema
from ux.conftest import REPO, run_cli

JUNIT_XSD = REPO / "tests" / "ux" / "junit.xsd"
CANARY = "invalid-input-canary-S3cret"


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's environment: no Talend (nothing here may reach it), a ledger in ``tmp_path``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PROMOTER_", "TALEND_")) and k != "GITHUB_STEP_SUMMARY"
    }
    env.update(
        PROMOTER_LEDGER=str(tmp_path / "ledger.db"),
        PROMOTER_DISABLE_PLUGINS="sample",
        FINANCE_DB_PASSWORD=CANARY,
        # an unreachable API: a command that got past the input would fail differently
        TALEND_API_URL="http://127.0.0.1:9",
        TALEND_ACCESS_TOKEN="not-used",
    )
    env.update(extra)
    return env


def cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env=env_for(tmp_path, **env))


@pytest.mark.parametrize("command", ["validate", "plan", "promote"])
def test_an_unknown_var_is_refused_with_the_known_names(tmp_path: Path, command: str) -> None:
    args = [command, "pipelines/release.yaml", "--var", "verison=0.3.0", "--target", "test"]
    done = cli(tmp_path, *args, *(["--yes"] if command == "promote" else []))
    assert done.returncode == 2, done.stderr
    assert (
        "unknown variable 'verison' (the pipeline uses: db_host, log_level, version)" in done.stderr
    )
    assert "hint: check the spelling" in done.stderr


def test_known_names_pass_the_check(tmp_path: Path) -> None:
    # `version` is read by the template, `db_host` is a target's value a --var overrides
    done = cli(
        tmp_path, "validate", "pipelines/release.yaml", "--var", "version=0.3.0", "--var", "db_host=x"
    )
    assert done.returncode == 0, done.stderr


def test_a_misspelt_name_is_named_even_when_the_file_needs_the_right_one(tmp_path: Path) -> None:
    pipeline = tmp_path / "hotfix.yaml"
    text = (REPO / "pipelines" / "hotfix.yaml").read_text()
    pipeline.write_text(text.replace("{{ version | default('latest') }}", "{{ version }}"))
    done = cli(tmp_path, "validate", str(pipeline), "--var", "verison=0.3.0")
    assert done.returncode == 2
    assert "unknown variable 'verison' (the pipeline uses: version)" in done.stderr
    fine = cli(tmp_path, "validate", str(pipeline), "--var", "version=0.3.0")
    assert fine.returncode == 0, fine.stderr


def test_a_template_reading_vars_as_a_whole_accepts_any_name(tmp_path: Path) -> None:
    pipeline = tmp_path / "loop.yaml"
    text = (REPO / "pipelines" / "hotfix.yaml").read_text()
    pipeline.write_text("# {% for name in vars %}{{ name }} {% endfor %}\n" + text)
    done = cli(tmp_path, "validate", str(pipeline), "--var", "anything=1")
    assert done.returncode == 0, done.stderr


def broken_pipeline(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    text = (REPO / "pipelines" / "release.yaml").read_text()
    path.write_text(text.replace("  workspace: Finance   ", "  workspaec: Finance   ", 1))
    return path


def test_with_output_json_the_error_is_on_standard_error_too(tmp_path: Path) -> None:
    pipeline = broken_pipeline(tmp_path)
    done = cli(tmp_path, "validate", str(pipeline), "--output", "json")
    assert done.returncode == 2
    document = json.loads(done.stdout)
    assert "source.workspaec" in {problem["key"] for problem in document["problems"]}
    assert "error: invalid pipeline (" in done.stderr
    assert f"{pipeline}:17: source.workspaec:" in done.stderr


@pytest.mark.parametrize("how", ["--report-dir", "PROMOTER_REPORT_DIR"])
def test_an_invalid_pipeline_leaves_junit_and_summary(tmp_path: Path, how: str) -> None:
    pipeline = broken_pipeline(tmp_path)
    reports = tmp_path / "reports"
    args = ["promote", str(pipeline), "--target", "test", "--yes", "--output", "json"]
    if how == "--report-dir":
        done = cli(tmp_path, *args, "--report-dir", str(reports))
    else:
        done = cli(tmp_path, *args, PROMOTER_REPORT_DIR=str(reports))
    assert done.returncode == 2
    assert json.loads(done.stdout)["type"] == "PipelineError"
    assert "error: invalid pipeline" in done.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["junit.xml", "summary.md"]

    junit = reports / "junit.xml"
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(junit))
    [suite] = ElementTree.parse(junit).getroot().findall("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("1", "1", "0")
    [case] = suite.findall("testcase")
    assert (case.get("classname"), case.get("name")) == ("promoter.pipeline", "load")
    failure = case.find("failure")
    assert failure is not None and failure.text is not None
    assert f"{pipeline}:17: source.workspaec: unknown key" in failure.text
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["exit_code"] == "2" and properties["status"] == "invalid-input"

    summary = (reports / "summary.md").read_text()
    assert "## promoter promote: invalid input" in summary
    assert f"{pipeline}:17: source.workspaec: unknown key" in summary
    for path in (junit, reports / "summary.md"):
        assert CANARY not in path.read_text()


def test_other_refusals_before_the_run_are_reported_too(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = cli(
        tmp_path, "promote", "pipelines/release.yaml", "--target", "uat", "--yes",
        "--report-dir", str(reports),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    junit = reports / "junit.xml"
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(str(junit))
    [case] = ElementTree.parse(junit).getroot().iter("testcase")
    assert (case.get("classname"), case.get("name")) == ("promoter.run", "start")
    assert "has no target 'uat'" in (reports / "summary.md").read_text()


def test_without_a_report_directory_nothing_is_written(tmp_path: Path) -> None:
    pipeline = broken_pipeline(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    done = run_cli(
        "promote", str(pipeline), "--target", "test", "--yes", env=env_for(tmp_path), cwd=work
    )
    assert done.returncode == 2
    assert list(work.iterdir()) == []
