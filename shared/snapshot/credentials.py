"""Snapshot models for upstream credentials and identity forwarding (part of the schema).

Every secret here is :class:`Sealed` to the data-plane group: bearer tokens, API-key values,
OAuth client secrets, and the group's identity signing key. Everything else (header names,
token URLs, client ids) travels in clear, as it is not secret.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sealed(_Frozen):
    """A secret sealed to the data-plane group's public key (compact JWE, ECDH-ES+A256KW)."""

    sealed: str


class NoAuth(_Frozen):
    """No upstream credential beyond the static headers."""

    type: Literal["none"] = "none"


class BearerAuth(_Frozen):
    """``Authorization: Bearer <token>`` toward the upstream."""

    type: Literal["bearer"] = "bearer"
    token: Sealed


class ApiKeyAuth(_Frozen):
    """An API key in a header or in the upstream URL's query."""

    type: Literal["api_key"] = "api_key"
    location: Literal["header", "query"]
    name: str
    value: Sealed


class ClientCredentialsAuth(_Frozen):
    """OAuth 2.0 client credentials (RFC 6749 §4.4): the data plane fetches and caches the token."""

    type: Literal["oauth2_client_credentials"] = "oauth2_client_credentials"
    token_url: str
    client_id: str
    client_secret: Sealed
    scopes: tuple[str, ...] = ()
    audience: str | None = None
    auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"


class UserOAuthAuth(_Frozen):
    """Per-user OAuth: each user's own access token, obtained from the control plane (the broker).

    Nothing secret travels in the snapshot: the client secret and every user's refresh token stay
    encrypted on the control plane, which answers the data plane's ``UserTokens.Get`` with an
    access token sealed to the group.
    """

    type: Literal["oauth2_user"] = "oauth2_user"


class TokenExchangeAuth(_Frozen):
    """OAuth 2.0 token exchange (RFC 8693): the caller's IdP access token is exchanged at
    ``token_url`` for one meant for the upstream; the gateway authenticates as ``client_id``."""

    type: Literal["token_exchange"] = "token_exchange"
    token_url: str
    client_id: str
    client_secret: Sealed
    audience: str | None = None
    resource: str | None = None
    scopes: tuple[str, ...] = ()
    auth_method: Literal["client_secret_basic", "client_secret_post"] = "client_secret_basic"


UpstreamAuth = Annotated[
    NoAuth | BearerAuth | ApiKeyAuth | ClientCredentialsAuth | UserOAuthAuth | TokenExchangeAuth,
    Field(discriminator="type"),
]


class IdentityJwt(_Frozen):
    """A gateway-signed identity JWT sent to the upstream in ``header``."""

    header: str = "X-MCPGW-Identity"
    audience: str | None = None
    """``aud`` of the JWT; the server URL when not set."""
    ttl_seconds: int = Field(default=60, ge=1, le=3600)


class IdentityForwarding(_Frozen):
    """Who the caller is, told to the upstream: a signed JWT and/or plain headers."""

    jwt: IdentityJwt | None = None
    headers: dict[Literal["email", "team", "roles", "subject"], str] = Field(default_factory=dict)
    """Identity attribute -> header name (plain headers, for internal servers)."""
