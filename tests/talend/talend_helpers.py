"""Helpers of the Talend client's tests."""

from __future__ import annotations

import time
from typing import Any

from promoter.sandbox import Sandbox


def settled_requests(sandbox: Sandbox, quiet: float = 0.15, timeout: float = 5.0) -> list[dict[str, Any]]:
    """The sandbox's request log once it has stopped growing.

    The sandbox logs a request after its answer is sent, so a client can be faster than the log.
    """
    deadline = time.monotonic() + timeout
    entries = sandbox.requests()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        again = sandbox.requests()
        if len(again) == len(entries):
            return again
        entries = again
    return entries


def clear_settled(sandbox: Sandbox) -> None:
    """Clear the request log once the answers already sent are logged (they would land later)."""
    settled_requests(sandbox)
    sandbox.clear_requests()
