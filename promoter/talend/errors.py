"""The errors of the Talend Cloud client: one hierarchy, one class per meaningful status.

::

    TalendError (PromoterError)
    ├── TalendAPIError                  the server answered with an error status
    │   ├── BadRequest                  400
    │   ├── Unauthorized                401
    │   ├── Forbidden                   403
    │   ├── NotFound                    404
    │   ├── MethodNotAllowed            405 (e.g. the task is paused)
    │   ├── Conflict                    409
    │   ├── RateLimited                 429
    │   └── ServerError                 5xx
    │       └── NotImplementedByServer  501 (e.g. the task has no run configuration)
    ├── TalendConnectionError           no answer: connection refused, reset or dropped
    │   └── TalendTimeoutError          no answer in time
    ├── AmbiguousOutcomeError           a create or start may or may not have taken effect
    └── WaitTimeoutError                an execution or promotion did not finish in time

Every message says what to do next, and is masked (:mod:`promoter.talend.masking`) so that no
token, client secret or secret connection value can leak through it.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

import httpx

from promoter.errors import ExitCode, PromoterError
from promoter.talend.masking import mask

__all__ = [
    "AmbiguousOutcomeError",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "MethodNotAllowed",
    "NotFound",
    "NotImplementedByServer",
    "RateLimited",
    "ServerError",
    "TalendAPIError",
    "TalendConnectionError",
    "TalendError",
    "TalendTimeoutError",
    "Unauthorized",
    "WaitTimeoutError",
    "display_url",
    "error_for_status",
]


class TalendError(PromoterError):
    """Base of every error raised by the Talend Cloud client.

    Exit code 1 (the service failed us) unless the error is the user's to fix: refused
    credentials, a missing permission or an unknown object exit 2 (invalid input)."""

    exit_code = ExitCode.FAILED_ROLLED_BACK


class TalendAPIError(TalendError):
    """Talend Cloud answered ``method path`` with an error ``status``.

    ``message`` is the server's message (masked), ``detail`` its detail when given, and
    ``request_id`` the id to quote to Talend support. ``retry_after`` is the wait the server asked
    for (seconds), when it sent a ``Retry-After`` header.
    """

    #: What to do next, by default; subclasses refine it.
    default_hint: ClassVar[str] = (
        "see the message above; the request id identifies the call for Talend support"
    )

    def __init__(
        self,
        *,
        status: int,
        method: str,
        path: str,
        message: str | None = None,
        detail: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.path = mask(path)  # ids in paths are not secrets, but a caller may put one there
        self.server_message = mask(message) if message else None
        self.detail = mask(detail) if detail else None
        self.request_id = request_id
        self.retry_after = retry_after
        text = f"Talend Cloud answered {method} {self.path} with {status}"
        if self.server_message:
            text += f": {self.server_message}"
        if self.detail and self.detail != self.server_message:
            text += f" ({self.detail})"
        if request_id:
            text += f" [requestId {request_id}]"
        super().__init__(text, hint=mask(hint) if hint else self.default_hint)


class BadRequest(TalendAPIError):
    """400: the request was invalid."""

    default_hint = (
        "the body or query was rejected; check the values against the Talend Cloud API "
        "(2021-03) and the detail above"
    )


class Unauthorized(TalendAPIError):
    """401: the credentials were refused."""

    exit_code = ExitCode.INVALID_INPUT

    default_hint = (
        "check TALEND_ACCESS_TOKEN (a personal access token may have expired or been revoked) "
        "or TALEND_CLIENT_ID/TALEND_CLIENT_SECRET, and that TALEND_API_URL/TALEND_REGION is the "
        "region the token belongs to"
    )


class Forbidden(TalendAPIError):
    """403: the credentials are valid but lack a permission."""

    exit_code = ExitCode.INVALID_INPUT

    default_hint = (
        "the token's user or service account lacks a permission for this call; grant it the "
        "needed role on the workspace or environment in Talend Management Console"
    )


class NotFound(TalendAPIError):
    """404: no such object (or the token cannot see it)."""

    exit_code = ExitCode.INVALID_INPUT

    default_hint = (
        "check the id, and that the token's user can see the workspace holding the object"
    )


class MethodNotAllowed(TalendAPIError):
    """405: the call is not allowed in the object's state (a paused task cannot run)."""

    default_hint = "the object is not in a state that allows this call; if a task is paused, resume it"


class Conflict(TalendAPIError):
    """409: the object already exists, or is in use."""

    default_hint = (
        "an object with this name (or pair) already exists, or the object is still in use; "
        "look it up instead of creating it, or detach it before deleting"
    )


class RateLimited(TalendAPIError):
    """429: the API family's per-minute budget is spent (retries were exhausted)."""

    default_hint = (
        "Talend Cloud limits each source IP per minute (orchestration 1800, processing 1800, "
        "monitoring 600); lower the concurrency or the client's rate limits, or try again later"
    )


class ServerError(TalendAPIError):
    """5xx: Talend Cloud failed (retries were exhausted)."""

    default_hint = (
        "Talend Cloud failed to answer; try again later and check https://status.talend.com"
    )


class NotImplementedByServer(ServerError):
    """501: the call cannot be served for this object (a task without a run configuration)."""

    default_hint = (
        "the object lacks what the call needs; for an execution, give the task a run "
        "configuration (client.tasks.put_run_config) first"
    )


_BY_STATUS: dict[int, type[TalendAPIError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    429: RateLimited,
    501: NotImplementedByServer,
}


def error_for_status(status: int) -> type[TalendAPIError]:
    """The error class for an HTTP ``status``."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return TalendAPIError


class TalendConnectionError(TalendError):
    """No answer from Talend Cloud: the connection was refused, reset or dropped.

    ``sent`` tells whether the request may have reached the server (``False`` when the connection
    could not even be opened): only then is the outcome of a create or start ambiguous.
    ``base_url`` is the API the client talks to (shown without credentials): the message names
    the whole URL, so that a wrong ``TALEND_API_URL`` is plain to see.
    """

    def __init__(
        self,
        method: str,
        path: str,
        reason: str,
        *,
        sent: bool = True,
        hint: str | None = None,
        base_url: str | None = None,
    ) -> None:
        self.method = method
        self.path = mask(path)
        self.sent = sent
        self.reason = mask(reason)
        self.base_url = display_url(base_url) if base_url else None
        self.url = f"{self.base_url}{self.path}" if self.base_url else self.path
        super().__init__(self._describe(), hint=hint or self._default_hint())

    def _describe(self) -> str:
        return f"no answer from Talend Cloud to {self.method} {self.url}: {self.reason}"

    def _default_hint(self) -> str:
        where = self.base_url or "TALEND_API_URL"
        return (
            f"check that {where} is the Talend Cloud API (TALEND_API_URL or TALEND_REGION, or "
            "talend.url in the pipeline file) and that it can be reached from here (proxy, "
            "firewall, DNS); connection failures are retried for PROMOTER_TALEND_RETRY_TIME "
            "seconds (default 5)"
        )

    @classmethod
    def from_httpx(
        cls,
        method: str,
        path: str,
        exc: httpx.TransportError,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
    ) -> TalendConnectionError:
        """The client error for an httpx transport error (``timeout``: the request's deadline)."""
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        # Nothing was sent when the connection could not be opened or taken from the pool.
        sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if isinstance(exc, httpx.TimeoutException):
            return TalendTimeoutError(
                method, path, reason, sent=sent, base_url=base_url, timeout=timeout
            )
        return cls(method, path, reason, sent=sent, base_url=base_url)


class TalendTimeoutError(TalendConnectionError):
    """No complete answer from Talend Cloud within the request's deadline (``timeout`` seconds,
    from connecting to the last byte of the answer)."""

    def __init__(
        self,
        method: str,
        path: str,
        reason: str,
        *,
        sent: bool = True,
        base_url: str | None = None,
        timeout: float | None = None,
    ) -> None:
        self.timeout = timeout
        super().__init__(
            method,
            path,
            reason,
            sent=sent,
            base_url=base_url,
            hint=(
                "allow more seconds per request with PROMOTER_TALEND_TIMEOUT or talend.timeout in "
                "the pipeline file (TalendClient(timeout=...) in Python; default 30), or try "
                "again later"
            ),
        )

    def _describe(self) -> str:
        within = f"within {self.timeout:g}s" if self.timeout is not None else "in time"
        return (
            f"no complete answer from Talend Cloud to {self.method} {self.url} {within} "
            f"({self.reason})"
        )


def display_url(url: str) -> str:
    """A URL as it may be shown: without user name, password, query or fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return mask(url)
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return mask(urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", "")))


class AmbiguousOutcomeError(TalendError):
    """A non-idempotent call failed in a way that leaves its outcome unknown.

    Raised when the call cannot be looked up to find out whether it took effect (so retrying it
    could create or run something twice).
    """

    def __init__(self, method: str, path: str, cause: TalendError) -> None:
        self.method = method
        self.path = mask(path)
        self.cause = cause
        super().__init__(
            f"{method} {self.path} may or may not have taken effect: {cause.message}",
            hint="look the object or execution up in Talend Management Console before trying again",
        )


class WaitTimeoutError(TalendError):
    """An execution or promotion did not reach a final state within the wait's timeout."""

    def __init__(
        self, what: str, timeout: float, last_status: str | None, *, last_error: str | None = None
    ) -> None:
        self.what = what
        self.timeout = timeout
        self.last_status = last_status
        self.last_error = mask(last_error) if last_error else None
        failing = f"; the last poll failed: {self.last_error}" if self.last_error else ""
        super().__init__(
            f"{what} did not finish within {timeout:g}s (last status: {last_status or 'unknown'})"
            + failing,
            hint="wait longer (timeout=...), or check the run in Talend Management Console; "
            "it may still be going",
        )
