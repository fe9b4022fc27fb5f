"""The snapshot schema: the one description of everything a data plane needs.

A snapshot is immutable and self-contained. It is shaped for the data plane's hot path: every
lookup is a dict access (keys by hash, servers by slug, tools by server slug + name). The
control plane's compiler produces it; the data plane validates it with these same models
before it swaps it in, so both planes agree by construction.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.snapshot.access import AccessSection
from shared.snapshot.credentials import IdentityForwarding, NoAuth, UpstreamAuth
from shared.snapshot.credentials import Sealed as Sealed  # re-exported: part of the schema
from shared.snapshot.stdio import StdioEntry
from shared.snapshot.virtual import VirtualServerEntry

SCHEMA_VERSION = 1
"""Bumped on any incompatible change; a data plane refuses a schema version it does not know."""

Transport = Literal["streamable-http", "stdio", "sse"]
"""``sse`` is the legacy HTTP+SSE transport of MCP 2024-11-05 (``url`` is its GET stream)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ToolEntry(_Frozen):
    """A tool of an upstream server as discovered by the control plane."""

    description: str = ""
    annotations: dict[str, bool | str | None] = Field(default_factory=dict)
    definition_hash: str = ""


class ServerEntry(_Frozen):
    """An upstream MCP server reachable at ``/{slug}/mcp`` on the data plane."""

    id: str
    workspace: str
    transport: Transport = "streamable-http"
    url: str = ""
    """The upstream's URL (Streamable HTTP endpoint, or the SSE stream of a legacy ``sse``
    server); empty for a stdio server."""
    stdio: StdioEntry | None = None
    """What to launch, for a stdio server (``transport == "stdio"``); ``None`` otherwise."""
    headers: dict[str, Sealed] = Field(default_factory=dict)
    """Static upstream headers (credentials), injected on every upstream request."""
    auth: UpstreamAuth = Field(default_factory=NoAuth)
    """The upstream credential (secrets sealed); see ``shared.snapshot.credentials``."""
    identity: IdentityForwarding = Field(default_factory=IdentityForwarding)
    """How the caller's identity is told to the upstream (signed JWT, plain headers)."""
    timeout_seconds: float = 60.0
    tools: dict[str, ToolEntry] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _transport_fields(self) -> ServerEntry:
        if (self.transport == "stdio") != (self.stdio is not None):
            raise ValueError("a stdio server needs its stdio settings, and only a stdio server has them")
        if self.stdio is not None and (self.url or self.headers or self.auth.type != "none"):
            raise ValueError("a stdio server has no url, headers or upstream credential")
        if self.transport == "sse" and not self.url:
            raise ValueError("an sse server needs the url of its event stream")
        return self


class KeyEntry(_Frozen):
    """An agent API key, indexed in the snapshot by the SHA-256 of its secret."""

    id: str
    name: str
    workspace: str
    expires_at: int | None = None
    """Unix seconds; the data plane refuses the key from then on."""
    servers: dict[str, list[str] | None]
    """The key's scope: server slug -> tools the key may use there (``None`` means every tool).
    A workspace-owned key is granted its scope; a user-owned key acts as its user, limited to
    its scope when the scope is not empty."""
    user: str = ""
    """Id of the user who owns the key; empty for a key owned by its workspace."""


SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
"""Asymmetric JWS algorithms an identity provider may use; ``none`` and HMAC never are."""


class ClaimMapping(_Frozen):
    """Which claim of an IdP token gives each principal attribute (dotted paths reach nested claims)."""

    subject: str = "sub"
    email: str = "email"
    groups: str = "groups"
    roles: str = "roles"
    team: str = ""


class IdentityProviderEntry(_Frozen):
    """An OIDC identity provider whose tokens the data plane accepts, indexed by issuer."""

    id: str
    slug: str
    workspace: str = ""
    issuer: str
    audiences: list[str] = Field(default_factory=list)
    """Accepted ``aud`` values besides the gateway's resource URL of the server (RFC 8707)."""
    jwks_uri: str = ""
    """Empty: discovered from ``{issuer}/.well-known/openid-configuration``."""
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "EdDSA"])
    required_claims: dict[str, str] = Field(default_factory=dict)
    """Claim -> required value, or ``"present"``."""
    required_scopes: list[str] = Field(default_factory=list)
    claims: ClaimMapping = Field(default_factory=ClaimMapping)
    leeway_seconds: int = 60
    introspection_endpoint: str = ""
    introspection_client_id: str = ""
    introspection_client_secret: Sealed | None = None
    servers: list[str] = Field(default_factory=list)
    """Server slugs this provider's principals may use (every tool)."""


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def authn_webhook_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an authentication webhook, or ``None``.

    The webhook receives the client's credential, so it must be HTTPS; plain HTTP is accepted
    only toward a loopback address (a sidecar on the same host, tests), where nothing crosses
    a network.
    """
    parts = urlsplit(url)
    if not parts.hostname:
        return "the authentication webhook URL must be an absolute URL with a host"
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return None
    return "the authentication webhook URL must be https (plain http only toward 127.0.0.1, ::1 or localhost)"


AuthnFailureMode = Literal["deny", "unavailable"]


class AuthnWebhookEntry(_Frozen):
    """A workspace's authentication webhook: asked to verify a bearer credential that is neither
    a gateway key nor a token the identity providers accept."""

    url: str
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    max_cache_seconds: float = Field(default=60.0, ge=0, le=3600)
    """Upper bound of how long an answer is reused (the answer's ``ttl`` may ask for less)."""
    failure_mode: AuthnFailureMode = "deny"
    """When the webhook cannot answer: ``deny`` (401 invalid_token) or ``unavailable`` (503)."""
    headers: dict[str, Sealed] = Field(default_factory=dict)

    @field_validator("url")
    @classmethod
    def _https(cls, value: str) -> str:
        problem = authn_webhook_url_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class Snapshot(_Frozen):
    """One versioned, signed configuration for a data-plane group."""

    schema_version: int = SCHEMA_VERSION
    version: str
    """Monotonic on the control plane; data planes only compare versions, never parse them."""
    hash: str
    """SHA-256 of the canonical form of the content (everything but version, hash, created_at)."""
    group: str
    created_at: int
    workspaces: list[str] = Field(default_factory=list)
    servers: dict[str, ServerEntry] = Field(default_factory=dict)
    keys: dict[str, KeyEntry] = Field(default_factory=dict)
    identity_providers: dict[str, IdentityProviderEntry] = Field(default_factory=dict)
    """Issuer -> identity provider whose tokens authenticate clients."""
    access: AccessSection = Field(default_factory=AccessSection)
    """Grants, users, teams and authorization webhooks (see ``shared.access``)."""
    authn_webhooks: dict[str, AuthnWebhookEntry] = Field(default_factory=dict)
    """Workspace slug -> its authentication webhook (verifies credentials nothing else knows)."""
    identity_key: Sealed | None = None
    """The group's Ed25519 private JWK (JSON, sealed) that signs identity JWTs toward upstreams."""
    virtual_servers: dict[str, VirtualServerEntry] = Field(default_factory=dict)
    """Slug -> virtual server aggregating member servers (absent in older snapshots: none)."""

    @model_validator(mode="after")
    def _virtual_servers_fit(self) -> Snapshot:
        for slug, virtual in self.virtual_servers.items():
            if slug in self.servers:
                raise ValueError(f"virtual server {slug!r} has the slug of a server")
            missing = sorted({m.server for m in virtual.members} - set(self.servers))
            if missing:
                raise ValueError(f"virtual server {slug!r} names unknown member servers {missing}")
        return self
