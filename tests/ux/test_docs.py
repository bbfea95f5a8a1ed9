"""The user documentation: generated pages are current, links resolve, facts match the code."""

from __future__ import annotations

import json
import re

import jsonschema

from promoter.builtins.reports.document import SCHEMA_ID
from promoter.errors import ExitCode
from promoter.pipeline import Pipeline
from promoter.pipeline import reference as pipeline_reference

from .conftest import REPO

DOCS = REPO / "docs"
PAGES = ["getting-started.md", "ci.md", "real-cloud.md", "reports.md", "pipeline-reference.md"]


def test_pipeline_reference_is_current() -> None:
    assert pipeline_reference.main(["--check"]) == 0, (
        "run `python -m promoter.pipeline.reference` and commit docs/pipeline-reference.md"
    )
    text = (DOCS / "pipeline-reference.md").read_text()
    for name in Pipeline.model_fields:
        assert f"| `{name}` |" in text
    assert "## `talend`" in text  # plugin sections too
    # Every key has a description.
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert rows and all(not line.rstrip().endswith("|  |") for line in rows)


def test_readme_starts_with_make_demo_and_make_test() -> None:
    commands = re.findall(r"^(make \w+)", (REPO / "README.md").read_text(), re.MULTILINE)
    assert commands[:2] == ["make demo", "make test"]


def test_relative_links_resolve() -> None:
    for page in [REPO / "README.md", *(DOCS / p for p in PAGES)]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if re.match(r"^[a-z]+:", target):
                continue
            assert (page.parent / target).exists(), f"{page.name}: broken link {target}"


def test_ci_recipes_cover_every_exit_code_and_system() -> None:
    text = (DOCS / "ci.md").read_text()
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", text, re.MULTILINE), code
    for system in ("## GitHub Actions", "## GitLab CI", "## Jenkins"):
        assert system in text
    assert "junit.xml" in text and "GITHUB_STEP_SUMMARY" in text


def test_run_schema_is_published_and_valid() -> None:
    schema = json.loads((DOCS / "schemas" / "run-v1.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$id"] == SCHEMA_ID
    assert (
        "docs/schemas/run-v1.json" in (DOCS / "reports.md").read_text()
        or "schemas/run-v1.json" in (DOCS / "reports.md").read_text()
    )
