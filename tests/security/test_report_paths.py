"""Where report files may go, and a report that fails is seen (issue 13, item 5).

The pipeline file is written by whoever can open a pull request: its ``reports.dir`` must stay
under the working directory — checked on real paths when the files are written, so a symlinked
directory cannot lead out. A directory given on the command line (``--report-dir``,
``PROMOTER_REPORT_DIR``) is the user's choice. A report that cannot be written fails the report
stage: the console says what and why, ``--output json`` and ``run.json`` list the failed stage,
and the exit code stays the run's. Real ``promoter plan`` runs against a sandbox.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability.estate import REPO, Workbench, fast_settings

from promoter.builtins.reports import FILES, ReportError, confined, write_reports
from promoter.sandbox import Sandbox

RELEASE = "pipelines/release.yaml"
ALL_FILES = sorted(FILES.values())


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(seed="demo", settings=fast_settings()) as running:
        yield running


def bench(sandbox: Sandbox, root: Path, reports_dir: str | None = None) -> Workbench:
    """The shipped pipeline and templates in ``root`` (``reports.dir`` set to ``reports_dir``),
    for ``promoter`` runs against ``sandbox`` with ``root`` as the working directory."""
    shutil.copytree(REPO / "pipelines", root / "pipelines")
    shutil.copytree(REPO / "templates", root / "templates")
    if reports_dir is not None:
        release = root / RELEASE
        text = release.read_text()
        assert "  dir: reports\n" in text
        release.write_text(text.replace("  dir: reports\n", f"  dir: {reports_dir}\n"))
    return Workbench(
        sandbox,
        root,
        env_extra={"FINANCE_DB_PASSWORD": "report-test", "PROMOTER_DISABLE_PLUGINS": "sample"},
    )


def env(workbench: Workbench, **extra: str) -> dict[str, str]:
    found = workbench.env(PROMOTER_CONSOLE="plain", COLUMNS="250", **extra)
    found.pop("GITHUB_STEP_SUMMARY", None)
    return found


def plan(workbench: Workbench, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return workbench.cli("plan", RELEASE, "--target", "test", *args, env=env(workbench, **extra))


def promote(workbench: Workbench, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """A real promotion to test (a plan alone writes no report directory of its own)."""
    return workbench.cli(
        "promote", RELEASE, "--target", "test", "--yes", *args, env=env(workbench, **extra)
    )


def report_stages(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in document["stages"] if s["stage"] == "report"]


def files_under(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


# --- a directory from the pipeline file -----------------------------------------------------------


def test_pipeline_reports_dir_cannot_lead_out_through_a_symlink(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    (work / "links").symlink_to(outside, target_is_directory=True)
    workbench = bench(sandbox, work, "links/reports")

    done = promote(workbench)
    assert done.returncode == 0, done.stderr[-3000:]  # the plan stands: the code is the run's
    assert files_under(outside) == []
    err = done.stderr
    assert "warning: the report stage failed" in err
    assert "outside the working directory" in err and str(outside.resolve()) in err
    assert "--report-dir" in err  # what to do instead
    assert "promoted: promoted to test/Finance" in err and "(exit 0)" in err

    as_json = promote(workbench, "--output", "json")
    assert as_json.returncode == 0
    [stage] = report_stages(json.loads(as_json.stdout))
    assert stage["status"] == "failed"
    assert "outside the working directory" in " ".join(stage["messages"])
    assert files_under(outside) == []


def test_pipeline_reports_dir_inside_the_working_directory_is_written(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    (tmp_path / "build").mkdir()
    (tmp_path / "inside").symlink_to(tmp_path / "build", target_is_directory=True)
    workbench = bench(sandbox, tmp_path, "inside/reports")
    done = promote(workbench)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "warning" not in done.stderr
    [run_dir] = (tmp_path / "build" / "reports").iterdir()
    assert sorted(p.name for p in run_dir.iterdir()) == ALL_FILES
    assert f"reports: inside/reports/{run_dir.name}/" in done.stderr


@pytest.mark.parametrize("directory", ["../outside", "/tmp/promoter-outside", "a/../../outside"])
def test_write_reports_refuses_a_confined_directory_that_leads_out(
    tmp_path: Path, directory: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(ReportError, match="outside the working directory") as refused:
        write_reports(
            Path(directory), {}, ["json"], str, confined_to=work, setting="reports.dir in x.yaml"
        )
    assert refused.value.written == []
    assert not (tmp_path / "outside").exists() and not Path("/tmp/promoter-outside").exists()
    # The same directory chosen by the user is not confined.
    assert confined(Path("a/../reports"), work, setting="reports.dir") == work.resolve() / "reports"


# --- a directory from the command line ------------------------------------------------------------


@pytest.mark.parametrize("how", ["option", "environment"])
def test_report_dir_from_the_command_line_is_the_users_choice(
    sandbox: Sandbox, tmp_path: Path, how: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    elsewhere = tmp_path / "elsewhere" / "reports"  # absolute, outside the working directory
    workbench = bench(sandbox, work)
    if how == "option":
        done = plan(workbench, "--report-dir", str(elsewhere))
    else:
        done = plan(workbench, PROMOTER_REPORT_DIR=str(elsewhere))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "warning" not in done.stderr
    assert sorted(p.name for p in elsewhere.iterdir()) == ALL_FILES
    assert f"reports: {elsewhere}/" in done.stderr


# --- a report that fails --------------------------------------------------------------------------


def test_a_report_that_cannot_be_written_is_visible(sandbox: Sandbox, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory\n")
    workbench = bench(sandbox, work)
    where = str(blocker / "reports")  # cannot be created, whoever runs the test (root included)

    done = plan(workbench, "--report-dir", where)
    assert done.returncode == 0, done.stderr[-3000:]
    err = done.stderr
    assert "warning: the report stage failed" in err
    assert f"cannot create the report directory {where}" in err and "Not a directory" in err
    assert "The exit code (0) is the run's own" in err
    assert re.search(r"\| report +\| failed +\|", err[err.index("Summary") :])

    as_json = plan(workbench, "--report-dir", where, "--output", "json")
    assert as_json.returncode == 0
    document = json.loads(as_json.stdout)
    [stage] = report_stages(document)
    assert stage["status"] == "failed" and stage["plugin"]
    assert "cannot create the report directory" in " ".join(stage["messages"])
    assert document["status"] == "planned" and document["exit_code"] == 0


def test_a_report_format_that_fails_is_listed_in_run_json(sandbox: Sandbox, tmp_path: Path) -> None:
    """The working directory's own report template tries to escape Jinja's sandbox: the HTML
    report fails (nothing runs), the other files are written and say so."""
    work = tmp_path / "work"
    work.mkdir()
    workbench = bench(sandbox, work)
    canary = tmp_path / "CANARY"
    (work / "templates" / "report.html.j2").write_text(
        "<p>{{ cycler.__init__.__globals__.os.popen('touch " + str(canary) + "').read() }}</p>\n"
    )
    reports = tmp_path / "reports"

    done = plan(workbench, "--report-dir", str(reports))
    assert done.returncode == 0, done.stderr[-3000:]
    assert not canary.exists()
    assert sorted(p.name for p in reports.iterdir()) == ["junit.xml", "run.json", "summary.md"]
    assert "warning: the report stage failed" in done.stderr
    assert "report.html not rendered" in done.stderr and "SecurityError" in done.stderr

    document = json.loads((reports / "run.json").read_text())
    [stage] = report_stages(document)
    assert stage["status"] == "failed"
    assert any("report.html not rendered" in m for m in stage["messages"])
    junit = (reports / "junit.xml").read_text()
    assert 'name="report"' in junit and "report.html not rendered" in junit
