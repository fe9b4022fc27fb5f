"""The JWKS cache against a real OIDC provider: discovery, refresh on unknown kid, rate bound."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from data_plane.runtime.identity.fetch import AiohttpIdentityHttp
from data_plane.runtime.identity.jwks import JwksCache
from data_plane.runtime.identity.providers import compile_providers
from tests.data_plane.identity_kit import idp_entry
from tests.data_plane.kit import KeyPair
from tests.idp.oidc import OidcProvider, oidc_provider  # noqa: F401  (fixture)


class Clock:
    """A hand-advanced monotonic clock (no sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[AiohttpIdentityHttp]:
    client = AiohttpIdentityHttp()
    await client.start()
    yield client
    await client.close()


def _provider(oidc: OidcProvider, keys: KeyPair, **overrides: object):  # type: ignore[no-untyped-def]
    entry = idp_entry(oidc, keys, **overrides)
    return compile_providers({entry.issuer: entry}, keys.group).by_issuer[entry.issuer]


async def test_refresh_discovers_the_jwks_and_caches_every_published_key(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    http: AiohttpIdentityHttp,
) -> None:
    provider = _provider(oidc_provider, keys)
    cache = JwksCache(http)
    published = [k["kid"] for k in oidc_provider.jwks()["keys"]]
    assert cache.key(provider.issuer, published[0]) is None

    await cache.refresh(provider)

    assert all(cache.key(provider.issuer, kid) is not None for kid in published)
    assert cache.fetches == 1


async def test_a_configured_jwks_uri_is_used_without_discovery(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    http: AiohttpIdentityHttp,
) -> None:
    provider = _provider(oidc_provider, keys, jwks_uri=oidc_provider.url("/jwks"))
    cache = JwksCache(http)
    await cache.refresh(provider)
    kid = oidc_provider.jwks()["keys"][0]["kid"]
    assert cache.key(provider.issuer, kid) is not None


async def test_unknown_kid_refreshes_at_most_once_per_interval(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    http: AiohttpIdentityHttp,
) -> None:
    provider = _provider(oidc_provider, keys)
    clock = Clock()
    cache = JwksCache(http, min_refresh_seconds=30, clock=clock)
    await cache.refresh(provider)
    assert cache.key(provider.issuer, "rotated-away") is None

    assert not cache.may_refresh(provider.issuer)
    await cache.refresh(provider)  # within the interval: no request
    assert cache.fetches == 1

    clock.now += 30
    assert cache.may_refresh(provider.issuer)
    await cache.refresh(provider)
    assert cache.fetches == 2
    assert cache.key(provider.issuer, "rotated-away") is None


async def test_concurrent_refreshes_of_one_issuer_share_one_request(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    http: AiohttpIdentityHttp,
) -> None:
    provider = _provider(oidc_provider, keys)
    cache = JwksCache(http)
    async with asyncio.timeout(5):
        await asyncio.gather(*(cache.refresh(provider) for _ in range(10)))
    assert cache.fetches == 1


async def test_an_unreachable_provider_is_refreshed_no_faster_than_the_bound(
    keys: KeyPair,
    http: AiohttpIdentityHttp,
    oidc_provider: OidcProvider,  # noqa: F811
) -> None:
    provider = _provider(oidc_provider, keys, jwks_uri="http://127.0.0.1:9/jwks")
    clock = Clock()
    cache = JwksCache(http, min_refresh_seconds=30, clock=clock)
    await cache.refresh(provider)
    await cache.refresh(provider)
    assert cache.fetches == 1
    assert cache.key(provider.issuer, None) is None
