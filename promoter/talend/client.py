"""The Talend Cloud client: :class:`TalendClient`.

::

    from promoter.talend import TalendClient

    with TalendClient.from_env() as talend:            # TALEND_API_URL / TALEND_REGION + credentials
        dev = talend.environments.get_by_name("dev")
        for task in talend.tasks.list(environment_id=dev.id):
            ...
        versions = talend.map(lambda t: talend.tasks.get(t.executable), tasks, concurrency=8)

Synchronous, over one pooled keep-alive ``httpx.Client``; thread-safe, so :meth:`TalendClient.map`
can fan calls out over a thread pool from plain functions (pluggy hook implementations included).
Everything about the wire — retries, rate limits, tokens, masking, metrics — happens in
:class:`~promoter.talend.transport.Transport`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar

import httpx

from promoter.errors import ConfigurationError
from promoter.talend.auth import AccessToken, Authenticator, ClientCredentials
from promoter.talend.metrics import ClientMetrics
from promoter.talend.ratelimit import RateLimits
from promoter.talend.resources import (
    ArtifactsAPI,
    ConnectionsAPI,
    EnvironmentsAPI,
    ExecutionsAPI,
    LogsAPI,
    PlansAPI,
    PromotionsAPI,
    SchedulesAPI,
    TasksAPI,
    WorkspacesAPI,
)
from promoter.talend.retries import RetryPolicy
from promoter.talend.transport import Transport

__all__ = ["REGIONS", "TalendClient", "region_url"]

T = TypeVar("T")
R = TypeVar("R")

#: Talend Cloud's regions and their API base URLs.
REGIONS: dict[str, str] = {
    region: f"https://api.{region}.cloud.talend.com" for region in ("eu", "us", "us-west", "ap", "au")
}


def region_url(region: str) -> str:
    """The API base URL of a Talend Cloud region (``eu``, ``us``, ``us-west``, ``ap``, ``au``)."""
    try:
        return REGIONS[region.strip().lower()]
    except KeyError:
        raise ConfigurationError(
            f"unknown Talend Cloud region {region!r}",
            hint=f"use one of {', '.join(REGIONS)}, or give the API URL itself (TALEND_API_URL)",
        ) from None


class TalendClient:
    """A client of one Talend Cloud account, by base URL or region.

    Credentials: ``token`` (a personal or service-account access token), or ``client_id`` and
    ``client_secret`` (OAuth client credentials, refreshed before expiry), or any
    :class:`~promoter.talend.auth.Authenticator` as ``auth``.

    Resource groups: :attr:`environments`, :attr:`workspaces`, :attr:`artifacts`, :attr:`tasks`,
    :attr:`plans`, :attr:`schedules`, :attr:`connections`, :attr:`promotions`,
    :attr:`executions`, :attr:`logs`. Traffic counters: :attr:`metrics`.

    ``retry`` and ``rate_limits`` tune the retry policy and the client-side rate limiter
    (Talend's documented budgets by default); ``timeout`` is per request; ``max_connections``
    bounds the connection pool (keep it at least the fan-out's concurrency).
    ``http_transport`` replaces httpx's network transport (tests only).
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        region: str | None = None,
        token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        auth: Authenticator | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate_limits: RateLimits | None = None,
        max_connections: int = 64,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        if base_url is None:
            if region is None:
                raise ConfigurationError(
                    "no Talend Cloud API URL given",
                    hint="pass base_url or region, or set TALEND_API_URL or TALEND_REGION",
                )
            base_url = region_url(region)
        if auth is None:
            auth = _authenticator(token, client_id, client_secret)
        self.base_url = base_url.rstrip("/")
        #: Counters of this client's traffic (see :meth:`ClientMetrics.snapshot`).
        self.metrics = ClientMetrics()
        self.transport = Transport(
            self.base_url,
            auth,
            timeout=timeout,
            retry=retry,
            rate_limits=rate_limits,
            metrics=self.metrics,
            max_connections=max_connections,
            http_transport=http_transport,
        )
        self.environments = EnvironmentsAPI(self.transport)
        self.workspaces = WorkspacesAPI(self.transport)
        self.artifacts = ArtifactsAPI(self.transport)
        self.tasks = TasksAPI(self.transport)
        self.plans = PlansAPI(self.transport)
        self.schedules = SchedulesAPI(self.transport)
        self.connections = ConnectionsAPI(self.transport)
        self.promotions = PromotionsAPI(self.transport)
        self.executions = ExecutionsAPI(self.transport)
        self.logs = LogsAPI(self.transport)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **options: object
    ) -> TalendClient:
        """A client configured from the environment variables Talend Cloud tools use.

        ``TALEND_API_URL`` (or ``TALEND_REGION``), and ``TALEND_ACCESS_TOKEN`` or
        ``TALEND_CLIENT_ID`` + ``TALEND_CLIENT_SECRET`` (the access token wins when both are set).
        Keyword ``options`` are passed to the constructor and override the environment.
        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        settings: dict[str, object] = {
            "base_url": get("TALEND_API_URL"),
            "region": get("TALEND_REGION"),
            "token": get("TALEND_ACCESS_TOKEN"),
        }
        if settings["token"] is None:
            settings["client_id"] = get("TALEND_CLIENT_ID")
            settings["client_secret"] = get("TALEND_CLIENT_SECRET")
        settings.update(options)
        return cls(**settings)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ fan-out

    def map(self, fn: Callable[[T], R], items: Iterable[T], *, concurrency: int = 8) -> list[R]:
        """``[fn(item) for item in items]``, at most ``concurrency`` at a time; results in order.

        Runs on a thread pool of its own, so it is safe from plain functions (pluggy hook
        implementations) and may be nested. The rate limiter paces the calls whatever the
        concurrency. The first exception is raised once running calls finish; calls not yet
        started are cancelled.
        """
        work = list(items)
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        if concurrency == 1 or len(work) <= 1:
            return [fn(item) for item in work]
        with ThreadPoolExecutor(
            max_workers=min(concurrency, len(work)), thread_name_prefix="promoter-talend"
        ) as pool:
            futures = [pool.submit(fn, item) for item in work]
            try:
                return [future.result() for future in futures]
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    # ------------------------------------------------------------------ life cycle

    def close(self) -> None:
        """Close the pooled connections."""
        self.transport.close()

    def __enter__(self) -> TalendClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"TalendClient({self.base_url!r}, auth={self.transport.auth!r})"


def _authenticator(
    token: str | None, client_id: str | None, client_secret: str | None
) -> Authenticator:
    if token:
        return AccessToken(token)
    if client_id and client_secret:
        return ClientCredentials(client_id, client_secret)
    if client_id or client_secret:
        raise ConfigurationError(
            "incomplete OAuth client credentials",
            hint="set both TALEND_CLIENT_ID and TALEND_CLIENT_SECRET (or use TALEND_ACCESS_TOKEN)",
        )
    raise ConfigurationError(
        "no Talend Cloud credentials given",
        hint="set TALEND_ACCESS_TOKEN to a personal access token, or TALEND_CLIENT_ID and "
        "TALEND_CLIENT_SECRET for a service account",
    )
