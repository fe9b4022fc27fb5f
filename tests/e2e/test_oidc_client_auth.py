"""End to end: an identity provider registered through the admin API, a real OIDC provider
process, and the official MCP client completing OAuth from the gateway's 401 alone."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from tests.e2e.gateway import Gateway
from tests.e2e.processes import eventually
from tests.idp.oidc import SCOPE, OidcProvider, running_provider

pytestmark = pytest.mark.e2e

REDIRECT_URI = "http://127.0.0.1:9/callback"


@pytest.fixture
def idp() -> Iterator[OidcProvider]:
    with running_provider() as provider:
        yield provider


def register(gw: Gateway, idp: OidcProvider) -> dict[str, Any]:
    gw.register_upstream()
    created: dict[str, Any] = gw.admin_ok(
        "POST",
        "/identity-providers",
        json={
            "slug": "test-idp",
            "workspace": "demo",
            "issuer": idp.issuer,
            "algorithms": ["ES256", "RS256"],
            "required_scopes": [SCOPE],
            "servers": ["py"],
        },
    )
    return created


def metadata_names(gw: Gateway, issuer: str) -> bool:
    url = f"http://127.0.0.1:{gw.dp_port}/.well-known/oauth-protected-resource/py/mcp"
    response = httpx.get(url, timeout=5)
    return response.status_code == 200 and response.json().get("authorization_servers") == [issuer]


class MemoryStorage:
    """Token storage for the MCP client, with the provider's pre-registered public client."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client = OAuthClientInformationFull(
            client_id="mcp-client",
            redirect_uris=[REDIRECT_URI],  # type: ignore[list-item]
            token_endpoint_auth_method="none",
            grant_types=["authorization_code"],
        )

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Browser:
    """Follows the authorization URL like a browser would; the provider's interaction auto-approves."""

    def __init__(self) -> None:
        self.callback: dict[str, list[str]] | None = None

    async def redirect(self, authorization_url: str) -> None:
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as http:
            url = authorization_url
            for _ in range(10):
                response = await http.get(url)
                location = response.headers.get("location")
                assert response.status_code in (302, 303), response.text
                assert location is not None
                url = str(response.url.join(location))
                if url.startswith(REDIRECT_URI):
                    self.callback = parse_qs(urlparse(url).query)
                    return
        raise AssertionError("the authorization flow did not reach the redirect URI")

    async def code(self) -> AuthorizationCodeResult:
        assert self.callback is not None and "code" in self.callback, self.callback
        return AuthorizationCodeResult(
            code=self.callback["code"][0],
            state=self.callback.get("state", [None])[0],
            iss=self.callback.get("iss", [None])[0],
        )


async def test_the_official_client_completes_oauth_from_the_401_and_calls_a_tool(
    gateway: Gateway, idp: OidcProvider
) -> None:
    register(gateway, idp)
    eventually(lambda: metadata_names(gateway, idp.issuer), seconds=10, what="metadata names the IdP")
    browser = Browser()
    storage = MemoryStorage()
    auth = OAuthClientProvider(
        server_url=gateway.mcp_url("py"),
        client_metadata=OAuthClientMetadata(
            redirect_uris=[REDIRECT_URI],  # type: ignore[list-item]
            token_endpoint_auth_method="none",
            grant_types=["authorization_code"],
        ),
        storage=storage,
        redirect_handler=browser.redirect,
        callback_handler=browser.code,
    )
    async with httpx2.AsyncClient(auth=auth, timeout=30) as http:
        async with Client(streamable_http_client(gateway.mcp_url("py"), http_client=http)) as client:
            result = await client.call_tool("add", {"a": 2, "b": 40})
    assert result.structured_content == {"result": 42}
    assert (
        storage.tokens is not None and storage.tokens.access_token.count(".") == 2
    )  # a JWT for the resource

    def audited() -> bool:
        params = {"tool": "add", "identity_provider": "test-idp"}
        items = gateway.admin_ok("GET", "/audit-events", params=params)["items"]
        return any(e["key_name"] == "test-user" and e["status"] == "ok" for e in items)

    eventually(audited, seconds=10, what="audit event naming the subject and its identity provider")


async def test_a_client_credentials_token_works_and_deleting_the_provider_revokes_it(
    gateway: Gateway, idp: OidcProvider
) -> None:
    register(gateway, idp)
    eventually(lambda: metadata_names(gateway, idp.issuer), seconds=10, what="metadata names the IdP")
    token = idp.access_token(resource=gateway.mcp_url("py"))
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        async with Client(streamable_http_client(gateway.mcp_url("py"), http_client=http)) as client:
            assert (await client.call_tool("echo", {"text": "hi"})).content[0].text == "hi"  # type: ignore[union-attr]

    gateway.admin_ok("DELETE", "/identity-providers/test-idp")

    def refused() -> bool:
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream"}
        response = httpx.post(gateway.mcp_url("py"), json=body, headers=headers, timeout=5)
        return response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]

    eventually(refused, seconds=10, what="token refused once its provider is deleted")
