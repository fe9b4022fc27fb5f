"""End to end: per-user OAuth connections to an upstream, with the real OIDC provider as the
upstream's authorization server, real control-plane and data-plane processes, and an
official-SDK upstream that reports the Authorization header it received."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.gateway import UPSTREAM_SECRET, Gateway
from tests.e2e.processes import eventually
from tests.e2e.user_oauth_kit import (
    Person,
    claims,
    connect,
    dump_database,
    initialize,
    log_in,
    person,
    query,
    register_user_oauth_server,
    start_connecting,
    stored_refresh_token,
)
from tests.idp.oidc import UPSTREAM_APP, OidcProvider, running_provider

pytestmark = pytest.mark.e2e

SHORT_TTL = 3
"""Seconds an upstream access token lives in the refresh test."""


@pytest.fixture
def idp(gateway: Gateway, request: pytest.FixtureRequest) -> Iterator[OidcProvider]:
    ttl = getattr(request, "param", 0)
    with running_provider(
        upstream_redirect=f"{gateway.admin_url}/oauth/callback", upstream_ttl=ttl
    ) as provider:
        yield provider


async def upstream_authorization(gw: Gateway, who: Person) -> str:
    async with gw.mcp_client("py", who.key) as client:
        seen: dict[str, Any] = (await client.call_tool("seen_headers", {})).structured_content or {}
    assert who.key not in str(seen)
    return str(seen["authorization"])


def refusal(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_each_user_gets_their_own_token_upstream_and_an_unconnected_caller_is_told_where_to_connect(
    gateway: Gateway, idp: OidcProvider
) -> None:
    register_user_oauth_server(gateway, idp)
    alice, bob = person(gateway, "alice"), person(gateway, "bob")
    workspace_key = gateway.admin_ok(
        "POST", "/keys", json={"name": "ci", "workspace": "demo", "servers": ["py"]}
    )

    connect(gateway, alice)
    alice_header = await upstream_authorization(gateway, alice)
    assert alice_header.startswith("Bearer ")
    alice_claims = claims(alice_header.removeprefix("Bearer "))
    assert alice_claims["sub"] == "alice" and alice_claims["aud"] == gateway.upstream_url

    error = refusal(initialize(gateway, bob.key))
    assert error["code"] == -32015
    assert f"{gateway.admin_url}/api/v1/me/connections/py" in error["message"]
    assert "not connected" in error["message"]

    connect(gateway, bob)
    bob_header = await upstream_authorization(gateway, bob)
    assert claims(bob_header.removeprefix("Bearer "))["sub"] == "bob" and bob_header != alice_header

    error = refusal(initialize(gateway, workspace_key["secret"]))
    assert error["code"] == -32015 and "no gateway user" in error["message"]

    mine = alice.admin(gateway, "GET", "/me/connections")
    assert mine.status_code == 200
    assert [(c["server"], c["status"], c["email"]) for c in mine.json()] == [
        ("py", "connected", "alice@example.test")
    ]
    listed = gateway.admin_ok("GET", "/servers/py/connections")
    assert [c["email"] for c in listed] == ["alice@example.test", "bob@example.test"]
    assert bob.admin(gateway, "GET", "/servers/py/connections").status_code == 403

    refresh_token = stored_refresh_token(gateway, alice.user_id)
    access_token = alice_header.removeprefix("Bearer ")
    secrets = [access_token, refresh_token, UPSTREAM_APP[1]]
    dumped = dump_database(gateway)
    assert not [s for s in secrets if s in dumped]
    for text in (mine.text, str(listed)):
        assert not [s for s in secrets if s in text]
    persisted = (gateway.dp_state / "last-good.jws").read_text()
    assert not [s for s in [*secrets, UPSTREAM_SECRET] if s in persisted]


@pytest.mark.parametrize("idp", [SHORT_TTL], indirect=True)
async def test_an_expired_token_is_refreshed_with_rotation_and_a_revoked_connection_asks_to_reconnect(
    gateway: Gateway, idp: OidcProvider
) -> None:
    register_user_oauth_server(gateway, idp)
    alice = person(gateway, "alice")
    connect(gateway, alice)
    first = await upstream_authorization(gateway, alice)
    first_refresh = stored_refresh_token(gateway, alice.user_id)

    seen: list[str] = []

    async def refreshed() -> bool:
        seen.append(await upstream_authorization(gateway, alice))
        return seen[-1] != first

    await eventually_async(refreshed, seconds=30, what="a refreshed upstream token")
    assert claims(seen[-1].removeprefix("Bearer "))["sub"] == "alice"
    rotated = stored_refresh_token(gateway, alice.user_id)
    assert rotated != first_refresh

    revoked = httpx.post(idp.url("/token/revocation"), data={"token": rotated}, auth=UPSTREAM_APP, timeout=10)
    assert revoked.status_code == 200

    def asks_to_reconnect() -> bool:
        response = initialize(gateway, alice.key)
        return response.status_code == 403 and "reconnect at" in response.json()["error"]["message"]

    eventually(asks_to_reconnect, seconds=30, what="the reconnect error")
    status = alice.admin(gateway, "GET", "/me/connections").json()
    assert [(c["status"], bool(c["last_error"])) for c in status] == [("needs_reconnect", True)]

    connect(gateway, alice)
    assert claims((await upstream_authorization(gateway, alice)).removeprefix("Bearer "))["sub"] == "alice"


async def test_the_callback_refuses_a_reused_unknown_or_refused_state_and_the_code_needs_its_verifier(
    gateway: Gateway, idp: OidcProvider
) -> None:
    register_user_oauth_server(gateway, idp)
    alice = person(gateway, "alice")
    callback_base = f"{gateway.admin_url}/oauth/callback"

    callback = log_in(start_connecting(gateway, alice), "alice", stop_at=callback_base)
    assert httpx.get(callback, timeout=30).status_code == 200
    replayed = httpx.get(callback, timeout=30)
    assert replayed.status_code == 400 and "already used" in replayed.text

    unknown = httpx.get(callback_base, params={"code": "x", "state": "made-up"}, timeout=30)
    assert unknown.status_code == 400 and "unknown" in unknown.text
    assert httpx.get(callback_base, timeout=30).status_code == 400

    state = query(start_connecting(gateway, alice))["state"]
    denied = httpx.get(callback_base, params={"error": "access_denied", "state": state}, timeout=30)
    assert denied.status_code == 400 and "access_denied" in denied.text

    # A code taken from the redirect is useless without the PKCE verifier only the control plane holds.
    stolen = query(log_in(start_connecting(gateway, alice), "alice", stop_at=callback_base))
    exchange = httpx.post(
        idp.url("/token"),
        data={
            "grant_type": "authorization_code",
            "code": stolen["code"],
            "redirect_uri": callback_base,
            "code_verifier": "a" * 64,
        },
        auth=UPSTREAM_APP,
        timeout=10,
    )
    assert exchange.status_code == 400 and exchange.json()["error"] == "invalid_grant"

    # The provider sends codes only to the exact registered redirect URI.
    tampered = start_connecting(gateway, alice).replace("%2Foauth%2Fcallback", "%2Foauth%2Fcallback%2Fevil")
    answer = httpx.get(tampered, timeout=10, follow_redirects=False)
    assert answer.status_code == 400 and "redirect_uri" in answer.text


async def eventually_async(check: Any, *, seconds: float, what: str) -> None:
    """Poll an async ``check`` until true (bounded; each check is a whole MCP call)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return
    raise AssertionError(f"not {what} within {seconds}s")
