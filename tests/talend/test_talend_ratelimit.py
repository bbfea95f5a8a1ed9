"""The client-side rate limiter against the sandbox's per-family budget.

Time is scaled down by 60 so that the test takes seconds: the sandbox counts its budget over a
sliding 1-second window instead of 60 seconds (its ``window``), and the client's budgets are per
1-second ``period`` — the same algorithms, a minute compressed into a second. What is measured:
the sandbox's own request log (every request it admitted or refused, with its arrival time).
"""

from __future__ import annotations

import bisect
import itertools
from collections import Counter

from talend_helpers import clear_settled, settled_requests

from promoter.sandbox import FaultConfig, Sandbox
from promoter.talend.client import TalendClient
from promoter.talend.errors import RateLimited
from promoter.talend.ratelimit import RateLimits
from promoter.talend.retries import RetryPolicy

SANDBOX_BUDGET = 150  # orchestration requests per (scaled) minute: per second here
CLIENT_BUDGET = 125  # the client paces itself under it


def _peak_per_window(times: list[float], window: float = 1.0) -> int:
    ordered = sorted(times)
    return max(bisect.bisect_left(ordered, t + window) - i for i, t in enumerate(ordered))


def _burst(client: TalendClient, count: int) -> int:
    """``count`` requests fanned out 16 at a time, not retried; how many were refused (429)."""

    def one(_: int) -> int:
        try:
            client.environments.get_by_name("dev")
        except RateLimited:
            return 1
        return 0

    return sum(client.map(one, range(count), concurrency=16))


def test_a_burst_of_1000_requests_under_the_limiter_gets_no_429(talend_sandbox: Sandbox) -> None:
    talend_sandbox.set_rate_limits(orchestration=SANDBOX_BUDGET)
    talend_sandbox.state.limiter.window = 1.0
    no_retries = RetryPolicy(max_attempts=1)

    # Control: without the client's limiter, the same kind of burst bounces off the budget
    # (whenever this machine can offer more than the budget per second, which it normally can).
    with TalendClient(
        talend_sandbox.base_url, token=talend_sandbox.token, rate_limits=RateLimits.unlimited(), retry=no_retries
    ) as unpaced:
        refused = _burst(unpaced, 500)
    offered = _peak_per_window([e["time"] for e in settled_requests(talend_sandbox)])
    assert refused > 0 or offered <= SANDBOX_BUDGET

    talend_sandbox.set_rate_limits(orchestration=SANDBOX_BUDGET)  # forget the control's requests
    talend_sandbox.state.limiter.window = 1.0
    clear_settled(talend_sandbox)
    limits = RateLimits(orchestration=CLIENT_BUDGET, period=1.0)
    with TalendClient(talend_sandbox.base_url, token=talend_sandbox.token, rate_limits=limits, retry=no_retries) as paced:
        assert _burst(paced, 1000) == 0
        metrics = paced.metrics.snapshot()
    log = settled_requests(talend_sandbox)
    assert len(log) == 1000 and Counter(e["status"] for e in log) == {200: 1000}
    assert metrics["rate_limited_total"] == 0 and metrics["requests"] == {"orchestration": 1000}
    # The sandbox saw at most its budget in any 1-second window (the client sends at most its own
    # budget per window; arrivals at the server are a little bunched by scheduling).
    assert _peak_per_window([e["time"] for e in log]) <= SANDBOX_BUDGET
    # Pacing is what made the burst take time, and the limiter reports it.
    arrival = sorted(e["time"] for e in log)
    assert arrival[-1] - arrival[0] >= (1000 - 2 * CLIENT_BUDGET) / CLIENT_BUDGET
    assert metrics["limiter_wait_seconds"]["orchestration"] > 0


def test_429_bursts_with_and_without_retry_after(talend_sandbox: Sandbox, fast_retries: RetryPolicy) -> None:
    with TalendClient(talend_sandbox.base_url, token=talend_sandbox.token, retry=fast_retries) as client:
        for retry_after in (0.3, None):
            talend_sandbox.set_faults(
                FaultConfig(burst_429_every=10, burst_429_length=3, retry_after=retry_after, families=["orchestration"])
            )
            clear_settled(talend_sandbox)
            names = [client.environments.list()[0].name for _ in range(20)]
            assert names == ["dev"] * 20
            log = settled_requests(talend_sandbox)
            assert [e["status"] for e in log].count(429) >= 6
            assert [e["status"] for e in log].count(200) == 20
            gaps = [after["time"] - before["time"] for before, after in itertools.pairwise(log) if before["status"] == 429]
            if retry_after:
                assert min(gaps) >= retry_after * 0.9  # Retry-After honoured
            else:
                assert max(gaps) < retry_after_free_ceiling(fast_retries)  # backoff, short here
        snapshot = client.metrics.snapshot()
    assert snapshot["rate_limited_total"] == snapshot["statuses"]["429"] >= 12
    assert snapshot["retries_total"] == snapshot["rate_limited_total"]


def retry_after_free_ceiling(policy: RetryPolicy) -> float:
    """The longest wait before a retry of a 429 without Retry-After: backoff, plus slack."""
    return policy.max_backoff + 0.25
