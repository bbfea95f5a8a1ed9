"""Talend's ``/security`` family: the OAuth client-credentials grant that issues bearer tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import Response

from promoter.sandbox.codec import basic_credentials
from promoter.sandbox.errors import ApiError, bad_request
from promoter.sandbox.routes.wire import sandbox_of, wire
from promoter.talend import models as m

router = APIRouter(prefix="/security")


@router.post("/oauth/token", response_model=m.TokenResponse, tags=["oauth"])
def oauth_token(
    request: Request,
    body: m.TokenRequest,
    authorization: Annotated[str | None, Header()] = None,
) -> Response:
    """Client-credentials grant: HTTP Basic ``clientId:secret``; the token lives 30 minutes."""
    credentials = basic_credentials(authorization)
    if credentials is None:
        raise ApiError(401, "Missing client credentials", "Send HTTP Basic clientId:secret.")
    if body.grant_type != "client_credentials":
        raise bad_request("Unsupported grant_type", "Only client_credentials is supported.")
    token, ttl = sandbox_of(request).issue_token(*credentials)
    return wire(m.TokenResponse(access_token=token, token_type="Bearer", expires_in=str(ttl)))
