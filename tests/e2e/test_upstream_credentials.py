"""End to end: a server registered with a bearer credential and identity JWTs, through real processes."""

from __future__ import annotations

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.e2e.gateway import UPSTREAM_SECRET, Gateway
from tests.e2e.processes import eventually

pytestmark = pytest.mark.e2e

BEARER = "e2e-upstream-bearer-5b7e21"


async def test_the_upstream_gets_the_bearer_credential_and_a_verifiable_identity_jwt(
    gateway: Gateway,
) -> None:
    gateway.register_upstream(
        auth={"type": "bearer", "token": BEARER},
        identity={"jwt": {"header": "X-MCPGW-Identity", "ttl_seconds": 60}},
    )
    key = gateway.admin_ok("POST", "/keys", json={"name": "agent", "workspace": "demo", "servers": ["py"]})
    dp_jwks_url = f"http://127.0.0.1:{gateway.dp_port}/.well-known/jwks.json"
    eventually(
        lambda: bool(httpx.get(dp_jwks_url, timeout=5).json()["keys"]),
        seconds=10,
        what="identity key applied",
    )

    async with gateway.mcp_client("py", key["secret"]) as client:
        seen = (await client.call_tool("seen_headers", {})).structured_content or {}
    assert seen["authorization"] == f"Bearer {BEARER}"
    assert key["secret"] not in str(seen)

    jwks = httpx.get(dp_jwks_url, timeout=5).json()
    assert jwks == httpx.get(f"{gateway.admin_url}/.well-known/jwks.json", timeout=5).json()
    token = jwt.decode(seen["x-mcpgw-identity"], KeySet.import_key_set(jwks), algorithms=["Ed25519"])
    jwt.JWTClaimsRegistry(
        aud={"essential": True, "value": gateway.upstream_url}, exp={"essential": True}
    ).validate(token.claims)
    assert token.claims["sub"] == key["id"] and token.claims["agent"] == "agent"

    persisted = (gateway.dp_state / "last-good.jws").read_text()
    assert BEARER not in persisted and UPSTREAM_SECRET not in persisted
