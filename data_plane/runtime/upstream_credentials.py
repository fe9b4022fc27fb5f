"""Upstream credentials and identity forwarding, compiled once per snapshot.

What the upstream stage needs per server, ready to use: the final upstream URL (an API key in
the query already appended), the static headers to inject (static ``headers``, a bearer token,
an API-key header), the OAuth client credentials whose token :mod:`upstream_tokens` fetches,
and the identity-forwarding policy. Secrets live only in memory, in fields with
``repr=False``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from shared.snapshot.credentials import (
    ApiKeyAuth,
    BearerAuth,
    ClientCredentialsAuth,
    IdentityForwarding,
    Sealed,
    TokenExchangeAuth,
    UpstreamAuth,
    UserOAuthAuth,
)

CLIENT_IDENTITY_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "proxy-authorization",
        "forwarded",
        "remote-user",
        "x-forwarded-user",
        "x-forwarded-email",
        "x-forwarded-groups",
        "x-forwarded-preferred-username",
        "x-forwarded-access-token",
        "x-auth-request-user",
        "x-auth-request-email",
        "x-auth-request-groups",
        "x-auth-request-access-token",
        "x-user-id",
        "x-user-email",
        "x-user-team",
        "x-user-roles",
        "x-mcpgw-identity",
    }
)
"""Client headers that claim an identity or carry a credential: never forwarded upstream.

The upstream stage forwards only an allow-list anyway; this list is the second line (and a
server's configured identity header names are removed as well)."""


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    """OAuth 2.0 client credentials of one server (RFC 6749 §4.4)."""

    server: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    auth_method: str = "client_secret_basic"


@dataclass(frozen=True, slots=True)
class TokenExchange:
    """RFC 8693 token exchange toward one server: the gateway's client and what it asks for."""

    server: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    audience: str | None = None
    resource: str | None = None
    scopes: tuple[str, ...] = ()
    auth_method: str = "client_secret_basic"


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """How the caller's identity goes upstream for one server."""

    jwt_header: str | None
    audience: str
    ttl_seconds: int
    headers: tuple[tuple[str, str], ...]
    """(attribute, header name): plain identity headers (email, team, roles, subject)."""

    @property
    def header_names(self) -> frozenset[str]:
        """Every header this policy sets (lower case), so a client can never supply one."""
        names = {name.lower() for _, name in self.headers}
        if self.jwt_header:
            names.add(self.jwt_header.lower())
        return frozenset(names)


@dataclass(frozen=True, slots=True)
class CompiledCredentials:
    """A server's credential, compiled: final URL, injected headers, token source."""

    url: str
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    token_source: ClientCredentials | None = None
    per_user: bool = False
    """Per-user OAuth: each user's own token, from the control plane's broker."""
    exchange: TokenExchange | None = None


def with_query(url: str, name: str, value: str) -> str:
    """``url`` with ``name=value`` in its query (replacing a parameter of that name)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    return urlunsplit(parts._replace(query=urlencode([*query, (name, value)])))


def compile_credentials(
    slug: str, url: str, auth: UpstreamAuth, open_secret: Callable[[str, Sealed], str]
) -> CompiledCredentials:
    """Compile one server's credential; ``open_secret(what, sealed)`` unseals (or raises)."""
    if isinstance(auth, BearerAuth):
        token = open_secret("bearer token", auth.token)
        return CompiledCredentials(url=url, headers=(("Authorization", f"Bearer {token}"),))
    if isinstance(auth, ApiKeyAuth):
        value = open_secret(f"api key {auth.name!r}", auth.value)
        if auth.location == "query":
            return CompiledCredentials(url=with_query(url, auth.name, value), headers=())
        return CompiledCredentials(url=url, headers=((auth.name, value),))
    if isinstance(auth, ClientCredentialsAuth):
        source = ClientCredentials(
            server=slug,
            token_url=auth.token_url,
            client_id=auth.client_id,
            client_secret=open_secret("client secret", auth.client_secret),
            scopes=auth.scopes,
            audience=auth.audience,
            auth_method=auth.auth_method,
        )
        return CompiledCredentials(url=url, headers=(), token_source=source)
    if isinstance(auth, UserOAuthAuth):
        return CompiledCredentials(url=url, headers=(), per_user=True)
    if isinstance(auth, TokenExchangeAuth):
        exchange = TokenExchange(
            server=slug,
            token_url=auth.token_url,
            client_id=auth.client_id,
            client_secret=open_secret("client secret", auth.client_secret),
            audience=auth.audience,
            resource=auth.resource,
            scopes=auth.scopes,
            auth_method=auth.auth_method,
        )
        return CompiledCredentials(url=url, headers=(), exchange=exchange)
    return CompiledCredentials(url=url, headers=())


def compile_identity(url: str, identity: IdentityForwarding) -> IdentityPolicy | None:
    """The identity policy of a server (``None`` when it forwards no identity)."""
    if identity.jwt is None and not identity.headers:
        return None
    jwt = identity.jwt
    return IdentityPolicy(
        jwt_header=jwt.header if jwt is not None else None,
        audience=(jwt.audience or url) if jwt is not None else url,
        ttl_seconds=jwt.ttl_seconds if jwt is not None else 60,
        headers=tuple(sorted(identity.headers.items())),
    )
