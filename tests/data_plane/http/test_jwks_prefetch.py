"""JWKS prefetch: the signing keys of a snapshot's identity providers (a real OIDC provider) are
fetched when the snapshot is applied, before any request."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from data_plane import keys as app_keys
from tests.data_plane.dpkit import RunningDataPlane
from tests.data_plane.identity_kit import RESOURCE, data_plane_trusting
from tests.data_plane.kit import WIDE, KeyPair
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


async def _initialize(dp: RunningDataPlane, token: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(
            dp.mcp_url(),
            json=INITIALIZE,
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
        )


async def test_the_keys_are_cached_after_apply_and_the_first_token_fetches_nothing(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    tmp_path: Path,
    json_upstream: str,
) -> None:
    async with data_plane_trusting(oidc_provider, keys, tmp_path, json_upstream) as dp:
        await dp.app[app_keys.JWKS_PREFETCH].idle()
        jwks = dp.app[app_keys.IDENTITY].jwks
        assert jwks.has_keys(oidc_provider.issuer)  # before any request
        assert jwks.fetches == 1

        response = await _initialize(dp, oidc_provider.access_token(resource=RESOURCE))

        assert response.status_code == 200, response.text
        assert jwks.fetches == 1  # the first token was verified with the prefetched keys


async def test_a_provider_whose_keys_cannot_be_fetched_is_logged_and_the_data_plane_serves(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    tmp_path: Path,
    json_upstream: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("WARNING", logger="data_plane.runtime.identity.jwks")
    async with data_plane_trusting(
        oidc_provider, keys, tmp_path, json_upstream, jwks_uri="http://127.0.0.1:9/jwks"
    ) as dp:
        await dp.app[app_keys.JWKS_PREFETCH].idle()
        assert not dp.app[app_keys.IDENTITY].jwks.has_keys(oidc_provider.issuer)
        assert any("cannot fetch the signing keys" in r.getMessage() for r in caplog.records)

        assert (await _initialize(dp, WIDE)).status_code == 200
