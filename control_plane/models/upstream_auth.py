"""Upstream credentials as the admin API takes them (secrets write-only) and shows them (never)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

AuthMethod = Literal["client_secret_basic", "client_secret_post"]


class _AuthIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class NoAuthIn(_AuthIn):
    """No upstream credential (static ``headers`` still apply)."""

    type: Literal["none"] = "none"


class BearerAuthIn(_AuthIn):
    """``Authorization: Bearer <token>`` toward the upstream; ``token`` is write-only."""

    type: Literal["bearer"]
    token: str = Field(min_length=1, max_length=8192)


class ApiKeyAuthIn(_AuthIn):
    """An API key sent in a header or in the upstream URL's query; ``value`` is write-only."""

    type: Literal["api_key"]
    in_: Literal["header", "query"] = Field(alias="in")
    name: str = Field(min_length=1, max_length=256)
    value: str = Field(min_length=1, max_length=8192)


class ClientCredentialsAuthIn(_AuthIn):
    """OAuth 2.0 client credentials; the data plane fetches and caches the token. ``client_secret`` is write-only."""

    type: Literal["oauth2_client_credentials"]
    token_url: str = Field(min_length=1, max_length=2000)
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str = Field(min_length=1, max_length=8192)
    scopes: list[str] = Field(default_factory=list)
    audience: str | None = Field(default=None, max_length=2000)
    auth_method: AuthMethod = "client_secret_basic"


class UserOAuthIn(_AuthIn):
    """Per-user OAuth (authorization code + PKCE): each user connects their own account once
    (``POST /api/v1/me/connections/{server}``); the control plane keeps their refresh token
    encrypted and hands data planes fresh access tokens. ``client_secret`` is write-only.

    Endpoints are given, or discovered from ``issuer`` (RFC 8414 / OpenID discovery) when omitted.
    """

    type: Literal["oauth2_user"]
    issuer: str | None = Field(default=None, max_length=2000)
    authorization_url: str | None = Field(default=None, max_length=2000)
    token_url: str | None = Field(default=None, max_length=2000)
    revocation_url: str | None = Field(default=None, max_length=2000)
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str = Field(min_length=1, max_length=8192)
    scopes: list[str] = Field(default_factory=list)
    resource: str | None = Field(default=None, max_length=2000, description="RFC 8707 resource indicator")
    auth_method: AuthMethod = "client_secret_basic"

    @model_validator(mode="after")
    def _endpoints(self) -> UserOAuthIn:
        if not self.issuer and not (self.authorization_url and self.token_url):
            raise ValueError("oauth2_user needs an issuer, or both authorization_url and token_url")
        return self


class TokenExchangeIn(_AuthIn):
    """OAuth 2.0 token exchange (RFC 8693): the caller's IdP token is exchanged for one meant for
    the upstream, the gateway authenticating as ``client_id``. ``client_secret`` is write-only."""

    type: Literal["token_exchange"]
    token_url: str = Field(min_length=1, max_length=2000)
    client_id: str = Field(min_length=1, max_length=512)
    client_secret: str = Field(min_length=1, max_length=8192)
    audience: str | None = Field(default=None, max_length=2000)
    resource: str | None = Field(default=None, max_length=2000, description="RFC 8707 resource indicator")
    scopes: list[str] = Field(default_factory=list)
    auth_method: AuthMethod = "client_secret_basic"


UpstreamAuthIn = Annotated[
    NoAuthIn | BearerAuthIn | ApiKeyAuthIn | ClientCredentialsAuthIn | UserOAuthIn | TokenExchangeIn,
    Field(discriminator="type"),
]
"""How the gateway authenticates to the upstream (secrets are write-only)."""


class UpstreamAuthPublic(BaseModel):
    """The upstream credential as the API shows it: its type and non-secret fields, never the secret."""

    model_config = ConfigDict(populate_by_name=True)

    type: Literal[
        "none", "bearer", "api_key", "oauth2_client_credentials", "oauth2_user", "token_exchange"
    ] = "none"
    in_: Literal["header", "query"] | None = Field(default=None, alias="in")
    name: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scopes: list[str] | None = None
    audience: str | None = None
    auth_method: AuthMethod | None = None
    issuer: str | None = None
    authorization_url: str | None = None
    revocation_url: str | None = None
    resource: str | None = None
