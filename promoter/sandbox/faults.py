"""Fault injection, per-minute budgets and the request log of the sandbox.

What the real service does to clients on a bad day, on demand and reproducibly (seeded):
latency and jitter, 5xx answers, bursts of 429 with or without ``Retry-After``, rate limits per
API family like the real budgets, connections dropped before the request is processed or
— the ambiguous case — after it took effect but before the answer was sent, and an outage of
writes after a given number of them (to stop a promotion part-way, deterministically).
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Family = Literal["orchestration", "processing", "monitoring", "security"]

#: Methods that ``fail_writes_after`` counts and refuses.
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

#: The real service's budgets: requests per minute per source IP and API family.
REAL_BUDGETS: dict[str, int] = {"orchestration": 1800, "processing": 1800, "monitoring": 600}


def family_of(path: str) -> str | None:
    """The API family of a path (``/orchestration/...`` → ``orchestration``), None for others."""
    head = path.lstrip("/").split("/", 1)[0]
    return head if head in ("orchestration", "processing", "monitoring", "security") else None


class FaultConfig(BaseModel):
    """What goes wrong, and how often. Every rate is a probability per request, in [0, 1]."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=0.0, ge=0, description="Fixed delay added to every request.")
    jitter_ms: float = Field(default=0.0, ge=0, description="Extra random delay, uniform in [0, jitter].")
    error_rate: float = Field(default=0.0, ge=0, le=1, description="Answer 500/502/503 before the request takes effect.")
    drop_before_rate: float = Field(default=0.0, ge=0, le=1, description="Close the connection before processing.")
    drop_after_rate: float = Field(default=0.0, ge=0, le=1, description="Process the request, then close the connection without answering.")
    burst_429_every: int = Field(default=0, ge=0, description="Start a burst of 429s every N requests (0: never).")
    burst_429_length: int = Field(default=0, ge=0, description="How many requests a 429 burst refuses.")
    retry_after: float | None = Field(default=None, ge=0, description="Retry-After seconds on injected 429s (and write-limit 503s); None: no header.")
    retry_after_share: float = Field(default=1.0, ge=0, le=1, description="Share of 429 bursts that carry the Retry-After header (drawn per burst); the rest carry none.")
    families: list[str] | None = Field(default=None, description="Limit faults to these API families (None: all).")
    methods: list[str] | None = Field(default=None, description="Limit faults to these HTTP methods (None: all).")
    seed: int | None = Field(default=None, description="Seed of the random draws, for reproducible runs.")
    fail_writes_after: int | None = Field(
        default=None,
        ge=0,
        description=(
            "Let this many writes (POST, PUT, DELETE) through, then answer 503 to every write "
            "until the faults are replaced (None: never). Injected 503s carry `retry_after`."
        ),
    )


@dataclass(frozen=True)
class FaultDecision:
    """What the sandbox does to one request."""

    delay: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    drop_before: bool = False
    drop_after: bool = False
    write_limit: bool = False

    @property
    def label(self) -> str | None:
        """A short name of the fault, for the request log."""
        if self.write_limit:
            return "write-limit"
        if self.drop_before:
            return "drop-before"
        if self.drop_after:
            return "drop-after"
        if self.status == 429:
            return "429-burst" if self.retry_after is None else "429-burst-retry-after"
        if self.status:
            return f"{self.status}"
        return None


class FaultInjector:
    """Draws a :class:`FaultDecision` per request from the current :class:`FaultConfig`."""

    def __init__(self, config: FaultConfig | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    @property
    def config(self) -> FaultConfig:
        """The faults in force."""
        return self._config

    def configure(self, config: FaultConfig) -> None:
        """Replace the faults in force (and restart the random sequence)."""
        with self._lock:
            self._config = config
            self._random = random.Random(config.seed)
            self._count = 0
            self._burst_left = 0
            self._burst_header = True
            self._writes = 0

    def decide(self, family: str, method: str) -> FaultDecision:
        """The fault (possibly none) for the next request of ``family``."""
        config = self._config
        if config.families is not None and family not in config.families:
            return FaultDecision()
        if config.methods is not None and method.upper() not in config.methods:
            return FaultDecision()
        with self._lock:
            rnd = self._random
            self._count += 1
            delay = (config.latency_ms + rnd.uniform(0, config.jitter_ms)) / 1000.0
            # Writes to the estate: fetching a token (security) changes nothing there.
            counted = (
                config.fail_writes_after is not None
                and method.upper() in WRITE_METHODS
                and family != "security"
            )
            if counted and self._writes >= (config.fail_writes_after or 0):
                return FaultDecision(
                    delay=delay, status=503, retry_after=config.retry_after, write_limit=True
                )
            decision = self._draw(config, rnd, delay)
            if counted and decision.status is None and not decision.drop_before:
                self._writes += 1  # let through: it takes effect (drop_after included)
            return decision

    def _draw(self, config: FaultConfig, rnd: random.Random, delay: float) -> FaultDecision:
        """The random faults (called with the lock held)."""
        if config.burst_429_every and self._count % config.burst_429_every == 0:
            self._burst_left = config.burst_429_length
            # Drawn only when some bursts go without the header, so older seeds replay as before.
            self._burst_header = (
                config.retry_after_share >= 1 or rnd.random() < config.retry_after_share
            )
        if self._burst_left > 0:
            self._burst_left -= 1
            retry_after = config.retry_after if self._burst_header else None
            return FaultDecision(delay=delay, status=429, retry_after=retry_after)
        draw = rnd.random()
        if draw < config.error_rate:
            return FaultDecision(delay=delay, status=rnd.choice((500, 502, 503)))
        draw -= config.error_rate
        if draw < config.drop_before_rate:
            return FaultDecision(delay=delay, drop_before=True)
        draw -= config.drop_before_rate
        if draw < config.drop_after_rate:
            return FaultDecision(delay=delay, drop_after=True)
        return FaultDecision(delay=delay)


class RateLimiter:
    """Per-minute budgets per (client, family), over a sliding 60-second window, like the real
    service's limits per source IP."""

    def __init__(self, budgets: dict[str, int] | None = None, window: float = 60.0) -> None:
        self._lock = threading.Lock()
        self.budgets: dict[str, int] = dict(budgets) if budgets else {}
        self.window = window
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def set_budgets(self, budgets: dict[str, int] | None) -> None:
        """Replace the budgets (None or empty: no limit) and forget past requests."""
        with self._lock:
            self.budgets = dict(budgets) if budgets else {}
            self._hits.clear()

    def admit(self, client: str, family: str) -> float | None:
        """None if the request is within budget (and count it), else seconds until it would be."""
        budget = self.budgets.get(family)
        if not budget:
            return None
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault((client, family), deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= budget:
                return max(0.0, hits[0] + self.window - now)
            hits.append(now)
        return None


class RequestLog:
    """Every request the sandbox answered (or dropped), in order, for tests and benchmarks."""

    def __init__(self, capacity: int = 200_000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._seq = 0

    def record(self, entry: dict[str, Any]) -> None:
        """Append an entry (a sequence number is added)."""
        with self._lock:
            self._seq += 1
            self._entries.append({"seq": self._seq, **entry})

    def entries(self, since: int = 0) -> list[dict[str, Any]]:
        """Entries with a sequence number above ``since``."""
        with self._lock:
            return [e for e in self._entries if e["seq"] > since]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
