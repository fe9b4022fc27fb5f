"""End to end: RFC 8693 token exchange toward the upstream, with the real OIDC provider (its
token-exchange grant registered through oidc-provider's ``registerGrantType``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.gateway import Gateway
from tests.e2e.processes import eventually
from tests.e2e.user_oauth_kit import claims, initialize, mcp_post, user_access_token
from tests.idp.oidc import GATEWAY, SCOPE, OidcProvider, running_provider

pytestmark = pytest.mark.e2e


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    with running_provider() as provider:
        yield provider


def register(gw: Gateway, idp: OidcProvider, *, client_secret: str = GATEWAY[1]) -> None:
    gw.register_upstream(
        auth={
            "type": "token_exchange",
            "token_url": idp.url("/token"),
            "client_id": GATEWAY[0],
            "client_secret": client_secret,
            "resource": gw.upstream_url,
        }
    )
    gw.admin_ok(
        "POST",
        "/identity-providers",
        json={
            "slug": "corp",
            "workspace": "demo",
            "issuer": idp.issuer,
            "algorithms": ["ES256", "RS256"],
            "required_scopes": [SCOPE],
            "servers": ["py"],
        },
    )


def seen_headers(gw: Gateway, token: str) -> dict[str, Any]:
    """Call ``seen_headers`` with ``token`` in one sessionless exchange of raw JSON-RPC."""
    init = initialize(gw, token)
    assert init.status_code == 200, init.text
    session = init.headers.get("mcp-session-id")
    body = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "seen_headers", "arguments": {}},
    }
    headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"} if session else {}
    response = mcp_post(gw, token, body, headers=headers)
    assert response.status_code == 200, response.text
    text = response.text
    payload = (
        text
        if text.startswith("{")
        else next(line[5:] for line in text.splitlines() if line.startswith("data:"))
    )
    result: dict[str, Any] = json.loads(payload)["result"]["structuredContent"]
    return result


def test_the_callers_idp_token_is_exchanged_and_only_the_exchanged_token_goes_upstream(
    gateway: Gateway, idp: OidcProvider
) -> None:
    register(gateway, idp)
    subject_token = user_access_token(idp, resource=gateway.mcp_url("py"), account="alice")

    def served() -> bool:
        return initialize(gateway, subject_token).status_code == 200

    eventually(served, seconds=10, what="the identity provider applied")
    seen = seen_headers(gateway, subject_token)
    exchanged = seen["authorization"].removeprefix("Bearer ")
    assert exchanged != subject_token and subject_token not in str(seen)
    exchanged_claims = claims(exchanged)
    assert exchanged_claims["sub"] == "alice" and exchanged_claims["aud"] == gateway.upstream_url
    assert exchanged_claims["act"] == {"sub": GATEWAY[0]}
    assert seen_headers(gateway, subject_token)["authorization"] == seen["authorization"]  # cached

    key = gateway.admin_ok("POST", "/keys", json={"name": "ci", "workspace": "demo", "servers": ["py"]})
    refused = initialize(gateway, key["secret"])
    assert refused.status_code == 403
    assert (
        refused.json()["error"]["code"] == -32014
        and "identity provider" in refused.json()["error"]["message"]
    )


def test_an_exchange_the_identity_provider_refuses_is_a_clear_error(
    gateway: Gateway, idp: OidcProvider
) -> None:
    register(gateway, idp, client_secret="not-the-gateway-secret")
    subject_token = user_access_token(idp, resource=gateway.mcp_url("py"), account="alice")

    def refused() -> bool:
        response = initialize(gateway, subject_token)
        return response.status_code == 403 and response.json()["error"]["code"] == -32014

    eventually(refused, seconds=10, what="the refusal")
    message = initialize(gateway, subject_token).json()["error"]["message"]
    assert "refused to exchange your token (invalid_client)" in message and subject_token not in message
