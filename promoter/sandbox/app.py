"""The sandbox's HTTP application: Talend Cloud's routes, bearer auth, faults and the request log.

:func:`create_app` builds the ASGI application for a :class:`SandboxState`. The Talend routes are
in :mod:`promoter.sandbox.routes`; sandbox-only routes (publishing artifact versions, faults,
the request log) are under ``/_sandbox``.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from promoter.sandbox.errors import ApiError
from promoter.sandbox.estate import Estate
from promoter.sandbox.estate.rows import iso, utcnow
from promoter.sandbox.executions import Executions
from promoter.sandbox.faults import REAL_BUDGETS, FaultInjector, RateLimiter, RequestLog, family_of
from promoter.sandbox.store import Store

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The documented development token the sandbox accepts unless configured otherwise.
DEV_TOKEN = "sandbox-dev-token"
#: The documented OAuth client of the sandbox.
DEV_CLIENT_ID = "sandbox-client"
DEV_CLIENT_SECRET = "sandbox-secret"

_PUBLIC_PATHS = {"/security/oauth/token", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@dataclass
class SandboxSettings:
    """How the sandbox behaves; everything has a documented default."""

    tokens: set[str] = field(default_factory=lambda: {DEV_TOKEN})
    clients: dict[str, str] = field(default_factory=lambda: {DEV_CLIENT_ID: DEV_CLIENT_SECRET})
    token_ttl: float = 1800.0
    dispatch_seconds: float = 0.2
    run_seconds: float = 0.8
    promotion_seconds: float = 0.0
    budgets: dict[str, int] | None = field(default_factory=lambda: dict(REAL_BUDGETS))
    budget_scope: str = "credential"
    """Whom a budget counts: each ``credential`` (bearer token; lets tests share one sandbox
    without sharing budgets), or each source ``ip`` address, as Talend Cloud does (every
    client on loopback then shares one budget, like runners behind one NAT address)."""


class SandboxState:
    """Everything one sandbox holds: its store, its estate and the behaviour around them."""

    def __init__(self, state: str | Path | None = None, settings: SandboxSettings | None = None):
        self.settings = settings or SandboxSettings()
        self.store = Store(state)
        self.estate = Estate(self.store)
        self.executions = Executions(
            self.estate,
            dispatch_seconds=self.settings.dispatch_seconds,
            run_seconds=self.settings.run_seconds,
        )
        from promoter.sandbox.promotions import NativePromotions

        self.promotions = NativePromotions(
            self.estate, run_seconds=lambda: self.settings.promotion_seconds
        )
        self.faults = FaultInjector()
        self.limiter = RateLimiter(self.settings.budgets)
        self.requests = RequestLog()

    def apply_settings(self, changes: dict[str, Any]) -> None:
        """Change timings, token lifetime or budgets (keys of :class:`SandboxSettings`)."""
        for key, value in changes.items():
            if not hasattr(self.settings, key):
                raise ValueError(f"unknown sandbox setting {key!r}")
            setattr(self.settings, key, value)
        self.executions.dispatch_seconds = self.settings.dispatch_seconds
        self.executions.run_seconds = self.settings.run_seconds
        if "budgets" in changes:
            self.limiter.set_budgets(self.settings.budgets)

    def describe_settings(self) -> dict[str, Any]:
        """The settings as served by ``GET /_sandbox/settings`` (tokens and secrets left out)."""
        return {
            "tokenTtl": self.settings.token_ttl,
            "dispatchSeconds": self.settings.dispatch_seconds,
            "runSeconds": self.settings.run_seconds,
            "promotionSeconds": self.settings.promotion_seconds,
            "budgets": self.settings.budgets or {},
            "budgetScope": self.settings.budget_scope,
        }

    # ------------------------------------------------------------------ auth

    def issue_token(self, client_id: str, secret: str) -> tuple[str, int]:
        """A new access token for OAuth client credentials; 401 when they are wrong."""
        expected = self.settings.clients.get(client_id)
        if expected is None or not secrets.compare_digest(expected, secret):
            raise ApiError(401, "Invalid client credentials", "Check the service account's client id and secret.")
        token = "sbx_" + secrets.token_urlsafe(24)
        ttl = int(self.settings.token_ttl)
        self.store.put(
            "token", token, {"clientId": client_id, "expiresAt": iso(utcnow() + timedelta(seconds=ttl))}
        )
        return token, ttl

    def token_valid(self, token: str) -> bool:
        """Whether a bearer token is a configured personal token or an unexpired issued one."""
        if token in self.settings.tokens:
            return True
        issued = self.store.get("token", token)
        return issued is not None and issued["expiresAt"] > iso(utcnow())


def error_response(status: int, message: str, detail: str | None, request_id: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """Talend's error body."""
    body: dict[str, Any] = {"status": status, "message": message, "requestId": request_id}
    if detail:
        body["detail"] = detail
    return JSONResponse(body, status_code=status, headers=headers)


def create_app(state: SandboxState) -> ASGIApp:
    """The sandbox's ASGI application over ``state``."""
    from promoter.__about__ import __version__
    from promoter.sandbox import routes

    api = FastAPI(
        title="promoter sandbox — Talend Cloud compatible API",
        version=__version__,
        description=(
            "A local, Talend-Cloud-compatible server for rehearsing promotions offline. "
            "Every route needs `Authorization: Bearer <token>`."
        ),
    )
    api.state.sandbox = state

    def request_id(request: Request) -> str:
        return str(getattr(request.state, "request_id", None) or uuid.uuid4())

    @api.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.detail, request_id(request))

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()))
            problems.append(f"{where}: {error.get('msg')}")
        return error_response(400, "Invalid request", "; ".join(problems), request_id(request))

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message, str(exc.detail), request_id(request))

    @api.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        return error_response(500, "Internal server error", type(exc).__name__, request_id(request))

    routes.register(api)
    return SandboxMiddleware(api, state)


class SandboxMiddleware:
    """The outermost layer: request ids, bearer auth, budgets, faults and the request log.

    It sits outside FastAPI so that it holds the server's own ``send`` and can really drop a
    connection (close the socket without an answer), as a network failure would.
    """

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        family = family_of(path)
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.monotonic()
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "path": path,
            "query": scope.get("query_string", b"").decode("latin-1"),
            "family": family,
            "fault": None,
            "request_id": request_id,
        }
        status_box: dict[str, int] = {}

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_box["status"] = message["status"]
            await send(message)

        try:
            if family is None or path.startswith("/_sandbox"):
                if path.startswith("/_sandbox") and not self._authorised(scope):
                    await self._respond(error_response(401, "Unauthorized", "Send the sandbox's bearer token.", request_id), scope, receive, tracking_send)
                else:
                    await self.app(scope, receive, tracking_send)
                return
            if path not in _PUBLIC_PATHS and not self._authorised(scope):
                await self._respond(
                    error_response(401, "Unauthorized", "Missing, invalid or expired bearer token.", request_id),
                    scope, receive, tracking_send,
                )
                return
            if family != "security":
                wait = self.state.limiter.admit(self._client(scope), family)
                if wait is not None:
                    entry["fault"] = "rate-limit"
                    await self._respond(
                        error_response(429, "Too many requests", f"The {family} budget per minute is exhausted.", request_id),
                        scope, receive, tracking_send,
                    )
                    return
            decision = self.state.faults.decide(family, method)
            entry["fault"] = decision.label
            if decision.delay:
                await asyncio.sleep(decision.delay)
            if decision.status:
                headers = {}
                if decision.retry_after is not None:
                    headers["Retry-After"] = f"{decision.retry_after:g}"
                message = "Too many requests" if decision.status == 429 else "Service unavailable (injected fault)"
                await self._respond(
                    error_response(decision.status, message, "Injected by the sandbox's fault settings.", request_id, headers),
                    scope, receive, tracking_send,
                )
                return
            if decision.drop_before:
                _drop(send)
                status_box["status"] = 0
                return
            if decision.drop_after:
                async def swallow(message: Message) -> None:
                    if message["type"] == "http.response.start":
                        status_box["status"] = message["status"]

                await self.app(scope, receive, swallow)
                entry["effective_status"] = status_box.get("status")
                _drop(send)
                status_box["status"] = 0
                return
            await self.app(scope, receive, tracking_send)
        finally:
            entry["status"] = status_box.get("status", 0)
            entry["duration_ms"] = round((time.monotonic() - started) * 1000, 3)
            self.state.requests.record(entry)

    async def _respond(self, response: JSONResponse, scope: Scope, receive: Receive, send: Send) -> None:
        await response(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        token = _bearer(scope)
        return token is not None and self.state.token_valid(token)

    def _client(self, scope: Scope) -> str:
        # The real service counts per source IP. Every sandbox client is on loopback, so by default
        # count per credential, which lets several tests share one sandbox without sharing budgets;
        # `--budget-scope ip` counts per address as Talend does (clients then share one budget).
        token = _bearer(scope)
        if token is not None and self.state.settings.budget_scope != "ip":
            return token
        client = scope.get("client")
        return str(client[0]) if client else "unknown"


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = bytes(value).decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return token.strip()
    return None


def _drop(send: Send) -> None:
    """Close the client's connection without an answer (uvicorn's h11 protocol)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:  # pragma: no cover - another server
        raise RuntimeError("dropping connections needs uvicorn's h11 protocol")
    cycle.disconnected = True  # uvicorn must not answer 500 for the missing response
    cycle.keep_alive = False
    transport.close()
