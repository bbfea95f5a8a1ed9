"""Talend Cloud's routes as the sandbox serves them, one module per API family, and the
sandbox-only admin routes.

- :mod:`~promoter.sandbox.routes.security`: ``/security`` (the OAuth token);
- :mod:`~promoter.sandbox.routes.orchestration`: ``/orchestration`` (the estate and promotion
  definitions);
- :mod:`~promoter.sandbox.routes.processing`: ``/processing`` (promotion runs and executions);
- :mod:`~promoter.sandbox.routes.monitoring`: ``/monitoring`` (execution logs);
- :mod:`~promoter.sandbox.routes.admin`: ``/_sandbox`` (publishing, faults, settings, request log);
- :mod:`~promoter.sandbox.routes.wire`: what they share (answers, pages).
"""

from __future__ import annotations

from fastapi import FastAPI

from promoter.sandbox.routes import admin, monitoring, orchestration, processing, security

__all__ = ["TALEND_ROUTERS", "register"]

#: The routers of Talend's API families, in the order they are mounted (and described in
#: ``/openapi.json``).
TALEND_ROUTERS = (security.router, orchestration.router, processing.router, monitoring.router)


def register(app: FastAPI) -> None:
    """Mount every router on ``app``."""
    for router in (*TALEND_ROUTERS, admin.router):
        app.include_router(router)
