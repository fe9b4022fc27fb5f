"""Upstream credentials as the admin API takes them (secrets write-only) and shows them (never)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

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


UpstreamAuthIn = Annotated[
    NoAuthIn | BearerAuthIn | ApiKeyAuthIn | ClientCredentialsAuthIn, Field(discriminator="type")
]
"""How the gateway authenticates to the upstream (secrets are write-only)."""


class UpstreamAuthPublic(BaseModel):
    """The upstream credential as the API shows it: its type and non-secret fields, never the secret."""

    model_config = ConfigDict(populate_by_name=True)

    type: Literal["none", "bearer", "api_key", "oauth2_client_credentials"] = "none"
    in_: Literal["header", "query"] | None = Field(default=None, alias="in")
    name: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scopes: list[str] | None = None
    audience: str | None = None
    auth_method: AuthMethod | None = None
