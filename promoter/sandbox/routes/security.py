"""Talend's ``/security`` family: the OAuth client-credentials grant that issues bearer tokens."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from promoter.sandbox.codec import basic_credentials
from promoter.sandbox.errors import ApiError, bad_request
from promoter.sandbox.routes.wire import sandbox_of, wire
from promoter.talend import models as m

router = APIRouter(prefix="/security")

FORM = "application/x-www-form-urlencoded"

# The request body as documented: Talend's JSON ``TokenRequest``, or RFC 6749's form.
_TOKEN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": m.TokenRequest.model_json_schema(by_alias=True)},
            FORM: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {"type": "string", "enum": ["client_credentials"]},
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "audience": {"type": "string"},
                    },
                }
            },
        },
    }
}


def _form_request(raw: bytes, authorization: str | None) -> tuple[str | None, tuple[str, str] | None]:
    """``(grant_type, credentials)`` of an RFC 6749 client-credentials request (section 4.4):
    the client authenticates with HTTP Basic or with ``client_id``/``client_secret`` in the body
    (section 2.3.1), not both."""
    try:
        fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(raw)))
    except (UnicodeDecodeError, ValueError):
        raise bad_request("Invalid request", "The form body is not application/x-www-form-urlencoded.") from None
    basic = basic_credentials(authorization)
    in_body = "client_id" in fields or "client_secret" in fields
    if basic is not None and in_body:
        raise bad_request("Invalid request", "Authenticate the client once: HTTP Basic or client_id/client_secret.")
    if in_body:
        return fields.get("grant_type"), (fields.get("client_id", ""), fields.get("client_secret", ""))
    return fields.get("grant_type"), basic


def _json_request(raw: bytes, authorization: str | None) -> tuple[str | None, tuple[str, str] | None]:
    """``(grant_type, credentials)`` of Talend's JSON ``TokenRequest``, the client in HTTP Basic."""
    try:
        body = m.TokenRequest.model_validate_json(raw or b"null")
    except ValidationError as exc:
        problems = "; ".join(
            f"body.{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors()
        )
        raise bad_request("Invalid request", problems) from None
    return body.grant_type, basic_credentials(authorization)


@router.post("/oauth/token", response_model=m.TokenResponse, tags=["oauth"], openapi_extra=_TOKEN_BODY)
async def oauth_token(
    request: Request,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Client-credentials grant; the token lives 30 minutes.

    Talend's JSON ``TokenRequest`` (``grant_type``, ``audience``) with HTTP Basic
    ``clientId:secret``, or RFC 6749's form (``application/x-www-form-urlencoded``:
    ``grant_type=client_credentials``, the client in HTTP Basic or in ``client_id`` and
    ``client_secret``) — what generic OAuth clients send.
    """
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    raw = await request.body()
    read = _form_request if media_type == FORM else _json_request
    grant_type, credentials = read(raw, authorization)
    if credentials is None:
        raise ApiError(401, "Missing client credentials", "Send HTTP Basic clientId:secret.")
    if grant_type != "client_credentials":
        raise bad_request("Unsupported grant_type", "Only client_credentials is supported.")
    token, ttl = await run_in_threadpool(sandbox_of(request).issue_token, *credentials)
    return wire(m.TokenResponse(access_token=token, token_type="Bearer", expires_in=str(ttl)))
