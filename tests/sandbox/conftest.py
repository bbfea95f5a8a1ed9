"""Fixtures of the sandbox's tests: Talend's published specs as a contract, and fast sandboxes.

The table of spec operations covered (the ``coverage_table`` fixture) is in ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from openapi_contract import Contract, SpecsMissing, spec_dir

from promoter.sandbox import Sandbox, SandboxSettings

#: The ``talend_sandbox`` fixture's settings: quick executions, no per-minute budgets.
FAST: dict[str, Any] = {"budgets": None, "dispatch_seconds": 0.05, "run_seconds": 0.2}


@pytest.fixture(scope="session")
def contract() -> Contract:
    """Talend's published OpenAPI specs, read where they are. Missing specs fail the test: CI
    always has them, and a conformance suite that skips proves nothing."""
    try:
        return Contract(spec_dir())
    except SpecsMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def module_sandbox() -> Iterator[Sandbox]:
    """One demo sandbox per test module (and xdist worker), for tests that create what they change."""
    with Sandbox.start(seed="demo", settings=SandboxSettings(**FAST)) as sandbox:
        yield sandbox


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """Start sandboxes with the fast settings (``Sandbox.start`` keywords, ``settings`` overrides
    as a dict); each is stopped at the end of the test (stopping twice is harmless)."""
    started: list[Sandbox] = []

    def start(*, settings: dict[str, Any] | None = None, **options: Any) -> Sandbox:
        sandbox = Sandbox.start(settings=SandboxSettings(**{**FAST, **(settings or {})}), **options)
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()
