"""The HTTP layer under :class:`~promoter.talend.client.TalendClient`: one call, done safely.

:meth:`Transport.call` sends one API call over a pooled, keep-alive ``httpx.Client`` and takes care
of everything around it:

- the ``talend-version`` header and the bearer token (fetched, refreshed, and renewed once on a
  401 with client credentials);
- the client-side rate limiter of the call's API family (:mod:`promoter.talend.ratelimit`);
- a wall-clock deadline of ``timeout`` seconds per request — connecting, sending, the headers and
  the body together (:mod:`promoter.talend.deadline`), so a server that trickles its answer cannot
  hold a request past it;
- retries with the one policy of :mod:`promoter.talend.retries`, each logged at INFO as
  ``retrying n/N METHOD URL in Xs after REASON``; failures that got no answer (the API
  unreachable, or silent past the deadline) are retried for ``retry.no_answer_time`` seconds only;
- non-idempotent calls: a failure that may have taken effect is never retried blindly; the call's
  ``reconcile`` look-up runs first, and only if it finds nothing is the call sent again (without a
  look-up the error is an :class:`~promoter.talend.errors.AmbiguousOutcomeError`);
- metrics (:mod:`promoter.talend.metrics`) and a DEBUG log line per attempt with method, path,
  status, duration and attempt number — never a header or a body, and masked all the same.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import pydantic
import tenacity

from promoter.__about__ import __version__
from promoter.talend.auth import Authenticator
from promoter.talend.deadline import DeadlineClient, request_deadline
from promoter.talend.errors import (
    AmbiguousOutcomeError,
    TalendAPIError,
    TalendConnectionError,
    TalendError,
    TalendTimeoutError,
    display_url,
    error_for_status,
)
from promoter.talend.masking import MaskingFilter, mask
from promoter.talend.metrics import ClientMetrics
from promoter.talend.models import TALEND_VERSION, TokenRequest, TokenResponse
from promoter.talend.ratelimit import RateLimiter, RateLimits, family_of
from promoter.talend.retries import (
    RetryPolicy,
    is_ambiguous,
    is_retryable,
    is_unanswered,
    parse_retry_after,
)
from promoter.talend.urls import RequestURLs

__all__ = ["Transport", "logger", "validated"]

R = TypeVar("R")
M = TypeVar("M", bound=pydantic.BaseModel)

#: The client's logger: one line per request at DEBUG, one per retry at INFO.
logger = logging.getLogger("promoter.talend")

# httpx logs every URL at INFO and httpcore traces at DEBUG: mask them too (a logger's filters do
# not apply to its children, hence every name).
for _name in ("promoter.talend", "httpx", "httpcore.connection", "httpcore.http11", "httpcore.proxy"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, MaskingFilter) for f in _logger.filters):
        _logger.addFilter(MaskingFilter())

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

TOKEN_PATH = "/security/oauth/token"


class Transport:
    """Sends API calls to one Talend Cloud base URL; thread-safe.

    ``timeout`` is each request's deadline in seconds, from connecting to the last byte of the
    answer. ``http_transport`` replaces httpx's network transport (for tests of conditions no
    server can produce); ``sleep`` replaces :func:`time.sleep` between retries.
    """

    def __init__(
        self,
        base_url: str,
        auth: Authenticator,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        rate_limits: RateLimits | None = None,
        metrics: ClientMetrics | None = None,
        max_connections: int = 64,
        http_transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.auth = auth
        self.retry = retry if retry is not None else RetryPolicy()
        self.limiter = RateLimiter(rate_limits)
        self.metrics = metrics if metrics is not None else ClientMetrics()
        self._sleep = sleep
        self._clock_offset = 0.0
        self._last_date: tuple[str, float] = ("", 0.0)
        self._shown_url = display_url(self.base_url)
        self._urls = RequestURLs(self.base_url)
        self._http = DeadlineClient(
            base_url=self.base_url,
            headers={
                "talend-version": TALEND_VERSION,
                "Accept": "application/json",
                "User-Agent": f"promoter/{__version__}",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_connections,
                keepalive_expiry=30.0,
            ),
            transport=http_transport,
        )

    # ------------------------------------------------------------------ life cycle

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def server_time(self) -> float:
        """An estimate of the server's clock (epoch seconds), from the ``Date`` of its answers."""
        return time.time() + self._clock_offset

    # ------------------------------------------------------------------ calls

    def call(
        self,
        method: str,
        template: str,
        *,
        parse: Callable[[httpx.Response], R],
        path_params: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        reconcile: Callable[[], R | None] | None = None,
        authenticated: bool = True,
        basic_auth: tuple[str, str] | None = None,
    ) -> R:
        """Send ``method template`` (path parameters filled in) and ``parse`` the 2xx answer.

        ``idempotent`` defaults to the method's semantics (POST is not). For a non-idempotent
        call, ``reconcile`` looks up whether an ambiguous attempt took effect and returns its
        result (or ``None``); the call is retried only when it finds nothing. A DELETE answered
        404 after an ambiguous attempt has taken effect.
        """
        method = method.upper()
        path = _fill(template, path_params)
        family = family_of(template)
        endpoint = f"{method} {template}"
        safe = idempotent if idempotent is not None else method in _IDEMPOTENT_METHODS
        query = {k: v for k, v in (params or {}).items() if v is not None}
        ambiguity = _Ambiguity()
        silence = _Silence()

        def attempt() -> R:
            if ambiguity.pending and reconcile is not None:
                # If the look-up itself fails, the doubt remains: look again before any resend.
                found = self._reconcile(method, path, reconcile)
                ambiguity.pending = False
                if found is not None:
                    return found
            started = time.monotonic()
            try:
                response = self._send(
                    method,
                    path,
                    family,
                    endpoint,
                    query,
                    json,
                    authenticated=authenticated,
                    basic_auth=basic_auth,
                    attempt=ambiguity.attempts + 1,
                )
            except TalendConnectionError as exc:
                ambiguity.note(exc)
                silence.note(exc, started)
                raise
            finally:
                ambiguity.attempts += 1
            if response.is_success or (
                method == "DELETE" and response.status_code == 404 and ambiguity.seen
            ):
                return self._parse(method, path, response, parse)
            error = self._error(method, path, response)
            ambiguity.note(error)
            raise error

        def should_retry(exc: BaseException) -> bool:
            if not is_retryable(exc):
                return False
            return safe or reconcile is not None or not is_ambiguous(exc)

        def stop(state: tenacity.RetryCallState) -> bool:
            if self.retry.tenacity_stop(state):
                return True
            outcome = state.outcome
            exc = outcome.exception() if outcome is not None else None
            if silence.since is None or exc is None or not is_unanswered(exc):
                return False
            # Unanswered attempts cost time, not just a refusal: bounded by time, not by count.
            return self.retry.out_of_time(time.monotonic() - silence.since, state.upcoming_sleep)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            outcome = state.outcome
            exc = outcome.exception() if outcome is not None else None
            self.metrics.record_retry(family)
            # No answer at all: the bound is time (PROMOTER_TALEND_RETRY_TIME), not the count.
            bound = (
                f" (gives up after {self.retry.no_answer_time:g}s without an answer)"
                if exc is not None and is_unanswered(exc)
                else ""
            )
            logger.info(
                "retrying %d/%d %s %s%s in %.2fs after %s%s",
                state.attempt_number,
                self.retry.max_attempts - 1,
                method,
                self._shown_url,
                path,
                state.upcoming_sleep,
                _describe(exc),
                bound,
            )

        def retry_after(first: list[Exception]) -> R:
            """The attempts after a retryable first failure, under the one tenacity policy.

            Tenacity's first attempt replays that failure (``first`` holds it once), so its
            attempt numbers, waits, stops and log lines are those of a call it ran from the start.
            """

            def replay_then_attempt() -> R:
                if first:
                    raise first.pop()
                return attempt()

            retrying = tenacity.Retrying(
                retry=tenacity.retry_if_exception(should_retry),
                wait=self.retry.tenacity_wait,
                stop=stop,
                before_sleep=before_sleep,
                sleep=self._sleep,
                reraise=True,
            )
            return retrying(replay_then_attempt)

        try:
            # Nearly every call succeeds at once: its first attempt runs without tenacity, whose
            # per-call controller (a thread-local, futures, reference cycles left to the garbage
            # collector) cost more CPU than promoter's own work per request, and far more under a
            # fan-out. Tenacity takes over only from a retryable failure, as if it had run it.
            try:
                return attempt()
            except Exception as exc:
                if not should_retry(exc):
                    raise
                failed = [exc]  # a list, emptied by the replay: no frame keeps the traceback
            return retry_after(failed)
        except TalendError as exc:
            if safe or not is_ambiguous(exc):
                raise
            if reconcile is None:
                raise AmbiguousOutcomeError(method, path, exc) from exc
            # Out of retries after an ambiguous failure: one last look before giving up.
            found = self._reconcile(method, path, reconcile)
            if found is not None:
                return found
            raise

    # ------------------------------------------------------------------ internals

    def _reconcile(self, method: str, path: str, reconcile: Callable[[], R | None]) -> R | None:
        found = reconcile()
        self.metrics.record_ambiguous(took_effect=found is not None)
        if found is not None:
            logger.info("%s %s had taken effect despite the failure; not sending it again", method, path)
        else:
            logger.info("%s %s had not taken effect; sending it again", method, path)
        return found

    def _send(
        self,
        method: str,
        path: str,
        family: str,
        endpoint: str,
        params: Mapping[str, Any],
        json: Any,
        *,
        authenticated: bool,
        basic_auth: tuple[str, str] | None,
        attempt: int,
    ) -> httpx.Response:
        """One attempt (two if a 401 renews the token): limiter, auth, HTTP, metrics, log."""
        renewed = False
        while True:
            headers: dict[str, str] = {}
            token: str | None = None
            if authenticated:
                token = self.auth.token(self._fetch_token)
                headers["Authorization"] = f"Bearer {token}"
            self.metrics.record_limiter_wait(family, self.limiter.acquire(family))
            started = time.perf_counter()
            try:
                with request_deadline(self.timeout):
                    response = self._http.request(
                        method,
                        self._urls(path),
                        params=params or None,
                        json=json,
                        headers=headers,
                        auth=basic_auth if basic_auth is not None else httpx.USE_CLIENT_DEFAULT,
                    )
            except httpx.TransportError as exc:
                elapsed = time.perf_counter() - started
                self.metrics.record_request(family, endpoint, None, elapsed)
                logger.debug(
                    "%s %s -> %s in %.1f ms (attempt %d)",
                    method,
                    path,
                    type(exc).__name__,
                    elapsed * 1000,
                    attempt,
                    extra=_extra(method, path, None, elapsed, attempt),
                )
                raise TalendConnectionError.from_httpx(
                    method, path, exc, base_url=self.base_url, timeout=self.timeout
                ) from None
            elapsed = time.perf_counter() - started
            status = response.status_code
            self.metrics.record_request(family, endpoint, status, elapsed)
            logger.debug(
                "%s %s -> %d in %.1f ms (attempt %d)",
                method,
                path,
                status,
                elapsed * 1000,
                attempt,
                extra=_extra(method, path, status, elapsed, attempt),
            )
            self._note_date(response)
            if status == 429:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None:
                    self.limiter.pause(family, min(retry_after, self.retry.max_retry_after))
            if status == 401 and token is not None and not renewed and self.auth.invalidate(token):
                renewed = True
                logger.info("%s %s answered 401; renewing the token and trying once more", method, path)
                continue
            return response

    def _fetch_token(self, client_id: str, client_secret: str) -> TokenResponse:
        body = TokenRequest(grant_type="client_credentials", audience=self.base_url).to_wire()
        try:
            answer = self.call(
                "POST",
                TOKEN_PATH,
                json=body,
                parse=_model(TokenResponse),
                idempotent=True,  # a second token is harmless
                authenticated=False,
                basic_auth=(client_id, client_secret),
            )
        except TalendAPIError as exc:
            if exc.status in (400, 401, 403):
                exc.hint = (
                    "the client credentials were refused; check TALEND_CLIENT_ID and "
                    "TALEND_CLIENT_SECRET, and that TALEND_API_URL/TALEND_REGION is their region"
                )
            raise
        self.metrics.record_token_refresh()
        return answer

    def _parse(
        self, method: str, path: str, response: httpx.Response, parse: Callable[[httpx.Response], R]
    ) -> R:
        try:
            return parse(response)
        except pydantic.ValidationError as exc:
            # Never show the input: it may hold secrets.
            problems = "; ".join(
                f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
                for error in exc.errors(include_input=False, include_url=False)[:5]
            )
            raise TalendError(
                f"unexpected answer to {method} {path}: {problems}",
                hint="the server's answer does not match the Talend Cloud API (2021-03); "
                "check TALEND_API_URL points to Talend Cloud",
            ) from None
        except ValueError as exc:  # invalid JSON
            raise TalendError(
                f"unexpected answer to {method} {path}: {mask(str(exc))}",
                hint="check TALEND_API_URL points to Talend Cloud",
            ) from None

    def _error(self, method: str, path: str, response: httpx.Response) -> TalendAPIError:
        message: str | None = None
        detail: str | None = None
        request_id = response.headers.get("x-request-id")
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            message = _text(body.get("message")) or _text(body.get("error"))
            detail = _text(body.get("detail")) or _text(body.get("error_description"))
            request_id = _text(body.get("requestId")) or request_id
        elif response.text:
            message = response.text[:300]
        error_class = error_for_status(response.status_code)
        return error_class(
            status=response.status_code,
            method=method,
            path=path,
            message=message,
            detail=detail,
            request_id=request_id,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _note_date(self, response: httpx.Response) -> None:
        date = response.headers.get("Date")
        if not date:
            return
        # A Date names a whole second: the answers of one second share it, parsed once.
        seen, server = self._last_date
        if date != seen:
            try:
                server = email.utils.parsedate_to_datetime(date).timestamp()
            except (TypeError, ValueError, IndexError):
                return
            self._last_date = (date, server)
        self._clock_offset = server - time.time()

    def __repr__(self) -> str:
        return f"<Transport {self.base_url} auth={self.auth!r}>"


class _Ambiguity:
    """What one call's attempts have seen: whether one may have taken effect."""

    __slots__ = ("attempts", "pending", "seen")

    def __init__(self) -> None:
        self.attempts = 0
        self.pending = False  # an ambiguous failure not yet looked up
        self.seen = False  # any ambiguous failure so far

    def note(self, exc: TalendError) -> None:
        if is_ambiguous(exc):
            self.pending = True
            self.seen = True


class _Silence:
    """When one call's first attempt that got no answer began (monotonic seconds), if any."""

    __slots__ = ("since",)

    def __init__(self) -> None:
        self.since: float | None = None

    def note(self, exc: TalendError, started: float) -> None:
        if self.since is None and is_unanswered(exc):
            self.since = started


def _fill(template: str, path_params: Mapping[str, str] | None) -> str:
    if not path_params:
        return template
    return template.format_map({k: quote(str(v), safe="") for k, v in path_params.items()})


def validated(
    from_json: Callable[[bytes], R], from_python: Callable[[Any], R], response: httpx.Response
) -> R:
    """The JSON body of ``response``, validated by ``from_json`` (a pydantic ``*validate_json``).

    pydantic's own JSON parser validates as it reads: twice as fast as ``json.loads`` followed by
    validation, and without the intermediate dicts. Should it refuse the body, ``from_python``
    (the matching ``*validate_python``) decides over ``response.json()``, so that an answer that
    is not valid JSON, or not valid, fails with exactly the error it always did.
    """
    try:
        return from_json(response.content)
    except pydantic.ValidationError:
        return from_python(response.json())


def _model(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: validated(model.model_validate_json, model.model_validate, response)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, TalendAPIError):
        return f"{exc.status}"
    if isinstance(exc, TalendTimeoutError) and exc.timeout is not None:
        return f"no answer within {exc.timeout:g}s ({exc.reason})"
    if isinstance(exc, TalendConnectionError):
        return exc.reason
    return type(exc).__name__


def _extra(method: str, path: str, status: int | None, seconds: float, attempt: int) -> dict[str, Any]:
    return {
        "talend_method": method,
        "talend_path": mask(path),
        "talend_status": status,
        "talend_duration_ms": round(seconds * 1000, 3),
        "talend_attempt": attempt,
    }
