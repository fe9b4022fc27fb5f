"""Identity providers: OIDC issuers (or Keycloak realms) whose tokens authenticate MCP clients.

The introspection client secret is write-only: stored encrypted with the master key and never
returned (``IdentityProviderPublic`` says only whether one is set).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import field_validator
from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from control_plane.models.common import SLUG_PATTERN, new_id, utcnow
from shared.snapshot import SIGNING_ALGORITHMS

IdentityProviderKind = Literal["oidc", "keycloak"]
DEFAULT_ALGORITHMS = ["RS256", "ES256", "EdDSA", "Ed25519"]


def check_algorithms(value: list[str] | None) -> list[str] | None:
    """Only asymmetric JWS algorithms: ``none`` and HMAC are refused."""
    if value is None:
        return None
    refused = sorted(set(value) - SIGNING_ALGORITHMS)
    if refused:
        raise ValueError(f"algorithms not allowed (never none or HMAC): {', '.join(refused)}")
    if not value:
        raise ValueError("at least one algorithm is needed")
    return value


class ClaimMappingModel(SQLModel):
    """Which token claim gives each principal attribute; dotted paths reach nested claims."""

    subject: str = "sub"
    email: str = "email"
    groups: str = "groups"
    roles: str = Field(default="roles", description="e.g. realm_access.roles for Keycloak")
    team: str = ""


class IdentityProviderSettings(SQLModel):
    """The writable settings every create and update shares."""

    audiences: list[str] = Field(
        default_factory=list,
        description="accepted aud values besides the gateway resource URL of each server (RFC 8707)",
    )
    jwks_uri: str = Field(default="", max_length=2000, description="empty: from the issuer's discovery")
    algorithms: list[str] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    required_claims: dict[str, str] = Field(
        default_factory=dict, description='claim -> required value, or "present"'
    )
    required_scopes: list[str] = Field(
        default_factory=list, description="scopes a token must carry (else 403 insufficient_scope)"
    )
    claim_mapping: ClaimMappingModel = Field(default_factory=ClaimMappingModel)
    introspection_endpoint: str = Field(
        default="", max_length=2000, description="RFC 7662, for opaque tokens"
    )
    introspection_client_id: str = Field(default="", max_length=200)
    leeway_seconds: int = Field(default=60, ge=0, le=600)
    servers: list[str] = Field(default_factory=list, description="server slugs its principals may use")
    admin_login: bool = Field(
        default=False, description="its tokens may also authenticate users to the admin API"
    )

    @field_validator("algorithms")
    @classmethod
    def _only_asymmetric(cls, value: list[str] | None) -> list[str] | None:
        return check_algorithms(value)


class IdentityProviderCreate(IdentityProviderSettings):
    slug: str = Field(max_length=64, schema_extra={"pattern": SLUG_PATTERN})
    kind: IdentityProviderKind = "oidc"
    workspace: str | None = Field(default=None, description="slug of the owning workspace (optional)")
    issuer: str = Field(default="", max_length=2000, description="required for oidc; resolved for keycloak")
    keycloak_server_url: str = Field(default="", max_length=2000)
    keycloak_realm: str = Field(default="", max_length=200)
    introspection_client_secret: str | None = Field(default=None, description="write-only, never returned")


class IdentityProviderUpdate(SQLModel):
    """Fields a PATCH may change; absent fields stay as they are."""

    audiences: list[str] | None = None
    jwks_uri: str | None = Field(default=None, max_length=2000)
    algorithms: list[str] | None = None
    required_claims: dict[str, str] | None = None
    required_scopes: list[str] | None = None
    claim_mapping: ClaimMappingModel | None = None
    introspection_endpoint: str | None = Field(default=None, max_length=2000)
    introspection_client_id: str | None = Field(default=None, max_length=200)
    introspection_client_secret: str | None = Field(default=None, description="write-only")
    leeway_seconds: int | None = Field(default=None, ge=0, le=600)
    servers: list[str] | None = None
    admin_login: bool | None = None

    @field_validator("algorithms")
    @classmethod
    def _only_asymmetric(cls, value: list[str] | None) -> list[str] | None:
        return check_algorithms(value)


class IdentityProvider(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True)
    slug: str = Field(index=True, unique=True, max_length=64)
    kind: str = Field(default="oidc", max_length=16)
    workspace_id: str | None = Field(default=None, foreign_key="workspace.id", index=True)
    issuer: str = Field(index=True, unique=True, max_length=2000)
    keycloak_server_url: str = Field(default="", max_length=2000)
    keycloak_realm: str = Field(default="", max_length=200)
    audiences: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    jwks_uri: str = Field(default="", max_length=2000)
    algorithms: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    required_claims: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    required_scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    claim_mapping: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    introspection_endpoint: str = Field(default="", max_length=2000)
    introspection_client_id: str = Field(default="", max_length=200)
    introspection_secret_encrypted: str = Field(default="", description="encrypted with the master key")
    leeway_seconds: int = 60
    servers: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    admin_login: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class IdentityProviderPublic(IdentityProviderSettings):
    id: str
    slug: str
    kind: IdentityProviderKind
    workspace: str | None
    issuer: str
    keycloak_server_url: str
    keycloak_realm: str
    has_introspection_secret: bool = Field(description="whether a client secret is stored (write-only)")
    created_at: datetime
    updated_at: datetime
