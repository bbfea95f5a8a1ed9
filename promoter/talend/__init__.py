"""Talend Cloud: the wire format (:mod:`promoter.talend.models`) and the client that speaks it.

The client (:class:`TalendClient`) and its errors are imported lazily, so that importing the
models alone (the sandbox does) does not pull in httpx and tenacity.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> module that defines it; resolved on first access (PEP 562).
_LAZY: dict[str, str] = {
    "TalendClient": "promoter.talend.client",
    "REGIONS": "promoter.talend.client",
    "RetryPolicy": "promoter.talend.retries",
    "RateLimits": "promoter.talend.ratelimit",
    "ClientMetrics": "promoter.talend.metrics",
    "AccessToken": "promoter.talend.auth",
    "ClientCredentials": "promoter.talend.auth",
    "Paginator": "promoter.talend.paging",
    "TalendError": "promoter.talend.errors",
    "TalendAPIError": "promoter.talend.errors",
    "TalendConnectionError": "promoter.talend.errors",
    "TalendTimeoutError": "promoter.talend.errors",
    "AmbiguousOutcomeError": "promoter.talend.errors",
    "WaitTimeoutError": "promoter.talend.errors",
    "BadRequest": "promoter.talend.errors",
    "Unauthorized": "promoter.talend.errors",
    "Forbidden": "promoter.talend.errors",
    "NotFound": "promoter.talend.errors",
    "MethodNotAllowed": "promoter.talend.errors",
    "Conflict": "promoter.talend.errors",
    "RateLimited": "promoter.talend.errors",
    "ServerError": "promoter.talend.errors",
    "NotImplementedByServer": "promoter.talend.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'promoter.talend' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
