"""An API that does not answer ends a call — and a run — within the configured deadline.

Three hostile servers, each a raw socket in the test: a *slow loris* (accepts, then sends an HTTP
answer one byte a second, forever), a *silent* one (accepts, never answers) and a closed port.
Each request has a wall-clock deadline (``talend.timeout`` / ``PROMOTER_TALEND_TIMEOUT``) covering
connecting, sending, the headers and the body; one call retries failures that got no answer for
``PROMOTER_TALEND_RETRY_TIME`` seconds only; a URL that is not http(s) is refused at once.

The ``promoter plan`` tests run the real command in a process. Its ``timeout=`` is a hang guard
only: without a deadline these servers hold a request forever. The seconds each took are printed
(``pytest -s``); speed targets live in benchmarks/.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from promoter.errors import ConfigurationError, ExitCode
from promoter.talend.client import RETRY_TIME_ENV, TIMEOUT_ENV, TalendClient, check_base_url
from promoter.talend.deadline import request_deadline, time_left
from promoter.talend.errors import TalendConnectionError, TalendTimeoutError
from promoter.talend.plugin.sections import TalendSection
from promoter.talend.plugin.session import make_client
from promoter.talend.retries import RetryPolicy

REPO = Path(__file__).resolve().parents[2]

#: The start of an answer a slow loris sends, one byte at a time.
HTTP_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n["
#: A TLS record header announcing a 16 KiB handshake record: a TLS client waits for all of it.
TLS_RECORD = b"\x16\x03\x03\x40\x00"

#: Hang guard of the calls made in this process.
HANG_GUARD = 90.0


class HostileServer:
    """A TCP server on 127.0.0.1 that accepts connections and then misbehaves.

    ``trickle``: the bytes to send, one per ``interval`` seconds, then the same again forever;
    ``None``: never send anything. ``accepted`` counts connections.
    """

    def __init__(self, trickle: bytes | None, interval: float = 1.0) -> None:
        self.trickle = trickle
        self.interval = interval
        self.accepted = 0
        self._stop = threading.Event()
        self._connections: list[socket.socket] = []
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            self._connections.append(connection)
            threading.Thread(target=self._misbehave, args=(connection,), daemon=True).start()

    def _misbehave(self, connection: socket.socket) -> None:
        try:
            while self.trickle is not None and not self._stop.is_set():
                for byte in self.trickle:
                    connection.sendall(bytes([byte]))
                    if self._stop.wait(self.interval):
                        return
            self._stop.wait()
        except OSError:
            return  # the client gave up and closed

    def close(self) -> None:
        self._stop.set()
        self._socket.close()
        for connection in self._connections:
            connection.close()
        self._thread.join(timeout=5)


@pytest.fixture
def slow_loris() -> Iterator[HostileServer]:
    server = HostileServer(HTTP_ANSWER)
    yield server
    server.close()


@pytest.fixture
def silent_server() -> Iterator[HostileServer]:
    server = HostileServer(None)
    yield server
    server.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections (bound, never listening: no one can take it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def guarded(fn: object, *args: object) -> BaseException:
    """Call ``fn(*args)`` in a thread with a hang guard; the exception it raised.

    A call still hanging at the guard is left behind (not waited for): closing the server at the
    fixture's teardown ends it.
    """
    pool = ThreadPoolExecutor(1)
    try:
        future = pool.submit(fn, *args)  # type: ignore[arg-type]
        exc = future.exception(timeout=HANG_GUARD)
    finally:
        pool.shutdown(wait=False)
    assert exc is not None, "the call succeeded against a server that never answers"
    return exc


# --------------------------------------------------------------------------- the client


def test_a_trickled_answer_is_cut_at_the_request_deadline(slow_loris: HostileServer) -> None:
    # Without a wall-clock deadline, httpx's read timeout starts again at each byte: forever.
    with TalendClient(slow_loris.url, token="pat-value", timeout=1.5) as client:
        failed = guarded(client.environments.list)
    assert isinstance(failed, TalendTimeoutError), failed
    assert failed.sent and failed.timeout == 1.5
    text = str(failed)
    assert f"{slow_loris.url}/orchestration/environments within 1.5s" in text
    assert TIMEOUT_ENV in text and "talend.timeout" in text
    # One request, not retried: a timed-out attempt plus the wait to let it settle is beyond
    # the default time for retrying unanswered calls.
    assert slow_loris.accepted == 1


def test_a_silent_server_gets_one_timeout_not_eight(silent_server: HostileServer) -> None:
    with TalendClient(silent_server.url, token="pat-value", timeout=1.0) as client:
        failed = guarded(client.environments.list)
    assert isinstance(failed, TalendTimeoutError), failed
    assert silent_server.accepted == 1


def test_timeouts_are_retried_within_the_retry_time(silent_server: HostileServer) -> None:
    retry = RetryPolicy(initial_backoff=0.05, timeout_settle=0.1, no_answer_time=2.0)
    with TalendClient(silent_server.url, token="pat-value", timeout=0.5, retry=retry) as client:
        failed = guarded(client.environments.list)
    assert isinstance(failed, TalendTimeoutError), failed
    # Attempts of 0.5s and waits of 0.1s: more than one attempt, and no attempt may start once
    # 2s have gone by without an answer (at most 2 / 0.6 + 1 of them; eight without the bound).
    assert 2 <= silent_server.accepted <= 4


def test_a_trickled_tls_handshake_is_cut_too() -> None:
    server = HostileServer(TLS_RECORD + b"\x00" * 64)
    try:
        url = f"https://127.0.0.1:{server.port}"
        retry = RetryPolicy(no_answer_time=0.1)
        with TalendClient(url, token="pat-value", timeout=1.0, retry=retry) as client:
            failed = guarded(client.environments.list)
    finally:
        server.close()
    assert isinstance(failed, TalendTimeoutError), failed
    assert not failed.sent  # the connection was never opened: safe to retry, even a create


def test_the_deadline_holds_through_a_proxy_from_the_environment(
    slow_loris: HostileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", slow_loris.url)
    with TalendClient("http://api.eu.talend.invalid", token="pat-value", timeout=1.0) as client:
        failed = guarded(client.environments.list)
    assert isinstance(failed, TalendTimeoutError), failed
    assert slow_loris.accepted == 1  # the request went to the (trickling) proxy


def test_an_unreachable_api_is_retried_for_the_retry_time_only(
    closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    retry = RetryPolicy(initial_backoff=0.1, no_answer_time=1.0)
    caplog.set_level(logging.INFO, logger="promoter.talend")
    with TalendClient(url, token="pat-value", retry=retry) as client:
        failed = guarded(client.environments.list)
        retries = client.metrics.snapshot()["retries_total"]
    assert type(failed) is TalendConnectionError and not failed.sent
    assert f"GET {url}/orchestration/environments" in str(failed)
    assert url in (failed.hint or "") and RETRY_TIME_ENV in (failed.hint or "")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying ")]
    # Waits of at least 0.05, 0.1, 0.2, 0.4, 0.8s: no more than four fit in one second.
    assert 1 <= len(lines) == retries <= 4
    for number, line in enumerate(lines, start=1):
        assert re.fullmatch(
            rf"retrying {number}/7 GET {re.escape(url)}/orchestration/environments in [0-9.]+s "
            r"after ConnectError: .*",
            line,
        ), line


@pytest.mark.parametrize(
    "url",
    ["ftp://api.eu.cloud.talend.com", "file:///etc/passwd", "http://", "https://:443", "api.eu.cloud.talend.com", "http://x:99999"],
)
def test_a_url_that_is_not_http_is_refused_at_once(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not an http:// or https:// URL") as refused:
        TalendClient(url, token="pat-value")
    assert refused.value.exit_code == ExitCode.INVALID_INPUT
    assert "TALEND_API_URL" in (refused.value.hint or "")


def test_urls_are_shown_without_credentials() -> None:
    assert check_base_url(" https://api.eu.cloud.talend.com/ ") == "https://api.eu.cloud.talend.com"
    with pytest.raises(ConfigurationError) as refused:
        check_base_url("ftp://user:hunter2@host/")
    assert "hunter2" not in str(refused.value)
    error = TalendConnectionError("GET", "/x", "boom", base_url="https://me:hunter2@proxy.example:8443/")
    assert "hunter2" not in str(error) and "https://proxy.example:8443/x" in str(error)


def test_the_settings_come_from_the_environment_unless_the_file_sets_the_timeout() -> None:
    base = {"TALEND_API_URL": "http://127.0.0.1:9", "TALEND_ACCESS_TOKEN": "pat-value"}
    env = {**base, TIMEOUT_ENV: "2.5", RETRY_TIME_ENV: "1"}
    with TalendClient.from_env(env) as client:
        assert client.transport.timeout == 2.5 and client.transport.retry.no_answer_time == 1.0
    with make_client(TalendSection(), str, env) as client:
        assert client.transport.timeout == 2.5 and client.transport.retry.no_answer_time == 1.0
    with make_client(TalendSection(timeout=7), str, env) as client:
        assert client.transport.timeout == 7.0
    with make_client(TalendSection(), str, base) as client:
        assert client.transport.timeout == 30.0 and client.transport.retry.no_answer_time == 5.0
    for bad in ("soon", "0", "-1", "nan", "inf"):
        with pytest.raises(ConfigurationError, match=TIMEOUT_ENV):
            make_client(TalendSection(), str, {**base, TIMEOUT_ENV: bad})
    with pytest.raises(ConfigurationError, match=RETRY_TIME_ENV):
        TalendClient.from_env({**base, RETRY_TIME_ENV: "x"})


def test_nested_deadlines_keep_the_earlier() -> None:
    assert time_left() is None
    with request_deadline(10):
        outer = time_left()
        assert outer is not None and 0 < outer <= 10
        with request_deadline(60):
            inner = time_left()
            assert inner is not None and inner <= outer
        with request_deadline(None):
            assert time_left() is not None
    assert time_left() is None


# --------------------------------------------------------------------------- promoter plan

PIPELINE = """\
name: deadline
source: {environment: dev, workspace: Finance}
targets:
  - environment: test
artifacts:
  - {name: finance_daily_load, version: latest}
reports: {formats: []}
"""


def plan(tmp_path: Path, api_url: str, *, pipeline: str = PIPELINE, **env: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """``promoter plan`` in a process against ``api_url``; its result and the seconds it took."""
    (tmp_path / "release.yaml").write_text(pipeline, encoding="utf-8")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TALEND_", "PROMOTER_"))}
    environ.update(
        {
            "TALEND_API_URL": api_url,
            "TALEND_ACCESS_TOKEN": "pat-value",
            "PROMOTER_LEDGER": str(tmp_path / "ledger.db"),
            "PROMOTER_CONSOLE": "plain",
            "PYTHONPATH": str(REPO),
            **env,
        }
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "promoter.cli", "plan", "release.yaml", "--target", "test"],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD,
    )
    return done, time.monotonic() - started


def test_plan_against_a_slow_loris_ends_at_the_files_deadline(
    tmp_path: Path, slow_loris: HostileServer
) -> None:
    pipeline = PIPELINE + "talend: {timeout: 2}\n"
    done, seconds = plan(tmp_path, slow_loris.url, pipeline=pipeline)
    print(f"\nslow loris: promoter plan ended in {seconds:.1f}s (talend.timeout: 2)")
    # docs/ci.md: a run that fails before writing anything exits 1.
    assert done.returncode == ExitCode.FAILED_ROLLED_BACK, done.stderr
    assert f"{slow_loris.url}/orchestration/environments within 2s" in done.stderr
    assert TIMEOUT_ENV in done.stderr and "talend.timeout" in done.stderr


def test_plan_against_a_silent_server_ends_at_the_environments_deadline(
    tmp_path: Path, silent_server: HostileServer
) -> None:
    done, seconds = plan(tmp_path, silent_server.url, **{TIMEOUT_ENV: "2"})
    print(f"\nsilent server: promoter plan ended in {seconds:.1f}s ({TIMEOUT_ENV}=2)")
    assert done.returncode == ExitCode.FAILED_ROLLED_BACK, done.stderr
    assert f"{silent_server.url}/orchestration/environments within 2s" in done.stderr
    assert TIMEOUT_ENV in done.stderr and "talend.timeout" in done.stderr


def test_plan_against_an_unreachable_api_fails_fast_with_its_retries_on_stderr(
    tmp_path: Path, closed_port: int
) -> None:
    url = f"http://127.0.0.1:{closed_port}"
    done, seconds = plan(tmp_path, url)
    print(f"\nunreachable API: promoter plan ended in {seconds:.1f}s (defaults)")
    assert done.returncode == ExitCode.FAILED_ROLLED_BACK, done.stderr
    assert f"no answer from Talend Cloud to GET {url}/orchestration/environments" in done.stderr
    retries = re.findall(rf"retrying (\d+)/7 GET {re.escape(url)}/\S+ in [0-9.]+s after ConnectError", done.stderr)
    assert retries and retries == [str(n) for n in range(1, len(retries) + 1)], done.stderr


def test_plan_with_an_ftp_url_is_refused_at_once(tmp_path: Path) -> None:
    done, seconds = plan(tmp_path, "ftp://api.eu.cloud.talend.com")
    print(f"\nftp:// URL: promoter plan ended in {seconds:.1f}s")
    assert done.returncode == ExitCode.INVALID_INPUT, done.stderr
    assert "'ftp://api.eu.cloud.talend.com' is not an http:// or https:// URL" in done.stderr
    assert "retrying" not in done.stderr


# --- the connection pool ---------------------------------------------------------------------------


class _KeepAliveThenClose:
    """A server that answers each connection's first request with keep-alive, then closes the
    connection: a pooled connection the server has closed, as a load balancer's idle timeout
    leaves it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}")
                time.sleep(0.05)  # then close: the client's pooled connection is dead

    def close(self) -> None:
        self.listener.close()


def test_the_pool_does_not_reuse_a_connection_the_server_closed() -> None:
    from promoter.talend.deadline import DeadlineClient, LeanConnectionPool

    server = _KeepAliveThenClose()
    try:
        with DeadlineClient(base_url=server.url) as client:
            assert type(client._transport._pool) is LeanConnectionPool  # type: ignore[attr-defined]
            for _ in range(3):
                assert client.get("/").status_code == 200
                time.sleep(0.15)  # the server has closed it by now
        assert server.connections == 3, "each request after a close needs a new connection"
    finally:
        server.close()


def test_the_pool_reuses_an_open_connection() -> None:
    from promoter.talend.deadline import DeadlineClient

    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        accepted.append(conn)
        with conn:
            while data := conn.recv(65536):
                for _ in range(data.count(b"\r\n\r\n")):
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")

    threading.Thread(target=serve, daemon=True).start()
    try:
        with DeadlineClient(base_url=f"http://127.0.0.1:{listener.getsockname()[1]}") as client:
            assert [client.get("/").status_code for _ in range(20)] == [200] * 20
        assert len(accepted) == 1, "one connection, reused by every request"
    finally:
        listener.close()
