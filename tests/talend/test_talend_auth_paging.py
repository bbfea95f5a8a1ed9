"""OAuth client credentials (fetch, refresh before expiry, renewal on 401), personal tokens, and
paging over more than 250 objects, against the sandbox."""

from __future__ import annotations

import time

import pytest
from talend_helpers import clear_settled, settled_requests

from promoter.sandbox import Sandbox
from promoter.talend import models as m
from promoter.talend.auth import ClientCredentials
from promoter.talend.client import TalendClient
from promoter.talend.errors import Unauthorized
from promoter.talend.retries import RetryPolicy


def _token_requests(sandbox: Sandbox) -> int:
    return sum(1 for e in settled_requests(sandbox) if e["path"] == "/security/oauth/token")


def test_client_credentials_refresh_before_expiry(talend_sandbox: Sandbox, fast_retries: RetryPolicy) -> None:
    # A 5-second token, refreshed when a fifth of it (1 s) remains: the first calls share it even
    # on a loaded machine, and the call after it lapsed asks for a new one first.
    talend_sandbox.set_token_ttl(5)
    with TalendClient(
        talend_sandbox.base_url,
        client_id=talend_sandbox.client_id,
        client_secret=talend_sandbox.client_secret,
        retry=fast_retries,
    ) as client:
        assert [e.name for e in client.environments.list()] == ["dev", "test", "prod"]
        assert _token_requests(talend_sandbox) == 1
        client.workspaces.list()  # same token
        assert _token_requests(talend_sandbox) == 1
        time.sleep(5.0)
        client.workspaces.list()  # expired: a new token first, no 401
        assert _token_requests(talend_sandbox) == 2
        statuses = [e["status"] for e in settled_requests(talend_sandbox)]
        assert 401 not in statuses
        assert client.metrics.snapshot()["token_refreshes"] == 2
        # The token request carries the documented body.
        token_call = next(e for e in settled_requests(talend_sandbox) if e["path"] == "/security/oauth/token")
        assert token_call["method"] == "POST" and token_call["status"] == 200


def test_client_credentials_renewed_once_on_401(talend_sandbox: Sandbox, fast_retries: RetryPolicy) -> None:
    # The client's clock stands still, so it believes its token valid after the server expired it.
    talend_sandbox.set_token_ttl(1)
    frozen = ClientCredentials(talend_sandbox.client_id, talend_sandbox.client_secret, clock=lambda: 0.0)
    with TalendClient(talend_sandbox.base_url, auth=frozen, retry=fast_retries) as client:
        client.environments.list()
        time.sleep(1.2)
        assert client.environments.get_by_name("dev") is not None  # 401, new token, success
    log = [(e["path"], e["status"]) for e in settled_requests(talend_sandbox)]
    assert log == [
        ("/security/oauth/token", 200),
        ("/orchestration/environments", 200),
        ("/orchestration/environments", 401),
        ("/security/oauth/token", 200),
        ("/orchestration/environments", 200),
    ]


def test_bad_credentials_say_what_to_check(talend_sandbox: Sandbox, fast_retries: RetryPolicy) -> None:
    with (
        TalendClient(talend_sandbox.base_url, token="not-a-valid-token", retry=fast_retries) as client,
        pytest.raises(Unauthorized) as refused,
    ):
        client.environments.list()
    assert "TALEND_ACCESS_TOKEN" in str(refused.value) and refused.value.request_id
    assert len(settled_requests(talend_sandbox)) == 1  # a personal token cannot be renewed: not retried

    with (
        TalendClient(
            talend_sandbox.base_url, client_id=talend_sandbox.client_id, client_secret="wrong-secret", retry=fast_retries
        ) as client,
        pytest.raises(Unauthorized) as refused,
    ):
        client.environments.list()
    assert "TALEND_CLIENT_SECRET" in str(refused.value)


@pytest.mark.sandbox_seed("large", tasks=260)
def test_paging_over_more_than_250_objects(talend_sandbox: Sandbox, client: TalendClient) -> None:
    finance = client.workspaces.get_by_name("Finance", environment_name="dev")
    assert finance is not None
    clear_settled(talend_sandbox)
    tasks = client.tasks.list(workspace_id=finance.id).all()
    assert len(tasks) == 260 and len({t.executable for t in tasks}) == 260
    # Three pages of at most 100, no request per item (no N+1).
    pages = [e for e in settled_requests(talend_sandbox)]
    assert [(e["path"], e["query"]) for e in pages] == [
        ("/orchestration/executables/tasks", f"workspaceId={finance.id}&offset={offset}&limit=100")
        for offset in (0, 100, 200)
    ]
    walked = list(client.tasks.list(workspace_id=finance.id).pages())
    assert [len(p.items) for p in walked] == [100, 100, 60] and walked[0].total == 260
    # Paged through a POST body too, and with a small page size.
    searched = client.tasks.search(m.TaskSearchRequest(workspace_id=finance.id, limit=40)).all()
    assert [t.executable for t in searched] == [t.executable for t in tasks]
    assert client.tasks.list(workspace_id=finance.id).total() == 260
    # Stopping early fetches no more pages.
    clear_settled(talend_sandbox)
    first_five = [t for _, t in zip(range(5), client.tasks.list(workspace_id=finance.id), strict=False)]
    assert len(first_five) == 5 and len(settled_requests(talend_sandbox)) == 1
