"""Fixtures of the Talend client's tests: a client on the running sandbox (``talend_sandbox``,
from :mod:`promoter.testing`), with retries quick enough for tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from promoter.sandbox import Sandbox
from promoter.talend.client import TalendClient
from promoter.talend.retries import RetryPolicy

#: Retries as in production, with waits scaled down (the sandbox's faults are immediate).
FAST_RETRIES = RetryPolicy(
    max_attempts=12, initial_backoff=0.02, max_backoff=0.5, max_retry_after=2.0, max_total_wait=30.0
)


@pytest.fixture
def client(talend_sandbox: Sandbox) -> Iterator[TalendClient]:
    """A client of the test's sandbox, with a personal access token."""
    with TalendClient(talend_sandbox.base_url, token=talend_sandbox.token, retry=FAST_RETRIES) as talend:
        yield talend


@pytest.fixture
def fast_retries() -> RetryPolicy:
    """The retry policy of :func:`client`, for tests that build their own client."""
    return FAST_RETRIES
