"""A wall-clock deadline per request: connecting, sending, the headers and the body, together.

httpx's timeouts bound each network operation, not the request: a read timeout starts again at
every byte, so a server that sends one byte a second (a "slow loris") holds a request for as long
as it likes. Here every operation of a request is given ``min(its own timeout, time left)``, and
an operation that would start after the deadline fails at once with httpcore's timeout error for
that operation — which httpx turns into ``httpx.ConnectTimeout``, ``ReadTimeout`` or
``WriteTimeout`` as usual.

The deadline is the calling thread's (:func:`request_deadline`): httpx's synchronous client does
all of a request's network work in the thread that sent it, pooled connections included, so each
thread's requests keep their own deadlines. :class:`DeadlineClient` is an ``httpx.Client`` whose
connections — direct, or through the proxies of ``HTTP(S)_PROXY``/``ALL_PROXY`` — all obey it.

A TLS handshake is one operation: CPython bounds ``do_handshake`` by the socket timeout as a whole.
Name resolution (``getaddrinfo``) is not bounded by any socket timeout; it is the one step outside
the deadline.

Being the client's one ``httpx.Client``, :class:`DeadlineClient` also spares two costs httpx pays
for every client or answer whatever it holds: an SSL context per client (one is shared,
:func:`shared_verification`) and a pass through :mod:`http.cookiejar` per answer, even one that
sets no cookie (:class:`AnswerCookies`).
"""

from __future__ import annotations

import contextlib
import os
import ssl
import threading
import time
import typing
from collections.abc import Iterable, Iterator
from http.cookiejar import CookieJar

import httpcore
import httpx

__all__ = [
    "AnswerCookies",
    "DeadlineBackend",
    "DeadlineClient",
    "DeadlineHTTPTransport",
    "DeadlineStream",
    "DefaultContextOnUse",
    "LeanConnectionPool",
    "request_deadline",
    "shared_verification",
    "time_left",
]

_current = threading.local()

#: httpx's own default (the client always passes its limits; this only mirrors the signature).
_HTTPX_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)

#: The environment variables that shape the SSL context httpx makes for ``verify=True``.
_SSL_ENVIRONMENT = ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE")

_ssl_contexts: dict[tuple[object, ...], ssl.SSLContext] = {}
_ssl_contexts_lock = threading.Lock()

#: Bytes written per operation, so that a server that reads slowly cannot stretch one write past
#: the deadline by more than one chunk.
WRITE_CHUNK = 64 * 1024


@contextlib.contextmanager
def request_deadline(seconds: float | None) -> Iterator[None]:
    """Within the block, the calling thread's requests end within ``seconds`` (None: no deadline).

    Nested blocks keep the earlier of the two deadlines.
    """
    saved: float | None = getattr(_current, "deadline", None)
    if seconds is not None:
        ends = time.monotonic() + seconds
        _current.deadline = ends if saved is None else min(saved, ends)
    try:
        yield
    finally:
        _current.deadline = saved


def time_left() -> float | None:
    """Seconds left before the calling thread's deadline (may be negative); None without one."""
    deadline: float | None = getattr(_current, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def _bounded(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """An operation's timeout cut to the time left; ``error`` when none is left."""
    left = time_left()
    if left is None:
        return timeout
    if left <= 0:
        raise error("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class DeadlineStream(httpcore.NetworkStream):
    """A network stream whose reads, writes and TLS handshake end by the thread's deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for start in range(0, len(buffer), WRITE_CHUNK):
            chunk = buffer[start : start + WRITE_CHUNK]
            self._stream.write(chunk, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        bounded = _bounded(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Opens connections whose every operation ends by the thread's deadline (wraps ``backend``,
    httpcore's own synchronous backend by default)."""

    def __init__(self, backend: httpcore.NetworkBackend | None = None) -> None:
        self._backend = backend if backend is not None else httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            _bounded(timeout, httpcore.ConnectTimeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return DeadlineStream(stream)

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _bounded(timeout, httpcore.ConnectTimeout), socket_options=socket_options
        )
        return DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class LeanConnectionPool(httpcore.ConnectionPool):
    """httpcore's connection pool, which asks the network whether a pooled connection is still
    usable only when it is about to be used.

    httpcore's pool sweeps every connection each time a request arrives or an answer is read:
    for each idle one it polls the socket (a system call) to see whether the server closed it,
    and for each it counts the connections again — with 16 threads, 16 polls and 256 calls per
    sweep, two sweeps a request, under the pool's lock: about a fifth of the CPU of 3,000 GETs
    sent 16 at a time. Here a sweep drops what is known closed and surplus idle connections,
    and a request takes the first available connection that is still open by the same checks
    (keep-alive not expired, the server has not closed it) — what the sweep would have found
    about it — closing those that are not. Connections never taken stay open until the pool
    closes, at most ``max_connections`` of them.
    """

    def _assign_requests_to_connections(self) -> list[httpcore.ConnectionInterface]:
        closing: list[httpcore.ConnectionInterface] = []
        connections = [c for c in self._connections if not c.is_closed()]
        idle = [c for c in connections if c.is_idle()]
        for surplus in idle[: max(0, len(idle) - self._max_keepalive_connections)]:
            connections.remove(surplus)
            closing.append(surplus)
        self._connections = connections
        for pool_request in [r for r in self._requests if r.is_queued()]:
            origin = pool_request.request.url.origin
            chosen: httpcore.ConnectionInterface | None = None
            for connection in list(connections):
                if not (connection.can_handle_request(origin) and connection.is_available()):
                    continue
                if connection.has_expired():  # the one question that costs a system call
                    connections.remove(connection)
                    closing.append(connection)
                    continue
                chosen = connection
                break
            if chosen is None:
                if len(connections) >= self._max_connections:
                    spare = next((c for c in connections if c.is_idle()), None)
                    if spare is None:
                        continue  # stays queued until a connection is free
                    connections.remove(spare)
                    closing.append(spare)
                chosen = self.create_connection(origin)
                connections.append(chosen)
            pool_request.assign_to_connection(chosen)
        return closing


class DeadlineHTTPTransport(httpx.HTTPTransport):
    """httpx's network transport (same arguments), over a :class:`DeadlineBackend`, its direct
    connections pooled by a :class:`LeanConnectionPool`.

    httpx takes no network backend, so the one of the connection pool it builds is wrapped; the
    check below makes an httpx/httpcore release that moves it fail loudly, not silently unbounded.
    """

    def __init__(self, **options: typing.Any) -> None:
        super().__init__(**options)
        pool = getattr(self, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if not isinstance(backend, httpcore.NetworkBackend):  # pragma: no cover - version guard
            raise RuntimeError(
                "this httpx/httpcore release keeps no network backend on its connection pool; "
                "promoter's request deadlines need httpx 0.28 and httpcore 1.x"
            )
        if not isinstance(backend, DeadlineBackend):
            pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
        if type(pool) is httpcore.ConnectionPool and _LEAN_POOL_FITS:
            pool.__class__ = LeanConnectionPool  # the same pool, assigning more cheaply


#: Whether this httpcore's pool has what :class:`LeanConnectionPool` replaces and relies on.
_LEAN_POOL_FITS = all(
    hasattr(httpcore.ConnectionPool, name)
    for name in ("_assign_requests_to_connections", "create_connection")
)


class AnswerCookies(httpx.Cookies):
    """httpx's cookie store, which skips the cookie jar for answers that set no cookie.

    httpx hands every answer to :mod:`http.cookiejar`, which copies its headers into an
    ``email.message.Message`` and builds a ``urllib`` request before it looks for ``Set-Cookie``
    — about as much CPU per answer as promoter's own handling of it. The jar ignores an answer
    without ``Set-Cookie`` or ``Set-Cookie2``, so skipping it changes nothing; any other answer
    goes to the jar as before.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


def shared_verification(
    verify: ssl.SSLContext | str | bool, *, trust_env: bool, http2: bool
) -> ssl.SSLContext | str | bool:
    """``verify`` for a transport: httpx's default (``True``) becomes the SSL context httpx would
    make for it — made once per process and set of SSL environment variables, and only when a
    TLS connection first needs it (:class:`DefaultContextOnUse`).

    httpx makes a context for every client, even for ``http://``, and loading the CA bundle
    costs 20-30 ms of CPU each time; a run makes a client to check its settings, then one to
    work with, and a client of the sandbox (``http://``) never needs one. Contexts made from the
    same settings are alike, and an SSL context is made to be shared by connections (HTTP/1.1
    and HTTP/2 clients still get one each, for their ALPN). Any other ``verify`` is returned as
    it is.
    """
    if verify is not True:
        return verify
    environment = tuple(os.environ.get(name) for name in _SSL_ENVIRONMENT) if trust_env else ()
    key = (trust_env, http2, *environment)
    with _ssl_contexts_lock:
        context = _ssl_contexts.get(key)
        if context is None:
            context = _ssl_contexts[key] = DefaultContextOnUse(trust_env=trust_env)
    return context


class DefaultContextOnUse(ssl.SSLContext):
    """Stands for ``httpx.create_ssl_context(verify=True, trust_env=...)`` — certificates and
    host names verified against ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when the environment is
    trusted, else certifi's bundle — and makes it when the first TLS connection is wrapped.

    httpcore uses a context through ``set_alpn_protocols`` and ``wrap_socket``/``wrap_bio``: the
    ALPN protocols are kept and the wrapping is the real context's, so every connection is made
    by httpx's own default context, built from the environment as it is then. The stand-in's own
    settings are those of any client context (``PROTOCOL_TLS_CLIENT``: certificates required,
    host names checked), and it trusts nothing itself.
    """

    def __init__(self, protocol: int = ssl.PROTOCOL_TLS_CLIENT, *, trust_env: bool = True) -> None:
        self._trust_env = trust_env
        self._made: ssl.SSLContext | None = None
        self._alpn: list[str] | None = None
        self._making = threading.Lock()

    def __new__(cls, protocol: int = ssl.PROTOCOL_TLS_CLIENT, **_: typing.Any) -> DefaultContextOnUse:
        return super().__new__(cls, protocol)

    def made(self) -> ssl.SSLContext:
        """httpx's default context (made on the first call), with the ALPN protocols set."""
        with self._making:
            if self._made is None:
                self._made = httpx.create_ssl_context(verify=True, trust_env=self._trust_env)
                if self._alpn is not None:
                    self._made.set_alpn_protocols(self._alpn)
            return self._made

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        with self._making:
            self._alpn = list(alpn_protocols)
            if self._made is not None:
                self._made.set_alpn_protocols(self._alpn)

    def wrap_socket(self, *args: typing.Any, **kwargs: typing.Any) -> ssl.SSLSocket:
        return self.made().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: typing.Any, **kwargs: typing.Any) -> ssl.SSLObject:
        return self.made().wrap_bio(*args, **kwargs)


class DeadlineClient(httpx.Client):
    """An ``httpx.Client`` whose every transport — the default one and those of the proxies taken
    from the environment — is a :class:`DeadlineHTTPTransport`. Pass ``transport=`` to replace
    the network altogether (tests); that one is used as given. Its cookies are
    :class:`AnswerCookies`; its default SSL context is shared (:func:`shared_verification`)."""

    def __init__(self, **options: typing.Any) -> None:
        super().__init__(**options)
        self.cookies = self._cookies  # through the setter below

    @property
    def cookies(self) -> httpx.Cookies:
        """The cookies sent with every request (and kept from the answers)."""
        return self._cookies

    @cookies.setter
    def cookies(
        self, cookies: httpx.Cookies | CookieJar | dict[str, str] | list[tuple[str, str]] | None
    ) -> None:
        self._cookies = AnswerCookies(cookies)

    def _init_transport(
        self,
        verify: ssl.SSLContext | str | bool = True,
        cert: typing.Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = _HTTPX_DEFAULT_LIMITS,
        transport: httpx.BaseTransport | None = None,
    ) -> httpx.BaseTransport:
        if transport is not None:
            return transport
        if cert is None:
            verify = shared_verification(verify, trust_env=trust_env, http2=http2)
        return DeadlineHTTPTransport(
            verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits
        )

    def _init_proxy_transport(
        self,
        proxy: httpx.Proxy,
        verify: ssl.SSLContext | str | bool = True,
        cert: typing.Any = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: httpx.Limits = _HTTPX_DEFAULT_LIMITS,
    ) -> httpx.BaseTransport:
        if cert is None:
            verify = shared_verification(verify, trust_env=trust_env, http2=http2)
        return DeadlineHTTPTransport(
            verify=verify,
            cert=cert,
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
            proxy=proxy,
        )
