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
from promoter.builtins.reports.formats import render_junit

from .conftest import PASSWORD, REPO, PromotedRuns, chromium_args

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
