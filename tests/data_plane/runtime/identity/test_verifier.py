"""The verifier's time and claim checks on real provider tokens (the clock is the test's)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from data_plane.errors import bearer_challenge
from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.compiled import CompiledSnapshot
from data_plane.runtime.identity.fetch import AiohttpIdentityHttp
from data_plane.runtime.identity.introspection import IntrospectionCache
from data_plane.runtime.identity.jwks import JwksCache
from data_plane.runtime.identity.verifier import IdentityVerifier
from data_plane.snapshot.compile import compile_snapshot
from data_plane.stages.authenticate import authenticate
from shared.snapshot import with_content_hash
from tests.data_plane.identity_kit import PUBLIC_URL, RESOURCE, idp_entry
from tests.data_plane.kit import KeyPair, bearer, context, make_snapshot
from tests.idp.oidc import OidcProvider, oidc_provider  # noqa: F401  (fixture)


@pytest.fixture
async def verifier() -> AsyncIterator[IdentityVerifier]:
    http = AiohttpIdentityHttp()
    await http.start()
    yield IdentityVerifier(JwksCache(http), IntrospectionCache(http))
    await http.close()


def _snapshot(oidc: OidcProvider, keys: KeyPair, **overrides: Any) -> CompiledSnapshot:
    entry = idp_entry(oidc, keys, **overrides)
    snapshot = with_content_hash(
        make_snapshot(keys).model_copy(update={"identity_providers": {entry.issuer: entry}})
    )
    return compile_snapshot(snapshot, keys.group)


async def _authenticate(
    snapshot: CompiledSnapshot, verifier: IdentityVerifier, token: str, now: float
) -> RequestContext | Denial:
    """Run the stage as the chain does: await what it asks for, then run it once more."""
    ctx = context(snapshot, headers=bearer(token))
    result = authenticate(ctx, now, identity=verifier, public_base_url=PUBLIC_URL)
    if isinstance(result, RequestContext) and result.pending is not None:
        await result.pending()
        result = authenticate(ctx, now, identity=verifier, public_base_url=PUBLIC_URL)
    return result


def _times(token: str) -> dict[str, int]:
    """The token's payload, read without verification (to place the test's clock)."""
    payload = token.split(".")[1]
    decoded: dict[str, int] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return decoded


async def test_a_valid_token_maps_subject_client_and_claims_to_the_principal(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    verifier: IdentityVerifier,
) -> None:
    token = oidc_provider.access_token(resource=RESOURCE)
    result = await _authenticate(_snapshot(oidc_provider, keys), verifier, token, _times(token)["iat"])
    assert isinstance(result, RequestContext)
    principal = result.principal
    assert principal is not None
    assert (principal.subject, principal.identity_provider, principal.workspace) == (
        "machine",
        "test-idp",
        "demo",
    )
    assert principal.claims["sub"] == "machine" and principal.caller is None
    assert principal.key_id.startswith("idp-") and token not in repr(principal)


@pytest.mark.parametrize(
    ("case", "shift", "reason"),
    [
        ("expired", lambda t: t["exp"] + 61, "expired"),
        ("not yet valid", lambda t: t["iat"] - 61, "future"),
    ],
)
async def test_tokens_outside_their_lifetime_plus_leeway_are_refused_with_invalid_token(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    verifier: IdentityVerifier,
    case: str,
    shift: Any,
    reason: str,
) -> None:
    token = oidc_provider.access_token(resource=RESOURCE)
    snapshot = _snapshot(oidc_provider, keys)
    result = await _authenticate(snapshot, verifier, token, shift(_times(token)))
    assert isinstance(result, Denial), case
    assert result.kind is DenialKind.INVALID_TOKEN
    assert reason in result.reason
    challenge = bearer_challenge(result, "https://dp.example.test/m")
    assert challenge.startswith('Bearer error="invalid_token", error_description=')
    # Inside the leeway the same token is fine.
    inside = await _authenticate(snapshot, verifier, token, _times(token)["exp"] + 59)
    assert isinstance(inside, RequestContext)


async def test_a_required_claim_that_is_missing_refuses_the_token(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    verifier: IdentityVerifier,
) -> None:
    token = oidc_provider.access_token(resource=RESOURCE)
    snapshot = _snapshot(oidc_provider, keys, required_claims={"email_verified": "present"})
    result = await _authenticate(snapshot, verifier, token, _times(token)["iat"])
    assert isinstance(result, Denial)
    assert "email_verified" in result.reason
    matching = _snapshot(oidc_provider, keys, required_claims={"client_id": "machine", "scope": "present"})
    assert isinstance(await _authenticate(matching, verifier, token, _times(token)["iat"]), RequestContext)


async def test_an_algorithm_the_provider_entry_does_not_allow_is_refused(
    oidc_provider: OidcProvider,  # noqa: F811
    keys: KeyPair,
    verifier: IdentityVerifier,
) -> None:
    token = oidc_provider.access_token(resource=RESOURCE)  # ES256
    snapshot = _snapshot(oidc_provider, keys, algorithms=["RS256"])
    result = await _authenticate(snapshot, verifier, token, _times(token)["iat"])
    assert isinstance(result, Denial)
    assert "algorithm" in result.reason
