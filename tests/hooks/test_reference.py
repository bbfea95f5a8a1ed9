"""The hook reference is generated from the hook specifications and documents every hook."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from promoter.hooks import reference as docgen
from promoter.hooks.manager import PromoterPluginManager
from promoter.model import STAGES

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
    assert docgen.main(["--check"]) == 0, "run `python -m promoter.hooks.reference` and commit docs/hooks.md"
    text = (DOCS / "hooks.md").read_text()
    for name in SPECS:
        assert f"### `{name}(" in text


def test_stage_diagram_names_every_stage() -> None:
    text = (DOCS / "stages.md").read_text()
    assert "```mermaid" in text
    for stage in STAGES:
        assert stage.name in text


def test_the_stage_table_and_the_hook_specifications_agree() -> None:
    """Each stage in ``model.STAGES`` is a documented ``promoter_<stage>`` specification, and
    whether one plugin does it (``firstresult``) is pluggy's answer, written nowhere else."""
    from promoter.hooks.calls import PromoterHooks

    hooks = PromoterHooks(PromoterPluginManager())
    for stage in STAGES:
        assert stage.hook in SPECS, f"{stage.name}: no specification {stage.hook}"
    first = {stage.name for stage in STAGES if hooks.is_first_result(stage)}
    assert first == {"export", "map", "plan", "snapshot", "apply", "rollback"}
    stage_like = {name for name in SPECS if name.removeprefix("promoter_") in {s.name for s in STAGES}}
    assert stage_like == {stage.hook for stage in STAGES}
