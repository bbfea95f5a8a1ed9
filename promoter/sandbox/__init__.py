"""The sandbox: a local, Talend-Cloud-compatible HTTP server for rehearsing promotions offline.

State lives in SQLite (a file that survives restarts, or in memory); task executions and their
logs are simulated; faults (latency, 5xx, 429 bursts, per-minute budgets, dropped connections)
can be injected at start or at run time. See ``docs/sandbox.md``.

>>> from promoter.sandbox import Sandbox
>>> with Sandbox.start(seed="demo") as sandbox:  # doctest: +SKIP
...     print(sandbox.base_url, sandbox.token)
"""

from promoter.sandbox.app import (
    DEV_CLIENT_ID,
    DEV_CLIENT_SECRET,
    DEV_TOKEN,
    SandboxSettings,
    SandboxState,
)
from promoter.sandbox.faults import FaultConfig
from promoter.sandbox.server import Sandbox

__all__ = [
    "DEV_CLIENT_ID",
    "DEV_CLIENT_SECRET",
    "DEV_TOKEN",
    "FaultConfig",
    "Sandbox",
    "SandboxSettings",
    "SandboxState",
]
