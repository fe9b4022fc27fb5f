"""Introspection against a real OIDC provider: one call for concurrent requests with the same
opaque token, and at most N calls in flight per provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from data_plane import keys as app_keys
from data_plane.runtime.identity.fetch import AiohttpIdentityHttp
from data_plane.runtime.identity.introspection import IntrospectionCache
from data_plane.runtime.identity.providers import compile_providers
from tests.data_plane.identity_kit import data_plane_trusting, idp_entry
from tests.data_plane.kit import KeyPair
from tests.idp.oidc import OidcProvider, oidc_provider  # noqa: F401  (fixture)

ACCEPT = "application/json, text/event-stream"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


@pytest.fixture
async def http() -> AsyncIterator[AiohttpIdentityHttp]:
    client = AiohttpIdentityHttp()
    await client.start()
    yield client
    await client.close()


async def test_concurrent_requests_with_one_opaque_token_make_one_introspection_call(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    tmp_path: Path,
    json_upstream: str,
) -> None:
    token = oidc_provider.access_token()
    assert token.count(".") != 2  # opaque
    async with data_plane_trusting(oidc_provider, keys, tmp_path, json_upstream) as dp:
        async with httpx.AsyncClient(timeout=10) as client:
            headers = {"Authorization": f"Bearer {token}", "Accept": ACCEPT}
            answers = await asyncio.gather(
                *(client.post(dp.mcp_url(), json=INITIALIZE, headers=headers) for _ in range(8))
            )
        introspection = dp.app[app_keys.IDENTITY].introspection
    assert [a.status_code for a in answers] == [200] * 8
    assert introspection.calls == 1


async def test_at_most_the_configured_number_of_calls_are_in_flight_per_provider(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    http: AiohttpIdentityHttp,
) -> None:
    entry = idp_entry(oidc_provider, keys)
    provider = compile_providers({entry.issuer: entry}, keys.group).by_issuer[entry.issuer]
    tokens = [oidc_provider.access_token() for _ in range(5)]
    cache = IntrospectionCache(http, max_concurrent=2)

    await asyncio.gather(*(cache.introspect(provider, token) for token in tokens))

    assert cache.calls == 5
    assert cache.peak_concurrency == 2
    answers = [cache.get(provider, token) for token in tokens]
    assert all(answer is not None and answer.active for answer in answers)
