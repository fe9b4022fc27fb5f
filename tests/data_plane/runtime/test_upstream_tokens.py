"""The client-credentials token manager against a real token endpoint on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import pytest

from data_plane.runtime.upstream_credentials import ClientCredentials
from data_plane.runtime.upstream_tokens import (
    CredentialUnavailable,
    Token,
    TokenManager,
    fetch_token,
    refresh_margin,
)
from tests.data_plane.dpkit import serving
from tests.servers.token_endpoint import TokenEndpoint

SECRET = "client-secret-for-token-tests"


@dataclass
class Clock:
    """A clock the test moves by hand (time is injected, nothing sleeps)."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def manager(
    endpoint: TokenEndpoint, clock: Clock
) -> AsyncIterator[tuple[TokenManager, ClientCredentials]]:
    async with serving(endpoint.app()) as base, aiohttp.ClientSession() as http:

        async def fetch(creds: ClientCredentials) -> Token:
            return await fetch_token(http, creds)

        tokens = TokenManager(fetch, clock=clock, retry_delay=0)
        creds = ClientCredentials(
            server="py", token_url=f"{base}/token", client_id="gw", client_secret=SECRET
        )
        try:
            yield tokens, creds
        finally:
            await tokens.close()


@pytest.mark.parametrize(("expires_in", "margin"), [(3600, 60), (100, 20), (10, 2)])
def test_a_token_is_refreshed_20_percent_before_expiry_at_most_60_seconds_early(
    expires_in: int, margin: float
) -> None:
    assert refresh_margin(expires_in) == margin


async def test_concurrent_requests_share_one_fetch_and_later_ones_use_the_cache() -> None:
    endpoint = TokenEndpoint(client_id="gw", client_secret=SECRET)
    async with manager(endpoint, Clock()) as (tokens, creds):
        async with asyncio.timeout(5):
            first = await asyncio.gather(*(tokens.token(creds) for _ in range(20)))
            later = [await tokens.token(creds) for _ in range(5)]
    assert len(endpoint.requests) == 1
    assert set(first) == set(later) == {endpoint.issued[0]}


async def test_a_token_is_fetched_again_once_its_refresh_time_passed() -> None:
    endpoint = TokenEndpoint(client_id="gw", client_secret=SECRET, expires_in=10)
    clock = Clock()
    async with manager(endpoint, clock) as (tokens, creds):
        first = await tokens.token(creds)
        clock.now += 7.9
        assert await tokens.token(creds) == first
        clock.now += 0.2  # 8.1 s: inside the last 20 % of its life
        second = await tokens.token(creds)
    assert second != first
    assert endpoint.issued == [first, second]


async def test_a_failed_refresh_keeps_using_a_token_that_has_not_expired() -> None:
    endpoint = TokenEndpoint(client_id="gw", client_secret=SECRET, expires_in=10)
    clock = Clock()
    async with manager(endpoint, clock) as (tokens, creds):
        first = await tokens.token(creds)
        endpoint.fail_with = 503
        clock.now += 9
        assert await tokens.token(creds) == first
        clock.now += 2  # expired now
        with pytest.raises(CredentialUnavailable) as failed:
            await tokens.token(creds)
    assert "503" in str(failed.value) and SECRET not in str(failed.value)


async def test_server_errors_are_retried_a_bounded_number_of_times_and_refusals_not_at_all() -> None:
    endpoint = TokenEndpoint(client_id="gw", client_secret=SECRET, fail_with=500)
    async with manager(endpoint, Clock()) as (tokens, creds):
        with pytest.raises(CredentialUnavailable):
            await tokens.token(creds)
        assert len(endpoint.requests) == 3
        endpoint.fail_with = None
        endpoint.client_secret = "rotated-elsewhere"
        with pytest.raises(CredentialUnavailable, match="refused"):
            await tokens.token(creds)
        assert len(endpoint.requests) == 4
