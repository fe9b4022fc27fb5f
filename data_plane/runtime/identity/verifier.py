"""The identity verifier: turns an IdP token into a principal, synchronously when it can.

Everything on the hot path is synchronous: peek at the token, pick the provider by issuer
(one dict lookup), take the key from the JWKS cache, verify, check claims. When something must
be fetched first (signing keys not cached yet, an unknown ``kid`` after a rotation, an opaque
token not introspected yet) the verifier answers :class:`Pending` with an awaitable that fills
the cache; the chain awaits it and runs the authenticate stage again, which then finds what it
needs (or refuses: the JWKS refresh is rate-bound, introspection answers are cached).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from data_plane.runtime.compiled import Principal
from data_plane.runtime.identity.introspection import IntrospectionCache
from data_plane.runtime.identity.jwks import JwksCache
from data_plane.runtime.identity.providers import IdentityIndex, Provider
from data_plane.runtime.identity.tokens import (
    Refusal,
    check_claims,
    check_scopes,
    principal_for,
    verify_signature,
)
from shared.oidc import peek
from shared.snapshot import SIGNING_ALGORITHMS


@dataclass(frozen=True, slots=True)
class Pending:
    """Await ``resolve`` (it fills a cache), then authenticate again."""

    resolve: Callable[[], Awaitable[None]]


Verdict = Principal | Refusal | Pending | None
"""A principal, a refusal, work to await first, or ``None``: not a token any provider knows."""


class IdentityVerifier:
    """JWT validation against cached JWKS, and introspection of opaque tokens."""

    def __init__(self, jwks: JwksCache, introspection: IntrospectionCache) -> None:
        self.jwks = jwks
        self.introspection = introspection

    def verify(self, token: str, index: IdentityIndex, *, slug: str, resource: str, now: float) -> Verdict:
        """Check ``token`` presented for server ``slug`` whose resource URL is ``resource``."""
        peeked = peek(token)
        if peeked is None:
            return self._opaque(token, index, slug=slug, resource=resource, now=now)
        issuer = peeked.claims.get("iss")
        provider = index.by_issuer.get(issuer) if isinstance(issuer, str) else None
        if provider is None:
            return Refusal("token issuer is not a known identity provider", unrecognized=True)
        algorithm = peeked.header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in SIGNING_ALGORITHMS:
            return Refusal(f"token algorithm {str(algorithm)[:16]!r} is not accepted")
        if algorithm not in provider.algorithms:
            return Refusal(f"token algorithm {algorithm} is not allowed for this identity provider")
        kid = peeked.header.get("kid")
        key = self.jwks.key(provider.issuer, kid if isinstance(kid, str) else None)
        if key is None:
            if self.jwks.may_refresh(provider.issuer):
                return Pending(partial(self.jwks.refresh, provider))
            return Refusal("token signing key (kid) is not published by the identity provider")
        claims = verify_signature(token, key, algorithm)
        if isinstance(claims, Refusal):
            return claims
        return _accept(claims, provider, resource=resource, now=now, require_exp=True)

    def _opaque(self, token: str, index: IdentityIndex, *, slug: str, resource: str, now: float) -> Verdict:
        providers = index.introspecting.get(slug, ())
        if not providers:
            return None
        refusal: Refusal | None = None
        for provider in providers:
            answer = self.introspection.get(provider, token)
            if answer is None:
                return Pending(partial(self.introspection.introspect, provider, token))
            if answer.failed:
                refusal = Refusal("token introspection failed", unrecognized=True)
            elif answer.active:
                return _accept(answer.claims, provider, resource=resource, now=now, require_exp=False)
        return refusal or Refusal("token is not active", unrecognized=True)


def _accept(
    claims: Mapping[str, Any], provider: Provider, *, resource: str, now: float, require_exp: bool
) -> Principal | Refusal:
    refused = check_claims(claims, provider, resource=resource, now=now, require_exp=require_exp)
    if refused is None:
        refused = check_scopes(claims, provider)
    return refused or principal_for(claims, provider)
