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

import math
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from promoter.errors import ConfigurationError
from promoter.talend.auth import AccessToken, Authenticator, ClientCredentials
from promoter.talend.errors import display_url
from promoter.talend.metrics import ClientMetrics
from promoter.talend.ratelimit import RateLimiter, RateLimits, SharedWindow
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

__all__ = [
    "DEFAULT_TIMEOUT",
    "REGIONS",
    "RETRY_TIME_ENV",
    "TIMEOUT_ENV",
    "TalendClient",
    "check_base_url",
    "region_url",
    "seconds_from_env",
]

T = TypeVar("T")
R = TypeVar("R")

#: Talend Cloud's regions and their API base URLs.
REGIONS: dict[str, str] = {
    region: f"https://api.{region}.cloud.talend.com" for region in ("eu", "us", "us-west", "ap", "au")
}


#: Seconds one request may take, from connecting to the last byte of the answer (the default).
DEFAULT_TIMEOUT = 30.0

#: The environment variable of each request's deadline in seconds (``timeout``).
TIMEOUT_ENV = "PROMOTER_TALEND_TIMEOUT"

#: The environment variable of how long one call retries failures that got no answer
#: (:attr:`RetryPolicy.no_answer_time`).
RETRY_TIME_ENV = "PROMOTER_TALEND_RETRY_TIME"


def region_url(region: str) -> str:
    """The API base URL of a Talend Cloud region (``eu``, ``us``, ``us-west``, ``ap``, ``au``)."""
    try:
        return REGIONS[region.strip().lower()]
    except KeyError:
        raise ConfigurationError(
            f"unknown Talend Cloud region {region!r}",
            hint=f"use one of {', '.join(REGIONS)}, or give the API URL itself (TALEND_API_URL)",
        ) from None


def check_base_url(url: str) -> str:
    """``url`` without a trailing slash, if it can be Talend Cloud's API: ``http(s)://host[:port]``.

    Anything else (``ftp://``, no host, a bad port) is a :class:`ConfigurationError` at once,
    rather than a connection error retried against an address that can never answer.
    """
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        host, _ = parts.hostname, parts.port  # .port raises on a port that is not one
    except ValueError:
        host, parts = None, None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not host:
        raise ConfigurationError(
            f"the Talend Cloud API URL {display_url(url)!r} is not an http:// or https:// URL "
            "with a host",
            hint="set TALEND_API_URL (or talend.url in the pipeline file) to the API's base URL, "
            "e.g. https://api.eu.cloud.talend.com, or set TALEND_REGION instead",
        )
    return url


def seconds_from_env(name: str, environ: Mapping[str, str] | None = None) -> float | None:
    """A positive number of seconds from the environment variable ``name``; None when unset."""
    env = os.environ if environ is None else environ
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise ConfigurationError(
            f"{name} must be a positive number of seconds, not {raw!r}",
            hint=f"set {name} to e.g. 30, or unset it for the default",
        )
    return value


class TalendClient:
    """A client of one Talend Cloud account, by base URL or region.

    Credentials: ``token`` (a personal or service-account access token), or ``client_id`` and
    ``client_secret`` (OAuth client credentials, refreshed before expiry), or any
    :class:`~promoter.talend.auth.Authenticator` as ``auth``.

    Resource groups: :attr:`environments`, :attr:`workspaces`, :attr:`artifacts`, :attr:`tasks`,
    :attr:`plans`, :attr:`schedules`, :attr:`connections`, :attr:`promotions`,
    :attr:`executions`, :attr:`logs`. Traffic counters: :attr:`metrics`.

    ``retry`` and ``rate_limits`` tune the retry policy and the client-side rate limiter
    (Talend's documented budgets by default); ``timeout`` is each request's deadline in seconds,
    from connecting to the last byte of the answer (a server that trickles its answer is cut off
    there); ``max_connections`` bounds the connection pool (keep it at least the fan-out's
    concurrency). The base URL must be ``http(s)://host``.
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
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limits: RateLimits | None = None,
        max_connections: int = 64,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        if base_url is None:
            if region is None:
                raise ConfigurationError(
                    "no Talend Cloud API to talk to",
                    hint="set TALEND_API_URL (or TALEND_REGION), or talend.url in the pipeline "
                    "file (TalendClient: pass base_url or region)",
                )
            base_url = region_url(region)
        base_url = check_base_url(base_url)
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ConfigurationError(
                f"the Talend Cloud request timeout must be a positive number of seconds, not {timeout!r}",
                hint=f"set {TIMEOUT_ENV} (or talend.timeout in the pipeline file) to e.g. 30",
            )
        if auth is None:
            auth = _authenticator(token, client_id, client_secret)
        self.base_url = base_url
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
        ``TALEND_CLIENT_ID`` + ``TALEND_CLIENT_SECRET`` (the access token wins when both are set);
        ``PROMOTER_TALEND_TIMEOUT`` (each request's deadline) and ``PROMOTER_TALEND_RETRY_TIME``
        (how long a call retries when it gets no answer), in seconds.
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
        timeout = seconds_from_env(TIMEOUT_ENV, env)
        if timeout is not None:
            settings["timeout"] = timeout
        retry_time = seconds_from_env(RETRY_TIME_ENV, env)
        if retry_time is not None:
            settings["retry"] = RetryPolicy(no_answer_time=retry_time)
        settings.update(options)
        return cls(**settings)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ budgets

    def share_budgets(
        self, shared: SharedWindow, *, key: str | None = None, slice: int = 1
    ) -> None:
        """Draw this client's request budgets from ``shared``, a window every client naming the
        same ``key`` (default: the API's base URL) draws from: runners behind one address, which
        Talend Cloud counts as one client. ``slice`` slots are taken per round trip to it."""
        limits = self.transport.limiter.limits
        self.transport.limiter = RateLimiter(
            limits, shared=shared, shared_key=key or self.base_url, shared_slice=slice
        )

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
