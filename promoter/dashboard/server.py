"""``promoter dashboard --serve``: the static site's pages, served live and read-only.

The standard library's threading HTTP server; pages are made when asked, one at a time (the
ledger, the plugins and their platform clients are used by one request at a time). What the
platform says of each phase (``promoter status``: drift, health, locks) is read again when it is
older than the refresh interval, and every page reloads itself at that interval — so a
promotion, a rollback or a hand-made change on a target shows on the next refresh.

Read-only: ``GET`` and ``HEAD``; any other method is refused (405). Bound to loopback, anyone
on the machine may read; bound elsewhere, a bearer token is required (``Authorization: Bearer
TOKEN``), and the server refuses to start without one. The token is compared in constant time
and never written into a page.
"""

from __future__ import annotations

import hmac
import ipaddress
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from promoter.dashboard.site import Site
from promoter.errors import ConfigurationError

TOKEN_ENV = "PROMOTER_DASHBOARD_TOKEN"
"""Environment variable: the bearer token ``--serve`` requires (``--token`` wins)."""

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; "
        "frame-ancestors 'self'; form-action 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def required_token(host: str, token: str | None) -> str | None:
    """The token requests must carry: ``token`` when given; refused (exit 2) when ``host`` is
    not loopback and there is none."""
    if token is not None and not token.strip():
        raise ConfigurationError(
            "the dashboard token is empty",
            hint=f"set --token or {TOKEN_ENV} to a long random value, or leave both unset on 127.0.0.1",
        )
    if token is None and not is_loopback(host):
        raise ConfigurationError(
            f"--serve on {host} needs a bearer token: anyone who reaches that address could "
            "read the ledger",
            hint=f"set --token TOKEN or {TOKEN_ENV} (clients send `Authorization: Bearer TOKEN`), "
            "or serve on 127.0.0.1",
        )
    return token


class DashboardServer(ThreadingHTTPServer):
    """Serves a :class:`Site` (``live``), refreshed at most every ``refresh`` seconds."""

    daemon_threads = True

    def __init__(
        self,
        site: Site,
        host: str,
        port: int,
        *,
        token: str | None,
        refresh: int,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.site = site
        self.token = required_token(host, token)
        self.refresh = refresh
        self.log = log
        self.pages_lock = threading.Lock()
        super().__init__((host, port), DashboardRequestHandler)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:8000/``."""
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/"

    def authorized(self, header: str | None) -> bool:
        """Whether a request's ``Authorization`` header carries the token (or none is needed)."""
        if self.token is None:
            return True
        scheme, _, given = (header or "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self.token.encode())

    def page(self, path: str) -> str | None:
        """The page at ``path``, made now (status read again when older than ``refresh``)."""
        with self.pages_lock:
            self.site.dashboard.refresh(max_age=self.refresh)
            return self.site.page(path)


class DashboardRequestHandler(BaseHTTPRequestHandler):
    """``GET``/``HEAD`` of the site's pages; every other method is refused."""

    server: DashboardServer
    server_version = "promoter-dashboard"
    sys_version = ""

    def do_GET(self) -> None:
        """A page."""
        self._answer(body=True)

    def do_HEAD(self) -> None:
        """A page's headers."""
        self._answer(body=False)

    def _refuse_write(self) -> None:
        self._send(HTTPStatus.METHOD_NOT_ALLOWED, "the dashboard is read-only\n", allow="GET, HEAD")

    do_POST = do_PUT = do_PATCH = do_DELETE = _refuse_write

    def _answer(self, *, body: bool) -> None:
        if not self.server.authorized(self.headers.get("Authorization")):
            self._send(
                HTTPStatus.UNAUTHORIZED,
                "a bearer token is required\n",
                authenticate='Bearer realm="promoter dashboard"',
            )
            return
        path = unquote(urlsplit(self.path).path).lstrip("/") or "index.html"
        if path.endswith("/"):
            path += "index.html"
        try:
            page = self.server.page(path)
        except Exception as exc:  # a broken page must not stop the server; say what broke
            self.log_error("page %s failed: %s", path, type(exc).__name__)
            self._send(HTTPStatus.INTERNAL_SERVER_ERROR, f"this page failed: {type(exc).__name__}\n")
            return
        if page is None:
            self._send(HTTPStatus.NOT_FOUND, "no such page\n")
            return
        self._send(HTTPStatus.OK, page, html=True, body=body)

    def _send(
        self,
        status: HTTPStatus,
        text: str,
        *,
        html: bool = False,
        body: bool = True,
        allow: str | None = None,
        authenticate: str | None = None,
    ) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"text/{'html' if html else 'plain'}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        if allow:
            self.send_header("Allow", allow)
        if authenticate:
            self.send_header("WWW-Authenticate", authenticate)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """One line per request, through the server's ``log`` (quiet without one)."""
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")
