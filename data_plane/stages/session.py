"""Stage 6, session: open the sealed ``Mcp-Session-Id`` and bind it to this server and key.

The token the client holds was sealed by a data plane of this group (any of them). It must
open, name the server of this URL and the key presenting it, and be younger than the optional
maximum age; otherwise the answer is 404, the spec's answer to an unknown session, so the
client re-initializes. A token presented by another key gets the same 404 (not 403): the
answer never tells whether a token is valid for someone else. Denial reasons name the token
only by a short hash.
"""

from __future__ import annotations

import time

from msgspec.structs import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.sessions import SessionSealer, token_fingerprint

SESSION_HEADER = "Mcp-Session-Id"


def _unknown(token: str, why: str) -> Denial:
    return Denial(
        DenialKind.SESSION_NOT_FOUND, f"session not found ({why}; token {token_fingerprint(token)})"
    )


def open_session(
    ctx: RequestContext, sealer: SessionSealer, max_age: float | None, now: float | None = None
) -> RequestContext | Denial:
    """Put the opened session in the context; requests without a session id pass unchanged."""
    token = ctx.headers.get(SESSION_HEADER)
    if token is None:
        return ctx
    claims = sealer.open(token)
    if claims is None:
        return _unknown(token, "not a session id of this gateway")
    principal = ctx.principal
    if claims.server != ctx.slug or principal is None or claims.key_id != principal.key_id:
        return _unknown(token, "issued for another server or key")
    if max_age is not None and (time.time() if now is None else now) - claims.issued_at > max_age:
        return _unknown(token, "expired")
    return replace(ctx, session=claims)
