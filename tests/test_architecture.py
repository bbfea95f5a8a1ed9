"""The package tree is the architecture (docs/architecture.md): small modules by concept.

The layers themselves — which package may import which — are import-linter contracts in
pyproject.toml, checked by `make test` (`lint-imports`).
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "promoter"
MAX_LINES = 650
"""About 600 lines: past that a module holds more than one concept."""

DATA_ONLY: frozenset[str] = frozenset()
"""Modules that are data (generated tables, SQL) and may be longer."""


def test_no_module_is_too_long() -> None:
    too_long = {
        str(path.relative_to(PACKAGE)): lines
        for path in PACKAGE.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
        and str(path.relative_to(PACKAGE)) not in DATA_ONLY
    }
    assert not too_long, f"split these modules by concept: {too_long}"


def test_every_package_says_what_lives_there() -> None:
    for init in PACKAGE.rglob("__init__.py"):
        text = init.read_text(encoding="utf-8").lstrip()
        assert text.startswith('"""'), f"{init.relative_to(PACKAGE.parent)} has no docstring"
