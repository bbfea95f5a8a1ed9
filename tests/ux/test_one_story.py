"""Every output of a run tells the same story: for a run whose smoke check fails in prod (rolled
back) and a run a gate blocks, the console, ``--output json``, run.json, junit.xml, summary.md,
report.html and the ledger (``promoter show RUN --output json``) give each stage the same status,
the run the same outcome, and the artifacts the same exact versions — never ``latest``.

And a failed smoke check points at its evidence: the console's last lines and report.html name the
failing execution, its last ERROR lines and ``promoter logs <id>``.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from .conftest import PASSWORD, cli_env, fast_sandbox, run_cli

Stages = list[tuple[str, str]]
"""``[(stage, status), ...]`` in run order, as one output says them."""


@dataclass
class Story:
    """One run, every output of it."""

    name: str
    result: subprocess.CompletedProcess[str]
    reports: Path
    shown_json: dict[str, Any]
    shown_text: str

    @property
    def stdout_json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.result.stdout)
        return document

    @property
    def run_json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.reports / "run.json").read_text())
        return document

    def texts(self) -> dict[str, str]:
        """Every output of the run, by name."""
        return {
            "console": self.result.stderr,
            "--output json": self.result.stdout,
            "run.json": (self.reports / "run.json").read_text(),
            "junit.xml": (self.reports / "junit.xml").read_text(),
            "summary.md": (self.reports / "summary.md").read_text(),
            "report.html": (self.reports / "report.html").read_text(),
            "ledger (show --output json)": json.dumps(self.shown_json),
            "ledger (show)": self.shown_text,
        }


@dataclass
class Stories:
    failed_smoke: Story
    blocked: Story


@pytest.fixture(scope="module")
def stories(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stories]:
    """test promoted; then prod twice with ``--output json``: approved (the smoke check of
    finance_ledger_sync fails in prod: rolled back, exit 1) and without approval (blocked, 4)."""
    workdir = tmp_path_factory.mktemp("one-story")
    with fast_sandbox() as sandbox:
        env = cli_env(sandbox, workdir)
        promote = ("promote", "pipelines/release.yaml", "--yes", "--output", "json")
        tested = run_cli(*promote, "--target", "test", "--report-dir", str(workdir / "test"), env=env)
        assert tested.returncode == 0, tested.stderr

        def story(name: str, *args: str, code: int) -> Story:
            reports = workdir / name
            result = run_cli(*promote, "--target", "prod", *args, "--report-dir", str(reports), env=env)  # fmt: skip
            assert result.returncode == code, result.stderr
            run_id = json.loads(result.stdout)["run_id"]
            shown = run_cli("show", run_id, "--output", "json", env=env)
            text = run_cli("show", run_id, env=env)
            assert shown.returncode == 0 and text.returncode == 0, shown.stderr + text.stderr
            return Story(name, result, reports, json.loads(shown.stdout), text.stdout)

        failed = story("failed-smoke", "--approve", "--reason", "one story", code=1)
        blocked = story("blocked", code=4)
        yield Stories(failed, blocked)


# --- each output's stage statuses ---------------------------------------------------------------


def console_stages(stderr: str) -> Stages:
    """The closing summary table of the plain console: ``| stage | status (detail) | 1.23s |``."""
    summary = stderr[stderr.rindex("\nSummary\n") :]
    found = []
    for line in summary.splitlines():
        match = re.match(r"^\| (\w+) +\| (\w[\w-]*)[^|]*\| +[\d.]+s \|$", line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def json_stages(document: dict[str, Any]) -> Stages:
    return [(s["stage"], s["status"]) for s in document["stages"]]


def junit_stages(xml: str) -> Stages:
    """Stage test cases: ``ok`` without a problem, else the problem's ``promoter.<status>`` type."""
    root = ElementTree.fromstring(xml)
    found = []
    for case in root.iter("testcase"):
        if not (case.get("classname") or "").endswith(".stage"):
            continue
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        status = "ok" if problem is None else (problem.get("type") or "").removeprefix("promoter.")
        found.append((case.get("name") or "", status))
    return found


def markdown_stages(text: str) -> Stages:
    """The stage table of summary.md: ``| stage | status | duration | plugin | result |``."""
    found = []
    for line in text.splitlines():
        match = re.match(r"^\| (\w+) \| (\w[\w-]*) \| [\d.]+s \|", line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


class ReportPage(HTMLParser):
    """The stage table's rows and the timeline's bars of report.html, and its text by element id."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: Stages = []
        self.bars: Stages = []
        self.by_id: dict[str, str] = {}
        self._row: str | None = None
        self._in_status = False
        self._open_ids: list[tuple[str, str]] = []  # (tag, id) of the elements being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "tr" and "stage-row" in classes:
            self._row = attributes.get("data-stage") or ""
        if tag == "td" and "stage-status" in classes and self._row is not None:
            self._in_status = True
            self.rows.append((self._row, ""))
        if tag == "g" and "stage" in classes:
            self.bars.append((attributes.get("data-stage") or "", attributes.get("data-status") or ""))
        if attributes.get("id") and tag not in ("br", "wbr"):
            self._open_ids.append((tag, attributes["id"] or ""))
            self.by_id.setdefault(attributes["id"] or "", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in_status = False
        if tag == "tr":
            self._row = None
        if self._open_ids and self._open_ids[-1][0] == tag:
            self._open_ids.pop()

    def handle_data(self, data: str) -> None:
        if self._in_status:
            stage, status = self.rows[-1]
            self.rows[-1] = (stage, status + data.strip())
        for _, element_id in self._open_ids:
            self.by_id[element_id] += data


def read_page(html: str) -> ReportPage:
    page = ReportPage()
    page.feed(html)
    return page


def ledger_stages(shown: dict[str, Any]) -> Stages:
    """``promoter show RUN --output json``: each stage's last event that is not ``started``."""
    last: dict[str, str] = {}
    for event in shown["stages"]:
        if event["event"] != "started":
            last[event["stage"]] = event["status"]
    return list(last.items())


def every_stage_list(story: Story) -> dict[str, Stages]:
    page = read_page((story.reports / "report.html").read_text())
    return {
        "console": console_stages(story.result.stderr),
        "--output json": json_stages(story.stdout_json),
        "run.json": json_stages(story.run_json),
        "junit.xml": junit_stages((story.reports / "junit.xml").read_text()),
        "summary.md": markdown_stages((story.reports / "summary.md").read_text()),
        "report.html table": page.rows,
        "report.html timeline": page.bars,
        "ledger": ledger_stages(story.shown_json),
    }


EXPECTED: dict[str, Stages] = {
    "failed-smoke": [
        ("export", "ok"), ("map", "ok"), ("plan", "ok"), ("gate", "ok"), ("snapshot", "ok"),
        ("apply", "ok"), ("verify", "failed"), ("rollback", "ok"),
    ],
    "blocked": [("export", "ok"), ("map", "ok"), ("plan", "ok"), ("gate", "blocked")],
}  # fmt: skip
"""Every stage but ``report``: the report files are written during it, before it has a status."""


@pytest.mark.parametrize("which", ["failed_smoke", "blocked"])
def test_every_output_gives_every_stage_the_same_status(stories: Stories, which: str) -> None:
    story: Story = getattr(stories, which)
    expected = EXPECTED[story.name]
    for output, stages in every_stage_list(story).items():
        without_report = [s for s in stages if s[0] != "report"]
        assert without_report == expected, f"{output} tells another story: {stages}"
    # The report stage itself, where it is known (after the files were written): ok everywhere.
    for output in ("console", "--output json", "ledger"):
        assert every_stage_list(story)[output][-1] == ("report", "ok"), output


@pytest.mark.parametrize(
    ("which", "status", "code"), [("failed_smoke", "rolled-back", 1), ("blocked", "blocked", 4)]
)
def test_every_output_gives_the_same_outcome(
    stories: Stories, which: str, status: str, code: int
) -> None:
    story: Story = getattr(stories, which)
    assert story.result.returncode == code
    assert (story.stdout_json["status"], story.stdout_json["exit_code"]) == (status, code)
    assert story.run_json["outcome"] == {
        "status": status,
        "exit_code": code,
        "message": story.stdout_json["message"],
    }
    assert (story.shown_json["run"]["status"], story.shown_json["run"]["exit_code"]) == (
        status,
        code,
    )
    junit = ElementTree.fromstring((story.reports / "junit.xml").read_text())
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert (properties["status"], properties["exit_code"]) == (status, str(code))
    summary = (story.reports / "summary.md").read_text()
    assert summary.splitlines()[0].endswith(f"finance-release: {status} (dev/Finance → prod/Finance)")
    page = read_page((story.reports / "report.html").read_text())
    assert page.by_id["outcome-status"] == status
    # The console's closing line says the status once, then the exit code.
    closing = [line for line in story.result.stderr.splitlines() if line.endswith(f"(exit {code})")]
    assert len(closing) == 1, closing
    assert closing[0].startswith(f"{status}: ") and f"{status}: {status}:" not in closing[0]


def test_a_blocked_run_says_blocked_once(stories: Stories) -> None:
    err = stories.blocked.result.stderr
    assert "blocked: approval: target prod requires an approval" in err
    assert "blocked: blocked" not in err


def versions_of(story: Story) -> dict[str, str]:
    versions: dict[str, str] = story.stdout_json["plan"]["versions"]
    return versions


@pytest.mark.parametrize("which", ["failed_smoke", "blocked"])
def test_every_output_names_the_exact_versions_never_latest(stories: Stories, which: str) -> None:
    story: Story = getattr(stories, which)
    versions = versions_of(story)
    assert set(versions) == {"finance_daily_load", "finance_ledger_sync"}
    for version in versions.values():
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d{14}", version), versions
    assert story.run_json["run"]["versions"] == versions
    assert story.shown_json["plan"]["versions"] == versions
    assert story.shown_json["run"]["versions"] == versions  # the ledger's record of the run
    for output, text in story.texts().items():
        assert "latest" not in text.lower(), f"{output} says latest"
        if output == "junit.xml":
            continue  # test cases name stages, gates and checks, not versions
        for name, version in versions.items():
            assert name in text and version in text, f"{output} lacks {name} {version}"
    page = read_page((story.reports / "report.html").read_text())
    shown = page.by_id["versions"]
    for name, version in versions.items():
        assert f"{name} {version}" in shown


def test_every_output_says_what_prod_runs_after_the_rollback(stories: Stories) -> None:
    story = stories.failed_smoke
    before = {"finance_daily_load": "0.1.0.20260901080000", "finance_ledger_sync": "1.0.0.20260906080000"}  # fmt: skip
    promoted = versions_of(story)
    expected = [
        f"prod/Finance still runs {name} {before[name]} ({promoted[name]} was removed by the rollback)"
        for name in sorted(promoted)
    ]
    state = story.run_json["target_state"]
    assert state["summary"] == "; ".join(expected)
    assert {a["name"]: a["now"] for a in state["artifacts"]} == {n: [v] for n, v in before.items()}
    assert all(a["state"] == "rolled-back" for a in state["artifacts"])
    for line in expected:
        assert line in story.result.stderr
        assert line in (story.reports / "summary.md").read_text()
        assert line in read_page((story.reports / "report.html").read_text()).by_id["target-state"]
    # What the rollback did: the promoted versions were removed, never "restored".
    html = (story.reports / "report.html").read_text()
    assert "Restored:" not in html
    effects = {e["object"]: e["effect"] for e in story.run_json["rollback"]["effects"]}
    for name, version in promoted.items():
        assert effects[f"artifact_version:{name}@{version}"] == "removed"
    assert effects["task:Finance ledger sync"] == "restored"


def test_a_blocked_run_says_prod_still_runs_what_it_ran(stories: Stories) -> None:
    story = stories.blocked
    state = story.run_json["target_state"]
    assert all(a["state"] == "not-applied" for a in state["artifacts"])
    assert "prod/Finance still runs finance_ledger_sync 1.0.0.20260906080000" in state["summary"]
    assert "was not applied: the run was blocked" in state["summary"]
    assert state["summary"].split("; ")[0] in story.result.stderr


# --- the evidence of a failed smoke check -------------------------------------------------------


def failed_execution(story: Story) -> tuple[str, list[str]]:
    """The failed check's execution id and its ERROR lines (from run.json)."""
    [failed] = [c for c in story.run_json["checks"] if not c["passed"]]
    assert failed["name"] == "smoke:Finance ledger sync"
    details = failed["details"]
    return details["executionId"], details["errorLines"]


def test_the_failed_check_keeps_its_executions_error_lines(stories: Stories) -> None:
    execution, lines = failed_execution(stories.failed_smoke)
    assert re.fullmatch(r"[0-9a-f-]{36}", execution)
    assert len(lines) == 1
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT[\d:.]+Z ERROR Job finance_ledger_sync failed: tDie reached in "
        r"component tRunJob_1",
        lines[0],
    )


def test_the_consoles_last_lines_point_at_the_evidence(stories: Stories) -> None:
    story = stories.failed_smoke
    execution, lines = failed_execution(story)
    tail = story.result.stderr.splitlines()[-8:]
    text = "\n".join(tail)
    assert f"failed check smoke:Finance ledger sync: execution {execution}" in text
    assert f"  {lines[0]}" in tail
    assert f"  full log: promoter logs {execution}" in tail
    # The outcome and the report directory close the output.
    assert tail[-2].startswith("rolled-back: verification failed") and tail[-1].startswith("reports: ")


def test_report_html_points_at_the_evidence(stories: Stories) -> None:
    story = stories.failed_smoke
    execution, lines = failed_execution(story)
    page = read_page((story.reports / "report.html").read_text())
    evidence = page.by_id["evidence"]
    assert "smoke:Finance ledger sync" in evidence
    assert execution in evidence and lines[0] in evidence
    assert f"promoter logs {execution}" in evidence
    assert "smoke:Finance daily load" not in evidence  # it passed: nothing to point at


def test_a_blocked_run_has_no_failure_evidence(stories: Stories) -> None:
    story = stories.blocked
    assert "failed check" not in story.result.stderr
    assert 'id="evidence"' not in (story.reports / "report.html").read_text()


def test_no_secret_in_any_output_of_either_story(stories: Stories) -> None:
    for story in (stories.failed_smoke, stories.blocked):
        for output, text in story.texts().items():
            assert PASSWORD not in text, output
