"""Upstream credentials and identity forwarding, end to end through a data plane to a real upstream.

The upstream is the official-SDK echo server (its ``seen_headers`` tool returns what it
received); the OAuth token endpoint is ``tests/servers/token_endpoint.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from data_plane import errors
from shared import keyfiles
from shared.snapshot.credentials import (
    ApiKeyAuth,
    BearerAuth,
    ClientCredentialsAuth,
    IdentityForwarding,
    IdentityJwt,
)
from tests.data_plane.conftest import start_echo_server
from tests.data_plane.credkit import sealed, server, serving_snapshot, with_servers
from tests.data_plane.dpkit import serving
from tests.data_plane.kit import WIDE, KeyPair
from tests.servers.token_endpoint import TokenEndpoint

BEARER = "upstream-bearer-token-7c1f"
API_KEY = "upstream-api-key-93ab"
QUERY_KEY = "upstream-query-key-51de"
CLIENT_SECRET = "client-secret-0d9e-very-secret"
SPOOFED = {
    "X-Forwarded-User": "mallory",
    "X-User-Email": "mallory@example.test",
    "X-MCPGW-Identity": "forged.jwt.value",
    "Cookie": "session=stolen",
}


@pytest.fixture(scope="module")
def open_upstream() -> Iterator[str]:
    """An echo server that requires nothing."""
    yield from start_echo_server()


@pytest.fixture(scope="module")
def query_upstream() -> Iterator[str]:
    """An echo server refusing requests whose query lacks the API key."""
    yield from start_echo_server("--require-query", f"api_key={QUERY_KEY}")


@asynccontextmanager
async def client_for(url: str, extra: dict[str, str] | None = None) -> AsyncIterator[Client]:
    headers = {"Authorization": f"Bearer {WIDE}", **(extra or {})}
    async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
        async with Client(streamable_http_client(url, http_client=http), mode="legacy") as client:
            yield client


async def seen_headers(url: str, extra: dict[str, str] | None = None) -> dict[str, Any]:
    async with client_for(url, extra) as client:
        result = await client.call_tool("seen_headers", {})
    assert not result.is_error, result
    return dict(result.structured_content or {})


async def test_a_bearer_token_arrives_upstream_and_the_client_credentials_and_identity_headers_do_not(
    keys: KeyPair, tmp_path: Path, open_upstream: str
) -> None:
    snapshot = with_servers(keys, {"bearer": server(open_upstream, BearerAuth(token=sealed(keys, BEARER)))})
    async with serving_snapshot(keys, tmp_path, snapshot) as dp:
        seen = await seen_headers(dp.mcp_url("bearer"), SPOOFED)
    assert seen["authorization"] == f"Bearer {BEARER}"
    text = str(seen).lower()
    assert WIDE.lower() not in text
    for name, value in SPOOFED.items():
        assert name.lower() not in seen and value.lower() not in text


async def test_an_api_key_header_arrives_upstream(keys: KeyPair, tmp_path: Path, open_upstream: str) -> None:
    auth = ApiKeyAuth(location="header", name="X-Upstream-Key", value=sealed(keys, API_KEY))
    snapshot = with_servers(keys, {"keyed": server(open_upstream, auth)})
    async with serving_snapshot(keys, tmp_path, snapshot) as dp:
        seen = await seen_headers(dp.mcp_url("keyed"))
    assert seen["x-upstream-key"] == API_KEY
    assert "authorization" not in seen


async def test_an_api_key_in_the_query_reaches_an_upstream_that_requires_it(
    keys: KeyPair, tmp_path: Path, query_upstream: str
) -> None:
    auth = ApiKeyAuth(location="query", name="api_key", value=sealed(keys, QUERY_KEY))
    snapshot = with_servers(keys, {"queried": server(query_upstream, auth), "bare": server(query_upstream)})
    async with serving_snapshot(keys, tmp_path, snapshot) as dp:
        seen = await seen_headers(dp.mcp_url("queried"))  # the upstream answers 401 without it
        assert seen
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Authorization": f"Bearer {WIDE}", "Accept": "application/json, text/event-stream"}
        async with httpx.AsyncClient(timeout=10) as http:
            refused = await http.post(dp.mcp_url("bare"), json=body, headers=headers)
    assert refused.status_code == 401


def client_credentials(
    token_url: str, method: str = "client_secret_basic", *, keys: KeyPair
) -> ClientCredentialsAuth:
    return ClientCredentialsAuth.model_validate(
        {
            "token_url": token_url,
            "client_id": "gateway",
            "client_secret": sealed(keys, CLIENT_SECRET),
            "scopes": ("mcp:read", "mcp:write"),
            "audience": "https://upstream.example.test",
            "auth_method": method,
        }
    )


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_a_client_credentials_token_is_fetched_once_and_arrives_upstream_on_every_call(
    keys: KeyPair, tmp_path: Path, open_upstream: str, method: str
) -> None:
    endpoint = TokenEndpoint(client_id="gateway", client_secret=CLIENT_SECRET)
    async with serving(endpoint.app()) as token_base:
        auth = client_credentials(f"{token_base}/token", method, keys=keys)
        snapshot = with_servers(keys, {"oauth": server(open_upstream, auth)})
        async with serving_snapshot(keys, tmp_path, snapshot) as dp:
            async with client_for(dp.mcp_url("oauth")) as client:
                seen = [await client.call_tool("seen_headers", {}) for _ in range(5)]
    assert len(endpoint.issued) == 1
    assert {s.structured_content["authorization"] for s in seen if s.structured_content} == {
        f"Bearer {endpoint.issued[0]}"
    }
    request = endpoint.requests[0]
    assert request.auth_method == method
    assert request.form["scope"] == "mcp:read mcp:write"
    assert request.form["audience"] == "https://upstream.example.test"


async def test_a_failing_token_endpoint_gets_the_client_a_502_that_names_the_credential_and_no_secret(
    keys: KeyPair, tmp_path: Path, open_upstream: str
) -> None:
    endpoint = TokenEndpoint(client_id="gateway", client_secret="another-secret")  # refuses ours
    async with serving(endpoint.app()) as token_base:
        snapshot = with_servers(
            keys, {"oauth": server(open_upstream, client_credentials(f"{token_base}/token", keys=keys))}
        )
        async with serving_snapshot(keys, tmp_path, snapshot) as dp:
            body = {"jsonrpc": "2.0", "id": 3, "method": "ping"}
            headers = {"Authorization": f"Bearer {WIDE}", "Accept": "application/json, text/event-stream"}
            async with httpx.AsyncClient(timeout=10) as http:
                response = await http.post(dp.mcp_url("oauth"), json=body, headers=headers)
    assert response.status_code == 502
    error = response.json()["error"]
    assert error["code"] == errors.UPSTREAM_CREDENTIAL
    assert "credential" in error["message"]
    assert CLIENT_SECRET not in response.text
    assert len(endpoint.requests) == 1  # a refusal (4xx) is not retried


async def test_the_identity_jwt_verifies_against_the_data_planes_jwks_and_plain_headers_arrive(
    keys: KeyPair, tmp_path: Path, open_upstream: str
) -> None:
    identity_key = keyfiles.generate("Ed25519")
    identity = IdentityForwarding.model_validate(
        {
            "jwt": IdentityJwt(
                header="X-MCPGW-Identity", audience="https://internal.example.test", ttl_seconds=60
            ),
            "headers": {"subject": "X-User-Id", "email": "X-User-Email"},
        }
    )
    snapshot = with_servers(
        keys, {"internal": server(open_upstream, identity=identity)}, identity_key=identity_key
    )
    async with serving_snapshot(keys, tmp_path, snapshot) as dp:
        seen = await seen_headers(dp.mcp_url("internal"), SPOOFED)
        async with httpx.AsyncClient(timeout=10) as http:
            jwks = (await http.get(f"{dp.base_url}/.well-known/jwks.json")).json()
    assert [k["kid"] for k in jwks["keys"]] == [identity_key.thumbprint()]
    assert all("d" not in k for k in jwks["keys"])
    token = jwt.decode(seen["x-mcpgw-identity"], KeySet.import_key_set(jwks), algorithms=["Ed25519"])
    claims = token.claims
    jwt.JWTClaimsRegistry(
        aud={"essential": True, "value": "https://internal.example.test"},
        iss={"essential": True, "value": "urn:mcpgw:group:default"},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(claims)
    assert claims["sub"] == "k-wide" and claims["agent"] == "wide" and claims["workspace"] == "demo"
    assert claims["exp"] - claims["iat"] == 60
    assert seen["x-user-id"] == "k-wide"
    assert "x-user-email" not in seen  # an agent key has no email, and the client's spoofed one is dropped


async def test_the_persisted_snapshot_holds_no_credential_in_clear(
    keys: KeyPair, tmp_path: Path, open_upstream: str
) -> None:
    identity_key = keyfiles.generate("Ed25519")
    snapshot = with_servers(
        keys,
        {
            "bearer": server(open_upstream, BearerAuth(token=sealed(keys, BEARER))),
            "keyed": server(
                open_upstream, ApiKeyAuth(location="query", name="k", value=sealed(keys, QUERY_KEY))
            ),
        },
        identity_key=identity_key,
    )
    async with serving_snapshot(keys, tmp_path, snapshot) as dp:
        await seen_headers(dp.mcp_url("bearer"))
        persisted = [p.read_text() for p in tmp_path.rglob("*.jws")]
    assert persisted
    private_d = str(identity_key.as_dict(private=True)["d"])
    for text in persisted:
        for secret in (BEARER, QUERY_KEY, private_d):
            assert secret not in text
