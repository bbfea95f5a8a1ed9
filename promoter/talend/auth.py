"""Credentials for Talend Cloud: a personal access token, or OAuth client credentials.

Every request carries ``Authorization: Bearer <token>``. A personal (or service-account) access
token is used as is. With client credentials the client asks ``POST /security/oauth/token``
(HTTP Basic ``clientId:secret``) for a token, reuses it until shortly before it expires
(``expires_in``, a string of seconds; tokens live 30 minutes), and fetches a new one once when a
request is answered 401.

Secrets are registered with :mod:`promoter.talend.masking` the moment they are known, and never
appear in a repr.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from promoter.talend.masking import register_secret
from promoter.talend.models import TokenResponse

__all__ = ["AccessToken", "Authenticator", "ClientCredentials", "TokenFetcher"]

#: Fetches a token with HTTP Basic ``(client_id, client_secret)``; supplied by the transport.
TokenFetcher = Callable[[str, str], TokenResponse]

#: The token lifetime assumed when the server does not say (Talend's tokens live 30 minutes).
DEFAULT_TOKEN_TTL = 1800.0


class Authenticator(ABC):
    """Where the bearer token of each request comes from."""

    @abstractmethod
    def token(self, fetch: TokenFetcher) -> str:
        """The bearer token to send now (fetching one with ``fetch`` if needed)."""

    @abstractmethod
    def invalidate(self, rejected: str) -> bool:
        """The server answered 401 to ``rejected``; whether a retry with a new token may succeed."""


class AccessToken(Authenticator):
    """A personal or service-account access token, used as is."""

    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("an access token is required")
        register_secret(token)
        self._token = token

    def token(self, fetch: TokenFetcher) -> str:
        """The access token."""
        return self._token

    def invalidate(self, rejected: str) -> bool:
        """A static token cannot be renewed: a 401 is final."""
        return False

    def __repr__(self) -> str:
        return "AccessToken(***)"


class ClientCredentials(Authenticator):
    """OAuth client credentials, exchanged for short-lived tokens and refreshed before expiry.

    A token is refreshed when less than ``refresh_margin`` seconds (at most a fifth of its
    lifetime) remain. Thread-safe: concurrent requests share one token and one refresh.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        refresh_margin: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("a client id and a client secret are required")
        register_secret(client_secret)
        self.client_id = client_id
        self._client_secret = client_secret
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = 0.0
        #: How many tokens this authenticator fetched.
        self.fetches = 0

    def token(self, fetch: TokenFetcher) -> str:
        """The current token, or a new one when it is missing or about to expire."""
        with self._lock:
            if self._token is None or self._clock() >= self._refresh_at:
                self._fetch(fetch)
            assert self._token is not None
            return self._token

    def invalidate(self, rejected: str) -> bool:
        """Forget ``rejected`` (unless another thread already replaced it); a retry may succeed."""
        with self._lock:
            if self._token == rejected:
                self._token = None
        return True

    def _fetch(self, fetch: TokenFetcher) -> None:
        started = self._clock()
        answer = fetch(self.client_id, self._client_secret)
        register_secret(answer.access_token)
        lifetime = _seconds(answer.expires_in)
        margin = min(self.refresh_margin, lifetime / 5)
        self._token = answer.access_token
        self._refresh_at = started + lifetime - margin
        self.fetches += 1

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret=***)"


def _seconds(expires_in: str | None) -> float:
    """``expires_in`` (a string of seconds in the spec; tolerate a number) as seconds."""
    if expires_in is None:
        return DEFAULT_TOKEN_TTL
    try:
        value = float(expires_in)
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_TTL
    return value if value > 0 else DEFAULT_TOKEN_TTL
