"""A client-side rate limiter: one sliding window per API family.

Talend Cloud counts requests per source IP and per minute, separately for orchestration,
processing and monitoring (1800, 1800 and 600). The client paces itself under those budgets
instead of bouncing off 429s.

A :class:`SlidingWindow` lets a request leave when fewer than ``budget`` requests left in the
last ``period`` seconds (plus a small margin for arrival jitter), so that in *any* window of
``period`` seconds at most ``budget`` requests leave — the limiter stays under the budget whatever
window the server counts in (fixed, sliding, or a bucket of its own) — while a promotion that
needs fewer requests than a minute's budget is not slowed at all. (A :class:`TokenBucket` gives
the same guarantee but spreads even a small job over the minute: it starts with a sixtieth of the
budget.) Callers reserve a slot and sleep outside the lock, so waiting threads are served in
order and the window is never over-drawn. A 429 with ``Retry-After`` pauses the whole family, so
that other threads stop too instead of each discovering the limit on its own.

Talend counts per source *address*: runners behind one NAT address share one budget. Such
runners draw their slots from a :class:`SharedWindow` instead (the same sliding window, kept
where they all see it — the team's PostgreSQL ledger implements it), through
:class:`SharedSlots`: one slot per request (the shared window), or ``slice`` slots at a time
(leased slices: fewer round trips to the shared store, but a slot not used in time is wasted).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "FAMILIES",
    "RateLimiter",
    "RateLimits",
    "SharedSlots",
    "SharedWindow",
    "SlidingWindow",
    "TokenBucket",
    "family_of",
]

#: The API families, by the first segment of the path.
FAMILIES = ("orchestration", "processing", "monitoring", "security")


def family_of(path: str) -> str:
    """The API family of a request path (``/processing/executions`` → ``processing``)."""
    head = path.lstrip("/").split("/", 1)[0]
    return head if head in FAMILIES else "other"


@dataclass(frozen=True)
class RateLimits:
    """Request budgets of each API family per ``period`` seconds; ``None`` means not limited.

    The defaults are Talend Cloud's documented per-minute budgets. ``/security`` (token requests)
    is not counted by Talend and is not limited. ``period`` exists so that tests can scale time
    down (a budget per second behaves as the same budget per minute, 60 times faster).
    """

    orchestration: float | None = 1800
    processing: float | None = 1800
    monitoring: float | None = 600
    security: float | None = None
    period: float = 60.0

    def for_family(self, family: str) -> float | None:
        """The budget of ``family`` per period (``None`` for unlimited or unknown families)."""
        value: float | None = getattr(self, family, None) if family in FAMILIES else None
        return value

    @classmethod
    def unlimited(cls) -> RateLimits:
        """No client-side limit at all."""
        return cls(orchestration=None, processing=None, monitoring=None, security=None)


class _Pacer:
    """What every limiter of this module shares: the clock, the lock, waiting for a reserved
    slot, and the pause a ``Retry-After`` imposes. Subclasses say when the next slot is
    (:meth:`reserve`, under ``_lock``, at least ``_paused_until``)."""

    def __init__(self, clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._paused_until = 0.0

    def reserve(self) -> float:
        """Take a slot and return how long the caller must wait before using it (seconds)."""
        raise NotImplementedError

    def acquire(self) -> float:
        """Wait until a request may leave; returns the seconds waited."""
        wait = self.reserve()
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (the server said ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


class TokenBucket(_Pacer):
    """A thread-safe token bucket admitting at most ``budget`` requests in any ``period`` seconds."""

    def __init__(
        self,
        budget: float,
        *,
        period: float = 60.0,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if budget <= 0 or period <= 0:
            raise ValueError(f"budget and period must be positive, not {budget} per {period}s")
        self.budget = float(budget)
        self.period = float(period)
        # A sixtieth of the budget by default (a second's worth per minute); at most half of it.
        default_burst = max(1.0, min(self.budget / 60.0, self.budget / 2.0))
        self.burst = float(burst) if burst is not None else default_burst
        if not 1 <= self.burst <= self.budget:
            raise ValueError(f"burst must be between 1 and the budget, not {self.burst}")
        self.rate = (self.budget - self.burst) / self.period or self.budget / self.period
        super().__init__(clock, sleep)
        self._tokens = self.burst
        self._updated = clock()

    def reserve(self) -> float:
        """Take a token and return how long the caller must wait before using it (seconds)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1.0
            wait = -self._tokens / self.rate if self._tokens < 0 else 0.0
            return max(wait, self._paused_until - now)

    def __repr__(self) -> str:
        return f"<TokenBucket {self.budget:g}/{self.period:g}s burst={self.burst:g}>"


class SlidingWindow(_Pacer):
    """A thread-safe limiter admitting at most ``budget`` requests in any ``period`` seconds.

    It remembers when the last ``budget`` requests leave (or will leave, for reserved slots): a
    new request leaves at once unless ``budget`` requests left within the last ``period`` seconds,
    in which case it waits until the oldest of them is ``period`` (plus ``margin``) old. The
    margin, a hundredth of the period by default, absorbs the jitter between when requests leave
    and when the server counts them.
    """

    def __init__(
        self,
        budget: float,
        *,
        period: float = 60.0,
        margin: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if budget < 1 or period <= 0:
            raise ValueError(f"budget must be at least 1 and period positive, not {budget} per {period}s")
        self.budget = float(budget)
        self.period = float(period)
        self.margin = self.period / 100 if margin is None else float(margin)
        self._capacity = int(budget)
        super().__init__(clock, sleep)
        self._slots: deque[float] = deque(maxlen=self._capacity)

    def reserve(self) -> float:
        """Take a slot and return how long the caller must wait before using it (seconds)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._paused_until)
            if len(self._slots) == self._capacity:
                slot = max(slot, self._slots[0] + self.period + self.margin)
            self._slots.append(slot)  # the deque drops the oldest
            return slot - now

    def __repr__(self) -> str:
        return f"<SlidingWindow {self.budget:g}/{self.period:g}s>"


class SharedWindow(Protocol):
    """A sliding window of request slots kept outside this process, shared by every client that
    names the same ``key`` (runners behind one address): in any ``period`` seconds at most
    ``budget`` slots of a ``family`` are handed out, whoever asks.

    Implemented by the team ledger (``promoter.ledger.postgres.budget``); the client knows only
    this protocol.
    """

    def reserve(
        self, key: str, family: str, *, budget: int, period: float, count: int = 1
    ) -> list[float]:
        """Take ``count`` slots of ``family``'s budget under ``key``; for each, in order, the
        seconds from now until a request may use it (0 when at once)."""
        ...


class SharedSlots(_Pacer):
    """One API family's budget drawn from a :class:`SharedWindow`: a limiter with
    :class:`SlidingWindow`'s interface whose slots every client of the ``key`` shares.

    ``slice`` is how many slots one round trip to the shared window takes: 1 (the default) is
    the shared window itself, more are *leased slices*. A leased slot is only good near its
    time: one that has been waiting longer than ``margin`` when a request could use it is
    dropped (a request that left later than its slot says would overdraw the window the server
    counts), and counted in :attr:`wasted`.
    """

    def __init__(
        self,
        shared: SharedWindow,
        key: str,
        family: str,
        budget: float,
        *,
        period: float = 60.0,
        margin: float | None = None,
        slice: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if budget < 1 or period <= 0 or slice < 1:
            raise ValueError(f"budget and slice must be at least 1, not {budget} and {slice}")
        self.shared = shared
        self.key = key
        self.family = family
        self.budget = float(budget)
        self.period = float(period)
        self.margin = self.period / 100 if margin is None else float(margin)
        self.slice = int(min(slice, budget))
        super().__init__(clock, sleep)
        self._slots: deque[float] = deque()
        self.round_trips = 0
        """Reservations sent to the shared window."""
        self.wasted = 0
        """Leased slots dropped because they were not used in time."""

    def reserve(self) -> float:
        """Take a slot and return how long the caller must wait before using it (seconds)."""
        with self._lock:
            now = self._clock()
            while self._slots and self._slots[0] < now - self.margin:
                self._slots.popleft()
                self.wasted += 1
            if not self._slots:
                waits = self.shared.reserve(
                    self.key,
                    self.family,
                    budget=int(self.budget),
                    period=self.period,
                    count=self.slice,
                )
                self.round_trips += 1
                now = self._clock()
                self._slots.extend(now + max(0.0, wait) for wait in waits)
            slot = self._slots.popleft()
            return max(0.0, slot - now, self._paused_until - now)

    def __repr__(self) -> str:
        return f"<SharedSlots {self.key} {self.family} {self.budget:g}/{self.period:g}s slice={self.slice}>"


class RateLimiter:
    """A limiter per API family, built from :class:`RateLimits`: a :class:`SlidingWindow` of
    this client's own, or — with ``shared`` — :class:`SharedSlots` of a window every client of
    ``shared_key`` draws from (``shared_slice`` slots per round trip)."""

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        shared: SharedWindow | None = None,
        shared_key: str = "",
        shared_slice: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits if limits is not None else RateLimits()
        self.shared_key = shared_key if shared is not None else None
        self._buckets: dict[str, SlidingWindow | SharedSlots] = {}
        for family in FAMILIES:
            budget = self.limits.for_family(family)
            if budget is None:
                continue
            if shared is not None:
                self._buckets[family] = SharedSlots(
                    shared,
                    shared_key,
                    family,
                    budget,
                    period=self.limits.period,
                    slice=shared_slice,
                    clock=clock,
                    sleep=sleep,
                )
            else:
                self._buckets[family] = SlidingWindow(
                    budget, period=self.limits.period, clock=clock, sleep=sleep
                )

    @property
    def shared(self) -> bool:
        """Whether the budgets are drawn from a shared window."""
        return self.shared_key is not None

    def shared_figures(self) -> dict[str, int]:
        """Round trips to the shared window and leased slots wasted, summed over families."""
        slots = [b for b in self._buckets.values() if isinstance(b, SharedSlots)]
        return {
            "round_trips": sum(b.round_trips for b in slots),
            "wasted_slots": sum(b.wasted for b in slots),
        }

    def acquire(self, family: str) -> float:
        """Wait until a request of ``family`` may leave; returns the seconds waited."""
        bucket = self._buckets.get(family)
        return bucket.acquire() if bucket is not None else 0.0

    def pause(self, family: str, seconds: float) -> None:
        """Hold back every request of ``family`` for ``seconds``."""
        bucket = self._buckets.get(family)
        if bucket is not None and seconds > 0:
            bucket.pause(seconds)

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={b.budget:g}/{b.period:g}s" for f, b in self._buckets.items())
        where = f" shared by {self.shared_key!r}" if self.shared_key is not None else ""
        return f"<RateLimiter {inner or 'unlimited'}{where}>"
