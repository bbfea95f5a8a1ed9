"""The hook reference is generated from the hookspecs and documents every hook."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from promoter import docgen
from promoter.plugins import PromoterPluginManager
from promoter.run import STAGES

DOCS = Path(__file__).resolve().parents[2] / "docs"
SPECS = docgen.hook_specs()


def test_every_hook_of_the_plugin_manager_is_a_documented_spec() -> None:
    pm = PromoterPluginManager()
    registered = {name for name in vars(pm.hook) if name.startswith("promoter_")}
    assert registered == set(SPECS)
    assert len(SPECS) >= 19


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_docstring_has_every_section(name: str) -> None:
    doc = inspect.getdoc(SPECS[name]) or ""
    summary = doc.splitlines()[0] if doc else ""
    assert summary.endswith("."), f"{name}: the first line is a one-sentence summary"
    for section in ("When:", "Returns:", "Example::"):
        assert section in doc, f"{name}: missing {section!r}"
    parameters = inspect.signature(SPECS[name]).parameters
    if parameters:
        assert "Parameters:" in doc
    for parameter in parameters:
        assert f"    {parameter}: " in doc, f"{name}: parameter {parameter!r} is not documented"


def test_hooks_md_is_up_to_date() -> None:
    assert docgen.main(["--check"]) == 0, "run `python -m promoter.docgen` and commit docs/hooks.md"
    text = (DOCS / "hooks.md").read_text()
    for name in SPECS:
        assert f"### `{name}(" in text


def test_stage_diagram_names_every_stage() -> None:
    text = (DOCS / "stages.md").read_text()
    assert "```mermaid" in text
    for stage in STAGES:
        assert stage in text
