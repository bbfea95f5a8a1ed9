"""The sandbox's token endpoint takes RFC 6749's client-credentials request — a form body
(``application/x-www-form-urlencoded``), the client in HTTP Basic or in the body — as generic
OAuth clients send it, as well as Talend's JSON ``TokenRequest``. Plain httpx over HTTP."""

from __future__ import annotations

import httpx

from promoter.sandbox import Sandbox

TOKEN = "/security/oauth/token"
PROTECTED = "/orchestration/environments"


def works(sandbox: Sandbox, answer: httpx.Response) -> bool:
    """Whether ``answer`` is a token, and the token is accepted on a protected route."""
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and int(body["expires_in"]) > 0
    listed = httpx.get(
        sandbox.base_url + PROTECTED, headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    return listed.status_code == 200 and any(e["name"] == "prod" for e in listed.json())


def test_a_form_request_with_http_basic_gets_a_working_token(module_sandbox: Sandbox) -> None:
    answer = httpx.post(
        module_sandbox.base_url + TOKEN,
        data={"grant_type": "client_credentials"},
        auth=(module_sandbox.client_id, module_sandbox.client_secret),
    )
    assert answer.request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert works(module_sandbox, answer)


def test_a_form_request_with_the_client_in_the_body_gets_a_working_token(
    module_sandbox: Sandbox,
) -> None:
    answer = httpx.post(
        module_sandbox.base_url + TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": module_sandbox.client_id,
            "client_secret": module_sandbox.client_secret,
        },
    )
    assert works(module_sandbox, answer)


def test_the_json_request_still_works(module_sandbox: Sandbox) -> None:
    answer = httpx.post(
        module_sandbox.base_url + TOKEN,
        json={"grant_type": "client_credentials", "audience": module_sandbox.base_url},
        auth=(module_sandbox.client_id, module_sandbox.client_secret),
    )
    assert works(module_sandbox, answer)


def test_form_requests_are_refused_as_json_ones_are(module_sandbox: Sandbox) -> None:
    url, client = module_sandbox.base_url + TOKEN, module_sandbox.client_id

    def status(**request: object) -> int:
        return httpx.post(url, **request).status_code  # type: ignore[arg-type]

    grant = {"grant_type": "client_credentials"}
    assert status(data=grant, auth=(client, "wrong")) == 401
    assert status(data={**grant, "client_id": client, "client_secret": "wrong"}) == 401
    assert status(data=grant) == 401  # no client at all
    assert status(data={"grant_type": "password"}, auth=(client, module_sandbox.client_secret)) == 400
    both = {**grant, "client_id": client, "client_secret": module_sandbox.client_secret}
    assert status(data=both, auth=(client, module_sandbox.client_secret)) == 400  # RFC 6749 2.3.1
    answer = httpx.post(url, data=grant, auth=(client, "wrong"))
    assert answer.json()["status"] == 401 and "access_token" not in answer.text
