"""Clients authenticating with a real OIDC provider's tokens (JWT and opaque) through the data plane."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from data_plane import errors
from tests.data_plane.dpkit import RunningDataPlane
from tests.data_plane.identity_kit import RESOURCE, data_plane_trusting
from tests.data_plane.kit import KeyPair
from tests.idp.oidc import OidcProvider, oidc_provider  # noqa: F401  (fixture)

ACCEPT = "application/json, text/event-stream"
METADATA = "https://dp.example.test/.well-known/oauth-protected-resource/py/mcp"
REVOKED_KEY = "mcpgw_test_revoked_0123456789abcdefgh"


@pytest.fixture
async def dp(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    tmp_path: Path,
    json_upstream: str,
) -> AsyncIterator[RunningDataPlane]:
    async with data_plane_trusting(oidc_provider, keys, tmp_path, json_upstream) as running:
        yield running


async def _post(dp: RunningDataPlane, authorization: str | None, slug: str = "py") -> httpx.Response:
    headers = {"Content-Type": "application/json", "Accept": ACCEPT}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = b'{"jsonrpc": "2.0", "id": 1, "method": "tools/list"}'
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(dp.mcp_url(slug), content=body, headers=headers)


async def _add_with(dp: RunningDataPlane, token: str) -> object:
    """Call the upstream's ``add`` tool with the official client presenting ``token``."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=10) as http:
        async with Client(streamable_http_client(dp.mcp_url(), http_client=http)) as client:
            result = await client.call_tool("add", {"a": 2, "b": 40})
    return result.structured_content


def _forged(provider: OidcProvider, **claims: object) -> str:
    """A token signed with a key the provider does not publish."""
    now = int(time.time())
    payload = {"iss": provider.issuer, "aud": RESOURCE, "sub": "mallory", "iat": now, "exp": now + 300}
    return jwt.encode({"alg": "ES256", "kid": "not-published"}, payload | claims, ECKey.generate_key("P-256"))


def _with_published_kid(provider: OidcProvider) -> str:
    """Signed with our key under a kid the provider does publish: the signature cannot verify."""
    kid = next(k["kid"] for k in provider.jwks()["keys"] if k["alg"] == "ES256")
    now = int(time.time())
    payload = {"iss": provider.issuer, "aud": RESOURCE, "sub": "mallory", "iat": now, "exp": now + 300}
    return jwt.encode({"alg": "ES256", "kid": kid}, payload, ECKey.generate_key("P-256"))


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unsigned(provider: OidcProvider) -> str:
    """``alg: none`` (joserfc refuses to make one, rightly): header and payload, empty signature."""
    now = int(time.time())
    claims = {"iss": provider.issuer, "aud": RESOURCE, "sub": "x", "exp": now + 60}
    return f"{_b64({'alg': 'none'})}.{_b64(claims)}."


async def test_a_provider_issued_jwt_calls_a_tool_through_the_data_plane(
    dp: RunningDataPlane,
    oidc_provider: OidcProvider,  # noqa: F811
) -> None:
    assert await _add_with(dp, oidc_provider.access_token(resource=RESOURCE)) == {"result": 42}


async def test_an_opaque_token_is_introspected_and_refused_once_revoked(
    dp: RunningDataPlane,
    oidc_provider: OidcProvider,  # noqa: F811
) -> None:
    token = oidc_provider.access_token()
    assert token.count(".") != 2  # opaque
    assert await _add_with(dp, token) == {"result": 42}

    other = oidc_provider.access_token()
    oidc_provider.revoke(other)
    refused = await _post(dp, f"Bearer {other}")
    assert refused.status_code == 401
    assert 'error="invalid_token"' in refused.headers["WWW-Authenticate"]


REJECTIONS = [
    ("alg none", lambda p: f"Bearer {_unsigned(p)}"),
    ("unknown kid", lambda p: f"Bearer {_forged(p)}"),
    ("wrong signing key", lambda p: f"Bearer {_with_published_kid(p)}"),
    ("wrong issuer", lambda p: f"Bearer {_forged(p, iss='https://evil.example.test')}"),
    ("wrong audience", lambda p: f"Bearer {p.access_token(resource='https://elsewhere.example.test/mcp')}"),
    ("revoked gateway key", lambda _p: f"Bearer {REVOKED_KEY}"),
]


@pytest.mark.parametrize(("case", "authorization"), REJECTIONS, ids=[c[0] for c in REJECTIONS])
async def test_refused_tokens_get_401_with_an_invalid_token_challenge(
    dp: RunningDataPlane,
    oidc_provider: OidcProvider,  # noqa: F811
    case: str,
    authorization: object,
) -> None:
    assert callable(authorization)
    response = await _post(dp, authorization(oidc_provider))
    assert response.status_code == 401, case
    assert response.json()["error"]["code"] == errors.UNAUTHENTICATED
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert challenge.endswith(f'resource_metadata="{METADATA}"')


@pytest.mark.parametrize("authorization", [None, "Basic Zm9vOmJhcg==", "Bearer", "Token abc"])
async def test_missing_or_malformed_authorization_gets_the_bare_challenge(
    dp: RunningDataPlane, authorization: str | None
) -> None:
    response = await _post(dp, authorization)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == f'Bearer resource_metadata="{METADATA}"'


async def test_protected_resource_metadata_names_the_endpoint_and_the_provider(
    dp: RunningDataPlane,
    oidc_provider: OidcProvider,  # noqa: F811
) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        found = await http.get(f"{dp.base_url}/.well-known/oauth-protected-resource/py/mcp")
        unknown = await http.get(f"{dp.base_url}/.well-known/oauth-protected-resource/nope/mcp")
        without = await http.get(f"{dp.base_url}/.well-known/oauth-protected-resource/other/mcp")
    assert found.status_code == 200
    assert found.json() == {
        "resource": RESOURCE,
        "authorization_servers": [oidc_provider.issuer],
        "bearer_methods_supported": ["header"],
    }
    assert unknown.status_code == 404
    assert without.json() == {
        "resource": "https://dp.example.test/other/mcp",
        "bearer_methods_supported": ["header"],
    }


async def test_a_token_without_a_required_scope_gets_403_insufficient_scope(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    tmp_path: Path,
    json_upstream: str,
) -> None:
    async with data_plane_trusting(
        oidc_provider, keys, tmp_path, json_upstream, required_scopes=["mcp:admin"]
    ) as dp:
        response = await _post(dp, f"Bearer {oidc_provider.access_token(resource=RESOURCE)}")
        async with httpx.AsyncClient(timeout=10) as http:
            metadata = (await http.get(f"{dp.base_url}/.well-known/oauth-protected-resource/py/mcp")).json()
    assert response.status_code == 403
    assert response.json()["error"]["code"] == errors.INSUFFICIENT_SCOPE
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope", scope="mcp:admin"')
    assert metadata["scopes_supported"] == ["mcp:admin"]
