"""What the client did, counted: requests, retries, 429s, time waited on the rate limiter.

One :class:`ClientMetrics` per client, updated from every thread of its fan-out, read by the
engine, the ledger and the benchmarks through :meth:`ClientMetrics.snapshot` (a plain,
JSON-ready dictionary).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from typing import Any

__all__ = ["ClientMetrics"]


class ClientMetrics:
    """Thread-safe counters of one client's traffic.

    Every HTTP attempt that leaves the client counts once in ``requests`` (by family), in
    ``endpoints`` (by ``"METHOD /path/{template}"``) and, when an answer came back, in
    ``statuses``; attempts that got no answer count in ``connection_errors``. ``retries`` counts
    attempts after a failed one, ``rate_limited`` the 429s received. ``limiter_wait_seconds`` sums
    the time requests waited before leaving: pacing under the budget, and the pause of a family
    after a 429 with ``Retry-After``. ``ambiguous_outcomes`` counts failures of non-idempotent
    calls that may have taken effect, ``reconciled`` those the look-up found had.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.endpoints: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.retries: Counter[str] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.connection_errors: Counter[str] = Counter()
        self.limiter_wait_seconds: defaultdict[str, float] = defaultdict(float)
        self.request_seconds: defaultdict[str, float] = defaultdict(float)
        self.token_refreshes = 0
        self.ambiguous_outcomes = 0
        self.reconciled = 0

    def record_request(
        self, family: str, endpoint: str, status: int | None, seconds: float
    ) -> None:
        """Count one attempt: its family, endpoint, status (``None``: no answer) and duration."""
        with self._lock:
            self.requests[family] += 1
            self.endpoints[endpoint] += 1
            self.request_seconds[family] += seconds
            if status is None:
                self.connection_errors[family] += 1
            else:
                self.statuses[status] += 1
                if status == 429:
                    self.rate_limited[family] += 1

    def record_retry(self, family: str) -> None:
        """Count one retry (an attempt after a failed one)."""
        with self._lock:
            self.retries[family] += 1

    def record_limiter_wait(self, family: str, seconds: float) -> None:
        """Add the time one request waited on the client's rate limiter."""
        if seconds <= 0:
            return
        with self._lock:
            self.limiter_wait_seconds[family] += seconds

    def record_token_refresh(self) -> None:
        """Count one OAuth token fetched."""
        with self._lock:
            self.token_refreshes += 1

    def record_ambiguous(self, *, took_effect: bool) -> None:
        """Count one ambiguous failure of a non-idempotent call, and whether the look-up found it."""
        with self._lock:
            self.ambiguous_outcomes += 1
            if took_effect:
                self.reconciled += 1

    def snapshot(self) -> dict[str, Any]:
        """Every counter, as a plain dictionary with totals (safe to serialise as JSON)."""
        with self._lock:
            return {
                "requests": dict(self.requests),
                "requests_total": sum(self.requests.values()),
                "endpoints": dict(self.endpoints),
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "retries": dict(self.retries),
                "retries_total": sum(self.retries.values()),
                "rate_limited": dict(self.rate_limited),
                "rate_limited_total": sum(self.rate_limited.values()),
                "connection_errors": dict(self.connection_errors),
                "limiter_wait_seconds": {k: round(v, 6) for k, v in self.limiter_wait_seconds.items()},
                "limiter_wait_seconds_total": round(sum(self.limiter_wait_seconds.values()), 6),
                "request_seconds": {k: round(v, 6) for k, v in self.request_seconds.items()},
                "token_refreshes": self.token_refreshes,
                "ambiguous_outcomes": self.ambiguous_outcomes,
                "reconciled": self.reconciled,
            }

    def reset(self) -> None:
        """Zero every counter."""
        with self._lock:
            self.requests.clear()
            self.endpoints.clear()
            self.statuses.clear()
            self.retries.clear()
            self.rate_limited.clear()
            self.connection_errors.clear()
            self.limiter_wait_seconds.clear()
            self.request_seconds.clear()
            self.token_refreshes = 0
            self.ambiguous_outcomes = 0
            self.reconciled = 0

    def __repr__(self) -> str:
        with self._lock:
            total = sum(self.requests.values())
            retries = sum(self.retries.values())
        return f"<ClientMetrics requests={total} retries={retries}>"
