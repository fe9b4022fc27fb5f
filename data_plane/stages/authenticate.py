"""Stage 4, authenticate: a gateway key (SHA-256 lookup first) or an identity provider's token.

1. ``Authorization: Bearer <token>``; missing or not Bearer -> 401 with a bare challenge.
2. SHA-256 of the token in the key index (one dict lookup): an agent key, with expiry.
3. Otherwise, with an identity verifier: a JWT is verified against its issuer's cached JWKS
   (algorithm allow-list, iss, aud = this server's resource URL or a configured audience,
   exp/nbf/iat with leeway, required claims, required scopes); an opaque token is introspected
   (RFC 7662) by the providers of this server that can. When keys or an introspection answer
   must be fetched first, the stage returns the context with ``pending`` set; the chain awaits
   it and runs this stage again (see ``pipeline/chain.py``).

A presented token that is refused is an ``INVALID_TOKEN`` denial (401 with
``error="invalid_token"``); a valid token lacking a required scope is ``INSUFFICIENT_SCOPE`` (403).
"""

from __future__ import annotations

import time
from dataclasses import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.compiled import Principal
from data_plane.runtime.identity.tokens import Refusal
from data_plane.runtime.identity.verifier import IdentityVerifier, Pending
from shared.apikeys import hash_secret

NOT_READY = Denial(DenialKind.NOT_READY, "the data plane holds no verified snapshot yet")
MISSING = Denial(DenialKind.UNAUTHENTICATED, "missing bearer token")
MALFORMED = Denial(DenialKind.UNAUTHENTICATED, "malformed Authorization header (expected: Bearer <key>)")
UNKNOWN = Denial(DenialKind.INVALID_TOKEN, "unknown or revoked key")
EXPIRED = Denial(DenialKind.INVALID_TOKEN, "key expired")


def resource_url(public_base_url: str, slug: str) -> str:
    """The gateway's resource URL of server ``slug`` (RFC 8707 audience, RFC 9728 ``resource``)."""
    return f"{public_base_url}/{slug}/mcp"


def authenticate(
    ctx: RequestContext,
    now: float | None = None,
    *,
    identity: IdentityVerifier | None = None,
    public_base_url: str = "",
) -> RequestContext | Denial:
    """Resolve the bearer token to a principal of the context's snapshot."""
    snapshot = ctx.snapshot
    if snapshot is None:
        return NOT_READY
    header = ctx.headers.get("Authorization")
    if not header:
        return MISSING
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return MALFORMED
    moment = time.time() if now is None else now
    principal = snapshot.keys.get(hash_secret(token))
    if principal is not None:
        if principal.expires_at is not None and principal.expires_at <= moment:
            return EXPIRED
        return replace(ctx, principal=principal, pending=None)
    if identity is None or not snapshot.identity.by_issuer:
        return UNKNOWN
    verdict = identity.verify(
        token,
        snapshot.identity,
        slug=ctx.slug,
        resource=resource_url(public_base_url, ctx.slug),
        now=moment,
    )
    if isinstance(verdict, Principal):
        return replace(ctx, principal=verdict, pending=None)
    if isinstance(verdict, Pending):
        return replace(ctx, pending=verdict.resolve)
    if isinstance(verdict, Refusal):
        if verdict.insufficient_scope:
            return Denial(DenialKind.INSUFFICIENT_SCOPE, verdict.reason, scope=verdict.insufficient_scope)
        return Denial(DenialKind.INVALID_TOKEN, verdict.reason)
    return UNKNOWN
