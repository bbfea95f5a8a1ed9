"""When and how long to retry a failed call: the client's one tenacity policy.

Retried: connection errors, timeouts, 408, 429 and 5xx (except 501, which is deterministic).
The wait is the server's ``Retry-After`` when it sent one (seconds or an HTTP date), otherwise
exponential backoff with jitter; retries stop after ``max_attempts`` or when the total time spent
waiting would exceed ``max_total_wait``.

Failures that got *no answer* — a connection that could not be opened, or no complete answer
within the request's deadline — cost time, not just a refusal: they are retried only while the
time since the call's first such attempt began, plus the wait before the next, stays within
``no_answer_time``. An unreachable API thus fails in seconds, and an unresponsive one after one
request's timeout (at most ``no_answer_time`` + the timeout per call), instead of ``max_attempts``
times the timeout.

Whether a failure is *ambiguous* — the call may have taken effect — decides what may be retried
for non-idempotent calls (creates, execution starts, promotion runs): a 429 or a connection that
could not be opened is a refusal, anything else after the request left (5xx, 408, a dropped
connection, a read timeout) is ambiguous.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from datetime import UTC

import tenacity

from promoter.talend.errors import TalendAPIError, TalendConnectionError, TalendTimeoutError

__all__ = ["RetryPolicy", "is_ambiguous", "is_retryable", "is_unanswered", "parse_retry_after"]

_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How the client retries.

    ``max_attempts`` counts the first try; ``initial_backoff`` doubles at each retry up to
    ``max_backoff`` (with jitter: a random wait between half and all of it); a ``Retry-After``
    longer than ``max_retry_after`` is cut to it; ``max_total_wait`` caps the seconds spent waiting
    between attempts of one call. After a timeout of a request that was sent, the wait is at least
    ``timeout_settle``: the server may still be working on it, and the look-up that decides
    whether a create or start may be sent again must come after it has finished.
    ``no_answer_time`` bounds the retries of failures that got no answer (:func:`is_unanswered`),
    counted from the start of the call's first such attempt (``PROMOTER_TALEND_RETRY_TIME``).
    """

    max_attempts: int = 8
    initial_backoff: float = 0.5
    max_backoff: float = 30.0
    max_retry_after: float = 60.0
    max_total_wait: float = 120.0
    timeout_settle: float = 5.0
    no_answer_time: float = 5.0

    def backoff(self, retry_number: int, rng: random.Random | None = None) -> float:
        """The jittered exponential backoff before retry number ``retry_number`` (1-based)."""
        ceiling = min(self.max_backoff, self.initial_backoff * 2 ** max(0, retry_number - 1))
        uniform = (rng or random).uniform
        return uniform(ceiling / 2, ceiling)

    def wait_for(self, exc: BaseException | None, retry_number: int) -> float:
        """Seconds to wait before retry number ``retry_number`` after ``exc``."""
        if isinstance(exc, TalendAPIError) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), self.max_retry_after)
        if isinstance(exc, TalendTimeoutError) and exc.sent:
            return max(self.backoff(retry_number), self.timeout_settle)
        return self.backoff(retry_number)

    # ------------------------------------------------------------------ tenacity adapters

    def tenacity_wait(self, retry_state: tenacity.RetryCallState) -> float:
        """A tenacity ``wait`` callable implementing :meth:`wait_for`."""
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        return self.wait_for(exc, retry_state.attempt_number)

    def tenacity_stop(self, retry_state: tenacity.RetryCallState) -> bool:
        """A tenacity ``stop`` callable: attempts exhausted or the waiting budget spent."""
        if retry_state.attempt_number >= self.max_attempts:
            return True
        return retry_state.idle_for + retry_state.upcoming_sleep > self.max_total_wait

    def out_of_time(self, unanswered_for: float, upcoming_sleep: float) -> bool:
        """Whether a call whose attempts have gone unanswered for ``unanswered_for`` seconds (since
        the first such attempt began) stops rather than wait ``upcoming_sleep`` and try again."""
        return unanswered_for + upcoming_sleep > self.no_answer_time


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.

    Returns ``None`` when the header is absent or unreadable; never a negative number.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is unreadable
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else time.time()
    return max(when.timestamp() - current, 0.0)


def is_retryable(exc: BaseException) -> bool:
    """Whether a failed attempt is worth retrying (ignoring idempotency)."""
    if isinstance(exc, TalendAPIError):
        return exc.status in _RETRYABLE_STATUSES
    return isinstance(exc, TalendConnectionError)


def is_unanswered(exc: BaseException) -> bool:
    """Whether a failed attempt got no answer and took time to fail: the connection could not be
    opened (refused, unreachable, DNS, connect timeout), or the answer did not come in time.

    A connection dropped after the request was sent fails at once; it is retried like an error
    status, by the attempt count.
    """
    if isinstance(exc, TalendTimeoutError):
        return True
    return isinstance(exc, TalendConnectionError) and not exc.sent


def is_ambiguous(exc: BaseException) -> bool:
    """Whether a failed attempt may have taken effect on the server.

    A 429 is a refusal, and a connection that could not be opened sent nothing: neither is
    ambiguous. A 5xx, a 408, a dropped connection or a read timeout after the request was sent is.
    """
    if isinstance(exc, TalendAPIError):
        return exc.status != 429 and exc.status in _RETRYABLE_STATUSES
    if isinstance(exc, TalendConnectionError):
        return exc.sent
    return False
