"""Canary secrets — a personal access token, an OAuth client secret and secret connection values —
never appear in the client's logs (DEBUG included), exception messages or reprs."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from promoter.sandbox import FaultConfig, Sandbox, SandboxSettings
from promoter.talend import models as m
from promoter.talend.client import TalendClient
from promoter.talend.errors import Conflict, NotFound, Unauthorized
from promoter.talend.retries import RetryPolicy

CANARY_TOKEN = "canary-token-5d1e0c2b9a"
CANARY_SECRET = "canary-secret-77f0a3e1c4"
CANARY_PASSWORD = "canary-password-0b6d2e9f13"
CANARY_KEY = "canary-apikey-c3a85e7d20"
CANARIES = (CANARY_TOKEN, CANARY_SECRET, CANARY_PASSWORD, CANARY_KEY)


@pytest.fixture
def canary_sandbox() -> Iterator[Sandbox]:
    settings = SandboxSettings(
        tokens={CANARY_TOKEN}, clients={"canary-client": CANARY_SECRET}, budgets=None, run_seconds=0.1
    )
    with Sandbox.start(seed="demo", settings=settings) as sandbox:
        yield sandbox


def _assert_clean(text: str) -> None:
    for canary in CANARIES:
        assert canary not in text, canary


def test_canaries_never_leak(
    canary_sandbox: Sandbox, fast_retries: RetryPolicy, caplog: pytest.LogCaptureFixture
) -> None:
    texts: list[str] = []
    caplog.set_level(logging.DEBUG)
    # Faults, so that retries and reconciliations are logged too.
    canary_sandbox.set_faults(FaultConfig(error_rate=0.2, drop_after_rate=0.1, seed=5))
    for client in (
        TalendClient(canary_sandbox.base_url, token=CANARY_TOKEN, retry=fast_retries),
        TalendClient(
            canary_sandbox.base_url, client_id="canary-client", client_secret=CANARY_SECRET, retry=fast_retries
        ),
    ):
        with client:
            texts += [repr(client), str(client), repr(client.transport), repr(client.transport.auth)]
            finance = client.workspaces.get_by_name("Finance", environment_name="dev")
            assert finance is not None and finance.id
            name = f"vault_{len(texts)}"
            created = client.connections.create(
                m.ConnectionCreateRequest(
                    name=name,
                    workspace_id=finance.id,
                    app="HTTP",
                    parameters=[
                        m.ConnectionParameter(name="url", value="https://api.example.com"),
                        m.ConnectionParameter(name="password", value=CANARY_PASSWORD, encrypted=True),
                        m.ConnectionParameter(name="apiKey", value=CANARY_KEY),  # secret by its name
                    ],
                )
            )
            assert {p.value for p in created.parameters} >= {CANARY_PASSWORD, CANARY_KEY}  # the data is intact
            listed = client.connections.list(workspace_id=finance.id).all()
            texts += [repr(created), str(created), repr(listed), str(created.parameters)]
            # Errors whose text would carry the secrets: a path made of one, a server that echoes it.
            for secret in (CANARY_PASSWORD, CANARY_KEY):
                with pytest.raises(NotFound) as missing:
                    client.connections.get(secret)
                texts += [str(missing.value), repr(missing.value), missing.value.path]
            with pytest.raises(Conflict) as conflict:  # the name is taken (by a different connection)
                client.connections.create(
                    m.ConnectionCreateRequest(name=name, workspace_id=finance.id, app="HTTP", parameters=created.parameters[1:])
                )
            texts.append(str(conflict.value))
            client.connections.delete(created.id)

    # Refused credentials: the error names what to check, never the value.
    canary_sandbox.set_faults()
    for client in (
        TalendClient(canary_sandbox.base_url, token=CANARY_TOKEN + "-revoked", retry=fast_retries),
        TalendClient(
            canary_sandbox.base_url, client_id="canary-client", client_secret=CANARY_SECRET + "-old", retry=fast_retries
        ),
    ):
        with client, pytest.raises(Unauthorized) as refused:
            client.environments.list()
        texts += [str(refused.value), repr(client)]

    assert any("GET /orchestration/workspaces" in r.getMessage() for r in caplog.records)  # logged
    assert any(r.levelno == logging.INFO and "retrying" in r.getMessage() for r in caplog.records)
    _assert_clean(caplog.text)
    for record in caplog.records:
        _assert_clean(record.getMessage())
        _assert_clean(repr(record.__dict__))
    for text in texts:
        _assert_clean(text)
