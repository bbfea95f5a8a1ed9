"""pytest fixtures for promoter's own tests and for plugin and pipeline authors.

Registered under the ``pytest11`` entry point, so they are available wherever promoter is
installed:

``talend_sandbox``
    A running sandbox (demo estate, in-memory state, rate limits off) on a free port on 127.0.0.1.
    Mark a test with ``@pytest.mark.sandbox_seed("large", tasks=250)`` to choose another seed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from promoter.sandbox import Sandbox


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers the fixtures read."""
    config.addinivalue_line(
        "markers", "sandbox_seed(name, **options): the seed of the talend_sandbox fixture"
    )


@pytest.fixture
def talend_sandbox(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A running sandbox for one test: ``.base_url``, ``.token``, ``.requests()``, ``.set_faults()``."""
    from promoter.sandbox import Sandbox, SandboxSettings

    marker = request.node.get_closest_marker("sandbox_seed")
    seed: str = marker.args[0] if marker and marker.args else "demo"
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    settings = SandboxSettings(budgets=None, dispatch_seconds=0.05, run_seconds=0.2)
    with Sandbox.start(seed=seed, settings=settings, **options) as sandbox:
        yield sandbox
