"""Session-wide hooks of promoter's tests.

The sandbox's conformance suite (``tests/sandbox/test_conformance.py``) records which operations of
Talend's published specs it checked, with which statuses; the table is printed at the end of the
session. Under xdist each worker keeps its own rows and hands them to the controller, which prints
the union. The hooks live here, not in ``tests/sandbox/conftest.py``, because the controller of an
xdist run loads this conftest but never collects the sandbox directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

# The fake platform's estate and the in-process engine, for the tests of hooks, engine,
# pipeline, ledger and cli (tests/engine/estate.py).
from engine.estate import estate, harness  # noqa: F401

# The tests' own distributions (tests/distributions/*: the sample plugin) are installed by `make`
# into .venv/test-distributions, not into .venv: `make demo` and anyone's `promoter` must not see
# them. Here they are put on sys.path (in-process tests) and PYTHONPATH (the `promoter`
# subprocesses tests start, which copy this environment): entry points are found there all the
# same, from the distributions' metadata.
TEST_DISTRIBUTIONS = Path(sys.prefix) / "test-distributions"
if TEST_DISTRIBUTIONS.is_dir() and str(TEST_DISTRIBUTIONS) not in sys.path:
    sys.path.append(str(TEST_DISTRIBUTIONS))
    _paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(TEST_DISTRIBUTIONS) not in _paths:
        os.environ["PYTHONPATH"] = os.pathsep.join([*_paths, str(TEST_DISTRIBUTIONS)])

_TABLE = pytest.StashKey["CoverageTable"]()
_WORKER_KEY = "promoter_conformance"


class CoverageTable:
    """Which spec operations were checked, through which served route, with which statuses.

    Kept per pytest process; xdist workers send theirs to the controller, which prints the union.
    """

    def __init__(self) -> None:
        # (method, spec path) -> {"served": {served path}, "statuses": {"200", "409*"...}}
        self.rows: dict[tuple[str, str], dict[str, set[str]]] = {}

    def record(self, method: str, spec_path: str, served_path: str, status: str) -> None:
        """Note that ``status`` of ``method spec_path`` was validated (served at ``served_path``)."""
        row = self.rows.setdefault((method, spec_path), {"served": set(), "statuses": set()})
        row["served"].add(served_path)
        row["statuses"].add(status)

    def dump(self) -> list[list[Any]]:
        """A JSON-ready form (what a worker sends)."""
        return [[m, p, sorted(r["served"]), sorted(r["statuses"])] for (m, p), r in self.rows.items()]

    def merge(self, dumped: list[list[Any]]) -> None:
        """Add a worker's table."""
        for method, spec_path, served, statuses in dumped:
            for path in served:
                for status in statuses:
                    self.record(method, spec_path, path, status)

    def render(self) -> list[str]:
        """The table, one line per operation."""

        def order(status: str) -> tuple[int, str]:
            return int(status.rstrip("*")), status

        lines = []
        rows = sorted(self.rows.items(), key=lambda item: (item[0][1], item[0][0]))
        width = max((len(p) for _m, p in self.rows), default=10)
        lines.append(f"{'METHOD':<7} {'PATH (spec operation)':<{width}}  STATUSES CHECKED")
        for (method, spec_path), row in rows:
            served = sorted(p for p in row["served"] if p != spec_path)
            statuses = " ".join(sorted(row["statuses"], key=order))
            alias = f"  (also via {', '.join(served)})" if served else ""
            lines.append(f"{method:<7} {spec_path:<{width}}  {statuses}{alias}")
        lines.append(
            f"{len(rows)} operations; '*' marks a status the spec does not declare for the operation "
            "(its body is checked against the spec's ErrorResponse)."
        )
        return lines




def pytest_configure(config: pytest.Config) -> None:
    config.stash[_TABLE] = CoverageTable()


@pytest.fixture(scope="session")
def coverage_table(pytestconfig: pytest.Config) -> CoverageTable:
    """The spec operations (and statuses) checked in this process."""
    return pytestconfig.stash[_TABLE]


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_KEY] = session.config.stash[_TABLE].dump()


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    dumped = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if dumped:
        node.config.stash[_TABLE].merge(dumped)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    table = config.stash[_TABLE]
    if table.rows:
        terminalreporter.write_sep("=", "Talend API operations checked against the published specs")
        for line in table.render():
            terminalreporter.write_line(line)
