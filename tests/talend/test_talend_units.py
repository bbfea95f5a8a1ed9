"""Pure logic of the Talend client: Retry-After, backoff, the limiter's arithmetic, masking, paging,
errors. No server needed (everything a server can produce is tested against the sandbox)."""

from __future__ import annotations

import email.utils
import logging
import threading
import time

import pytest

from promoter.errors import ConfigurationError, PromoterError
from promoter.talend.auth import AccessToken, ClientCredentials
from promoter.talend.client import TalendClient, region_url
from promoter.talend.errors import (
    BadRequest,
    Conflict,
    NotFound,
    NotImplementedByServer,
    RateLimited,
    ServerError,
    TalendAPIError,
    TalendConnectionError,
    TalendTimeoutError,
    Unauthorized,
    error_for_status,
)
from promoter.talend.masking import (
    MASK,
    SecretRegistry,
    is_secret_parameter,
    mask,
    mask_headers,
    register_secret,
)
from promoter.talend.metrics import ClientMetrics
from promoter.talend.models import Page, TokenResponse
from promoter.talend.paging import Paginator, iter_pages
from promoter.talend.ratelimit import RateLimiter, RateLimits, TokenBucket, family_of
from promoter.talend.retries import RetryPolicy, is_ambiguous, is_retryable, parse_retry_after

# ---------------------------------------------------------------------- Retry-After, backoff


def test_retry_after_seconds() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-4") == 0.0


def test_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    header = email.utils.formatdate(now + 7, usegmt=True)
    assert parse_retry_after(header, now=now) == pytest.approx(7.0)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "Mon, 99 Foo 2020"])
def test_retry_after_unreadable(value: str | None) -> None:
    assert parse_retry_after(value) is None


def test_backoff_is_exponential_with_jitter_and_capped() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=8.0)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        waits = [policy.backoff(retry) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert len(set(waits)) > 1  # jittered


def test_retry_after_wins_over_backoff_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff=10.0, max_retry_after=5.0)
    limited = RateLimited(status=429, method="GET", path="/x", retry_after=2.0)
    assert policy.wait_for(limited, 1) == 2.0
    slow = RateLimited(status=429, method="GET", path="/x", retry_after=500.0)
    assert policy.wait_for(slow, 1) == 5.0
    no_header = RateLimited(status=429, method="GET", path="/x")
    assert 5.0 <= policy.wait_for(no_header, 1) <= 10.0


def test_a_sent_request_that_timed_out_is_given_time_to_settle() -> None:
    policy = RetryPolicy(initial_backoff=0.01, timeout_settle=2.0)
    assert policy.wait_for(TalendTimeoutError("POST", "/p", "ReadTimeout", sent=True), 1) == 2.0
    assert policy.wait_for(TalendTimeoutError("POST", "/p", "ConnectTimeout", sent=False), 1) <= 0.01


def test_what_is_retried_and_what_is_ambiguous() -> None:
    def api(status: int) -> TalendAPIError:
        return error_for_status(status)(status=status, method="POST", path="/p")

    refused = TalendConnectionError("POST", "/p", "ConnectError", sent=False)
    dropped = TalendConnectionError("POST", "/p", "RemoteProtocolError", sent=True)
    assert [is_retryable(api(s)) for s in (400, 401, 404, 409, 501)] == [False] * 5
    assert [is_retryable(api(s)) for s in (408, 429, 500, 502, 503, 504)] == [True] * 6
    assert is_retryable(refused) and is_retryable(dropped)
    # A 429 is a refusal and a connection never opened sent nothing: safe to send again.
    assert not is_ambiguous(api(429)) and not is_ambiguous(refused)
    assert is_ambiguous(api(500)) and is_ambiguous(api(503)) and is_ambiguous(dropped)
    assert not is_ambiguous(api(409))


# ---------------------------------------------------------------------- the limiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_bucket_never_exceeds_the_budget_in_any_window() -> None:
    clock = FakeClock()
    bucket = TokenBucket(120, period=60.0, clock=clock, sleep=clock.sleep)
    sent = []
    for _ in range(600):  # callers that never stop asking
        bucket.acquire()
        sent.append(clock.now)
    # In any 60-second window, at most 120 requests left.
    j = 0
    for i, start in enumerate(sent):
        while j < len(sent) and sent[j] < start + 60.0:
            j += 1
        assert j - i <= 120
    # ...and the limiter is not wasteful: 600 requests take about 600/120 minutes.
    assert sent[-1] == pytest.approx((600 - bucket.burst) / bucket.rate, rel=1e-6)


def test_bucket_reservations_queue_threads_in_order() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60, period=60.0, burst=1, clock=clock)
    waits = [bucket.reserve() for _ in range(4)]
    # One token at once, then one every 60/59 seconds, each caller after the previous one.
    assert waits[0] == 0.0
    assert waits[1:] == pytest.approx([60 / 59, 2 * 60 / 59, 3 * 60 / 59])


def test_bucket_pause_holds_everyone_back() -> None:
    clock = FakeClock()
    bucket = TokenBucket(6000, clock=clock)
    bucket.pause(2.5)
    assert bucket.reserve() == pytest.approx(2.5)
    clock.now = 3.0
    assert bucket.reserve() == 0.0


def test_bucket_is_thread_safe() -> None:
    bucket = TokenBucket(600, period=1.0)  # 600 per second, burst 10
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    # 400 tokens at 590/s after a burst of 10: at least ~0.66s, whatever the thread interleaving.
    assert len(stamps) == 400
    assert elapsed >= (400 - bucket.burst) / bucket.rate * 0.95


def test_limiter_families_and_defaults() -> None:
    limiter = RateLimiter()
    assert "orchestration=1800/60s" in repr(limiter) and "monitoring=600/60s" in repr(limiter)
    assert limiter.acquire("security") == 0.0  # /security is not limited
    assert limiter.acquire("other") == 0.0
    assert family_of("/processing/executions/x") == "processing"
    assert family_of("/orchestration/workspaces") == "orchestration"
    assert family_of("/_sandbox/faults") == "other"
    assert RateLimits.unlimited().for_family("orchestration") is None
    with pytest.raises(ValueError):
        TokenBucket(0)


# ---------------------------------------------------------------------- masking


def test_secret_parameter_names() -> None:
    for name in ("password", "db_password", "clientSecret", "apiKey", "access_token", "passphrase", "PRIVATE_KEY"):
        assert is_secret_parameter(name), name
    for name in ("host", "port", "database", "username"):
        assert not is_secret_parameter(name), name
    assert is_secret_parameter("host", encrypted=True)


def test_registry_masks_every_occurrence_longest_first() -> None:
    registry = SecretRegistry()
    registry.add("abc")  # too short to be worth masking
    registry.add("s3cr3t")
    registry.add("s3cr3t-and-more")
    assert registry.mask("x s3cr3t-and-more y s3cr3t z abc") == f"x {MASK} y {MASK} z abc"
    assert "s3cr3t" in registry and len(registry) == 2
    assert "s3cr3t" not in repr(registry)


def test_headers_and_logs_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("canary-unit-7f3a")
    assert mask_headers({"Authorization": "Bearer anything", "X-Trace": "canary-unit-7f3a"}) == {
        "Authorization": MASK,
        "X-Trace": MASK,
    }
    import promoter.talend.transport  # noqa: F401  (installs the masking filter)

    with caplog.at_level(logging.DEBUG, logger="promoter.talend"):
        logging.getLogger("promoter.talend").info("token is %s", "canary-unit-7f3a")
    assert "canary-unit-7f3a" not in caplog.text
    assert MASK in caplog.text
    assert mask("canary-unit-7f3a!") == MASK + "!"


def test_credentials_never_in_reprs() -> None:
    token = AccessToken("canary-pat-0001")
    oauth = ClientCredentials("client-x", "canary-secret-0002")
    client = TalendClient("http://127.0.0.1:9", auth=oauth)
    try:
        for text in (repr(token), repr(oauth), repr(client), repr(client.transport)):
            assert "canary-pat-0001" not in text and "canary-secret-0002" not in text
    finally:
        client.close()


def test_token_expiry_and_invalidation() -> None:
    clock = FakeClock()
    oauth = ClientCredentials("id", "secret-value", clock=clock)
    answers = iter(["tok-one-1111", "tok-two-2222", "tok-three-3333"])

    def fetch(client_id: str, secret: str) -> TokenResponse:
        assert (client_id, secret) == ("id", "secret-value")
        return TokenResponse(access_token=next(answers), token_type="Bearer", expires_in="100")

    assert oauth.token(fetch) == "tok-one-1111"
    clock.now = 79.0  # margin is min(60, 100/5) = 20s: still valid
    assert oauth.token(fetch) == "tok-one-1111"
    clock.now = 80.5
    assert oauth.token(fetch) == "tok-two-2222"
    assert oauth.invalidate("tok-one-1111")  # stale: another thread already renewed it
    assert oauth.token(fetch) == "tok-two-2222"
    assert oauth.invalidate("tok-two-2222")
    assert oauth.token(fetch) == "tok-three-3333"
    assert not AccessToken("static-token").invalidate("static-token")


# ---------------------------------------------------------------------- paging


def test_iter_pages_walks_to_total_and_stops_on_short_server() -> None:
    data = list(range(257))
    calls: list[tuple[int, int]] = []

    def fetch(offset: int, limit: int) -> Page[int]:
        calls.append((offset, limit))
        return Page[int](items=data[offset : offset + limit], limit=limit, offset=offset, total=len(data))

    assert Paginator(fetch).all() == data
    assert calls == [(0, 100), (100, 100), (200, 100)]
    calls.clear()
    assert [len(p.items) for p in iter_pages(fetch, limit=50, offset=200)] == [50, 7]
    calls.clear()
    assert Paginator(fetch).first() == 0 and calls == [(0, 100)]

    def liar(offset: int, limit: int) -> Page[int]:  # claims more than it has
        return Page[int](items=data[offset : offset + limit], limit=limit, offset=offset, total=10_000)

    assert len(Paginator(liar).all()) == 257
    with pytest.raises(ValueError):
        Paginator(fetch, limit=101).all()


# ---------------------------------------------------------------------- errors, configuration


def test_errors_say_what_to_do_next() -> None:
    assert error_for_status(400) is BadRequest
    assert error_for_status(409) is Conflict
    assert error_for_status(501) is NotImplementedByServer
    assert error_for_status(503) is ServerError
    assert issubclass(NotImplementedByServer, ServerError)
    assert error_for_status(418) is TalendAPIError
    error = Unauthorized(status=401, method="GET", path="/orchestration/workspaces", message="bad", request_id="r-1")
    assert isinstance(error, PromoterError)
    text = str(error)
    assert "GET /orchestration/workspaces" in text and "401" in text and "r-1" in text
    assert "TALEND_ACCESS_TOKEN" in text
    missing = NotFound(status=404, method="GET", path="/x", message="Task not found")
    assert missing.status == 404 and missing.method == "GET" and missing.path == "/x"


def test_regions_and_from_env() -> None:
    assert region_url("eu") == "https://api.eu.cloud.talend.com"
    assert region_url("US-West") == "https://api.us-west.cloud.talend.com"
    with pytest.raises(ConfigurationError, match="region"):
        region_url("mars")
    with TalendClient.from_env({"TALEND_REGION": "ap", "TALEND_ACCESS_TOKEN": "pat-value"}) as client:
        assert client.base_url == "https://api.ap.cloud.talend.com"
        assert isinstance(client.transport.auth, AccessToken)
    env = {"TALEND_API_URL": "http://127.0.0.1:9/", "TALEND_CLIENT_ID": "i", "TALEND_CLIENT_SECRET": "s-value"}
    with TalendClient.from_env(env) as client:
        assert client.base_url == "http://127.0.0.1:9"
        assert isinstance(client.transport.auth, ClientCredentials)
    with pytest.raises(ConfigurationError, match="credentials"):
        TalendClient.from_env({"TALEND_REGION": "eu"})
    with pytest.raises(ConfigurationError, match="TALEND_CLIENT_SECRET"):
        TalendClient.from_env({"TALEND_REGION": "eu", "TALEND_CLIENT_ID": "only-id"})
    with pytest.raises(ConfigurationError, match="TALEND_API_URL"):
        TalendClient.from_env({"TALEND_ACCESS_TOKEN": "x-value"})


def test_map_keeps_order_bounds_concurrency_and_raises_first_error() -> None:
    with TalendClient("http://127.0.0.1:9", token="pat-value") as client:
        running = 0
        peak = 0
        lock = threading.Lock()

        def work(n: int) -> int:
            nonlocal running, peak
            with lock:
                running += 1
                peak = max(peak, running)
            time.sleep(0.01)
            with lock:
                running -= 1
            return n * n

        assert client.map(work, range(40), concurrency=5) == [n * n for n in range(40)]
        assert 1 < peak <= 5

        def fail_on_three(n: int) -> int:
            if n == 3:
                raise ValueError("three")
            return n

        with pytest.raises(ValueError, match="three"):
            client.map(fail_on_three, range(10), concurrency=4)
        assert client.map(work, [], concurrency=4) == []


def test_metrics_snapshot_is_plain() -> None:
    metrics = ClientMetrics()
    metrics.record_request("orchestration", "GET /orchestration/workspaces", 200, 0.01)
    metrics.record_request("orchestration", "GET /orchestration/workspaces", 429, 0.01)
    metrics.record_request("processing", "POST /processing/executions", None, 0.02)
    metrics.record_retry("orchestration")
    metrics.record_limiter_wait("monitoring", 0.25)
    snap = metrics.snapshot()
    assert snap["requests"] == {"orchestration": 2, "processing": 1}
    assert snap["requests_total"] == 3
    assert snap["rate_limited_total"] == 1 and snap["retries_total"] == 1
    assert snap["connection_errors"] == {"processing": 1}
    assert snap["limiter_wait_seconds"] == {"monitoring": 0.25}
    assert snap["endpoints"]["GET /orchestration/workspaces"] == 2
    import json

    json.dumps(snap)
    metrics.reset()
    assert metrics.snapshot()["requests_total"] == 0
