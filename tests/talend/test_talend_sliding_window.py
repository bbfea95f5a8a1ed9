"""The client's sliding-window limiter: never over the budget in any window, and no delay for a
job that fits in one window's budget (the reason it replaced the token bucket; see
docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from promoter.talend.ratelimit import RateLimiter, SlidingWindow


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_window_never_exceeds_the_budget_in_any_window() -> None:
    clock = FakeClock()
    window = SlidingWindow(120, period=60.0, margin=0.0, clock=clock, sleep=clock.sleep)
    sent = []
    for i in range(600):  # callers that never stop asking, with a little work between requests
        window.acquire()
        sent.append(clock.now)
        clock.now += 0.01 * (i % 3)
    j = 0
    for i, start in enumerate(sent):
        while j < len(sent) and sent[j] < start + 60.0:
            j += 1
        assert j - i <= 120
    # ...and not wasteful: 600 requests need four more windows after the first.
    assert sent[-1] == pytest.approx(4 * 60.0, abs=3.0)


def test_a_job_within_the_budget_is_not_delayed() -> None:
    clock = FakeClock()
    window = SlidingWindow(1800, clock=clock, sleep=clock.sleep)
    waits = [window.acquire() for _ in range(1800)]
    assert waits == [0.0] * 1800 and clock.now == 0.0
    # The next one waits for the first to leave the window (plus the margin).
    assert window.reserve() == pytest.approx(60.0 + 0.6)


def test_window_reservations_queue_threads_in_order_and_pause_holds_everyone_back() -> None:
    clock = FakeClock()
    window = SlidingWindow(2, period=10.0, margin=0.0, clock=clock)
    assert [window.reserve() for _ in range(5)] == [0.0, 0.0, 10.0, 10.0, 20.0]
    other = SlidingWindow(100, clock=clock)
    other.pause(2.5)
    assert other.reserve() == pytest.approx(2.5)
    clock.now = 3.0
    assert other.reserve() == 0.0
    with pytest.raises(ValueError):
        SlidingWindow(0)


def test_the_limiter_uses_sliding_windows_at_talends_budgets() -> None:
    limiter = RateLimiter()
    assert "orchestration=1800/60s" in repr(limiter) and "monitoring=600/60s" in repr(limiter)
    assert all(limiter.acquire("orchestration") == 0.0 for _ in range(100))
