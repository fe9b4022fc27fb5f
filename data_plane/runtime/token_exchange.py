"""OAuth 2.0 token exchange (RFC 8693) toward upstreams.

The caller's access token from its identity provider (the ``subject_token``) is exchanged at
the provider's token endpoint for a token meant for the upstream (``audience`` / ``resource``),
the gateway authenticating with its own client credentials. Only the exchanged token goes
upstream, never the caller's. Tokens are cached per (SHA-256 of the subject token, server) by
the :class:`~data_plane.runtime.upstream_tokens.TokenManager`, so the caller's token itself is
never a cache key and never logged.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import aiohttp
import orjson

from data_plane.runtime.upstream_credentials import ClientCredentials, TokenExchange
from data_plane.runtime.upstream_tokens import (
    AccessRefused,
    Token,
    auth_headers,
    parse_token,
    post_token_request,
)

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


@dataclass(frozen=True, slots=True)
class ExchangeKey:
    """One exchange: the server's settings and the caller's token (compared by digest only)."""

    config: TokenExchange
    subject_digest: str
    subject_token: str = field(repr=False, compare=False, hash=False)

    @property
    def server(self) -> str:
        return self.config.server


def exchange_key(config: TokenExchange, subject_token: str) -> ExchangeKey:
    """The cache key of exchanging ``subject_token`` for ``config``'s server."""
    digest = hashlib.sha256(subject_token.encode()).hexdigest()
    return ExchangeKey(config=config, subject_digest=digest, subject_token=subject_token)


async def exchange_token(session: aiohttp.ClientSession, key: ExchangeKey) -> Token:
    """One RFC 8693 request; :class:`AccessRefused` when the provider refuses the exchange."""
    config = key.config
    form = {
        "grant_type": GRANT_TYPE,
        "subject_token": key.subject_token,
        "subject_token_type": ACCESS_TOKEN_TYPE,
        "requested_token_type": ACCESS_TOKEN_TYPE,
    }
    if config.audience:
        form["audience"] = config.audience
    if config.resource:
        form["resource"] = config.resource
    if config.scopes:
        form["scope"] = " ".join(config.scopes)
    client = ClientCredentials(
        server=config.server,
        token_url=config.token_url,
        client_id=config.client_id,
        client_secret=config.client_secret,
        auth_method=config.auth_method,
    )
    form, headers = auth_headers(client, form)
    where = f"the identity provider (token exchange for server '{config.server}')"
    status, body = await post_token_request(session, config.token_url, form, headers, where)
    if status != 200:
        raise AccessRefused(f"{where} refused to exchange your token ({_error(body, status)})")
    return parse_token(body, where)


def _error(body: bytes, status: int) -> str:
    """The RFC 6749 ``error`` code of a refusal (never its description: it may echo input)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return f"HTTP {status}"
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, str) and error.isascii() and len(error) <= 64:
        return error
    return f"HTTP {status}"
