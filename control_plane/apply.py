"""Declarative config (``mcpgw apply -f gateway.yaml``): upsert workspaces, servers, keys, IdPs,
and access control (users, members, teams, grants, webhooks: ``control_plane.apply_access``).

Like ``kubectl apply`` or decK: items are matched by identity (workspaces, servers and virtual
servers by slug (``control_plane.apply_virtual``),
keys by workspace + name) and created or updated to match the document; nothing absent is
deleted. The whole document is applied in one transaction that records at most one config
revision, and only when something changed, so applying the same document twice is a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session

from control_plane.apply_access import (
    Action,
    AppliedGrant,
    AppliedMember,
    AppliedTeam,
    AppliedUser,
    AppliedWebhook,
    ApplyAuthnWebhook,
    ApplyMember,
    ApplyTeam,
    ApplyUser,
    ApplyWebhook,
    apply_authn_webhook,
    apply_grant,
    apply_member,
    apply_team,
    apply_user,
    apply_webhook,
)
from control_plane.apply_virtual import AppliedVirtualServer, apply_virtual_server
from control_plane.crypto import SecretBox
from control_plane.models import (
    AgentKeyCreate,
    AgentKeyUpdate,
    IdentityProviderCreate,
    IdentityProviderUpdate,
    ServerCreate,
    ServerUpdate,
    VirtualServerCreate,
    WorkspaceCreate,
)
from control_plane.models.common import SLUG_PATTERN
from control_plane.models.grant import GrantCreate
from control_plane.models.identity import DEFAULT_ALGORITHMS, ClaimMappingModel, IdentityProviderKind
from control_plane.models.server import STDIO_FIELDS, EnvName, TransportName, check_transport_fields
from control_plane.models.upstream_auth import NoAuthIn, UpstreamAuthIn
from control_plane.repos import identity_providers, keys, revisions, servers, workspaces
from control_plane.repos.errors import Conflict, Invalid
from shared.apikeys import MIN_SECRET_LENGTH
from shared.snapshot.credentials import IdentityForwarding
from shared.snapshot.stdio import MAX_PROCESSES_LIMIT


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApplyWorkspace(_Strict):
    slug: str = Field(pattern=SLUG_PATTERN, max_length=64)
    name: str | None = Field(default=None, max_length=200, description="kept as it is when omitted")


class ApplyServer(_Strict):
    slug: str = Field(pattern=SLUG_PATTERN, max_length=64)
    workspace: str
    url: str = Field(default="", max_length=2000)
    transport: TransportName = "streamable-http"
    headers: dict[str, str] = Field(default_factory=dict, description="static upstream headers (secrets)")
    auth: UpstreamAuthIn = Field(default_factory=NoAuthIn, description="upstream credential (secrets)")
    identity: IdentityForwarding = Field(default_factory=IdentityForwarding)
    timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    command: str = Field(default="", max_length=2000, description="stdio: the executable")
    args: list[str] = Field(default_factory=list)
    env: dict[EnvName, str] = Field(default_factory=dict, description="stdio environment (secrets)")
    cwd: str = Field(default="", max_length=2000)
    min_processes: int = Field(default=0, ge=0, le=MAX_PROCESSES_LIMIT)
    max_processes: int = Field(default=4, ge=1, le=MAX_PROCESSES_LIMIT)
    idle_timeout_seconds: float = Field(default=300.0, gt=0, le=86_400)

    @model_validator(mode="after")
    def _fits_transport(self) -> ApplyServer:
        check_transport_fields(self)
        return self


class ApplyKey(_Strict):
    name: str = Field(max_length=128)
    workspace: str
    secret: str | None = Field(default=None, min_length=MIN_SECRET_LENGTH, description="development only")
    owner: str | None = Field(default=None, description="email or id of the member the key acts as")
    servers: list[str] = Field(default_factory=list)
    tools: dict[str, list[str]] = Field(default_factory=dict)
    expires_at: datetime | None = None


class ApplyIdentityProvider(_Strict):
    slug: str = Field(pattern=SLUG_PATTERN, max_length=64)
    kind: IdentityProviderKind = "oidc"
    workspace: str | None = None
    issuer: str = Field(
        default="", max_length=2000, description="keycloak: {server}/realms/{realm} when omitted"
    )
    keycloak_server_url: str = ""
    keycloak_realm: str = ""
    audiences: list[str] = Field(default_factory=list)
    jwks_uri: str = ""
    algorithms: list[str] = Field(default_factory=lambda: list(DEFAULT_ALGORITHMS))
    required_claims: dict[str, str] = Field(default_factory=dict)
    required_scopes: list[str] = Field(default_factory=list)
    claim_mapping: dict[str, str] = Field(default_factory=dict)
    introspection_endpoint: str = ""
    introspection_client_id: str = ""
    introspection_client_secret: str | None = Field(default=None, description="kept as it is when omitted")
    leeway_seconds: int = Field(default=60, ge=0, le=600)
    servers: list[str] = Field(default_factory=list)


class ApplyDocument(_Strict):
    """A whole declarative config document."""

    workspaces: list[ApplyWorkspace] = Field(default_factory=list)
    servers: list[ApplyServer] = Field(default_factory=list)
    virtual_servers: list[VirtualServerCreate] = Field(default_factory=list)
    keys: list[ApplyKey] = Field(default_factory=list)
    identity_providers: list[ApplyIdentityProvider] = Field(default_factory=list)
    users: list[ApplyUser] = Field(default_factory=list)
    members: list[ApplyMember] = Field(default_factory=list)
    teams: list[ApplyTeam] = Field(default_factory=list)
    grants: list[GrantCreate] = Field(default_factory=list)
    webhooks: list[ApplyWebhook] = Field(default_factory=list)
    authn_webhooks: list[ApplyAuthnWebhook] = Field(default_factory=list)


class AppliedWorkspace(BaseModel):
    slug: str
    action: Action


class AppliedServer(BaseModel):
    slug: str
    action: Action
    needs_discovery: bool = Field(default=False, exclude=True)


class AppliedKey(BaseModel):
    name: str
    workspace: str
    action: Action
    secret: str | None = Field(default=None, description="a generated secret, shown only in this response")


class AppliedIdentityProvider(BaseModel):
    slug: str
    action: Action


class ApplyResult(BaseModel):
    """What applying a document did to each item."""

    workspaces: list[AppliedWorkspace] = Field(default_factory=list)
    servers: list[AppliedServer] = Field(default_factory=list)
    virtual_servers: list[AppliedVirtualServer] = Field(default_factory=list)
    keys: list[AppliedKey] = Field(default_factory=list)
    identity_providers: list[AppliedIdentityProvider] = Field(default_factory=list)
    users: list[AppliedUser] = Field(default_factory=list)
    members: list[AppliedMember] = Field(default_factory=list)
    teams: list[AppliedTeam] = Field(default_factory=list)
    grants: list[AppliedGrant] = Field(default_factory=list)
    webhooks: list[AppliedWebhook] = Field(default_factory=list)
    authn_webhooks: list[AppliedWebhook] = Field(default_factory=list)
    discovery_errors: dict[str, str] = Field(
        default_factory=dict, description="server slug -> why its tool catalog could not be fetched"
    )

    @property
    def actions(self) -> list[Action]:
        """What happened to each item, in document order of the sections."""
        sections: list[list[Any]] = [
            self.workspaces,
            self.servers,
            self.virtual_servers,
            self.users,
            self.members,
            self.keys,
            self.identity_providers,
            self.teams,
            self.grants,
            self.webhooks,
            self.authn_webhooks,
        ]
        return [item.action for section in sections for item in section]

    @property
    def changed(self) -> bool:
        """Whether any item was created or updated."""
        return any(action != "unchanged" for action in self.actions)

    @property
    def servers_to_discover(self) -> list[str]:
        """Servers created, or whose URL or headers changed: their catalog must be fetched."""
        return [item.slug for item in self.servers if item.needs_discovery]


def parse_document(data: object) -> ApplyDocument:
    """Validate a decoded YAML/JSON document (raises ``pydantic.ValidationError``)."""
    return ApplyDocument.model_validate(data)


def _check_unique(document: ApplyDocument) -> None:
    for section, ids in (
        ("workspaces", [w.slug for w in document.workspaces]),
        ("servers", [s.slug for s in document.servers]),
        ("virtual_servers", [v.slug for v in document.virtual_servers]),
        ("keys", [f"{k.workspace}/{k.name}" for k in document.keys]),
        ("identity_providers", [p.slug for p in document.identity_providers]),
        ("users", [u.email.strip().lower() for u in document.users]),
        ("members", [f"{m.workspace}/{m.user.strip().lower()}" for m in document.members]),
        ("teams", [f"{t.workspace}/{t.slug}" for t in document.teams]),
        ("grants", [f"{g.server}/{g.name}" for g in document.grants]),
        ("webhooks", [w.workspace for w in document.webhooks]),
        ("authn_webhooks", [w.workspace for w in document.authn_webhooks]),
    ):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise Invalid(f"{section} lists the same item more than once: {', '.join(duplicates)}")


def _apply_workspace(session: Session, item: ApplyWorkspace) -> AppliedWorkspace:
    existing = workspaces.find(session, slug=item.slug)
    if existing is None:
        data = WorkspaceCreate(slug=item.slug, name=item.name or "")
        workspaces.create(session, data=data, record_revision=False)
        return AppliedWorkspace(slug=item.slug, action="created")
    renamed = item.name is not None and workspaces.rename(session, workspace=existing, name=item.name)
    return AppliedWorkspace(slug=item.slug, action="updated" if renamed else "unchanged")


def _apply_server(session: Session, item: ApplyServer, secrets: SecretBox) -> AppliedServer:
    existing = servers.find(session, slug=item.slug)
    stdio = item.model_dump(include=set(STDIO_FIELDS))
    if existing is None:
        data = ServerCreate(
            slug=item.slug,
            workspace=item.workspace,
            url=item.url,
            transport=item.transport,
            headers=item.headers,
            auth=item.auth,
            identity=item.identity,
            timeout_seconds=item.timeout_seconds,
            **stdio,
        )
        servers.create(session, data=data, secrets=secrets, record_revision=False)
        return AppliedServer(slug=item.slug, action="created", needs_discovery=True)
    if existing.workspace_id != workspaces.get(session, slug=item.workspace).id:
        raise Conflict(f"server {item.slug!r} belongs to another workspace; servers do not move")
    reconnect = (
        existing.url != item.url
        or existing.transport != item.transport
        or servers.open_headers(secrets, existing) != item.headers
        or servers.open_auth(secrets, existing) != item.auth
        or (existing.command, existing.args, existing.cwd) != (item.command, item.args, item.cwd)
        or servers.open_env(secrets, existing) != item.env
    )
    update = ServerUpdate(
        url=item.url,
        transport=item.transport,
        timeout_seconds=item.timeout_seconds,
        headers=item.headers,
        auth=item.auth,
        identity=item.identity,
        **stdio,
    )
    _, changed = servers.update(session, slug=item.slug, data=update, secrets=secrets, record_revision=False)
    return AppliedServer(
        slug=item.slug, action="updated" if changed else "unchanged", needs_discovery=reconnect
    )


def _apply_key(session: Session, item: ApplyKey) -> AppliedKey:
    workspace = workspaces.get(session, slug=item.workspace)
    existing = keys.find_by_name(session, workspace_id=workspace.id, name=item.name)
    if existing is None:
        data = AgentKeyCreate(
            name=item.name,
            workspace=item.workspace,
            secret=item.secret,
            owner=item.owner,
            servers=item.servers,
            tools=item.tools,
            expires_at=item.expires_at,
        )
        _, secret = keys.create(session, data=data, record_revision=False)
        shown = secret if item.secret is None else None
        return AppliedKey(name=item.name, workspace=item.workspace, action="created", secret=shown)
    if keys.owner_of(session, workspace_id=workspace.id, owner=item.owner) != existing.owner_user_id:
        raise Conflict(f"key {item.workspace}/{item.name} has another owner; owners do not change")
    update = AgentKeyUpdate(servers=item.servers, tools=item.tools, expires_at=item.expires_at)
    _, changed = keys.update(session, key_id=existing.id, data=update, record_revision=False)
    if item.secret is not None and keys.set_secret(session, key=existing, secret=item.secret):
        changed = True
    return AppliedKey(name=item.name, workspace=item.workspace, action="updated" if changed else "unchanged")


def _apply_identity_provider(
    session: Session, item: ApplyIdentityProvider, secrets: SecretBox
) -> AppliedIdentityProvider:
    mapping = ClaimMappingModel.model_validate(item.claim_mapping)
    existing = identity_providers.find(session, slug=item.slug)
    if existing is None:
        data = IdentityProviderCreate.model_validate(item.model_dump() | {"claim_mapping": mapping})
        identity_providers.create(session, data=data, secrets=secrets, record_revision=False)
        return AppliedIdentityProvider(slug=item.slug, action="created")
    fields = item.model_dump(
        exclude={"slug", "kind", "workspace", "issuer", "keycloak_server_url", "keycloak_realm"},
        exclude_none=True,
    )
    update = IdentityProviderUpdate.model_validate(fields | {"claim_mapping": mapping})
    if item.issuer and item.issuer != existing.issuer:
        raise Conflict(f"identity provider {item.slug!r} has another issuer; issuers do not change")
    _, changed = identity_providers.update(
        session, slug=item.slug, data=update, secrets=secrets, record_revision=False
    )
    return AppliedIdentityProvider(slug=item.slug, action="updated" if changed else "unchanged")


def apply_config(session: Session, *, document: ApplyDocument, secrets: SecretBox) -> ApplyResult:
    """Apply ``document`` inside the caller's transaction; records one revision if anything changed.

    Raises :class:`~control_plane.repos.errors.DomainError` subclasses for documents that name
    missing workspaces or servers, or that conflict with existing rows; the caller's transaction
    must then be rolled back. Tool discovery is left to the caller, after commit
    (:attr:`ApplyResult.servers_to_discover`).
    """
    _check_unique(document)
    result = ApplyResult(
        workspaces=[_apply_workspace(session, item) for item in document.workspaces],
        servers=[_apply_server(session, item, secrets) for item in document.servers],
    )
    session.flush()
    result.virtual_servers = [apply_virtual_server(session, item) for item in document.virtual_servers]
    # Identity providers before users (identities name them), users and members before keys
    # (a key's owner must be a member), grants last (they name keys, teams and providers).
    result.identity_providers = [
        _apply_identity_provider(session, item, secrets) for item in document.identity_providers
    ]
    result.users = [apply_user(session, item) for item in document.users]
    result.members = [apply_member(session, item) for item in document.members]
    result.keys = [_apply_key(session, item) for item in document.keys]
    result.teams = [apply_team(session, item) for item in document.teams]
    result.grants = [apply_grant(session, item) for item in document.grants]
    result.webhooks = [apply_webhook(session, item, secrets) for item in document.webhooks]
    result.authn_webhooks = [apply_authn_webhook(session, item, secrets) for item in document.authn_webhooks]
    if result.changed:
        session.flush()
        revisions.record(session, reason="apply: " + _summary(result))
    return result


def _summary(result: ApplyResult) -> str:
    counts = {"created": 0, "updated": 0}
    for action in result.actions:
        if action in counts:
            counts[action] += 1
    return f"{counts['created']} created, {counts['updated']} updated"
