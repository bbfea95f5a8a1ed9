"""Reports of real runs: run.json against its published schema, junit.xml against the JUnit XSD,
summary.md (and $GITHUB_STEP_SUMMARY), report.html rendered by headless Chromium; no secrets."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import jsonschema
import pytest
import xmlschema

from promoter.builtins.reports.document import SCHEMA_ID, SCHEMA_VERSION
from promoter.builtins.reports.formats import render_html, render_junit, render_markdown
from promoter.sandbox import Sandbox

from .conftest import PASSWORD, REPO, PromotedRuns, chromium_args, cli_env, run_cli

SCHEMA_FILE = REPO / "docs" / "schemas" / "run-v1.json"
JUNIT_XSD = Path(__file__).with_name("junit.xsd")
TARGETS = ("test", "prod")


def schema_validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def load_run(runs: PromotedRuns, target: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((runs.reports(target) / "run.json").read_text())
    return document


def test_every_report_file_is_written(promoted_runs: PromotedRuns) -> None:
    for target in TARGETS:
        files = sorted(p.name for p in promoted_runs.reports(target).iterdir())
        assert files == ["junit.xml", "report.html", "run.json", "summary.md"]
    assert f"reports: {promoted_runs.reports('prod')}/" in promoted_runs.prod.stderr


def test_run_json_matches_its_published_schema(promoted_runs: PromotedRuns) -> None:
    validator = schema_validator()
    for target in TARGETS:
        document = load_run(promoted_runs, target)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
        assert document["$schema"] == SCHEMA_ID and document["schema_version"] == SCHEMA_VERSION
    # The schema is strict enough to catch a broken document.
    broken = load_run(promoted_runs, "test")
    broken["outcome"]["exit_code"] = 7
    del broken["stages"][0]["duration"]
    assert len(list(validator.iter_errors(broken))) == 2


def test_run_json_says_what_happened(promoted_runs: PromotedRuns) -> None:
    test, prod = load_run(promoted_runs, "test"), load_run(promoted_runs, "prod")
    assert (test["outcome"]["status"], test["outcome"]["exit_code"]) == ("promoted", 0)
    assert (prod["outcome"]["status"], prod["outcome"]["exit_code"]) == ("rolled-back", 1)
    assert prod["run"]["reason"] == "ux test" and prod["run"]["target"] == "prod/Finance"
    assert [s["stage"] for s in prod["stages"]] == [
        "export", "map", "plan", "gate", "snapshot", "apply", "verify", "rollback",
    ]  # fmt: skip
    assert prod["plan"]["summary"] == {"create": 2, "update": 2, "delete": 0, "unchanged": 3}
    updated = {c["key"]: c for c in prod["plan"]["changes"] if c["action"] == "update"}
    fields = {f["path"]: f for f in updated["Finance ledger sync"]["fields"]}
    assert fields["artifact.version"]["after"] == "1.1.0.20261102080000"
    assert fields["parameters.DB_PASSWORD"]["after"] == "(secret)"
    checks = {c["name"]: c["passed"] for c in prod["checks"]}
    assert checks == {"smoke:Finance daily load": True, "smoke:Finance ledger sync": False}
    assert prod["rollback"]["complete"] is True
    assert "task:Finance ledger sync" in prod["rollback"]["restored"]
    applied = {
        p["object"] for p in prod["progress"] if p["stage"] == "apply" and p["status"] == "done"
    }
    assert "task:Finance daily load" in applied
    offsets = [s["offset"] for s in prod["stages"]]
    assert offsets == sorted(offsets) and prod["run"]["duration"] >= offsets[-1]


def test_junit_xml_is_valid_junit(promoted_runs: PromotedRuns) -> None:
    schema = xmlschema.XMLSchema(str(JUNIT_XSD))
    for target in TARGETS:
        schema.validate(str(promoted_runs.reports(target) / "junit.xml"))
    root = ElementTree.parse(promoted_runs.reports("prod") / "junit.xml").getroot()
    [suite] = root.findall("testsuite")
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    prefix = "promoter.finance-release"
    for stage in ("export", "map", "plan", "gate", "snapshot", "apply", "verify", "rollback"):
        assert (f"{prefix}.stage", stage) in cases
    failed = cases[(f"{prefix}.verify", "smoke:Finance ledger sync")].find("failure")
    assert failed is not None and "execution_failed" in (failed.get("message") or "")
    assert cases[(f"{prefix}.verify", "smoke:Finance daily load")].find("failure") is None
    # The failed check, and the verify stage it failed (the same status as every other output).
    assert cases[(f"{prefix}.stage", "verify")].find("failure") is not None
    assert suite.get("failures") == "2" and int(suite.get("tests") or 0) == len(cases)
    # The XSD is not a rubber stamp: a case with two failures, or a missing attribute, fails it.
    broken = (promoted_runs.reports("test") / "junit.xml").read_text()
    assert not schema.is_valid(broken.replace(' hostname="', ' host="'))


def test_junit_xml_survives_control_characters_in_messages(promoted_runs: PromotedRuns) -> None:
    document = load_run(promoted_runs, "prod")
    failed = next(c for c in document["checks"] if not c["passed"])
    failed["message"] = "\x1b[31mERROR\x1b[0m tDie\x00 reached"
    xml = render_junit(document)
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(xml)
    assert "[31mERROR[0m tDie reached" in xml


def test_summary_markdown_and_github_step_summary(promoted_runs: PromotedRuns) -> None:
    prod = (promoted_runs.reports("prod") / "summary.md").read_text()
    assert "finance-release: rolled-back" in prod
    assert "| smoke:Finance ledger sync | **FAILED** |" in prod
    assert "### Rollback: complete" in prod
    step_summary = promoted_runs.step_summary.read_text()
    # Both runs appended, in order.
    assert step_summary.index("finance-release: promoted") < step_summary.index(
        "finance-release: rolled-back"
    )


def test_no_secret_in_any_report_or_output(promoted_runs: PromotedRuns) -> None:
    texts = [promoted_runs.step_summary.read_text()]
    for target in TARGETS:
        texts += [p.read_text() for p in promoted_runs.reports(target).iterdir()]
    texts += [promoted_runs.test.stdout, promoted_runs.test.stderr]
    texts += [promoted_runs.prod.stdout, promoted_runs.prod.stderr]
    for text in texts:
        assert PASSWORD not in text
        assert "secret:sha256:" not in text
    assert "(secret changed)" in promoted_runs.prod.stderr


class _Elements(HTMLParser):
    """Tags, ids and classes of a DOM dump."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.seen.append((tag, dict(attrs)))


def test_report_html_renders_in_chromium(
    promoted_runs: PromotedRuns, chromium: Path, tmp_path: Path
) -> None:
    html = promoted_runs.reports("prod") / "report.html"
    text = html.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text), (
        "the report must not load anything"
    )
    assert "<script" not in text
    args = chromium_args(chromium, tmp_path / "profile")
    dom = subprocess.run(
        [*args, "--dump-dom", html.as_uri()], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    parser = _Elements()
    parser.feed(dom)
    by_id = {attrs.get("id"): tag for tag, attrs in parser.seen if attrs.get("id")}
    assert by_id.get("timeline") == "svg" and by_id.get("plan") == "table"
    assert by_id.get("checks") == "table" and "rollback" in by_id
    bars = [a for t, a in parser.seen if t == "g" and a.get("class") == "stage"]
    assert [b["data-stage"] for b in bars] == [
        "export", "map", "plan", "gate", "snapshot", "apply", "verify", "rollback",
    ]  # fmt: skip
    assert {b["data-stage"]: b["data-status"] for b in bars}["verify"] == "failed"
    rects = [t for t, _ in parser.seen if t == "rect"]
    assert len(rects) == len(bars)
    plan_rows = [a for t, a in parser.seen if t == "tr" and "change" in (a.get("class") or "")]
    assert len(plan_rows) >= 7  # 7 objects, the updated ones with a row per changed field
    assert "(secret changed)" in dom and "Finance ledger sync" in dom

    png = tmp_path / "report.png"
    subprocess.run(
        [*args, "--window-size=1100,1500", f"--screenshot={png}", html.as_uri()],
        capture_output=True,
        timeout=60,
        check=True,
    )
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1100, 1500)
    keep = REPO / ".pytest_cache" / "report.png"  # for a person to look at
    keep.parent.mkdir(exist_ok=True)
    shutil.copyfile(png, keep)


@pytest.mark.parametrize("target", TARGETS)
def test_html_report_shows_the_outcome(promoted_runs: PromotedRuns, target: str) -> None:
    text = (promoted_runs.reports(target) / "report.html").read_text()
    status = {"test": "promoted", "prod": "rolled-back"}[target]
    assert f'id="outcome-status">{status}<' in text
    if target == "prod":
        assert "Complete: the target equals the snapshot again." in text
    else:
        assert "No rollback was needed." in text


# --- report.html: the width of the window, names wrapped at their separators ------------------------

LAYOUT_PROBE = """<script>
(function () {
  // Where each character of each name cell lands: a line may only break after a separator or
  // at a space, never inside a token.
  var midToken = [], wrapped = 0;
  var cells = document.querySelectorAll("td.mono, dd.mono, code");
  for (var c = 0; c < cells.length; c++) {
    var walker = document.createTreeWalker(cells[c], NodeFilter.SHOW_TEXT);
    var previousTop = null, previous = "", lines = 1;
    while (walker.nextNode()) {
      var node = walker.currentNode;
      for (var i = 0; i < node.length; i++) {
        var range = document.createRange();
        range.setStart(node, i);
        range.setEnd(node, i + 1);
        var rects = range.getClientRects();
        if (!rects.length) { continue; }
        var top = rects[0].top;
        if (previousTop !== null && top > previousTop + 2) { lines += 1; }
        if (previousTop !== null && top > previousTop + 2
            && !/[\\s\\/@:._=,-]/.test(previous) && !/\\s/.test(node.data[i])) {
          if (midToken.indexOf(cells[c].textContent) < 0) { midToken.push(cells[c].textContent); }
        }
        previousTop = top;
        previous = node.data[i];
      }
    }
    if (lines > 1) { wrapped += 1; }
  }
  var out = document.createElement("pre");
  out.id = "layout-probe";
  out.textContent = JSON.stringify({
    window: window.innerWidth,
    plan: document.getElementById("plan").getBoundingClientRect().width,
    stages: document.getElementById("stages").getBoundingClientRect().width,
    cells: cells.length,
    wrapped: wrapped,
    midToken: midToken
  });
  document.body.appendChild(out);
})();
</script>"""


def layout(chromium: Path, html: Path, profile: Path, width: int) -> dict[str, Any]:
    """Chromium's layout of ``html`` in a window ``width`` pixels wide (a copy of the page with a
    probe script appended; the report itself has none)."""
    probed = profile.parent / f"probed-{width}.html"
    probed.write_text(html.read_text().replace("</body>", LAYOUT_PROBE + "</body>"))
    dom = subprocess.run(
        [*chromium_args(chromium, profile), f"--window-size={width},1200", "--dump-dom", probed.as_uri()],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom, flags=re.DOTALL)
    assert found, dom[-2000:]
    result: dict[str, Any] = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    return result


def test_report_html_uses_the_width_and_wraps_names_at_separators(
    promoted_runs: PromotedRuns, chromium: Path, tmp_path: Path
) -> None:
    html = promoted_runs.reports("prod") / "report.html"
    text = html.read_text()
    assert "break-all" not in text and "max-width: 1040px" not in text
    # Object names carry break opportunities after their separators only.
    assert "artifact_<wbr>version:<wbr>finance_<wbr>ledger_<wbr>sync@<wbr>1.<wbr>1.<wbr>0.<wbr>" in text
    wide = layout(chromium, html, tmp_path / "profile", 1900)
    assert wide["plan"] >= 0.9 * wide["window"] and wide["stages"] >= 0.9 * wide["window"], wide
    assert wide["midToken"] == []
    narrow = layout(chromium, html, tmp_path / "profile", 640)
    assert narrow["cells"] > 30 and narrow["wrapped"] > 5, narrow  # names did wrap...
    assert narrow["midToken"] == [], narrow["midToken"]  # ...at their separators


def test_the_layout_probe_sees_a_name_broken_mid_token(chromium: Path, tmp_path: Path) -> None:
    """The probe above is not blind: the old style (word-break: break-all) fails it."""
    page = tmp_path / "broken.html"
    name = "artifact_version:finance_ledger_sync@1.1.0.20261102080000"
    page.write_text(
        "<html><body style='width:120px'><table id='plan'><tr><td class='mono' "
        f"style='word-break: break-all'>{name}</td></tr></table><table id='stages'></table>"
        "</body></html>"
    )
    assert layout(chromium, page, tmp_path / "profile", 640)["midToken"] == [name]


# --- report.html and summary.md: versions, what the target runs now, the evidence ------------------


def test_reports_say_what_prod_runs_after_the_rollback(promoted_runs: PromotedRuns) -> None:
    prod = load_run(promoted_runs, "prod")
    html = (promoted_runs.reports("prod") / "report.html").read_text()
    summary = (promoted_runs.reports("prod") / "summary.md").read_text()
    sentence = (
        "prod/Finance still runs finance_ledger_sync 1.0.0.20260906080000 "
        "(1.1.0.20261102080000 was removed by the rollback)"
    )
    assert sentence in prod["target_state"]["summary"] and sentence in summary and sentence in html
    # The created versions read "removed", never "restored" (as if they ran in prod now).
    assert "Restored:" not in html and "restored artifact_version" not in summary
    assert "removed artifact_version:finance_ledger_sync@1.1.0.20261102080000 (the run had created it)" in summary  # fmt: skip
    assert prod["run"]["versions"] == {
        "finance_daily_load": "0.3.0.20261031080000",
        "finance_ledger_sync": "1.1.0.20261102080000",
    }
    for target in TARGETS:
        for path in promoted_runs.reports(target).iterdir():
            assert "latest" not in path.read_text(), path


def test_report_html_shows_the_failing_execution_and_its_error_lines(
    promoted_runs: PromotedRuns,
) -> None:
    prod = load_run(promoted_runs, "prod")
    [failed] = [c for c in prod["checks"] if not c["passed"]]
    execution = failed["details"]["executionId"]
    [line] = failed["details"]["errorLines"]
    assert "ERROR Job finance_ledger_sync failed: tDie reached in component tRunJob_1" in line
    html = (promoted_runs.reports("prod") / "report.html").read_text()
    evidence = html[html.index('<section id="evidence"') : html.index("</section>", html.index('id="evidence"'))]  # fmt: skip
    assert execution in evidence and line in evidence and f"promoter logs {execution}" in evidence
    # Before the timeline: the first thing after the outcome.
    assert html.index('id="evidence"') < html.index('id="timeline"')
    summary = (promoted_runs.reports("prod") / "summary.md").read_text()
    assert line in summary and f"Full log: `promoter logs {execution}`" in summary
    junit = (promoted_runs.reports("prod") / "junit.xml").read_text()
    assert line in junit and f"full log: promoter logs {execution}" in junit


def hostile_document(promoted_runs: PromotedRuns, line: str) -> dict[str, Any]:
    document = load_run(promoted_runs, "prod")
    failed = next(c for c in document["checks"] if not c["passed"])
    failed["details"]["errorLines"] = [line]
    return document


def test_error_lines_are_data_in_every_report(promoted_runs: PromotedRuns) -> None:
    line = "ERROR <script>alert(1)</script> {{ 7 * 7 }} {% raw %}``` \x1b[2J done"
    document = hostile_document(promoted_runs, line)
    html = render_html(document)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # Shown as it is, never rendered: no "49", no "{% raw %}" consumed (the whole line, escaped).
    escaped = "ERROR &lt;script&gt;alert(1)&lt;/script&gt; {{ 7 * 7 }} {% raw %}``` \\x1b[2J done"
    assert escaped in html
    assert "\x1b" not in html and "\\x1b[2J" in html
    markdown = render_markdown(document)
    # The code fence is longer than any backtick run in the line: the line cannot close it.
    assert "````text\nERROR <script>alert(1)</script> {{ 7 * 7 }} {% raw %}``` \\x1b[2J done\n````" in markdown  # fmt: skip
    xmlschema.XMLSchema(str(JUNIT_XSD)).validate(render_junit(document))


# --- where the files go --------------------------------------------------------------------------------


def test_a_rollback_writes_its_reports_in_its_own_directory(
    talend_sandbox: Sandbox, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    env = cli_env(talend_sandbox, tmp_path)
    promote = ("promote", "pipelines/release.yaml", "--target", "test", "--yes")
    promoted = run_cli(*promote, "--report-dir", str(reports), "--output", "json", env=env)
    assert promoted.returncode == 0, promoted.stderr
    run_id = json.loads(promoted.stdout)["run_id"]
    before = {p.name: p.read_bytes() for p in reports.iterdir()}
    assert sorted(before) == ["junit.xml", "report.html", "run.json", "summary.md"]

    rolled = run_cli("rollback", run_id, "--reason", "ux: reports apart", "--yes", env=env)
    assert rolled.returncode == 0, rolled.stderr
    # The promotion's own files are untouched; the rollback's are in rollback-1/.
    assert {p.name: p.read_bytes() for p in reports.iterdir() if p.is_file()} == before
    own = reports / "rollback-1"
    assert sorted(p.name for p in own.iterdir()) == sorted(before)
    document = json.loads((own / "run.json").read_text())
    assert (document["run"]["id"], document["run"]["command"]) == (run_id, "rollback")
    assert document["outcome"]["status"] == "rolled-back"
    assert f"reports: {own}/ (" in rolled.stderr
    summary = (own / "summary.md").read_text()
    # The rollback's reports name the versions the promotion had brought, and what runs now.
    assert "target now: test/Finance still runs finance_daily_load" in summary
    assert "was removed by the rollback" in summary
    assert document["run"]["reason"] == "ux: reports apart"
    schema_validator().validate(document)


def test_a_plan_leaves_no_report_directory_unless_told(
    talend_sandbox: Sandbox, tmp_path: Path
) -> None:
    shutil.copytree(REPO / "pipelines", tmp_path / "pipelines")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    env = cli_env(talend_sandbox, tmp_path)
    for command in (("plan",), ("promote", "--dry-run")):
        planned = run_cli(*command, "pipelines/release.yaml", "--target", "test", env=env, cwd=tmp_path)  # fmt: skip
        assert planned.returncode == 0, planned.stderr
        assert not (tmp_path / "reports").exists(), command
        assert "reports:" not in planned.stderr
    told = run_cli(
        "plan", "pipelines/release.yaml", "--target", "test", cwd=tmp_path,
        env={**env, "PROMOTER_REPORT_DIR": str(tmp_path / "plan-reports")},
    )  # fmt: skip
    assert told.returncode == 0, told.stderr
    assert sorted(p.name for p in (tmp_path / "plan-reports").iterdir()) == [
        "junit.xml", "report.html", "run.json", "summary.md",
    ]  # fmt: skip
    # A real promotion still writes where the pipeline file says: reports/<run id>/.
    promoted = run_cli("promote", "pipelines/release.yaml", "--target", "test", "--yes", env=env, cwd=tmp_path)  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    assert len(list((tmp_path / "reports").iterdir())) == 1
