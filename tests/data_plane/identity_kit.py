"""Data planes whose snapshot trusts a real OIDC provider (``tests/idp``), for identity tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from data_plane.app import create_app
from shared.sealing import seal
from shared.snapshot import ClaimMapping, IdentityProviderEntry, Sealed, with_content_hash
from tests.data_plane.dpkit import RunningDataPlane, dp_settings, serving
from tests.data_plane.kit import UPSTREAM_SECRET, KeyPair, make_snapshot, sign
from tests.idp.oidc import GATEWAY, OidcProvider

PUBLIC_URL = "https://dp.example.test"
RESOURCE = f"{PUBLIC_URL}/py/mcp"


def idp_entry(
    provider: OidcProvider, keys: KeyPair, *, required_scopes: list[str] | None = None, **overrides: object
) -> IdentityProviderEntry:
    """The provider as the control plane would compile it: usable for server ``py``."""
    fields: dict[str, object] = {
        "id": "idp-test",
        "slug": "test-idp",
        "workspace": "demo",
        "issuer": provider.issuer,
        "algorithms": ["ES256", "RS256"],
        "claims": ClaimMapping(roles="realm_access.roles"),
        "introspection_endpoint": provider.url("/token/introspection"),
        "introspection_client_id": GATEWAY[0],
        "introspection_client_secret": Sealed(sealed=seal(GATEWAY[1], keys.group_public)),
        "servers": ["py"],
        "required_scopes": required_scopes or [],
        **overrides,
    }
    return IdentityProviderEntry.model_validate(fields)


@asynccontextmanager
async def data_plane_trusting(
    provider: OidcProvider,
    keys: KeyPair,
    tmp_path: Path,
    upstream_url: str,
    *,
    required_scopes: list[str] | None = None,
    **entry: object,
) -> AsyncIterator[RunningDataPlane]:
    """A data plane serving ``py`` -> ``upstream_url`` that accepts the provider's tokens
    (``entry`` overrides fields of the provider's snapshot entry)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    base = make_snapshot(keys, url=upstream_url, headers={"X-Api-Key": UPSTREAM_SECRET})
    trusted = idp_entry(provider, keys, required_scopes=required_scopes, **entry)
    snapshot = with_content_hash(base.model_copy(update={"identity_providers": {trusted.issuer: trusted}}))
    snapshot_file = tmp_path / "exported.jws"
    snapshot_file.write_text(sign(snapshot, keys))
    app = create_app(dp_settings(keys, tmp_path, snapshot_file=snapshot_file))
    async with serving(app) as base_url:
        yield RunningDataPlane(app=app, base_url=base_url)
