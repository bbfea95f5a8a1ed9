"""Authentication: every route of the sandbox's OpenAPI document — Talend's and the sandbox's own
``/_sandbox`` admin routes — refuses a missing, wrong, non-bearer or expired token; and the client
renews an expiring OAuth token by itself in the middle of a promotion.

(``tests/sandbox/test_conformance.py`` checks the 401 bodies of the Talend operations against
the published specs; this walks the served document, admin routes included.)
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from reliability.estate import Workbench, fast_settings, large_pipeline

from promoter.sandbox import Sandbox

PUBLIC = {("POST", "/security/oauth/token")}
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox.start(seed="demo", settings=fast_settings(token_ttl=1.0)) as running:
        yield running


def operations(sandbox: Sandbox) -> list[tuple[str, str]]:
    document = httpx.get(sandbox.base_url + "/openapi.json", timeout=10).json()
    return sorted(
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def oauth_token(sandbox: Sandbox) -> str:
    answer = httpx.post(
        sandbox.base_url + "/security/oauth/token",
        json={"audience": sandbox.base_url, "grant_type": "client_credentials"},
        auth=(sandbox.client_id, sandbox.client_secret),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def test_every_route_refuses_missing_wrong_and_expired_tokens(sandbox: Sandbox) -> None:
    routes = operations(sandbox)
    admin = [r for r in routes if r[1].startswith("/_sandbox")]
    assert len(routes) >= 60 and len(admin) >= 8
    expired = oauth_token(sandbox)
    time.sleep(1.2)  # the sandbox's tokens live one second here
    refusals = {
        "no header": {},
        "wrong bearer": {"Authorization": "Bearer not-a-token"},
        "basic credentials": {"Authorization": "Basic c2FuZGJveC1jbGllbnQ6c2FuZGJveC1zZWNyZXQ="},
        "bare bearer": {"Authorization": "Bearer"},
        "expired oauth token": {"Authorization": f"Bearer {expired}"},
    }
    refused = 0
    with httpx.Client(base_url=sandbox.base_url, timeout=10) as http:
        for method, path in routes:
            if (method, path) in PUBLIC:
                continue
            # Any id will do: authentication comes before the look-up.
            url = "/".join(UNKNOWN_ID if "{" in part else part for part in path.split("/"))
            body = {"name": "x"} if method in ("POST", "PUT", "PATCH") else None
            for what, headers in refusals.items():
                answer = http.request(method, url, headers=headers, json=body)
                assert answer.status_code == 401, (method, path, what, answer.status_code)
                assert answer.json()["status"] == 401
                refused += 1
        # The routes are there: the same calls with a valid token are not refused.
        good = {"Authorization": f"Bearer {sandbox.token}"}
        for method, path in routes:
            if method == "GET" and "{" not in path:
                assert http.get(path, headers=good).status_code != 401, path
    # Nothing unauthenticated got through to change state.
    assert refused >= 5 * 60


def test_the_client_renews_an_expiring_oauth_token_during_a_promotion(tmp_path: Path) -> None:
    """Tokens live two seconds; the promotion (with a smoke run of 4.5) lasts more than two of
    them whatever promoter's own start-up costs."""
    settings = fast_settings(token_ttl=2.0, run_seconds=4.5)
    with Sandbox.start(seed="large", tasks=10, settings=settings) as sandbox:
        bench = Workbench(sandbox, tmp_path)
        bench.write("release.yaml", large_pipeline(artifacts=2, smoke=("task_00000",)))
        env = bench.env(
            TALEND_ACCESS_TOKEN=None,
            TALEND_CLIENT_ID=sandbox.client_id,
            TALEND_CLIENT_SECRET=sandbox.client_secret,
        )
        started = time.monotonic()
        done = bench.cli("promote", "release.yaml", "--yes", "--output", "json", env=env)
        lasted = time.monotonic() - started
        assert done.returncode == 0, done.stderr[-3000:]
        outcome = json.loads(done.stdout)
        log = sandbox.requests()
    assert outcome["status"] == "promoted" and lasted > 2 * settings.token_ttl
    fetched = [e for e in log if e["path"] == "/security/oauth/token" and e["status"] == 200]
    assert len(fetched) >= 2
    assert outcome["metrics"]["talend"]["token_refreshes"] == len(fetched)
    # Renewed before expiry; a request refused because a renewal came late costs one fetch.
    refused = [e for e in log if e["status"] == 401]
    assert len(refused) < len(fetched)
