"""The short cuts of the client's request path do what the long way did: request URLs built
without httpx re-parsing them, answers parsed by pydantic's JSON parser, cookies looked for only
in answers that set some, one SSL context per process, tenacity only from the first failure,
canonical bodies copied without ``deepcopy``. No server needed: httpx's mock transport answers."""

from __future__ import annotations

import copy
import json
import logging
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest

from promoter.talend.client import TalendClient
from promoter.talend.deadline import (
    AnswerCookies,
    DeadlineClient,
    DefaultContextOnUse,
    shared_verification,
)
from promoter.talend.errors import NotFound, ServerError, TalendError
from promoter.talend.models import Page, Task, TaskSummary
from promoter.talend.plugin.workspace import copy_body
from promoter.talend.ratelimit import RateLimits
from promoter.talend.resources.base import many, one, page_of
from promoter.talend.retries import RetryPolicy
from promoter.talend.urls import RequestURLs

TASK_ID = "0aeca6e27ff06615aec4c300"
TASK: dict[str, Any] = {
    "id": TASK_ID,
    "name": "task_00000",
    "version": "1",
    "artifact": {"id": "0a7aed824131702237a51f6b", "name": "job_0000", "version": "1.1.0"},
    "parameters": {"DB_SCHEMA": "finance_dev"},
    "futureField": {"kept": [1, 2.5, None, True]},
}

# ---------------------------------------------------------------------- request URLs

BASES = [
    "http://127.0.0.1:42257",
    "https://api.eu.cloud.talend.com",
    "https://API.EU.cloud.talend.com:443",
    "https://host.example/api/v1",
    "http://[::1]:8080",
    "https://user:pw@host.example:8443/x",
]
PATHS = [
    "/orchestration/executables/tasks/0aeca6e27ff06615aec4c300/run-config",
    "/orchestration/artifacts/abc/versions/1.1.0.20261001080000",
    "/security/oauth/token",
    "/processing/executions/a%2Fb%20c",
    "/a/../b",
    "/a/./b",
    "/a b",
    "/a/b%2f",
    "/a//b",
    "/.hidden",
    "/",
]


@pytest.mark.parametrize("base", BASES)
@pytest.mark.parametrize("path", PATHS)
def test_request_urls_are_the_ones_httpx_would_send(base: str, path: str) -> None:
    client = httpx.Client(base_url=base)
    built = RequestURLs(base)(path)
    expected = client.build_request("GET", path)
    request = client.build_request("GET", built, params={"limit": 5} if path == "/" else None)
    if path == "/":
        expected = client.build_request("GET", path, params={"limit": 5})
    assert str(request.url) == str(expected.url)
    assert request.url == expected.url
    assert request.url.raw_path == expected.url.raw_path
    assert request.headers == expected.headers


@pytest.mark.parametrize("path", ["/a/../b", "/a b", "/a/b%2f", "/a//b", "/.hidden", "/"])
def test_paths_httpx_would_rewrite_are_left_to_httpx(path: str) -> None:
    assert RequestURLs("https://api.eu.cloud.talend.com")(path) == path


def test_a_base_url_with_a_query_leaves_every_path_to_httpx() -> None:
    urls = RequestURLs("https://host.example?tenant=1")
    assert urls("/orchestration/environments") == "/orchestration/environments"


# ---------------------------------------------------------------------- parsing answers


def answer(content: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=content, request=httpx.Request("GET", "http://h/x"))


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (one(Task), TASK),
        (many(Task), [TASK, TASK]),
        (page_of(TaskSummary), {"items": [{"executable": "e1", "name": "n1"}], "total": 1}),
    ],
)
def test_answers_parse_as_with_json_loads(parse: Callable[[httpx.Response], object], body: object) -> None:
    content = json.dumps(body).encode()
    parsed = parse(answer(content))
    if isinstance(parsed, list):
        assert parsed == pydantic.TypeAdapter(list[Task]).validate_python(json.loads(content))
    elif isinstance(parsed, Page):
        assert parsed == Page[TaskSummary].model_validate(json.loads(content))
    else:
        assert parsed == Task.model_validate(json.loads(content))
        assert isinstance(parsed, Task) and parsed.model_extra == {"futureField": TASK["futureField"]}


def test_an_answer_that_is_not_json_fails_as_json_loads_does() -> None:
    with pytest.raises(ValueError) as refused:
        json.loads(b"<html>proxy</html>")
    with pytest.raises(ValueError) as caught:
        one(Task)(answer(b"<html>proxy</html>"))
    assert not isinstance(caught.value, pydantic.ValidationError)
    assert str(caught.value) == str(refused.value)


def test_an_invalid_answer_fails_with_the_errors_of_python_validation() -> None:
    body = {**TASK, "artifact": {"id": 5}}
    with pytest.raises(pydantic.ValidationError) as expected:
        Task.model_validate(body)
    with pytest.raises(pydantic.ValidationError) as caught:
        one(Task)(answer(json.dumps(body).encode()))
    assert caught.value.errors(include_url=False) == expected.value.errors(include_url=False)


def test_json_that_only_json_loads_reads_still_parses() -> None:
    # json.loads reads NaN, pydantic's parser does not: the answer parses as it always did.
    content = b'{"executable": "e", "name": "n", "score": NaN}'
    parsed = one(TaskSummary)(answer(content))
    assert parsed.executable == "e" and parsed.model_extra is not None
    assert parsed.model_extra["score"] != parsed.model_extra["score"]  # NaN


# ---------------------------------------------------------------------- the client over a mock


def mock_client(
    handler: Callable[[httpx.Request], httpx.Response], sleeps: list[float] | None = None
) -> TalendClient:
    client = TalendClient(
        "https://api.eu.cloud.talend.com",
        token="sandbox-token",
        rate_limits=RateLimits.unlimited(),
        retry=RetryPolicy(initial_backoff=0.01, max_backoff=0.02),
        http_transport=httpx.MockTransport(handler),
    )
    if sleeps is not None:
        client.transport._sleep = sleeps.append
    return client


def test_requests_go_to_the_url_httpx_would_build() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=TASK)

    with mock_client(handler) as client:
        task = client.tasks.get("id/with space")
        client.tasks.get(TASK_ID)
    assert task.name == "task_00000"
    assert str(seen[0].url) == "https://api.eu.cloud.talend.com/orchestration/executables/tasks/id%2Fwith%20space"
    assert str(seen[1].url) == f"https://api.eu.cloud.talend.com/orchestration/executables/tasks/{TASK_ID}"
    assert seen[1].headers["Host"] == "api.eu.cloud.talend.com"
    assert seen[1].headers["Authorization"] == "Bearer sandbox-token"


def test_a_retried_call_counts_its_attempts_from_the_first(caplog: pytest.LogCaptureFixture) -> None:
    statuses = iter([503, 502, 200])
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, json=TASK if status == 200 else {"status": status})

    with caplog.at_level(logging.INFO, logger="promoter.talend"), mock_client(handler, sleeps) as client:
        task = client.tasks.get(TASK_ID)
    assert task.id == TASK_ID
    retries = [r.getMessage() for r in caplog.records if r.getMessage().startswith("retrying")]
    assert [m.split(" ")[1] for m in retries] == ["1/7", "2/7"]
    assert "after 503" in retries[0] and "after 502" in retries[1]
    assert len(sleeps) == 2
    assert client.metrics.snapshot()["retries_total"] == 2
    assert client.metrics.snapshot()["requests_total"] == 3


@pytest.mark.parametrize(
    ("status", "error", "retried"),
    [(500, ServerError, True), (404, NotFound, False)],
    ids=["a call that keeps failing raises its last error after every attempt",
         "an error not worth retrying is raised at once"],
)
def test_a_failing_call_is_tried_as_often_as_its_error_deserves(
    status: int, error: type[TalendError], retried: bool
) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json={"status": status, "message": "no"})

    with mock_client(handler, []) as client, pytest.raises(error):
        client.tasks.get(TASK_ID)
    assert len(calls) == (client.transport.retry.max_attempts if retried else 1)


def test_an_unexpected_answer_still_names_the_call_without_its_body() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**TASK, "name": None, "parameters": {"PASSWORD": 5}})

    with mock_client(handler) as client, pytest.raises(TalendError) as caught:
        client.tasks.get(TASK_ID)
    assert "unexpected answer to GET /orchestration/executables/tasks/" in str(caught.value)
    assert "finance_dev" not in str(caught.value)


# ---------------------------------------------------------------------- cookies


def test_cookies_set_by_an_answer_are_kept_and_sent_back() -> None:
    cookies_sent: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        cookies_sent.append(request.headers.get("Cookie"))
        if request.url.path == "/login":
            return httpx.Response(200, headers={"Set-Cookie": "AWSALB=sticky; Path=/"}, json={})
        return httpx.Response(200, json={})

    with DeadlineClient(base_url="https://api.example", transport=httpx.MockTransport(handler)) as http:
        assert isinstance(http.cookies, AnswerCookies)
        http.get("/before")
        http.get("/login")
        http.get("/after")
        http.cookies = {"manual": "1"}
        assert isinstance(http.cookies, AnswerCookies)
        http.get("/manual")
    assert cookies_sent == [None, None, "AWSALB=sticky", "manual=1"]


def test_answers_without_cookies_leave_the_jar_alone() -> None:
    cookies = AnswerCookies({"kept": "yes"})
    cookies.extract_cookies(answer(b"{}"))
    assert dict(cookies) == {"kept": "yes"}


# ---------------------------------------------------------------------- SSL contexts


def test_the_default_ssl_context_is_made_once_per_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    first = shared_verification(True, trust_env=True, http2=False)
    assert isinstance(first, ssl.SSLContext)
    assert first.verify_mode == ssl.CERT_REQUIRED and first.check_hostname
    assert shared_verification(True, trust_env=True, http2=False) is first
    assert shared_verification(True, trust_env=True, http2=True) is not first
    assert shared_verification(True, trust_env=False, http2=False) is not first
    monkeypatch.setenv("SSLKEYLOGFILE", "/dev/null")
    assert shared_verification(True, trust_env=True, http2=False) is not first


def test_any_other_verification_is_used_as_given() -> None:
    context = ssl.create_default_context()
    assert shared_verification(context, trust_env=True, http2=False) is context
    assert shared_verification(False, trust_env=True, http2=False) is False
    assert shared_verification("/etc/ssl/certs", trust_env=True, http2=False) == "/etc/ssl/certs"


def test_clients_share_the_default_ssl_context() -> None:
    one_client = TalendClient("https://api.eu.cloud.talend.com", token="t")
    other = TalendClient("https://api.us.cloud.talend.com", token="t")
    try:
        contexts = [c.transport._http._transport._pool._ssl_context for c in (one_client, other)]  # type: ignore[attr-defined]
    finally:
        one_client.close()
        other.close()
    assert contexts[0] is contexts[1]


# ---------------------------------------------------------------------- canonical bodies


def test_copy_body_is_a_deep_copy() -> None:
    body: dict[str, Any] = {
        "name": "task",
        "tags": ["a", "b"],
        "runConfig": {"trigger": {"type": "DAILY", "interval": 1, "ratio": 0.5, "on": True}},
        "schedule": None,
        "when": datetime(2026, 1, 1, tzinfo=UTC),
        "pair": ("x", ["y"]),
    }
    copied = copy_body(body)
    assert copied == body == copy.deepcopy(body)
    assert copied is not None
    copied["tags"].append("c")
    copied["runConfig"]["trigger"]["type"] = "CRON"
    copied["pair"][1].append("z")
    assert body["tags"] == ["a", "b"]
    assert body["runConfig"]["trigger"]["type"] == "DAILY"
    assert body["pair"] == ("x", ["y"])
    assert copy_body(None) is None


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that no CA signed, and its key (made with openssl)."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def _tls_server(cert: Path, key: Path) -> tuple[str, socket.socket]:
    """An HTTPS server on 127.0.0.1 answering every request with an empty JSON list."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: 2\r\nConnection: close\r\n\r\n[]")
            except (OSError, ssl.SSLError):
                continue  # a client that refused the certificate

    threading.Thread(target=serve, daemon=True).start()
    return f"https://127.0.0.1:{listener.getsockname()[1]}", listener


def test_the_default_context_is_made_on_first_use_and_verifies_certificates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _self_signed(tmp_path)
    url, listener = _tls_server(cert, key)
    try:
        # The context the transports share, made on first use (another test may have used it).
        assert isinstance(shared_verification(True, trust_env=True, http2=False), DefaultContextOnUse)
        context = DefaultContextOnUse(trust_env=True)
        client = DeadlineClient(base_url=url, verify=context)
        assert client._transport._pool._ssl_context is context  # type: ignore[attr-defined]
        assert context._made is None  # nothing loaded yet
        with client, pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            client.get("/")  # a certificate no trusted CA signed is refused
        assert context._made is not None and context._made.cert_store_stats()["x509_ca"] > 0
        # With the environment trusted, SSL_CERT_FILE is the trust store (as httpx does).
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        with DeadlineClient(base_url=url, verify=DefaultContextOnUse(trust_env=True)) as trusting:
            assert trusting.get("/").json() == []
        with (
            DeadlineClient(base_url=url, verify=DefaultContextOnUse(trust_env=False)) as not_trusting,
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
        ):
            not_trusting.get("/")
    finally:
        listener.close()
