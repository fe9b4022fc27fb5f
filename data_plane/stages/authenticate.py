"""Stage 4, authenticate: a gateway key (SHA-256 lookup first) or an identity provider's token.

1. ``Authorization: Bearer <token>``; missing or not Bearer -> 401 with a bare challenge.
2. SHA-256 of the token in the key index (one dict lookup): an agent key, with expiry.
3. Otherwise, with an identity verifier: a JWT is verified against its issuer's cached JWKS
   (algorithm allow-list, iss, aud = this server's resource URL or a configured audience,
   exp/nbf/iat with leeway, required claims, required scopes); an opaque token is introspected
   (RFC 7662) by the providers of this server that can. When keys or an introspection answer
   must be fetched first, the stage returns the context with ``pending`` set; the chain awaits
   it and runs this stage again (see ``pipeline/chain.py``).
4. Otherwise, when the server's workspace has an authentication webhook, a token that is neither
   a key nor recognized by an identity provider (unknown issuer, opaque and not active anywhere)
   is put to the webhook, through ``pending`` as well; its verdict is cached.

A presented token that is refused is an ``INVALID_TOKEN`` denial (401 with
``error="invalid_token"``); a valid token lacking a required scope is ``INSUFFICIENT_SCOPE`` (403);
an authentication webhook that cannot answer is ``INVALID_TOKEN``, or ``AUTHN_UNAVAILABLE`` (503)
when its failure mode says so.
"""

from __future__ import annotations

import time

from msgspec.structs import replace

from data_plane.pipeline.context import Denial, DenialKind, RequestContext
from data_plane.runtime.compiled import CompiledSnapshot, Principal
from data_plane.runtime.identity.tokens import Refusal
from data_plane.runtime.identity.verifier import IdentityVerifier, Pending, Verdict
from data_plane.runtime.identity.webhook import AuthnWebhookClient
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
    authn_webhooks: AuthnWebhookClient | None = None,
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
    verdict: Verdict = None
    if identity is not None and snapshot.identity.by_issuer:
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
    if verdict is None or verdict.unrecognized:
        asked = _ask_webhook(ctx, snapshot, token, authn_webhooks)
        if asked is not None:
            return asked
    if isinstance(verdict, Refusal):
        if verdict.insufficient_scope:
            return Denial(DenialKind.INSUFFICIENT_SCOPE, verdict.reason, scope=verdict.insufficient_scope)
        return Denial(DenialKind.INVALID_TOKEN, verdict.reason)
    return UNKNOWN


def _ask_webhook(
    ctx: RequestContext, snapshot: CompiledSnapshot, token: str, client: AuthnWebhookClient | None
) -> RequestContext | Denial | None:
    """The webhook's verdict on ``token``, work to await first, or ``None``: no webhook here."""
    upstream = snapshot.servers.get(ctx.slug)
    hook = snapshot.authn_webhooks.get(upstream.workspace) if upstream is not None else None
    if hook is None or client is None:
        return None
    key = client.key(hook, token)
    verdict = client.answer(key)
    if verdict is None:
        return replace(ctx, pending=client.ask(hook, key, token, ctx.slug))
    if verdict.principal is not None:
        return replace(ctx, principal=verdict.principal, pending=None)
    if verdict.failed and hook.unavailable_on_failure:
        return Denial(DenialKind.AUTHN_UNAVAILABLE, verdict.reason, rule=hook.rule)
    return Denial(DenialKind.INVALID_TOKEN, verdict.reason, rule=hook.rule)
