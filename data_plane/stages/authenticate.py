"""Stage 4, authenticate: ``Authorization: Bearer <key>`` -> SHA-256 -> principal, with expiry."""

from __future__ import annotations

import time
from dataclasses import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from shared.apikeys import hash_secret

NOT_READY = Denial(DenialKind.NOT_READY, "the data plane holds no verified snapshot yet")
MISSING = Denial(DenialKind.UNAUTHENTICATED, "missing bearer token")
MALFORMED = Denial(DenialKind.UNAUTHENTICATED, "malformed Authorization header (expected: Bearer <key>)")
UNKNOWN = Denial(DenialKind.UNAUTHENTICATED, "unknown or revoked key")
EXPIRED = Denial(DenialKind.UNAUTHENTICATED, "key expired")


def authenticate(ctx: RequestContext, now: float | None = None) -> RequestContext | Denial:
    """Resolve the bearer key to a principal of the context's snapshot."""
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
    principal = snapshot.keys.get(hash_secret(token))
    if principal is None:
        return UNKNOWN
    if principal.expires_at is not None and principal.expires_at <= (time.time() if now is None else now):
        return EXPIRED
    return replace(ctx, principal=principal)
